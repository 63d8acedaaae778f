"""Change-log rows from writers; sequence numbers from a sequencer.

Operations call :func:`record_change` while they work; a ``before_commit`` hook inserts one
change-log row per changed record, with ``seq`` empty, in the writer's own transaction (nothing
shared is locked, so concurrent writers commit in parallel and PostgreSQL can group their WAL
flushes). :func:`sequence_pending` numbers the committed rows: it locks the single-row counter,
gives the pending rows the next numbers, and commits. Sequencer runs are serialised by the
counter lock and each commits before the next one gets the lock, so numbers become visible in
order, and a row committed later always gets a number above every visible one. ``/sync/pull``
runs the sequencer before reading, so a cursor never skips a committed change.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import ChangeLog, SyncCounter

_PENDING = "posyandu.pending_changes"
#: ``inline()``: no RETURNING of the new ids, which nobody reads.
_INSERT_CHANGES = sa.insert(ChangeLog.__table__).inline()


def record_change(session: Session, *, entity: str, entity_id: uuid.UUID, posyandu_id: int,
                  child_id: uuid.UUID, op: str = "upsert") -> None:
    """Note that a synced record changed; the change-log row is written when the transaction commits."""
    session.info.setdefault(_PENDING, {})[(entity, entity_id, posyandu_id)] = (child_id, op)


def creation_companion(entity: str) -> tuple:
    """The change-log row of a record inserted by ``concurrent_writes.insert_new``, as one of its
    companions (written with it instead of at commit; the same row :func:`record_change` gives:
    the record's id, posyandu and child, ``upsert``)."""
    from ..concurrent_writes import Constant, Returned
    return (ChangeLog.__table__, {"entity": Constant(entity), "entity_id": Returned("id"),
                                  "posyandu_id": Returned("posyandu_id"), "child_id": Returned("child_id"),
                                  "op": Constant("upsert"), "changed_at": Returned("created_at")})


@event.listens_for(Session, "before_commit")
def _write_change_log(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    session.flush()
    pending = session.info.pop(_PENDING, {})
    if not pending:
        return
    now = datetime.now(timezone.utc)
    session.execute(_INSERT_CHANGES, [
        {"entity": entity, "entity_id": entity_id, "posyandu_id": posyandu_id, "child_id": child_id,
         "op": op, "changed_at": now}
        for (entity, entity_id, posyandu_id), (child_id, op) in pending.items()])


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending_soft(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)


def sequence_pending(session: Session) -> int:
    """Number every committed change-log row that has no ``seq`` yet; returns the new position.

    The caller commits right after (``pull`` does), which releases the counter lock.
    """
    counter = SyncCounter.__table__
    log = ChangeLog.__table__
    base = session.execute(
        sa.select(counter.c.value).where(counter.c.id == 1).with_for_update()).scalar_one()
    pending = (sa.select(log.c.id, sa.func.row_number().over(order_by=log.c.id).label("rn"))
               .where(log.c.seq.is_(None)).subquery())
    assigned = session.execute(
        sa.update(log).where(log.c.id == pending.c.id).values(seq=base + pending.c.rn)).rowcount
    if assigned:
        session.execute(sa.update(counter).where(counter.c.id == 1).values(value=base + assigned))
    return base + assigned
