"""Tenancy after a child moves or is merged, and what sync push and pull show.

A child's current posyandu decides who sees her records: after a hand-over or a merge the old
area no longer reads them (REST or sync), and nothing of another area's record appears in a
receipt or an error. Parents pulling get the parent view. Found by an audit of every endpoint;
each test failed before its fix."""
from __future__ import annotations

import uuid

from posyandu.extensions import db

from tests import factories

H = factories.headers
API = "/api/v1"


def _handover_with_records(client, world):
    """kader_a1 records a visit and a dose for child_a1 at A1; staff_a hands the child over to
    B1 (another puskesmas, same kabupaten); kader_b1 then corrects both records."""
    child = world.child_a1
    mid, iid = str(uuid.uuid4()), str(uuid.uuid4())
    r = client.post(f"{API}/measurements", headers=H(world.kader_a1), json={
        "id": mid, "child_id": str(child.id), "measured_on": "2025-01-15", "weight_kg": 9.0,
        "length_cm": 75.0, "measure_method": "lying"})
    assert r.status_code == 201, r.json
    r = client.post(f"{API}/children/{child.id}/immunizations", headers=H(world.kader_a1), json={
        "id": iid, "dose_code": "BCG", "given_on": "2024-03-20", "lot_number": "LOT-A"})
    assert r.status_code == 201, r.json
    r = client.post(f"{API}/children/{child.id}/move", headers=H(world.staff_a),
                    json={"posyandu_id": world.posyandu_b1.id})
    assert r.status_code == 200, r.json
    # the new area edits the records after the hand-over
    r = client.patch(f"{API}/measurements/{mid}", headers=H(world.kader_b1), json={"notes": "SECRET-B-NOTE"})
    assert r.status_code == 200, r.json
    r = client.patch(f"{API}/immunizations/{iid}", headers=H(world.kader_b1), json={"lot_number": "LOT-B-SECRET"})
    assert r.status_code == 200, r.json
    # the child itself is now out of A's scope
    assert client.get(f"{API}/children/{child.id}", headers=H(world.kader_a1)).status_code == 404
    assert client.get(f"{API}/children/{child.id}", headers=H(world.staff_a)).status_code == 404
    return mid, iid


def test_moved_child_measurement_readable_by_old_posyandu(client, world):
    mid, _ = _handover_with_records(client, world)
    r = client.get(f"{API}/measurements/{mid}", headers=H(world.kader_a1))
    assert r.status_code == 404, r.json          # was: 200 with notes "SECRET-B-NOTE"


def test_moved_child_measurement_in_old_posyandu_list(client, world):
    mid, _ = _handover_with_records(client, world)
    r = client.get(f"{API}/measurements?posyandu_id={world.posyandu_a1.id}&month=2025-01",
                   headers=H(world.staff_a))
    assert r.status_code == 200
    assert mid not in [i["id"] for i in r.json["items"]], r.json   # was: listed, with B's notes


def test_moved_child_immunization_readable_by_old_posyandu(client, world):
    _, iid = _handover_with_records(client, world)
    r = client.get(f"{API}/immunizations/{iid}", headers=H(world.kader_a1))
    assert r.status_code == 404, r.json          # was: 200 with lot_number "LOT-B-SECRET"


def test_moved_child_immunization_edit_audited_to_old_area(client, world):
    _handover_with_records(client, world)
    r = client.get(f"{API}/audit?entity=immunization", headers=H(world.staff_a))
    assert r.status_code == 200
    assert "LOT-B-SECRET" not in r.get_data(as_text=True), r.json   # was: B's edit diff visible to A


def test_moved_child_immunization_edit_reaches_new_posyandu_phone(client, world):
    """Not a leak but the same root cause: the change-log row of B's edit is written for A1,
    so B1's phone never receives its own edit (A1 gets a tombstone instead)."""
    from posyandu.sync.models import ChangeLog
    import sqlalchemy as sa
    _, iid = _handover_with_records(client, world)
    rows = db.session.execute(sa.select(ChangeLog.posyandu_id, ChangeLog.op)
                              .where(ChangeLog.entity == "immunization", ChangeLog.entity_id == uuid.UUID(iid))
                              .order_by(ChangeLog.id)).all()
    # the last row is B's edit: it must be noted for B1 (where the child is now)
    assert tuple(rows[-1]) == (world.posyandu_b1.id, "upsert"), rows


def test_sync_push_conflict_returns_moved_childs_measurement(client, world):
    """kader_a1 reuses (or replays) the id of a measurement of a child that left A1: the receipt
    carries the record as B edited it."""
    mid, _ = _handover_with_records(client, world)
    other = factories.child(world.posyandu_a1, "Anak Lain")
    db.session.commit()
    r = client.post(f"{API}/sync/push", headers=H(world.kader_a1), json={"records": [
        {"entity": "measurement", "id": mid, "op": "upsert",
         "data": {"child_id": str(other.id), "measured_on": "2025-01-15", "weight_kg": 9.0}}]})
    assert r.status_code == 200, r.json
    receipt = r.json["receipts"][0]
    assert "record" not in receipt, receipt      # was: record with notes "SECRET-B-NOTE"


