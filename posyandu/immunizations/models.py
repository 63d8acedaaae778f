"""Immunization doses given to a child, and per-kabupaten programme settings.

A dose is recorded offline on the phone, so the primary key is the client's UUID. A dose given
too early (below the minimum age, interval too short, after the maximum age) is STORED as given
and marked ``is_valid = False`` with ``invalid_reason`` (the schedule engine's reason code); the
validity of every dose of the child is recomputed together whenever one of them changes.

``dose_code`` is the schedule CSV code (``DPTHBHIB1``); ``vaccine_code`` is its series
(``DPT-HB-Hib``), kept for the sync payload and reports. A child can have one live record per
dose code (partial unique index; soft-deleted rows do not count).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import JSONType, UTCDateTime, utcnow
from ..extensions import db

PLACES = ("posyandu", "puskesmas", "other_facility")


class Immunization(db.Model):
    __tablename__ = "immunization"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("child.id"), index=True)
    #: Where the child was registered when the dose was recorded (moves with the child).
    posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"), index=True)
    #: Schedule CSV code, e.g. ``DPTHBHIB1``.
    dose_code: Mapped[str] = mapped_column(sa.String(16))
    #: The dose's series, e.g. ``DPT-HB-Hib`` (derived from ``dose_code``).
    vaccine_code: Mapped[str | None] = mapped_column(sa.String(16))
    given_on: Mapped[date] = mapped_column(sa.Date)
    lot_number: Mapped[str | None] = mapped_column(sa.String(40))
    place: Mapped[str] = mapped_column(sa.String(16), default="posyandu")
    place_name: Mapped[str | None] = mapped_column(sa.String(120))
    given_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    given_by_name: Mapped[str | None] = mapped_column(sa.String(120))

    # --- computed from the schedule engine over all of the child's doses ---
    is_valid: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    invalid_reason: Mapped[str | None] = mapped_column(sa.String(32))
    warnings: Mapped[list | None] = mapped_column(JSONType)

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
        sa.CheckConstraint("place IN ('posyandu','puskesmas','other_facility')", name="place"),
        sa.Index("uq_immunization_child_dose_live", "child_id", "dose_code", unique=True,
                 sqlite_where=sa.text("deleted_at IS NULL"), postgresql_where=sa.text("deleted_at IS NULL")),
        sa.Index("ix_immunization_posyandu_dose", "posyandu_id", "dose_code"),
    )


class ImmunizationRegionSetting(db.Model):
    """Programme settings of one kabupaten/kota for the schedule engine (``RegionSettings``).

    A kabupaten without a row uses the national defaults of the schedule data file.
    ``cohort_born_from`` maps a cohort key (``PCV``, ``RV``, ``IPV2``, ``JE``) to the first
    eligible birth date (ISO string) or null for "no cohort restriction"; keys left out fall
    back to the national default.
    """

    __tablename__ = "immunization_region_setting"

    kabupaten_code: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    je_programme: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    cohort_born_from: Mapped[dict | None] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(sa.String(255))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
