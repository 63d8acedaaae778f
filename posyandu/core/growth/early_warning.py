"""Growth-faltering early warning: children at risk *before* length/height-for-age falls below -2.

Five rules, their thresholds in ``data/early_warning_id.json`` (each number with its source or
reasoning, tagged U where unverified; ``docs/early-warning.md`` explains them to a puskesmas):

* ``haz_decline`` -- length/height-for-age trend (least squares over the window) fell by at
  least ``min_drop_z``, the latest value is still at or above -2, and at this pace it would be
  below -2 within ``horizon_months``;
* ``haz_near_line`` -- the latest length/height-for-age is between -2 and ``max_z`` (a level:
  in the backtest the best single predictor of crossing the line, since a cadre's length error
  makes short-term changes noisy);
* ``weight_crossing`` -- weight-for-age or weight-for-length/height fell from the window's
  highest value through one of the major lines (0, -1, -2 SD) by at least ``min_drop_z``;
* ``weight_flat`` -- no weight gain at two consecutive weighings (three weighings, each
  interval at most ``max_interval_months``): stricter than 2T, and it bridges a missed month;
* ``gap_drop`` -- the first visit after ``min_gap_months`` or more without a visit shows a
  large drop of any index against the last value before the absence.

A child is listed for a month when a rule fired at her latest visit able to evaluate it within
the last ``recent_months``, she is not stunted already, and her latest length/height-for-age is
not above ``max_latest_haz_z`` (far from the line).

Why vectorised: an area's list (a puskesmas, a kabupaten) is computed from the stored history
of all its children at once. Every function works on :class:`VisitColumns` -- numpy columns
sorted by child, then date -- with whole-array operations (cumulative sums, ``searchsorted``
windows, shifted copies for a bounded number of lags); there is no Python loop per child or
per visit. :func:`evaluate_child` is the per-child entry point (same code, one child).

Causality: the result at a visit depends only on that visit and earlier rows of the same child
(sorted order), so evaluating the full history and reading month ``M`` gives exactly what the
rules said at the end of month ``M`` (tested). Values flagged implausible by the WHO engine
(``flen``, ``fwei``, ``fwfl``) never take part. Pure code: numpy only; no Flask, no SQLAlchemy.
"""
from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .rules import default_rules

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "early_warning_id.json"

RULE_CODES = ("haz_decline", "haz_near_line", "weight_crossing", "weight_flat", "gap_drop")
INDICES = ("haz", "waz", "whz")
#: Early-warning index -> classification index in rules_id.json (for the PB/U vs TB/U label).
_CLASSIFY_INDEX = {"haz": "tbu", "waz": "bbu", "whz": "bbtb"}
DAYS_PER_MONTH = 30.4375
#: Month index of 1970-01 (``year * 12 + month - 1``, as ``trend.month_index``).
_EPOCH_MONTH = 1970 * 12
_EPOCH = _dt.date(1970, 1, 1)


class EarlyWarningRulesError(ValueError):
    """The early-warning data file is inconsistent."""


