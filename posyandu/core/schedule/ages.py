"""Calendar age arithmetic for the immunization schedule.

Ages and intervals are written as short strings (the "age notation" used in
``data/schedule-rules-id.json``)::

    "0d"      0 days
    "6w"      6 weeks            (= 42 days)
    "2m"      2 calendar months
    "6m29d"   6 calendar months, then 29 days
    "12m-1d"  12 calendar months, then minus one day (the day before the
              first "monthly birthday" 12 months on)
    "1y"      12 calendar months

Applying an age to a date adds the months first (calendar months, clamped to
the end of a shorter month), then the weeks and days.  Clamping follows the
``dateutil.relativedelta`` convention::

    2024-01-31 + 1m  -> 2024-02-29   (leap year)
    2023-01-31 + 1m  -> 2023-02-28
    2024-02-29 + 12m -> 2025-02-28

so a child born on the 31st is "1 month old" on the last day of the next
month.  Weeks and days are exact day counts (6w = 42 days), which keeps the
CSV day values the domain notes give in weeks (42, 70, 98 days).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["AgeSpec", "add_months", "parse_age"]

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_AGE_RE = re.compile(
    r"^\s*(?:(?P<y>\d+)y)?(?:(?P<m>\d+)m)?(?:(?P<w>[+-]?\d+)w)?(?:(?P<d>[+-]?\d+)d)?\s*$"
)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months, clamped to the end of the month."""
    if not months:
        return d
    m0 = d.month - 1 + months
    year = d.year + m0 // 12
    month = m0 % 12 + 1
    day = d.day
    if day > 28:
        last = _DAYS_IN_MONTH[month - 1] + (1 if month == 2 and _is_leap(year) else 0)
        if day > last:
            day = last
    return date(year, month, day)


@dataclass(frozen=True, slots=True)
class AgeSpec:
    """A calendar age or interval: ``months`` calendar months, then ``days`` days."""

    months: int = 0
    days: int = 0
    text: str = "0d"
    delta: timedelta = timedelta(0)   # == timedelta(days=days), precomputed

    def add_to(self, d: date) -> date:
        if self.months:
            d = add_months(d, self.months)
        return d + self.delta

    def approx_days(self) -> float:
        """Approximate length in days (1 month = 30.4375 d, the CSV convention)."""
        return self.months * 30.4375 + self.days

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.text


def parse_age(text: str) -> AgeSpec:
    """Parse the age notation described in the module docstring."""
    if not isinstance(text, str):
        raise TypeError(f"age must be a string like '2m' or '6w', got {text!r}")
    m = _AGE_RE.match(text)
    if not m or not text.strip() or not any(m.group(g) for g in "ymwd"):
        raise ValueError(f"invalid age notation: {text!r}")
    months = int(m.group("y") or 0) * 12 + int(m.group("m") or 0)
    days = int(m.group("w") or 0) * 7 + int(m.group("d") or 0)
    return AgeSpec(months=months, days=days, text=text.strip(), delta=timedelta(days=days))
