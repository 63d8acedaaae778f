"""Feed test helpers: API clients made through the admin API, visits recorded through the API."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from posyandu.charts import cache
from posyandu.extensions import limiter
from posyandu.feeds import operations as feed_ops
from tests import factories

FEED = "/api/v1/feeds/command-centre"


@pytest.fixture(autouse=True)
def _fresh_state(app, monkeypatch):
    """No test inherits rate-limit counts or a kept feed; the feed follows every change at once
    (no minimum interval; past months kept an hour, as in production) unless a test says otherwise."""
    with app.app_context():
        limiter.reset()
    feed_ops.clear_cache()
    cache.CHARTS.clear()
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS", 0)
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_PAST_MONTHS_SECONDS", 3600)
    yield
    with app.app_context():
        limiter.reset()
    feed_ops.clear_cache()


def today_wib() -> date:
    return (datetime.now(timezone.utc) + timedelta(hours=7)).date()


@pytest.fixture
def make_client(client, world):
    """POST /api-clients as ``user`` (admin by default); returns the JSON (with ``api_key``)."""
    def _make(kabupaten="35.25", name="Command centre", user=None):
        r = client.post("/api/v1/api-clients", json={"name": name, "kabupaten_code": kabupaten},
                        headers=factories.headers(user or world.admin))
        assert r.status_code == 201, r.json
        return r.json
    return _make


@pytest.fixture
def feed(client):
    def _feed(key=None, header="bearer", **kwargs):
        headers = kwargs.pop("headers", {})
        if key is not None:
            headers = {**headers, **({"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key})}
        return client.get(FEED, headers=headers, **kwargs)
    return _feed


@pytest.fixture
def visit(client, world):
    def _visit(child, on: date, **values):
        body = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": on.isoformat(), **values}
        r = client.post("/api/v1/measurements", json=body, headers=factories.headers(world.admin))
        assert r.status_code == 201, r.json
        return r.json
    return _visit
