"""Trend: the headline indicators of an area for the last N months, as a series.

* ``trend_document(scope, area, month, options) -> ReportDocument`` (report kind ``trend``,
  option ``months``: 1-60, default 12). One table ``trend``, oldest month first, a row per
  month: target children (S), children measured, coverage, the six prevalences of the
  nutrition-status report with WHO anthro's 95% CI (each month is its own data set: N = the
  month's children measured), and SKDN's D, D/S, N/D, BGM and 2T.

The growth charts' trend (``charts.operations.trend_rows``) draws this table (keys ``month``,
``measured``, ``{stunting,wasting,underweight}_{pct,ci_low,ci_high,n}``); it passes the internal
option ``skdn=False`` (no S/SKDN queries: one GROUP BY in all).

Cost: two queries in all: the prevalence counts of every month (one GROUP BY over the summary)
and S/SKDN of every month (``skdn.skdn_totals_by_month``: the target children of each month
placed where they were that month, per-child lookups done once).
"""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import InvalidInput
from ..extensions import db
from .areas import Area, Month
from .cohort import report_settings
from .document import Column, ReportDocument, Table
from .models import ReportChildMonth
from .nutrition import INDICATORS, count_keys, make_derive, record_columns, record_rows
from .registry import register
from .skdn import SUM_KEYS as SKDN_KEYS
from .skdn import derive as skdn_derive
from .skdn import skdn_totals_by_month

S = ReportChildMonth.__table__
DEFAULT_MONTHS = 12
MAX_MONTHS = 60  # (also in the messages of parse_months)


def parse_months(value) -> int:
    if value in (None, ""):
        return DEFAULT_MONTHS
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if not 1 <= n <= MAX_MONTHS:
        raise InvalidInput("months must be a whole number from 1 to 60.",
                           errors={"months": ["Must be a whole number from 1 to 60."]})
    return n


def trend_rows(area: Area, month: Month, months: int, *, with_skdn: bool = True) -> list[dict]:
    """The series (see module doc); ``with_skdn=False`` leaves out S, coverage and SKDN (the
    per-month target queries), for callers that only draw prevalences (the trend chart)."""
    first = month.shift(-(months - 1))
    # the months as a list and the posyandu as their ids: PostgreSQL then reads only the
    # area's entries of each month from the (month, posyandu_id) index, not the whole
    # kabupaten's months (a puskesmas' 12 months: 560 ms -> see docs/reports.md)
    posyandu_ids = db.session.execute(area.posyandu_ids()).scalars().all()
    where = sa.and_(S.c.month.in_([first.shift(k).index for k in range(months)]), S.c.posyandu_id.in_(posyandu_ids),
                    S.c.age_months >= 0, S.c.age_months <= 59)
    records = record_rows(where)
    query = sa.select(records.c.month, *record_columns(records)).group_by(records.c.month)
    keys = count_keys()
    by_month = {int(r["month"]): r for r in db.session.execute(query).mappings()}
    skdn_by_month = skdn_totals_by_month(area, first, month) if with_skdn else {}
    out = []
    for k in range(months):
        m = first.shift(k)
        counts = {key: 0 for key in keys}
        counts.update({key: int(v or 0) for key, v in (by_month.get(m.index) or {}).items() if key != "month"})
        skdn = dict(skdn_by_month.get(m.index) or dict.fromkeys(SKDN_KEYS, 0))
        skdn_derive(skdn)
        counts["target"] = skdn["S"] if with_skdn else None
        make_derive(counts["measured"])(counts)
        row = {"month": str(m), "target": counts["target"], "measured": counts["measured"],
               "coverage_pct": counts["coverage_pct"], "excluded": counts["excluded"]}
        for key, *_ in INDICATORS:
            for part in ("n", "cases", "pct", "ci_low", "ci_high"):
                row[f"{key}_{part}"] = counts[f"{key}_{part}"]
        if with_skdn:
            row.update({"D": skdn["D"], "D_S": skdn["D_S"], "N_D": skdn["N_D"], "BGM": skdn["BGM"], "2T": skdn["2T"]})
        else:
            row.update({"coverage_pct": None, **dict.fromkeys(("D", "D_S", "N_D", "BGM", "2T"))})
        out.append(row)
    return out


def columns() -> list[Column]:
    cols = [Column("month", "Bulan", "Month"), Column("target", "Sasaran balita (S)", "Target children (S)", "int"),
            Column("measured", "Diukur", "Measured", "int"),
            Column("coverage_pct", "Cakupan pengukuran (%)", "Measurement coverage (%)", "pct"),
            Column("excluded", "Dikeluarkan (tidak masuk akal)", "Excluded (implausible)", "int")]
    for key, label_id, label_en, *_ in INDICATORS:
        cols += [Column(f"{key}_n", f"{label_id}: jumlah dinilai", f"{label_en}: assessed", "int"),
                 Column(f"{key}_cases", f"{label_id}: kasus", f"{label_en}: cases", "int"),
                 Column(f"{key}_pct", f"{label_id} (%)", f"{label_en} (%)", "pct", 2),
                 Column(f"{key}_ci_low", f"{label_id}: IK 95% bawah", f"{label_en}: 95% CI low", "pct", 2),
                 Column(f"{key}_ci_high", f"{label_id}: IK 95% atas", f"{label_en}: 95% CI high", "pct", 2)]
    cols += [Column("D", "D: ditimbang", "D: weighed", "int"),
             Column("D_S", "D/S (%)", "D/S (%)", "pct"), Column("N_D", "N/D (%)", "N/D (%)", "pct"),
             Column("BGM", "BGM", "BGM", "int"), Column("2T", "2T", "2T", "int")]
    return cols


@register("trend", title_id="Tren indikator gizi", title_en="Nutrition indicators over time", options=("months",),
          description_en="Coverage, the prevalence of stunting, wasting, underweight and overweight (95% CI) and "
                         "SKDN's D/S and N/D for the last N months (months=1-60, default 12).")
def trend_document(scope, area: Area, month: Month, options: dict) -> ReportDocument:
    months = parse_months(options.get("months"))
    report_settings()
    first = month.shift(-(months - 1))
    # ``skdn=False``: an internal option (not in the registry's list) for the trend chart
    rows = trend_rows(area, month, months, with_skdn=options.get("skdn", True) is not False)
    return ReportDocument(
        kind="trend", title_id="Tren indikator gizi", title_en="Nutrition indicators over time", area=area.as_dict(),
        period=f"{first}..{month}",
        tables=[Table("trend", "Tren", "Trend", columns(), rows,
                      notes_id=["Satu baris per bulan (terlama dahulu). Prevalensi dan IK 95% menurut WHO anthro "
                                "dengan N = anak diukur bulan itu. Data administratif by-name, tidak dapat "
                                "dibandingkan dengan survei (SSGI/SKI)."],
                      notes_en=["One row per month (oldest first). Prevalence and 95% CI as WHO anthro with N = "
                                "the month's children measured. Administrative by-name data, not comparable to "
                                "survey estimates (SSGI/SKI)."])])
