"""Offline sync through HTTP: push receipts, retries, conflicts, bad records, pull with tombstones."""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.measurements.models import Measurement
from posyandu.sync.models import ChangeLog
from tests.factories import headers


def push(client, user, records):
    return client.post("/api/v1/sync/push", json={"records": records}, headers=headers(user))


def pull_all(client, user, since=None, limit=1000):
    changes, pages = [], 0
    while True:
        url = f"/api/v1/sync/pull?limit={limit}" + (f"&since={since}" if since else "")
        response = client.get(url, headers=headers(user))
        assert response.status_code == 200, response.json
        changes.extend(response.json["changes"])
        since = response.json["cursor"]
        pages += 1
        if not response.json["has_more"]:
            return changes, since, pages


def counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Measurement)),
            db.session.scalar(sa.select(sa.func.count()).select_from(ChangeLog)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))


def new_child_batch(world):
    child_id = str(uuid.uuid4())
    good_1, good_2, bad = (str(uuid.uuid4()) for _ in range(3))
    return child_id, [good_1, good_2, bad], [
        {"entity": "measurement", "id": good_1, "client_updated_at": "2026-11-02T09:00:00+07:00",
         "data": {"child_id": child_id, "measured_on": "2025-10-06", "weight_kg": 6.4, "length_cm": 62.0,
                  "measure_method": "lying"}},
        # the child comes after its measurements in the batch: the server applies children first
        {"entity": "child", "id": child_id, "data": {"posyandu_id": world.posyandu_a1.id, "name": "Nadia Putri",
                                                     "sex": 2, "birth_date": "2025-05-02",
                                                     "mother_name": "Sri Wahyuni"}},
        {"entity": "measurement", "id": good_2, "data": {"child_id": child_id, "measured_on": "2025-11-03",
                                                         "weight_kg": 7.1, "length_cm": 64.5,
                                                         "measure_method": "lying"}},
        {"entity": "measurement", "id": bad, "data": {"child_id": child_id, "measured_on": "2025-12-01",
                                                      "weight_kg": -3, "measure_method": "lying"}},
    ]


def test_batch_with_one_bad_record_applies_the_good_ones(client, world):
    child_id, (good_1, good_2, bad), records = new_child_batch(world)
    response = push(client, world.kader_a1, records)
    assert response.status_code == 200, response.json
    receipts = response.json["receipts"]
    assert [r["index"] for r in receipts] == [0, 1, 2, 3]
    assert [r["status"] for r in receipts] == ["applied", "applied", "applied", "invalid"]
    assert "weight_kg" in receipts[3]["errors"]
    assert response.json["summary"] == {"applied": 3, "invalid": 1}
    # the measurement receipt carries the computed assessment: first weighing at this posyandu is B
    assert receipts[0]["record"]["trend_status"] == "B"
    assert receipts[2]["record"]["trend_status"] == "N"  # +700 g at 6 completed months >= KBM 400 g
    assert receipts[0]["record"]["zwei"] is not None and receipts[0]["version"] == 1
    assert db.session.get(Measurement, uuid.UUID(bad)) is None


def test_the_same_batch_three_times_creates_nothing_twice(client, world):
    _, _, records = new_child_batch(world)
    first = push(client, world.kader_a1, records).json["receipts"]
    after_first = counts()
    for _ in range(2):
        again = push(client, world.kader_a1, records).json["receipts"]
        assert [r["status"] for r in again] == ["duplicate", "duplicate", "duplicate", "invalid"]
        assert [r.get("version") for r in again] == [r.get("version") for r in first]
        assert again[0]["record"] == first[0]["record"]
        assert counts() == after_first


def test_conflict_returns_the_server_copy_and_overwrites_nothing(client, world):
    child_id, (good_1, _, _), records = new_child_batch(world)
    push(client, world.kader_a1, records)
    # phone 1 edits from version 1 → applied, version 2
    edit = {"entity": "measurement", "id": good_1, "base_version": 1, "data": {"weight_kg": 6.5}}
    [applied] = push(client, world.kader_a1, [edit]).json["receipts"]
    assert applied["status"] == "applied" and applied["version"] == 2
    # the same edit retried is a duplicate, not a conflict
    [retried] = push(client, world.kader_a1, [edit]).json["receipts"]
    assert retried["status"] == "duplicate" and retried["version"] == 2
    # phone 2 still edits from version 1 with another value → conflict, server copy returned
    [conflict] = push(client, world.kader_a1, [{"entity": "measurement", "id": good_1, "base_version": 1,
                                                "data": {"weight_kg": 6.9}}]).json["receipts"]
    assert conflict["status"] == "conflict"
    assert conflict["record"]["weight_kg"] == 6.5 and conflict["version"] == 2
    assert db.session.get(Measurement, uuid.UUID(good_1)).weight_kg == 6.5


