"""POST /children: validation, NIK handling, idempotent retries, guardians, warnings."""
from __future__ import annotations

import uuid

import pytest

from posyandu.children.models import Child, ChildGuardian
from posyandu.extensions import db

from .helpers import (GIRL_NIK, GIRL_NIK_MASKED, KK, MAN_NIK, MOTHER_NIK, all_audit_text, assert_problem,
                      audit_events, changes_for, count_children, new_child, post)


def codes(response):
    return [w["code"] for w in response.json["warnings"]]


def test_create_minimal_child(client, world):
    body = new_child(world.posyandu_a1)
    response = post(client, world.kader_a1, body=body)
    assert response.status_code == 201, response.json
    data = response.json
    assert data["id"] == body["id"] and data["version"] == 1 and data["status"] == "active"
    assert data["desa_code"] == "35.25.01.2001"  # stored 3525012001, answered dotted
    assert db.session.get(Child, uuid.UUID(data["id"])).desa_code == world.posyandu_a1.desa_code == "3525012001"
    assert data["has_nik"] is False and data["nik_masked"] is None
    assert codes(response) == ["missing_identifier"]
    child = db.session.get(Child, uuid.UUID(body["id"]))
    assert child.name_key == "aisya putri" and child.created_by_id == world.kader_a1.id
    [event] = audit_events(body["id"], "create")
    assert event.changes["name"] == [None, "Aisyah Putri"] and event.posyandu_id == world.posyandu_a1.id
    assert changes_for(body["id"]) == [("child", world.posyandu_a1.id, "upsert")]


def test_create_with_valid_nik_stores_it_encrypted_and_answers_masked(client, world):
    body = new_child(world.posyandu_a1, nik="3525 0155 0324 0001", mother_nik=MOTHER_NIK, kk_number=KK)
    response = post(client, world.kader_a1, body=body)
    assert response.status_code == 201, response.json
    assert response.json["nik_masked"] == GIRL_NIK_MASKED
    assert response.json["mother_nik_masked"] == "3525********0003"
    assert response.json["kk_masked"] == "3525********0007"
    assert response.json["warnings"] == []
    text = response.get_data(as_text=True)
    for secret in (GIRL_NIK, MOTHER_NIK, KK):
        assert secret not in text
    assert "nik" not in response.json and "kk_number" not in response.json
    child = db.session.get(Child, uuid.UUID(body["id"]))
    assert GIRL_NIK not in child.nik_encrypted and child.nik_hmac and child.nik_masked == GIRL_NIK_MASKED
    audit_text = all_audit_text()
    for secret in (GIRL_NIK, MOTHER_NIK, KK, GIRL_NIK_MASKED):
        assert secret not in audit_text
    [event] = audit_events(body["id"], "create")
    assert event.changes["nik"] == [None, "***"] and event.changes["kk_number"] == [None, "***"]


@pytest.mark.parametrize("field, value", [
    ("nik", "352501550324000"),           # 15 digits
    ("nik", "3525015513240001"),          # month 13
    ("nik", "3525013203240001"),          # day 32
    ("nik", "3525015503240000"),          # serial 0000
    ("nik", "0025015503240001"),          # region 00
    ("mother_nik", "35250155032400"),     # too short
    ("kk_number", "352501120320000"),     # 15 digits
])
def test_malformed_identifier_is_rejected_naming_the_field(client, world, field, value):
    before = count_children()
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, **{field: value}))
    assert_problem(response, 422, field)
    assert value not in response.get_data(as_text=True)  # the rejected number is not echoed back
    assert count_children() == before


@pytest.mark.parametrize("overrides, field", [
    ({"name": ...}, "name"),
    ({"name": "   "}, "name"),
    ({"sex": 3}, "sex"),
    ({"birth_date": "2999-01-01"}, "birth_date"),
    ({"birth_date": "15-03-2024"}, "birth_date"),
    ({"birth_weight_kg": 45}, "birth_weight_kg"),
    ({"rt": "12a"}, "rt"),
    ({"desa_code": "3525019999"}, "desa_code"),
    ({"guardians": [{"phone": "12345"}]}, "guardians.0.phone"),
    ({"id": "not-a-uuid"}, "id"),
    ({"colour": "red"}, "colour"),
])
def test_bad_input_is_422_and_creates_nothing(client, world, overrides, field):
    before = count_children()
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, **overrides))
    assert_problem(response, 422, field)
    assert count_children() == before


def test_inconsistent_nik_is_a_warning_not_an_error(client, world):
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, nik=GIRL_NIK,
                                                           birth_date="2024-03-16"))
    assert response.status_code == 201
    assert codes(response) == ["nik_birth_date_mismatch"]
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, nik="3525011503240002", sex=2,
                                                           name="Dewi Anggraini"))
    assert codes(response) == ["nik_sex_mismatch"]
    # issued in Kebomas (352501), child lives in Manyar (352502): a kecamatan-level warning
    response = post(client, world.kader_b1, body=new_child(world.posyandu_b1, nik="3525015503240009"))
    assert response.status_code == 201
    [warning] = response.json["warnings"]
    assert warning["code"] == "nik_region_mismatch" and warning["level"] == "kecamatan"


def test_mother_nik_of_a_man_is_a_warning(client, world):
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, mother_nik=MAN_NIK))
    assert response.status_code == 201
    assert codes(response) == ["mother_nik_not_female"]


