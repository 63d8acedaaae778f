"""The report summary: one row per child per month, maintained at write time.

``report_child_month`` holds, for every child and calendar month in which she has a live
measurement, the month's *record* (the last live weighing of the month by date then entry time;
a month with measurements but no weight uses its last measurement; see reports/summary.py) with what the
monthly reports count: where she belonged at the month's end, sex, age, z-scores, WHO flags,
categories, oedema, LiLA, N/T/O/B, 2T, BGM, vitamin A (any visit of the month), exclusive
breastfeeding, KIA book. Reports read a month of an area with one index range
(``ix_report_child_month_month_posyandu``) instead of ranking millions of measurements.

Kept right by :func:`posyandu.reports.summary.refresh_child_months`, called in the same
transaction by every write that can change a row (docs/reports.md lists them); ``flask reports
rebuild-summary`` rebuilds it from scratch.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class ReportChildMonth(db.Model):
    __tablename__ = "report_child_month"

    child_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), primary_key=True)
    #: year * 12 + month - 1 (``areas.Month.index``).
    month: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    #: The child's posyandu on the month's last day (the reports' placement rule, reports/cohort.py).
    posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"))
    sex: Mapped[int] = mapped_column(sa.SmallInteger)
    birth_date: Mapped[date] = mapped_column(sa.Date)
    measurement_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    measured_on: Mapped[date] = mapped_column(sa.Date)
    age_days: Mapped[int | None] = mapped_column(sa.Integer)
    age_months: Mapped[int | None] = mapped_column(sa.SmallInteger)
    #: The record has a weight (the child was weighed this month: SKDN's D).
    weighed: Mapped[bool] = mapped_column(sa.Boolean)
    oedema: Mapped[bool | None] = mapped_column(sa.Boolean)
    arm_circumference_cm: Mapped[float | None] = mapped_column(sa.Float)
    zlen: Mapped[float | None] = mapped_column(sa.Float)
    flen: Mapped[bool | None] = mapped_column(sa.Boolean)
    zwei: Mapped[float | None] = mapped_column(sa.Float)
    fwei: Mapped[bool | None] = mapped_column(sa.Boolean)
    zwfl: Mapped[float | None] = mapped_column(sa.Float)
    fwfl: Mapped[bool | None] = mapped_column(sa.Boolean)
    zbmi: Mapped[float | None] = mapped_column(sa.Float)
    fbmi: Mapped[bool | None] = mapped_column(sa.Boolean)
    cat_bbu: Mapped[str | None] = mapped_column(sa.String(40))
    cat_tbu: Mapped[str | None] = mapped_column(sa.String(40))
    cat_bbtb: Mapped[str | None] = mapped_column(sa.String(40))
    cat_imtu: Mapped[str | None] = mapped_column(sa.String(40))
    cat_lila: Mapped[str | None] = mapped_column(sa.String(40))
    weight_implausible: Mapped[bool | None] = mapped_column(sa.Boolean)
    length_implausible: Mapped[bool | None] = mapped_column(sa.Boolean)
    trend_status: Mapped[str | None] = mapped_column(sa.String(2))
    is_2t: Mapped[bool | None] = mapped_column(sa.Boolean)
    is_bgm: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: Vitamin A recorded on any live measurement of the month.
    vitamin_a: Mapped[bool] = mapped_column(sa.Boolean)
    exclusive_breastfeeding: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: A KIA book / KMS seen on any measurement of the month or on the child's record.
    has_kia_book: Mapped[bool] = mapped_column(sa.Boolean)
    #: The record's entry time (its ``created_at``): with ``weighed``, ``measured_on`` and
    #: ``measurement_id`` it ranks the record against a new visit (reports/summary.py).
    record_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # INCLUDE (PostgreSQL, migrations 0007 and 0009): a month of an area is one index-only
        # range scan (child_id: SKDN joins the target children to their record)
        sa.Index("ix_report_child_month_month_posyandu", "month", "posyandu_id",
                 postgresql_include=["child_id", "sex", "age_months", "age_days", "weighed", "oedema", "zlen",
                                     "flen", "zwei", "fwei", "zwfl", "fwfl", "fbmi", "weight_implausible",
                                     "length_implausible", "cat_bbu", "cat_tbu", "cat_bbtb", "cat_imtu", "cat_lila",
                                     "trend_status", "is_2t", "is_bgm", "vitamin_a", "exclusive_breastfeeding",
                                     "has_kia_book"]),
    )


#: The nutrition report's additive counts stored per posyandu and month (migration 0012 made
#: one column each; ``reports.month_cache`` is bypassed if ``nutrition.count_keys()`` differs,
#: e.g. after the growth rules gained a category, until a migration adds the column).
CACHED_KEYS = (
    "target", "measured", "n_ha", "ha_2", "ha_3", "n_wa", "wa_2", "wa_3", "n_wh", "wh_2", "wh_3", "wh_p2", "excluded",
    "flag_ha", "flag_wa", "flag_wh", "flag_bmi", "implausible_weight", "implausible_length", "oedema",
    "cat_bbu_severely_underweight", "cat_bbu_underweight", "cat_bbu_normal", "cat_bbu_risk_of_overweight",
    "cat_tbu_severely_stunted", "cat_tbu_stunted", "cat_tbu_normal", "cat_tbu_tall", "cat_bbtb_severely_wasted",
    "cat_bbtb_wasted", "cat_bbtb_normal", "cat_bbtb_possible_risk_of_overweight", "cat_bbtb_overweight",
    "cat_bbtb_obese", "cat_imtu_severely_wasted", "cat_imtu_wasted", "cat_imtu_normal",
    "cat_imtu_possible_risk_of_overweight", "cat_imtu_overweight", "cat_imtu_obese", "cat_lila_severe_acute",
    "cat_lila_moderate_acute", "cat_lila_normal")

#: Per month, posyandu, sex and age group: the nutrition report's counts (reports/month_cache.py).
report_month_counts = sa.Table(
    "report_month_counts", db.metadata,
    sa.Column("month", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("posyandu_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sex", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("age_group", sa.String(8), primary_key=True),
    *(sa.Column(key, sa.Integer, nullable=False, server_default="0") for key in CACHED_KEYS))

#: Per month and posyandu: the snapshot (``pg_current_snapshot()`` as text) its counts were taken after.
report_month_cached = sa.Table(
    "report_month_cached", db.metadata,
    sa.Column("month", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("posyandu_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("snapshot", sa.Text, nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=False))

#: Written by triggers (migration 0012): a posyandu's month (NULL: every month) changed in
#: transaction ``txid`` (``pg_current_xact_id()`` as text).
report_dirty = sa.Table(
    "report_dirty", db.metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("posyandu_id", sa.Integer, nullable=False),
    sa.Column("month", sa.Integer, nullable=True),
    sa.Column("txid", sa.Text, nullable=False),
    sa.Index("ix_report_dirty_posyandu_month", "posyandu_id", "month"))
