"""Children arriving through /sync/push use the same operations as the REST endpoints."""
from __future__ import annotations

import uuid

import pytest

from posyandu.children.models import Child
from posyandu.extensions import db
from tests.factories import headers

from .helpers import GIRL_NIK, count_children

# /sync/push loads every entity's adapter; skip until the measurements one exists.
pytest.importorskip("posyandu.measurements.sync_adapter")


def push(client, user, records):
    return client.post("/api/v1/sync/push", json={"records": records}, headers=headers(user))


def test_push_creates_once_and_reports_warnings(client, world):
    child_id = str(uuid.uuid4())
    record = {"entity": "child", "id": child_id, "data": {
        "posyandu_id": world.posyandu_a1.id, "name": "Aisyah Putri", "sex": 2, "birth_date": "2024-03-16",
        "nik": GIRL_NIK, "mother_name": "Nur Hidayah"}}
    first = push(client, world.kader_a1, [record])
    assert first.status_code == 200, first.json
    [receipt] = first.json["receipts"]
    assert receipt["status"] == "applied" and receipt["version"] == 1
    assert [w["code"] for w in receipt["warnings"]] == ["nik_birth_date_mismatch"]
    assert GIRL_NIK not in first.get_data(as_text=True)
    before = count_children()
    [again] = push(client, world.kader_a1, [record]).json["receipts"]
    assert again["status"] == "duplicate" and count_children() == before


def test_push_update_with_stale_base_version_is_a_conflict(client, world):
    child_id = str(world.child_a1.id)
    ok = push(client, world.kader_a1, [{"entity": "child", "id": child_id, "base_version": 1,
                                        "data": {"name": "Ahmad F.", "version": 1, "nik_masked": None}}])
    assert ok.json["receipts"][0]["status"] == "applied", ok.json
    [receipt] = push(client, world.kader_a1, [{"entity": "child", "id": child_id, "base_version": 1,
                                               "data": {"name": "Achmad"}}]).json["receipts"]
    assert receipt["status"] == "conflict" and receipt["record"]["name"] == "Ahmad F."
    assert db.session.get(Child, world.child_a1.id).name == "Ahmad F."


def test_push_invalid_and_out_of_scope(client, world):
    receipts = push(client, world.kader_a1, [
        {"entity": "child", "id": str(uuid.uuid4()), "data": {"posyandu_id": world.posyandu_a1.id, "name": "X",
                                                              "sex": 2, "birth_date": "2024-01-01",
                                                              "nik": "123"}},
        {"entity": "child", "id": str(world.child_b1.id), "base_version": 1, "data": {"name": "Y"}},
    ]).json["receipts"]
    assert receipts[0]["status"] == "invalid" and "nik" in receipts[0]["errors"]
    assert receipts[1]["status"] == "invalid"
    assert db.session.get(Child, world.child_b1.id).name == "Budi Santoso"


def test_push_reusing_another_areas_record_ids_shows_nothing_of_them(client, world):
    """A create whose id is another area's child, measurement or immunization: conflict, and
    the receipt carries nothing of that record (the REST paths answer 409 the same way)."""
    from datetime import date

    from tests import factories
    visit = client.post("/api/v1/measurements", headers=headers(world.kader_b1), json={
        "id": str(uuid.uuid4()), "child_id": str(world.child_b1.id), "measured_on": "2024-09-15", "weight_kg": 12.3})
    assert visit.status_code == 201, visit.json
    baby = factories.child(world.posyandu_b1, "Bayi Anggrek", birth_date=date(2025, 1, 10))
    dose = client.post(f"/api/v1/children/{baby.id}/immunizations", headers=headers(world.kader_b1),
                       json={"id": str(uuid.uuid4()), "dose_code": "HB0", "given_on": "2025-01-10", "lot_number": "LOT-B1"})
    assert dose.status_code == 201, dose.json
    response = push(client, world.kader_a1, [
        {"entity": "child", "id": str(world.child_b1.id), "data": {
            "posyandu_id": world.posyandu_a1.id, "name": "Anak Lain", "sex": 1, "birth_date": "2024-03-16",
            "mother_name": "Ibu Lain"}},
        {"entity": "measurement", "id": visit.json["id"], "data": {
            "child_id": str(world.child_a1.id), "measured_on": "2024-09-15", "weight_kg": 7.5}},
        {"entity": "immunization", "id": dose.json["id"], "data": {
            "child_id": str(world.child_a1.id), "dose_code": "HB0", "given_on": "2024-03-15"}},
    ])
    assert response.status_code == 200, response.json
    assert [r["status"] for r in response.json["receipts"]] == ["conflict"] * 3, response.json
    assert all("record" not in r for r in response.json["receipts"])
    text = response.get_data(as_text=True)
    assert "Budi" not in text and "12.3" not in text and "LOT-B1" not in text
