"""The area's month at a glance, one row per posyandu, and the colours a person reads at once.

The indicators come from ``posyandu.reports.glance.area_glance`` when that module exists (the
shared per-area function the command-centre feed also uses); until then from the queries below,
which count the same things: D (children weighed in the month) against S (children under five
registered at the month's end), stunting (HAZ < -2) and wasting (WHZ < -2) among the children
measured with a plausible value, 2T (two months without gain), BGM (below the KMS red line),
overdue immunization doses, the SMART data-quality class and the early-warning count.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..children.models import Child
from ..extensions import db
from ..measurements.models import Measurement as M
from ..regions.models import Posyandu

#: Above this many posyandu the overdue-dose count (a schedule evaluation per child) is left out
#: of the fallback page; ``area_glance`` computes it in bulk.
OVERDUE_MAX_POSYANDU = 40

#: Colour thresholds (WHO/UNICEF prevalence thresholds for public-health significance, 2018:
#: stunting ≥ 30 % very high, 20–30 % high, 10–20 % medium; wasting ≥ 15 % very high, 10–15 %
#: high, 5–10 % medium; D/S: the Kemenkes SPM target of 80 % weighing participation).
STUNTING_BANDS = ((30, "bad"), (20, "poor"), (10, "fair"))
WASTING_BANDS = ((15, "bad"), (10, "poor"), (5, "fair"))
DS_TARGET = 80.0
QUALITY_COLOURS = {"excellent": "good", "good": "good", "acceptable": "fair", "problematic": "bad"}


def band(value, bands) -> str:
    if value is None:
        return "none"
    for threshold, colour in bands:
        if value >= threshold:
            return colour
    return "good"


@dataclass
class GlanceRow:
    posyandu: dict
    registered: int = 0
    measured: int = 0
    stunting_pct: float | None = None
    wasting_pct: float | None = None
    ds_pct: float | None = None
    two_t: int = 0
    bgm: int = 0
    overdue_doses: int | None = None
    quality_class: str | None = None
    early_warning: int = 0
    colours: dict = field(default_factory=dict)

    def paint(self) -> "GlanceRow":
        self.colours = {
            "stunting": band(self.stunting_pct, STUNTING_BANDS),
            "wasting": band(self.wasting_pct, WASTING_BANDS),
            "ds": "none" if self.ds_pct is None else ("good" if self.ds_pct >= DS_TARGET
                                                      else "fair" if self.ds_pct >= 60 else "bad"),
            "two_t": "good" if self.two_t == 0 else "poor",
            "bgm": "good" if self.bgm == 0 else "bad",
            "overdue": "none" if self.overdue_doses is None else ("good" if self.overdue_doses == 0 else "poor"),
            "quality": QUALITY_COLOURS.get(self.quality_class or "", "none"),
            "early_warning": "good" if self.early_warning == 0 else "bad",
        }
        return self


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def area_rows(scope, area, month) -> list[GlanceRow]:
    """One painted row per posyandu of ``area`` (already resolved in ``scope``) for ``month``."""
    try:
        from ..reports.glance import area_glance  # the shared function, when present
    except ModuleNotFoundError as exc:
        if exc.name != "posyandu.reports.glance":
            raise
        return [row.paint() for row in _fallback_rows(scope, area, month)]
    return [_from_shared(item).paint() for item in area_glance(scope, area, month)]


def _from_shared(item) -> GlanceRow:
    """``area_glance`` rows (dicts or objects) in the page's shape."""
    get = item.get if isinstance(item, dict) else (lambda k, d=None: getattr(item, k, d))
    return GlanceRow(posyandu=get("posyandu"), registered=get("registered", 0) or 0,
                     measured=get("measured", 0) or 0, stunting_pct=get("stunting_pct"),
                     wasting_pct=get("wasting_pct"), ds_pct=get("ds_pct"), two_t=get("two_t", 0) or 0,
                     bgm=get("bgm", 0) or 0, overdue_doses=get("overdue_doses"),
                     quality_class=get("quality_class"), early_warning=get("early_warning", 0) or 0)


