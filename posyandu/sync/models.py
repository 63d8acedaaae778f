"""The change log behind ``/sync/pull``.

Every committed change to a synced record appends a ``ChangeLog`` row. Writers leave ``seq``
empty; a *sequencer* (``posyandu.sync.changes.sequence_pending``, run at the start of every pull)
numbers the committed rows in one short transaction that holds the single-row counter's lock.
Sequencer runs are serialised by that lock and each commits before the next starts, so a reader
can never see seq N+1 before seq N, and a row committed after a sequencer run gets a number above
everything already visible: a pull cursor never skips a committed change, also with concurrent
writers on PostgreSQL — and writers never wait on each other (no lock held across their COMMIT).
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class SyncCounter(db.Model):
    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ChangeLog(db.Model):
    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    #: The pull cursor's sequence; empty until the sequencer numbers the row.
    seq: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    #: 'child', 'measurement', 'immunization'
    entity: Mapped[str] = mapped_column(sa.String(16))
    entity_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    #: The posyandu whose phones must hear of it. A move writes a 'delete' for the old posyandu
    #: and an 'upsert' for the new one.
    posyandu_id: Mapped[int] = mapped_column(sa.Integer)
    #: The child the record belongs to (parents' scope is by child).
    child_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    op: Mapped[str] = mapped_column(sa.String(8))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("op IN ('upsert','delete')", name="op"),
        sa.Index("ix_change_log_posyandu_seq", "posyandu_id", "seq"),
        sa.Index("ix_change_log_unsequenced", "id", sqlite_where=sa.text("seq IS NULL"),
                 postgresql_where=sa.text("seq IS NULL")),
    )
