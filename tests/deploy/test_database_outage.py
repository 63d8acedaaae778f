"""A database that cannot be reached answers 503 + Retry-After with one log line (not a
traceback per request); a pooled connection whose server went away is replaced at checkout, so
the first request after a restart succeeds. The full restart under load, against a private
PostgreSQL, is tests/deploy/test_database_restart.py."""
from __future__ import annotations

import logging

import psycopg
import pytest
import sqlalchemy as sa

from posyandu import database_outage
from posyandu.database_outage import is_database_unavailable
from posyandu.extensions import db
from tests import factories


def _wrapped(orig: Exception, invalidated: bool = False) -> sa.exc.DBAPIError:
    error = sa.exc.OperationalError("SELECT secret FROM child WHERE name = %(n)s", {"n": "Siti"}, orig)
    error.connection_invalidated = invalidated
    return error


def _Sqlstate(state: str, message: str = "boom") -> psycopg.Error:
    """The psycopg exception class the server's SQLSTATE maps to."""
    return psycopg.errors.lookup(state)(message)


def test_which_errors_mean_the_database_is_unreachable():
    refused = psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", '
                                       'port 5432 failed: Connection refused')
    assert is_database_unavailable(_wrapped(refused))
    assert is_database_unavailable(_wrapped(_Sqlstate("57P01", "terminating connection due to "
                                                               "administrator command")))
    assert is_database_unavailable(_wrapped(_Sqlstate("57P03", "the database system is starting up")))
    assert is_database_unavailable(_wrapped(_Sqlstate("08006")))
    assert is_database_unavailable(_wrapped(ValueError("x"), invalidated=True))
    # not an outage: a lock timeout, a query cancelled by statement_timeout, a constraint
    assert not is_database_unavailable(_wrapped(_Sqlstate("55P03")))
    assert not is_database_unavailable(_wrapped(_Sqlstate("57014")))
    assert not is_database_unavailable(sa.exc.IntegrityError("INSERT", {}, psycopg.IntegrityError("dup")))
    assert not is_database_unavailable(RuntimeError("not a database error"))
    # the summary names the driver error, never the SQL or its parameters
    summary = database_outage.summarise(_wrapped(refused))
    assert summary.startswith("OperationalError: connection failed")
    assert "Siti" not in summary and "SELECT" not in summary


@pytest.fixture
def database_down(monkeypatch):
    """Every request's first statement fails as it does while PostgreSQL is stopped."""
    from posyandu.auth import scope

    def refuse(*args, **kwargs):
        raise _wrapped(psycopg.OperationalError("connection failed: Connection refused"))

    monkeypatch.setattr(scope, "load_request_user", refuse)
    monkeypatch.setattr(database_outage, "outage_log", database_outage._OutageLog(interval=3600))


def test_requests_while_down_answer_503_with_retry_after_and_one_log_line(
        client, world, database_down, caplog):
    caplog.set_level(logging.WARNING, logger="posyandu.database")
    for _ in range(25):
        response = client.get("/api/v1/children", headers=factories.headers(world.kader_a1))
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"] == str(database_outage.RETRY_AFTER_SECONDS)
        assert response.json["type"].endswith("database-unavailable")
        assert "Basis data" in response.json["detail"]
    lines = [r for r in caplog.records if r.name == "posyandu.database"]
    assert len(lines) == 1
    assert not lines[0].exc_info
    assert "Connection refused" in lines[0].getMessage()


def test_outage_log_counts_the_refused_requests_between_lines(caplog):
    caplog.set_level(logging.WARNING, logger="posyandu.database")
    clock = [100.0]
    outage = database_outage._OutageLog(interval=10)
    error = _wrapped(psycopg.OperationalError("connection failed"))
    original = database_outage.time.monotonic
    database_outage.time.monotonic = lambda: clock[0]
    try:
        for step in range(30):  # one request a second for 30 s
            clock[0] = 100.0 + step
            outage.refused(error)
        outage.reconnected()
    finally:
        database_outage.time.monotonic = original
    messages = [r.getMessage() for r in caplog.records if r.name == "posyandu.database"]
    assert len(messages) == 4  # t=0, 10, 20, and "reachable again"
    assert "(1 request(s) since" in messages[0] and "(10 request(s) since" in messages[1]
    assert "reachable again after 29.0 s (9 more" in messages[3]


def test_a_commit_that_loses_the_connection_answers_503_not_201(client, world, monkeypatch):
    def lost(*args, **kwargs):
        raise _wrapped(_Sqlstate("57P01", "terminating connection due to administrator command"),
                       invalidated=True)

    monkeypatch.setattr(db.session, "commit", lost)
    body = {"id": "8c0d0c1e-7f43-4f3c-9a55-3f1a2b3c4d5e", "child_id": str(world.child_a1.id),
            "measured_on": "2026-11-10", "weight_kg": 9.1, "length_cm": 75.0, "measure_method": "lying"}
    response = client.post("/api/v1/measurements", json=body, headers=factories.headers(world.kader_a1))
    assert response.status_code == 503
    assert response.headers["Retry-After"]


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_a_pooled_connection_whose_server_went_away_is_replaced_at_checkout(database_url):
    """pg_terminate_backend is what every pooled connection sees when PostgreSQL restarts
    (FATAL 57P01, socket closed). Without the checkout hook the next statement fails."""
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0, pool_pre_ping=False)
    killer = sa.create_engine(database_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            first_pid = connection.scalar(sa.text("SELECT pg_backend_pid()"))
        with killer.connect() as other:
            assert other.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
            other.execute(sa.text("SELECT pg_sleep(0.2)"))  # let the FATAL message arrive
        with engine.connect() as connection:  # would raise AdminShutdown without the hook
            assert connection.scalar(sa.text("SELECT 1")) == 1
            assert connection.scalar(sa.text("SELECT pg_backend_pid()")) != first_pid
    finally:
        engine.dispose()
        killer.dispose()