def test_delete_through_push_is_a_tombstone_on_pull(client, world):
    _, (good_1, _, _), records = new_child_batch(world)
    push(client, world.kader_a1, records)
    _, cursor, _ = pull_all(client, world.kader_a1)
    [deleted] = push(client, world.kader_a1, [{"entity": "measurement", "op": "delete", "id": good_1,
                                               "base_version": 1}]).json["receipts"]
    assert deleted["status"] == "applied"
    [again] = push(client, world.kader_a1, [{"entity": "measurement", "op": "delete", "id": good_1,
                                             "base_version": 1}]).json["receipts"]
    assert again["status"] == "duplicate"
    changes, _, _ = pull_all(client, world.kader_a1, since=cursor)
    tombstones = [c for c in changes if c["id"] == good_1]
    assert tombstones and tombstones[-1]["op"] == "delete" and tombstones[-1]["record"] is None


def test_out_of_scope_records_are_invalid_and_untouched(client, world):
    child_id, _, records = new_child_batch(world)
    push(client, world.kader_a1, records)
    foreign = {"entity": "measurement", "id": str(uuid.uuid4()),
               "data": {"child_id": child_id, "measured_on": "2025-12-01", "weight_kg": 7.4}}
    for user in (world.kader_a2, world.kader_b1, world.staff_b, world.dinkes_lamongan):
        [receipt] = push(client, user, [foreign]).json["receipts"]
        assert receipt["status"] == "invalid", (user.username, receipt)
    assert db.session.get(Measurement, uuid.UUID(foreign["id"])) is None


def test_parents_cannot_push(client, world):
    response = push(client, world.parent_1, [{"entity": "measurement", "id": str(uuid.uuid4()), "data": {}}])
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_batch_limits_and_malformed_envelopes(client, world):
    too_many = [{"entity": "measurement", "id": str(uuid.uuid4()), "data": {}}] * 1001
    response = push(client, world.kader_a1, too_many)
    assert response.status_code == 422 and "records" in response.json["errors"]
    child_id, _, records = new_child_batch(world)
    records = records[:3] + [{"entity": "vaccine", "id": "not-a-uuid"}]
    receipts = push(client, world.kader_a1, records).json["receipts"]
    assert [r["status"] for r in receipts] == ["applied", "applied", "applied", "invalid"]
    assert set(receipts[3]["errors"]) >= {"entity", "id"}


def test_new_phone_rebuilds_its_posyandu_and_sees_only_its_scope(client, world):
    child_id, (good_1, good_2, _), records = new_child_batch(world)
    push(client, world.kader_a1, records)
    changes, cursor, pages = pull_all(client, world.kader_a1, limit=2)
    assert pages >= 2
    ids = {(c["entity"], c["id"]) for c in changes if c["op"] == "upsert"}
    assert ("child", child_id) in ids and ("measurement", good_1) in ids and ("measurement", good_2) in ids
    assert ("child", str(world.child_a1.id)) in ids
    assert all(c["record"]["posyandu_id"] == world.posyandu_a1.id for c in changes if c["op"] == "upsert")
    # other posyandu, puskesmas, kabupaten and families see none of it
    for user in (world.kader_a2, world.kader_b1, world.staff_b, world.dinkes_lamongan, world.parent_2):
        theirs, _, _ = pull_all(client, user)
        assert child_id not in {c["id"] for c in theirs}, user.username
        assert good_1 not in {c["id"] for c in theirs}, user.username
    # the puskesmas of A1 and the parent of child A1 see their part
    staff_ids = {c["id"] for c in pull_all(client, world.staff_a)[0]}
    assert {child_id, good_1} <= staff_ids
    parent_ids = {c["id"] for c in pull_all(client, world.parent_1)[0]}
    assert parent_ids == {str(world.child_a1.id)}
    # nothing new since the cursor
    assert pull_all(client, world.kader_a1, since=cursor)[0] == []


def test_move_to_another_posyandu_is_a_tombstone_for_the_old_one(client, world):
    child_id, (good_1, good_2, _), records = new_child_batch(world)
    push(client, world.kader_a1, records)
    _, cursor_a1, _ = pull_all(client, world.kader_a1)
    _, cursor_a2, _ = pull_all(client, world.kader_a2)
    moved = client.post(f"/api/v1/children/{child_id}/move", headers=headers(world.staff_a),
                        json={"posyandu_id": world.posyandu_a2.id, "reason": "pindah RT",
                              "moved_on": date(2026, 11, 1).isoformat()})
    assert moved.status_code == 200, moved.json
    old_side, _, _ = pull_all(client, world.kader_a1, since=cursor_a1)
    assert {(c["id"], c["op"]) for c in old_side} >= {(child_id, "delete"), (good_1, "delete"), (good_2, "delete")}
    assert all(c["op"] == "delete" for c in old_side)
    new_side, _, _ = pull_all(client, world.kader_a2, since=cursor_a2)
    assert {(c["id"], c["op"]) for c in new_side} >= {(child_id, "upsert"), (good_1, "upsert"), (good_2, "upsert")}


def test_bad_cursor_is_a_clear_error(client, world):
    response = client.get("/api/v1/sync/pull?since=garbage", headers=headers(world.kader_a1))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json" and "since" in response.json["errors"]
