"""The one place that calls the growth engine (``posyandu.core.growth``) for measurements.

Everything here turns a measurement row (and its child's other weighings) into the values of
the computed columns of :class:`~posyandu.measurements.models.Measurement`. Operations and the
recompute CLI store what these functions return; nothing else in the app does growth maths.

* :func:`assess_visit` -- request path: one visit, scalar engine (``zscores_one``,
  ``classify_visit``), trend against the child's other weighings. No numpy arrays built here.
* :func:`trend_updates` -- after an edit/delete/back-dated insert: N/T/O/B, 2T, gain, KBM and
  the previous-visit checks for every weighing of one child, returning only what changed.
* :func:`assess_batch` -- recompute: vectorised engine (``compute_zscores``,
  ``classify_batch``) over many rows of complete children, then trend per child;
  :func:`assess_columns` is the same, column-wise (lists in, lists out), for ``recompute_all``.

Warnings stored on a row are one list, sorted by ``(priority, code)``, made of three groups:
  1. from the visit itself (implausible z -> re-measure, oedema, LiLA, BGM, orange line, and
     the posyandu-extras warnings defined here, e.g. vitamin A outside February/August);
  2. from the trend (``weight_not_gained``, ``weight_not_gained_2t``);
  3. from the comparison with the previous visit (``length_decreased``,
     ``weight_change_implausible``).
A trend recompute replaces groups 2 and 3 and keeps group 1; a z-score recompute replaces
group 1 and keeps 2 and 3 when the trend is not recomputed with it.

Implausible values (``trend.plausibility_chain``): a weight flagged by WHO, or outside the
previous-visit check against the last USABLE weighing and not confirmed by the cadre
(``confirm_implausible``), is stored as entered with ``weight_implausible`` = true and decides
nothing: no N/T/O/B or 2T (the next visit compares with the last usable weighing), no BGM or
orange line (and no such warning), no weight-based category (BB/U, BB/PB-BB/TB, IMT/U) for
reports. The same for a length (``length_implausible``: no PB/U-TB/U, BB/PB-BB/TB or IMT/U
category). These columns depend on the child's other visits, so they are rewritten with the
trend (:data:`HISTORY_COLUMNS`); un-masking a value (a correction or confirmation earlier in
the history) recomputes that visit's own values from what was entered.
"""
from __future__ import annotations

import math
from datetime import date
from typing import Any, Iterable, Mapping, Sequence

from ..core.growth import classify as _classify
from ..core.growth import trend as _trend
from ..core.growth import zscores as _zscores
from ..core.growth.rules import default_rules
from ..core.growth.version import standard_version as _standard_version

#: API measuring position -> anthro ``measure`` code.
MEASURE_CODES = {"lying": "l", "standing": "h"}

#: anthro indicator keys stored on the row (skinfolds are not recorded at the posyandu).
STORED_INDICATORS = ("len", "wei", "wfl", "bmi", "hc", "ac")
Z_COLUMNS = tuple("z" + k for k in STORED_INDICATORS)
FLAG_COLUMNS = tuple("f" + k for k in STORED_INDICATORS)
#: Category column per classified index (classify.py keys -> model columns).
CATEGORY_COLUMNS = {"bbu": "cat_bbu", "tbu": "cat_tbu", "bbtb": "cat_bbtb", "imtu": "cat_imtu",
                    "lku": "cat_lk", "lila": "cat_lila"}
TREND_COLUMNS = ("trend_status", "is_2t", "gain_g", "kbm_g")
PLAUSIBILITY_COLUMNS = ("weight_implausible", "length_implausible")
#: Visit columns withheld (None) while the weight / the length is implausible.
WEIGHT_MASKED = ("cat_bbu", "cat_bbtb", "cat_imtu", "is_bgm", "above_orange")
LENGTH_MASKED = ("cat_tbu", "cat_bbtb", "cat_imtu")
MASKED_COLUMNS = ("cat_bbu", "cat_tbu", "cat_bbtb", "cat_imtu", "is_bgm", "above_orange")
#: Visit warnings that come from the weight's z-score (dropped while the weight is implausible).
WEIGHT_VISIT_WARNINGS = frozenset({"bgm", "above_orange_line"})
#: Every computed column written by :func:`assess_visit` / :func:`assess_batch`.
COMPUTED_COLUMNS = (("age_days", "age_months", "clenhei", "cbmi") + Z_COLUMNS + FLAG_COLUMNS
                    + tuple(CATEGORY_COLUMNS.values()) + ("is_bgm", "above_orange")
                    + TREND_COLUMNS + PLAUSIBILITY_COLUMNS + ("warnings", "standard_version"))
