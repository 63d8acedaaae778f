"""Anthropometric data quality: the SMART plausibility check for any grouping of visits.

Why: a posyandu whose cadre rounds every length to the centimetre, or whose scale is broken,
produces stunting figures that look precise and are wrong. Survey practice scores the data
before anyone reads a prevalence; this module does it per posyandu, cadre, month, or any group.

The statistics are written from their formulas, as the R package nipnTK (0.2.2.9000) computes
them, with the SMART classes and penalty points of the R package mwana:

=================  =========================================================================
check              figure (n beside it)
=================  =========================================================================
``flagged``        100 x rows with a WHO WHZ flag (``fwfl``) / rows with a WHZ (n = whz_n)
``sd``             sample SD (n - 1) of the unflagged WHZ
``skewness``       ``sqrt(n) sum(x^3) / sum(x^2)^1.5``, x = unflagged WHZ minus their mean
``kurtosis``       ``n sum(x^4) / sum(x^2)^2 - 3`` (excess)
``dps_weight``     digit preference score of the weight written with 1 decimal:
                   ``round(100 sqrt(chi2 / (N * 9)), 2)``, chi2 = Pearson's of the ten final-
                   digit counts (0-9, absent digits counted as 0) against a uniform share
``dps_height``     the same on the length/height as entered
``age_ratio``      children 6-59 months (months = floor(age_days / 30.4375)): p-value of R's
                   ``prop.test`` (Yates' continuity correction) of the share aged 6-29 months
                   against 0.85 / 1.85; observed ratio (6-29) / (30-59)
``sex_ratio``      boys among boys + girls against 0.5, same test; observed ratio boys / girls
=================  =========================================================================

The rows that take part (the *analysis rows*) are the visits with a sex (1/2), an age and a WHZ
(anthro's ``zwfl``, already rounded to 2 decimals as anthro returns it); every check uses
those rows. ``n`` counts all of the group's rows, ``whz_n`` the analysis rows.

Classes, penalty points and the overall quality follow mwana (``quality_raters.R``,
``quality_scorers.R``); skewness and kurtosis are classed on their absolute value. A figure
that cannot be computed (no rows, an SD of one value, no child aged 6-59 months, ...) is
``None`` with no class; the score is then ``None`` too, as R's ``NA`` would make it.

Small groups: the cut-offs were designed for surveys of several hundred children. Every figure
is still computed and classed (so the numbers equal R's), but a check whose n is below the
minimum in ``data/quality.json`` has ``enough_data = False``, and a group with any such check
is ``too_small``. ``points_judged`` sums the points of the checks that have enough data.

No Flask, no SQLAlchemy: the API (stored z-scores) and ``posyandu-anthro quality`` (a file)
both call :func:`assess_groups`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Hashable, Mapping, Sequence

import numpy as np
from scipy import special

DATA_PATH = Path(__file__).resolve().parent / "data" / "quality.json"

DAYS_PER_MONTH = 30.4375
#: SMART's expected age ratio (6-29 : 30-59 months) and the share aged 6-29 it implies.
EXPECTED_AGE_RATIO = 0.85
EXPECTED_YOUNG_SHARE = EXPECTED_AGE_RATIO / (EXPECTED_AGE_RATIO + 1)
EXPECTED_BOY_SHARE = 0.5

CLASSES = ("excellent", "good", "acceptable", "problematic")
CLASS_LABELS = {
    "excellent": ("Sangat baik", "Excellent"),
    "good": ("Baik", "Good"),
    "acceptable": ("Dapat diterima", "Acceptable"),
    "problematic": ("Bermasalah", "Problematic"),
}
CHECKS = ("flagged", "sd", "skewness", "kurtosis", "dps_weight", "dps_height", "age_ratio",
          "sex_ratio")
#: Penalty points per class (excellent, good, acceptable, problematic): mwana quality_scorers.R.
POINTS = {
    "flagged": (0, 5, 10, 20),
    "sd": (0, 5, 10, 20),
    "skewness": (0, 1, 3, 5),
    "kurtosis": (0, 1, 3, 5),
    "dps_weight": (0, 2, 4, 10),
    "dps_height": (0, 2, 4, 10),
    "age_ratio": (0, 2, 4, 10),
    "sex_ratio": (0, 2, 4, 10),
}
CHECK_LABELS = {
    "flagged": ("Data tidak wajar (flag WHO) BB/TB", "WHO-flagged WHZ"),
    "sd": ("Simpangan baku BB/TB", "Standard deviation of WHZ"),
    "skewness": ("Kemencengan (skewness) BB/TB", "Skewness of WHZ"),
    "kurtosis": ("Keruncingan (kurtosis) BB/TB", "Kurtosis of WHZ"),
    "dps_weight": ("Preferensi angka akhir berat badan", "Digit preference, weight"),
    "dps_height": ("Preferensi angka akhir panjang/tinggi badan", "Digit preference, length/height"),
    "age_ratio": ("Rasio umur (6-29 : 30-59 bulan)", "Age ratio (6-29 : 30-59 months)"),
    "sex_ratio": ("Rasio jenis kelamin (L : P)", "Sex ratio (boys : girls)"),
}

#: The columns of ``posyandu-anthro quality`` (and of the R validation file), in order.
VALIDATION_COLUMNS = (
    "group", "n", "whz_n", "flagged_pct", "flagged_class", "sd_whz", "sd_class", "skew_whz",
    "skew_class", "kurt_whz", "kurt_class", "dps_weight", "dps_weight_class", "dps_height",
    "dps_height_class", "age_ratio", "age_ratio_p", "age_ratio_class", "sex_ratio",
    "sex_ratio_p", "sex_ratio_class", "score", "quality",
)


# --------------------------------------------------------------------------- thresholds
@dataclass(frozen=True)
class QualitySettings:
    """The group-size minimums and register thresholds of ``data/quality.json``."""

    version: str
    min_n: Mapping[str, int]
    ratio_expected_count: float
    late_entry_days: int
    register_min_n: int

    def min_n_for(self, check: str) -> int:
        """The smallest n at which ``check`` is judged."""
        if check == "age_ratio":
            return _min_n_for_expected(EXPECTED_YOUNG_SHARE, self.ratio_expected_count)
        if check == "sex_ratio":
            return _min_n_for_expected(EXPECTED_BOY_SHARE, self.ratio_expected_count)
        if check in ("dps_weight", "dps_height"):
            return self.min_n["dps"]
        return self.min_n[check]


def _min_n_for_expected(share: float, count: float) -> int:
    """Smallest n with n * share >= count and n * (1 - share) >= count."""
    n = math.ceil(count / min(share, 1 - share))
    while n * share < count or n * (1 - share) < count:  # guard against rounding in ceil
        n += 1
    while n > 1 and (n - 1) * share >= count and (n - 1) * (1 - share) >= count:
        n -= 1
    return n


def settings_from_dict(data: Mapping[str, Any]) -> QualitySettings:
    m = data["min_n"]
    min_n = {k: int(m[k]["value"]) for k in ("flagged", "sd", "skewness", "kurtosis", "dps")}
    reg = data["register"]
    s = QualitySettings(version=str(data["version"]), min_n=min_n,
                        ratio_expected_count=float(m["ratio_expected_count"]["value"]),
                        late_entry_days=int(reg["late_entry_days"]["value"]),
                        register_min_n=int(reg["min_n"]["value"]))
    if any(v < 1 for v in min_n.values()) or s.ratio_expected_count <= 0 \
            or s.late_entry_days < 0 or s.register_min_n < 1:
        raise ValueError("quality settings: minimums must be positive")
    return s


@lru_cache(maxsize=1)
def default_settings() -> QualitySettings:
    """The packaged ``data/quality.json``, read once per process."""
    with open(DATA_PATH, encoding="utf-8") as fh:
        return settings_from_dict(json.load(fh))


# --------------------------------------------------------------------------- classes
def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def classify_flagged(pct: float | None) -> str | None:
    """<= 2.5 / <= 5 / <= 7.5 / > 7.5 (mwana ``rate_propof_flagged``, WHZ)."""
    if _is_missing(pct):
        return None
    return CLASSES[0 if pct <= 2.5 else 1 if pct <= 5 else 2 if pct <= 7.5 else 3]


def classify_sd(sd: float | None) -> str | None:
    """0.9 < sd < 1.1 / 0.85 < sd < 1.15 / 0.8 < sd < 1.2 / otherwise (``rate_std``)."""
    if _is_missing(sd):
        return None
    if 0.9 < sd < 1.1:
        return "excellent"
    if 0.85 < sd < 1.15:
        return "good"
    if 0.8 < sd < 1.2:
        return "acceptable"
    return "problematic"


def classify_skew_kurt(value: float | None) -> str | None:
    """|v| < 0.2 / < 0.4 / < 0.6 / >= 0.6."""
    if _is_missing(value):
        return None
    a = abs(value)
    return CLASSES[0 if a < 0.2 else 1 if a < 0.4 else 2 if a < 0.6 else 3]


def classify_dps(dps: float | None) -> str | None:
    """On the DPS already rounded to 2 decimals: < 8 / < 12 / < 20 / >= 20 (nipnTK)."""
    if _is_missing(dps):
        return None
    return CLASSES[0 if dps < 8 else 1 if dps < 12 else 2 if dps < 20 else 3]


def classify_p(p: float | None) -> str | None:
    """Age and sex ratio p-values: > 0.1 / > 0.05 / > 0.001 / <= 0.001 (``rate_agesex_ratio``)."""
    if _is_missing(p):
        return None
    return CLASSES[0 if p > 0.1 else 1 if p > 0.05 else 2 if p > 0.001 else 3]


def classify_score(score: int | None) -> str | None:
    """Overall quality: 0-9 / 10-14 / 15-24 / >= 25 (``rate_overall_quality``)."""
    if score is None:
        return None
    return CLASSES[0 if score <= 9 else 1 if score <= 14 else 2 if score <= 24 else 3]


_CLASSIFIERS = {
    "flagged": classify_flagged, "sd": classify_sd, "skewness": classify_skew_kurt,
    "kurtosis": classify_skew_kurt, "dps_weight": classify_dps, "dps_height": classify_dps,
    "age_ratio": classify_p, "sex_ratio": classify_p,
}


def points_for(check: str, quality_class: str | None) -> int | None:
    if quality_class is None:
        return None
    return POINTS[check][CLASSES.index(quality_class)]


# --------------------------------------------------------------------------- statistics
def _float(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def flagged_percent(flags: np.ndarray) -> float | None:
    """100 x flagged / rows (``flags``: one boolean per row with a WHZ)."""
    n = len(flags)
    return None if n == 0 else 100.0 * int(np.count_nonzero(flags)) / n


def _ld_sum(x: np.ndarray) -> np.longdouble:
    """A sum accumulated in long double, as R's ``sum`` and ``var`` accumulate."""
    return np.sum(x.astype(np.longdouble))


