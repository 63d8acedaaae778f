"""The user administration API: who manages whom, validation, audit, disable/enable, reset."""
from __future__ import annotations

import pytest

from posyandu.audit.models import AuditEvent
from posyandu.auth.models import User, UserPosyandu
from posyandu.extensions import db

from tests import factories
from tests.factories import headers

URL = "/api/v1/users"
NEW_PASSWORD = "Sandi-Kader-Baru-77"


def kader_body(**overrides):
    body = {"username": "kader.baru", "phone": "0812 3456 7890", "full_name": "Ibu Kader Baru", "role": "kader",
            "posyandu_codes": ["PY-A1"], "password": NEW_PASSWORD}
    body.update(overrides)
    return body


def user_count() -> int:
    db.session.expire_all()
    return db.session.query(User).count()


def sign_in(client, login, password=factories.PASSWORD):
    return client.post("/api/v1/auth/login", json={"login": login, "password": password})


# ----------------------------------------------------------------------------- create
def test_staff_creates_a_kader_of_their_posyandu(client, world):
    response = client.post(URL, json=kader_body(), headers=headers(world.staff_a))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["role"] == "kader" and body["username"] == "kader.baru"
    assert body["phone"] == "+6281234567890"
    assert [p["code"] for p in body["posyandu"]] == ["PY-A1"]
    assert "password" not in body and "password_hash" not in body
    event = db.session.query(AuditEvent).filter_by(entity="user", entity_id=str(body["id"])).one()
    assert event.action == "create" and event.user_id == world.staff_a.id
    assert "password_hash" not in (event.changes or {})
    assert event.changes["phone"] == [None, "***"]  # no phone number in clear
    assert NEW_PASSWORD not in str(event.changes)
    # the new kader signs in with the phone number in another format
    assert sign_in(client, "+62 812-3456-7890", NEW_PASSWORD).status_code == 200


def test_admin_creates_each_role(client, world):
    cases = [
        {"username": "admin.dua", "role": "admin"},
        {"username": "dinkes.dua", "role": "dinkes", "kabupaten_code": "3524"},
        {"username": "bidan.dua", "role": "puskesmas", "puskesmas_code": "P3525020101"},
        {"username": "kader.dua", "role": "kader", "posyandu_codes": ["PY-C1", "PY-B1"]},
    ]
    for case in cases:
        body = {"full_name": "Nama", "password": NEW_PASSWORD, **case}
        response = client.post(URL, json=body, headers=headers(world.admin))
        assert response.status_code == 201, (case, response.json)
    created = {u.username: u for u in db.session.query(User).filter(User.username.like("%.dua"))}
    assert created["dinkes.dua"].kabupaten_code == "3524"
    assert created["bidan.dua"].puskesmas_id == world.puskesmas_b.id
    assert sorted(created["kader.dua"].posyandu_ids) == sorted([world.posyandu_b1.id, world.posyandu_c1.id])


def test_dinkes_creates_staff_in_their_kabupaten_only(client, world):
    ok = client.post(URL, headers=headers(world.dinkes_gresik), json={
        "username": "gizi.kebomas", "full_name": "Gizi", "role": "puskesmas", "puskesmas_code": "P3525010101",
        "password": NEW_PASSWORD})
    assert ok.status_code == 201, ok.json
    before = user_count()
    other = client.post(URL, headers=headers(world.dinkes_gresik), json={
        "username": "gizi.sukodadi", "full_name": "Gizi", "role": "puskesmas", "puskesmas_code": "P3524010101",
        "password": NEW_PASSWORD})
    assert other.status_code == 422
    assert "puskesmas_code" in other.json["errors"]
    assert user_count() == before


def test_staff_cannot_create_a_kader_of_another_puskesmas(client, world):
    before = user_count()
    response = client.post(URL, json=kader_body(posyandu_codes=["PY-A1", "PY-B1"]), headers=headers(world.staff_a))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "posyandu_codes" in response.json["errors"]
    assert "PY-B1" in " ".join(response.json["errors"]["posyandu_codes"])
    assert user_count() == before


@pytest.mark.parametrize("role", ["puskesmas", "dinkes", "admin"])
def test_staff_may_only_create_kader(client, world, role):
    response = client.post(URL, json=kader_body(role=role, posyandu_codes=[]), headers=headers(world.staff_a))
    assert response.status_code == 422
    assert "role" in response.json["errors"]