#: Columns that depend on the child's other visits: rewritten after an edit, delete,
#: back-dated visit or merge (:func:`trend_values`).
HISTORY_COLUMNS = TREND_COLUMNS + PLAUSIBILITY_COLUMNS + MASKED_COLUMNS + ("warnings",)
#: What :func:`trend_values` needs of each stored row (besides ``id``, ``measured_on``,
#: ``created_at``): its values and flags, its history columns, and what was entered (to
#: recompute a visit whose value becomes usable again).
HISTORY_INPUTS = ("weight_kg", "clenhei", "fwei", "flen", "fwfl", "fbmi", "confirm_implausible",
                  "length_cm", "measure_method", "head_circumference_cm", "arm_circumference_cm", "oedema",
                  "vitamin_a", *HISTORY_COLUMNS)

TREND_WARNINGS = frozenset({"weight_not_gained", "weight_not_gained_2t"})
CHECK_WARNINGS = frozenset({"length_decreased", "weight_change_implausible"})

#: Vitamin A rounds (posyandu-operations-id.md §5, months [P]): February and August.
VITAMIN_A_MONTHS = (2, 8)
VITAMIN_A_AGE_MONTHS = (6, 59)
#: Exclusive breastfeeding is asked for 0-5 completed months (posyandu-operations-id.md §5).
EXCLUSIVE_BREASTFEEDING_MAX_AGE_MONTHS = 5

#: Warnings about the posyandu extras; same shape as the rule set's warnings (rules_id.json).
EXTRA_WARNINGS = {
    "vitamin_a_outside_round": {
        "code": "vitamin_a_outside_round", "kind": "check", "refer": False, "priority": 40,
        "label_id": "Vitamin A dicatat di luar bulan Februari/Agustus: periksa kembali tanggalnya",
        "label_en": "Vitamin A recorded outside February/August: check the date",
    },
}


def standard_version() -> str:
    """Version string stored with every computed result (WHO standard + Indonesian rules)."""
    return _standard_version()


def rules():
    return default_rules()


def _get(obj: Any, name: str, default=None):
    if type(obj) is dict or isinstance(obj, Mapping):  # plain dicts skip the slow ABC check
        return obj.get(name, default)
    return getattr(obj, name, default)


def _none_if_nan(v):
    if v is None:
        return None
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def _flag(v) -> bool | None:
    return None if v is None else bool(v)


def sort_key(row) -> tuple:
    """Chronological order of a child's visits: date, then creation (ties keep entry order)."""
    created = _get(row, "created_at")
    return (_get(row, "measured_on"), created.timestamp() if created is not None else math.inf)


# ---------------------------------------------------------------------------------------
# warnings
# ---------------------------------------------------------------------------------------
def extra_warnings(measured_on: date, vitamin_a: bool | None) -> list[dict]:
    out = []
    if vitamin_a and measured_on.month not in VITAMIN_A_MONTHS:
        out.append(dict(EXTRA_WARNINGS["vitamin_a_outside_round"],
                        detail={"month": measured_on.month}))
    return out


def _merge_warnings(*groups: Iterable[Mapping]) -> list[dict]:
    found: dict[str, dict] = {}
    for group in groups:
        for w in group:
            found.setdefault(w["code"], dict(w))
    return sorted(found.values(), key=lambda w: (w["priority"], w["code"]))


def _visit_part(warnings: Iterable[Mapping] | None) -> list[Mapping]:
    return [w for w in (warnings or ()) if w["code"] not in TREND_WARNINGS | CHECK_WARNINGS]


def _trend_part(warnings: Iterable[Mapping] | None) -> list[Mapping]:
    return [w for w in (warnings or ()) if w["code"] in TREND_WARNINGS | CHECK_WARNINGS]


def _trend_columns(result: _trend.WeighingTrend | None) -> dict:
    if result is None:
        return {"trend_status": None, "is_2t": None, "gain_g": None, "kbm_g": None}
    return {"trend_status": result.status, "is_2t": result.is_2t if result.status else None,
            "gain_g": result.gain_g, "kbm_g": result.kbm_g}