def test_same_nik_again_warns(client, world):
    post(client, world.kader_a1, body=new_child(world.posyandu_a1, nik=GIRL_NIK))
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, nik=GIRL_NIK, name="Aisah Putri"))
    assert response.status_code == 201
    assert "nik_already_registered" in codes(response)


def test_retried_create_creates_nothing_twice(client, world):
    body = new_child(world.posyandu_a1, nik=GIRL_NIK, guardians=[{"phone": "0812-7777-0001"}])
    first = post(client, world.kader_a1, body=body)
    assert first.status_code == 201
    before = count_children()
    second = post(client, world.kader_a1, body=body)
    assert second.status_code == 200, second.json
    assert second.json["id"] == body["id"] and second.json["version"] == 1
    assert count_children() == before
    assert len(audit_events(body["id"])) == 1
    assert changes_for(body["id"]) == [("child", world.posyandu_a1.id, "upsert")]


def test_same_id_with_other_content_is_409_with_the_server_copy(client, world):
    body = new_child(world.posyandu_a1)
    post(client, world.kader_a1, body=body)
    response = post(client, world.kader_a1, body={**body, "name": "Aisyah Putri Ramadhani"})
    assert_problem(response, 409)
    assert response.json["server"]["name"] == "Aisyah Putri" and response.json["server"]["version"] == 1
    assert db.session.get(Child, uuid.UUID(body["id"])).name == "Aisyah Putri"


def test_id_of_a_child_elsewhere_is_409_without_revealing_it(client, world):
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, id=str(world.child_b1.id)))
    assert_problem(response, 409)
    assert "server" not in response.json and "Budi" not in response.get_data(as_text=True)


def test_guardian_phone_normalised_and_linked_to_existing_parent(client, world):
    body = new_child(world.posyandu_a1, guardians=[{"phone": "0813-1111-1111", "relationship": "mother"},
                                                   {"phone": "+62 812 9999 0000", "relationship": "father"}])
    response = post(client, world.kader_a1, body=body)
    assert response.status_code == 201, response.json
    guardians = {g["phone"]: g for g in response.json["guardians"]}
    assert set(guardians) == {"+6281311111111", "+6281299990000"}
    assert guardians["+6281311111111"]["linked"] is True and guardians["+6281299990000"]["linked"] is False
    row = db.session.query(ChildGuardian).filter_by(child_id=uuid.UUID(body["id"]), phone="+6281311111111").one()
    assert row.user_id == world.parent_1.id
    from .helpers import get
    assert get(client, world.parent_1, f"/{body['id']}").status_code == 200


@pytest.mark.parametrize("user_name, posyandu_name", [
    ("kader_a1", "posyandu_a2"), ("kader_a1", "posyandu_b1"), ("staff_b", "posyandu_a1"),
    ("staff_a", "posyandu_c1"), ("dinkes_lamongan", "posyandu_a1"),
])
def test_create_in_another_tenants_posyandu_is_404(client, world, user_name, posyandu_name):
    before = count_children()
    response = post(client, getattr(world, user_name), body=new_child(getattr(world, posyandu_name)))
    assert_problem(response, 404, "posyandu_id")
    assert count_children() == before


def test_parent_cannot_create(client, world):
    response = post(client, world.parent_1, body=new_child(world.posyandu_a1))
    assert_problem(response, 403)


def test_unauthenticated_is_401(client, world):
    response = client.post("/api/v1/children", json=new_child(world.posyandu_a1))
    assert response.status_code == 401


def test_possible_duplicate_warning_lists_candidates(client, world):
    # world.child_a1: Ahmad Fauzi, boy, 2024-03-15, mother Siti Aminah, desa of A1
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, name="Achmad Fauzi", sex=1,
                                                           mother_name="Siti Aminah"))
    assert response.status_code == 201
    [dup] = [w for w in response.json["warnings"] if w["code"] == "possible_duplicate"]
    assert [c["id"] for c in dup["candidates"]] == [str(world.child_a1.id)]
    assert "same_birth_date" in dup["candidates"][0]["reasons"]
    # the newborn placeholder name, a day off, same mother: still a candidate
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, name="Bayi Ny. Siti Aminah",
                                                           sex=1, birth_date="2024-03-16",
                                                           mother_name="Siti Aminah"))
    [dup] = [w for w in response.json["warnings"] if w["code"] == "possible_duplicate"]
    assert str(world.child_a1.id) in [c["id"] for c in dup["candidates"]]


@pytest.mark.parametrize("overrides", [
    {"name": "Husein", "sex": 1, "mother_name": "Siti Aminah"},                       # twin: other name
    {"name": "Ahmad Fauzi", "sex": 1, "mother_name": "Rina Wati"},                    # other mother
    {"name": "Ahmad Fauzi", "sex": 1, "mother_name": "Siti Aminah", "birth_date": "2024-05-15"},
])
def test_no_duplicate_warning_for_different_children(client, world, overrides):
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, **overrides))
    assert response.status_code == 201
    assert "possible_duplicate" not in codes(response)


def test_duplicates_are_looked_for_in_the_same_desa_only(client, world):
    response = post(client, world.staff_a, body=new_child(world.posyandu_a2, name="Ahmad Fauzi", sex=1,
                                                          mother_name="Siti Aminah"))
    assert response.status_code == 201
    assert "possible_duplicate" not in codes(response)
