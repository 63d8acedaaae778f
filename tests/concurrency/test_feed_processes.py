"""The command-centre feed is stored once for all server processes (posyandu/feeds/models.py).

Two app instances on one PostgreSQL database stand for two gunicorn workers: what one computed,
the other serves with the same ETag and bytes (a 304 for the dashboard's ETag) without computing;
while another process holds a kabupaten's computation lock, a poll does not compute it again.
Real commits in the private database of tests/concurrency/conftest.py."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from posyandu import create_app
from posyandu.config import TESTING_OVERRIDES
from posyandu.extensions import db
from posyandu.feeds import operations as feed_ops


pytestmark = [pytest.mark.real_commits, pytest.mark.postgres_only]

FEED = "/api/v1/feeds/command-centre"


def _key(app, tokens, kabupaten: str) -> dict:
    response = app.test_client().post("/api/v1/api-clients", headers=tokens["admin"],
                                      json={"name": f"Command centre {kabupaten}", "kabupaten_code": kabupaten})
    assert response.status_code == 201, response.json
    return {"X-API-Key": response.json["api_key"]}


def _no_computing(*args, **kwargs):
    raise AssertionError("this process computed the feed")


@pytest.fixture
def second_process(race):
    app, _, _ = race
    other = create_app({**TESTING_OVERRIDES, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_what_one_process_computed_another_serves(race, second_process, monkeypatch):
    app, tokens, _ = race
    for instance in (app, second_process):
        monkeypatch.setitem(instance.config, "COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS", 300)
    key = _key(app, tokens, "35.25")
    first = app.test_client().get(FEED, headers=key)
    assert first.status_code == 200, first.get_data(as_text=True)[:300]
    monkeypatch.setattr(feed_ops, "area_glance", _no_computing)
    served = second_process.test_client().get(FEED, headers=key)
    assert served.status_code == 200
    assert served.headers["ETag"] == first.headers["ETag"] and served.get_data() == first.get_data()
    unchanged = second_process.test_client().get(FEED, headers={**key, "If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304


def test_a_computation_running_in_another_process_is_not_repeated(race, second_process, monkeypatch):
    app, tokens, _ = race
    key = _key(app, tokens, "35.24")
    with app.app_context():
        engine = db.engine
    with engine.connect() as other:   # another process computing Lamongan's feed holds its lock
        other.execute(sa.select(sa.func.pg_advisory_xact_lock(feed_ops._LOCK_CLASS, sa.func.hashtext("3524"))))
        monkeypatch.setattr(feed_ops, "area_glance", _no_computing)
        waiting = second_process.test_client().get(FEED, headers=key)
        assert waiting.status_code == 503 and waiting.json["type"].endswith("feed-preparing")
        assert int(waiting.headers["Retry-After"]) > 0
        other.rollback()
    monkeypatch.undo()
    ready = second_process.test_client().get(FEED, headers=key)
    assert ready.status_code == 200 and ready.json["kabupaten"]["code"] == "35.24"
