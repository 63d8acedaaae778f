"""Parents sign in with a Firebase phone-auth ID token, verified by the real
``firebase_admin.auth.verify_id_token(check_revoked=True)`` against a local fake of Google."""
from __future__ import annotations

import time

from posyandu.auth.models import User
from posyandu.children.models import ChildGuardian
from posyandu.extensions import db

from tests import factories

URL = "/api/v1/auth/firebase"
NEW_PHONE = "+6285700001234"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def parents() -> int:
    db.session.expire_all()
    return db.session.query(User).filter_by(role="parent").count()


def test_new_parent_signs_in_and_is_linked_to_the_children_staff_recorded(client, world, fake_google):
    # staff recorded this mother's phone on two children (one in another puskesmas)
    for child in (world.child_a2, world.child_c1):
        db.session.add(ChildGuardian(child_id=child.id, phone=NEW_PHONE))
    db.session.commit()
    token = fake_google.make_id_token("fb-uid-rina", NEW_PHONE)
    response = client.post(URL, json={"id_token": token})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["user"]["role"] == "parent" and body["user"]["phone"] == NEW_PHONE
    assert body["user"]["children_count"] == 2
    user = db.session.get(User, body["user"]["id"])
    assert user.firebase_uid == "fb-uid-rina" and user.password_hash is None
    links = db.session.query(ChildGuardian).filter_by(phone=NEW_PHONE).all()
    assert {g.user_id for g in links} == {user.id}
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json["children_count"] == 2
    # our own refresh token works for parents too
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 200
    # signing in again reuses the account
    again = client.post(URL, json={"id_token": fake_google.make_id_token("fb-uid-rina", NEW_PHONE)})
    assert again.json["user"]["id"] == user.id


def test_existing_parent_account_is_found_by_phone(client, world, fake_google):
    response = client.post(URL, json={"id_token": fake_google.make_id_token("fb-uid-siti", "+6281311111111")})
    assert response.status_code == 200, response.json
    assert response.json["user"]["id"] == world.parent_1.id
    assert response.json["user"]["children_count"] == 1
    db.session.expire_all()
    assert db.session.get(User, world.parent_1.id).firebase_uid == "fb-uid-siti"


def test_phone_without_children_signs_in_and_sees_none_then_gets_linked(client, world, fake_google):
    response = client.post(URL, json={"id_token": fake_google.make_id_token("fb-uid-new", NEW_PHONE)})
    assert response.status_code == 200
    assert response.json["user"]["children_count"] == 0
    # staff add the phone later; the next sign-in links it
    db.session.add(ChildGuardian(child_id=world.child_a2.id, phone=NEW_PHONE))
    db.session.commit()
    again = client.post(URL, json={"id_token": fake_google.make_id_token("fb-uid-new", NEW_PHONE)})
    assert again.json["user"]["children_count"] == 1


def _refused(client, token):
    before = parents()
    response = client.post(URL, json={"id_token": token})
    assert response.status_code == 401, response.json
    assert response.mimetype == "application/problem+json"
    assert "access_token" not in response.json
    assert parents() == before
    return response


def test_revoked_token_is_401(client, world, fake_google):
    token = fake_google.make_id_token("fb-uid-1", NEW_PHONE, issued_at=time.time() - 60)
    fake_google.revoke_tokens("fb-uid-1")
    assert _refused(client, token).json["type"].endswith("id-token-revoked")


def test_disabled_firebase_user_is_401(client, world, fake_google):
    token = fake_google.make_id_token("fb-uid-2", NEW_PHONE)
    fake_google.disable_user("fb-uid-2")
    assert _refused(client, token).json["type"].endswith("firebase-user-disabled")


def test_expired_token_is_401(client, world, fake_google):
    token = fake_google.make_id_token("fb-uid-3", NEW_PHONE, issued_at=time.time() - 7200, expires_in=3600)
    assert _refused(client, token).json["type"].endswith("id-token-expired")


def test_wrong_audience_is_401(client, world, fake_google):
    _refused(client, fake_google.make_id_token("fb-uid-4", NEW_PHONE, audience="someone-elses-project"))


def test_other_project_and_forged_tokens_are_401(client, world, fake_google):
    _refused(client, fake_google.make_id_token("fb-uid-5", NEW_PHONE, project_id="demo-other"))
    _refused(client, fake_google.make_id_token("fb-uid-5", NEW_PHONE, kid="not-served"))
    _refused(client, "not-a-token")


def test_token_without_phone_is_401(client, world, fake_google):
    token = fake_google.make_id_token("fb-uid-6", None, sign_in_provider="password",
                                      extra_claims={"email": "x@example.com"})
    assert _refused(client, token).json["type"].endswith("phone-number-required")


def test_staff_phone_is_refused(client, world, fake_google):
    response = client.post(URL, json={"id_token": fake_google.make_id_token("fb-uid-7", "+6281200000001")})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(User, world.kader_a1.id).firebase_uid is None


def test_disabled_parent_account_is_401(client, world, fake_google):
    world.parent_2.is_active = False
    db.session.commit()
    _refused(client, fake_google.make_id_token("fb-uid-8", "+6281322222222"))


def test_missing_token_is_422(client, world, fake_google):
    response = client.post(URL, json={})
    assert response.status_code == 422 and "id_token" in response.json["errors"]


def test_failed_firebase_sign_ins_count_per_address(client, world, fake_google):
    here = {"environ_base": {"REMOTE_ADDR": "10.7.7.7"}}
    for _ in range(20):
        assert client.post(URL, json={"id_token": "not-a-token"}, **here).status_code == 401
    blocked = client.post(URL, json={"id_token": fake_google.make_id_token("fb-uid-9", NEW_PHONE)}, **here)
    assert blocked.status_code == 429
    assert blocked.mimetype == "application/problem+json" and int(blocked.headers["Retry-After"]) > 0
    # the shared address limit covers password sign-in from there too
    password = client.post("/api/v1/auth/login", json={"login": "kader.melati", "password": factories.PASSWORD},
                           **here)
    assert password.status_code == 429
