"""The child registry.

Children are created offline on the phone, so the primary key is the client's UUID. NIK, the
mother's NIK and the family card number are personal data (UU 27/2022): stored encrypted, with
an HMAC for exact lookup and a masked form for display (reporting-id.md §6).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..db import UTCDateTime, utcnow
from ..extensions import db

CLOSE_REASONS = ("moved_away", "died", "aged_out", "merged", "duplicate_entry")
#: Byte-wise text order on both databases (PostgreSQL's default collation may ignore spaces or
#: follow a locale; SQLite compares bytes): the child list pages the same way on both.
_BYTEWISE_TEXT = sa.String(120).with_variant(sa.String(120, collation="C"), "postgresql")


def _name_sort_default(context) -> str:
    from .names import name_sort_key
    return name_sort_key(context.get_current_parameters().get("name"))


class Child(db.Model):
    __tablename__ = "child"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: Lower-cased, accent-free, spelling-normalised name key for tolerant search/duplicates.
    name_key: Mapped[str] = mapped_column(sa.String(120), index=True)
    #: The list order: the name as written, case-insensitive (``names.name_sort_key``); kept in
    #: step with ``name`` by :meth:`_set_name_sort` (ORM) and the column default (Core inserts).
    name_sort: Mapped[str] = mapped_column(_BYTEWISE_TEXT, default=_name_sort_default)
    #: WHO coding: 1 = male (laki-laki), 2 = female (perempuan).
    sex: Mapped[int] = mapped_column(sa.SmallInteger)
    birth_date: Mapped[date] = mapped_column(sa.Date, index=True)
    birth_weight_kg: Mapped[float | None] = mapped_column(sa.Float)
    birth_length_cm: Mapped[float | None] = mapped_column(sa.Float)
    birth_order: Mapped[int | None] = mapped_column(sa.SmallInteger)

    nik_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    nik_hmac: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    nik_masked: Mapped[str | None] = mapped_column(sa.String(16))
    mother_name: Mapped[str | None] = mapped_column(sa.String(120))
    mother_name_key: Mapped[str | None] = mapped_column(sa.String(120))
    mother_nik_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    mother_nik_hmac: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    mother_nik_masked: Mapped[str | None] = mapped_column(sa.String(16))
    father_name: Mapped[str | None] = mapped_column(sa.String(120))
    kk_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    kk_hmac: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    kk_masked: Mapped[str | None] = mapped_column(sa.String(16))

    address: Mapped[str | None] = mapped_column(sa.String(255))
    rt: Mapped[str | None] = mapped_column(sa.String(3))
    rw: Mapped[str | None] = mapped_column(sa.String(3))
    #: Where the child lives; defaults to the posyandu's desa. Duplicate detection is per desa.
    desa_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    has_kia_book: Mapped[bool | None] = mapped_column(sa.Boolean)

    status: Mapped[str] = mapped_column(sa.String(10), default="active", index=True)
    closed_reason: Mapped[str | None] = mapped_column(sa.String(20))
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("child.id"))

    #: Optimistic-concurrency version: the "server version" a phone edits from.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    client_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    guardians: Mapped[list["ChildGuardian"]] = relationship(back_populates="child",
                                                            cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("sex IN (1, 2)", name="sex"),
        sa.CheckConstraint("status IN ('active','closed')", name="status"),
        sa.Index("ix_child_posyandu_status", "posyandu_id", "status"),
        sa.Index("ix_child_posyandu_name_sort", "posyandu_id", "name_sort", "id"),
        # the reports' target children (reports.cohort.month_children): index-only on PostgreSQL
        # (migration 0009)
        sa.Index("ix_child_posyandu_birth", "posyandu_id", "birth_date",
                 postgresql_include=["id", "sex", "status", "closed_on", "closed_reason", "merged_into_id",
                                     "created_at", "has_kia_book"]),
    )

    @validates("name")
    def _set_name_sort(self, key, value):
        from .names import name_sort_key
        self.name_sort = name_sort_key(value)
        return value


class ChildGuardian(db.Model):
    """A parent/guardian phone linked to a child by staff; ``user_id`` is filled when that parent
    signs in (phone match), so a link can exist before the parent's account does."""

    __tablename__ = "child_guardian"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(sa.String(20), index=True)
    relationship_kind: Mapped[str] = mapped_column(sa.String(12), default="mother")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    child: Mapped[Child] = relationship(back_populates="guardians")

    __table_args__ = (sa.UniqueConstraint("child_id", "phone"),)


class ChildTransfer(db.Model):
    """History of moves between posyandu."""

    __tablename__ = "child_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    from_posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"))
    to_posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"))
    moved_on: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str | None] = mapped_column(sa.String(255))
    moved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
