"""Audit trail: who changed what and when, with a field diff (personal identifiers masked)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import JSONType, UTCDateTime, utcnow
from ..extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(24))
    entity: Mapped[str] = mapped_column(sa.String(24))
    entity_id: Mapped[str] = mapped_column(sa.String(40))
    #: Scope columns so puskesmas staff read only their area's trail.
    posyandu_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    child_id: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    changes: Mapped[dict | None] = mapped_column(JSONType)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_audit_event_entity", "entity", "entity_id"),)