def r_mean(x: np.ndarray) -> float:
    """R's ``mean``: the long-double sum over n, corrected by the mean of the residuals (so
    the mean of equal values is that value exactly and their deviations are exactly 0)."""
    n = len(x)
    ld = x.astype(np.longdouble)
    m = np.sum(ld) / n
    if np.isfinite(m):
        m = m + np.sum(ld - m) / n
    return float(m)


def sample_sd(x: np.ndarray) -> float | None:
    """R's ``sd``: sqrt(sum((x - mean)^2) / (n - 1)); None below 2 values."""
    n = len(x)
    if n < 2:
        return None
    d = x - r_mean(x)
    return math.sqrt(float(_ld_sum(d * d) / (n - 1)))


def skew_kurt(x: np.ndarray) -> tuple[float | None, float | None]:
    """nipnTK ``skewKurt``: (skewness, excess kurtosis); None where the formula is 0/0
    (no values, or all values equal)."""
    n = len(x)
    if n == 0:
        return None, None
    d = x - r_mean(x)
    d2 = d * d
    s2 = float(_ld_sum(d2))
    if s2 == 0.0:
        return None, None
    s = math.sqrt(n) * float(_ld_sum(d2 * d)) / s2 ** 1.5
    k = n * float(_ld_sum(d2 * d2)) / s2 ** 2 - 3
    return s, k