# ---------------------------------------------------------------------------------------
# rule data
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One evaluated unit: a rule on one index (``weight_crossing`` on WAZ, ...)."""
    rule: str
    index: str | None


class EarlyWarningRules:
    """The validated data file: thresholds as attributes, texts per rule."""

    def __init__(self, data: Mapping[str, Any]):
        try:
            self._compile(data)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, EarlyWarningRulesError):
                raise
            raise EarlyWarningRulesError(f"early-warning data incomplete or malformed: {exc!r}") from exc

    def _compile(self, data: Mapping[str, Any]) -> None:
        self.data = copy.deepcopy(dict(data))
        self.version = str(data["version"])
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        self.fingerprint = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        g = data["general"]
        self.recent_months = int(g["recent_months"]["value"])
        self.stunted_below_z = float(g["stunted_below_z"]["value"])
        self.max_age_days = float(g["max_age_days"]["value"])
        self.length_shrink_tolerance_cm = float(g["length_shrink_tolerance_cm"]["value"])
        self.max_latest_haz_z = float(g["max_latest_haz_z"]["value"])
        if self.recent_months < 1:
            raise EarlyWarningRulesError("general.recent_months must be at least 1")
        rules = data["rules"]
        if set(rules) != set(RULE_CODES):
            raise EarlyWarningRulesError(f"rules must be exactly {RULE_CODES}, got {sorted(rules)}")
        self.texts = {}
        for code, rule in rules.items():
            for part in ("label", "message", "advice"):
                if not rule[part]["id"] or not rule[part]["en"]:
                    raise EarlyWarningRulesError(f"rules.{code}.{part} needs 'id' and 'en' text")
            self.texts[code] = {part: (rule[part]["id"], rule[part]["en"]) for part in ("label", "message", "advice")}
        self.order = {code: int(rules[code]["order"]) for code in RULE_CODES}

        p = {code: {k: v["value"] for k, v in rules[code]["params"].items()} for code in RULE_CODES}
        h = p["haz_decline"]
        self.haz_window_months = int(h["window_months"])
        self.haz_min_points = int(h["min_points"])
        self.haz_min_span_months = float(h["min_span_months"])
        self.haz_min_drop_z = float(h["min_drop_z"])
        self.haz_horizon_months = float(h["horizon_months"])
        self.near_line_max_z = float(p["haz_near_line"]["max_z"])
        if not self.near_line_max_z > self.stunted_below_z:
            raise EarlyWarningRulesError("haz_near_line.max_z must be above general.stunted_below_z")
        if self.haz_min_points < 2 or self.haz_window_months < 1 or self.haz_min_drop_z <= 0:
            raise EarlyWarningRulesError("haz_decline: min_points >= 2, window_months >= 1, min_drop_z > 0")
        c = p["weight_crossing"]
        self.crossing_indices = tuple(c["indices"])
        if not set(self.crossing_indices) <= {"waz", "whz"} or not self.crossing_indices:
            raise EarlyWarningRulesError("weight_crossing.indices: a non-empty subset of waz, whz")
        self.crossing_lines = tuple(sorted((float(v) for v in c["lines_z"]), reverse=True))
        if not self.crossing_lines:
            raise EarlyWarningRulesError("weight_crossing.lines_z must not be empty")
        self.crossing_window_months = int(c["window_months"])
        self.crossing_min_drop_z = {k: float(v) for k, v in c["min_drop_z"].items()}
        if not set(self.crossing_indices) <= set(self.crossing_min_drop_z):
            raise EarlyWarningRulesError("weight_crossing.min_drop_z needs a value for each index")
        f = p["weight_flat"]
        self.flat_max_gain_kg = float(f["max_gain_kg"])
        self.flat_max_interval_months = int(f["max_interval_months"])
        self.flat_min_age_months = float(f["min_age_months"])
        if self.flat_max_interval_months < 1:
            raise EarlyWarningRulesError("weight_flat.max_interval_months must be at least 1")
        d = p["gap_drop"]
        self.gap_min_months = int(d["min_gap_months"])
        self.gap_max_months = int(d["max_gap_months"])
        self.gap_min_drop_z = {k: float(v) for k, v in d["min_drop_z"].items()}
        if set(self.gap_min_drop_z) != set(INDICES):
            raise EarlyWarningRulesError("gap_drop.min_drop_z needs haz, waz and whz")
        if not 2 <= self.gap_min_months <= self.gap_max_months:
            raise EarlyWarningRulesError("gap_drop: 2 <= min_gap_months <= max_gap_months")

        checks = [Check("haz_decline", "haz"), Check("haz_near_line", "haz")]
        checks += [Check("weight_crossing", i) for i in self.crossing_indices]
        checks += [Check("weight_flat", None)]
        checks += [Check("gap_drop", i) for i in INDICES]
        self.checks = tuple(checks)

    def history_months(self) -> int:
        """How many months before month M a list for M needs (the fetch window)."""
        back = max(self.haz_window_months, self.crossing_window_months,
                   2 * self.flat_max_interval_months, self.gap_max_months)
        return back + self.recent_months - 1

    def with_values(self, overrides: Mapping[str, Any]) -> "EarlyWarningRules":
        """A copy with some values replaced: ``{"haz_decline.min_drop_z": 0.6, ...}``
        (``general.<name>`` for the general settings). For tuning and tests."""
        data = copy.deepcopy(self.data)
        for key, value in overrides.items():
            section, name = key.split(".", 1)
            target = data["general"] if section == "general" else data["rules"][section]["params"]
            if name not in target:
                raise KeyError(key)
            target[name]["value"] = value
        return EarlyWarningRules(data)

    def __repr__(self) -> str:
        return f"<EarlyWarningRules {self.version}>"


def load_rules(path: str | Path | None = None) -> EarlyWarningRules:
    with open(path or DEFAULT_PATH, encoding="utf-8") as fh:
        return EarlyWarningRules(json.load(fh))


@lru_cache(maxsize=1)
def default_ews_rules() -> EarlyWarningRules:
    """The packaged rule data, loaded once per process."""
    return load_rules()


# ---------------------------------------------------------------------------------------
# input columns
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VisitColumns:
    """Visits of many children as numpy columns, sorted by ``child`` then ``day``.

    ``child``: int codes (non-decreasing); ``day``: days since 1970-01-01; z-scores as stored
    (NaN when missing); ``f*`` True when the WHO engine flagged the value implausible.
    ``haz_stunted`` (optional): the stored category says stunted (compares the unrounded z);
    without it, ``haz < stunted_below_z`` on the stored value.
    """
    child: np.ndarray
    day: np.ndarray
    age_days: np.ndarray
    weight_kg: np.ndarray
    clenhei: np.ndarray
    haz: np.ndarray
    waz: np.ndarray
    whz: np.ndarray
    flen: np.ndarray
    fwei: np.ndarray
    fwfl: np.ndarray
    haz_stunted: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.child)

    @property
    def n_children(self) -> int:
        return int(self.child[-1]) + 1 if len(self.child) else 0

    @property
    def month(self) -> np.ndarray:
        return month_of_day(self.day)

    def take(self, mask: np.ndarray) -> "VisitColumns":
        """The rows where ``mask`` is True (child codes kept, so results line up)."""
        values = {name: (None if getattr(self, name) is None else getattr(self, name)[mask])
                  for name in self.__dataclass_fields__}
        return VisitColumns(**values)


def month_of_day(day: np.ndarray) -> np.ndarray:
    """Month index (``year * 12 + month - 1``) of days since 1970-01-01."""
    months = np.asarray(day, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months + _EPOCH_MONTH


def month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _floats(values) -> np.ndarray:
    """Floats with NaN for missing (numpy turns ``None`` into NaN for float64)."""
    return np.array(values, dtype=np.float64)


def _flags(values) -> np.ndarray:
    a = _floats(values)
    return np.nan_to_num(a, nan=0.0) != 0


def _days(values) -> np.ndarray:
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64)
    return np.array(values, dtype="datetime64[D]").astype(np.int64)


def build_columns(child_keys: Sequence[Any], measured_on, age_days, weight_kg, clenhei, haz, waz, whz,
                  flen, fwei, fwfl, haz_stunted=None, *, presorted: bool = False):
    """:class:`VisitColumns` from plain sequences (dates or day numbers, ``None`` for missing).

    Returns ``(columns, keys, order)``: ``keys[code]`` is the child key of each code and
    ``order`` the row permutation applied (rows sorted by child key, then date, input order on
    ties). With ``presorted`` the rows must already be grouped by child and sorted by date;
    child codes follow first appearance.
    """
    day = _days(measured_on)
    keys_in = np.empty(len(child_keys), dtype=object)
    keys_in[:] = list(child_keys)
    n = len(keys_in)
    if presorted:
        order = np.arange(n)
        new = np.ones(n, dtype=bool)
        if n:
            new[1:] = keys_in[1:] != keys_in[:-1]
        codes = np.cumsum(new) - 1
        keys = keys_in[new]
    else:
        # codes by sorted key (string form: UUIDs, ints and strings all sort)
        text = np.array([str(k) for k in keys_in], dtype=object)
        keys_sorted, codes = np.unique(text, return_inverse=True)
        first = {}
        for i, t in enumerate(text.tolist()):
            first.setdefault(t, i)
        keys = np.empty(len(keys_sorted), dtype=object)
        keys[:] = [keys_in[first[t]] for t in keys_sorted.tolist()]
        order = np.lexsort((np.arange(n), day, codes))
        codes = codes[order]
    cols = VisitColumns(
        child=np.asarray(codes, dtype=np.int64), day=day[order],
        age_days=_floats(age_days)[order], weight_kg=_floats(weight_kg)[order],
        clenhei=_floats(clenhei)[order], haz=_floats(haz)[order], waz=_floats(waz)[order],
        whz=_floats(whz)[order], flen=_flags(flen)[order], fwei=_flags(fwei)[order],
        fwfl=_flags(fwfl)[order],
        haz_stunted=None if haz_stunted is None else _flags(haz_stunted)[order])
    return cols, keys, order


# ---------------------------------------------------------------------------------------
# per-visit evaluation (vectorised)
# ---------------------------------------------------------------------------------------
@dataclass
class CheckResult:
    """A check at every row: ``anchor`` (the row can evaluate it), ``fired``, and the numbers
    that explain it (arrays of the row count; meaningful where ``fired``)."""
    check: Check
    anchor: np.ndarray
    fired: np.ndarray
    values: dict


@dataclass
class RowResults:
    checks: tuple
    usable: dict           # index -> bool array: valid value taking part in the rules
    month: np.ndarray
    stunted: np.ndarray    # usable HAZ row that is below the stunting cut-off


def _group_start(keys: np.ndarray) -> np.ndarray:
    """Index of the first row of each row's run of equal ``keys`` (sorted input)."""
    n = len(keys)
    idx = np.arange(n)
    new = np.ones(n, dtype=bool)
    if n:
        new[1:] = keys[1:] != keys[:-1]
    return np.maximum.accumulate(np.where(new, idx, 0))


