"""Indonesian nutritional-status classification (Permenkes No. 2 Tahun 2020).

Input is the output of the WHO z-score engine (``zscores.py``), passed as a mapping:
``zlen, zwei, zwfl, zbmi, zhc, zac`` (2 dp), ``z*_raw`` (unrounded), flags
``flen, fwei, fwfl, fbmi, fhc, fac`` (1 = implausible), ``age_days_rounded``,
``clenhei``, ``cmeasure``. One visit: plain floats / None. Batch: numpy arrays.
All cut-offs and labels come from ``data/rules_id.json`` (see :mod:`.rules`).

Two entry points that must agree (tested):

* :func:`classify_visit` - one visit, returns plain dicts; request path, microseconds.
* :func:`classify_batch` - numpy arrays in, object arrays of codes out; reports, CLI.

Indices (``key``: engine z): ``bbu`` BB/U (zwei), ``tbu`` PB/U or TB/U (zlen),
``bbtb`` BB/PB or BB/TB (zwfl), ``imtu`` IMT/U 0-60 months (zbmi), ``lku`` head
circumference screening (zhc), ``lila`` LiLA screening in cm (flag from zac).

Per-index ``status``:

* ``ok``             - a category was assigned.
* ``flagged``        - the z is implausible (engine flag = 1): NO category; ``reason`` is
  the "measure again" warning code (e.g. ``remeasure_weight``).
* ``not_assessable`` - no z (or no LiLA value / no age for LiLA): no category; ``reason``
  is ``not_assessable``, ``length_out_of_range`` (BB/PB, BB/TB outside 45-110 / 65-120
  cm) or ``oedema`` (weight-based indices are not computed with oedema).
* ``not_applicable`` - LiLA outside 6-59 completed months ("tidak berlaku"), never normal.

Cut-offs are compared on the UNROUNDED z by default (``settings.compare_on``), e.g.
z = -2.004 is ``tbu.stunted`` although it displays as -2.00.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .rules import INDEX_ORDER, IndexRule, Rules, default_rules
from .version import standard_version

STATUS_OK = "ok"
STATUS_FLAGGED = "flagged"
STATUS_NOT_ASSESSABLE = "not_assessable"
STATUS_NOT_APPLICABLE = "not_applicable"

#: All result keys of :func:`classify_visit` / :func:`classify_batch` that are indices.
ALL_INDICES = INDEX_ORDER + ("lila",)


def _num(v: Any) -> float | None:
    """None / NaN -> None, anything numeric -> float."""
    if v is None:
        return None
    v = float(v)
    return None if v != v else v


def _compare_value(z: Mapping[str, Any], rule: IndexRule, use_raw: bool) -> float | None:
    if use_raw:
        if rule.raw_key in z:
            return _num(z[rule.raw_key])
        if z.get(rule.z_key) is not None:
            raise ValueError(
                f"compare_on='unrounded' needs {rule.raw_key!r} (the unrounded z) "
                f"when {rule.z_key!r} is given")
        return None
    return _num(z.get(rule.z_key))


def _length_out_of_range(z: Mapping[str, Any], rules: Rules) -> bool:
    clenhei = _num(z.get("clenhei"))
    age = _num(z.get("age_days_rounded"))
    if clenhei is None or age is None:
        return False
    lo, hi = rules.wfl_range_cm if age < rules.split_age_days else rules.wfh_range_cm
    return clenhei < lo or clenhei > hi


def _entry(rule: IndexRule, label: tuple[str, str], z_display: float | None, cat, status: str,
           reason: str | None, rules: Rules) -> dict[str, Any]:
    if reason is None:
        reason_id = reason_en = None
    elif status == STATUS_FLAGGED:
        w = rules.warnings[reason]
        reason_id, reason_en = w.label_id, w.label_en
    else:
        reason_id, reason_en = rules.reasons[reason]
    return {
        "index": rule.key,
        "label_id": label[0],
        "label_en": label[1],
        "z": z_display,
        "category": cat.code if cat is not None else None,
        "category_id": cat.label_id if cat is not None else None,
        "category_en": cat.label_en if cat is not None else None,
        "status": status,
        "reason": reason,
        "reason_id": reason_id,
        "reason_en": reason_en,
        "screening": rule.screening,
    }


def _classify_z_index(rule: IndexRule, z: Mapping[str, Any], rules: Rules, oedema: bool,
                      age_days: Any) -> dict[str, Any]:
    value = _compare_value(z, rule, rules.use_raw)
    shown = _num(z.get(rule.z_key))
    if shown is None and value is not None:
        shown = round(value, 2)
    label = rule.labels_for_age(age_days, rules.split_age_days)
    if value is None:
        if oedema and rule.affected_by_oedema:
            reason = "oedema"
        elif rule.key == "bbtb" and _length_out_of_range(z, rules):
            reason = "length_out_of_range"
        else:
            reason = "not_assessable"
        return _entry(rule, label, shown, None, STATUS_NOT_ASSESSABLE, reason, rules)
    if _num(z.get(rule.flag_key)) == 1.0:
        return _entry(rule, label, shown, None, STATUS_FLAGGED, rule.remeasure_warning, rules)
    return _entry(rule, label, shown, rule.categorize(value), STATUS_OK, None, rules)


def _classify_lila(z: Mapping[str, Any], rules: Rules, age_months: Any,
                   armc_cm: Any) -> dict[str, Any]:
    rule = rules.lila
    label = (rule.label_id, rule.label_en)
    shown = _num(z.get(rule.z_key))
    armc = _num(armc_cm)
    age = _num(age_months)
    if age is None:
        e = _entry(rule, label, shown, None, STATUS_NOT_ASSESSABLE, "not_assessable", rules)
    elif not (rules.lila_age_min <= age <= rules.lila_age_max):
        e = _entry(rule, label, shown, None, STATUS_NOT_APPLICABLE, "not_applicable", rules)
    elif armc is None or armc <= 0:
        e = _entry(rule, label, shown, None, STATUS_NOT_ASSESSABLE, "not_assessable", rules)
    elif _num(z.get(rule.flag_key)) == 1.0:
        e = _entry(rule, label, shown, None, STATUS_FLAGGED, rule.remeasure_warning, rules)
    else:
        e = _entry(rule, label, shown, rule.categorize(armc), STATUS_OK, None, rules)
    e["armc_cm"] = armc
    return e


def classify_visit(z: Mapping[str, Any], *, age_months: int | None = None,
                   armc_cm: float | None = None, oedema: bool = False,
                   rules: Rules | None = None) -> dict[str, Any]:
    """Classify one visit.

    Parameters
    ----------
    z:          z-score engine output for one visit (plain floats / None). Missing keys
                count as None. With ``compare_on='unrounded'`` the ``z*_raw`` keys are
                required wherever the rounded z is given.
    age_months: age in COMPLETED months on the measurement date (see
                :func:`posyandu.core.growth.trend.completed_months`); gates LiLA (6-59).
    armc_cm:    measured LiLA in cm (LiLA is classified on cm, not on zac).
    oedema:     bilateral pitting oedema, set by a health worker only.

    Returns a dict::

        {"bbu"|"tbu"|"bbtb"|"imtu"|"lku"|"lila": {
             "index", "label_id", "label_en",      # e.g. "PB/U", "length-for-age"
             "z",                                 # display z (2 dp) or None
             "category", "category_id", "category_en",   # None unless status == "ok"
             "status",                            # ok|flagged|not_assessable|not_applicable
             "reason", "reason_id", "reason_en",  # None when status == "ok"
             "screening",                         # True for lku and lila
             ("armc_cm" for lila only)},
         "bgm": bool | None,            # BB/U z < KMS red line; None if no usable waz
         "above_orange": bool | None,   # BB/U z > KMS orange line
         "oedema": bool,
         "sam_criteria": tuple[str, ...],   # case finding (gizi buruk): any of
                                            # "bbtb.severely_wasted", "lila.severe_acute",
                                            # "oedema"
         "compare_on": "unrounded"|"rounded",
         "standard_version": str}   # e.g. "who2006-anthro1.1.0+id-2020.2"
    """
    rules = rules or default_rules()
    oedema = bool(oedema)
    age_days = z.get("age_days_rounded")
    out: dict[str, Any] = {}
    for key, rule in rules.indices.items():
        out[key] = _classify_z_index(rule, z, rules, oedema, age_days)
    lila = out["lila"] = _classify_lila(z, rules, age_months, armc_cm)

    bbu = out["bbu"]
    if bbu["status"] == STATUS_OK:
        waz = _compare_value(z, rules.indices["bbu"], rules.use_raw)
        out["bgm"] = waz < rules.kms_red_line_z
        out["above_orange"] = waz > rules.kms_orange_line_z
    else:
        out["bgm"] = out["above_orange"] = None
    out["oedema"] = oedema
    sam = []
    if out["bbtb"]["category"] == "bbtb.severely_wasted":
        sam.append("bbtb.severely_wasted")
    if lila["category"] == "lila.severe_acute":
        sam.append("lila.severe_acute")
    if oedema:
        sam.append("oedema")
    out["sam_criteria"] = tuple(sam)
    out["compare_on"] = rules.compare_on
    out["standard_version"] = standard_version(rules)
    return out


# ---------------------------------------------------------------------------------------
# vectorised
# ---------------------------------------------------------------------------------------
def _as_float(v: Any, n: int) -> np.ndarray:
    if v is None:
        return np.full(n, np.nan)
    arr = np.asarray(v, dtype=float)
    return np.broadcast_to(arr, (n,)) if arr.shape != (n,) else arr


def _batch_len(z: Mapping[str, Any], *others: Any) -> int:
    for v in (*z.values(), *others):
        if v is None:
            continue
        arr = np.asarray(v)
        if arr.ndim == 1:
            return arr.shape[0]
    raise ValueError("classify_batch needs at least one 1-d array")


def _batch_compare_values(z: Mapping[str, Any], rule: IndexRule, use_raw: bool,
                          n: int) -> np.ndarray:
    if use_raw:
        if rule.raw_key in z:
            return _as_float(z[rule.raw_key], n)
        if rule.z_key in z and not np.all(np.isnan(_as_float(z[rule.z_key], n))):
            raise ValueError(
                f"compare_on='unrounded' needs {rule.raw_key!r} (the unrounded z) "
                f"when {rule.z_key!r} is given")
        return np.full(n, np.nan)
    return _as_float(z.get(rule.z_key), n)


#: status values of the batch results, in the order of :class:`BatchCodes` status codes
STATUSES = (STATUS_OK, STATUS_FLAGGED, STATUS_NOT_ASSESSABLE, STATUS_NOT_APPLICABLE)
_S_OK, _S_FLAGGED, _S_NOT_ASSESSABLE, _S_NOT_APPLICABLE = range(4)


@dataclass(frozen=True)
class BatchCodes:
    """One index of :func:`classify_batch_codes`, as small integers (no Python objects).

    ``category``: index into ``rule.categories`` (-1: none); ``status``: index into
    :data:`STATUSES`; ``reason``: index into ``reasons`` (-1: none, the index is ok)."""

    rule: IndexRule
    category: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    reasons: tuple[str, ...]


def _category_index(rule: IndexRule, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``rule.categorize_array`` as indices into ``rule.categories`` (-1 where not valid)."""
    out = np.full(values.shape, -1, dtype=np.int8)
    remaining = valid.copy()
    with np.errstate(invalid="ignore"):
        for j, cat in enumerate(rule.categories):
            if cat.upper is None:
                hit = remaining
            elif cat.upper_inclusive:
                hit = remaining & (values <= cat.upper)
            else:
                hit = remaining & (values < cat.upper)
            out[hit] = j
            remaining = remaining & ~hit
    return out


