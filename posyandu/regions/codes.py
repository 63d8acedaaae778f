"""Kemendagri region codes: parse dotted or undotted input, validate, derive level and parent.

Format (reporting-id.md §5): ``PP.KK.CC.DDDD``, undotted 2/4/6/10 digits for provinsi,
kabupaten/kota, kecamatan and desa/kelurahan. The undotted form is the key; the dotted form
is what people read. BPS codes are different numbers and never pass through here.
"""
from __future__ import annotations

import re

from .models import LEVEL_BY_CODE_LENGTH, REGION_LEVELS
from .timezones import is_known_province

SEGMENT_LENGTHS = (2, 2, 2, 4)
CODE_LENGTH_BY_LEVEL = {level: length for length, level in LEVEL_BY_CODE_LENGTH.items()}
_DOTTED = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


class CodeError(ValueError):
    """A region code that is malformed or does not fit where it is used."""


def normalise(code: str) -> str:
    """Dotted or undotted input → undotted code; raises CodeError when malformed.

    ``35.25.01.2001`` and ``3525012001`` both give ``3525012001``.
    """
    if not isinstance(code, str):
        raise CodeError("A region code is text of digits, e.g. 35.25 or 3525.")
    raw = code.strip()
    if not raw:
        raise CodeError("The region code is empty.")
    if "." in raw:
        if not _DOTTED.match(raw):
            raise CodeError(f"{raw!r} is not a dotted Kemendagri code (PP.KK.CC.DDDD).")
        undotted = raw.replace(".", "")
    else:
        undotted = raw
    if not undotted.isdigit() or not undotted.isascii():
        raise CodeError(f"{raw!r} must contain only digits (and dots).")
    if len(undotted) not in LEVEL_BY_CODE_LENGTH:
        raise CodeError(f"{raw!r} has {len(undotted)} digits; a Kemendagri code has 2 (provinsi), "
                        "4 (kabupaten/kota), 6 (kecamatan) or 10 (desa/kelurahan).")
    return undotted


def dotted(code: str) -> str:
    parts, start = [], 0
    for length in SEGMENT_LENGTHS:
        if start >= len(code):
            break
        parts.append(code[start:start + length])
        start += length
    return ".".join(parts)


def level_of(code: str) -> str:
    return LEVEL_BY_CODE_LENGTH[len(code)]


def parent_of(code: str) -> str | None:
    """The parent's undotted code (None for a provinsi)."""
    return {2: None, 4: code[:2], 6: code[:4], 10: code[:6]}[len(code)]


def validate(code: str, *, level: str | None = None, parent: str | None = None) -> str:
    """Normalise and check a code: digits, length for ``level``, no all-zero segment, parent
    prefix, known province. Returns the undotted code."""
    undotted = normalise(code)
    if level is not None:
        if level not in REGION_LEVELS:
            raise CodeError(f"Unknown level {level!r}.")
        if len(undotted) != CODE_LENGTH_BY_LEVEL[level]:
            raise CodeError(f"A {level} code has {CODE_LENGTH_BY_LEVEL[level]} digits "
                            f"({dotted('0' * CODE_LENGTH_BY_LEVEL[level]).replace('0', 'N')}).")
    start = 0
    for length in SEGMENT_LENGTHS:
        segment = undotted[start:start + length]
        if segment and set(segment) == {"0"}:
            raise CodeError(f"{dotted(undotted)}: a code segment cannot be all zeros.")
        start += length
    if not is_known_province(undotted):
        raise CodeError(f"{dotted(undotted)}: {undotted[:2]} is not a known province code.")
    if parent is not None and parent_of(undotted) != normalise(parent):
        raise CodeError(f"{dotted(undotted)} does not start with its parent's code {dotted(normalise(parent))}.")
    return undotted
