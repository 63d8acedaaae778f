"""What the API does while PostgreSQL is unreachable (restart, failover, network) and right after.

- **While it is down** every request that needs the database answers ``503`` problem+json
  with ``Retry-After`` (phones retry; pushes are idempotent by client UUID), and the log gets
  one concise WARNING line per ``LOG_INTERVAL_SECONDS`` per process with the number of requests
  refused since the previous line: no traceback per request.
- **Right after it is back** the first request succeeds: a pooled connection whose server went
  away has its socket readable (PostgreSQL sends a FATAL message and closes every client
  socket when it shuts down or crashes). ``_drop_dead_connection`` looks at the socket at pool
  checkout with a zero-timeout ``poll`` (a system call of about a microsecond, no round trip,
  unlike ``pool_pre_ping``); a readable idle connection is discarded and the pool connects
  afresh (SQLAlchemy's documented "pessimistic disconnect handling" hook). A server that
  vanished without closing its sockets (a dead host) is not seen this way; set
  ``DATABASE_POOL_PRE_PING=1`` where that can happen (e.g. a firewall that drops idle flows).
- **Nothing acknowledged is lost**: a request only answers 2xx after its COMMIT returned; a
  COMMIT that fails on a lost connection answers 503 too (the client retries; by UUID the
  retry is a duplicate if the COMMIT had in fact landed).
"""
from __future__ import annotations

import logging
import select
import threading
import time

import sqlalchemy as sa

log = logging.getLogger("posyandu.database")

RETRY_AFTER_SECONDS = 5
LOG_INTERVAL_SECONDS = 10.0

#: SQLSTATEs that mean "the server is not there for us": class 08 (connection exception) and
#: 57P01-57P03 (admin/crash shutdown, cannot connect now: starting up or shutting down).
_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03")


def _driver_error(error: BaseException) -> BaseException | None:
    """The DB-API exception behind ``error`` (SQLAlchemy wraps it; Flask wraps errors raised
    while finishing a response in InternalServerError)."""
    seen = 0
    while error is not None and seen < 5:
        seen += 1
        if isinstance(error, sa.exc.DBAPIError):
            return error
        error = getattr(error, "original_exception", None) or error.__cause__ or error.__context__
    return None


def is_database_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database server cannot be reached or went away (not a
    constraint violation, lock timeout or bad SQL)."""
    wrapped = _driver_error(error)
    if wrapped is None:
        return False
    if wrapped.connection_invalidated:  # SQLAlchemy's dialect-specific disconnect detection
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    orig = wrapped.orig
    if not isinstance(orig, psycopg.OperationalError):
        return False
    state = getattr(orig, "sqlstate", None)
    # No SQLSTATE: the client library itself failed (connection refused, server closed the
    # connection unexpectedly, timeout while connecting).
    return state is None or state.startswith("08") or state in _UNAVAILABLE_STATES


class _OutageLog:
    """One WARNING per interval per process, counting the requests refused in between."""

    def __init__(self, interval: float = LOG_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self.lock = threading.Lock()
        self.last_logged: float | None = None
        self.refused_since = 0
        self.down_since: float | None = None

    def refused(self, error: BaseException) -> None:
        now = time.monotonic()
        with self.lock:
            self.refused_since += 1
            if self.down_since is None:
                self.down_since = now
            if self.last_logged is not None and now - self.last_logged < self.interval:
                return
            count, self.refused_since, self.last_logged = self.refused_since, 0, now
        log.warning("database unavailable (%s); answering 503 with Retry-After: %d "
                    "(%d request(s) since the last such message)", summarise(error),
                    RETRY_AFTER_SECONDS, count, extra={"event": "database_unavailable"})

    def reconnected(self) -> None:
        if self.down_since is None:  # the common case: no lock, nothing to say
            return
        with self.lock:
            if self.down_since is None:
                return
            seconds, self.down_since = time.monotonic() - self.down_since, None
            count, self.refused_since, self.last_logged = self.refused_since, 0, None
        log.warning("database reachable again after %.1f s (%d more request(s) answered 503)",
                    seconds, count, extra={"event": "database_reachable"})


outage_log = _OutageLog()


def summarise(error: BaseException) -> str:
    """The driver's class and first message line: never the SQL or its parameters (they may
    hold personal data)."""
    wrapped = _driver_error(error)
    orig = wrapped.orig if wrapped is not None else error
    first_line = (str(orig).strip().splitlines() or [""])[0][:160]
    return f"{type(orig).__name__}: {first_line}"


#: Called once per refused request; ``posyandu.metrics`` registers its counter here (this
#: module stays below errors and metrics: it imports neither).
refusal_listeners: list = []


def refuse(error: BaseException) -> bool:
    """True when ``error`` is a database outage: logged (rate-limited) and counted; the caller
    then answers ``errors.unavailable_response()`` (503 + Retry-After)."""
    if not is_database_unavailable(error):
        return False
    outage_log.refused(error)
    for listener in refusal_listeners:
        listener()
    return True


# ------------------------------------------------------------------ pool hooks (all engines)
def _socket_readable(dbapi_connection) -> bool:
    """An idle PostgreSQL connection has nothing to read; readable means the server sent its
    goodbye (FATAL 57P01 ...) or closed the socket."""
    try:
        fd = dbapi_connection.fileno()
    except Exception:  # noqa: BLE001 - closed or broken: treat as dead
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


@sa.event.listens_for(sa.pool.Pool, "checkout")
def _drop_dead_connection(dbapi_connection, connection_record, connection_proxy):
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return  # SQLite: no server to lose
    if dbapi_connection.closed or _socket_readable(dbapi_connection):
        # The pool invalidates this connection and checks out a fresh one (up to 3 tries).
        raise sa.exc.DisconnectionError("the server closed this pooled connection")


@sa.event.listens_for(sa.pool.Pool, "connect")
def _note_reconnect(dbapi_connection, connection_record):
    outage_log.reconnected()
