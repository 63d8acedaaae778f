"""Refresh-token rotation, reuse detection, logout, password change, disabling."""
from __future__ import annotations

import jwt as pyjwt

from posyandu.auth.models import RefreshToken
from posyandu.extensions import db

from tests import factories

NEW_PASSWORD = "Kata-Sandi-Baru-2025"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _jti(token: str) -> str:
    return pyjwt.decode(token, options={"verify_signature": False})["jti"]


def _row(token: str) -> RefreshToken:
    import uuid
    db.session.expire_all()
    return db.session.get(RefreshToken, uuid.UUID(_jti(token)))


def refresh(client, token):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def test_refresh_returns_a_new_pair_and_rotates_the_old_token(client, world, login):
    first = login("bidan.kebomas").json
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.json
    second = response.json
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(second["access_token"])).status_code == 200
    old, new = _row(first["refresh_token"]), _row(second["refresh_token"])
    assert old.rotated_at is not None and old.revoked_at is None
    assert new.family_id == old.family_id and new.rotated_at is None
    # the new one rotates again
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_family(client, world, login):
    first = login("bidan.kebomas").json
    second = refresh(client, first["refresh_token"]).json
    reused = refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.mimetype == "application/problem+json"
    assert reused.json["type"].endswith("refresh-token-reused")
    # the legitimate newer token is revoked too
    assert refresh(client, second["refresh_token"]).status_code == 401
    family = _row(first["refresh_token"]).family_id
    rows = db.session.query(RefreshToken).filter_by(family_id=family).all()
    assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)
    assert {r.revoked_reason for r in rows} == {"reuse_detected"}


def test_reuse_revokes_only_that_family(client, world, login):
    phone = login("bidan.kebomas").json
    tablet = login("bidan.kebomas").json
    refresh(client, phone["refresh_token"])
    assert refresh(client, phone["refresh_token"]).status_code == 401
    assert refresh(client, tablet["refresh_token"]).status_code == 200


def test_access_token_is_not_a_refresh_token(client, world, login):
    body = login("bidan.kebomas").json
    response = refresh(client, body["access_token"])
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_garbage_refresh_token_is_401_and_missing_is_422(client, world):
    assert refresh(client, "not.a.jwt").status_code == 401
    response = client.post("/api/v1/auth/refresh", json={})
    assert response.status_code == 422
    assert "refresh_token" in response.json["errors"]


def test_refresh_token_cannot_be_used_as_access_token(client, world, login):
    body = login("bidan.kebomas").json
    assert client.get("/api/v1/auth/me", headers=bearer(body["refresh_token"])).status_code == 401


def test_logout_revokes_the_family(client, world, login):
    first = login("kader.melati").json
    second = refresh(client, first["refresh_token"]).json
    other_device = login("kader.melati").json
    response = client.post("/api/v1/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert response.status_code == 204
    assert refresh(client, second["refresh_token"]).status_code == 401
    assert _row(second["refresh_token"]).revoked_reason == "logout"
    assert refresh(client, other_device["refresh_token"]).status_code == 200


def test_password_change_revokes_refresh_and_earlier_access_tokens(client, world, login):
    old = login("kader.melati").json
    other = login("kader.melati").json
    response = client.post("/api/v1/auth/password", headers=bearer(old["access_token"]),
                           json={"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 200, response.json
    fresh = response.json
    # every earlier token stops working, even one issued in the same second
    for token in (old["access_token"], other["access_token"]):
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    for token in (old["refresh_token"], other["refresh_token"]):
        assert refresh(client, token).status_code == 401
    # the pair answered by the change works
    assert client.get("/api/v1/auth/me", headers=bearer(fresh["access_token"])).status_code == 200
    assert refresh(client, fresh["refresh_token"]).status_code == 200
    # and the passwords swapped
    assert login("kader.melati").status_code == 401
    assert login("kader.melati", NEW_PASSWORD).status_code == 200


def test_password_change_wrong_current_password(client, world):
    response = client.post("/api/v1/auth/password", headers=factories.headers(world.kader_a1),
                           json={"current_password": "wrong-one-1", "new_password": NEW_PASSWORD})
    assert response.status_code == 422
    assert "current_password" in response.json["errors"]
    assert client.get("/api/v1/auth/me", headers=factories.headers(world.kader_a1)).status_code == 200


def test_password_change_weak_new_password_changes_nothing(client, world, login):
    token = login("kader.melati").json
    response = client.post("/api/v1/auth/password", headers=bearer(token["access_token"]),
                           json={"current_password": factories.PASSWORD, "new_password": "1234"})
    assert response.status_code == 422
    assert "new_password" in response.json["errors"]
    assert refresh(client, token["refresh_token"]).status_code == 200
    assert login("kader.melati").status_code == 200


def test_parent_cannot_change_a_password(client, world):
    response = client.post("/api/v1/auth/password", headers=factories.headers(world.parent_1),
                           json={"current_password": "x", "new_password": NEW_PASSWORD})
    assert response.status_code == 403


def test_disabled_account_cannot_refresh(client, world, login):
    body = login("kader.mawar").json
    world.kader_a2.is_active = False
    db.session.commit()
    assert refresh(client, body["refresh_token"]).status_code == 401
    assert _row(body["refresh_token"]).revoked_at is not None


# ---------------------------------------------------------------------------------------
# verified-token cache (posyandu.auth.jwt_cache): never weaker than verifying every time
# ---------------------------------------------------------------------------------------
def test_an_accepted_access_token_is_refused_once_it_expires(app, client, world):
    import time
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    from posyandu.auth.tokens import password_stamp
    user = world.kader_a1
    with app.test_request_context():
        token = create_access_token(identity=str(user.id), expires_delta=timedelta(seconds=2),
                                    additional_claims={"role": user.role, "pwc": password_stamp(user)})
    exp = pyjwt.decode(token, options={"verify_signature": False})["exp"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200  # from the cache
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401 and response.json["type"].endswith("token-expired"), response.json


def test_a_tampered_copy_of_an_accepted_token_is_refused(client, world, login):
    token = login("kader.melati").json["access_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    header, payload, signature = token.split(".")
    claims = pyjwt.decode(token, options={"verify_signature": False})
    import base64
    import json
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": str(world.admin.id)}).encode()).decode().rstrip("=")
    for bad in (f"{header}.{forged}.{signature}", f"{header}.{payload}.{signature[:-2]}AA"):
        assert client.get("/api/v1/auth/me", headers=bearer(bad)).status_code == 401


def test_an_accepted_access_token_stops_working_when_the_account_is_disabled(client, world, login):
    token = login("kader.mawar").json["access_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    world.kader_a2.is_active = False
    db.session.commit()
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
