"""Password sign-in for staff and cadres, token lifetimes, disabled accounts, /auth/me."""
from __future__ import annotations

import jwt as pyjwt
import pytest

from posyandu.auth.models import RefreshToken, User
from posyandu.auth.passwords import verify_password
from posyandu.extensions import db

from tests import factories


def _claims(token: str) -> dict:
    return pyjwt.decode(token, options={"verify_signature": False})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_login_by_username(client, world, login):
    response = login("kader.melati")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["user"]["id"] == world.kader_a1.id
    assert body["user"]["role"] == "kader"
    assert [p["code"] for p in body["user"]["posyandu"]] == ["PY-A1"]
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["id"] == world.kader_a1.id


def test_login_username_is_case_insensitive(world, login):
    assert login("  Kader.Melati ").status_code == 200


@pytest.mark.parametrize("phone", ["081200000001", "6281200000001", "+6281200000001", "+62 812-0000-0001",
                                   "0812 0000 0001", "(0812) 0000-0001"])
def test_login_by_phone_in_any_format(world, login, phone):
    response = login(phone)
    assert response.status_code == 200, response.json
    assert response.json["user"]["id"] == world.kader_a1.id


def test_wrong_password_is_401_problem(world, login):
    response = login("kader.melati", "not-the-password")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401
    assert "access_token" not in response.json


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(world, login):
    unknown = login("nobody.here", "whatever-123")
    wrong = login("kader.melati", "whatever-123")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json["detail"] == wrong.json["detail"]
    assert unknown.json["type"] == wrong.json["type"]


def test_parent_cannot_sign_in_with_a_password(world, login):
    assert login("+6281311111111", "").status_code == 422  # empty password: bad input
    assert login("+6281311111111", "anything-1").status_code == 401


def test_missing_fields_are_422_naming_the_field(client, world):
    response = client.post("/api/v1/auth/login", json={"login": "kader.melati"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "password" in response.json["errors"]
    assert db.session.query(RefreshToken).count() == 0


def test_token_lifetimes(app, world, login):
    body = login("bidan.kebomas").json
    access, refresh = _claims(body["access_token"]), _claims(body["refresh_token"])
    assert access["type"] == "access" and refresh["type"] == "refresh"
    assert access["exp"] - access["iat"] <= 15 * 60
    assert access["exp"] - access["iat"] == app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()
    assert refresh["exp"] - refresh["iat"] <= 30 * 24 * 3600
    assert body["access_expires_in"] <= 15 * 60
    assert access["sub"] == str(world.staff_a.id)
    assert access["role"] == "puskesmas"


def test_refresh_token_is_stored(world, login):
    body = login("bidan.kebomas").json
    claims = _claims(body["refresh_token"])
    rows = db.session.query(RefreshToken).filter_by(user_id=world.staff_a.id).all()
    assert len(rows) == 1
    assert str(rows[0].jti) == claims["jti"]
    assert str(rows[0].family_id) == claims["fam"]
    assert int(rows[0].expires_at.timestamp()) == claims["exp"]
    assert rows[0].rotated_at is None and rows[0].revoked_at is None


def test_disabled_account_cannot_sign_in(world, login):
    world.kader_a2.is_active = False
    db.session.commit()
    response = login("kader.mawar")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_disabled_account_existing_access_token_is_refused(client, world, login):
    token = login("kader.mawar").json["access_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    world.kader_a2.is_active = False
    db.session.commit()
    response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_me_without_token_is_401(client):
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_me_describes_scope(client, world):
    staff = client.get("/api/v1/auth/me", headers=factories.headers(world.staff_a)).json
    assert staff["role"] == "puskesmas"
    assert staff["puskesmas"] == {"id": world.puskesmas_a.id, "code": "P3525010101", "name": "Puskesmas Kebomas"}
    assert staff["kabupaten"] == {"code": "35.25", "name": "Kabupaten Gresik"}
    assert {p["name"] for p in staff["posyandu"]} == {"Posyandu Melati", "Posyandu Mawar"}
    dinkes = client.get("/api/v1/auth/me", headers=factories.headers(world.dinkes_lamongan)).json
    assert dinkes["kabupaten"] == {"code": "35.24", "name": "Kabupaten Lamongan"}
    kader = client.get("/api/v1/auth/me", headers=factories.headers(world.kader_b1)).json
    assert kader["posyandu"] == [{"id": world.posyandu_b1.id, "code": "PY-B1", "name": "Posyandu Anggrek"}]
    assert kader["puskesmas"]["code"] == "P3525020101"
    parent = client.get("/api/v1/auth/me", headers=factories.headers(world.parent_1)).json
    assert parent["role"] == "parent" and parent["children_count"] == 1 and parent["posyandu"] == []


def test_outdated_hash_is_rehashed_on_login(world, login):
    from argon2 import PasswordHasher
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(factories.PASSWORD)
    world.kader_a2.password_hash = weak
    db.session.commit()
    assert login("kader.mawar").status_code == 200
    db.session.expire_all()
    user = db.session.get(User, world.kader_a2.id)
    assert user.password_hash != weak
    assert verify_password(user.password_hash, factories.PASSWORD)
