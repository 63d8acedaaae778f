"""SKDN of an area for a month (reporting-id.md §1), per posyandu rolled up.

* ``skdn_counts(area, month) -> {(posyandu_id, sex): {S, K, D, N, T, O, B, BGM, 2T, ...}}``
* ``skdn_document(scope, area, month, options) -> ReportDocument``  (report kind ``skdn``,
  option ``by``): tables ``skdn`` (per area of the level below; posyandu rows with desa and
  puskesmas subtotals, and the total) and ``by_sex``.

Definitions (docs/reports.md):

- **S**: the target children of the month (``cohort.month_children``: registered, 0-59 months,
  placed at their posyandu of the month's last day).
- **K**: children of S with a KMS / Buku KIA: recorded on the child, on a visit of the month, or
  weighed this month (a weighing is written on the KMS) -- so D ≤ K ≤ S by construction.
- **D**: children of S weighed this month whose weighing received a status N, T, O or B (the
  month's record, reports/summary.py). A weighing whose weight is implausible decides nothing
  (growth-velocity rules) and is counted apart (``weighed_implausible``), not in D, so
  D = N + T + O + B holds exactly.
- **N, T, O, B, 2T, BGM** from the record of the month (the growth engine's N/T/O/B, 2T, and
  BGM = weight-for-age below the KMS red line).

Ratios in percent: K/S, D/S, N/D, N/S, D/K, N/(N+T) (success among children weighed in both
months), BGM/D; and both S − D and K − D (balita not present).
"""
from __future__ import annotations

import sqlalchemy as sa

from ..children.models import Child
from ..extensions import db
from .areas import Area, Month
from .cohort import (breakdown_columns, breakdown_rows, group_keys, groups, month_children, report_settings,
                     resolve_by, roll_up, roll_up_by)
from .document import ROW_LEVEL, Column, ReportDocument, Table
from .models import ReportChildMonth
from .registry import register
from .subtotals import percent, posyandu_directory

R = ReportChildMonth.__table__
SUM_KEYS = ("S", "K", "D", "N", "T", "O", "B", "BGM", "2T", "weighed_implausible")


def _count(condition):
    """``count(*) FILTER (WHERE condition)``: no CASE per row and aggregate."""
    return sa.func.count().filter(condition)


def skdn_counts(area: Area, month: Month) -> dict:
    """``{(posyandu_id, sex): {S, K, D, N, T, O, B, BGM, 2T, weighed_implausible}}``: one query
    (target children left-joined to their record of the month)."""
    target = month_children(area, month, name="skdn_target", columns=(Child.has_kia_book,))
    record = sa.and_(R.c.child_id == target.c.child_id, R.c.month == month.index)
    status = R.c.trend_status
    # coalesce: a NULL status must make "not D" true (three-valued logic), not NULL
    d = sa.and_(R.c.weighed.is_(True), sa.func.coalesce(status, "").in_(("N", "T", "O", "B")))
    query = (sa.select(
        target.c.posyandu_id, target.c.sex, sa.func.count().label("S"),
        _count(sa.or_(target.c.has_kia_book.is_(True), R.c.has_kia_book.is_(True), d)).label("K"),
        _count(d).label("D"),
        *(_count(status == letter).label(letter) for letter in ("N", "T", "O", "B")),
        _count(sa.and_(d, R.c.is_bgm.is_(True))).label("BGM"),
        _count(sa.and_(d, R.c.is_2t.is_(True))).label("2T"),
        _count(sa.and_(R.c.weighed.is_(True), sa.not_(d))).label("weighed_implausible"))
        .select_from(target.outerjoin(R, record))
        .group_by(target.c.posyandu_id, target.c.sex))
    out = {}
    for row in db.session.execute(query).mappings():
        out[(row["posyandu_id"], int(row["sex"]))] = {k: int(row[k] or 0) for k in SUM_KEYS}
    return out