def _fallback_rows(scope, area, month) -> list[GlanceRow]:
    posyandu = db.session.execute(
        sa.select(Posyandu.id, Posyandu.code, Posyandu.name).where(area.posyandu_condition())
        .order_by(Posyandu.code)).all()
    rows = {p.id: GlanceRow(posyandu={"id": p.id, "code": p.code, "name": p.name}) for p in posyandu}
    if not rows:
        return []
    ids = area.posyandu_ids()
    first, last = month.first_day, month.last_day
    under_five = sa.and_(Child.birth_date <= last, Child.birth_date > _years_before(last, 5))
    registered = db.session.execute(
        sa.select(Child.posyandu_id, sa.func.count())
        .where(Child.posyandu_id.in_(ids), under_five, Child.status == "active",
               sa.func.date(Child.created_at) <= last)
        .group_by(Child.posyandu_id)).all()
    for pid, n in registered:
        rows[pid].registered = n
    # one row per child and posyandu: the month's last measurement of each child
    stunted = sa.and_(M.zlen < -2, sa.func.coalesce(M.flen, False).is_(False),
                      sa.func.coalesce(M.length_implausible, False).is_(False))
    wasted = sa.and_(M.zwfl < -2, sa.func.coalesce(M.fwfl, False).is_(False),
                     sa.func.coalesce(M.weight_implausible, False).is_(False),
                     sa.func.coalesce(M.length_implausible, False).is_(False))
    per_child = (
        sa.select(M.posyandu_id, M.child_id,
                  sa.func.max(sa.case((stunted, 1), else_=0)).label("stunted"),
                  sa.func.max(sa.case((M.zlen.is_not(None) & sa.func.coalesce(M.flen, False).is_(False), 1),
                                      else_=0)).label("haz_valid"),
                  sa.func.max(sa.case((wasted, 1), else_=0)).label("wasted"),
                  sa.func.max(sa.case((M.zwfl.is_not(None) & sa.func.coalesce(M.fwfl, False).is_(False), 1),
                                      else_=0)).label("whz_valid"),
                  sa.func.max(sa.case((M.is_2t.is_(True), 1), else_=0)).label("two_t"),
                  sa.func.max(sa.case((M.is_bgm.is_(True), 1), else_=0)).label("bgm"),
                  sa.func.max(sa.case((M.weight_kg.is_not(None), 1), else_=0)).label("weighed"))
        .where(M.posyandu_id.in_(ids), M.deleted_at.is_(None), M.measured_on >= first, M.measured_on <= last)
        .group_by(M.posyandu_id, M.child_id).subquery())
    c = per_child.c
    sums = db.session.execute(
        sa.select(c.posyandu_id, sa.func.count(), sa.func.sum(c.weighed), sa.func.sum(c.stunted),
                  sa.func.sum(c.haz_valid), sa.func.sum(c.wasted), sa.func.sum(c.whz_valid),
                  sa.func.sum(c.two_t), sa.func.sum(c.bgm))
        .group_by(c.posyandu_id)).all()
    for pid, measured, weighed, stunted_n, haz_n, wasted_n, whz_n, two_t, bgm in sums:
        row = rows[pid]
        row.measured = int(measured or 0)
        row.stunting_pct = _pct(int(stunted_n or 0), int(haz_n or 0))
        row.wasting_pct = _pct(int(wasted_n or 0), int(whz_n or 0))
        row.ds_pct = _pct(int(weighed or 0), row.registered)
        row.two_t, row.bgm = int(two_t or 0), int(bgm or 0)
    for row in rows.values():
        if row.ds_pct is None and row.registered:
            row.ds_pct = 0.0
    _early_warning(area, month, rows)
    _quality(scope, area, month, rows)
    if len(rows) <= OVERDUE_MAX_POSYANDU:
        _overdue(scope, month, rows)
    return list(rows.values())


def _years_before(day, years: int):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _early_warning(area, month, rows) -> None:
    from ..early_warning.operations import count_by_posyandu
    for pid, n in count_by_posyandu(area, month).items():
        if pid in rows:
            rows[pid].early_warning = n


def _quality(scope, area, month, rows) -> None:
    from ..quality.operations import quality_report
    report = quality_report(scope, {"level": area.level, "code": area.code, "month": str(month)},
                            groupings=("posyandu",))
    for group in report.groups["posyandu"]:
        pid = group.key.get("id")
        if pid in rows:
            rows[pid].quality_class = group.quality.quality


def _overdue(scope, month, rows) -> None:
    from ..immunizations.operations import overdue_list
    for pid, row in rows.items():
        count, cursor = 0, None
        while True:
            items, cursor = overdue_list(scope, posyandu_id=pid, on=month.last_day, cursor=cursor, limit=500)
            count += sum(len(item["doses"]) for item in items)
            if not cursor:
                break
        row.overdue_doses = count
