"""Anthropometric measurements with their assessment computed at write time.

The growth engine (``posyandu.core.growth``) fills the assessment columns when a measurement
is written, and ``flask growth recompute`` refills them in batches when a standard or rule set
changes; ``standard_version`` records which rules produced them. Reports aggregate these stored
columns in SQL and never recompute z-scores per row.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import JSONType, UTCDateTime, utcnow
from ..extensions import db


class Measurement(db.Model):
    __tablename__ = "measurement"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    #: Indexed by ix_measurement_child_date and ix_measurement_posyandu_date (leading columns).
    child_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("child.id"))
    #: Where it was measured (the child's posyandu at the time).
    posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"))
    measured_on: Mapped[date] = mapped_column(sa.Date)

    # --- as entered by the cadre (raw values are never altered) ---
    weight_kg: Mapped[float | None] = mapped_column(sa.Float)
    length_cm: Mapped[float | None] = mapped_column(sa.Float)
    #: How length/height was measured: 'lying' (telentang) or 'standing' (berdiri).
    measure_method: Mapped[str | None] = mapped_column(sa.String(8))
    head_circumference_cm: Mapped[float | None] = mapped_column(sa.Float)
    arm_circumference_cm: Mapped[float | None] = mapped_column(sa.Float)
    oedema: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    vitamin_a: Mapped[bool | None] = mapped_column(sa.Boolean)
    exclusive_breastfeeding: Mapped[bool | None] = mapped_column(sa.Boolean)
    has_kia_book: Mapped[bool | None] = mapped_column(sa.Boolean)
    notes: Mapped[str | None] = mapped_column(sa.String(500))
    #: The cadre weighed/measured again and the value stands: a value outside the previous-visit
    #: checks then counts (never one flagged by WHO). See assessment.py.
    confirm_implausible: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())

    # --- computed by the growth engine (anthro column names) ---
    age_days: Mapped[int | None] = mapped_column(sa.Integer)
    age_months: Mapped[int | None] = mapped_column(sa.SmallInteger)
    clenhei: Mapped[float | None] = mapped_column(sa.Float)
    cbmi: Mapped[float | None] = mapped_column(sa.Float)
    zlen: Mapped[float | None] = mapped_column(sa.Float)
    flen: Mapped[bool | None] = mapped_column(sa.Boolean)
    zwei: Mapped[float | None] = mapped_column(sa.Float)
    fwei: Mapped[bool | None] = mapped_column(sa.Boolean)
    zwfl: Mapped[float | None] = mapped_column(sa.Float)
    fwfl: Mapped[bool | None] = mapped_column(sa.Boolean)
    zbmi: Mapped[float | None] = mapped_column(sa.Float)
    fbmi: Mapped[bool | None] = mapped_column(sa.Boolean)
    zhc: Mapped[float | None] = mapped_column(sa.Float)
    fhc: Mapped[bool | None] = mapped_column(sa.Boolean)
    zac: Mapped[float | None] = mapped_column(sa.Float)
    fac: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: Indonesian categories (PMK 2/2020) as stable codes; labels come from the rule set.
    cat_bbu: Mapped[str | None] = mapped_column(sa.String(40))
    cat_tbu: Mapped[str | None] = mapped_column(sa.String(40))
    cat_bbtb: Mapped[str | None] = mapped_column(sa.String(40))
    cat_imtu: Mapped[str | None] = mapped_column(sa.String(40))
    cat_lila: Mapped[str | None] = mapped_column(sa.String(40))
    cat_lk: Mapped[str | None] = mapped_column(sa.String(40))
    is_bgm: Mapped[bool | None] = mapped_column(sa.Boolean)
    above_orange: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: The weight / length is implausible (WHO flag, or the previous-visit check against the last
    #: usable value, unconfirmed): kept as entered, to be measured again, and it decides nothing
    #: (no N/T/O/B, 2T, BGM, orange line, or category of an index using it). Filter reports on it.
    weight_implausible: Mapped[bool | None] = mapped_column(sa.Boolean)
    length_implausible: Mapped[bool | None] = mapped_column(sa.Boolean)
    #: Monthly weighing status N/T/O/B (growth-velocity-id.md), 2T, gain vs KBM.
    trend_status: Mapped[str | None] = mapped_column(sa.String(2))
    is_2t: Mapped[bool | None] = mapped_column(sa.Boolean)
    gain_g: Mapped[int | None] = mapped_column(sa.Integer)
    kbm_g: Mapped[int | None] = mapped_column(sa.Integer)
    warnings: Mapped[list | None] = mapped_column(JSONType)
    standard_version: Mapped[str | None] = mapped_column(sa.String(64))
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # --- bookkeeping ---
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    child = relationship("Child")

    __table_args__ = (
        sa.CheckConstraint("measure_method IN ('lying','standing')", name="measure_method"),
        sa.CheckConstraint("weight_kg IS NULL OR weight_kg > 0", name="weight_positive"),
        sa.CheckConstraint("length_cm IS NULL OR length_cm > 0", name="length_positive"),
        sa.Index("ix_measurement_child_date", "child_id", "measured_on"),
        sa.Index("ix_measurement_posyandu_date", "posyandu_id", "measured_on"),
    )
