"""What only a longitudinal register can see about data quality, per visit and per group.

A survey sees each child once; a posyandu register sees her every month, so it can also catch:

==========================  ===================================================================
check                       a visit counts when ... (among the visits that can show it)
==========================  ===================================================================
``length_shrank``           its length/height (``clenhei``, after the lying/standing 0.7 cm
                            adjustment) is below the previous visit's by more than the growth
                            rules' ``length_decrease_tolerance_cm`` (rules_id.json), compared
                            as ``check_against_previous`` does: ``round(prev - cur, 6) > tol``
                            (visits with a length and a previous length)
``weight_repeated``         its weight equals, to the gram, the weight of the child's previous
                            visit when that visit was in the previous calendar month (visits
                            with such a previous weighing). Some repeats are natural (a child
                            who did not gain, weighed to 0.1 kg); a cadre copying last month's
                            column shows as a rate far above the others
``measure_missing``         it has a length but no measuring position (lying/standing)
``implausible_entered``     any of its z-scores carries a WHO flag (|z| beyond WHO's limits),
                            i.e. the value was saved instead of measured again (visits with a
                            z-score)
``late_entry``              it reached the server more than ``late_entry_days``
                            (data/quality.json) after the session day, counted in the
                            posyandu's local dates (all visits)
==========================  ===================================================================

Everything is numpy over columns (one element per visit); the caller supplies each visit's
previous visit (e.g. SQL ``LAG`` over the child's visits). Pure: no Flask, no SQLAlchemy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

REGISTER_CHECKS = ("length_shrank", "weight_repeated", "measure_missing", "implausible_entered",
                   "late_entry")
REGISTER_LABELS = {
    "length_shrank": ("Panjang/tinggi badan berkurang dari kunjungan sebelumnya",
                      "Length/height shorter than at the previous visit"),
    "weight_repeated": ("Berat badan sama persis dengan bulan lalu",
                        "Weight identical to last month's"),
    "measure_missing": ("Cara ukur (telentang/berdiri) tidak diisi",
                        "Measuring position (lying/standing) missing"),
    "implausible_entered": ("Nilai tidak wajar (flag WHO) tetap disimpan",
                            "Implausible (WHO-flagged) value saved anyway"),
    "late_entry": ("Dicatat terlambat setelah hari posyandu",
                   "Entered long after the session day"),
}


@dataclass(frozen=True)
class RegisterResult:
    """One register check for one group: ``count`` of the ``n`` visits that can show it."""

    key: str
    n: int
    count: int
    min_n: int

    @property
    def pct(self) -> float | None:
        return None if self.n == 0 else 100.0 * self.count / self.n

    @property
    def enough_data(self) -> bool:
        return self.n >= self.min_n

    def as_dict(self, language: str = "id") -> dict[str, Any]:
        return {"check": self.key, "label": REGISTER_LABELS[self.key][1 if language == "en" else 0],
                "n": self.n, "count": self.count, "pct": self.pct, "min_n": self.min_n,
                "enough_data": self.enough_data}


def _months(days: np.ndarray) -> np.ndarray:
    """datetime64[D] -> calendar month number (months since 1970-01)."""
    return days.astype("datetime64[M]").astype(np.int64)


def visit_checks(*, clenhei, prev_clenhei, weight, prev_weight, measured_on, prev_measured_on,
                 length_cm, measure_missing, has_z, any_flag, entered_day,
                 length_tolerance_cm: float, late_entry_days: int
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per visit and check: (eligible, hit) boolean arrays.

    ``measured_on`` / ``prev_measured_on``: datetime64[D] (NaT = no previous visit);
    ``entered_day``: datetime64[D] of the local date the visit reached the server; floats use
    NaN for missing; ``measure_missing``, ``has_z``, ``any_flag``: booleans.
    """
    clenhei = np.asarray(clenhei, dtype=float)
    prev_clenhei = np.asarray(prev_clenhei, dtype=float)
    weight = np.asarray(weight, dtype=float)
    prev_weight = np.asarray(prev_weight, dtype=float)
    measured_on = np.asarray(measured_on, dtype="datetime64[D]")
    prev_measured_on = np.asarray(prev_measured_on, dtype="datetime64[D]")
    entered_day = np.asarray(entered_day, dtype="datetime64[D]")
    out = {}

    both_lengths = ~np.isnan(clenhei) & ~np.isnan(prev_clenhei)
    with np.errstate(invalid="ignore"):
        shrank = np.round(prev_clenhei - clenhei, 6) > length_tolerance_cm
    out["length_shrank"] = (both_lengths, both_lengths & shrank)

    has_prev = ~np.isnat(prev_measured_on)
    last_month = np.zeros(len(weight), dtype=bool)
    last_month[has_prev] = (_months(measured_on[has_prev]) - _months(prev_measured_on[has_prev])) == 1
    both_weights = last_month & ~np.isnan(weight) & ~np.isnan(prev_weight)
    with np.errstate(invalid="ignore"):
        same = np.round(weight, 3) == np.round(prev_weight, 3)
    out["weight_repeated"] = (both_weights, both_weights & same)

    has_length = ~np.isnan(np.asarray(length_cm, dtype=float))
    out["measure_missing"] = (has_length, has_length & np.asarray(measure_missing, dtype=bool))

    has_z = np.asarray(has_z, dtype=bool)
    out["implausible_entered"] = (has_z, has_z & np.asarray(any_flag, dtype=bool))

    everyone = np.ones(len(weight), dtype=bool)
    late = (entered_day - measured_on).astype(np.int64) > late_entry_days
    out["late_entry"] = (everyone, late & ~np.isnat(entered_day))
    return out


def summarise(group_index: np.ndarray, n_groups: int,
              checks: Mapping[str, tuple[np.ndarray, np.ndarray]], *, min_n: int
              ) -> list[dict[str, RegisterResult]]:
    """Counts per group (``group_index``: 0..n_groups-1 per visit), with np.bincount."""
    per_group: list[dict[str, RegisterResult]] = [{} for _ in range(n_groups)]
    for key in REGISTER_CHECKS:
        eligible, hit = checks[key]
        n = np.bincount(group_index, weights=eligible, minlength=n_groups)
        k = np.bincount(group_index, weights=hit, minlength=n_groups)
        for g in range(n_groups):
            per_group[g][key] = RegisterResult(key, int(n[g]), int(k[g]), min_n)
    return per_group


def summarise_all(checks: Mapping[str, tuple[np.ndarray, np.ndarray]], *, min_n: int
                  ) -> dict[str, RegisterResult]:
    return {key: RegisterResult(key, int(np.count_nonzero(e)), int(np.count_nonzero(h)), min_n)
            for key, (e, h) in checks.items()}
