"""An area's months at a glance: the indicators a supervisor reads first, per group.

``area_glance(area, months, by)`` is shared by the portal's "month at a glance" page and the
kabupaten command-centre feed (``posyandu/feeds``). It returns one plain row per group of level
``by`` (posyandu, desa, kecamatan or puskesmas inside ``area``) and month, with raw counts and
rates: suppressing small numbers is the caller's business (the feed does it, the portal, which
shows staff their own area, does not).

Where each number comes from (one definition each, shared with the reports):

- ``registered`` (S): :func:`.cohort.month_children` (the reports' target children, placed at
  their posyandu of the month's last day);
- ``measured``, ``weighed`` (D), stunting/wasting/underweight, 2T, BGM: the nutrition reports'
  summary table ``report_child_month`` (one record per child and month, her last live weighing
  of the month; :func:`nutrition_counts`), the prevalence and its 95 % CI by WHO anthro's
  simple path (``core.prevalence.proportion``, N = the group's children measured);
- ``idl_infants``/``idl_ytd``/``idl_coverage_pct``: :func:`.immunization_coverage.completeness_counts`
  (IDL complete on time this year, against the infant target; PWS cumulative coverage);
- ``quality_class``: the SMART score of the group's visits of the month
  (``core.quality.assess_groups`` on ``quality.operations.fetch_visits``);
- ``overdue_doses`` (doses overdue, and ``children_overdue``): the schedule engine on the month's
  last day (today for the current month), for the registered children under five;
- ``early_warning``: children listed by the growth-faltering rules
  (``early_warning.operations.evaluate``).

The last two are slow at kabupaten scale (the schedule engine is a Python pass per child; the
early warning reads ~1M history rows for a kabupaten month, column-wise through
``db.fetch_columns``), so by default they are computed for the LAST month of ``months`` only
(``slow_months`` picks others); the other months carry ``None`` there. benchmarks/README.md
("Command-centre feed") has the costs.
"""
from __future__ import annotations

import datetime as _dt
from typing import Iterable, Sequence

import numpy as np
import sqlalchemy as sa

from ..children.models import Child
from ..core import prevalence
from ..core import quality as cq
from ..core.schedule import add_months
from ..db import day_number, fetch_columns
from ..extensions import db
from ..measurements.models import Measurement
from ..regions.models import Posyandu
from .areas import Area, Month
from .cohort import UNDER_FIVE_MONTHS, group_keys, groups, month_children, report_settings, resolve_by
from .subtotals import posyandu_directory

#: The three prevalence indicators: (name, z column, flag column, oedema counts as a case).
INDICATORS = (("stunting", "zlen", "flen", False), ("wasting", "zwfl", "fwfl", True),
              ("underweight", "zwei", "fwei", True))
NUTRITION_SUMS = ("measured", "weighed", "two_t", "bgm",
                  *(f"{name}_{part}" for name, *_ in INDICATORS for part in ("k", "n")))
_M = Measurement.__table__
_C = Child.__table__


def _count(condition):
    return sa.func.sum(sa.case((condition, 1), else_=0))


# ---------------------------------------------------------------------------------------------
# nutrition (the one place to switch to the nutrition summary table)
# ---------------------------------------------------------------------------------------------
def nutrition_counts(area: Area, first: Month, last: Month) -> dict:
    """``{(posyandu_id, month_index): {measured, weighed, two_t, bgm, <indicator>_k, _n}}`` from
    the nutrition summary table ``report_child_month`` (one record per child and month, placed
    at her posyandu of the month's last day; ``reports.nutrition``'s definitions: 0-59 completed
    months and at most 1826 days at the visit, flagged z-scores left out, oedema a wasting and
    underweight case, a z from a value implausible against the previous visit left out, as in
    the nutrition report: ``nutrition.record_rows``). One GROUP BY over the months."""
    from .nutrition import S, record_rows
    s = S.c
    r = record_rows(sa.and_(s.month >= first.index, s.month <= last.index, s.posyandu_id.in_(area.posyandu_ids()),
                            s.age_months >= 0, s.age_months <= 59,
                            sa.or_(s.age_days.is_(None), s.age_days <= prevalence.AGE_LIMIT_DAYS)),
                    extra=(s.weighed, s.is_2t, s.is_bgm))
    c = r.c
    columns = [sa.func.count().label("measured"), _count(c.weighed.is_(True)).label("weighed"),
               _count(c.is_2t.is_(True)).label("two_t"), _count(c.is_bgm.is_(True)).label("bgm"),
               sa.func.count(c.ha_class).label("stunting_n"), _count(c.ha_class >= 2).label("stunting_k"),
               sa.func.count(c.wh_class).label("wasting_n"), _count(c.wh_class.between(2, 3)).label("wasting_k"),
               sa.func.count(c.wa_class).label("underweight_n"), _count(c.wa_class >= 2).label("underweight_k")]
    query = sa.select(c.posyandu_id, c.month, *columns).group_by(c.posyandu_id, c.month)
    return {(row.posyandu_id, int(row.month)): {k: int(row._mapping[k] or 0) for k in NUTRITION_SUMS}
            for row in db.session.execute(query)}


