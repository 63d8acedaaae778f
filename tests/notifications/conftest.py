"""Fixtures for the notification tests: a local fake of Google and isolated firebase_admin Apps.

Everything runs the real firebase-admin code; only Google's servers are replaced by
``posyandu.devtools.fake_google.FakeGoogle`` on 127.0.0.1.
"""
from __future__ import annotations

import uuid

import firebase_admin
import pytest
from google.oauth2.credentials import Credentials

from posyandu.devtools.firebase_local import point_firebase_at
from posyandu.notifications.fcm import FcmSender

PROJECT_ID = "demo-posyandu"


@pytest.fixture
def make_sender(fake):
    """Factory for FcmSender on a uniquely named App aimed at the fake; closed after the test."""
    senders: list[FcmSender] = []

    def factory(**kwargs) -> FcmSender:
        kwargs.setdefault("http_timeout", 5)
        kwargs.setdefault("endpoint_url", fake.base_url)
        sender = FcmSender(f"test-fcm-{uuid.uuid4().hex}", PROJECT_ID, **kwargs)
        senders.append(sender)
        return sender

    yield factory
    for sender in senders:
        sender.close()


@pytest.fixture
def auth_app(fake, monkeypatch):
    """A firebase_admin App whose auth (real RS256 path, no emulator variable) uses the fake."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    app = firebase_admin.initialize_app(
        Credentials("test-static-token"), {"projectId": PROJECT_ID, "httpTimeout": 5},
        name=f"test-auth-{uuid.uuid4().hex}")
    point_firebase_at(app, fake.base_url, messaging=False)
    yield app
    firebase_admin.delete_app(app)