def _visit_for_chain(row) -> dict:
    return {"date": _get(row, "measured_on"), "weight_kg": _get(row, "weight_kg"), "clenhei": _get(row, "clenhei"),
            "fwei": _get(row, "fwei"), "flen": _get(row, "flen"), "fwfl": _get(row, "fwfl"),
            "fbmi": _get(row, "fbmi"), "confirm_implausible": _get(row, "confirm_implausible")}


def _mask(values: dict, weight_bad: bool, length_bad: bool) -> None:
    """Withhold, in place, what an implausible weight / length would decide."""
    for column in (WEIGHT_MASKED if weight_bad else ()) + (LENGTH_MASKED if length_bad else ()):
        values[column] = None


def _usable_visit_warnings(warnings: Iterable[Mapping], weight_bad: bool) -> list[Mapping]:
    return [w for w in warnings if not (weight_bad and w["code"] in WEIGHT_VISIT_WARNINGS)]


def _who_state(values: Mapping, weight, clenhei) -> tuple[bool, bool]:
    """(weight, length) implausible by the WHO flags of this visit alone."""
    weight_bad, length_bad = _trend.who_implausible(values)
    return weight_bad and weight is not None, length_bad and clenhei is not None


def _last_usable(rows: Sequence, value: str, bad: str) -> dict | None:
    """The last row (in visit order) with ``value`` and not marked ``bad``."""
    for row in reversed(rows):
        if _get(row, value) is not None and not _get(row, bad):
            return {"date": _get(row, "measured_on"), value: _get(row, value)}
    return None


# ---------------------------------------------------------------------------------------
# one visit (request path)
# ---------------------------------------------------------------------------------------
def age_of(child, measured_on: date) -> tuple[int, int]:
    """(age in days, age in completed months) on ``measured_on``."""
    birth = _get(child, "birth_date")
    return (measured_on - birth).days, _trend.completed_months(birth, measured_on)


def assess_visit(child, measurement, previous_measurements: Iterable = ()) -> dict:
    """Computed column values for one measurement (scalar engine).

    ``child``: has ``sex`` (1/2), ``birth_date``, ``birth_weight_kg``.
    ``measurement``: object or mapping with ``id``, ``measured_on``, ``weight_kg``,
    ``length_cm``, ``measure_method`` ('lying'/'standing'), ``head_circumference_cm``,
    ``arm_circumference_cm``, ``oedema``, ``vitamin_a``, ``confirm_implausible``.
    ``previous_measurements``: the child's OTHER live (not deleted) measurements, objects or
    mappings with ``id``, ``measured_on``, ``weight_kg``, ``clenhei``, their stored
    ``weight_implausible`` / ``length_implausible`` and optionally ``created_at`` (orders
    visits on the same date).

    Returns ``{column: value}`` for :data:`COMPUTED_COLUMNS` (``warnings`` is the list of
    warning dicts), ready to be set on the row.
    """
    values, classification = _visit_part_values(child, measurement)
    measured_on = _get(measurement, "measured_on")
    weight = _get(measurement, "weight_kg")

    # plausibility against the last usable weight and length before this visit
    prev = sorted(previous_measurements, key=sort_key)
    before = [p for p in prev if _get(p, "measured_on") <= measured_on]
    judged = _trend.judge_visit(
        {**_visit_for_chain(values), "date": measured_on, "weight_kg": weight},
        _last_usable(before, "weight_kg", "weight_implausible"), _last_usable(before, "clenhei", "length_implausible"),
        confirmed=bool(_get(measurement, "confirm_implausible")))
    weight_bad, length_bad = judged.weight_implausible, judged.length_implausible

    # trend: this visit among the child's live weighings (implausible ones take no part)
    mid = _get(measurement, "id")
    weighings = [(_get(p, "id"), _get(p, "measured_on"), _get(p, "weight_kg"), not _get(p, "weight_implausible"))
                 for p in prev]
    weighings.append((mid, measured_on, weight, not weight_bad))
    result = None
    if weight is not None:
        birth = _get(child, "birth_date")
        window = _trend.deciding_weighings(birth, weighings, measured_on)
        result = next(r for r in _trend.compute_trend(birth, window, _get(child, "birth_weight_kg"))
                      if r.measurement_id == mid)
    values.update(_trend_columns(result))
    values["weight_implausible"], values["length_implausible"] = weight_bad, length_bad
    _mask(values, weight_bad, length_bad)
    values["warnings"] = _merge_warnings(
        _usable_visit_warnings(_trend.visit_warnings(classification), weight_bad),
        _trend.visit_warnings(None, result, judged.checks),
        extra_warnings(measured_on, _get(measurement, "vitamin_a")))
    values["standard_version"] = classification["standard_version"]
    return values