def _last_true_before(mask: np.ndarray, before: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """For each row, the last index ``j < before[i]`` with ``mask[j]`` and ``j >= floor[i]``;
    -1 when there is none."""
    n = len(mask)
    last = np.maximum.accumulate(np.where(mask, np.arange(n), -1)) if n else np.zeros(0, np.int64)
    j = before - 1
    out = np.where(j >= 0, last[np.maximum(j, 0)] if n else j, -1)
    return np.where(out >= floor, out, -1)


def _first_true_from(mask: np.ndarray, start: np.ndarray) -> np.ndarray:
    """For each row, the first index ``j >= start[i]`` with ``mask[j]`` (n when none)."""
    n = len(mask)
    idx = np.where(mask, np.arange(n), n)
    nxt = np.minimum.accumulate(idx[::-1])[::-1]
    return nxt[np.minimum(start, n - 1)] if n else start


def _window_start(child: np.ndarray, month: np.ndarray, window: int) -> np.ndarray:
    """First row of the same child whose month is >= this row's month - ``window``."""
    key = child * (1 << 22) + month
    return np.searchsorted(key, key - window, side="left")


def _csum(a: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a) + 1, dtype=np.float64)
    np.cumsum(a, out=out[1:])
    return out


def evaluate_rows(cols: VisitColumns, rules: EarlyWarningRules | None = None) -> RowResults:
    """Every check at every visit, from that visit and the child's earlier visits only."""
    rules = rules or default_ews_rules()
    n = len(cols)
    if n == 0:
        empty = np.zeros(0, dtype=bool)
        checks = tuple(CheckResult(c, empty, empty, {}) for c in rules.checks)
        return RowResults(checks, {i: empty for i in INDICES}, np.zeros(0, np.int64), empty)
    idx = np.arange(n)
    child = cols.child
    month = cols.month
    start = _group_start(child)
    month_start = _group_start(child * (1 << 22) + month)
    young = ~(cols.age_days >= rules.max_age_days)  # NaN age: keep (the engine decided)
    with np.errstate(invalid="ignore"):
        usable = {
            "haz": np.isfinite(cols.haz) & ~cols.flen & young,
            "waz": np.isfinite(cols.waz) & ~cols.fwei & young,
            "whz": np.isfinite(cols.whz) & ~cols.fwfl & young,
        }
        # a length that shrank beyond the tolerance is a measuring error: not used for HAZ
        prev_len = _last_true_before(usable["haz"] & np.isfinite(cols.clenhei), idx, start)
        shrunk = (prev_len >= 0) & (cols.clenhei[np.maximum(prev_len, 0)] - cols.clenhei
                                    > rules.length_shrink_tolerance_cm)
        usable["haz"] &= ~shrunk
        weight_ok = np.isfinite(cols.weight_kg) & (cols.weight_kg > 0) & ~cols.fwei & young
        if cols.haz_stunted is not None:
            stunted = usable["haz"] & cols.haz_stunted
        else:
            stunted = usable["haz"] & (cols.haz < rules.stunted_below_z)

    checks = []
    for check in rules.checks:
        if check.rule == "haz_decline":
            checks.append(_haz_decline(cols, rules, usable["haz"], month, start))
        elif check.rule == "haz_near_line":
            checks.append(_haz_near_line(cols, rules, usable["haz"], stunted))
        elif check.rule == "weight_crossing":
            checks.append(_crossing(check, cols, rules, usable[check.index], month))
        elif check.rule == "weight_flat":
            checks.append(_flat(check, cols, rules, weight_ok, month, start, month_start))
        else:
            checks.append(_gap(check, cols, rules, usable[check.index], month, start, month_start))
    return RowResults(tuple(checks), usable, month, stunted)


