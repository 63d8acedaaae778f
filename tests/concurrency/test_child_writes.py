"""Two writes of one child's visits at the same moment store what a sequential order stores.

A visit's N/T/O/B, 2T, gain and plausibility depend on the child's other visits. Without a lock,
two requests each computed from a snapshot without the other's visit: a March visit saved at the
same moment as February's was stored "O" (not weighed last month) instead of "T" (no gain: refer
to a health worker), 16 rounds out of 16. Every write of a child's measurements now takes the
child's write lock before it reads (``concurrent_writes.lock_children``). Real concurrency on
PostgreSQL (threads released by a barrier; private database of tests/concurrency/conftest.py);
the reference is the whole-history replay of the stored visits."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from posyandu.extensions import db
from posyandu.measurements import assessment, operations
from posyandu.measurements.models import Measurement

from tests.concurrency.test_concurrent_duplicates import PUSH, ROUNDS, new_child_row, statuses, together

pytestmark = [pytest.mark.real_commits, pytest.mark.postgres_only]


def _mismatches(app, child_id) -> list:
    """Stored history columns that differ from a replay of the child's whole live history."""
    with app.app_context():
        child = operations._ChildInfo(*db.session.execute(sa.select(*operations._CHILD_COLUMNS).where(
            operations._C.c.id == child_id)).one())
        rows = [dict(r._mapping) for r in db.session.execute(sa.select(*operations._HISTORY_COLUMNS).where(
            Measurement.child_id == child_id, Measurement.deleted_at.is_(None))).all()]
    fresh = assessment.trend_values(child, rows)
    return [(row["measured_on"], column, row[column], fresh[row["id"]][column])
            for row in rows for column in assessment.HISTORY_COLUMNS if row[column] != fresh[row["id"]][column]]


def _child_with_january(app, tokens, ids):
    child_id = new_child_row(app, ids["posyandu_a1"], birth_date=date(2025, 1, 10))
    january = {"id": str(uuid.uuid4()), "child_id": str(child_id), "measured_on": "2026-01-12", "weight_kg": 8.0,
               "length_cm": 72.0, "measure_method": "lying"}
    assert app.test_client().post("/api/v1/measurements", headers=tokens["kader_a1"], json=january).status_code == 201
    return child_id, january


def _visit(child_id, day: str, weight: float) -> dict:
    return {"id": str(uuid.uuid4()), "child_id": str(child_id), "measured_on": day, "weight_kg": weight,
            "length_cm": 72.5, "measure_method": "lying"}


def test_two_new_visits_of_one_child_at_once(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        child_id, _january = _child_with_january(app, tokens, ids)
        results = together(app, ("POST", "/api/v1/measurements", _visit(child_id, "2026-02-10", 8.5), tokens["kader_a1"]),
                           ("POST", "/api/v1/measurements", _visit(child_id, "2026-03-12", 8.6), tokens["kader_a1"]))
        assert statuses(results) == [201, 201], results
        assert _mismatches(app, child_id) == []


def test_an_edit_and_a_new_visit_of_one_child_at_once(race):
    """February's weight corrected while March's visit is recorded (by REST and by a push)."""
    app, tokens, ids = race
    for round_ in range(ROUNDS):
        child_id, january = _child_with_january(app, tokens, ids)
        february = _visit(child_id, "2026-02-10", 8.5)
        assert app.test_client().post("/api/v1/measurements", headers=tokens["kader_a1"],
                                      json=february).status_code == 201
        march = _visit(child_id, "2026-03-12", 8.9)
        new_visit = (("POST", "/api/v1/measurements", march, tokens["kader_a1"]) if round_ % 2 else
                     ("POST", PUSH, {"records": [{"entity": "measurement", "id": march["id"],
                                                  "data": {k: v for k, v in march.items() if k != "id"}}]},
                      tokens["kader_a1"]))
        results = together(app, ("PATCH", f"/api/v1/measurements/{february['id']}",
                                 {"weight_kg": 7.6, "base_version": 1}, tokens["staff_a"]), new_visit)
        assert [status for status, _ in results] in ([200, 201], [200, 200]), results
        assert _mismatches(app, child_id) == []
