"""Indonesian phone numbers to E.164.

Cadres type numbers the way they are printed on KIA books and WhatsApp: ``0812-3456-7890``,
``62812…``, ``+62 812…``, ``(0812) 3456 7890``. All of them become ``+628123456790``. Numbers
with another country code are accepted only in full international form (``+…`` or ``00…``).
"""
from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-.()/]")
#: What a phone number typed by a person may look like (digits, separators, one leading +).
PHONE_LIKE = re.compile(r"^\+?[\d\s\-.()/]{6,}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
#: +62, then a subscriber number without the trunk 0: mobiles are 8xx with 9–12 digits,
#: fixed lines an area code (2–4 digits) and a number; 8–12 digits after the country code.
_E164_ID = re.compile(r"^\+62[1-9]\d{7,11}$")


class InvalidPhone(ValueError):
    pass


def looks_like_phone(text: str) -> bool:
    return bool(PHONE_LIKE.match((text or "").strip()))


def normalise_phone(text: str) -> str:
    """``0812…`` / ``62812…`` / ``+62812…`` / ``812…`` → ``+62812…``; raises ``InvalidPhone``."""
    raw = _SEPARATORS.sub("", (text or "").strip())
    if not raw:
        raise InvalidPhone("empty phone number")
    if raw.startswith("+"):
        digits = raw[1:]
    elif raw.startswith("00"):
        digits = raw[2:]
    elif raw.startswith("0"):
        digits = "62" + raw[1:]
    elif raw.startswith("62"):
        digits = raw
    elif raw.startswith("8"):
        digits = "62" + raw
    else:
        raise InvalidPhone("not an Indonesian or international phone number")
    if not digits.isdigit():
        raise InvalidPhone("a phone number has digits only")
    if digits.startswith("620"):  # +62 0812… : a trunk zero typed after the country code
        digits = "62" + digits[3:]
    number = "+" + digits
    pattern = _E164_ID if digits.startswith("62") else _E164
    if not pattern.match(number):
        raise InvalidPhone("not a valid phone number")
    return number
