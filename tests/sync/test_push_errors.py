"""Sync push: an unknown child is reported on ``child_id`` (both measurement paths and
immunizations); a connection lost while the measurement batch writes leaves as the 503 of
posyandu/database_outage.py, not swallowed into the per-record path (which then failed with
``PendingRollbackError``, a 500)."""
from __future__ import annotations

import uuid

import psycopg
import sqlalchemy as sa

from posyandu.extensions import db
from posyandu.measurements import operations as measurement_ops
from posyandu.measurements.models import Measurement
from tests.factories import headers


def push(client, user, records):
    return client.post("/api/v1/sync/push", json={"records": records}, headers=headers(user))


def visit(child_id, day="2024-10-15", weight=9.0, mid=None):
    return {"entity": "measurement", "id": mid or str(uuid.uuid4()),
            "data": {"child_id": str(child_id), "measured_on": day, "weight_kg": weight}}


def test_unknown_child_is_reported_on_child_id_in_every_path(client, world):
    unknown = uuid.uuid4()
    same = str(uuid.uuid4())
    batch = [visit(unknown)]                                      # set-based measurement path
    per_record = [visit(unknown, mid=same), visit(unknown, mid=same)]  # same id twice: one by one
    dose = [{"entity": "immunization", "id": str(uuid.uuid4()),
             "data": {"child_id": str(unknown), "dose_code": "BCG", "given_on": "2024-04-01"}}]
    other_area = [visit(world.child_b1.id)]                       # exists, not in the kader's scope
    for records in (batch, per_record, dose, other_area):
        response = push(client, world.kader_a1, records)
        assert response.status_code == 200, response.json
        for receipt in response.json["receipts"]:
            assert receipt["status"] == "invalid" and list(receipt["errors"]) == ["child_id"], receipt


def test_a_lost_connection_in_the_batch_write_answers_503(client, world, monkeypatch):
    def lost(*args, **kwargs):
        error = sa.exc.OperationalError("UPDATE measurement ...", {},
                                        psycopg.OperationalError("server closed the connection unexpectedly"))
        error.connection_invalidated = True
        raise error

    monkeypatch.setattr(measurement_ops, "_bulk_trend_update", lost)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Measurement))
    response = push(client, world.kader_a1, [visit(world.child_a1.id), visit(world.child_a1.id, "2024-11-14", 9.3)])
    assert response.status_code == 503, response.json
    assert response.mimetype == "application/problem+json" and response.headers["Retry-After"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Measurement)) == before
