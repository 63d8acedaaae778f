"""Issue 9 §1: parent sign-in on a server without Firebase credentials is a clear 503
problem+json (it was a 500 with ``DefaultCredentialsError`` in the log)."""
from __future__ import annotations

import pytest

from posyandu.auth.firebase import use_firebase_app
from tests.children.helpers import assert_problem

URL = "/api/v1/auth/firebase"


@pytest.fixture
def unconfigured(app, monkeypatch, tmp_path):
    """No service account, no Application Default Credentials, no development fake."""
    for name in ("FIREBASE_FAKE_GOOGLE_URL", "GOOGLE_APPLICATION_CREDENTIALS", "FIREBASE_AUTH_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))      # no gcloud ADC file
    monkeypatch.setitem(app.config, "FIREBASE_CREDENTIALS", None)
    previous = use_firebase_app(app, None)
    yield app
    use_firebase_app(app, previous)


def test_parent_sign_in_without_firebase_is_503_saying_so(client, world, unconfigured):
    response = client.post(URL, json={"id_token": "header.payload.signature"}, headers={"Accept-Language": "en"})
    assert_problem(response, 503)
    assert response.json["type"] == "urn:posyandugo:problem:firebase-not-configured"
    assert "not configured" in response.json["detail"]
    # the same answer again (nothing half-built left behind)
    assert client.post(URL, json={"id_token": "x.y.z"}).status_code == 503


def test_a_missing_service_account_file_is_503_too(client, world, unconfigured, tmp_path):
    unconfigured.config["FIREBASE_CREDENTIALS"] = str(tmp_path / "missing.json")
    response = client.post(URL, json={"id_token": "header.payload.signature"})
    assert_problem(response, 503)
    assert response.json["type"] == "urn:posyandugo:problem:firebase-not-configured"