def _haz_decline(cols, rules, use, month, start) -> CheckResult:
    n = len(cols)
    idx = np.arange(n)
    ws = _window_start(cols.child, month, rules.haz_window_months)
    x = (cols.day - cols.day[start]) / DAYS_PER_MONTH
    y = np.where(use, cols.haz, 0.0)
    u = use.astype(np.float64)
    xu = x * u
    sums = {}
    for name, a in (("n", u), ("x", xu), ("y", y), ("xx", xu * x), ("xy", xu * y)):
        c = _csum(a)
        sums[name] = c[idx + 1] - c[ws]
    k = sums["n"]
    first = _first_true_from(use, ws)
    first_c = np.minimum(first, n - 1) if n else first
    span = x - x[first_c]
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = k * sums["xx"] - sums["x"] ** 2
        slope = (k * sums["xy"] - sums["x"] * sums["y"]) / denom
        drop = -slope * span
        current = cols.haz
        # the trend's value at this visit (less noisy than the last measurement alone), and the
        # months until the trend reaches the line from there (inf when not falling)
        fitted = (sums["y"] + slope * (k * x - sums["x"])) / k
        to_line = np.where(slope < 0, (fitted - rules.stunted_below_z) / -slope, np.inf)
        fired = (use & (k >= rules.haz_min_points) & (span >= rules.haz_min_span_months - 1e-9)
                 & (denom > 0) & (drop >= rules.haz_min_drop_z - 1e-9)
                 & (current >= rules.stunted_below_z) & (fitted >= rules.stunted_below_z)
                 & (to_line < rules.haz_horizon_months))
    values = {"from_row": first_c, "points": k.astype(np.int64), "drop": drop,
              "months": month - month[first_c], "to_line": to_line, "slope": slope, "fitted": fitted}
    return CheckResult(Check("haz_decline", "haz"), use, fired, values)