def classify_batch_codes(z: Mapping[str, Any], *, age_months: Any = None,
                         armc_cm: Any = None, oedema: Any = None,
                         rules: Rules | None = None) -> dict[str, BatchCodes]:
    """The categories, statuses and reasons of :func:`classify_batch` as integer codes per
    index (``bbu tbu bbtb imtu lku lila``): the same rules, for callers that format many
    rows (the batch CLI) and should not build a Python object per cell."""
    rules = rules or default_rules()
    n = _batch_len(z, age_months, armc_cm, oedema)
    oed = (np.zeros(n, dtype=bool) if oedema is None
           else np.broadcast_to(np.asarray(oedema, dtype=bool), (n,)))
    age_days = _as_float(z.get("age_days_rounded"), n)
    out: dict[str, BatchCodes] = {}

    for key, rule in rules.indices.items():
        values = _batch_compare_values(z, rule, rules.use_raw, n)
        flags = _as_float(z.get(rule.flag_key), n)
        present = ~np.isnan(values)
        flagged = present & (flags == 1.0)
        ok = present & ~flagged
        status = np.full(n, _S_NOT_ASSESSABLE, dtype=np.int8)
        status[ok] = _S_OK
        status[flagged] = _S_FLAGGED
        reasons = ("not_assessable", "length_out_of_range", "oedema", rule.remeasure_warning)
        reason = np.zeros(n, dtype=np.int8)
        if rule.key == "bbtb":
            clenhei = _as_float(z.get("clenhei"), n)
            with np.errstate(invalid="ignore"):
                lying = age_days < rules.split_age_days
                lo = np.where(lying, rules.wfl_range_cm[0], rules.wfh_range_cm[0])
                hi = np.where(lying, rules.wfl_range_cm[1], rules.wfh_range_cm[1])
                oor = ~np.isnan(age_days) & ((clenhei < lo) | (clenhei > hi))
            reason[oor] = 1
        if rule.affected_by_oedema:
            reason[oed] = 2
        reason[flagged] = 3
        reason[ok] = -1
        out[key] = BatchCodes(rule, _category_index(rule, values, ok), status, reason, reasons)

    # LiLA
    rule = rules.lila
    age = _as_float(age_months, n)
    armc = _as_float(armc_cm, n)
    fac = _as_float(z.get(rule.flag_key), n)
    with np.errstate(invalid="ignore"):
        age_known = ~np.isnan(age)
        in_window = age_known & (age >= rules.lila_age_min) & (age <= rules.lila_age_max)
        has_value = in_window & ~np.isnan(armc) & (armc > 0)
    flagged = has_value & (fac == 1.0)
    ok = has_value & ~flagged
    status = np.full(n, _S_NOT_ASSESSABLE, dtype=np.int8)
    reason = np.zeros(n, dtype=np.int8)
    not_appl = age_known & ~in_window
    status[not_appl] = _S_NOT_APPLICABLE
    reason[not_appl] = 1
    status[flagged] = _S_FLAGGED
    reason[flagged] = 2
    status[ok] = _S_OK
    reason[ok] = -1
    out["lila"] = BatchCodes(rule, _category_index(rule, armc, ok), status, reason,
                             ("not_assessable", "not_applicable", rule.remeasure_warning))
    return out


