"""Immunizations through offline sync: the push adapter, and POST /sync/push end to end.

``/sync/push`` imports every entity's adapter; while the measurements adapter is not there yet
the end-to-end test stands in a placeholder for it, and the adapter functions are also tested
directly.
"""
from __future__ import annotations

import importlib.util
import sys
import types
import uuid
from datetime import date

import pytest

from posyandu.auth.scope import Scope
from posyandu.errors import Conflict, NotFound
from posyandu.immunizations import sync_adapter
from posyandu.sync.pull import record_by_id

from tests import factories
from tests.immunizations.conftest import counts

H = factories.headers


def _kader_scope(world, user=None, posyandu=None):
    user = user or world.kader_a1
    return Scope(user_id=user.id, role="kader", posyandu_ids=frozenset({(posyandu or world.posyandu_a1).id}))


def test_adapter_create_retry_update_delete(app, world, baby):
    scope = _kader_scope(world)
    iid = uuid.uuid4()
    data = {"id": str(iid), "child_id": str(baby.id), "dose_code": "DPTHBHIB1", "given_on": "2025-02-14",
            "lot_number": "L1", "client_updated_at": "2025-02-14T03:00:00+00:00"}
    row, created, warnings = sync_adapter.ADAPTER.create(scope, data)
    assert created is True and row.is_valid is False
    assert warnings == ["invalid:too_early"]
    before = counts()
    # the phone retries the batch, echoing server fields it pulled: nothing new
    row2, created2, _ = sync_adapter.ADAPTER.create(scope, {**data, "version": 1, "is_valid": False,
                                                            "posyandu_id": world.posyandu_a1.id})
    assert created2 is False and row2.id == iid and counts() == before
    assert sync_adapter.ADAPTER.same_content(scope, iid, data) is True
    assert sync_adapter.ADAPTER.same_content(scope, iid, {**data, "given_on": "2025-03-10"}) is False
    # the pulled record has the sync fields
    pulled = record_by_id("immunization", iid)
    assert pulled["dose_code"] == "DPTHBHIB1" and pulled["vaccine_code"] == "DPT-HB-Hib"
    assert pulled["is_valid"] is False and pulled["invalid_reason"] == "too_early"
    # an edit from version 1 corrects the date: now valid
    row3, warnings3 = sync_adapter.ADAPTER.update(scope, iid, {**data, "given_on": "2025-03-10"}, 1)
    assert row3.version == 2 and row3.is_valid is True and warnings3 == []
    with pytest.raises(Conflict):
        sync_adapter.ADAPTER.update(scope, iid, {**data, "lot_number": "L2"}, 1)  # stale
    # another UUID for the same dose: a conflict naming the dose
    with pytest.raises(Conflict) as dup:
        sync_adapter.ADAPTER.create(scope, {**data, "id": str(uuid.uuid4())})
    assert "DPTHBHIB1" in dup.value.detail
    deleted = sync_adapter.ADAPTER.delete(scope, iid, 2)
    assert deleted.deleted_at is not None and deleted.version == 3
    # another posyandu's cadre cannot reach it
    with pytest.raises(NotFound):
        sync_adapter.ADAPTER.create(_kader_scope(world, world.kader_b1, world.posyandu_b1),
                                    {**data, "id": str(uuid.uuid4()), "dose_code": "BCG"})


def test_adapter_rejects_a_move_to_another_child(app, world, baby):
    scope = _kader_scope(world)
    iid = uuid.uuid4()
    sync_adapter.ADAPTER.create(scope, {"id": str(iid), "child_id": str(baby.id), "dose_code": "BCG",
                                        "given_on": "2025-02-10"})
    from posyandu.errors import InvalidInput
    with pytest.raises(InvalidInput) as excinfo:
        sync_adapter.ADAPTER.update(scope, iid, {"child_id": str(world.child_a1.id), "given_on": "2025-02-11"}, 1)
    assert "child_id" in excinfo.value.errors


@pytest.fixture
def push_adapters(monkeypatch):
    """/sync/push imports every entity's adapter. While the measurements adapter is not written
    yet, stand in a placeholder for it (immunization records never reach it)."""
    if importlib.util.find_spec("posyandu.measurements.sync_adapter") is None:
        from posyandu.sync.adapters import Adapter
        stub = types.ModuleType("posyandu.measurements.sync_adapter")
        stub.ADAPTER = Adapter(create=None, update=None, delete=None, same_content=None)
        monkeypatch.setitem(sys.modules, "posyandu.measurements.sync_adapter", stub)
        import posyandu.measurements as package
        monkeypatch.setattr(package, "sync_adapter", stub, raising=False)


def test_push_an_immunization(client, world, baby, push_adapters):
    iid = str(uuid.uuid4())
    record = {"entity": "immunization", "id": iid, "base_version": None,
              "data": {"child_id": str(baby.id), "dose_code": "HB0", "given_on": "2025-01-10", "place": "other_facility",
                       "place_name": "RSUD Ibnu Sina"}}
    response = client.post("/api/v1/sync/push", json={"records": [record]}, headers=H(world.kader_a1))
    assert response.status_code == 200, response.json
    receipt = response.json["receipts"][0]
    assert receipt["status"] == "applied" and receipt["version"] == 1
    assert receipt["record"]["dose_code"] == "HB0" and receipt["record"]["is_valid"] is True
    before = counts()
    again = client.post("/api/v1/sync/push", json={"records": [record]}, headers=H(world.kader_a1)).json
    assert again["receipts"][0]["status"] == "duplicate" and counts() == before
    dup = {**record, "id": str(uuid.uuid4())}
    third = client.post("/api/v1/sync/push", json={"records": [dup]}, headers=H(world.kader_a1)).json
    assert third["receipts"][0]["status"] == "conflict" and "HB0" in third["receipts"][0]["detail"]
    bad = {**record, "id": str(uuid.uuid4()), "data": {**record["data"], "dose_code": "HB9"}}
    fourth = client.post("/api/v1/sync/push", json={"records": [bad]}, headers=H(world.kader_a1)).json
    assert fourth["receipts"][0]["status"] == "invalid" and "dose_code" in fourth["receipts"][0]["errors"]
    assert counts() == before
    assert date.fromisoformat(record_by_id("immunization", uuid.UUID(iid))["given_on"]) == date(2025, 1, 10)


def test_push_edits_and_deletes_an_immunization_over_http(client, world, baby):
    """Through the real endpoint, where record ids arrive as strings (SQLite used to fail)."""
    from tests.factories import headers
    iid = str(uuid.uuid4())
    record = {"entity": "immunization", "id": iid, "base_version": None,
              "data": {"child_id": str(baby.id), "dose_code": "HB0", "given_on": "2025-01-10", "lot_number": "A"}}

    def push(*records):
        response = client.post("/api/v1/sync/push", json={"records": list(records)}, headers=headers(world.kader_a1))
        assert response.status_code == 200, response.json
        return response.json["receipts"]

    assert push(record)[0]["status"] == "applied"
    [edited] = push({**record, "base_version": 1, "data": {**record["data"], "lot_number": "B"}})
    assert edited["status"] == "applied" and edited["record"]["lot_number"] == "B", edited
    [deleted] = push({"entity": "immunization", "id": iid, "op": "delete", "base_version": 2})
    assert deleted["status"] == "applied", deleted
    [again] = push({"entity": "immunization", "id": iid, "op": "delete", "base_version": 2})
    assert again["status"] == "duplicate", again