def final_digit_counts(values: np.ndarray) -> np.ndarray:
    """Counts of the final digit (0-9) of each value written with 1 decimal (C's ``%.1f``,
    as R's ``formatC(x, digits = 1, format = "f")``); NaN values are not counted."""
    v = values[~np.isnan(values)]
    if len(v) == 0:
        return np.zeros(10, dtype=np.int64)
    uniq, inv = np.unique(v, return_inverse=True)  # format each distinct value once
    digit = np.array([ord(("%.1f" % u)[-1]) - 48 for u in uniq.tolist()], dtype=np.int64)
    return np.bincount(digit[inv.reshape(-1)], minlength=10)


def digit_preference_score(counts: Sequence[int]) -> float | None:
    """nipnTK ``digitPreference``: ``round(100 * sqrt(chi2 / (N * df)), 2)`` with chi2 =
    Pearson's statistic of the counts against a uniform distribution (R's ``chisq.test``:
    expected = N * (1 / k)), df = k - 1. None when there are no values."""
    counts = [int(c) for c in counts]
    k = len(counts)
    total = sum(counts)
    if total == 0:
        return None
    expected = total * (1 / k)
    chi2 = math.fsum((c - expected) ** 2 / expected for c in counts)
    return round(100 * math.sqrt(chi2 / (total * (k - 1))), 2)


