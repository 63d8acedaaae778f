"""Kemendagri region hierarchy, puskesmas and posyandu.

Regions live in one self-referencing table keyed by the undotted Kemendagri code
(2 digits provinsi, 4 kabupaten/kota, 6 kecamatan, 10 desa/kelurahan); BPS codes are kept
apart because they differ (reporting-id.md §5).
"""
from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db

REGION_LEVELS = ("provinsi", "kabupaten", "kecamatan", "desa")
LEVEL_BY_CODE_LENGTH = {2: "provinsi", 4: "kabupaten", 6: "kecamatan", 10: "desa"}


class Region(db.Model):
    __tablename__ = "region"

    code: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[str] = mapped_column(sa.String(120))
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"), index=True)
    bps_code: Mapped[str | None] = mapped_column(sa.String(12))

    __table_args__ = (sa.CheckConstraint(
        "level IN ('provinsi','kabupaten','kecamatan','desa')", name="level"),)

    @property
    def dotted_code(self) -> str:
        c = self.code
        parts = [c[0:2], c[2:4], c[4:6], c[6:10]]
        return ".".join(p for p in parts if p)


class Puskesmas(db.Model):
    __tablename__ = "puskesmas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kecamatan_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    kabupaten_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)

    desa_links: Mapped[list["PuskesmasDesa"]] = relationship(back_populates="puskesmas",
                                                             cascade="all, delete-orphan")


class PuskesmasDesa(db.Model):
    """A puskesmas's working area (wilayah kerja), with validity dates because boundaries move."""

    __tablename__ = "puskesmas_desa"

    id: Mapped[int] = mapped_column(primary_key=True)
    puskesmas_id: Mapped[int] = mapped_column(sa.ForeignKey("puskesmas.id"), index=True)
    desa_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    valid_from: Mapped[date | None] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)

    puskesmas: Mapped[Puskesmas] = relationship(back_populates="desa_links")

    __table_args__ = (sa.UniqueConstraint("puskesmas_id", "desa_code", "valid_from"),)


class Posyandu(db.Model):
    __tablename__ = "posyandu"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    desa_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    puskesmas_id: Mapped[int] = mapped_column(sa.ForeignKey("puskesmas.id"), index=True)
    #: Denormalised from the desa code so dinkes scoping is a single indexed filter.
    kabupaten_code: Mapped[str] = mapped_column(sa.String(4), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(255))
    #: IANA zone; derived from the province unless ``timezone_overridden``.
    timezone: Mapped[str] = mapped_column(sa.String(40))
    timezone_overridden: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: Monthly session rule, e.g. ``nth_weekday:2:TUE`` or ``day_of_month:10``.
    session_rule: Mapped[str] = mapped_column(sa.String(40), default="nth_weekday:2:TUE")
    session_start: Mapped[time] = mapped_column(sa.Time, default=time(8, 0))
    session_end: Mapped[time] = mapped_column(sa.Time, default=time(11, 0))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    puskesmas: Mapped[Puskesmas] = relationship()
    desa: Mapped[Region] = relationship(foreign_keys=[desa_code])