def classify_batch(z: Mapping[str, Any], *, age_months: Any = None, armc_cm: Any = None,
                   oedema: Any = None, rules: Rules | None = None) -> dict[str, np.ndarray]:
    """Vectorised :func:`classify_visit` over numpy arrays of equal length n.

    ``age_months``, ``armc_cm`` and ``oedema`` are arrays (or scalars, broadcast, or None).
    Returns a dict of length-n arrays:

    * ``<index>`` (object): category code or None, for each of ``bbu tbu bbtb imtu lku
      lila``;
    * ``<index>_status`` (object): ``ok`` / ``flagged`` / ``not_assessable`` /
      ``not_applicable``;
    * ``<index>_reason`` (object): reason or remeasure-warning code, None when ok;
    * ``bgm``, ``above_orange`` (object): True / False / None, as in the one-visit result;
    * ``oedema`` (bool).
    """
    rules = rules or default_rules()
    n = _batch_len(z, age_months, armc_cm, oedema)
    oed = (np.zeros(n, dtype=bool) if oedema is None
           else np.broadcast_to(np.asarray(oedema, dtype=bool), (n,)))
    codes = classify_batch_codes(z, age_months=age_months, armc_cm=armc_cm, oedema=oedema,
                                 rules=rules)
    statuses = np.array(STATUSES + (None,), dtype=object)
    out: dict[str, np.ndarray] = {}
    for key, c in codes.items():  # -1 picks the trailing None
        out[key] = np.array([cat.code for cat in c.rule.categories] + [None],
                            dtype=object)[c.category]
        out[key + "_status"] = statuses[c.status]
        out[key + "_reason"] = np.array(list(c.reasons) + [None], dtype=object)[c.reason]

    # KMS lines, only where BB/U was classified
    waz = _batch_compare_values(z, rules.indices["bbu"], rules.use_raw, n)
    bbu_ok = codes["bbu"].status == _S_OK
    bgm = np.full(n, None, dtype=object)
    above = np.full(n, None, dtype=object)
    with np.errstate(invalid="ignore"):
        bgm[bbu_ok] = (waz < rules.kms_red_line_z)[bbu_ok]
        above[bbu_ok] = (waz > rules.kms_orange_line_z)[bbu_ok]
    out["bgm"] = bgm
    out["above_orange"] = above
    out["oedema"] = np.array(oed, dtype=bool)
    return out


def batch_row(result: Mapping[str, np.ndarray], i: int) -> dict[str, Any]:
    """Row ``i`` of a :func:`classify_batch` result as a flat dict of Python values."""
    return {k: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for k, v in result.items()}


__all__ = [
    "ALL_INDICES", "STATUS_OK", "STATUS_FLAGGED", "STATUS_NOT_ASSESSABLE",
    "STATUS_NOT_APPLICABLE", "STATUSES", "BatchCodes", "classify_visit", "classify_batch",
    "classify_batch_codes", "batch_row",
]
