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

``insert_new`` also takes *companions*: rows that belong to the new row (its audit event, its
sync change-log entry; ``audit.log.creation_companion``, ``sync.changes.creation_companion``).
They are inserted exactly when the row is, on PostgreSQL in the same statement (data-modifying
CTEs reading the row's RETURNING), so the hot measurement write is one round trip, not three.
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


#: Advisory-lock class of the per-child write locks (the second key is the child's bucket).
CHILD_LOCK_CLASS = 7310
#: Children share this many lock buckets: a transaction writing every child (a recompute or the
#: demo load in one transaction) then holds at most this many locks, not one per child, which
#: would overflow PostgreSQL's shared lock table ("out of shared memory" past ~6,400 with the
#: default max_locks_per_transaction). Two writers of different children meet in one bucket
#: rarely and then only wait for the other's commit.
CHILD_LOCK_BUCKETS = 512
_CHILD_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(:cls, h) FROM "
    "(SELECT DISTINCT hashtext(x) & :mask AS h FROM unnest(CAST(:ids AS text[])) AS x ORDER BY 1) AS sorted")


def lock_children(session, child_ids) -> None:
    """Serialise the writes of these children's growth records until commit (PostgreSQL; SQLite
    has one writer at a time anyway).

    A visit's stored N/T/O/B, 2T and plausibility depend on the child's other visits, and a
    month's report summary row on all of them. Two requests writing one child at the same
    moment (two phones, a push beside a POST, an edit beside a new visit) would each compute from
    a snapshot without the other's row and store results a sequential order never gives (a
    March visit "O" instead of "T" when February's visit was saved at the same moment: no
    referral warning). Every write of a child's measurements, and every change of the child that
    recomputes them, takes this lock first, before it reads what it computes from; the second
    request waits for the first's commit and then, under READ COMMITTED, reads both. Buckets are
    locked in sorted order (several children at once cannot deadlock); re-entrant within a
    transaction; one round trip, held until the commit. Take it before any row lock of the child
    or its records (the order every writer follows)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({str(i) for i in child_ids})
    if ids:
        session.execute(_CHILD_LOCK, {"cls": CHILD_LOCK_CLASS, "mask": CHILD_LOCK_BUCKETS - 1, "ids": ids})


class KeyTaken(Exception):
    """A concurrent transaction committed a row with this key after this one looked for it."""


def is_unique_violation(error: BaseException) -> bool:
    """A unique / primary key violation (PostgreSQL SQLSTATE 23505; SQLite's message)."""
    orig = getattr(error, "orig", None)
    state = getattr(orig, "sqlstate", None)
    if state is not None:
        return state == "23505"
    return "UNIQUE constraint failed" in str(orig)


class Returned:
    """A companion row's value taken from the row just inserted (its column ``name``; as text
    with ``as_text``): on PostgreSQL read from the INSERT's RETURNING, so it costs no parameter."""

    __slots__ = ("name", "as_text")

    def __init__(self, name: str, as_text: bool = False):
        self.name, self.as_text = name, as_text


class Constant:
    """A companion row's fixed value (an identifier such as ``'create'``), written into the SQL."""

    __slots__ = ("value",)

    def __init__(self, value: str):
        if not value.replace("_", "").isalnum():
            raise ValueError("constants are plain identifiers")
        self.value = value


class Derived:
    """A companion statement of its own: ``build(new)`` returns a data-modifying statement
    reading ``new`` (a CTE of the inserted row's ``needs`` columns), run in the same statement
    on PostgreSQL; elsewhere ``fallback(session)`` runs right after the insert. ``key`` names
    its shape in the statement cache (``build`` must give the same statement for the same key)."""

    __slots__ = ("key", "needs", "build", "fallback")

    def __init__(self, key: str, needs: tuple, build, fallback):
        self.key, self.needs, self.build, self.fallback = key, needs, build, fallback


_STATEMENTS: dict = {}


def _statement(dialect_name: str, table: sa.Table, keys: tuple, companions: tuple, derived: tuple = ()):
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING``; on PostgreSQL with each companion
    ``INSERT ... SELECT ... FROM`` the new row in the same statement (data-modifying CTEs), so
    the companions go in exactly when the row does, in one round trip. Built once per shape."""
    shape = (dialect_name, table, keys, companions, tuple(d.key for d in derived))
    stmt = _STATEMENTS.get(shape)
    if stmt is not None:
        return stmt
    if len(_STATEMENTS) > 512:  # shapes differ only by the columns left NULL: a handful in practice
        _STATEMENTS.clear()
    if dialect_name == "postgresql":
        insert = postgresql.insert(table)
    elif dialect_name == "sqlite":
        insert = sqlite.insert(table)
    else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
        raise NotImplementedError(dialect_name)
    insert = insert.values({k: sa.bindparam(k, type_=table.c[k].type) for k in keys}).on_conflict_do_nothing()
    returned = sorted({v[1] for _, spec in companions for v in spec if v[0] == "returned"} | {keys[0]}
                      | ({name for d in derived for name in d.needs} if dialect_name == "postgresql" else set()))
    # RETURNING tells whether the row went in (the drivers' rowcount is not reliable here)
    insert = insert.returning(*(table.c[name] for name in returned))
    if dialect_name == "postgresql" and (companions or derived):
        new = insert.cte("new_row")
        ctes = []
        for i, (companion, spec) in enumerate(companions):
            columns, values = [], []
            for kind, column, extra in ((v[0], v[2], v) for v in spec):
                col = companion.c[column]
                if kind == "returned":
                    value = new.c[extra[1]]
                    value = sa.cast(value, sa.String) if extra[3] else value
                elif kind == "constant":
                    value = sa.cast(sa.literal_column(f"'{extra[1]}'"), col.type)
                else:
                    value = sa.bindparam(f"c{i}_{column}", type_=col.type)
                columns.append(column)
                values.append(value)
            ctes.append(sa.insert(companion).from_select(columns, sa.select(*values).select_from(new))
                        .cte(f"companion_{i}"))
        ctes += [d.build(new).cte(f"derived_{i}") for i, d in enumerate(derived)]
        stmt = sa.select(new.c[keys[0]]).add_cte(*ctes)
    else:
        stmt = insert
    _STATEMENTS[shape] = stmt
    return stmt


def _spec(values: dict) -> tuple:
    out = []
    for column, value in values.items():
        if isinstance(value, Returned):
            out.append(("returned", value.name, column, value.as_text))
        elif isinstance(value, Constant):
            out.append(("constant", value.value, column, None))
        else:
            out.append(("param", None, column, None))
    return tuple(out)


def insert_new(session, table: sa.Table, values: dict, companions=()) -> None:
    """Insert one row; :class:`KeyTaken` when a row with one of its unique keys exists (on
    PostgreSQL after waiting for the transaction that is inserting it, if it commits).

    ``companions``: ``(table, {column: value | Returned | Constant})`` rows that belong to the
    new row (its audit event, its sync change-log entry) and are inserted only when it is: on
    PostgreSQL in the same statement (one round trip instead of one per row), elsewhere right
    after it; or :class:`Derived` statements (the report summary's row)."""
    dialect_name = session.get_bind().dialect.name
    derived = tuple(c for c in companions if isinstance(c, Derived))
    companions = tuple(c for c in companions if not isinstance(c, Derived))
    stmt = _statement(dialect_name, table, tuple(values),
                      tuple((companion, _spec(spec)) for companion, spec in companions), derived)
    params = dict(values)
    if dialect_name == "postgresql":
        for i, (companion, spec) in enumerate(companions):
            params.update({f"c{i}_{column}": value for column, value in spec.items()
                           if not isinstance(value, (Returned, Constant))})
        if session.execute(stmt, params).first() is None:
            raise KeyTaken()
        return
    if session.execute(stmt, params).first() is None:
        raise KeyTaken()
    for d in derived:
        d.fallback(session)
    for companion, spec in companions:
        row = {}
        for column, value in spec.items():
            if isinstance(value, Returned):
                value = values[value.name]
                row[column] = str(value) if value is not None and spec[column].as_text else value
            elif isinstance(value, Constant):
                row[column] = value.value
            else:
                row[column] = value
        session.execute(sa.insert(companion), row)


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
