"""Fixtures for the auth tests: a clean rate-limiter per test, and sign-in helpers."""
from __future__ import annotations

import pytest

from posyandu.extensions import limiter

from tests import factories


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """The limiter's storage lives as long as the app: clear it so no test inherits counts."""
    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()


@pytest.fixture
def login(client):
    """POST /auth/login; returns the response."""
    def _login(identifier, password=factories.PASSWORD, **kwargs):
        return client.post("/api/v1/auth/login", json={"login": identifier, "password": password}, **kwargs)
    return _login


# ----------------------------------------------------------------------------- Firebase (parents)
FIREBASE_PROJECT = "demo-posyandu"


@pytest.fixture
def fake_google(fake_google_server, app, monkeypatch):
    """The fake, reset, with the Flask app's Firebase App aimed at it for this test."""
    import uuid

    import firebase_admin
    from google.oauth2.credentials import Credentials

    from posyandu.auth.firebase import use_firebase_app
    from posyandu.devtools.firebase_local import point_firebase_at

    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    fake_google_server.reset(users=True)
    fb_app = firebase_admin.initialize_app(Credentials("test-static-token"),
                                           {"projectId": FIREBASE_PROJECT, "httpTimeout": 5},
                                           name=f"test-auth-{uuid.uuid4().hex}")
    point_firebase_at(fb_app, fake_google_server.base_url, messaging=False)
    previous = use_firebase_app(app, fb_app)
    yield fake_google_server
    use_firebase_app(app, previous)
    firebase_admin.delete_app(fb_app)
