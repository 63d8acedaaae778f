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
    return sa.func.sum(sa.case((condition, 1), else_=0))


def skdn_counts(area: Area, month: Month) -> dict:
    """``{(posyandu_id, sex): {S, K, D, N, T, O, B, BGM, 2T, weighed_implausible}}``: one query
    (target children left-joined to their record of the month)."""
    target = month_children(area, month, name="skdn_target")
    record = sa.and_(R.c.child_id == target.c.child_id, R.c.month == month.index)
    status = R.c.trend_status
    # coalesce: a NULL status must make "not D" true (three-valued logic), not NULL
    d = sa.and_(R.c.weighed.is_(True), sa.func.coalesce(status, "").in_(("N", "T", "O", "B")))
    query = (sa.select(
        target.c.posyandu_id, target.c.sex, sa.func.count().label("S"),
        _count(sa.or_(Child.has_kia_book.is_(True), R.c.has_kia_book.is_(True), d)).label("K"),
        _count(d).label("D"),
        *(_count(status == letter).label(letter) for letter in ("N", "T", "O", "B")),
        _count(sa.and_(d, R.c.is_bgm.is_(True))).label("BGM"),
        _count(sa.and_(d, R.c.is_2t.is_(True))).label("2T"),
        _count(sa.and_(R.c.weighed.is_(True), sa.not_(d))).label("weighed_implausible"))
        .select_from(target.join(Child, Child.id == target.c.child_id).outerjoin(R, record))
        .group_by(target.c.posyandu_id, target.c.sex))
    out = {}
    for row in db.session.execute(query).mappings():
        out[(row["posyandu_id"], int(row["sex"]))] = {k: int(row[k] or 0) for k in SUM_KEYS}
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