def visit_values(child, measurement) -> dict:
    """:func:`assess_visit` without the trend: the computed columns that depend on this visit
    alone (age, z-scores, flags, categories, BGM, orange line, ``standard_version``) and its
    visit warnings (group 1 only), with what the WHO flags alone make implausible withheld.
    The trend columns are None; :func:`trend_values` over the child's live rows (this one
    included) fills them, judges the visit against the previous ones and adds warning groups
    2 and 3 -- the same values :func:`assess_visit` gives."""
    values, classification = _visit_part_values(child, measurement)
    values.update(_trend_columns(None))
    weight_bad, length_bad = _who_state(values, _get(measurement, "weight_kg"), values["clenhei"])
    values["weight_implausible"], values["length_implausible"] = weight_bad, length_bad
    _mask(values, weight_bad, length_bad)
    values["warnings"] = _merge_warnings(
        _usable_visit_warnings(_trend.visit_warnings(classification), weight_bad),
        extra_warnings(_get(measurement, "measured_on"), _get(measurement, "vitamin_a")))
    values["standard_version"] = classification["standard_version"]
    return values


def _visit_part_values(child, measurement) -> tuple[dict, dict]:
    measured_on = _get(measurement, "measured_on")
    age_days, age_months = age_of(child, measured_on)
    weight = _get(measurement, "weight_kg")
    armc = _get(measurement, "arm_circumference_cm")
    oedema = bool(_get(measurement, "oedema"))
    method = _get(measurement, "measure_method")
    z = _zscores.zscores_one(
        _get(child, "sex"), age_days, weight=weight, lenhei=_get(measurement, "length_cm"),
        measure=MEASURE_CODES.get(method) if method else None,
        headc=_get(measurement, "head_circumference_cm"), armc=armc,
        oedema="y" if oedema else "n")
    if z.get("error"):
        raise ValueError(f"growth engine rejected the visit: {z['error']}")
    classification = _classify.classify_visit(z, age_months=age_months, armc_cm=armc, oedema=oedema)

    values: dict[str, Any] = {"age_days": age_days, "age_months": age_months,
                              "clenhei": _none_if_nan(z["clenhei"]), "cbmi": _none_if_nan(z["cbmi"])}
    for col in Z_COLUMNS:
        values[col] = _none_if_nan(z[col])
    for col in FLAG_COLUMNS:
        values[col] = _flag(z[col])
    for key, col in CATEGORY_COLUMNS.items():
        values[col] = classification[key]["category"]
    values["is_bgm"] = classification["bgm"]
    values["above_orange"] = classification["above_orange"]
    return values, classification


# ---------------------------------------------------------------------------------------
# trend over a child's history (edits, deletes, back-dated visits, merges)
# ---------------------------------------------------------------------------------------
def trend_values(child, rows: Sequence[Mapping], *, since: date | None = None) -> dict[Any, dict]:
    """History columns (:data:`HISTORY_COLUMNS`) for every live row of one child.

    ``rows``: the child's live measurements as mappings with ``id``, ``measured_on``,
    ``created_at`` and :data:`HISTORY_INPUTS` (stored values). Each visit is judged against
    the last usable weight and length before it; its trend comes from the usable weighings;
    its visit columns are the stored ones, withheld where a value is implausible, or
    recomputed from what was entered where a withheld value became usable again.
    Returns ``{id: {column: value}}``.

    ``since`` (the first day of a month): only the rows from that day on are computed, the
    earlier ones are taken as stored (they come before every change being made). ``rows`` then
    needs only what those depend on: the rows from two months before ``since`` on and, before
    that, the latest row, the latest usable weighing and the latest usable length (as
    :func:`posyandu.core.growth.trend.deciding_weighings` explains), not the whole history.
    """
    ordered = sorted(rows, key=sort_key)
    context: list = []
    if since is not None:
        split = next((i for i, row in enumerate(ordered) if _get(row, "measured_on") >= since), len(ordered))
        context, ordered = ordered[:split], ordered[split:]
    judged = _trend.plausibility_chain(
        [_visit_for_chain(row) for row in ordered],
        last_weight=_last_usable(context, "weight_kg", "weight_implausible"),
        last_length=_last_usable(context, "clenhei", "length_implausible"))
    results = {r.measurement_id: r for r in _trend.compute_trend(
        _get(child, "birth_date"),
        [(row["id"], row["measured_on"], row["weight_kg"], not row.get("weight_implausible")) for row in context]
        + [(row["id"], row["measured_on"], row["weight_kg"], not j.weight_implausible)
           for row, j in zip(ordered, judged)],
        _get(child, "birth_weight_kg"))}
    out = {}
    for row, j in zip(ordered, judged):
        result = results.get(row["id"])
        values = _trend_columns(result)
        weight_bad, length_bad = j.weight_implausible, j.length_implausible
        values["weight_implausible"], values["length_implausible"] = weight_bad, length_bad
        if (row.get("weight_implausible") and not weight_bad) or (row.get("length_implausible") and not length_bad):
            visit, classification = _visit_part_values(child, row)   # a withheld value is usable again
            values.update({c: visit[c] for c in MASKED_COLUMNS})
            visit_warnings = _merge_warnings(_trend.visit_warnings(classification),
                                             extra_warnings(row["measured_on"], row.get("vitamin_a")))
        else:
            values.update({c: row.get(c) for c in MASKED_COLUMNS})
            visit_warnings = _visit_part(row["warnings"])
        _mask(values, weight_bad, length_bad)
        values["warnings"] = _merge_warnings(_usable_visit_warnings(visit_warnings, weight_bad),
                                             _trend.visit_warnings(None, result, j.checks))
        out[row["id"]] = values
    return out


