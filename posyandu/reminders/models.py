"""The reminder outbox (PostgreSQL is the queue; design.md "Reminders pipeline").

``Reminder``: one planned notification about a child, unique per (child, kind, ref_key,
ref_date) so planning twice adds nothing. ``ReminderDelivery``: the unit of work for the
dispatcher, one per (reminder, device), with its own status, attempts, backoff and lease, so a
retried or dead token never resends to the parent's other phones. Workers claim deliveries with
``FOR UPDATE SKIP LOCKED`` and a lease; an expired lease (a crashed worker) makes a row claimable
again.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import JSONType, UTCDateTime, utcnow
from ..extensions import db

REMINDER_KINDS = ("imm_h3", "imm_h0", "weighing", "overdue")
DELIVERY_STATUSES = ("pending", "sending", "sent", "retry", "failed", "dead", "cancelled")


class Reminder(db.Model):
    __tablename__ = "reminder"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    #: What it is about: dose codes joined ("DPTHBHIB1+OPV2") or "session".
    ref_key: Mapped[str] = mapped_column(sa.String(120))
    #: The date it is about: the session date (H-3/H-0/weighing) or the overdue week's Monday.
    ref_date: Mapped[date] = mapped_column(sa.Date)
    #: When to send (UTC): 07:00 local at the posyandu, moved out of quiet hours.
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Template parameters (child name, vaccines, posyandu, date, time, zone) for rendering per language.
    params: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    deliveries: Mapped[list["ReminderDelivery"]] = relationship(back_populates="reminder")

    __table_args__ = (
        sa.UniqueConstraint("child_id", "kind", "ref_key", "ref_date"),
        sa.CheckConstraint("kind IN ('imm_h3','imm_h0','weighing','overdue')", name="kind"),
    )


class ReminderDelivery(db.Model):
    __tablename__ = "reminder_delivery"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    reminder_id: Mapped[int] = mapped_column(sa.ForeignKey("reminder.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    posyandu_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    #: Rendered at fan-out in the parent's language: title, body, data payload.
    message: Mapped[dict] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(sa.String(64))
    fcm_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    reminder: Mapped[Reminder] = relationship(back_populates="deliveries")

    __table_args__ = (
        sa.UniqueConstraint("reminder_id", "device_id"),
        sa.CheckConstraint("status IN ('pending','sending','sent','retry','failed','dead','cancelled')",
                           name="status"),
        # The claim query: due work in send order.
        sa.Index("ix_reminder_delivery_claim", "status", "next_attempt_at"),
    )


class QueueState(db.Model):
    """Queue-wide state shared by all workers: a quota error backs off the whole queue."""

    __tablename__ = "reminder_queue_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(sa.String(120))