def last_updates(area: Area, first: Month, last: Month) -> dict:
    """``{(posyandu_id, month_index): datetime}``: when a measurement of that month was last
    entered, changed or deleted (placed at the child's current posyandu)."""
    month = sa.extract("year", _M.c.measured_on) * 12 + sa.extract("month", _M.c.measured_on) - 1
    query = (sa.select(_C.c.posyandu_id, month.label("month"), sa.func.max(_M.c.updated_at).label("at"))
             .select_from(_M.join(_C, _C.c.id == _M.c.child_id))
             .where(_M.c.measured_on >= first.first_day, _M.c.measured_on <= last.last_day,
                    _C.c.posyandu_id.in_(area.posyandu_ids()))
             .group_by(_C.c.posyandu_id, month))
    return {(row.posyandu_id, int(row.month)): row.at for row in db.session.execute(query)}


# ---------------------------------------------------------------------------------------------
# the other parts, per posyandu and month
# ---------------------------------------------------------------------------------------------
def registered_counts(area: Area, months: Sequence[Month]) -> dict:
    """``{(posyandu_id, month_index): S}`` (one small GROUP BY per month)."""
    out = {}
    for m in months:
        reg = month_children(area, m, name="glance_registered")
        for row in db.session.execute(sa.select(reg.c.posyandu_id, sa.func.count().label("n"))
                                      .group_by(reg.c.posyandu_id)):
            out[(row.posyandu_id, m.index)] = int(row.n)
    return out


def idl_counts(area: Area, months: Sequence[Month]) -> dict:
    """``{(posyandu_id, month_index): {idl_infants, idl_ytd}}`` from the coverage report."""
    from .immunization_coverage import completeness_counts, region_of
    region = region_of(area)
    out: dict = {}
    for m in months:
        for (posyandu_id, _sex), c in completeness_counts(area, m, region).items():
            bucket = out.setdefault((posyandu_id, m.index), {"idl_infants": 0, "idl_ytd": 0})
            bucket["idl_infants"] += c["infants"]
            bucket["idl_ytd"] += c["idl_ytd"]
    return out


def overdue_counts(area: Area, month: Month, today: _dt.date) -> dict:
    """``{posyandu_id: (doses overdue, children with one)}`` on the month's last day (today for
    the current month): the schedule engine for the area's active children under five."""
    from ..core.schedule import DoseStatus
    from ..immunizations.operations import _CHILD_COLUMNS, evaluate_children, region_settings_for
    on = min(month.last_day, today)
    children = db.session.execute(
        sa.select(*_CHILD_COLUMNS).join(Posyandu, Posyandu.id == Child.posyandu_id)
        .where(Child.posyandu_id.in_(area.posyandu_ids()), Child.status == "active",
               Child.merged_into_id.is_(None),
               Child.birth_date > add_months(on, -UNDER_FIVE_MONTHS), Child.birth_date <= on)).all()
    settings = region_settings_for({c.kabupaten_code for c in children})
    out: dict = {}
    for c, _day, schedule in evaluate_children(children, lambda c: on, settings):
        overdue = len(schedule.with_status(DoseStatus.OVERDUE))
        doses, kids = out.get(c.posyandu_id, (0, 0))
        out[c.posyandu_id] = (doses + overdue, kids + (1 if overdue else 0))
    return out


def early_warning_counts(area: Area, month: Month) -> dict:
    """``{posyandu_id: children on the early-warning list}``."""
    from ..early_warning.operations import count_by_posyandu
    return count_by_posyandu(area, month)