def trend_updates(child, rows: Sequence[Mapping]) -> list[dict]:
    """Like :func:`trend_values` but only the rows whose stored values change:
    a list of ``{"id": ..., <every column of HISTORY_COLUMNS>}`` dicts (so they can go to one
    executemany UPDATE)."""
    changed = []
    new = trend_values(child, rows)
    for row in rows:
        values = new[row["id"]]
        if any(row.get(col) != values[col] for col in HISTORY_COLUMNS):
            changed.append({"id": row["id"], **values})
    return changed


# ---------------------------------------------------------------------------------------
# many rows (recompute)
# ---------------------------------------------------------------------------------------
#: Inputs of the batch engine: the measurement's raw columns, its stored trend columns and
#: warnings (kept for soft-deleted rows), and the child's sex, birth date and birth weight.
BATCH_INPUTS = ("id", "child_id", "measured_on", "weight_kg", "length_cm", "measure_method",
                "head_circumference_cm", "arm_circumference_cm", "oedema", "vitamin_a", "deleted_at",
                "created_at", "trend_status", "is_2t", "gain_g", "kbm_g", "warnings",
                "sex", "birth_date", "birth_weight_kg", "confirm_implausible")
_OPTIONAL_INPUTS = frozenset({*TREND_COLUMNS, "warnings", "confirm_implausible"})
#: Margin of the numpy pre-filter for the previous-visit checks: a pair is checked exactly by
#: ``check_against_previous`` when it comes within this much of a limit (the checks round to
#: 6 decimals, so this never skips a pair that warns).
_CHECK_MARGIN = 1e-3


def assess_batch(rows: Sequence[Mapping]) -> list[dict]:
    """Computed columns for many measurements with the VECTORISED engine.

    ``rows``: mappings with the measurement's raw columns (``id``, ``child_id``,
    ``measured_on``, ``weight_kg``, ``length_cm``, ``measure_method``,
    ``head_circumference_cm``, ``arm_circumference_cm``, ``oedema``, ``vitamin_a``,
    ``deleted_at``, ``created_at``, stored ``warnings`` and trend columns) plus the child's
    ``sex``, ``birth_date`` and ``birth_weight_kg``. Every live row of each child in the
    batch must be present: the trend is recomputed per child over its live rows. Soft-deleted
    rows get fresh z-scores and categories but keep their stored trend columns.

    Returns one dict per input row, in input order: ``{"id": ..., <COMPUTED_COLUMNS>}``.
    (:func:`assess_columns` is the same computation, column-wise, without per-row dicts.)
    """
    if not rows:
        return []
    columns = assess_columns({k: [r.get(k) if k in _OPTIONAL_INPUTS else r[k] for r in rows]
                              for k in BATCH_INPUTS})
    keys = ("id", *COMPUTED_COLUMNS)
    return [dict(zip(keys, values)) for values in zip(*(columns[k] for k in keys))]