def prop_test(x: int, n: int, p: float) -> tuple[float | None, float | None]:
    """R's ``prop.test(x, n, p)`` for one proportion, two-sided, with Yates' continuity
    correction: ``YATES = min(0.5, |x - n p|)``; statistic ``sum((|O - E| - YATES)^2 / E)``
    over (x, n - x) against (n p, n (1 - p)); p-value ``pchisq(statistic, 1, lower = FALSE)``.
    Returns (statistic, p-value); (None, None) when n is 0 (R stops there)."""
    if n <= 0:
        return None, None
    yates = min(0.5, abs(x - n * p))
    e1, e2 = n * p, n * (1 - p)
    stat = (abs(x - e1) - yates) ** 2 / e1 + (abs((n - x) - e2) - yates) ** 2 / e2
    return stat, float(special.chdtrc(1, stat))


def _ratio(a: int, b: int) -> float | None:
    if b == 0:
        return None if a == 0 else math.inf
    return a / b


def age_ratio_test(age_days: np.ndarray) -> tuple[int, int, float | None, float | None]:
    """Children 6-59 months: (n, aged 6-29, observed ratio (6-29)/(30-59), p-value)."""
    months = np.floor(age_days / DAYS_PER_MONTH)
    in_range = (months >= 6) & (months <= 59)
    n = int(np.count_nonzero(in_range))
    young = int(np.count_nonzero(in_range & (months <= 29)))
    return n, young, _ratio(young, n - young), prop_test(young, n, EXPECTED_YOUNG_SHARE)[1]


