"""Database helpers shared by the feature models: UTC timestamps and JSON that work on both
SQLite (embedded default) and PostgreSQL (production)."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import TypeDecorator



def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class day_number(sa.sql.functions.FunctionElement):
    """SQL: a date as days since 1970-01-01 (an integer), so a large fetch carries no ``date``
    object per row (numpy reads it as ``datetime64[D]``)."""
    type = sa.Integer()
    inherit_cache = True
    name = "day_number"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} - DATE '1970-01-01')"


@compiles(day_number)
def _day_number_default(element, compiler, **kw):
    # SQLite keeps dates as 'YYYY-MM-DD' text: julianday() of it is a whole day + 0.5
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


def fetch_columns(connection, query) -> dict:
    """``{column key: tuple of values}`` for a large Core ``select``, read from the DBAPI cursor
    as plain tuples (no SQLAlchemy row per record: a third of the CPU for ~1M rows); only the
    columns with a result processor on this dialect (UUIDs and dates on SQLite) are converted,
    value by value where not NULL."""
    dialect = connection.dialect
    result = connection.execute(query)
    try:
        type_codes = [d[1] for d in result.cursor.description]
        rows = result.cursor.fetchall()
    finally:
        result.close()
    columns = list(query.selected_columns)
    names = [c.key for c in columns]
    out = dict(zip(names, zip(*rows))) if rows else {name: () for name in names}
    for column, type_code in zip(columns, type_codes):
        process = column.type.dialect_impl(dialect).result_processor(dialect, type_code)
        if process is not None and out[column.key]:
            out[column.key] = tuple(None if v is None else process(v) for v in out[column.key])
    return out


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes everywhere (SQLite drops the offset; we put it back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


#: JSON column: JSONB on PostgreSQL, JSON text on SQLite.
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, wait on locks, and let SQLAlchemy own transactions
    (pysqlite's own BEGIN handling breaks SAVEPOINTs)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


@sa.event.listens_for(sa.engine.Engine, "begin")
def _sqlite_begin(connection):
    if connection.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


#: psycopg converts each query's ``%(name)s`` placeholders to ``$n`` and caches the result (an
#: LRU of 128 queries) only for queries up to 4,096 characters and 50 parameters. The hot write
#: statements are longer (the measurement POST's INSERT with its audit, change-log and
#: report-summary rows is ~14,000 characters; its child-and-recent-visits SELECT ~4,500), so
#: psycopg re-parsed them with a regular expression on every request: ~0.24 ms of a POST's
#: ~3.5 ms of worker CPU (benchmarks/README.md). The limits are module constants of psycopg
#: with no public setting; :func:`widen_psycopg_query_cache` raises them once per process (128
#: cached queries of at most 32 KB: a few MB at worst). tests/test_app.py checks that the
#: constants still exist, so a psycopg release that renames them fails the suite, not silently.
PSYCOPG_CACHED_QUERY_LENGTH = 32_768
PSYCOPG_CACHED_QUERY_PARAMS = 200


def widen_psycopg_query_cache() -> bool:
    """Raise psycopg's query-conversion cache limits (see above); False when psycopg is absent
    or no longer has them."""
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    if not (hasattr(_queries, "MAX_CACHED_STATEMENT_LENGTH") and hasattr(_queries, "MAX_CACHED_STATEMENT_PARAMS")):
        return False
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, PSYCOPG_CACHED_QUERY_LENGTH)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, PSYCOPG_CACHED_QUERY_PARAMS)
    return True
