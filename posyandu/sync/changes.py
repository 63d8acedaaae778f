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
    now = datetime.now(timezone.utc)
    rows = [{"k": i, "entity": entity, "entity_id": entity_id, "posyandu_id": posyandu_id,
             "child_id": child_id, "op": op}
            for i, ((entity, entity_id, posyandu_id), (child_id, op)) in enumerate(pending.items(), start=1)]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_one_round_trip(n, rows, now))
        return
    table = SyncCounter.__table__
    last = session.execute(
        sa.update(table).where(table.c.id == 1).values(value=table.c.value + n).returning(table.c.value)
    ).scalar_one()
    for row in rows:
        row["seq"] = last - n + row.pop("k")
        row["changed_at"] = now
    session.execute(sa.insert(ChangeLog.__table__), rows)


def _one_round_trip(n: int, rows: list[dict], now: datetime):
    """PostgreSQL: bump the counter and insert the log rows in one statement (a data-modifying
    CTE), saving a round trip on every write request."""
    counter_table = SyncCounter.__table__
    counter = (sa.update(counter_table).where(counter_table.c.id == 1)
               .values(value=counter_table.c.value + n).returning(counter_table.c.value).cte("counter"))
    values = sa.values(sa.column("k", sa.Integer), sa.column("entity", sa.String), sa.column("entity_id", sa.Uuid),
                       sa.column("posyandu_id", sa.Integer), sa.column("child_id", sa.Uuid),
                       sa.column("op", sa.String), name="pending").data(
        [(r["k"], r["entity"], r["entity_id"], r["posyandu_id"], r["child_id"], r["op"]) for r in rows])
    log = ChangeLog.__table__
    select = sa.select(counter.c.value - n + values.c.k, values.c.entity, values.c.entity_id,
                       values.c.posyandu_id, values.c.child_id, values.c.op,
                       sa.literal(now, type_=log.c.changed_at.type)).select_from(counter).join(values, sa.true())
    return sa.insert(log).from_select(["seq", "entity", "entity_id", "posyandu_id", "child_id", "op", "changed_at"],
                                      select)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending_soft(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