def sex_ratio_test(sex: np.ndarray) -> tuple[int, int, float | None, float | None]:
    """(boys + girls, boys, observed ratio boys/girls, p-value against 1:1)."""
    boys = int(np.count_nonzero(sex == 1))
    girls = int(np.count_nonzero(sex == 2))
    n = boys + girls
    return n, boys, _ratio(boys, girls), prop_test(boys, n, EXPECTED_BOY_SHARE)[1]


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class CheckResult:
    """One check of one group: the figure that is classed (a percentage, SD, skewness,
    kurtosis, DPS or p-value), the observed ratio (age and sex ratio only), its class and
    penalty points, the n it rests on and whether that n is enough to judge."""

    key: str
    n: int
    value: float | None
    quality_class: str | None
    points: int | None
    min_n: int
    ratio: float | None = None

    @property
    def enough_data(self) -> bool:
        return self.n >= self.min_n

    def as_dict(self, language: str = "id") -> dict[str, Any]:
        lang = 1 if language == "en" else 0
        return {
            "check": self.key, "label": CHECK_LABELS[self.key][lang], "n": self.n,
            "value": _json_number(self.value), "ratio": _json_number(self.ratio),
            "quality_class": self.quality_class,
            "quality_label": CLASS_LABELS[self.quality_class][lang] if self.quality_class else None,
            "points": self.points, "min_n": self.min_n, "enough_data": self.enough_data,
        }


def _json_number(v: float | None) -> float | None:
    """JSON has no Inf or NaN: both become null."""
    return None if v is None or not math.isfinite(v) else v


@dataclass(frozen=True)
class GroupQuality:
    n: int
    whz_n: int
    checks: Mapping[str, CheckResult] = field(default_factory=dict)

    @property
    def score(self) -> int | None:
        """Sum of the penalty points; None when a check could not be classed (R: NA)."""
        pts = [c.points for c in self.checks.values()]
        return None if any(p is None for p in pts) else sum(pts)

    @property
    def quality(self) -> str | None:
        return classify_score(self.score)

    @property
    def points_judged(self) -> int:
        """Points of the checks with enough data (what a supervisor can act on)."""
        return sum(c.points for c in self.checks.values() if c.points is not None and c.enough_data)

    @property
    def too_small(self) -> tuple[str, ...]:
        """The checks whose n is below their minimum."""
        return tuple(k for k, c in self.checks.items() if not c.enough_data)

    def validation_row(self, group: Any) -> dict[str, Any]:
        """The row of ``posyandu-anthro quality``: the columns of the R validation file."""
        c = self.checks
        return {
            "group": group, "n": self.n, "whz_n": self.whz_n,
            "flagged_pct": c["flagged"].value, "flagged_class": c["flagged"].quality_class,
            "sd_whz": c["sd"].value, "sd_class": c["sd"].quality_class,
            "skew_whz": c["skewness"].value, "skew_class": c["skewness"].quality_class,
            "kurt_whz": c["kurtosis"].value, "kurt_class": c["kurtosis"].quality_class,
            "dps_weight": c["dps_weight"].value, "dps_weight_class": c["dps_weight"].quality_class,
            "dps_height": c["dps_height"].value, "dps_height_class": c["dps_height"].quality_class,
            "age_ratio": c["age_ratio"].ratio, "age_ratio_p": c["age_ratio"].value,
            "age_ratio_class": c["age_ratio"].quality_class,
            "sex_ratio": c["sex_ratio"].ratio, "sex_ratio_p": c["sex_ratio"].value,
            "sex_ratio_class": c["sex_ratio"].quality_class,
            "score": self.score, "quality": self.quality,
        }


def analysis_mask(whz: np.ndarray, sex: np.ndarray, age_days: np.ndarray) -> np.ndarray:
    """The rows every check uses: a sex (1 or 2), a non-negative age and a WHZ."""
    with np.errstate(invalid="ignore"):
        return ~np.isnan(whz) & ((sex == 1) | (sex == 2)) & (age_days >= 0)


def _check(key: str, n: int, value, settings: QualitySettings, ratio=None) -> CheckResult:
    value = None if value is None else _float(value)
    cls = _CLASSIFIERS[key](value)
    return CheckResult(key, n, value, cls, points_for(key, cls), settings.min_n_for(key), ratio)


