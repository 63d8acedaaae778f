"""What was sent to SATUSEHAT: one row per local resource (type + logical id).

``flask fhir submit`` reads these rows to decide, per resource, between create (no row, or no
server id), update (content hash changed: PUT to the stored server id) and nothing (same hash),
and writes them back after every answer, so a rerun after a crash continues where it stopped.

``state``:
- ``pending``: a create was about to be sent. The server may have stored it even if we never
  saw the answer (crash, dropped connection), so the next run looks the resource up by its
  local identifier before creating it again;
- ``sent``: the server holds the content whose hash is ``content_hash``;
- ``failed``: the server refused it (``last_status``, ``last_error``: element paths and issue
  codes only, never values); retried on the next run.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db

SUBMISSION_STATES = ("pending", "sent", "failed")


class FhirSubmission(db.Model):
    __tablename__ = "fhir_submission"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    resource_type: Mapped[str] = mapped_column(sa.String(32))
    #: The logical id in our exports (``posyandu.fhir.mapping``), stable per local record.
    local_id: Mapped[str] = mapped_column(sa.String(64))
    #: The child, measurement or immunization row it comes from (to resend deletions and merges).
    source_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    #: The id the server assigned (for Patient: the IHS number).
    server_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: SHA-256 of the canonical JSON last accepted by the server (local references).
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(12), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.String(255))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("resource_type", "local_id"),
        sa.CheckConstraint("state IN ('pending','sent','failed')", name="state"),
    )