def test_dinkes_cannot_create_admin_or_dinkes(client, world):
    response = client.post(URL, json=kader_body(role="dinkes", posyandu_codes=[], kabupaten_code="3525"),
                           headers=headers(world.dinkes_gresik))
    assert response.status_code == 422 and "role" in response.json["errors"]


@pytest.mark.parametrize("change, field", [
    ({"full_name": None}, "full_name"),
    ({"phone": "12345"}, "phone"),
    ({"username": "x"}, "username"),
    ({"username": "12345678"}, "username"),
    ({"password": "short"}, "password"),
    ({"password": "1234567890"}, "password"),
    ({"role": "parent"}, "role"),
    ({"posyandu_codes": []}, "posyandu_codes"),
    ({"posyandu_codes": ["PY-NOPE"]}, "posyandu_codes"),
    ({"puskesmas_code": "P3525010101"}, "puskesmas_code"),
    ({"username": None, "phone": None}, "username"),
])
def test_bad_input_is_422_naming_the_field_and_creates_nothing(client, world, change, field):
    before = user_count()
    body = {k: v for k, v in kader_body(**change).items() if v is not None}
    response = client.post(URL, json=body, headers=headers(world.admin))
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert user_count() == before


def test_duplicate_username_or_phone_is_409_and_a_retry_creates_nothing_twice(client, world):
    assert client.post(URL, json=kader_body(), headers=headers(world.staff_a)).status_code == 201
    before = user_count()
    retry = client.post(URL, json=kader_body(), headers=headers(world.staff_a))
    assert retry.status_code == 409
    assert set(retry.json["errors"]) == {"username", "phone"}
    taken_phone = client.post(URL, json=kader_body(username="kader.lain", phone="081200000001"),
                              headers=headers(world.staff_a))
    assert taken_phone.status_code == 409 and set(taken_phone.json["errors"]) == {"phone"}
    assert user_count() == before


@pytest.mark.parametrize("who", ["kader_a1", "parent_1"])
def test_kader_and_parents_cannot_use_the_admin_api(client, world, who):
    h = headers(getattr(world, who))
    assert client.get(URL, headers=h).status_code == 403
    assert client.get(f"{URL}/{world.kader_a1.id}", headers=h).status_code == 403
    response = client.post(URL, json=kader_body(), headers=h)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert client.patch(f"{URL}/{world.kader_a2.id}", json={"full_name": "X"}, headers=h).status_code == 403
    assert client.post(f"{URL}/{world.kader_a2.id}/disable", headers=h).status_code == 403
    assert client.post(f"{URL}/{world.kader_a2.id}/password", json={"password": NEW_PASSWORD},
                       headers=h).status_code == 403


def test_admin_api_needs_a_token(client, world):
    assert client.get(URL).status_code == 401


# ----------------------------------------------------------------------------- list / get
def _ids(client, user, **params):
    response = client.get(URL, query_string=params, headers=headers(user))
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def test_list_shows_only_the_accounts_you_manage(client, world):
    w = world
    assert _ids(client, w.staff_a) == {w.kader_a1.id, w.kader_a2.id}
    assert _ids(client, w.staff_b) == {w.kader_b1.id}
    assert _ids(client, w.dinkes_gresik) == {w.staff_a.id, w.staff_b.id, w.kader_a1.id, w.kader_a2.id,
                                              w.kader_b1.id}
    assert _ids(client, w.dinkes_lamongan) == {w.staff_c.id, w.kader_c1.id}
    everyone = _ids(client, w.admin)
    assert {w.admin.id, w.parent_1.id, w.dinkes_lamongan.id, w.kader_c1.id} <= everyone


def test_list_filters(client, world):
    w = world
    assert _ids(client, w.admin, role="puskesmas") == {w.staff_a.id, w.staff_b.id, w.staff_c.id}
    assert _ids(client, w.admin, posyandu="PY-A2") == {w.kader_a2.id}
    assert _ids(client, w.admin, puskesmas="P3525010101") == {w.staff_a.id, w.kader_a1.id, w.kader_a2.id}
    assert _ids(client, w.admin, kabupaten="3524") == {w.dinkes_lamongan.id, w.staff_c.id, w.kader_c1.id}
    assert _ids(client, w.admin, q="MELATI") == {w.kader_a1.id}
    assert _ids(client, w.staff_a, puskesmas="P3525020101") == set()  # filter cannot widen the scope
    w.kader_a2.is_active = False
    db.session.commit()
    assert _ids(client, w.staff_a, is_active="false") == {w.kader_a2.id}


