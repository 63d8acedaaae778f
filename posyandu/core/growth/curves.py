"""Growth-chart curves: the measurement at a given z-score, from the package's own LMS tables.

A chart draws the WHO curves at -3 ... +3 SD and the KMS lines (red and orange, at the z of the
rule set's ``kms_red_line_z`` / ``kms_orange_line_z``). They must be the same numbers the z-score
engine uses, so they are computed here from ``tables.py`` (the WHO anthro tables), not read from
printed SD tables:

* ``|z| <= 3``: the LMS value ``M * (1 + L*S*z)^(1/L)`` (``M * exp(S*z)`` when ``L == 0``);
* ``|z| > 3`` for the indicators anthro scores with the *restricted* formula (weight-for-age,
  weight-for-length/height; RULES.md s.3): the straight extension of the 2-3 SD distance,
  ``SD3 + (|z| - 3) * (SD3 - SD2)`` on each side, so that a KMS line placed beyond 3 SD still
  separates exactly the children whose engine z-score lies beyond it;
* ``|z| > 3`` otherwise (length/height, head circumference): the plain LMS value.

Pure numpy; no Flask, no SQLAlchemy. All arrays are fresh (callers may keep them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tables import AGE_ROWS, AGE_TABLES, WFH, WFL, AgeTable, LenTable

#: The SD lines every chart draws.
SD_LINES = (-3, -2, -1, 0, 1, 2, 3)
DAYS_PER_MONTH = 30.4375  # WHO anthro's month (zscores.DAYS_PER_MONTH)

#: Chart indicators: which table, and whether anthro uses the restricted formula beyond 3 SD.
#: ``wfl`` stands for weight-for-length (< 731 days) and weight-for-height (from 731 days).
INDICATORS = {
    "wfa": ("wei", True),
    "lhfa": ("len", False),
    "hcfa": ("hc", False),
    "wfl": (None, True),
}


def lms_value(l, m, s, z: float) -> np.ndarray:
    """The measurement with LMS z-score ``z`` (plain formula, any z)."""
    l = np.asarray(l, dtype=float)
    m = np.asarray(m, dtype=float)
    s = np.asarray(s, dtype=float)
    with np.errstate(all="ignore"):
        plain = m * np.power(1.0 + l * s * z, 1.0 / np.where(l == 0, 1.0, l))
        return np.where(l == 0, m * np.exp(s * z), plain)


def value_at_z(l, m, s, z: float, restricted: bool) -> np.ndarray:
    """The measurement at ``z`` as the z-score engine sees it (restricted beyond 3 SD when
    ``restricted``): the inverse of anthro's z for that indicator."""
    if not restricted or abs(z) <= 3.0:
        return lms_value(l, m, s, z)
    sign = 1.0 if z > 0 else -1.0
    sd3 = lms_value(l, m, s, 3.0 * sign)
    sd2 = lms_value(l, m, s, 2.0 * sign)
    return sd3 + (abs(z) - 3.0) * (sd3 - sd2)


@dataclass(frozen=True)
class Curves:
    """Curves of one chart: ``x`` (age in days, or length/height in cm) and ``values[z]``."""

    x: np.ndarray
    values: dict[float, np.ndarray]
    table: str  # "wei", "len", "hc", "wfl" or "wfh"


def age_curves(indicator: str, sex: int, first_day: int, last_day: int, zs=SD_LINES) -> Curves:
    """Curves of an age-based chart (``wfa``, ``lhfa``, ``hcfa``) for ages ``first_day`` ..
    ``last_day`` (whole days, both included), one point per table row (per day)."""
    table_name, restricted = INDICATORS[indicator]
    if table_name is None:
        raise ValueError(f"{indicator} is not an age-based chart")
    if sex not in (1, 2):
        raise ValueError("sex must be 1 (male) or 2 (female)")
    table: AgeTable = AGE_TABLES[table_name]
    first_day = max(int(first_day), table.first_day)
    last_day = min(int(last_day), AGE_ROWS - 1)
    days = np.arange(first_day, last_day + 1)
    rows = (sex - 1) * AGE_ROWS + days
    l, m, s = table.l[rows], table.m[rows], table.s[rows]
    return Curves(days.astype(float), {float(z): value_at_z(l, m, s, float(z), restricted) for z in zs},
                  table_name)


def length_curves(table_name: str, sex: int, zs=SD_LINES) -> Curves:
    """Curves of the weight-for-length (``wfl``, 45-110 cm) or weight-for-height (``wfh``,
    65-120 cm) chart, one point per 0.1 cm table row."""
    if sex not in (1, 2):
        raise ValueError("sex must be 1 (male) or 2 (female)")
    table: LenTable = {"wfl": WFL, "wfh": WFH}[table_name]
    rows = slice((sex - 1) * table.n, sex * table.n)
    x = np.arange(table.k0, table.k1 + 1) / 10.0
    l, m, s = table.l[rows], table.m[rows], table.s[rows]
    return Curves(x, {float(z): value_at_z(l, m, s, float(z), True) for z in zs}, table_name)
