"""Creates that race: the same key inserted by two requests at the same moment.

A phone that timed out retries while its first request is still running, or two phones push the
same record: both requests look for the client's UUID, both find nothing, both insert. The
second INSERT waits for the first transaction (PostgreSQL locks the new key) and then fails on
the unique key. A sequential retry would have found the row and answered ``200`` / a
``duplicate`` receipt with the stored record (or ``409`` / ``conflict`` when the content
differs), so the racing request must answer exactly that.

One mechanism for every create keyed by a client id or a natural key:

- the insert reports that the key is taken instead of failing the transaction:
  :func:`insert_new` (one Core row, ``INSERT ... ON CONFLICT DO NOTHING``: no SAVEPOINT, no
  extra round trip, the cheap path for the hot measurement write) or :func:`new_rows` (ORM
  rows flushed in a SAVEPOINT; a unique violation rolls back to it). Both raise
  :class:`KeyTaken`, after which nothing of the failed insert is left in the transaction;
- the operation is decorated with :func:`replay_when_taken`, which runs it again: the winner
  has committed by then (PostgreSQL made the loser wait for it; READ COMMITTED gives each
  statement a fresh snapshot), so the operation's own retry rules see the stored row and
  answer as for a sequential retry. Nothing is special-cased per endpoint.

The decorated operation must not have written anything before the insert that raises
``KeyTaken`` (reads only); the create operations check everything first and insert first.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from .errors import Conflict

#: How often an operation is replayed before giving up (a key taken twice in a row means the
#: winner vanished again, which a soft-delete-only schema never does; kept finite anyway).
MAX_REPLAYS = 2


class KeyTaken(Exception):
    """A concurrent transaction committed a row with this key after this one looked for it."""


def is_unique_violation(error: BaseException) -> bool:
    """A unique / primary key violation (PostgreSQL SQLSTATE 23505; SQLite's message)."""
    orig = getattr(error, "orig", None)
    state = getattr(orig, "sqlstate", None)
    if state is not None:
        return state == "23505"
    return "UNIQUE constraint failed" in str(orig)


_INSERT_IGNORING: dict = {}


def _insert_ignoring(dialect_name: str, table: sa.Table):
    key = (dialect_name, table)
    stmt = _INSERT_IGNORING.get(key)
    if stmt is None:
        if dialect_name == "postgresql":
            stmt = postgresql.insert(table).on_conflict_do_nothing()
        elif dialect_name == "sqlite":
            stmt = sqlite.insert(table).on_conflict_do_nothing()
        # RETURNING tells whether the row went in (the drivers' rowcount is not reliable here)
        else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
            raise NotImplementedError(dialect_name)
        stmt = _INSERT_IGNORING[key] = stmt.returning(sa.literal_column("1"))
    return stmt


def insert_new(session, table: sa.Table, values: dict) -> None:
    """Insert one row; :class:`KeyTaken` when a row with one of its unique keys exists (on
    PostgreSQL after waiting for the transaction that is inserting it, if it commits)."""
    stmt = _insert_ignoring(session.get_bind().dialect.name, table)
    if session.execute(stmt, values).first() is None:
        raise KeyTaken()


@contextmanager
def new_rows(session):
    """Add ORM rows inside the block (not before: opening the SAVEPOINT flushes what is pending
    outside it); they are flushed in the SAVEPOINT on leaving the block. A unique
    violation rolls back to the SAVEPOINT (the added rows are expunged) and raises
    :class:`KeyTaken`; any other error rolls back and propagates."""
    savepoint = session.begin_nested()
    try:
        yield
        session.flush()
    except IntegrityError as error:
        savepoint.rollback()
        if is_unique_violation(error):
            raise KeyTaken() from None
        raise
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()


def replay_when_taken(operation):
    """Run a create ``operation`` again when its insert raised :class:`KeyTaken`: it then sees
    the committed winner and answers as it does for a sequential retry."""
    @functools.wraps(operation)
    def run(*args, **kwargs):
        for _ in range(MAX_REPLAYS):
            try:
                return operation(*args, **kwargs)
            except KeyTaken:
                continue
        try:
            return operation(*args, **kwargs)
        except KeyTaken:
            raise Conflict("Another request is writing the same record; send it again.") from None
    return run
