"""Portal sign-in, session cookies, CSRF, sign-out, language, password change."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from posyandu.auth.models import RefreshToken
from posyandu.extensions import db
from tests.factories import PASSWORD

from .helpers import form_token, page_token, sign_in


def _cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_pages_need_sign_in(client, world):
    response = client.get("/portal/month")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/portal/login")


@pytest.mark.parametrize("who", ["staff_a", "dinkes_gresik", "kader_a1", "admin"])
def test_staff_sign_in_sets_safe_cookies(client, world, who):
    response = sign_in(client, getattr(world, who))
    assert response.status_code == 302 and response.headers["Location"] == "/portal/month"
    cookies = _cookies(response)
    access, refresh = cookies["access_token_cookie"], cookies["refresh_token_cookie"]
    for header in (access, refresh):
        assert "HttpOnly" in header and "SameSite=Lax" in header
        assert "Secure" not in header  # development/testing default; PORTAL_COOKIE_SECURE turns it on
    assert "Path=/portal/" in refresh
    assert client.get("/portal/month").status_code == 200


def test_secure_cookie_setting(app, client, world):
    app.config["JWT_COOKIE_SECURE"] = True
    try:
        response = sign_in(client, world.staff_a)
        cookies = _cookies(response)
        assert "Secure" in cookies["access_token_cookie"] and "Secure" in cookies["refresh_token_cookie"]
    finally:
        app.config["JWT_COOKIE_SECURE"] = False


def test_wrong_password_and_parent_refused(client, world):
    response = sign_in(client, world.staff_a, "wrong-password-1")
    assert response.status_code == 401
    assert "Kata sandi salah" in response.get_data(as_text=True) or "kata sandi salah" in response.get_data(as_text=True)
    assert "access_token_cookie" not in _cookies(response)
    token = form_token(client)
    response = client.post("/portal/login", data={"login": world.parent_1.phone, "password": "anything-1",
                                                  "csrf_token": token})
    assert response.status_code == 401
    assert client.get("/portal/month").status_code == 302


def test_disabled_account_refused(client, world):
    world.staff_a.is_active = False
    db.session.commit()
    response = sign_in(client, world.staff_a)
    assert response.status_code == 401
    assert "dinonaktifkan" in response.get_data(as_text=True)


def test_sign_in_needs_the_form_token(client, world):
    client.get("/portal/login")
    response = client.post("/portal/login", data={"login": world.staff_a.username, "password": PASSWORD})
    assert response.status_code == 400
    response = client.post("/portal/login", data={"login": world.staff_a.username, "password": PASSWORD,
                                                  "csrf_token": "forged-token-from-another-site-000000"})
    assert response.status_code == 400
    assert client.get("/portal/month").status_code == 302


def test_failed_sign_ins_are_limited_with_the_api(app, client, world):
    from posyandu.extensions import limiter
    limiter.reset()
    try:
        for _ in range(3):
            assert sign_in(client, world.staff_b, "wrong-password-1").status_code == 401
        for _ in range(2):  # the API's attempts count against the same account budget (5 / 15 min)
            response = client.post("/api/v1/auth/login", json={"login": world.staff_b.username,
                                                               "password": "wrong-password-1"})
            assert response.status_code == 401
        response = sign_in(client, world.staff_b)  # even the right password now waits
        assert response.status_code == 429
        assert response.headers.get("Retry-After")
        assert "Terlalu banyak percobaan" in response.get_data(as_text=True)
    finally:
        limiter.reset()


def test_forms_need_the_session_csrf_token(client, world):
    sign_in(client, world.staff_a)
    assert client.post("/portal/logout", data={}).status_code == 400
    assert client.post("/portal/logout", data={"csrf_token": "x" * 36}).status_code == 400
    assert client.post("/portal/password", data={"current_password": PASSWORD, "new_password": "new-Password-99",
                                                 "csrf_token": "nope"}).status_code == 400
    assert client.get("/portal/month").status_code == 200  # still signed in, nothing changed


def test_sign_out_revokes_the_refresh_token(client, world):
    sign_in(client, world.staff_a)
    token = page_token(client)
    response = client.post("/portal/logout", data={"csrf_token": token})
    assert response.status_code == 200
    assert "Anda sudah keluar" in response.get_data(as_text=True)
    rows = db.session.scalars(sa.select(RefreshToken).where(RefreshToken.user_id == world.staff_a.id)).all()
    assert rows and all(r.revoked_at is not None for r in rows)
    assert client.get("/portal/month").status_code == 302


def test_expired_access_token_is_renewed_with_the_refresh_cookie(client, world):
    sign_in(client, world.staff_a)
    client.delete_cookie("access_token_cookie")
    response = client.get("/portal/month")
    assert response.status_code == 200
    assert "access_token_cookie" in _cookies(response)
    rows = db.session.scalars(sa.select(RefreshToken).where(RefreshToken.user_id == world.staff_a.id)).all()
    assert sum(r.rotated_at is not None for r in rows) == 1


def test_switch_language(client, world):
    sign_in(client, world.staff_a)
    assert "Bulan ini sekilas" in client.get("/portal/month").get_data(as_text=True)
    token = page_token(client)
    response = client.post("/portal/language", data={"lang": "en", "csrf_token": token, "next": "/portal/month"})
    assert response.status_code == 302
    assert "The month at a glance" in client.get("/portal/month").get_data(as_text=True)
    assert client.post("/portal/language", data={"lang": "en"}).status_code == 400  # no token


def test_change_password_signs_out_other_sessions(app, client, world):
    sign_in(client, world.staff_a)
    other = app.test_client()
    sign_in(other, world.staff_a)
    token = page_token(client, "/portal/password")
    response = client.post("/portal/password", data={"csrf_token": token, "current_password": "wrong-one-1",
                                                     "new_password": "Another-pass-77"})
    assert response.status_code == 422
    assert "salah" in response.get_data(as_text=True)
    token = page_token(client, "/portal/password")
    response = client.post("/portal/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                     "new_password": "Another-pass-77"})
    assert response.status_code == 200
    assert client.get("/portal/month").status_code == 200   # this browser got new cookies
    assert other.get("/portal/month").status_code == 302    # the other one is signed out


def test_api_accepts_the_cookie_for_reads_but_not_writes_without_csrf(client, world):
    sign_in(client, world.staff_a)
    assert client.get("/api/v1/auth/me").status_code == 200
    response = client.post("/api/v1/children", json={"name": "X"})
    assert response.status_code == 401  # a cookie-borne token needs the CSRF header for writes
