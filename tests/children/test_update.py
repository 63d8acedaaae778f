"""PATCH /children/{id}: versions, conflicts, retries, NIK changes, guardians, tenancy."""
from __future__ import annotations

import pytest

from posyandu.children.models import Child
from posyandu.extensions import db

from .helpers import GIRL_NIK, all_audit_text, assert_problem, audit_events, changes_for, patch


def test_update_increments_version_audits_and_notes_sync(client, world):
    response = patch(client, world.kader_a1, world.child_a1.id, {"name": "Ahmad Fauzi Rahman", "rt": "3",
                                                                 "base_version": 1})
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2 and response.json["rt"] == "003"
    [event] = audit_events(world.child_a1.id, "update")
    assert event.changes == {"name": ["Ahmad Fauzi", "Ahmad Fauzi Rahman"], "rt": [None, "003"]}
    assert changes_for(world.child_a1.id) == [("child", world.posyandu_a1.id, "upsert")]
    assert db.session.get(Child, world.child_a1.id).name_key == "ahmad fausi rahman"


def test_stale_base_version_is_409_with_server_copy_and_nothing_overwritten(client, world):
    assert patch(client, world.kader_a1, world.child_a1.id, {"name": "Ahmad F.", "base_version": 1}).status_code == 200
    response = patch(client, world.staff_a, world.child_a1.id, {"name": "Achmad Fauzi", "base_version": 1})
    assert_problem(response, 409, "base_version")
    assert response.json["server"]["name"] == "Ahmad F." and response.json["server"]["version"] == 2
    child = db.session.get(Child, world.child_a1.id)
    assert (child.name, child.version) == ("Ahmad F.", 2)
    assert len(audit_events(world.child_a1.id, "update")) == 1


def test_retried_update_is_idempotent(client, world):
    body = {"name": "Ahmad Fauzi Rahman", "base_version": 1}
    assert patch(client, world.kader_a1, world.child_a1.id, body).status_code == 200
    again = patch(client, world.kader_a1, world.child_a1.id, body)
    assert again.status_code == 200 and again.json["version"] == 2
    assert len(audit_events(world.child_a1.id, "update")) == 1


def test_update_without_base_version_applies(client, world):
    response = patch(client, world.kader_a1, world.child_a1.id, {"birth_weight_kg": 3.1})
    assert response.status_code == 200 and response.json["birth_weight_kg"] == 3.1


def test_setting_and_clearing_nik_never_shows_it(client, world):
    child_id = world.child_a1.id
    # child_a1 is a boy born 2024-03-15 in Kebomas: day 15, no +40
    response = patch(client, world.kader_a1, child_id, {"nik": "3525011503240004"})
    assert response.status_code == 200 and response.json["nik_masked"] == "3525********0004"
    assert response.json["warnings"] == []
    response = patch(client, world.kader_a1, child_id, {"nik": GIRL_NIK})
    assert {w["code"] for w in response.json["warnings"]} == {"nik_sex_mismatch"}
    response = patch(client, world.kader_a1, child_id, {"nik": None})
    assert response.json["has_nik"] is False and response.json["version"] == 4
    events = audit_events(child_id, "update")
    assert [e.changes["nik"] for e in events] == [[None, "***"], ["***", "***"], ["***", None]]
    text = all_audit_text()
    assert "3525011503240004" not in text and GIRL_NIK not in text and "3525********" not in text


def test_guardians_are_replaced(client, world):
    response = patch(client, world.kader_a1, world.child_a1.id,
                     {"guardians": [{"phone": "081322222222", "relationship": "father"}]})
    assert response.status_code == 200
    assert response.json["guardians"] == [{"phone": "+6281322222222", "relationship": "father", "linked": True}]
    # parent_1's phone was removed: parent_1 no longer sees the child, parent_2 does
    from .helpers import get
    assert get(client, world.parent_1, f"/{world.child_a1.id}").status_code == 404
    assert get(client, world.parent_2, f"/{world.child_a1.id}").status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"nik": "3525013203240001"}, "nik"),
    ({"name": ""}, "name"),
    ({"sex": None}, "sex"),
    ({"birth_date": "2999-12-31"}, "birth_date"),
    ({"posyandu_id": 999}, "posyandu_id"),
    ({"id": "00000000-0000-4000-8000-000000000000"}, "id"),
    ({"base_version": 0}, "base_version"),
    ({"status": "closed"}, "status"),
])
def test_bad_update_is_422_and_changes_nothing(client, world, body, field):
    response = patch(client, world.kader_a1, world.child_a1.id, {"name": "Changed Name", **body})
    assert_problem(response, 422, field)
    child = db.session.get(Child, world.child_a1.id)
    assert (child.name, child.version) == ("Ahmad Fauzi", 1)
    assert audit_events(world.child_a1.id, "update") == []


@pytest.mark.parametrize("user_name", ["kader_a2", "kader_b1", "staff_b", "staff_c", "dinkes_lamongan"])
def test_update_outside_scope_is_404(client, world, user_name):
    assert_problem(patch(client, getattr(world, user_name), world.child_a1.id, {"name": "X"}), 404)
    assert db.session.get(Child, world.child_a1.id).name == "Ahmad Fauzi"


@pytest.mark.parametrize("user_name", ["parent_1", "parent_2"])
def test_parents_cannot_write(client, world, user_name):
    assert_problem(patch(client, getattr(world, user_name), world.child_a1.id, {"name": "X"}), 403)
    assert db.session.get(Child, world.child_a1.id).name == "Ahmad Fauzi"
