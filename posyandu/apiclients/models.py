"""Machine clients of the API (the kabupaten command centre): one row per client and its key.

A separate table, not a ``user_account`` role: a machine client has no password, phone,
language, refresh tokens or sign-in, and must never pass the staff checks
(``auth.scope.request_user``), so it cannot be mistaken for a person anywhere. Its key is
stored only as a keyed hash (HMAC-SHA256, see ``keys.py``); ``key_prefix`` is the key's first,
non-secret characters, shown in lists so people can tell keys apart.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db

CLIENT_KINDS = ("command_centre",)


class ApiClient(db.Model):
    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="command_centre")
    name: Mapped[str] = mapped_column(sa.String(120))
    #: The one kabupaten whose aggregates the client may read.
    kabupaten_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    #: HMAC-SHA256 (hex) of the whole key under the server's API_KEY_HMAC_SECRET.
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(sa.String(16))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    key_created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.CheckConstraint("kind IN ('command_centre')", name="kind"),)