def _haz_near_line(cols, rules, use, stunted) -> CheckResult:
    """The latest length/height-for-age itself is close to the line (a level, not a change)."""
    with np.errstate(invalid="ignore"):
        fired = use & ~stunted & (cols.haz < rules.near_line_max_z)
    return CheckResult(Check("haz_near_line", "haz"), use, fired, {})


def _crossing(check, cols, rules, use, month) -> CheckResult:
    n = len(cols)
    idx = np.arange(n)
    z = getattr(cols, check.index)
    ws = _window_start(cols.child, month, rules.crossing_window_months)
    best = np.full(n, -np.inf)
    best_row = np.full(n, -1, dtype=np.int64)
    lags = int((idx - ws).max()) if n else 0
    for lag in range(1, lags + 1):  # bounded by the visits in one window, not by children
        j = idx - lag
        ok = (j >= ws) & use[np.maximum(j, 0)]
        zj = np.where(ok, z[np.maximum(j, 0)], -np.inf)
        better = zj > best  # ties keep the later (nearer) visit
        best = np.where(better, zj, best)
        best_row = np.where(better, j, best_row)
    has_ref = best_row >= 0
    lines = np.array(rules.crossing_lines)
    with np.errstate(invalid="ignore"):
        crossed = (best[:, None] >= lines[None, :]) & (z[:, None] < lines[None, :])
        drop = best - z
        fired = use & has_ref & crossed.any(axis=1) & (drop >= rules.crossing_min_drop_z[check.index] - 1e-9)
    bits = (crossed * (1 << np.arange(len(lines)))[None, :]).sum(axis=1)
    safe = np.maximum(best_row, 0)
    values = {"from_row": best_row, "drop": drop, "lines": bits, "months": month - month[safe]}
    return CheckResult(check, use, fired, values)


