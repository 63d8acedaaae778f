"""Recording, correcting and deleting doses: validity, duplicates, retries, bad input, tenancy.

Hand-worked from immunization-schedule-id.md §2 for a baby born 2025-01-10:
- DPT-HB-Hib 1: recommended 2 months (2025-03-10), minimum age 6 weeks = 42 days (2025-02-21).
- OPV2: minimum age 6 weeks (2025-02-21), at least 4 weeks (28 days) after OPV1.
- RV1: maximum age "< 5 mo", i.e. the last permitted day is 2025-06-09.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from posyandu.immunizations.schemas import latest_today
from posyandu.sync.models import ChangeLog

from tests import factories
from tests.immunizations.conftest import count, counts

H = factories.headers


def test_on_time_dose_is_valid_and_audited(client, world, baby, give):
    before = counts()
    body = give(baby, "DPTHBHIB1", date(2025, 3, 10), lot_number="LOT-123", place="posyandu",
                given_by_name="Bidan Sari").json
    assert body["is_valid"] is True
    assert body["invalid_reasons"] == [] and body["invalid_reason"] is None
    assert body["dose_code"] == "DPTHBHIB1"
    assert body["vaccine_code"] == "DPT-HB-Hib"
    assert body["names"] == {"id": "DPT-HB-Hib 1", "en": "DPT-HB-Hib 1"}
    assert body["program"] == "dasar"
    assert body["posyandu_id"] == world.posyandu_a1.id
    assert body["lot_number"] == "LOT-123" and body["given_by_name"] == "Bidan Sari"
    assert body["version"] == 1
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.entity == "immunization")).scalar_one()
    assert event.action == "create" and event.entity_id == body["id"]
    change = db.session.execute(sa.select(ChangeLog).where(ChangeLog.entity == "immunization")).scalar_one()
    assert str(change.entity_id) == body["id"] and change.posyandu_id == world.posyandu_a1.id
    assert change.op == "upsert" and change.child_id == baby.id


def test_too_early_dose_is_stored_invalid_with_reason(client, world, baby, give):
    # 2025-02-14 is 35 days old: below the 6-week minimum (2025-02-21)
    body = give(baby, "DPTHBHIB1", date(2025, 2, 14)).json
    assert body["is_valid"] is False
    assert body["invalid_reasons"] == ["too_early"]
    row = db.session.get(Immunization, uuid.UUID(body["id"]))
    assert row is not None and row.is_valid is False and row.invalid_reason == "too_early"
    # the schedule still asks for DPT-HB-Hib 1 and shows the invalid record against it
    sched = client.get(f"/api/v1/children/{baby.id}/immunization-schedule?on=2025-03-20", headers=H(world.kader_a1)).json
    dpt1 = next(d for d in sched["doses"] if d["code"] == "DPTHBHIB1")
    assert dpt1["status"] == "due"
    assert dpt1["administrations"] == [{"immunization_id": body["id"], "recorded_code": "DPTHBHIB1",
                                        "given_on": "2025-02-14", "valid": False,
                                        "invalid_reasons": ["too_early"], "warnings": []}]


def test_interval_too_short_and_after_max_age(client, world, baby, give):
    give(baby, "OPV1", date(2025, 2, 10))
    opv2 = give(baby, "OPV2", date(2025, 3, 1)).json  # 19 days after OPV1 (< 28)
    assert opv2["is_valid"] is False and opv2["invalid_reasons"] == ["interval_too_short"]
    rv1 = give(baby, "RV1", date(2025, 6, 10)).json  # one day after the last permitted day
    assert rv1["is_valid"] is False and rv1["invalid_reasons"] == ["after_max_age"]
    rv1_ok = give(factories.child(world.posyandu_a1, "Bayi Dua", birth_date=date(2025, 1, 10)),
                  "RV1", date(2025, 6, 9)).json
    assert rv1_ok["is_valid"] is True


def test_correcting_an_earlier_dose_revalidates_later_ones(client, world, baby, give):
    opv1 = give(baby, "OPV1", date(2025, 2, 10)).json
    opv2 = give(baby, "OPV2", date(2025, 3, 1)).json
    assert opv2["is_valid"] is False
    changes_before = count(ChangeLog)
    # the OPV1 date was mistyped: really 2025-01-31, 29 days before OPV2 -> OPV2 valid
    response = client.patch(f"/api/v1/immunizations/{opv1['id']}", json={"given_on": "2025-01-31", "base_version": 1},
                            headers=H(world.kader_a1))
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2 and response.json["given_on"] == "2025-01-31"
    again = client.get(f"/api/v1/immunizations/{opv2['id']}", headers=H(world.kader_a1)).json
    assert again["is_valid"] is True and again["invalid_reasons"] == []
    assert again["version"] == 1  # what the cadre entered did not change
    # both rows go to the phones
    logged = {str(c.entity_id) for c in db.session.execute(
        sa.select(ChangeLog).where(ChangeLog.entity == "immunization")).scalars()}
    assert {opv1["id"], opv2["id"]} <= logged
    assert count(ChangeLog) == changes_before + 2
    # deleting OPV1 makes OPV2 count as the first polio dose (it is "recorded as other dose")
    assert client.delete(f"/api/v1/immunizations/{opv1['id']}", headers=H(world.kader_a1)).status_code == 204
    again = client.get(f"/api/v1/immunizations/{opv2['id']}", headers=H(world.kader_a1)).json
    assert again["is_valid"] is True and "recorded_as_other_dose" in again["warnings"]


def test_duplicate_dose_is_refused_naming_the_dose(client, world, baby, give):
    give(baby, "DPTHBHIB1", date(2025, 3, 10))
    before = counts()
    response = give(baby, "dpthbhib1", date(2025, 3, 17), expect=409)
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("duplicate-dose")
    assert "DPTHBHIB1" in response.json["detail"] and "DPT-HB-Hib 1" in response.json["detail"]
    assert "2025-03-10" in response.json["detail"]
    assert response.json["dose_code"] == "DPTHBHIB1"
    assert counts() == before


def test_dose_can_be_recorded_again_after_delete(client, world, baby, give):
    first = give(baby, "BCG", date(2025, 2, 10)).json
    assert client.delete(f"/api/v1/immunizations/{first['id']}", headers=H(world.kader_a1)).status_code == 204
    give(baby, "BCG", date(2025, 2, 11))
    assert count(Immunization, Immunization.child_id == baby.id, Immunization.deleted_at.is_(None)) == 1


def test_retried_post_returns_the_same_answer_and_creates_nothing(client, world, baby, give):
    iid = uuid.uuid4()
    first = give(baby, "HB0", date(2025, 1, 10), iid=iid, lot_number="HB-9").json
    before = counts()
    again = give(baby, "HB0", date(2025, 1, 10), iid=iid, lot_number="HB-9", expect=200).json
    assert again == first
    assert counts() == before
    # the same id with other values is a conflict carrying the server copy
    other = give(baby, "HB0", date(2025, 1, 11), iid=iid, lot_number="HB-9", expect=409).json
    assert other["server"]["given_on"] == "2025-01-10"
    assert counts() == before


def test_patch_with_stale_version_conflicts_with_server_copy(client, world, baby, give):
    row = give(baby, "BCG", date(2025, 2, 10)).json
    ok = client.patch(f"/api/v1/immunizations/{row['id']}", json={"lot_number": "B-2", "base_version": 1},
                      headers=H(world.staff_a))
    assert ok.status_code == 200 and ok.json["version"] == 2
    before = counts()
    stale = client.patch(f"/api/v1/immunizations/{row['id']}", json={"lot_number": "B-3", "base_version": 1},
                         headers=H(world.kader_a1))
    assert stale.status_code == 409
    assert stale.json["server"]["version"] == 2 and stale.json["server"]["lot_number"] == "B-2"
    assert counts() == before
    # the same values again change nothing (no version bump)
    same = client.patch(f"/api/v1/immunizations/{row['id']}", json={"lot_number": "B-2"}, headers=H(world.kader_a1))
    assert same.json["version"] == 2


def test_patch_to_a_dose_already_recorded_is_a_duplicate(client, world, baby, give):
    give(baby, "OPV1", date(2025, 2, 10))
    opv2 = give(baby, "OPV2", date(2025, 3, 10)).json
    response = client.patch(f"/api/v1/immunizations/{opv2['id']}", json={"dose_code": "OPV1"},
                            headers=H(world.kader_a1))
    assert response.status_code == 409 and response.json["type"].endswith("duplicate-dose")
    assert db.session.get(Immunization, uuid.UUID(opv2["id"])).dose_code == "OPV2"


def test_soft_delete_get_and_list(client, world, baby, give):
    row = give(baby, "BCG", date(2025, 2, 10)).json
    give(baby, "HB0", date(2025, 1, 10))
    listed = client.get(f"/api/v1/children/{baby.id}/immunizations", headers=H(world.kader_a1)).json["items"]
    assert [r["dose_code"] for r in listed] == ["HB0", "BCG"]
    assert client.delete(f"/api/v1/immunizations/{row['id']}?base_version=1",
                         headers=H(world.kader_a1)).status_code == 204
    stored = db.session.get(Immunization, uuid.UUID(row["id"]))
    assert stored.deleted_at is not None and stored.version == 2
    got = client.get(f"/api/v1/immunizations/{row['id']}", headers=H(world.staff_a)).json
    assert got["deleted_at"] is not None
    listed = client.get(f"/api/v1/children/{baby.id}/immunizations", headers=H(world.kader_a1)).json["items"]
    assert [r["dose_code"] for r in listed] == ["HB0"]
    before = counts()
    assert client.delete(f"/api/v1/immunizations/{row['id']}", headers=H(world.kader_a1)).status_code == 204
    assert counts() == before
    change = db.session.execute(sa.select(ChangeLog).where(ChangeLog.entity_id == stored.id)).scalars().all()
    assert [c.op for c in change] == ["upsert", "delete"]


@pytest.mark.parametrize("body,field", [
    ({"dose_code": "XYZ1", "given_on": "2025-03-10"}, "dose_code"),
    ({"dose_code": "BCG", "given_on": "10-03-2025"}, "given_on"),
    ({"dose_code": "BCG", "given_on": "2025-03-10", "place": "home"}, "place"),
    ({"dose_code": "BCG", "given_on": "2025-03-10", "lot_number": "x" * 41}, "lot_number"),
    ({"dose_code": "BCG", "given_on": "2025-03-10", "colour": "red"}, "colour"),
    ({"dose_code": "BCG", "given_on": "2025-01-09"}, "given_on"),  # before birth
    ({"dose_code": "BCG", "given_on": "2025-03-10", "given_by_user_id": 999999}, "given_by_user_id"),
    ({"given_on": "2025-03-10"}, "dose_code"),
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(client, world, baby, body, field):
    before = counts()
    response = client.post(f"/api/v1/children/{baby.id}/immunizations", json={"id": str(uuid.uuid4()), **body},
                           headers=H(world.kader_a1))
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert counts() == before


def test_future_date_and_bad_patch_are_422(client, world, baby, give):
    tomorrow = (latest_today() + timedelta(days=1)).isoformat()
    response = client.post(f"/api/v1/children/{baby.id}/immunizations",
                           json={"id": str(uuid.uuid4()), "dose_code": "BCG", "given_on": tomorrow},
                           headers=H(world.kader_a1))
    assert response.status_code == 422 and "given_on" in response.json["errors"]
    row = give(baby, "BCG", date(2025, 2, 10)).json
    before = counts()
    for body, field in (({"given_on": None}, "given_on"), ({"place": "rumah"}, "place"),
                        ({"dose_code": "BCG9"}, "dose_code"), ({"base_version": 0}, "base_version")):
        bad = client.patch(f"/api/v1/immunizations/{row['id']}", json=body, headers=H(world.kader_a1))
        assert bad.status_code == 422, (body, bad.json)
        assert field in bad.json["errors"]
    assert counts() == before
    assert db.session.get(Immunization, uuid.UUID(row["id"])).version == 1


OUTSIDERS = ("kader_a2", "staff_b", "dinkes_lamongan")


@pytest.mark.parametrize("who", OUTSIDERS)
def test_wrong_tenant_is_404_on_every_endpoint(client, world, baby, give, who):
    row = give(baby, "BCG", date(2025, 2, 10)).json
    user = getattr(world, who)
    before = counts()
    body = {"id": str(uuid.uuid4()), "dose_code": "HB0", "given_on": "2025-01-10"}
    assert client.post(f"/api/v1/children/{baby.id}/immunizations", json=body, headers=H(user)).status_code == 404
    assert client.get(f"/api/v1/children/{baby.id}/immunizations", headers=H(user)).status_code == 404
    assert client.get(f"/api/v1/immunizations/{row['id']}", headers=H(user)).status_code == 404
    assert client.patch(f"/api/v1/immunizations/{row['id']}", json={"lot_number": "X"},
                        headers=H(user)).status_code == 404
    assert client.delete(f"/api/v1/immunizations/{row['id']}", headers=H(user)).status_code == 404
    assert client.get(f"/api/v1/children/{baby.id}/immunization-schedule", headers=H(user)).status_code == 404
    assert counts() == before


def test_staff_of_the_area_and_dinkes_and_admin_may_record(client, world, baby, give):
    give(baby, "HB0", date(2025, 1, 10), user=world.staff_a)
    give(baby, "BCG", date(2025, 2, 10), user=world.dinkes_gresik)
    give(baby, "OPV1", date(2025, 2, 10), user=world.admin)


def test_parents_read_their_own_child_only_and_never_write(client, world, give):
    mine = give(world.child_a1, "HB0", date(2024, 3, 15)).json
    theirs = give(world.child_b1, "HB0", date(2022, 1, 20), user=world.kader_b1).json
    got = client.get(f"/api/v1/immunizations/{mine['id']}", headers=H(world.parent_1))
    assert got.status_code == 200
    assert "version" not in got.json and "lot_number" not in got.json and got.json["dose_code"] == "HB0"
    listed = client.get(f"/api/v1/children/{world.child_a1.id}/immunizations", headers=H(world.parent_1))
    assert listed.status_code == 200 and [r["dose_code"] for r in listed.json["items"]] == ["HB0"]
    # another family's child: not found
    assert client.get(f"/api/v1/immunizations/{theirs['id']}", headers=H(world.parent_1)).status_code == 404
    assert client.get(f"/api/v1/children/{world.child_b1.id}/immunizations",
                      headers=H(world.parent_1)).status_code == 404
    # parents cannot write: wrong role
    before = counts()
    body = {"id": str(uuid.uuid4()), "dose_code": "BCG", "given_on": "2024-04-15"}
    assert client.post(f"/api/v1/children/{world.child_a1.id}/immunizations", json=body,
                       headers=H(world.parent_1)).status_code == 403
    assert client.patch(f"/api/v1/immunizations/{mine['id']}", json={"lot_number": "X"},
                        headers=H(world.parent_1)).status_code == 403
    assert client.delete(f"/api/v1/immunizations/{mine['id']}", headers=H(world.parent_1)).status_code == 403
    assert counts() == before


def test_reusing_another_areas_immunization_id_shows_nothing_of_it(client, world, baby, give):
    given = give(baby, "HB0", date(2025, 1, 10), lot_number="HB-9").json
    before = counts()
    response = give(world.child_b1, "BCG", date(2025, 1, 11), user=world.kader_b1, iid=given["id"], expect=409)
    assert response.mimetype == "application/problem+json"
    assert "server" not in response.json and "HB-9" not in response.get_data(as_text=True)
    assert counts() == before