def assess_columns(cols: Mapping[str, Sequence]) -> dict[str, list]:
    """:func:`assess_batch` column-wise: ``cols`` maps each name of :data:`BATCH_INPUTS` to a
    sequence (one value per measurement; trend columns and ``warnings`` may be missing, they
    are only used for soft-deleted rows). Returns ``{"id": [...], <column>: [...]}`` for
    :data:`COMPUTED_COLUMNS`, plain Python values (None for NaN), in input order."""
    import numpy as np  # only the recompute path builds arrays

    ids = list(cols["id"])
    n = len(ids)
    if n == 0:
        return {c: [] for c in ("id", *COMPUTED_COLUMNS)}
    measured_on = list(cols["measured_on"])
    measured = np.array(measured_on, dtype="datetime64[D]")
    birth = np.array(cols["birth_date"], dtype="datetime64[D]")
    age_days = (measured - birth).astype(np.int64)
    months = _completed_months_array(birth, measured)
    weight = np.array(cols["weight_kg"], dtype=float)  # None -> NaN
    armc = np.array(cols["arm_circumference_cm"], dtype=float)
    measure = np.array([MEASURE_CODES.get(m) if m else None for m in cols["measure_method"]], dtype=object)
    oedema = np.array([bool(v) for v in cols["oedema"]], dtype=bool)
    z = _zscores.compute_zscores(
        np.array(cols["sex"]), age_days.astype(float), weight=weight,
        lenhei=np.array(cols["length_cm"], dtype=float), measure=measure,
        headc=np.array(cols["head_circumference_cm"], dtype=float), armc=armc,
        oedema=np.where(oedema, "y", "n").astype(object))
    cls = _classify.classify_batch(z, age_months=months, armc_cm=armc, oedema=oedema)

    out: dict[str, list] = {"id": ids, "age_days": age_days.tolist(), "age_months": months.tolist(),
                            "clenhei": _floats(z["clenhei"]), "cbmi": _floats(z["cbmi"])}
    for c in Z_COLUMNS:
        out[c] = _floats(z[c])
    for c in FLAG_COLUMNS:
        out[c] = _flags(z[c])
    for key, c in CATEGORY_COLUMNS.items():
        out[c] = cls[key].tolist()
    out["is_bgm"] = _plain(cls["bgm"])
    out["above_orange"] = _plain(cls["above_orange"])
    visit = _batch_visit_warnings(cls, out, oedema, measured, measured_on, cols["vitamin_a"])

    trend_status, is_2t, gain_g, kbm_g = [None] * n, [None] * n, [None] * n, [None] * n
    warnings: list = [None] * n
    raw_weight, clenhei = cols["weight_kg"], out["clenhei"]
    confirmed = list(cols.get("confirm_implausible") or [False] * n)
    # what the WHO flags alone make implausible (every row; the chain adds the checks)
    who_weight, who_length = _batch_who_state(z, weight, np.asarray(z["clenhei"], dtype=float))
    weight_implausible, length_implausible = who_weight.tolist(), who_length.tolist()
    deleted = list(cols["deleted_at"])
    # soft-deleted rows: frozen trend, fresh visit warnings
    dead = [i for i in range(n) if deleted[i] is not None]
    if dead:
        stored = {c: cols.get(c) for c in (*TREND_COLUMNS, "warnings")}
        for i in dead:
            trend_status[i], is_2t[i], gain_g[i], kbm_g[i] = (
                None if stored[c] is None else stored[c][i] for c in TREND_COLUMNS)
            warnings[i] = _merge_warnings(_usable_visit_warnings(visit[i], weight_implausible[i]), _trend_part(
                None if stored["warnings"] is None else stored["warnings"][i]))

    # trend per child over its live rows in visit order (date, then creation, then input order)
    child_ids, created = cols["child_id"], cols["created_at"]
    code: dict[Any, int] = {}
    child_code = [code.setdefault(cid, len(code)) for cid in child_ids]
    created_ts = [math.inf if c is None else c.timestamp() for c in created]
    live = [i for i in range(n) if deleted[i] is None]
    live.sort(key=lambda i: (child_code[i], measured_on[i], created_ts[i]))
    # a child needs the exact plausibility chain only if one of its rows is WHO-flagged or
    # comes near a previous-visit limit; every other child's values are all usable, no checks
    live_rows = np.array(live, dtype=np.int64)
    exact_needed = _check_candidates(live_rows, np.array(child_code, dtype=np.int64), z["clenhei"], weight, measured)
    if live:
        exact_needed |= (who_weight | who_length)[live_rows]
    birth_dates, birth_weights = cols["birth_date"], cols["birth_weight_kg"]
    start = 0
    while start < len(live):
        first = live[start]
        stop = start + 1
        while stop < len(live) and child_code[live[stop]] == child_code[first]:
            stop += 1
        group = live[start:stop]
        if exact_needed[start:stop].any():
            judged = _trend.plausibility_chain([{
                "date": measured_on[i], "weight_kg": raw_weight[i], "clenhei": clenhei[i], "fwei": out["fwei"][i],
                "flen": out["flen"][i], "fwfl": out["fwfl"][i], "fbmi": out["fbmi"][i],
                "confirm_implausible": confirmed[i]} for i in group])
        else:
            judged = [_ALL_USABLE] * len(group)
        results = _trend.compute_trend(
            birth_dates[first], [(ids[i], measured_on[i], raw_weight[i], not j.weight_implausible)
                                 for i, j in zip(group, judged)], birth_weights[first])
        for i, result, j in zip(group, results, judged):
            status = result.status
            trend_status[i], gain_g[i], kbm_g[i] = status, result.gain_g, result.kbm_g
            is_2t[i] = result.is_2t if status else None
            weight_bad, length_bad = j.weight_implausible, j.length_implausible
            weight_implausible[i], length_implausible[i] = weight_bad, length_bad
            for column in (WEIGHT_MASKED if weight_bad else ()) + (LENGTH_MASKED if length_bad else ()):
                out[column][i] = None
            if visit[i] or j.checks or status == _trend.T:
                warnings[i] = _merge_warnings(_usable_visit_warnings(_visit_part(visit[i]), weight_bad),
                                              _trend.visit_warnings(None, result, j.checks))
            else:
                warnings[i] = []
        start = stop
    for i in dead:
        for column in (WEIGHT_MASKED if weight_implausible[i] else ()) + (LENGTH_MASKED if length_implausible[i] else ()):
            out[column][i] = None

    out.update(trend_status=trend_status, is_2t=is_2t, gain_g=gain_g, kbm_g=kbm_g,
               weight_implausible=weight_implausible, length_implausible=length_implausible, warnings=warnings,
               standard_version=[standard_version()] * n)
    return out


