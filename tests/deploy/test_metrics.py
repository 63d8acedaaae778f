"""GET /metrics: Prometheus text with request latency/errors by route template, sync counts and
the reminder outbox; 404 unless configured and the caller passes the token/network checks."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from posyandu import create_app
from posyandu.config import TESTING_OVERRIDES
from posyandu.db import utcnow
from posyandu.extensions import limiter
from posyandu.metrics import EXTENSION_KEY, Settings, parse_networks
from tests import factories
from tests.reminders.dispatch_support import add_delivery, add_device, add_reminder

TOKEN = TESTING_OVERRIDES["METRICS_TOKEN"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def scrape(client) -> dict[tuple, float]:
    """{(sample name, frozenset(labels)): value} of one scrape."""
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template_and_status(client, world):
    child = world.child_a1
    before = scrape(client)
    body = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": "2026-11-10",
            "weight_kg": 9.1, "length_cm": 75.0, "measure_method": "lying"}
    assert client.post("/api/v1/measurements", json=body,
                       headers=factories.headers(world.kader_a1)).status_code == 201
    # an error on a templated route, and an unknown path
    assert client.get(f"/api/v1/children/{uuid.uuid4()}",
                      headers=factories.headers(world.kader_a1)).status_code == 404
    assert client.get("/no/such/path/123").status_code == 404
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    count = "posyandu_http_request_duration_seconds_count"
    assert delta(count, method="POST", route="/api/v1/measurements", status="201") == 1
    assert delta(count, method="GET", route="/api/v1/children/<uuid:child_id>", status="404") == 1
    assert delta(count, method="GET", route="<unmatched>", status="404") == 1
    # latency: the request fell into some bucket, the +Inf bucket counts it, the sum grew
    assert delta("posyandu_http_request_duration_seconds_bucket", method="POST",
                 route="/api/v1/measurements", status="201", le="+Inf") == 1
    assert delta("posyandu_http_request_duration_seconds_sum", method="POST",
                 route="/api/v1/measurements", status="201") > 0
    # no raw ids in any label, and the scrape itself is not measured
    routes = {dict(labels).get("route") for (_, labels) in after}
    assert not any(str(child.id) in (r or "") for r in routes)
    assert "/metrics" not in routes


def test_sync_push_and_pull_are_counted(client, world):
    kader = factories.headers(world.kader_a1)
    before = scrape(client)
    good = {"entity": "measurement", "id": str(uuid.uuid4()), "base_version": None,
            "data": {"child_id": str(world.child_a1.id), "measured_on": "2026-11-12",
                     "weight_kg": 9.0, "length_cm": 75.5, "measure_method": "lying"}}
    bad = {"entity": "measurement", "id": str(uuid.uuid4()), "data": {"child_id": "not-a-uuid"}}
    first = client.post("/api/v1/sync/push", json={"records": [good, bad]}, headers=kader)
    assert first.status_code == 200
    assert [r["status"] for r in first.json["receipts"]] == ["applied", "invalid"]
    again = client.post("/api/v1/sync/push", json={"records": [good]}, headers=kader)
    assert again.json["receipts"][0]["status"] == "duplicate"
    pulled = client.get("/api/v1/sync/pull?limit=1000", headers=kader).json["changes"]
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    pushed = "posyandu_sync_push_records_total"
    assert delta(pushed, entity="measurement", result="applied") == 1
    assert delta(pushed, entity="measurement", result="invalid") == 1
    assert delta(pushed, entity="measurement", result="duplicate") == 1
    expected = {}
    for change in pulled:
        expected[(change["entity"], change["op"])] = expected.get((change["entity"], change["op"]), 0) + 1
    assert expected, "the kader's posyandu has a child and a measurement to pull"
    for (entity, op), n in expected.items():
        assert delta("posyandu_sync_pull_changes_total", entity=entity, op=op) == n


def test_reminder_outbox_gauges(client, world):
    now = utcnow()
    reminder = add_reminder(world.child_a1, send_at=now - timedelta(minutes=10))
    device = add_device(world.parent_1)
    add_delivery(reminder, device, next_attempt_at=now - timedelta(minutes=10))      # due, 10 min
    add_delivery(add_reminder(world.child_a1), add_device(world.parent_1),
                 next_attempt_at=now - timedelta(minutes=1))                         # due, 1 min
    add_delivery(add_reminder(world.child_a1), add_device(world.parent_1),
                 status="retry", next_attempt_at=now + timedelta(hours=1))          # waiting
    add_delivery(add_reminder(world.child_a1), add_device(world.parent_1),
                 status="sending", next_attempt_at=now, lease_until=now + timedelta(minutes=3))
    add_delivery(add_reminder(world.child_a1), add_device(world.parent_1), status="failed")
    for _ in range(2):
        add_delivery(add_reminder(world.child_a1), add_device(world.parent_1), status="dead")
    add_delivery(add_reminder(world.child_a1), add_device(world.parent_1), status="sent")
    samples = scrape(client)
    assert value(samples, "posyandu_database_up") == 1
    assert value(samples, "posyandu_reminder_queue", status="pending") == 2
    assert value(samples, "posyandu_reminder_queue", status="retry") == 1
    assert value(samples, "posyandu_reminder_queue", status="sending") == 1
    assert value(samples, "posyandu_reminder_due") == 2
    oldest = value(samples, "posyandu_reminder_oldest_due_seconds")
    assert 600 <= oldest < 600 + 120  # ten minutes, plus the time the test took
    assert value(samples, "posyandu_reminder_deliveries_failed", status="failed") == 1
    assert value(samples, "posyandu_reminder_deliveries_failed", status="dead") == 2
    assert value(samples, "posyandu_reminder_queue_paused") == 0


# ------------------------------------------------------------------ protection
def test_wrong_or_missing_token_is_a_404_like_any_unknown_path(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert b"posyandu_" not in response.data


@pytest.fixture
def metrics_settings(app):
    previous = app.extensions[EXTENSION_KEY]
    yield lambda token, networks: app.extensions.__setitem__(
        EXTENSION_KEY, Settings(token, parse_networks(networks)))
    app.extensions[EXTENSION_KEY] = previous


def test_allowed_networks_alone_and_together_with_the_token(client, metrics_settings):
    metrics_settings(None, "10.20.0.0/16, 127.0.0.1")
    inside, outside = {"REMOTE_ADDR": "10.20.3.4"}, {"REMOTE_ADDR": "192.0.2.1"}
    assert client.get("/metrics", environ_base=inside).status_code == 200
    assert client.get("/metrics", environ_base=outside).status_code == 404
    metrics_settings(TOKEN, "10.20.0.0/16")
    assert client.get("/metrics", environ_base=inside).status_code == 404  # token missing
    assert client.get("/metrics", environ_base=outside, headers=AUTH).status_code == 404
    assert client.get("/metrics", environ_base=inside, headers=AUTH).status_code == 200


def test_a_bad_network_stops_the_start():
    from posyandu.config import ConfigError
    with pytest.raises(ConfigError, match="METRICS_ALLOWED_NETWORKS"):
        parse_networks("10.0.0.0/8, intranet")


def test_not_configured_is_404_and_measures_nothing(app, database_url):
    bare = create_app({**TESTING_OVERRIDES, "SQLALCHEMY_DATABASE_URI": database_url,
                       "METRICS_TOKEN": None, "METRICS_ALLOWED_NETWORKS": None})
    try:
        assert EXTENSION_KEY not in bare.extensions
        response = bare.test_client().get("/metrics", headers=AUTH)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    finally:
        limiter.init_app(app)  # create_app re-initialised the limiter singleton
