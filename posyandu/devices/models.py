"""Parents' phones: FCM registration tokens or Firebase Installation IDs, several per parent."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class Device(db.Model):
    __tablename__ = "device"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    #: The FCM registration token, or the Firebase Installation ID when ``kind == 'fid'``.
    token: Mapped[str] = mapped_column(sa.String(512), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default="fcm_token")
    platform: Mapped[str] = mapped_column(sa.String(10), default="android")
    app_version: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when FCM says the token is dead (UNREGISTERED, invalid) or the app replaced it.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_reason: Mapped[str | None] = mapped_column(sa.String(40))

    __table_args__ = (
        sa.CheckConstraint("kind IN ('fcm_token','fid')", name="kind"),
        sa.Index("ix_device_user_active", "user_id", "retired_at"),
    )
