"""Counting SQL statements, to guard request and batch paths against N+1 queries."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK TO")


@contextmanager
def recorded_statements(target):
    """Collect the statements run on ``target`` (an engine or connection) inside the block,
    leaving out savepoint bookkeeping (the test harness adds those, production does not)."""
    seen: list[str] = []

    def _record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            seen.append(statement)
    sa.event.listen(target, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        sa.event.remove(target, "before_cursor_execute", _record)


def statements_during(app, fn) -> list[str]:
    """The statements ``fn()`` (e.g. an HTTP call through the test client) sends to the app's engine."""
    with app.app_context():
        engine = _engine()
    with recorded_statements(engine) as seen:
        fn()
    return seen


def _engine():
    from posyandu.extensions import db
    return db.engine
