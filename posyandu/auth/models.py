"""Accounts, roles and refresh tokens.

Refresh tokens are stored so they can be rotated on every use and revoked (logout, password
change, account disabled, reuse of an already-rotated token revokes its whole family).
"""
from __future__ import annotations

import uuid
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db

ROLES = ("admin", "dinkes", "puskesmas", "kader", "parent")


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: E.164 (+62…), unique; parents are matched to children by it.
    phone: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[str] = mapped_column(sa.String(12), index=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: dinkes: their kabupaten; puskesmas: their puskesmas. Kader posyandu in ``user_posyandu``.
    kabupaten_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"))
    puskesmas_id: Mapped[int | None] = mapped_column(sa.ForeignKey("puskesmas.id"), index=True)
    firebase_uid: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    language: Mapped[str] = mapped_column(sa.String(2), default="id")
    quiet_start: Mapped[time | None] = mapped_column(sa.Time)
    quiet_end: Mapped[time | None] = mapped_column(sa.Time)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    posyandu_links: Mapped[list["UserPosyandu"]] = relationship(cascade="all, delete-orphan",
                                                                back_populates="user")

    __table_args__ = (
        sa.CheckConstraint("role IN ('admin','dinkes','puskesmas','kader','parent')", name="role"),
        sa.CheckConstraint("language IN ('id','en')", name="language"),
    )

    @property
    def posyandu_ids(self) -> list[int]:
        return [link.posyandu_id for link in self.posyandu_links]


class UserPosyandu(db.Model):
    """The posyandu a kader works at (one or more)."""

    __tablename__ = "user_posyandu"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"),
                                         primary_key=True)
    posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="posyandu_links")


class RefreshToken(db.Model):
    __tablename__ = "refresh_token"

    #: The JWT ``jti`` of the refresh token.
    jti: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    #: All tokens descending from one sign-in share a family; reuse revokes the family.
    family_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))