def skdn_totals_by_month(area: Area, first: Month, last: Month) -> dict[int, dict]:
    """``{month index: {S, K, D, N, T, O, B, BGM, 2T, weighed_implausible}}`` for the area's
    totals from ``first`` to ``last``, in ONE query (the trend): the same definitions as
    :func:`skdn_counts` (``cohort.month_children`` month by month), with the per-child lookups
    done once per child instead of once per child and month: her first live measurement (is she
    registered by the month's end?) and whether she was ever handed over (only then is her
    posyandu of each month's end looked up)."""
    import datetime as _dt
    from ..children.models import ChildTransfer
    from ..db import UTCDateTime
    from ..measurements.models import Measurement as M
    from .cohort import NEVER_COUNTED, UNDER_FIVE_MONTHS, latest_birth_for_age

    months = [first.shift(k) for k in range(last.index - first.index + 1)]
    rows = []
    for m in months:
        rows.append(sa.select(
            sa.literal(m.index, sa.Integer).label("idx"), sa.literal(m.first_day, sa.Date).label("start"),
            sa.literal(m.last_day, sa.Date).label("end"),
            sa.literal(latest_birth_for_age(m.first_day, UNDER_FIVE_MONTHS), sa.Date).label("lower"),
            sa.literal(_dt.datetime.combine(m.shift(1).first_day, _dt.time(0), tzinfo=_dt.timezone.utc),
                       UTCDateTime()).label("next_ts")))
    month_table = sa.union_all(*rows).subquery("months") if len(rows) > 1 else rows[0].subquery("months")
    first_measured = (sa.select(sa.func.min(M.measured_on)).where(M.child_id == Child.id, M.deleted_at.is_(None))
                      .correlate(Child).scalar_subquery())
    moved_ever = sa.exists().where(ChildTransfer.child_id == Child.id).correlate(Child)
    kids = (sa.select(Child.id.label("child_id"), Child.posyandu_id, Child.birth_date, Child.has_kia_book,
                      Child.created_at, Child.status, Child.closed_on, first_measured.label("first_measured"),
                      moved_ever.label("moved"))
            .where(Child.birth_date <= months[-1].last_day,
                   Child.birth_date > latest_birth_for_age(months[0].first_day, UNDER_FIVE_MONTHS),
                   Child.merged_into_id.is_(None), sa.func.coalesce(Child.closed_reason, "").not_in(NEVER_COUNTED),
                   # a child placed in the area in some month is there now or was handed over
                   # (without this, a puskesmas' trend looked up every child of the kabupaten)
                   sa.or_(Child.posyandu_id.in_(area.posyandu_ids()),
                          Child.id.in_(sa.select(ChildTransfer.child_id))))
            # MATERIALIZED: the per-child lookups run once per child, not once per child and month
            .cte("kids").prefix_with("MATERIALIZED"))
    T = ChildTransfer.__table__
    moved_from = (sa.select(T.c.from_posyandu_id)
                  .where(T.c.child_id == kids.c.child_id, T.c.moved_on > month_table.c.end)
                  .order_by(T.c.moved_on, T.c.id).limit(1).correlate(kids, month_table).scalar_subquery())
    posyandu_then = sa.case((kids.c.moved.is_(True), sa.func.coalesce(moved_from, kids.c.posyandu_id)),
                            else_=kids.c.posyandu_id)
    status = R.c.trend_status
    d = sa.and_(R.c.weighed.is_(True), sa.func.coalesce(status, "").in_(("N", "T", "O", "B")))
    query = (sa.select(
        month_table.c.idx, sa.func.count().label("S"),
        _count(sa.or_(kids.c.has_kia_book.is_(True), R.c.has_kia_book.is_(True), d)).label("K"),
        _count(d).label("D"),
        *(_count(status == letter).label(letter) for letter in ("N", "T", "O", "B")),
        _count(sa.and_(d, R.c.is_bgm.is_(True))).label("BGM"),
        _count(sa.and_(d, R.c.is_2t.is_(True))).label("2T"),
        _count(sa.and_(R.c.weighed.is_(True), sa.not_(d))).label("weighed_implausible"))
        .select_from(kids.join(month_table, sa.and_(kids.c.birth_date <= month_table.c.end,
                                                    kids.c.birth_date > month_table.c.lower))
                     .outerjoin(R, sa.and_(R.c.child_id == kids.c.child_id, R.c.month == month_table.c.idx)))
        .where(sa.or_(kids.c.status == "active", kids.c.closed_on.is_(None), kids.c.closed_on >= month_table.c.start),
               sa.or_(kids.c.created_at < month_table.c.next_ts, kids.c.first_measured <= month_table.c.end),
               posyandu_then.in_(area.posyandu_ids()))
        .group_by(month_table.c.idx))
    out = {m.index: dict.fromkeys(SUM_KEYS, 0) for m in months}
    for row in db.session.execute(query).mappings():
        out[int(row["idx"])] = {k: int(row[k] or 0) for k in SUM_KEYS}
    return out


def derive(row: dict) -> None:
    """Ratios (percent, 1 decimal) and differences from the counts."""
    s, k, d, n, t = (row.get(x) or 0 for x in ("S", "K", "D", "N", "T"))
    row["K_S"] = percent(k, s)
    row["D_S"] = percent(d, s)
    row["N_D"] = percent(n, d)
    row["N_S"] = percent(n, s)
    row["D_K"] = percent(d, k)
    row["N_NT"] = percent(n, n + t)
    row["BGM_D"] = percent(row.get("BGM") or 0, d)
    row["S_minus_D"] = s - d
    row["K_minus_D"] = k - d