def test_list_cursor_pagination(client, world):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get(URL, query_string=params, headers=headers(world.admin)).json
        assert len(body["items"]) <= 3
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == user_count()
    assert seen == sorted(seen) and pages >= 4


def test_list_bad_query_is_422(client, world):
    for params, field in (({"limit": 0}, "limit"), ({"role": "boss"}, "role"), ({"cursor": "!!"}, "cursor")):
        response = client.get(URL, query_string=params, headers=headers(world.admin))
        assert response.status_code == 422, params
        assert field in response.json["errors"]


@pytest.mark.parametrize("manager, target, status", [
    ("staff_a", "kader_a1", 200),
    ("staff_b", "kader_a1", 404),
    ("staff_a", "staff_b", 404),
    ("staff_a", "staff_a", 404),
    ("staff_a", "admin", 404),
    ("staff_a", "parent_1", 404),
    ("dinkes_gresik", "staff_a", 200),
    ("dinkes_gresik", "kader_b1", 200),
    ("dinkes_lamongan", "kader_a1", 404),
    ("dinkes_gresik", "dinkes_lamongan", 404),
    ("dinkes_gresik", "parent_1", 404),
    ("admin", "parent_1", 200),
])
def test_get_respects_who_manages_whom(client, world, manager, target, status):
    response = client.get(f"{URL}/{getattr(world, target).id}", headers=headers(getattr(world, manager)))
    assert response.status_code == status
    if status == 404:
        assert response.mimetype == "application/problem+json"


def test_unknown_user_is_404(client, world):
    assert client.get(f"{URL}/999999", headers=headers(world.admin)).status_code == 404


def test_kader_working_in_two_puskesmas_is_managed_by_neither_staff(client, world):
    db.session.add(UserPosyandu(user_id=world.kader_b1.id, posyandu_id=world.posyandu_a1.id))
    db.session.commit()
    assert client.get(f"{URL}/{world.kader_b1.id}", headers=headers(world.staff_a)).status_code == 404
    assert client.get(f"{URL}/{world.kader_b1.id}", headers=headers(world.staff_b)).status_code == 404
    assert client.get(f"{URL}/{world.kader_b1.id}", headers=headers(world.dinkes_gresik)).status_code == 200


# ----------------------------------------------------------------------------- update
def test_update_name_phone_and_posyandu(client, world):
    response = client.patch(f"{URL}/{world.kader_a1.id}", headers=headers(world.staff_a),
                            json={"full_name": "Bu Melati", "phone": "0813-9999-0000", "posyandu_codes": ["PY-A2"]})
    assert response.status_code == 200, response.json
    assert response.json["full_name"] == "Bu Melati"
    assert response.json["phone"] == "+6281399990000"
    assert [p["code"] for p in response.json["posyandu"]] == ["PY-A2"]
    event = db.session.query(AuditEvent).filter_by(entity="user", entity_id=str(world.kader_a1.id),
                                                   action="update").one()
    assert event.changes["full_name"] == ["kader.melati", "Bu Melati"]
    assert event.changes["phone"] == ["***", "***"]
    assert event.changes["posyandu_ids"] == [[world.posyandu_a1.id], [world.posyandu_a2.id]]