def assess(*, whz, flag, sex, age_days, weight, lenhei,
           settings: QualitySettings | None = None) -> GroupQuality:
    """Every check for one group of visits (arrays of equal length, one element per visit).

    ``whz``: anthro's rounded ``zwfl`` (NaN = none); ``flag``: anthro's ``fwfl`` (1/True =
    flagged); ``sex``: 1 boy, 2 girl; ``age_days``; ``weight`` in kg and ``lenhei`` in cm as
    entered (NaN = missing).
    """
    settings = settings or default_settings()
    whz = np.asarray(whz, dtype=float)
    sex = np.asarray(sex, dtype=float)
    age_days = np.asarray(age_days, dtype=float)
    keep = analysis_mask(whz, sex, age_days)
    z = whz[keep]
    flagged = np.nan_to_num(np.asarray(flag, dtype=float)[keep]) == 1
    weight = np.asarray(weight, dtype=float)[keep]
    lenhei = np.asarray(lenhei, dtype=float)[keep]
    whz_n = len(z)

    checks: dict[str, CheckResult] = {}
    checks["flagged"] = _check("flagged", whz_n, flagged_percent(flagged), settings)
    clean = z[~flagged]
    checks["sd"] = _check("sd", len(clean), sample_sd(clean), settings)
    s, k = skew_kurt(clean)
    checks["skewness"] = _check("skewness", len(clean), s, settings)
    checks["kurtosis"] = _check("kurtosis", len(clean), k, settings)
    for key, values in (("dps_weight", weight), ("dps_height", lenhei)):
        counts = final_digit_counts(values)
        checks[key] = _check(key, int(counts.sum()), digit_preference_score(counts), settings)
    n_age, _, age_ratio, age_p = age_ratio_test(age_days[keep])
    checks["age_ratio"] = _check("age_ratio", n_age, age_p, settings, ratio=age_ratio)
    n_sex, _, sex_ratio, sex_p = sex_ratio_test(sex[keep])
    checks["sex_ratio"] = _check("sex_ratio", n_sex, sex_p, settings, ratio=sex_ratio)
    return GroupQuality(n=len(whz), whz_n=whz_n, checks=checks)


def assess_groups(groups: Sequence[Hashable] | np.ndarray | None, *, whz, flag, sex, age_days,
                  weight, lenhei, settings: QualitySettings | None = None,
                  total: Hashable | None = "All") -> dict[Hashable, GroupQuality]:
    """:func:`assess` for every group, plus the whole set under ``total`` (first; None to
    leave it out). Groups come out in sorted order of their labels. Rows are split once
    (argsort), so the cost does not grow with the number of groups."""
    settings = settings or default_settings()
    cols = {"whz": np.asarray(whz, dtype=float), "flag": np.asarray(flag, dtype=float),
            "sex": np.asarray(sex, dtype=float), "age_days": np.asarray(age_days, dtype=float),
            "weight": np.asarray(weight, dtype=float), "lenhei": np.asarray(lenhei, dtype=float)}
    out: dict[Hashable, GroupQuality] = {}
    if total is not None:
        out[total] = assess(settings=settings, **cols)
    if groups is None:
        return out
    labels = np.asarray(groups)
    if len(labels) == 0:
        return out
    uniq, inv = np.unique(labels, return_inverse=True)
    inv = inv.reshape(-1)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(uniq) + 1))
    for g, label in enumerate(uniq.tolist()):
        idx = order[bounds[g]:bounds[g + 1]]
        out[label] = assess(settings=settings, **{k: v[idx] for k, v in cols.items()})
    return out


def validation_rows(results: Mapping[Hashable, GroupQuality]) -> list[dict[str, Any]]:
    return [q.validation_row(label) for label, q in results.items()]


__all__ = [
    "CHECKS", "CLASSES", "CLASS_LABELS", "CHECK_LABELS", "POINTS", "VALIDATION_COLUMNS",
    "CheckResult", "GroupQuality", "QualitySettings", "analysis_mask", "assess",
    "assess_groups", "age_ratio_test", "classify_dps", "classify_flagged", "classify_p",
    "classify_score", "classify_sd", "classify_skew_kurt", "default_settings",
    "digit_preference_score", "final_digit_counts", "flagged_percent", "prop_test",
    "sample_sd", "settings_from_dict", "sex_ratio_test", "skew_kurt", "validation_rows",
]
