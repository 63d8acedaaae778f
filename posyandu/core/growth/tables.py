"""WHO Child Growth Standards LMS tables, loaded once and laid out for arithmetic indexing.

The CSVs in ``data/`` are the ``growthstandards_*`` objects of the WHO anthro R package
(see /work/shared/who-growth-standards/README.md).  They are read with ``importlib.resources``
so the package works from a wheel or a zip.

Layout (why: RULES.md s.3 says anthro joins on (sex, rounded age); an array index
``(sex - 1) * AGE_ROWS + age_days`` gives the same row without a join):

* age tables: one slot per sex and integer day 0..1826; days missing from a table
  (0..90 for arm circumference and the skinfolds) hold NaN;
* length/height tables (RULES.md s.4): one slot per sex and 0.1 cm step, index
  ``(sex - 1) * n + (k - k0)`` where ``k = trunc(clenhei * 10)``.  ``k / 10`` is exactly the
  double that R parses from the table's decimal text, so R's exact-equality join and our
  integer index select the same rows.

For the restricted LMS formula (RULES.md s.3) the SD lines ``SD3pos``, ``SD3pos - SD2pos``,
``SD3neg`` and ``SD2neg - SD3neg`` are precomputed per age-table row, with the same operations
anthro uses (``m * ((1 + l*s*sd) ^ (1/l))``) and with ``numpy.power`` -- the one power
implementation both code paths use (see ``zscores.py``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = [
    "AGE_MAX_DAY",
    "AGE_ROWS",
    "AgeTable",
    "LenTable",
    "AGE_TABLES",
    "WFL",
    "WFH",
]

AGE_MAX_DAY = 1826  # last day in every age table
AGE_ROWS = AGE_MAX_DAY + 1  # slots per sex


def _read_csv(name: str) -> tuple[list[str], list[list[str]]]:
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def _sd_line(l: np.ndarray, m: np.ndarray, s: np.ndarray, sd: float) -> np.ndarray:
    """anthro's ``calc_sd``: ``m * ((1 + l * s * sd)^(1 / l))`` (R evaluates ``(l*s)*sd``)."""
    base = 1.0 + (l * s) * sd
    with np.errstate(all="ignore"):
        return m * np.power(base, 1.0 / l)


@dataclass(frozen=True)
class AgeTable:
    """One age-indexed LMS table, arrays of length ``2 * AGE_ROWS`` (NaN where no row)."""

    name: str
    first_day: int
    l: np.ndarray
    m: np.ndarray
    s: np.ndarray
    sl: np.ndarray  # s * l, the plain formula's denominator
    sd3pos: np.ndarray
    sd23pos: np.ndarray  # SD3pos - SD2pos
    sd3neg: np.ndarray
    sd23neg: np.ndarray  # SD2neg - SD3neg
    l_is_one: bool  # every L == 1: x^1 == x exactly, so no power call is needed
    # the same columns as Python lists, for the scalar path
    py: dict


@dataclass(frozen=True)
class LenTable:
    """A weight-for-length (45-110 cm) or weight-for-height (65-120 cm) table."""

    name: str
    k0: int  # first row's length * 10
    k1: int  # last row's length * 10
    lo_cm: float
    hi_cm: float
    n: int  # rows per sex
    l: np.ndarray
    m: np.ndarray
    s: np.ndarray
    py: dict


def _load_age(name: str, fname: str) -> AgeTable:
    header, rows = _read_csv(fname)
    assert header[:5] == ["sex", "age", "l", "m", "s"], (fname, header)
    l = np.full(2 * AGE_ROWS, np.nan)
    m = np.full(2 * AGE_ROWS, np.nan)
    s = np.full(2 * AGE_ROWS, np.nan)
    first = None
    for r in rows:
        sex, age = int(r[0]), int(r[1])
        if not (sex in (1, 2) and 0 <= age <= AGE_MAX_DAY):
            raise ValueError(f"{fname}: unexpected row {r}")
        i = (sex - 1) * AGE_ROWS + age
        l[i], m[i], s[i] = float(r[2]), float(r[3]), float(r[4])
        first = age if first is None else min(first, age)
    sl = s * l
    sd3pos = _sd_line(l, m, s, 3.0)
    sd3neg = _sd_line(l, m, s, -3.0)
    sd23pos = sd3pos - _sd_line(l, m, s, 2.0)
    sd23neg = _sd_line(l, m, s, -2.0) - sd3neg
    l_is_one = bool(np.all((l == 1.0) | np.isnan(l)))
    arrays = dict(l=l, m=m, s=s, sl=sl, sd3pos=sd3pos, sd23pos=sd23pos, sd3neg=sd3neg,
                  sd23neg=sd23neg)
    for a in arrays.values():
        a.flags.writeable = False
    py = {k: v.tolist() for k, v in arrays.items()}
    return AgeTable(name=name, first_day=int(first), l_is_one=l_is_one, py=py, **arrays)


def _load_len(name: str, fname: str) -> LenTable:
    header, rows = _read_csv(fname)
    assert header[0] == "sex" and header[2:5] == ["l", "m", "s"], (fname, header)
    ks = sorted({int(round(float(r[1]) * 10)) for r in rows})
    k0, k1 = ks[0], ks[-1]
    n = k1 - k0 + 1
    l = np.full(2 * n, np.nan)
    m = np.full(2 * n, np.nan)
    s = np.full(2 * n, np.nan)
    for r in rows:
        sex, k = int(r[0]), int(round(float(r[1]) * 10))
        if float(r[1]) != k / 10:  # the property the exact-equality join relies on
            raise ValueError(f"{fname}: length {r[1]} is not k/10")
        i = (sex - 1) * n + (k - k0)
        l[i], m[i], s[i] = float(r[2]), float(r[3]), float(r[4])
    if np.isnan(l).any():
        raise ValueError(f"{fname}: gaps in the 0.1 cm grid")
    for a in (l, m, s):
        a.flags.writeable = False
    py = {"l": l.tolist(), "m": m.tolist(), "s": s.tolist()}
    return LenTable(name=name, k0=k0, k1=k1, lo_cm=k0 / 10, hi_cm=k1 / 10, n=n,
                    l=l, m=m, s=s, py=py)


#: Age tables by output indicator name (RULES.md s.3).
AGE_TABLES: dict[str, AgeTable] = {
    "len": _load_age("len", "length_height_for_age.csv"),
    "wei": _load_age("wei", "weight_for_age.csv"),
    "bmi": _load_age("bmi", "bmi_for_age.csv"),
    "hc": _load_age("hc", "head_circumference_for_age.csv"),
    "ac": _load_age("ac", "arm_circumference_for_age.csv"),
    "ts": _load_age("ts", "triceps_skinfold_for_age.csv"),
    "ss": _load_age("ss", "subscapular_skinfold_for_age.csv"),
}

#: Weight-for-length (45-110 cm) and weight-for-height (65-120 cm), RULES.md s.4.
WFL: LenTable = _load_len("wfl", "weight_for_length.csv")
WFH: LenTable = _load_len("wfh", "weight_for_height.csv")