def test_parent_pull_gets_staff_only_fields(client, world):
    """Parents get the parent view over REST (no identifiers/address, no notes/lot numbers);
    /sync/pull hands them the staff serialisation."""
    child = world.child_a1
    r = client.patch(f"{API}/children/{child.id}", headers=H(world.kader_a1),
                     json={"address": "Jl. Rahasia 7", "mother_nik": "3525015501900001"})
    assert r.status_code == 200, r.json
    r = client.post(f"{API}/children/{child.id}/immunizations", headers=H(world.kader_a1), json={
        "id": str(uuid.uuid4()), "dose_code": "BCG", "given_on": "2024-03-20", "lot_number": "LOT-X"})
    assert r.status_code == 201, r.json
    rest = client.get(f"{API}/children/{child.id}", headers=H(world.parent_1)).json
    assert "address" not in rest and "mother_nik_masked" not in rest
    pulled = client.get(f"{API}/sync/pull", headers=H(world.parent_1)).json
    records = [c["record"] for c in pulled["changes"] if c["entity"] == "child"]
    assert records and "address" not in records[0] and "mother_nik_masked" not in records[0], records
    imms = [c["record"] for c in pulled["changes"] if c["entity"] == "immunization"]
    assert imms and "lot_number" not in imms[0], imms


def test_sync_delete_other_areas_measurement_answers_duplicate(client, world):
    """Existence oracle: deleting another area's live measurement answers `duplicate` (batch path)
    instead of the `invalid`/not-found the per-record path gives."""
    mid = str(uuid.uuid4())
    r = client.post(f"{API}/measurements", headers=H(world.kader_b1), json={
        "id": mid, "child_id": str(world.child_b1.id), "measured_on": "2025-01-15", "weight_kg": 12.0})
    assert r.status_code == 201, r.json
    r = client.post(f"{API}/sync/push", headers=H(world.kader_a1), json={"records": [
        {"entity": "measurement", "id": mid, "op": "delete"}]})
    assert r.json["receipts"][0]["status"] == "invalid", r.json
    r = client.post(f"{API}/sync/push", headers=H(world.kader_a1), json={"records": [
        {"entity": "measurement", "id": str(uuid.uuid4()), "op": "delete"}]})
    assert r.json["receipts"][0]["status"] == "invalid", r.json


def test_merged_records_stay_readable_by_duplicates_posyandu(client, world):
    """Merge A2's record into A1's: the moved measurement keeps posyandu_id A2, so kader_a2 keeps
    reading it (and A1's later edits) although the child is not hers."""
    dup = factories.child(world.posyandu_a2, "Ahmad Fauzi", birth_date=world.child_a1.birth_date,
                          mother_name="Siti Aminah")
    db.session.commit()
    mid = str(uuid.uuid4())
    r = client.post(f"{API}/measurements", headers=H(world.kader_a2), json={
        "id": mid, "child_id": str(dup.id), "measured_on": "2025-01-15", "weight_kg": 9.0})
    assert r.status_code == 201, r.json
    r = client.post(f"{API}/children/{world.child_a1.id}/merge", headers=H(world.staff_a),
                    json={"duplicate_id": str(dup.id)})
    assert r.status_code == 200, r.json
    r = client.patch(f"{API}/measurements/{mid}", headers=H(world.kader_a1), json={"notes": "A1-ONLY-NOTE"})
    assert r.status_code == 200, r.json
    assert client.get(f"{API}/children/{world.child_a1.id}", headers=H(world.kader_a2)).status_code == 404
    r = client.get(f"{API}/measurements/{mid}", headers=H(world.kader_a2))
    assert r.status_code == 404, r.json          # was: 200 with notes "A1-ONLY-NOTE"


def test_retried_delete_of_another_areas_deleted_immunization_is_not_found(client, world):
    """The per-record push path: deleting an id that is another area's soft-deleted dose answers
    invalid (not found), like any unknown id, instead of a `duplicate` that reveals it exists."""
    baby = factories.child(world.posyandu_b1, "Bayi B", birth_date=world.child_a1.birth_date)
    db.session.commit()
    iid = str(uuid.uuid4())
    r = client.post(f"{API}/children/{baby.id}/immunizations", headers=H(world.kader_b1), json={
        "id": iid, "dose_code": "BCG", "given_on": "2024-03-20"})
    assert r.status_code == 201, r.json
    assert client.delete(f"{API}/immunizations/{iid}", headers=H(world.kader_b1)).status_code == 204
    r = client.post(f"{API}/sync/push", headers=H(world.kader_a1), json={"records": [
        {"entity": "immunization", "id": iid, "op": "delete"}]})
    assert r.json["receipts"][0]["status"] == "invalid", r.json
    r = client.post(f"{API}/sync/push", headers=H(world.kader_b1), json={"records": [
        {"entity": "immunization", "id": iid, "op": "delete"}]})
    assert r.json["receipts"][0]["status"] == "duplicate", r.json  # the owner's retry stays a no-op
