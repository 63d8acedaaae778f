"""Issue 9 §1: inputs that used to reach PostgreSQL and answer 500 are refused at the edge, as a
class, with the same answer on SQLite and PostgreSQL (posyandu/edge.py, docs/robustness.md).

* NUL characters in any text (body, query string, a sync record's fields): 422 naming the field,
  an ``invalid`` receipt in sync with the other records applied.
* Integers beyond PostgreSQL's 32-bit ``integer``: 404 for path ids, 422 naming the field.
* Year 0 (and any date outside 1900..2999): 422.
* ``PATCH /children/{id}`` with ``{"desa_code": null}``: back to the posyandu's desa (200).
* Sync receipts of a record without an entity: ``entity`` null, as the schema now says.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from posyandu.children.models import Child
from posyandu.extensions import db
from tests.children.helpers import assert_problem, count_children, new_child
from tests.factories import PASSWORD, headers

API = "/api/v1"
BIG = 2 ** 31          # one past PostgreSQL's integer
NUL = "Nul\u0000Anak"


# --------------------------------------------------------------------------- NUL characters
def test_nul_in_a_child_name_is_422_naming_the_field(client, world):
    before = count_children()
    response = client.post(f"{API}/children", json=new_child(world.posyandu_a1, name=NUL),
                           headers=headers(world.kader_a1))
    assert_problem(response, 422, "name")
    assert count_children() == before


def test_nul_in_a_login_is_422(client, world):
    response = client.post(f"{API}/auth/login", json={"login": "kader.melati\u0000", "password": PASSWORD})
    assert_problem(response, 422, "login")
    response = client.post(f"{API}/auth/login", json={"login": "kader.melati", "password": "x\u0000y"})
    assert_problem(response, 422, "password")


def test_nul_in_a_device_token_is_422(client, world):
    response = client.post(f"{API}/devices", json={"token": "fcm-token-\u0000-aaaaaaaa"},
                           headers=headers(world.parent_1))
    assert_problem(response, 422, "token")


@pytest.mark.parametrize("path, who", [
    ("/users?q=a%00b", "admin"),
    ("/posyandu?q=a%00b", "staff_a"),
    ("/children?q=a%00b", "kader_a1"),
])
def test_nul_in_a_query_string_is_422(client, world, path, who):
    response = client.get(API + path, headers=headers(getattr(world, who)))
    assert_problem(response, 422, "q")


def test_nul_in_a_text_path_segment_is_not_found(client, world):
    response = client.get(f"{API}/regions/35%0025", headers=headers(world.admin))
    assert_problem(response, 404)


def test_a_lone_surrogate_is_refused_like_nul(client, world):
    body = '{"login": "kader\\ud800", "password": "x"}'
    response = client.post(f"{API}/auth/login", data=body, content_type="application/json")
    assert_problem(response, 422, "login")


def test_one_nul_child_among_good_records_in_a_sync_push(client, world):
    records = []
    for name in ("Anak Baik", NUL, "Anak Juga Baik"):
        data = new_child(world.posyandu_a1, name=name)
        records.append({"entity": "child", "id": data["id"], "base_version": None, "data": data})
    response = client.post(f"{API}/sync/push", json={"records": records}, headers=headers(world.kader_a1))
    assert response.status_code == 200, response.get_data(as_text=True)
    statuses = [r["status"] for r in response.json["receipts"]]
    assert statuses == ["applied", "invalid", "applied"]
    assert "name" in response.json["receipts"][1]["errors"]
    stored = db.session.scalars(sa.select(Child.name).where(
        Child.id.in_([uuid.UUID(r["id"]) for r in records]))).all()
    assert sorted(stored) == ["Anak Baik", "Anak Juga Baik"]


def test_the_nul_message_is_translated(client, world):
    response = client.post(f"{API}/children", json=new_child(world.posyandu_a1, name=NUL),
                           headers={**headers(world.kader_a1), "Accept-Language": "id"})
    assert_problem(response, 422, "name")
    message = response.json["errors"]["name"][0]
    assert "NUL" in message and "Hapus" in message


# --------------------------------------------------------------------------- 32-bit integers
@pytest.mark.parametrize("method, path, who", [
    ("post", f"/users/{BIG}/disable", "admin"),
    ("get", f"/users/{BIG}", "admin"),
    ("get", f"/posyandu/{BIG}", "staff_a"),
    ("get", f"/posyandu/{BIG}/calendar", "staff_a"),
    ("get", f"/puskesmas/{BIG}", "admin"),
    ("delete", f"/devices/{BIG}", "parent_1"),
    ("put", f"/devices/{BIG}", "parent_1"),
])
def test_a_path_id_beyond_32_bits_is_not_found(client, world, method, path, who):
    kwargs = {"json": {"token": "fcm-token-aaaaaaaaaaaa"}} if method == "put" else {}
    response = getattr(client, method)(API + path, headers=headers(getattr(world, who)), **kwargs)
    assert_problem(response, 404)


def test_a_calendar_exception_id_beyond_32_bits_is_not_found(client, world):
    response = client.delete(f"{API}/posyandu/{world.posyandu_a1.id}/calendar/exceptions/{BIG}",
                             headers=headers(world.staff_a))
    assert_problem(response, 404)


@pytest.mark.parametrize("path, field, who", [
    (f"/children?posyandu_id={BIG}", "posyandu_id", "kader_a1"),
    (f"/audit?user_id={BIG}", "user_id", "admin"),
    (f"/immunizations/overdue?posyandu_id={BIG}", "posyandu_id", "staff_a"),
    (f"/measurements?posyandu_id={BIG}&month=2026-11", "posyandu_id", "kader_a1"),
    (f"/children?posyandu_id=-{BIG + 1}", "posyandu_id", "kader_a1"),
])
def test_a_filter_beyond_32_bits_is_422(client, world, path, field, who):
    response = client.get(API + path, headers=headers(getattr(world, who)))
    assert_problem(response, 422, field)


def test_a_posyandu_id_beyond_32_bits_in_a_body_is_422(client, world):
    response = client.post(f"{API}/children", json=new_child(world.posyandu_a1, posyandu_id=BIG),
                           headers=headers(world.kader_a1))
    assert_problem(response, 422, "posyandu_id")
    response = client.post(f"{API}/children/{world.child_a1.id}/move", json={"posyandu_id": BIG},
                           headers=headers(world.staff_a))
    assert_problem(response, 422, "posyandu_id")


def test_the_documented_schemas_carry_the_integer_bounds(client):
    spec = client.get(f"{API}/openapi.json").json
    disable = spec["paths"]["/api/v1/users/{user_id}/disable"]
    path_param = [p for p in disable["parameters"] if p["name"] == "user_id"][0]
    assert path_param["schema"]["maximum"] == BIG - 1
    listing = spec["paths"]["/api/v1/children"]["get"]["parameters"]
    posyandu_id = [p for p in listing if p["name"] == "posyandu_id"][0]
    assert posyandu_id["schema"]["maximum"] == BIG - 1 and posyandu_id["schema"]["minimum"] == -BIG


# --------------------------------------------------------------------------- dates
def test_year_zero_in_a_month_is_422(client, world):
    response = client.get(f"{API}/measurements?posyandu_id={world.posyandu_a1.id}&month=0000-01",
                          headers=headers(world.kader_a1))
    assert_problem(response, 422, "month")


def test_the_documented_month_pattern_excludes_year_zero(client):
    import re
    spec = client.get(f"{API}/openapi.json").json
    month = [p for p in spec["paths"]["/api/v1/measurements"]["get"]["parameters"] if p["name"] == "month"][0]
    pattern = re.compile(month["schema"]["pattern"])
    assert pattern.match("2026-11") and not pattern.match("0000-01") and not pattern.match("0001-01")


@pytest.mark.parametrize("birth_date", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_a_date_outside_1900_to_2999_is_422(client, world, birth_date):
    response = client.post(f"{API}/children", json=new_child(world.posyandu_a1, birth_date=birth_date),
                           headers=headers(world.kader_a1))
    assert_problem(response, 422, "birth_date")


def test_a_date_time_at_the_edge_of_the_calendar_is_422(client, world):
    data = new_child(world.posyandu_a1, client_updated_at="0001-01-01T00:00:00+07:00")
    response = client.post(f"{API}/children", json=data, headers=headers(world.kader_a1))
    assert_problem(response, 422, "client_updated_at")


# --------------------------------------------------------------------------- nullable vs NOT NULL
def test_patch_desa_code_null_goes_back_to_the_posyandu_desa(client, world):
    child_id = world.child_a1.id
    moved = client.patch(f"{API}/children/{child_id}", json={"desa_code": "35.25.01.2002"},
                         headers=headers(world.kader_a1))
    assert moved.status_code in (200, 422), moved.json   # 2002 may not exist in the world
    response = client.patch(f"{API}/children/{child_id}", json={"desa_code": None},
                            headers=headers(world.kader_a1))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["desa_code"] == "35.25.01.2001"      # Posyandu Melati's desa


# --------------------------------------------------------------------------- sync receipts
def test_a_receipt_for_a_record_without_entity_matches_the_schema(client, world):
    response = client.post(f"{API}/sync/push", json={"records": [{"id": str(uuid.uuid4()), "data": {}}]},
                           headers=headers(world.kader_a1))
    assert response.status_code == 200
    receipt = response.json["receipts"][0]
    assert receipt["status"] == "invalid" and receipt["entity"] is None
    spec = client.get(f"{API}/openapi.json").json
    assert spec["components"]["schemas"]["Receipt"]["properties"]["entity"].get("nullable") is True