#: The plausibility of a visit of a child none of whose visits comes near a limit.
_ALL_USABLE = _trend.Plausibility(False, False, ())


def _batch_who_state(z, weight, clenhei):
    """Vectorised :func:`_who_state`: (weight, length) implausible by the WHO flags alone."""
    import numpy as np

    def flag(key):
        return np.nan_to_num(np.asarray(z[key], dtype=float), nan=0.0) == 1.0

    fwei, flen, ratio = flag("fwei"), flag("flen"), flag("fwfl") | flag("fbmi")
    weight_bad = (fwei | (ratio & ~flen)) & np.isfinite(weight)
    length_bad = (flen | (ratio & ~fwei)) & np.isfinite(clenhei)
    return weight_bad, length_bad


def _floats(a) -> list:
    """Float array -> list of Python floats, None for NaN/inf."""
    import numpy as np

    a = np.asarray(a, dtype=float)
    bad = ~np.isfinite(a)
    if not bad.any():
        return a.tolist()
    o = a.astype(object)
    o[bad] = None
    return o.tolist()


def _flags(a) -> list:
    """Engine flag array (0/1/NaN) -> list of False/True/None."""
    import numpy as np

    a = np.asarray(a, dtype=float)
    o = (a != 0).astype(object)
    o[~np.isfinite(a)] = None
    return o.tolist()


def _plain(a) -> list:
    """Object array of True/False/None (numpy or Python scalars) -> list of Python values."""
    return [v if v is None or type(v) is bool else _none_if_nan(v.item() if hasattr(v, "item") else v)
            for v in a.tolist()]


