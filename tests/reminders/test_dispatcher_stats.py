"""GET /api/v1/reminders/stats: delivery counts per posyandu and status, scoped to the caller."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from posyandu.reminders.models import DELIVERY_STATUSES

from tests.factories import headers

from .dispatch_support import add_delivery, add_device, add_reminder

URL = "/api/v1/reminders/stats"
DAY = "from=2026-12-01&to=2026-12-01"
UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def deliveries(world):
    """Deliveries for 1 December 2026 (WIB day = 2026-11-30T17:00Z .. 2026-12-01T17:00Z)."""
    w = world
    ok = lambda: add_device(w.parent_1)  # noqa: E731
    dead_phone = add_device(w.parent_1, "unregistered-a1", retired=True)
    # A1: two reminders in the day (one exactly at 00:00 WIB), one the evening before (excluded)
    r1 = add_reminder(w.child_a1, send_at=at("2026-12-01T00:00"))
    add_delivery(r1, ok(), status="sent")
    add_delivery(r1, dead_phone, status="failed", last_error="UNREGISTERED: Requested entity was not found.",
                 updated_at=at("2026-12-01T02:00"))
    r2 = add_reminder(w.child_a1, send_at=at("2026-11-30T17:00"))
    add_delivery(r2, ok(), status="retry", last_error="UNAVAILABLE: down", updated_at=at("2026-12-01T01:00"))
    add_delivery(r2, ok(), status="pending")
    r3 = add_reminder(w.child_a1, send_at=at("2026-11-30T16:59"))  # 23:59 WIB on 30 November
    add_delivery(r3, ok(), status="sent")
    # A2: one reminder at 23:59 WIB
    r4 = add_reminder(w.child_a2, send_at=at("2026-12-01T16:59"))
    add_delivery(r4, ok(), status="dead", last_error="INTERNAL: boom", updated_at=at("2026-12-01T03:00"))
    add_delivery(r4, ok(), status="sent")
    # B1 (puskesmas B) and C1 (the other kabupaten)
    r5 = add_reminder(w.child_b1, send_at=at("2026-12-01T00:00"))
    add_delivery(r5, ok(), status="sent")
    add_delivery(r5, add_device(w.parent_2, "unregistered-b1", retired=True), status="failed",
                 last_error="UNREGISTERED: Requested entity was not found.", updated_at=at("2026-12-01T04:00"))
    r6 = add_reminder(w.child_c1, send_at=at("2026-12-01T00:00"))
    add_delivery(r6, ok(), status="sent")
    return w


def counts(**nonzero):
    return {s: nonzero.get(s, 0) for s in DELIVERY_STATUSES}


def get(client, user, query=DAY):
    return client.get(f"{URL}?{query}", headers=headers(user))


def test_puskesmas_staff_sees_its_posyandu_grouped_by_status(client, deliveries):
    w = deliveries
    resp = get(client, w.staff_a)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert (body["from"], body["to"]) == ("2026-12-01", "2026-12-01")
    items = {i["posyandu_id"]: i for i in body["items"]}
    assert set(items) == {w.posyandu_a1.id, w.posyandu_a2.id}
    a1, a2 = items[w.posyandu_a1.id], items[w.posyandu_a2.id]
    assert a1["posyandu_name"] == "Posyandu Melati"
    assert (a1["reminders"], a1["deliveries"], a1["retired_tokens"]) == (2, 4, 1)
    assert a1["by_status"] == counts(sent=1, failed=1, retry=1, pending=1)
    assert a1["last_errors"] == [
        {"error": "UNREGISTERED: Requested entity was not found.", "count": 1,
         "last_at": "2026-12-01T02:00:00+00:00"},
        {"error": "UNAVAILABLE: down", "count": 1, "last_at": "2026-12-01T01:00:00+00:00"}]
    assert (a2["reminders"], a2["deliveries"], a2["retired_tokens"]) == (1, 2, 0)
    assert a2["by_status"] == counts(sent=1, dead=1)
    assert [e["error"] for e in a2["last_errors"]] == ["INTERNAL: boom"]
    assert body["totals"] == {"reminders": 3, "deliveries": 6, "retired_tokens": 1,
                              "by_status": counts(sent=2, failed=1, retry=1, pending=1, dead=1)}


def test_wider_period_includes_the_evening_before(client, deliveries):
    resp = get(client, deliveries.kader_a1, "from=2026-11-30&to=2026-12-01")
    [a1] = resp.json["items"]
    assert a1["by_status"] == counts(sent=2, failed=1, retry=1, pending=1) and a1["reminders"] == 3


def test_other_puskesmas_does_not_see_a(client, deliveries):
    w = deliveries
    body = get(client, w.staff_b).json
    assert [i["posyandu_id"] for i in body["items"]] == [w.posyandu_b1.id]
    assert body["items"][0]["by_status"] == counts(sent=1, failed=1)
    assert body["totals"]["deliveries"] == 2
    resp = get(client, w.staff_b, f"{DAY}&posyandu_id={w.posyandu_a1.id}")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_kader_sees_only_her_posyandu(client, deliveries):
    w = deliveries
    body = get(client, w.kader_a1).json
    assert [i["posyandu_id"] for i in body["items"]] == [w.posyandu_a1.id]
    assert get(client, w.kader_a1, f"{DAY}&posyandu_id={w.posyandu_a2.id}").status_code == 404
    body = get(client, w.kader_a2, f"{DAY}&posyandu_id={w.posyandu_a2.id}").json
    assert [i["posyandu_id"] for i in body["items"]] == [w.posyandu_a2.id]


def test_dinkes_sees_the_kabupaten_and_admin_everything(client, deliveries):
    w = deliveries
    ids = lambda user, q=DAY: sorted(i["posyandu_id"] for i in get(client, user, q).json["items"])  # noqa: E731
    assert ids(w.dinkes_gresik) == sorted([w.posyandu_a1.id, w.posyandu_a2.id, w.posyandu_b1.id])
    assert ids(w.dinkes_lamongan) == [w.posyandu_c1.id]
    assert ids(w.admin) == sorted([w.posyandu_a1.id, w.posyandu_a2.id, w.posyandu_b1.id, w.posyandu_c1.id])
    assert ids(w.staff_a, f"{DAY}&posyandu_id={w.posyandu_a2.id}") == [w.posyandu_a2.id]
    assert get(client, w.dinkes_lamongan, f"{DAY}&posyandu_id={w.posyandu_a1.id}").status_code == 404


def test_parents_are_refused(client, deliveries):
    resp = get(client, deliveries.parent_1)
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert client.get(f"{URL}?{DAY}").status_code == 401


@pytest.mark.parametrize("query, field", [
    ("from=2026-12-02&to=2026-12-01", "to"),
    ("from=01-12-2026&to=2026-12-01", "from"),
    ("from=2025-01-01&to=2026-12-01", "to"),
    (f"{DAY}&posyandu_id=abc", "posyandu_id"),
])
def test_bad_input_names_the_field(client, deliveries, query, field):
    resp = get(client, deliveries.staff_a, query)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert field in resp.json["errors"], resp.json


def test_defaults_to_the_last_30_days(client, deliveries):
    body = get(client, deliveries.staff_a, "").json
    today = datetime.now(timezone(timedelta(hours=7))).date()
    assert body["to"] == today.isoformat() and body["from"] == (today - timedelta(days=30)).isoformat()


def test_documented_in_openapi(client):
    spec = client.get("/api/v1/openapi.json").json
    op = spec["paths"]["/api/v1/reminders/stats"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"from", "to", "posyandu_id"}
    assert op["summary"].startswith("Reminder deliveries per posyandu")
