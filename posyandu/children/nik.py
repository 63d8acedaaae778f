"""NIK (Nomor Induk Kependudukan) and family-card (KK) number checks (reporting-id.md §6).

A NIK is ``PP KK CC DDMMYY SSSS``: province, kabupaten/kota and kecamatan code where the NIK was
issued, day of birth (women: day + 40), month, two-digit year, serial.

Two kinds of findings:

- **errors** (the value cannot be a NIK): not 16 digits, region part ``00``, month outside
  01–12, day not valid for the month after removing the +40, serial ``0000``. These reject the
  request (422).
- **warnings** (the NIK is well-formed but disagrees with what was entered): decoded birth date
  or sex differ from the child's, or the issuing kecamatan is not the one the child lives in.
  These never reject: the century is ambiguous, the region is where the NIK was *issued* (families
  move, kecamatan split), and the cadre may have typed the birth date wrongly rather than the NIK.

Pure code: no Flask, no database.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_SEPARATORS = re.compile(r"[\s.\-]")


@dataclass(frozen=True)
class NikParts:
    region: str  # 6 digits: PPKKCC
    day: int  # real day of birth (the +40 removed)
    month: int
    year2: int  # last two digits of the birth year
    sex: int  # WHO coding: 1 male, 2 female
    serial: str


def clean_number(value: str | None) -> str | None:
    """Drop the spaces, dots and dashes people type inside long numbers; ``""`` → ``None``."""
    if value is None:
        return None
    text = _SEPARATORS.sub("", str(value))
    return text or None


def nik_errors(nik: str) -> list[str]:
    """Why ``nik`` (already cleaned) is not a NIK; an empty list when it is well-formed."""
    if len(nik) != 16 or not nik.isdigit():
        return ["A NIK has exactly 16 digits."]
    errors = []
    if nik[0:2] == "00" or nik[2:4] == "00" or nik[4:6] == "00":
        errors.append("The region part (digits 1-6) of a NIK cannot contain 00.")
    raw_day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if not 1 <= month <= 12:
        errors.append("The month (digits 9-10) of a NIK must be 01-12.")
    day = raw_day - 40 if raw_day > 40 else raw_day
    if month and 1 <= month <= 12:
        # The century is unknown: a 29 February is accepted whenever the two-digit year allows it.
        days_in_month = calendar.monthrange(2000 + year2, month)[1]
        if not 1 <= day <= days_in_month:
            errors.append("The day (digits 7-8) of a NIK must be a valid day of the month "
                          "(women: day + 40).")
    elif not (1 <= raw_day <= 31 or 41 <= raw_day <= 71):
        errors.append("The day (digits 7-8) of a NIK must be 01-31 (women: 41-71).")
    if nik[12:16] == "0000":
        errors.append("The serial number (digits 13-16) of a NIK cannot be 0000.")
    return errors


def decode_nik(nik: str) -> NikParts:
    """Split a well-formed NIK (check :func:`nik_errors` first)."""
    raw_day = int(nik[6:8])
    return NikParts(region=nik[0:6], day=raw_day - 40 if raw_day > 40 else raw_day, month=int(nik[8:10]),
                    year2=int(nik[10:12]), sex=2 if raw_day > 40 else 1, serial=nik[12:16])


def kk_errors(kk: str) -> list[str]:
    """The family card number: 16 digits, issued in a real region (digits 1-6 without 00)."""
    if len(kk) != 16 or not kk.isdigit():
        return ["A family card (KK) number has exactly 16 digits."]
    if kk[0:2] == "00" or kk[2:4] == "00" or kk[4:6] == "00":
        return ["The region part (digits 1-6) of a family card number cannot contain 00."]
    return []


def child_nik_warnings(nik: str, *, birth_date: date | None, sex: int | None,
                       desa_code: str | None) -> list[dict]:
    """Consistency warnings for a child's well-formed NIK against the entered data."""
    parts = decode_nik(nik)
    warnings = []
    if birth_date is not None and (parts.day, parts.month, parts.year2) != \
            (birth_date.day, birth_date.month, birth_date.year % 100):
        warnings.append({
            "code": "nik_birth_date_mismatch", "field": "nik",
            "message": f"The NIK encodes a birth date of {parts.day:02d}-{parts.month:02d}-..{parts.year2:02d}, "
                       f"which differs from the entered birth date {birth_date.isoformat()}. "
                       "Check both against the family card.",
        })
    if sex is not None and parts.sex != sex:
        warnings.append({
            "code": "nik_sex_mismatch", "field": "nik",
            "message": ("The NIK encodes a girl (day + 40), which differs from the entered sex." if parts.sex == 2
                        else "The NIK encodes a boy, which differs from the entered sex."),
        })
    if desa_code and len(desa_code) >= 6 and parts.region != desa_code[:6]:
        level = ("provinsi" if parts.region[:2] != desa_code[:2]
                 else "kabupaten" if parts.region[:4] != desa_code[:4] else "kecamatan")
        warnings.append({
            "code": "nik_region_mismatch", "field": "nik", "level": level,
            "message": f"The NIK was issued in another {level} than the one the child lives in. "
                       "This is normal after a move; check it if the family never moved.",
        })
    return warnings


def mother_nik_warnings(nik: str) -> list[dict]:
    parts = decode_nik(nik)
    if parts.sex != 2:
        return [{"code": "mother_nik_not_female", "field": "mother_nik",
                 "message": "The mother's NIK encodes a man (day of birth not + 40). "
                            "Check that the father's NIK was not entered."}]
    return []