def columns() -> list[Column]:
    return [
        Column("S", "S: balita sasaran", "S: target children", "int"),
        Column("K", "K: punya KMS/Buku KIA", "K: with KMS/KIA book", "int"),
        Column("D", "D: ditimbang", "D: weighed", "int"),
        Column("N", "N: naik", "N: gained", "int"),
        Column("T", "T: tidak naik", "T: did not gain", "int"),
        Column("O", "O: tidak ditimbang bulan lalu", "O: not weighed last month", "int"),
        Column("B", "B: baru pertama ditimbang", "B: weighed for the first time", "int"),
        Column("BGM", "BGM: bawah garis merah", "BGM: below the red line", "int"),
        Column("2T", "2T: dua kali tidak naik", "2T: did not gain twice", "int"),
        Column("weighed_implausible", "Ditimbang, berat tidak masuk akal (tidak masuk D)",
               "Weighed, implausible weight (not in D)", "int"),
        Column("K_S", "K/S: cakupan program (%)", "K/S: programme reach (%)", "pct"),
        Column("D_S", "D/S: partisipasi masyarakat (%)", "D/S: community participation (%)", "pct"),
        Column("N_D", "N/D: keberhasilan penimbangan (%)", "N/D: success among weighed (%)", "pct"),
        Column("N_S", "N/S: keberhasilan program (%)", "N/S: programme success (%)", "pct"),
        Column("D_K", "D/K: kehadiran pemegang KMS (%)", "D/K: attendance of KMS holders (%)", "pct"),
        Column("N_NT", "N/(N+T): naik di antara yang ditimbang 2 bulan (%)",
               "N/(N+T): gained among those weighed both months (%)", "pct"),
        Column("BGM_D", "BGM/D (%)", "BGM/D (%)", "pct"),
        Column("S_minus_D", "S − D: balita tidak hadir", "S − D: children not weighed", "int"),
        Column("K_minus_D", "K − D: pemegang KMS tidak hadir", "K − D: KMS holders not weighed", "int"),
    ]


NOTES_ID = ["S: balita 0-59 bulan terdaftar di akhir bulan; K: S yang punya KMS/Buku KIA atau ditimbang bulan ini; "
            "D: ditimbang bulan ini dengan status N/T/O/B (D = N + T + O + B). Data administratif by-name."]
NOTES_EN = ["S: children 0-59 months registered at the month's end; K: S with a KMS/KIA book or weighed this month; "
            "D: weighed this month with a status N/T/O/B (D = N + T + O + B). Administrative by-name data."]


@register("skdn", title_id="Laporan SKDN", title_en="SKDN report", options=("by",),
          description_en="S, K, D, N, T, O, B, BGM and 2T per posyandu rolled up, with K/S, D/S, N/D, N/S, BGM/D, "
                         "S - D and K - D.")
def skdn_document(scope, area: Area, month: Month, options: dict) -> ReportDocument:
    by = resolve_by(area, options.get("by"))
    report_settings()
    directory = posyandu_directory(area)
    group_list = groups(area, by, directory)
    counts = skdn_counts(area, month)
    by_group = roll_up(counts, group_keys(directory, by), SUM_KEYS)
    by_sex = roll_up_by(counts, 1, SUM_KEYS)
    sex_rows = []
    total = dict.fromkeys(SUM_KEYS, 0)
    for sex, letter in ((1, "L"), (2, "P")):
        row = {"sex": letter, **dict.fromkeys(SUM_KEYS, 0), **by_sex.get(sex, {})}
        for k in SUM_KEYS:
            total[k] += row[k]
        derive(row)
        row[ROW_LEVEL] = "sex"
        sex_rows.append(row)
    derive(total)
    total[ROW_LEVEL] = "total"
    sex_rows.append(total)
    tables = [
        Table("skdn", "SKDN", "SKDN", breakdown_columns(by) + columns(),
              list(breakdown_rows(area, by, group_list, by_group, sum_keys=SUM_KEYS, derive=derive)),
              notes_id=NOTES_ID, notes_en=NOTES_EN),
        Table("by_sex", "Menurut jenis kelamin", "By sex",
              [Column("sex", "Jenis kelamin (L/P)", "Sex (L = male, P = female)")] + columns(), sex_rows),
    ]
    return ReportDocument(kind="skdn", title_id="Laporan SKDN", title_en="SKDN report", area=area.as_dict(),
                          period=str(month), tables=tables)