def quality_visits(area: Area, first: Month, last: Month) -> dict:
    """The period's live visits at the area's posyandu as numpy columns: what the SMART checks
    read (``quality.operations.fetch_visits`` without its previous-visit window, which only the
    register checks need)."""
    raw = fetch_columns(db.session.connection(), sa.select(
        _M.c.posyandu_id, day_number(_M.c.measured_on).label("measured_on"), _M.c.zwfl,
        sa.case((_M.c.fwfl.is_(True), 1.0), (_M.c.fwfl.is_(False), 0.0)).label("fwfl"),
        _C.c.sex, _M.c.age_days, _M.c.weight_kg, _M.c.length_cm)
        .select_from(_M.join(_C, _C.c.id == _M.c.child_id))
        .where(_M.c.deleted_at.is_(None), _M.c.measured_on >= first.first_day, _M.c.measured_on <= last.last_day,
               _M.c.posyandu_id.in_(area.posyandu_ids())))
    cols = {k: np.array(raw[k], dtype=float) for k in ("zwfl", "fwfl", "sex", "age_days", "weight_kg", "length_cm")}
    cols["posyandu_id"] = np.array(raw["posyandu_id"], dtype=np.int64)
    cols["measured_on"] = np.array(raw["measured_on"], dtype=np.int64).astype("datetime64[D]")
    return cols


def quality_classes(cols: dict, first: Month, group_of: dict, group_order: list) -> dict:
    """``{(group key, month_index): (quality class, score)}``: the SMART checks on the group's
    visits of each month (``cols`` from :func:`quality_visits`)."""
    if len(cols["zwfl"]) == 0:
        return {}
    index_of = {key: i for i, key in enumerate(group_order)}
    ids = cols["posyandu_id"]
    lookup = {pid: index_of.get(group_of.get(pid), -1) for pid in np.unique(ids).tolist()}
    group_idx = np.array([lookup[p] for p in ids.tolist()], dtype=np.int64)
    months = cols["measured_on"].astype("datetime64[M]").astype(np.int64) + 1970 * 12
    keys = group_idx * 100_000 + (months - first.index)
    keep = group_idx >= 0
    sub = {k: v[keep] for k, v in cols.items()}
    results = cq.assess_groups(keys[keep], whz=sub["zwfl"], flag=sub["fwfl"], sex=sub["sex"],
                               age_days=sub["age_days"], weight=sub["weight_kg"], lenhei=sub["length_cm"],
                               settings=cq.default_settings(), total=None)
    out = {}
    for key, q in results.items():
        g, offset = divmod(int(key), 100_000)
        out[(group_order[g], first.index + offset)] = (q.quality, q.score)
    return out


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------
def _estimate(k: int, n: int, N: int) -> dict:
    est = prevalence.proportion([k], [n], [N])
    out = {"cases": k, "n": n}
    for name, part in (("pct", "r"), ("ci_low", "ll"), ("ci_high", "ul")):
        v = float(est[part][0])
        out[name] = None if not np.isfinite(v) else round(v, 1)
    return out


def _pct(a: int, b: int) -> float | None:
    return round(100.0 * a / b, 1) if b else None


def _roll(counts: dict, keys: dict) -> dict:
    """``{(posyandu_id, month): {...}}`` → ``{(group, month): {...}}`` (sums)."""
    out: dict = {}
    for (pid, month), values in counts.items():
        bucket = out.setdefault((keys.get(pid), month), {})
        for k, v in values.items():
            bucket[k] = bucket.get(k, 0) + v
    return out