def _flat(check, cols, rules, weight_ok, month, start, month_start) -> CheckResult:
    p1 = _last_true_before(weight_ok, month_start, start)
    safe1 = np.maximum(p1, 0)
    p2 = np.where(p1 >= 0, _last_true_before(weight_ok, month_start[safe1], start)
                  if len(p1) else p1, -1)
    safe2 = np.maximum(p2, 0)
    w = cols.weight_kg
    tol = 1e-9
    with np.errstate(invalid="ignore"):
        fired = (weight_ok & (p1 >= 0) & (p2 >= 0)
                 & (month - month[safe1] <= rules.flat_max_interval_months)
                 & (month[safe1] - month[safe2] <= rules.flat_max_interval_months)
                 & (np.round(w - w[safe1], 3) <= rules.flat_max_gain_kg + tol)
                 & (np.round(w[safe1] - w[safe2], 3) <= rules.flat_max_gain_kg + tol)
                 & (cols.age_days / DAYS_PER_MONTH >= rules.flat_min_age_months))
    values = {"row1": p1, "row2": p2, "months": month - month[safe2]}
    return CheckResult(check, weight_ok, fired, values)


def _gap(check, cols, rules, use, month, start, month_start) -> CheckResult:
    n = len(cols)
    z = getattr(cols, check.index)
    any_row = np.ones(n, dtype=bool)
    prev_visit = _last_true_before(any_row, month_start, start)
    gap = month - month[np.maximum(prev_visit, 0)]
    after_gap = (prev_visit >= 0) & (gap >= rules.gap_min_months)
    ref = _last_true_before(use, month_start, start)
    safe = np.maximum(ref, 0)
    drop = z[safe] - z
    anchor = use & after_gap
    with np.errstate(invalid="ignore"):
        fired = (anchor & (ref >= 0) & (month - month[safe] <= rules.gap_max_months)
                 & (drop >= rules.gap_min_drop_z[check.index] - 1e-9))
    values = {"from_row": ref, "drop": drop, "gap_months": gap, "months": month - month[safe]}
    return CheckResult(check, anchor, fired, values)


# ---------------------------------------------------------------------------------------
# the list for a month
# ---------------------------------------------------------------------------------------
@dataclass
class MonthFlags:
    """Per child (code) for one month: the row each check was read at (-1: none), whether it
    fired there, whether the child is excluded as already stunted, her latest visit, and
    whether she is listed (a check fired, not stunted, latest length/height-for-age at or
    below ``max_latest_haz_z``)."""
    month: int
    anchor_row: np.ndarray     # (n_children, n_checks)
    fired: np.ndarray          # (n_children, n_checks)
    excluded: np.ndarray       # (n_children,)
    last_row: np.ndarray       # (n_children,)
    listed: np.ndarray         # (n_children,)


def _last_row_per_child(child: np.ndarray, mask: np.ndarray, n_children: int) -> np.ndarray:
    out = np.full(n_children, -1, dtype=np.int64)
    rows = np.flatnonzero(mask)
    if len(rows):
        children = child[rows]
        last = np.ones(len(rows), dtype=bool)
        last[:-1] = children[1:] != children[:-1]  # rows are sorted by child
        out[children[last]] = rows[last]
    return out


def flags_for_month(cols: VisitColumns, results: RowResults, month: int,
                    rules: EarlyWarningRules | None = None, n_children: int | None = None) -> MonthFlags:
    """The list for calendar month ``month`` (a month index): only visits up to its end count.

    A check is read at the child's latest visit that can evaluate it, if that visit lies in the
    ``recent_months`` months ending with ``month``; a child whose latest usable length/height in
    those months is stunted is excluded (she is on the stunting list), one whose latest value
    is above ``max_latest_haz_z`` is not listed (not within reach of the line).
    """
    rules = rules or default_ews_rules()
    n_children = cols.n_children if n_children is None else n_children
    m = results.month
    visible = m <= month
    recent = visible & (m > month - rules.recent_months)
    anchor_row = np.full((n_children, len(results.checks)), -1, dtype=np.int64)
    fired = np.zeros((n_children, len(results.checks)), dtype=bool)
    for k, res in enumerate(results.checks):
        rows = _last_row_per_child(cols.child, recent & res.anchor, n_children)
        anchor_row[:, k] = rows
        fired[:, k] = (rows >= 0) & res.fired[np.maximum(rows, 0)] if len(cols) else False
    last_haz = _last_row_per_child(cols.child, recent & results.usable["haz"], n_children)
    if len(cols):
        safe = np.maximum(last_haz, 0)
        excluded = (last_haz >= 0) & results.stunted[safe]
        high = (last_haz >= 0) & (cols.haz[safe] > rules.max_latest_haz_z)
    else:
        excluded = high = np.zeros(n_children, dtype=bool)
    last_row = _last_row_per_child(cols.child, visible, n_children)
    listed = fired.any(axis=1) & ~excluded & ~high
    return MonthFlags(month, anchor_row, fired, excluded, last_row, listed)