def test_update_wrong_tenant_is_404_and_changes_nothing(client, world):
    response = client.patch(f"{URL}/{world.kader_a1.id}", headers=headers(world.staff_b), json={"full_name": "X"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(User, world.kader_a1.id).full_name == "kader.melati"


def test_staff_cannot_move_a_kader_out_of_their_area(client, world):
    response = client.patch(f"{URL}/{world.kader_a1.id}", headers=headers(world.staff_a),
                            json={"posyandu_codes": ["PY-B1"], "full_name": "Changed"})
    assert response.status_code == 422
    assert "posyandu_codes" in response.json["errors"]
    db.session.expire_all()
    user = db.session.get(User, world.kader_a1.id)
    assert user.posyandu_ids == [world.posyandu_a1.id] and user.full_name == "kader.melati"


def test_staff_cannot_promote_a_kader(client, world):
    response = client.patch(f"{URL}/{world.kader_a1.id}", headers=headers(world.staff_a),
                            json={"role": "puskesmas", "puskesmas_code": "P3525010101"})
    assert response.status_code == 422 and "role" in response.json["errors"]


def test_role_change_needs_the_new_area(client, world):
    url = f"{URL}/{world.kader_a2.id}"
    missing = client.patch(url, headers=headers(world.admin), json={"role": "puskesmas"})
    assert missing.status_code == 422 and "puskesmas_code" in missing.json["errors"]
    ok = client.patch(url, headers=headers(world.admin), json={"role": "puskesmas", "puskesmas_code": "P3525010101"})
    assert ok.status_code == 200, ok.json
    assert ok.json["role"] == "puskesmas" and ok.json["posyandu"] == []
    assert ok.json["puskesmas"]["code"] == "P3525010101"
    db.session.expire_all()
    assert db.session.get(User, world.kader_a2.id).posyandu_ids == []


def test_nobody_changes_their_own_role(client, world):
    response = client.patch(f"{URL}/{world.admin.id}", headers=headers(world.admin), json={"role": "kader",
                                                                                           "posyandu_codes": ["PY-A1"]})
    assert response.status_code == 409


def test_update_bad_input(client, world):
    response = client.patch(f"{URL}/{world.kader_a1.id}", headers=headers(world.staff_a),
                            json={"phone": "not a phone", "full_name": "Ok"})
    assert response.status_code == 422 and "phone" in response.json["errors"]
    taken = client.patch(f"{URL}/{world.kader_a2.id}", headers=headers(world.staff_a),
                         json={"username": "kader.melati"})
    assert taken.status_code == 409 and "username" in taken.json["errors"]


def test_parent_accounts_keep_their_phone(client, world):
    response = client.patch(f"{URL}/{world.parent_1.id}", headers=headers(world.admin),
                            json={"phone": "0812 1111 2222"})
    assert response.status_code == 422 and "phone" in response.json["errors"]
    assert client.patch(f"{URL}/{world.parent_1.id}", headers=headers(world.admin),
                        json={"full_name": "Ibu Siti"}).status_code == 200


# ----------------------------------------------------------------------------- disable / enable / reset
def test_disable_and_enable(client, world):
    session = sign_in(client, "kader.melati").json
    response = client.post(f"{URL}/{world.kader_a1.id}/disable", headers=headers(world.staff_a))
    assert response.status_code == 200 and response.json["is_active"] is False
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).status_code == 401
    assert sign_in(client, "kader.melati").status_code == 401
    assert db.session.query(AuditEvent).filter_by(entity_id=str(world.kader_a1.id), action="disable").count() == 1
    response = client.post(f"{URL}/{world.kader_a1.id}/enable", headers=headers(world.staff_a))
    assert response.status_code == 200 and response.json["is_active"] is True
    assert sign_in(client, "kader.melati").status_code == 200
    # the old session stays signed out
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).status_code == 401


def test_disable_wrong_tenant_is_404(client, world):
    assert client.post(f"{URL}/{world.kader_a1.id}/disable", headers=headers(world.staff_b)).status_code == 404
    assert client.post(f"{URL}/{world.kader_a1.id}/disable", headers=headers(world.dinkes_lamongan)).status_code == 404
    assert sign_in(client, "kader.melati").status_code == 200


def test_nobody_disables_themselves(client, world):
    assert client.post(f"{URL}/{world.admin.id}/disable", headers=headers(world.admin)).status_code == 409


def test_reset_password(client, world):
    session = sign_in(client, "kader.mawar").json
    response = client.post(f"{URL}/{world.kader_a2.id}/password", headers=headers(world.staff_a),
                           json={"password": NEW_PASSWORD})
    assert response.status_code == 204
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401
    assert sign_in(client, "kader.mawar").status_code == 401
    assert sign_in(client, "kader.mawar", NEW_PASSWORD).status_code == 200
    event = db.session.query(AuditEvent).filter_by(entity_id=str(world.kader_a2.id), action="password_reset").one()
    assert NEW_PASSWORD not in str(event.changes)


def test_reset_password_bad_input_and_wrong_tenant(client, world):
    weak = client.post(f"{URL}/{world.kader_a2.id}/password", headers=headers(world.staff_a), json={"password": "abc"})
    assert weak.status_code == 422 and "password" in weak.json["errors"]
    other = client.post(f"{URL}/{world.kader_a2.id}/password", headers=headers(world.staff_b),
                        json={"password": NEW_PASSWORD})
    assert other.status_code == 404
    assert sign_in(client, "kader.mawar").status_code == 200