def area_glance(area: Area, months: Sequence[Month] | Month, by: str | Sequence[str] | None = None, *,
                slow_months: Iterable[Month] | None = None, today: _dt.date | None = None) -> list[dict]:
    """Rows ``{level, key, code, name, parent_code, month, registered, measured, weighed, ds_pct,
    stunting, wasting, underweight ({cases, n, pct, ci_low, ci_high}), two_t, bgm, idl_infants,
    idl_ytd, idl_coverage_pct, overdue_doses, children_overdue, early_warning, quality_class,
    quality_score, last_update}`` per group of level ``by`` (every group, zeros included) and
    month: the groups in report order, each with its months oldest first. ``by`` may name
    several levels (``("kecamatan", "desa")``): everything is counted once per posyandu and
    rolled up per level, the rows of each level following the previous level's.
    ``parent_code``: a desa's kecamatan (dotted), else ``None``.

    ``slow_months``: the months for which the overdue doses and the early warning are computed
    (default: the last of ``months``); elsewhere they are ``None``. The caller resolves ``area``
    against its scope (``areas.resolve_area``)."""
    months = sorted([months] if isinstance(months, Month) else list(months), key=lambda m: m.index)
    if not months:
        return []
    levels = [resolve_by(area, b) for b in ([by] if by is None or isinstance(by, str) else by)]
    slow = {m.index for m in (slow_months if slow_months is not None else months[-1:])}
    today = today or _dt.datetime.now(_dt.timezone(_dt.timedelta(hours=7))).date()
    first, last = months[0], months[-1]
    wanted = {m.index for m in months}
    report_settings()
    directory = posyandu_directory(area)

    # per posyandu and month, once
    nutrition = {k: v for k, v in nutrition_counts(area, first, last).items() if k[1] in wanted}
    registered = {k: {"registered": v} for k, v in registered_counts(area, months).items()}
    idl = idl_counts(area, months)
    updates = last_updates(area, first, last)
    visits = quality_visits(area, first, last)
    slow_counts: dict = {}
    for m in months:
        if m.index not in slow:
            continue
        for pid, (d, c) in overdue_counts(area, m, today).items():
            slow_counts.setdefault((pid, m.index), {}).update({"overdue_doses": d, "children_overdue": c})
        for pid, n in early_warning_counts(area, m).items():
            slow_counts.setdefault((pid, m.index), {})["early_warning"] = n
    kecamatan_of_desa = {r["desa_key"]: r["kecamatan_code"] for r in directory}

    rows = []
    for level in levels:
        keys = group_keys(directory, level)
        group_list = groups(area, level, directory)
        nut_g, reg_g, idl_g, slow_g = (_roll(c, keys) for c in (nutrition, registered, idl, slow_counts))
        upd_g: dict = {}
        for (pid, month), at in updates.items():
            key = (keys.get(pid), month)
            if at is not None and (upd_g.get(key) is None or at > upd_g[key]):
                upd_g[key] = at
        quality = quality_classes(visits, first, keys, [g["key"] for g in group_list])
        for g in group_list:
            for m in months:
                rows.append(_row(level, g, m, nut_g, reg_g, idl_g, slow_g, upd_g, quality,
                                 m.index in slow, kecamatan_of_desa))
    return rows


def _row(level, g, m, nutrition, registered, idl, slow_counts, updates, quality, is_slow, kecamatan_of_desa) -> dict:
    key = (g["key"], m.index)
    nut = {k: 0 for k in NUTRITION_SUMS} | nutrition.get(key, {})
    reg = registered.get(key, {}).get("registered", 0)
    imm = {"idl_infants": 0, "idl_ytd": 0} | idl.get(key, {})
    row = {"level": level, "key": g["key"], "code": g.get("code") or g.get("posyandu_code"),
           "name": g.get("name") or g.get("posyandu_name"),
           "parent_code": kecamatan_of_desa.get(g["key"]) if level == "desa" else None, "month": str(m),
           "registered": reg, "measured": nut["measured"], "weighed": nut["weighed"],
           "ds_pct": _pct(nut["weighed"], reg)}
    for name, *_ in INDICATORS:
        row[name] = _estimate(nut[f"{name}_k"], nut[f"{name}_n"], nut["measured"])
    row.update({"two_t": nut["two_t"], "bgm": nut["bgm"], "idl_infants": imm["idl_infants"],
                "idl_ytd": imm["idl_ytd"], "idl_coverage_pct": _pct(imm["idl_ytd"], imm["idl_infants"])})
    if is_slow:
        o = slow_counts.get(key, {})
        row.update({"overdue_doses": o.get("overdue_doses", 0), "children_overdue": o.get("children_overdue", 0),
                    "early_warning": o.get("early_warning", 0)})
    else:
        row.update({"overdue_doses": None, "children_overdue": None, "early_warning": None})
    q_class, q_score = quality.get(key, (None, None))
    row.update({"quality_class": q_class, "quality_score": q_score, "last_update": updates.get(key)})
    return row