def evaluate_month(cols: VisitColumns, month: int, rules: EarlyWarningRules | None = None):
    """``(results, flags)`` for one month: the rows after the month are cut off first."""
    rules = rules or default_ews_rules()
    n_children = cols.n_children
    visible = cols.take(cols.month <= month)
    results = evaluate_rows(visible, rules)
    return visible, results, flags_for_month(visible, results, month, rules, n_children)


# ---------------------------------------------------------------------------------------
# explanations
# ---------------------------------------------------------------------------------------
def _fmt_z(z: float, lang: str) -> str:
    text = f"{z:.1f}"
    if text == "-0.0":
        text = "0.0"
    return text.replace(".", ",") if lang == "id" else text


def _fmt_kg(w: float, lang: str) -> str:
    text = f"{w:.1f}"
    return text.replace(".", ",") if lang == "id" else text


def _index_label(index: str, age_days: float) -> tuple[str, str]:
    classify_rules = default_rules()
    rule = classify_rules.indices[_CLASSIFY_INDEX[index]]
    age = None if age_days is None or not np.isfinite(age_days) else round(float(age_days))
    return rule.labels_for_age(age, classify_rules.split_age_days)


def _date(day: int) -> _dt.date:
    return _EPOCH + _dt.timedelta(days=int(day))


def _r2(v: float) -> float:
    return round(float(v), 2)


def explain(cols: VisitColumns, results: RowResults, flags: MonthFlags, code: int,
            rules: EarlyWarningRules | None = None) -> list[dict]:
    """The fired checks of child ``code`` as dicts: ``rule``, ``index``, bilingual ``label``,
    ``message`` (with the numbers) and ``advice``, ``measured_on`` of the visit it fired at,
    and ``values`` (the numbers themselves). Ordered by the rule's ``order``."""
    rules = rules or default_ews_rules()
    out = []
    for k, res in enumerate(results.checks):
        if not flags.fired[code, k]:
            continue
        row = int(flags.anchor_row[code, k])
        out.append(_explain_check(cols, res, row, rules))
    out.sort(key=lambda f: (rules.order[f["rule"]], INDICES.index(f["index"]) if f["index"] else 0))
    return out


