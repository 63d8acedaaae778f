"""Assigning pull-cursor sequence numbers at commit time.

Operations call :func:`record_change` while they work; the numbers are handed out in a
``before_commit`` hook by bumping a single-row counter and inserting the change-log rows in the
same transaction. The counter's row lock is held from that UPDATE until COMMIT (microseconds),
so sequence order is commit order: a pull that has seen seq N has seen every change below N.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import ChangeLog, SyncCounter

_PENDING = "posyandu.pending_changes"


def record_change(session: Session, *, entity: str, entity_id: uuid.UUID, posyandu_id: int,
                  child_id: uuid.UUID, op: str = "upsert") -> None:
    """Note that a synced record changed; it gets its sequence number when the transaction commits."""
    session.info.setdefault(_PENDING, {})[(entity, entity_id, posyandu_id)] = (child_id, op)


@event.listens_for(Session, "before_commit")
def _assign_sequence_numbers(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    session.flush()
    pending = session.info.pop(_PENDING, {})
    if not pending:
        return
    n = len(pending)
    table = SyncCounter.__table__
    last = session.execute(
        sa.update(table).where(table.c.id == 1).values(value=table.c.value + n).returning(table.c.value)
    ).scalar_one()
    now = datetime.now(timezone.utc)
    first = last - n + 1
    rows = [
        {"seq": first + i, "entity": entity, "entity_id": entity_id, "posyandu_id": posyandu_id,
         "child_id": child_id, "op": op, "changed_at": now}
        for i, ((entity, entity_id, posyandu_id), (child_id, op)) in enumerate(pending.items())
    ]
    session.execute(sa.insert(ChangeLog.__table__), rows)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending_soft(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
