"""auth.verify_id_token through the SDK's real RS256 path (no FIREBASE_AUTH_EMULATOR_HOST),
with the securetoken certificates and Identity Toolkit served by the local fake."""
from __future__ import annotations

import os
import time
import uuid

import firebase_admin
import pytest
from firebase_admin import auth
from google.oauth2.credentials import Credentials

from posyandu.devtools.firebase_local import point_auth_at

PHONE = "+6281234567890"


@pytest.fixture(autouse=True)
def _db_transaction():
    """No database here: opt this module out of tests/conftest.py's autouse per-test
    transaction, which would build the whole Flask app (and its DB) for every test."""
    yield


def test_valid_token_verifies_with_check_revoked(fake, auth_app):
    assert "FIREBASE_AUTH_EMULATOR_HOST" not in os.environ
    token = fake.make_id_token("parent-1", PHONE)
    claims = auth.verify_id_token(token, app=auth_app, check_revoked=True)
    assert claims["uid"] == claims["sub"] == "parent-1"
    assert claims["phone_number"] == PHONE
    assert claims["firebase"]["sign_in_provider"] == "phone"
    assert claims["iss"] == "https://securetoken.google.com/demo-posyandu"
    stats = fake.stats()
    assert stats["cert_requests"] == 1 and stats["identitytoolkit_requests"] == 1


def test_get_user_reads_the_fake_store(fake, auth_app):
    fake.add_user("parent-2", PHONE)
    user = auth.get_user("parent-2", app=auth_app)
    assert user.phone_number == PHONE and not user.disabled
    assert auth.get_user_by_phone_number(PHONE, app=auth_app).uid == "parent-2"
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user("nobody", app=auth_app)


def test_expired_token(fake, auth_app):
    token = fake.make_id_token("parent-1", PHONE, issued_at=time.time() - 7200, expires_in=3600)
    with pytest.raises(auth.ExpiredIdTokenError):
        auth.verify_id_token(token, app=auth_app)


def test_wrong_audience(fake, auth_app):
    token = fake.make_id_token("parent-1", PHONE, audience="someone-elses-project")
    with pytest.raises(auth.InvalidIdTokenError, match="aud"):
        auth.verify_id_token(token, app=auth_app)


def test_other_project_token(fake, auth_app):
    token = fake.make_id_token("parent-1", PHONE, project_id="demo-other")
    with pytest.raises(auth.InvalidIdTokenError):
        auth.verify_id_token(token, app=auth_app)


def test_unknown_kid_and_tampered_signature(fake, auth_app):
    forged = fake.make_id_token("parent-1", PHONE, kid="not-served")
    with pytest.raises(auth.InvalidIdTokenError):
        auth.verify_id_token(forged, app=auth_app)
    header, payload, sig = fake.make_id_token("parent-1", PHONE).split(".")
    other_payload = fake.make_id_token("parent-admin", PHONE).split(".")[1]
    with pytest.raises(auth.InvalidIdTokenError):
        auth.verify_id_token(f"{header}.{other_payload}.{sig}", app=auth_app)


def test_revoked_token(fake, auth_app):
    token = fake.make_id_token("parent-1", PHONE, issued_at=time.time() - 60)
    assert auth.verify_id_token(token, app=auth_app, check_revoked=True)["uid"] == "parent-1"
    fake.revoke_tokens("parent-1")  # validSince = now > iat
    with pytest.raises(auth.RevokedIdTokenError):
        auth.verify_id_token(token, app=auth_app, check_revoked=True)
    # without check_revoked only the signature/claims are checked
    assert auth.verify_id_token(token, app=auth_app)["uid"] == "parent-1"


def test_revoked_through_the_admin_api(fake, auth_app):
    token = fake.make_id_token("parent-3", PHONE, issued_at=time.time() - 60)
    auth.revoke_refresh_tokens("parent-3", app=auth_app)  # accounts:update validSince
    with pytest.raises(auth.RevokedIdTokenError):
        auth.verify_id_token(token, app=auth_app, check_revoked=True)


def test_disabled_user(fake, auth_app):
    token = fake.make_id_token("parent-1", PHONE)
    fake.disable_user("parent-1")
    with pytest.raises(auth.UserDisabledError):
        auth.verify_id_token(token, app=auth_app, check_revoked=True)
    auth.update_user("parent-1", disabled=False, app=auth_app)  # accounts:update disableUser
    assert auth.verify_id_token(token, app=auth_app, check_revoked=True)["uid"] == "parent-1"


def test_check_revoked_for_unknown_user(fake, auth_app):
    token = fake.make_id_token("ghost", PHONE, register=False)
    with pytest.raises(auth.UserNotFoundError):
        auth.verify_id_token(token, app=auth_app, check_revoked=True)


def test_pointing_auth_refuses_the_emulator_variable(fake, monkeypatch):
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    app = firebase_admin.initialize_app(Credentials("t"), {"projectId": "demo-posyandu"},
                                        name=f"test-auth-{uuid.uuid4().hex}")
    try:
        with pytest.raises(RuntimeError, match="FIREBASE_AUTH_EMULATOR_HOST"):
            point_auth_at(app, fake.base_url)
    finally:
        firebase_admin.delete_app(app)