def _explain_check(cols, res: CheckResult, row: int, rules) -> dict:
    check = res.check
    v = res.values
    age = cols.age_days[row]
    params: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if check.rule == "weight_flat":
        r1, r2 = int(v["row1"][row]), int(v["row2"][row])
        weights = [float(cols.weight_kg[r]) for r in (r2, r1, row)]
        values = {"weights_kg": weights, "measured_on": [_date(cols.day[r]).isoformat() for r in (r2, r1, row)],
                  "change_kg": round(weights[2] - weights[0], 2), "months": int(v["months"][row])}
        params = {"months": values["months"],
                  "weights": (" → ".join(_fmt_kg(w, "id") for w in weights),
                              " → ".join(_fmt_kg(w, "en") for w in weights))}
    elif check.rule == "haz_near_line":
        z = float(cols.haz[row])
        values = {"index": "haz", "z": _r2(z), "zone_z": [rules.stunted_below_z, rules.near_line_max_z]}
        params = {"z": (_fmt_z(z, "id"), _fmt_z(z, "en")), "index_label": _index_label("haz", age),
                  "max_z": (_fmt_z(rules.near_line_max_z, "id"), _fmt_z(rules.near_line_max_z, "en"))}
    else:
        z = getattr(cols, check.index)
        ref = int(v["from_row"][row])
        values = {"index": check.index, "from_z": _r2(z[ref]), "to_z": _r2(z[row]),
                  "from_measured_on": _date(cols.day[ref]).isoformat(), "months": int(v["months"][row])}
        params = {"months": values["months"],
                  "from_z": (_fmt_z(z[ref], "id"), _fmt_z(z[ref], "en")),
                  "to_z": (_fmt_z(z[row], "id"), _fmt_z(z[row], "en")),
                  "index_label": _index_label(check.index, age)}
        if check.rule == "haz_decline":
            values["points"] = int(v["points"][row])
            values["trend_drop_z"] = _r2(v["drop"][row])
            values["trend_z_per_month"] = round(float(v["slope"][row]), 3)
            values["months_to_minus_2"] = max(1, int(np.ceil(v["to_line"][row])))
            params["points"] = values["points"]
            params["to_line_months"] = values["months_to_minus_2"]
        elif check.rule == "weight_crossing":
            bits = int(v["lines"][row])
            crossed = [line for i, line in enumerate(rules.crossing_lines) if bits >> i & 1]
            values["lines_crossed_z"] = crossed
            params["lines"] = (" dan ".join(f"{line:g} SD" for line in crossed),
                               " and ".join(f"{line:g} SD" for line in crossed))
        else:
            values["gap_months"] = int(v["gap_months"][row])
            params["gap_months"] = values["gap_months"]
    label_id, label_en = rules.texts[check.rule]["label"]
    msg_id, msg_en = rules.texts[check.rule]["message"]
    adv_id, adv_en = rules.texts[check.rule]["advice"]
    return {
        "rule": check.rule, "index": check.index,
        "measured_on": _date(cols.day[row]).isoformat(),
        "label_id": label_id, "label_en": label_en,
        "message_id": _sentence(msg_id.format(**_pick(params, 0))),
        "message_en": _sentence(msg_en.format(**_pick(params, 1))),
        "advice_id": adv_id, "advice_en": adv_en,
        "values": values,
    }


def _sentence(text: str) -> str:
    """Capitalise the first letter ("weight-for-age fell ..." -> "Weight-for-age fell ...")."""
    return text[:1].upper() + text[1:]


def _pick(params: Mapping[str, Any], lang: int) -> dict:
    return {k: (v[lang] if isinstance(v, tuple) else v) for k, v in params.items()}


# ---------------------------------------------------------------------------------------
# per-child entry point
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChildWarning:
    listed: bool
    excluded_as_stunted: bool
    flags: list


def evaluate_child(visits: Iterable[Mapping[str, Any]], month: int | str,
                   rules: EarlyWarningRules | None = None) -> ChildWarning:
    """One child's warnings for ``month`` (``"YYYY-MM"`` or a month index).

    ``visits``: mappings with ``measured_on`` (date or ISO text) and optional ``age_days``,
    ``weight_kg``, ``clenhei``, ``zlen``/``flen``, ``zwei``/``fwei``, ``zwfl``/``fwfl``
    (``haz``/``waz``/``whz`` accepted as names of the z-scores), in any order.
    """
    rules = rules or default_ews_rules()
    if isinstance(month, str):
        month = month_index(int(month[:4]), int(month[5:7]))
    visits = list(visits)
    if not visits:
        return ChildWarning(False, False, [])

    def col(*names):
        return [next((vis.get(nm) for nm in names if vis.get(nm) is not None), None) for vis in visits]

    dates = [vis["measured_on"] if not isinstance(vis["measured_on"], str)
             else _dt.date.fromisoformat(vis["measured_on"]) for vis in visits]
    cols, _keys, _order = build_columns(
        [0] * len(visits), dates, col("age_days"), col("weight_kg"), col("clenhei"),
        col("zlen", "haz"), col("zwei", "waz"), col("zwfl", "whz"),
        col("flen"), col("fwei"), col("fwfl"))
    visible, results, flags = evaluate_month(cols, month, rules)
    if not len(visible):
        return ChildWarning(False, False, [])
    fired = explain(visible, results, flags, 0, rules) if flags.listed[0] else []
    return ChildWarning(bool(flags.listed[0]), bool(flags.excluded[0]), fired)


__all__ = [
    "RULE_CODES", "INDICES", "EarlyWarningRules", "EarlyWarningRulesError", "load_rules",
    "default_ews_rules", "VisitColumns", "build_columns", "month_of_day", "month_index",
    "evaluate_rows", "flags_for_month", "evaluate_month", "explain", "evaluate_child",
    "ChildWarning", "MonthFlags", "RowResults",
]
