"""One spelling of region codes in the API: the dotted Kemendagri form (reporting-id.md §5),
accepted dotted or undotted on input (issue 9 §3). Each of these answered undotted before."""
from __future__ import annotations

import uuid

from posyandu.children.models import Child
from posyandu.extensions import db

from tests.factories import headers

API = "/api/v1"


def test_me_answers_the_kabupaten_dotted(client, world):
    me = client.get(f"{API}/auth/me", headers=headers(world.dinkes_gresik)).json
    assert me["kabupaten"]["code"] == "35.25"


def test_children_answer_and_accept_desa_codes_dotted_or_undotted(client, world):
    for spelled in ("35.25.01.2001", "3525012001"):
        body = {"id": str(uuid.uuid4()), "posyandu_id": world.posyandu_a1.id, "name": "Dinda", "sex": 2,
                "birth_date": "2025-01-15", "desa_code": spelled}
        response = client.post(f"{API}/children", json=body, headers=headers(world.kader_a1))
        assert response.status_code == 201, response.json
        assert response.json["desa_code"] == "35.25.01.2001"
        assert db.session.get(Child, uuid.UUID(body["id"])).desa_code == "3525012001"   # stored undotted
    listed = client.get(f"{API}/children", headers=headers(world.kader_a1)).json["items"]
    assert {item["desa_code"] for item in listed} == {"35.25.01.2001"}
    bad = client.post(f"{API}/children", json={**body, "id": str(uuid.uuid4()), "desa_code": "35.25.01"},
                      headers=headers(world.kader_a1))
    assert bad.status_code == 422 and "desa_code" in bad.json["errors"]


def test_sync_pull_answers_desa_codes_dotted(client, world):
    changes = client.get(f"{API}/sync/pull", headers=headers(world.kader_a1)).json["changes"]
    codes = {c["record"]["desa_code"] for c in changes if c["entity"] == "child"}
    assert codes == {"35.25.01.2001"}


def test_users_take_a_dotted_kabupaten_and_answer_it_dotted(client, world):
    body = {"username": "dinkes.baru", "full_name": "Dinkes Baru", "role": "dinkes", "password": "rahasia-123",
            "kabupaten_code": "35.25"}
    response = client.post(f"{API}/users", json=body, headers=headers(world.admin))
    assert response.status_code == 201, response.json
    assert response.json["kabupaten"]["code"] == "35.25"
    listed = client.get(f"{API}/users", query_string={"kabupaten": "3525", "role": "dinkes"},
                        headers=headers(world.admin)).json["items"]
    assert "dinkes.baru" in {u["username"] for u in listed}


def test_immunization_region_settings_answer_the_kabupaten_dotted(client, world):
    for spelled in ("35.25", "3525"):
        response = client.get(f"{API}/immunizations/region-settings/{spelled}", headers=headers(world.kader_a1))
        assert response.status_code == 200 and response.json["kabupaten_code"] == "35.25", response.json


def test_audit_trail_shows_region_codes_dotted(client, world):
    response = client.patch(f"{API}/children/{world.child_a1.id}", json={"desa_code": "3525012001"},
                            headers=headers(world.kader_a1))
    assert response.status_code == 200, response.json
    response = client.post(f"{API}/children/{world.child_a1.id}/move", json={"posyandu_id": world.posyandu_a2.id},
                           headers=headers(world.staff_a))
    assert response.status_code == 200, response.json
    events = client.get(f"{API}/audit", query_string={"entity": "child", "entity_id": str(world.child_a1.id)},
                        headers=headers(world.staff_a)).json["items"]
    moved = [e["changes"]["desa_code"] for e in events if e["changes"] and "desa_code" in e["changes"]]
    assert moved and all("." in code for pair in moved for code in pair if code), moved