def _batch_visit_warnings(cls, out, oedema, measured, measured_on, vitamin_a) -> list[list]:
    """Visit warnings per row (group 1). Only rows that can have one (a flagged index,
    oedema, low LiLA, BGM, above the orange line, vitamin A outside the rounds) go through
    ``visit_warnings``; every other row gets ``[]`` without building its classification."""
    import numpy as np

    n = len(oedema)
    need = oedema.copy()
    for key in CATEGORY_COLUMNS:
        need |= cls[key + "_status"] == _classify.STATUS_FLAGGED
    need |= (cls["lila"] == "lila.severe_acute") | (cls["lila"] == "lila.moderate_acute")
    need |= np.array([v is not None and bool(v) for v in out["is_bgm"]], dtype=bool)
    need |= np.array([v is not None and bool(v) for v in out["above_orange"]], dtype=bool)
    month = measured.astype("datetime64[M]").astype(np.int64) % 12 + 1
    vit = np.array([bool(v) for v in vitamin_a], dtype=bool)
    need |= vit & ~np.isin(month, VITAMIN_A_MONTHS)
    visit: list[list] = [[] for _ in range(n)]
    vitamin_a = list(vitamin_a)
    for i in np.flatnonzero(need).tolist():
        classification = {key: {"status": cls[key + "_status"][i], "reason": cls[key + "_reason"][i],
                                "category": cls[key][i]} for key in CATEGORY_COLUMNS}
        classification.update(oedema=bool(oedema[i]), bgm=out["is_bgm"][i], above_orange=out["above_orange"][i])
        visit[i] = _merge_warnings(_trend.visit_warnings(classification),
                                   extra_warnings(measured_on[i], vitamin_a[i]))
    return visit


def _check_candidates(order, child_code, clenhei, weight, measured):
    """For each position of ``order`` (live rows sorted by child and visit): could a previous-
    visit check warn against the child's last earlier weight / length? A cheap numpy superset
    of ``trend.judge_visit`` while every earlier value is usable (a child with a WHO-flagged
    row takes the exact path anyway); the exact check runs only where this is True."""
    import numpy as np

    cand = np.zeros(len(order), dtype=bool)
    if len(order) < 2:
        return cand
    r = default_rules()
    code = child_code[order]
    days_at = measured[order].astype(np.int64)
    positions = np.arange(len(order))
    for values, check in ((np.asarray(weight, dtype=float)[order], "weight"),
                          (np.asarray(clenhei, dtype=float)[order], "length")):
        has = np.isfinite(values)
        # the last earlier position with a value (forward fill), -1 when none
        last = np.maximum.accumulate(np.where(has, positions, -1))
        previous = np.concatenate(([-1], last[:-1]))
        ok = has & (previous >= 0)
        prev = np.where(ok, previous, 0)
        ok &= code[prev] == code
        with np.errstate(invalid="ignore"):
            if check == "weight":
                days = days_at - days_at[prev]
                allowed = r.weight_change_max_kg_per_month * np.maximum(days / _trend.DAYS_PER_MONTH,
                                                                        r.weight_change_min_interval_months)
                near = np.abs(values - values[prev]) > allowed - _CHECK_MARGIN
            else:
                near = (values[prev] - values) > r.length_decrease_tolerance_cm - _CHECK_MARGIN
        cand |= ok & near
    return cand


def _completed_months_array(birth, measured):
    """Vectorised :func:`posyandu.core.growth.trend.completed_months`."""
    import numpy as np

    by = birth.astype("datetime64[Y]").astype(int) + 1970
    bm = birth.astype("datetime64[M]").astype(int) % 12
    bd = (birth - birth.astype("datetime64[M]")).astype(int)
    my = measured.astype("datetime64[Y]").astype(int) + 1970
    mm = measured.astype("datetime64[M]").astype(int) % 12
    md = (measured - measured.astype("datetime64[M]")).astype(int)
    months = (my - by) * 12 + (mm - bm)
    months = months - ((months > 0) & (md < bd)) + ((months < 0) & (md > bd))
    return months.astype(np.int64)


# ---------------------------------------------------------------------------------------
# labels for responses (stored codes -> id/en labels of the current rule set)
# ---------------------------------------------------------------------------------------
_LABELS: dict | None = None


def labels() -> dict:
    """``{"categories": {code: (id, en)}, "indices": {key: rule}, "trend": {N: (id, en)}}``."""
    global _LABELS
    if _LABELS is None:
        r = default_rules()
        cats = {}
        for rule in (*r.indices.values(), r.lila):
            for c in rule.categories:
                cats[c.code] = (c.label_id, c.label_en)
        _LABELS = {"categories": cats, "rules": {**dict(r.indices), "lila": r.lila},
                   "trend": dict(r.status_labels), "split_age_days": r.split_age_days}
    return _LABELS
