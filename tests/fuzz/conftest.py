"""Shared by the fuzz runs."""
from __future__ import annotations

import pytest


@pytest.fixture
def _firebase(app, fake_google_server, monkeypatch):
    """Parent sign-in verified against the local fake of Google (as in ``make run``)."""
    import uuid

    import firebase_admin
    from google.oauth2.credentials import Credentials

    from posyandu.auth.firebase import use_firebase_app
    from posyandu.devtools.firebase_local import point_firebase_at
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    fb_app = firebase_admin.initialize_app(Credentials("fuzz-static-token"),
                                           {"projectId": app.config["FIREBASE_PROJECT_ID"], "httpTimeout": 5},
                                           name=f"fuzz-{uuid.uuid4().hex}")
    point_firebase_at(fb_app, fake_google_server.base_url, messaging=False)
    previous = use_firebase_app(app, fb_app)
    yield
    use_firebase_app(app, previous)
    firebase_admin.delete_app(fb_app)
