"""The change log behind ``/sync/pull``.

Every committed change to a synced record appends a ``ChangeLog`` row whose ``seq`` comes from a
single-row counter bumped *at commit time* (see ``posyandu.sync.changes``). The counter's row lock
is held only between that bump and COMMIT, so sequence order equals commit order and a reader can
never see seq N+1 before seq N: a pull cursor never skips a committed change, also with concurrent
writers on PostgreSQL.
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

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
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
    )
