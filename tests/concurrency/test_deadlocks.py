"""Two phones push edits of the same two visits at the same moment, each from version 1.

Sequentially the second push would get ``conflict`` receipts with the server copies (its
``base_version`` is stale); at the same moment too, never a lost update and never a 5xx. Two
mechanisms make it so on PostgreSQL:

- the rows to edit are read locked (``FOR UPDATE``, in id order), so the version check sees
  the latest commit (before, both pushes passed it and the later one overwrote the other);
- when the two still meet in opposite orders, PostgreSQL aborts one of them (deadlock, SQLSTATE
  40P01) and that request is replayed from the start (posyandu.transaction), after the other.

The interleaving is forced, not hoped for: a third connection holds the first visit's row until
both pushes wait in PostgreSQL, then lets go. A batch decided as a set locks its rows in id order
and cannot meet the other in opposite orders; a batch that names a record twice is applied record
by record in the order sent, so there the two pushes lock the rows in opposite orders: a certain
deadlock.
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from posyandu.extensions import db
from posyandu.measurements.models import Measurement

from tests.concurrency.test_concurrent_duplicates import PUSH, new_child_row

pytestmark = [pytest.mark.real_commits, pytest.mark.postgres_only]


def _visit(app, token, child_id, mid: str) -> str:
    response = app.test_client().post("/api/v1/measurements", headers=token, json={
        "id": mid, "child_id": str(child_id), "measured_on": "2025-06-10", "weight_kg": 8.0})
    assert response.status_code == 201, response.json
    return mid


def _waiting_backends(connection, database: str) -> int:
    """Backends of ``database`` waiting for a lock (``connection`` in autocommit: PostgreSQL keeps
    one snapshot of the activity view per transaction)."""
    return connection.exec_driver_sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %(db)s AND wait_event_type = 'Lock'",
        {"db": database}).scalar_one()


def _deadlocks(connection, database: str) -> int:
    return connection.exec_driver_sql("SELECT deadlocks FROM pg_stat_database WHERE datname = %(db)s",
                                      {"db": database}).scalar_one()


def _behind_a_held_row(app, table, row_id, requests: dict, *, expect_deadlock: bool = False) -> dict:
    """Hold ``row_id``'s row lock, start ``requests`` (name -> callable returning the test
    client's response) one after the other, each once the previous ones wait in PostgreSQL, then
    let go; returns name -> (status, json), 599 for an exception (a 500 in production).
    ``expect_deadlock``: also check that PostgreSQL counted one deadlock meanwhile."""
    with app.app_context():
        engine = db.engine
        database = engine.url.database
    results: dict = {}

    def run(name, send):
        try:
            response = send()
            results[name] = (response.status_code, response.get_json())
        except Exception as exc:  # noqa: BLE001 - reported by the callers' assertions
            results[name] = (599, repr(exc))

    with engine.connect() as blocker, engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        deadlocks_before = _deadlocks(watcher, database)
        blocker.execute(sa.select(table.c.id).where(table.c.id == row_id).with_for_update())
        threads = [threading.Thread(target=run, args=item) for item in requests.items()]
        deadline = time.monotonic() + 20
        for n, thread in enumerate(threads, start=1):
            thread.start()
            while _waiting_backends(watcher, database) < n and time.monotonic() < deadline:
                time.sleep(0.02)
        assert _waiting_backends(watcher, database) == len(threads), "the requests did not all wait"
        blocker.rollback()  # let go
        for thread in threads:
            thread.join(60)
        if expect_deadlock:  # PostgreSQL's statistics arrive a moment after the transaction ends
            while _deadlocks(watcher, database) == deadlocks_before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _deadlocks(watcher, database) == deadlocks_before + 1, "no deadlock happened"
    assert set(results) == set(requests)
    return results


@pytest.mark.parametrize("deadlock", [False, True], ids=["set-based", "record-by-record"])
def test_simultaneous_edits_of_the_same_visits_answer_as_if_sequential(race, deadlock):
    app, tokens, ids = race
    token = tokens["kader_a1"]
    first, second = sorted(str(uuid.uuid4()) for _ in range(2))  # the set-based path locks `first` first
    for mid in (first, second):
        _visit(app, token, new_child_row(app, ids["posyandu_a1"]), mid)
    weights = {"forward": {first: 8.4, second: 8.6}, "backward": {first: 8.5, second: 8.7}}

    def push(name, order):
        records = [{"entity": "measurement", "id": mid, "base_version": 1, "data": {"weight_kg": weights[name][mid]}}
                   for mid in order]
        if deadlock:  # the first record again, unchanged: the batch is applied record by record
            records.append(records[0])
        return lambda: app.test_client().post(PUSH, headers=token, json={"records": records})

    results = _behind_a_held_row(app, Measurement.__table__, uuid.UUID(first),
                                 {"forward": push("forward", (first, second)),
                                  "backward": push("backward", (second, first))}, expect_deadlock=deadlock)
    assert all(status == 200 for status, _ in results.values()), results
    receipts = {name: [r["status"] for r in body["receipts"]] for name, (_, body) in results.items()}
    # the winner's repeated record is a duplicate of its first; the loser's base_version is stale
    won, lost = (["applied", "applied", "duplicate"], ["conflict"] * 3) if deadlock else (["applied"] * 2, ["conflict"] * 2)
    assert sorted(receipts.values()) == [won, lost], receipts
    [winner] = [name for name, statuses in receipts.items() if statuses == won]
    [loser] = [name for name in receipts if name != winner]
    for receipt in results[loser][1]["receipts"]:  # the server copy is the winner's
        assert receipt["record"]["weight_kg"] == weights[winner][receipt["id"]]
        assert receipt["version"] == 2
    with app.app_context():
        stored = {str(mid): (float(weight), version) for mid, weight, version in db.session.execute(
            sa.select(Measurement.id, Measurement.weight_kg, Measurement.version).where(
                Measurement.id.in_([uuid.UUID(first), uuid.UUID(second)]))).all()}
    assert stored == {mid: (weight, 2) for mid, weight in weights[winner].items()}


def _patch_race(app, token, table, row_id, url, bodies):
    """Two PATCHes of one row, both waiting behind its held lock: [(status, json)] in order."""
    results = _behind_a_held_row(app, table, row_id, {
        i: (lambda body=body: app.test_client().patch(url, headers=token, json=body)) for i, body in enumerate(bodies)})
    return [results[i] for i in range(len(bodies))]


def test_two_simultaneous_patches_of_one_visit_are_200_and_409(race):
    """Both edit version 1: the first stored, the second told (409 with the server copy) instead
    of overwriting it unseen."""
    app, tokens, ids = race
    mid = _visit(app, tokens["kader_a1"], new_child_row(app, ids["posyandu_a1"]), str(uuid.uuid4()))
    results = _patch_race(app, tokens["kader_a1"], Measurement.__table__, uuid.UUID(mid), f"/api/v1/measurements/{mid}",
                          [{"weight_kg": 8.3, "base_version": 1}, {"weight_kg": 8.9, "base_version": 1}])
    assert [status for status, _ in results] == [200, 409], results
    assert results[1][1]["server"]["weight_kg"] == 8.3 and results[1][1]["server"]["version"] == 2
    with app.app_context():
        stored = db.session.execute(sa.select(Measurement.weight_kg, Measurement.version)
                                    .where(Measurement.id == uuid.UUID(mid))).one()
    assert (float(stored.weight_kg), stored.version) == (8.3, 2)


def test_two_simultaneous_patches_of_one_dose_are_200_and_409(race):
    from posyandu.immunizations.models import Immunization
    app, tokens, ids = race
    child_id = new_child_row(app, ids["posyandu_a1"])
    created = app.test_client().post(f"/api/v1/children/{child_id}/immunizations", headers=tokens["kader_a1"],
                                     json={"id": str(uuid.uuid4()), "dose_code": "BCG", "given_on": "2025-02-01"})
    assert created.status_code == 201, created.json
    iid = created.json["id"]
    results = _patch_race(app, tokens["kader_a1"], Immunization.__table__, uuid.UUID(iid),
                          f"/api/v1/immunizations/{iid}",
                          [{"lot_number": "A1", "base_version": 1}, {"lot_number": "B2", "base_version": 1}])
    assert [status for status, _ in results] == [200, 409], results
    assert results[1][1]["server"]["lot_number"] == "A1"
