"""posyandu.transaction: a view whose transaction PostgreSQL aborted because it met another one
(deadlock 40P01, serialization failure 40001) runs again; one that keeps meeting it answers 503
problem+json with Retry-After in the caller's language, never a 500. The real deadlock on
PostgreSQL: tests/concurrency/test_deadlocks.py."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from posyandu import transaction
from posyandu.measurements import operations
from posyandu.measurements.models import Measurement

from tests import factories


class _DriverError(Exception):
    def __init__(self, sqlstate):
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _database_error(state="40P01"):
    return sa.exc.OperationalError("UPDATE measurement SET ...", {}, _DriverError(state))


@pytest.mark.parametrize("state", ["40P01", "40001"])
def test_a_conflicted_view_runs_again(app, state):
    calls = []

    def view():
        calls.append(1)
        if len(calls) == 1:
            raise _database_error(state)
        return "stored"
    with app.test_request_context("/api/v1/anything"):
        assert transaction._replaying(view)() == "stored"
    assert len(calls) == 2


def test_other_database_errors_are_not_replayed(app):
    calls = []

    def view():
        calls.append(1)
        raise sa.exc.IntegrityError("INSERT ...", {}, _DriverError("23505"))
    with app.test_request_context("/api/v1/anything"), pytest.raises(sa.exc.IntegrityError):
        transaction._replaying(view)()
    assert len(calls) == 1


def test_a_view_that_keeps_conflicting_answers_503_in_the_callers_language(app):
    calls = []

    def view():
        calls.append(1)
        raise _database_error()
    with app.test_request_context("/api/v1/anything", headers={"Accept-Language": "id"}):
        response = transaction._replaying(view)()
    assert len(calls) == transaction.MAX_REPLAYS + 1
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == str(transaction.RETRY_AFTER_SECONDS)
    assert response.json["type"].endswith("transaction-conflict")
    assert response.json["title"] == "Layanan tidak tersedia"
    assert response.json["detail"].startswith("Perubahan lain pada data yang sama")


def test_every_view_of_the_app_is_replayed_on_conflicts(app):
    unwrapped = [endpoint for endpoint, view in app.view_functions.items()
                 if not endpoint.endswith("static") and not getattr(view, "replays_transaction_conflicts", False)]
    assert unwrapped == []


def test_a_measurement_post_that_deadlocked_once_is_stored_once(client, world, monkeypatch):
    """Through HTTP: the first attempt writes its row and then fails as a deadlock would; the
    replay starts from a rolled-back session, so the answer is a 201 and there is one row."""
    real = operations.record_measurement
    attempts = []

    def deadlocking_once(scope, data):
        attempts.append(1)
        result = real(scope, data)
        if len(attempts) == 1:
            raise _database_error()
        return result
    monkeypatch.setattr("posyandu.measurements.routes.ops.record_measurement", deadlocking_once)
    mid = str(uuid.uuid4())
    response = client.post("/api/v1/measurements", headers=factories.headers(world.kader_a1), json={
        "id": mid, "child_id": str(world.child_a1.id), "measured_on": "2025-06-10", "weight_kg": 9.1})
    assert response.status_code == 201, response.json
    assert len(attempts) == 2
    from posyandu.extensions import db
    assert db.session.execute(sa.select(sa.func.count()).select_from(Measurement)
                              .where(Measurement.id == uuid.UUID(mid))).scalar_one() == 1
