"""Issue 9 §1: in development (``make run``) parent sign-in works out of the box: the server
verifies ID tokens against the local fake of Google (``FIREBASE_FAKE_GOOGLE_URL``, set by
scripts/dev-run.sh) and ``flask demo parent-token PHONE`` prints one, through the real
``firebase_admin.auth.verify_id_token`` path (RS256, certificates, revocation lookup)."""
from __future__ import annotations

import pathlib

import firebase_admin
import pytest

from posyandu.auth.firebase import use_firebase_app

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def dev_mode(app, fake_google_server, monkeypatch):
    """The app as scripts/dev-run.sh starts it: only FIREBASE_FAKE_GOOGLE_URL set."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("FIREBASE_FAKE_GOOGLE_URL", fake_google_server.base_url)
    fake_google_server.reset(users=True)
    previous = use_firebase_app(app, None)   # built lazily from the environment, as in make run
    yield app
    built = use_firebase_app(app, previous)
    if built is not None and built is not previous:
        firebase_admin.delete_app(built)


def test_demo_parent_token_signs_a_parent_in(client, world, dev_mode):
    result = dev_mode.test_cli_runner().invoke(args=["demo", "parent-token", "0813-1111-1111"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = client.post("/api/v1/auth/firebase", json={"id_token": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["user"]["id"] == world.parent_1.id       # +6281311111111, linked to child_a1
    assert response.json["user"]["children_count"] == 1


def test_parent_token_without_a_running_fake_says_how_to_start_it(app, monkeypatch):
    monkeypatch.setenv("FIREBASE_FAKE_GOOGLE_URL", "http://127.0.0.1:9")
    result = app.test_cli_runner().invoke(args=["demo", "parent-token"])
    assert result.exit_code != 0 and "make run" in result.output


def test_make_run_starts_the_fake_and_serves():
    """The Makefile's run target goes through scripts/dev-run.sh, which starts the fake."""
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/dev-run.sh" in makefile.split("\nrun:")[1].split("\n\n")[0]
    script = (ROOT / "scripts/dev-run.sh").read_text()
    assert "posyandu.devtools.fake_google" in script and "FIREBASE_FAKE_GOOGLE_URL" in script
