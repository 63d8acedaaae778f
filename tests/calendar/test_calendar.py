"""The posyandu calendar: exceptions (moved, cancelled, extra), sessions in a range, a child's next
session; permissions, retries, bad input.

Worked by hand: posyandu A1 meets on the second Tuesday. March 2025 starts on a Saturday
(Tuesdays 4, 11 → 11 March), April 2025 on a Tuesday (1, 8 → 8 April), May 2025 on a Thursday
(6, 13 → 13 May). WIB = UTC+7, WITA = UTC+8 (posyandu-operations-id.md §6).
"""
from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.calendar.models import CalendarException
from posyandu.core.calendar import SessionException
from posyandu.core.sessions import first_session_on_or_after, sessions_between
from posyandu.extensions import db

from tests import factories

H = factories.headers


def _url(world, suffix=""):
    return f"/api/v1/posyandu/{world.posyandu_a1.id}/calendar{suffix}"


def _count():
    return db.session.execute(sa.select(sa.func.count()).select_from(CalendarException)).scalar_one()


def _post(client, world, user, expect=201, **body):
    response = client.post(_url(world, "/exceptions"), json=body, headers=H(user))
    assert response.status_code == expect, response.json
    return response


def test_sessions_in_a_range_with_exceptions(client, world):
    _post(client, world, world.kader_a1, kind="moved", original_date="2025-03-11", new_date="2025-03-13",
          note="Bidan pelatihan")
    _post(client, world, world.staff_a, kind="cancelled", original_date="2025-04-08", note="Libur Lebaran")
    _post(client, world, world.dinkes_gresik, kind="extra", new_date="2025-04-22", start_time="13.00",
          end_time="15:00", note="Sweeping imunisasi")
    response = client.get(_url(world, "?from=2025-03-01&to=2025-05-31"), headers=H(world.kader_a1))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["zone_label"] == "WIB" and body["description"]["id"] == "Setiap Selasa kedua, 08.00–11.00 WIB"
    got = [(s["date"], s["kind"], s["moved_from"], s["start_time"], s["starts_at"]) for s in body["sessions"]]
    assert got == [
        ("2025-03-13", "moved", "2025-03-11", "08:00", "2025-03-13T01:00:00+00:00"),
        ("2025-04-22", "extra", None, "13:00", "2025-04-22T06:00:00+00:00"),
        ("2025-05-13", "regular", None, "08:00", "2025-05-13T01:00:00+00:00"),
    ]
    assert body["sessions"][1]["note"] == "Sweeping imunisasi" and body["sessions"][1]["end_time"] == "15:00"
    listed = client.get(_url(world, "/exceptions"), headers=H(world.staff_a)).json["items"]
    assert [(e["kind"], e["original_date"], e["new_date"]) for e in listed] == [
        ("moved", "2025-03-11", "2025-03-13"), ("cancelled", "2025-04-08", None), ("extra", None, "2025-04-22")]
    assert listed[2]["start_time"] == "13:00"
    audited = db.session.execute(sa.select(AuditEvent).where(AuditEvent.entity == "calendar_exception")).scalars().all()
    assert [a.action for a in audited] == ["create", "create", "create"]
    trail = client.get("/api/v1/audit?entity=calendar_exception", headers=H(world.staff_a))
    assert trail.status_code == 200, trail.json
    assert [e["entity"] for e in trail.json["items"]] == ["calendar_exception"] * 3


def test_wita_posyandu_times(client, world):
    bali_like = factories.posyandu("PY-W1", "Posyandu Cempaka", "3525012001", world.puskesmas_a,
                                   timezone="Asia/Makassar", session_rule="day_of_month:31")
    body = client.get(f"/api/v1/posyandu/{bali_like.id}/calendar?from=2025-02-01&to=2025-04-30",
                      headers=H(world.staff_a)).json
    # day 31 is clamped to the month's last day; 08.00 WITA = 00.00 UTC
    assert [s["date"] for s in body["sessions"]] == ["2025-02-28", "2025-03-31", "2025-04-30"]
    assert body["sessions"][0]["zone_label"] == "WITA"
    assert body["sessions"][0]["starts_at"] == "2025-02-28T00:00:00+00:00"
    assert body["sessions"][0]["display"] == "Jumat, 28 Februari 2025 pukul 08.00 WITA"


def test_retried_exception_creates_nothing_and_clashes_are_409(client, world):
    first = _post(client, world, world.kader_a1, kind="moved", original_date="2025-03-11", new_date="2025-03-13").json
    count = _count()
    again = _post(client, world, world.kader_a1, expect=200, kind="moved", original_date="2025-03-11",
                  new_date="2025-03-13").json
    assert again["id"] == first["id"] and _count() == count
    # the 11 March session is already moved: it cannot also be cancelled
    clash = _post(client, world, world.kader_a1, expect=409, kind="cancelled", original_date="2025-03-11")
    assert clash.mimetype == "application/problem+json"
    # an extra session on a day that already has one
    _post(client, world, world.kader_a1, expect=409, kind="extra", new_date="2025-03-13")
    _post(client, world, world.kader_a1, expect=409, kind="extra", new_date="2025-05-13")
    assert _count() == count


@pytest.mark.parametrize("body,field", [
    ({"kind": "postponed", "original_date": "2025-03-11"}, "kind"),
    ({"kind": "moved", "original_date": "2025-03-11"}, "new_date"),
    ({"kind": "moved", "original_date": "2025-03-11", "new_date": "2025-03-11"}, "new_date"),
    ({"kind": "cancelled"}, "original_date"),
    ({"kind": "cancelled", "original_date": "2025-03-11", "new_date": "2025-03-12"}, "new_date"),
    ({"kind": "extra", "new_date": "2025-03-20", "original_date": "2025-03-11"}, "original_date"),
    ({"kind": "extra", "new_date": "2025-03-20", "start_time": "10:00", "end_time": "09:00"}, "end_time"),
    ({"kind": "extra", "new_date": "2025-03-20", "start_time": "25:00"}, "start_time"),
    ({"kind": "cancelled", "original_date": "2025-03-12"}, "original_date"),  # a Wednesday, not the rule's day
    ({"kind": "extra", "new_date": "2025-03-20", "colour": "red"}, "colour"),
])
def test_bad_exception_is_422_naming_the_field(client, world, body, field):
    response = _post(client, world, world.kader_a1, expect=422, **body)
    assert field in response.json["errors"]
    assert _count() == 0


def test_delete_brings_the_regular_session_back(client, world):
    exc = _post(client, world, world.staff_a, kind="cancelled", original_date="2025-04-08").json
    url = _url(world, "?from=2025-04-01&to=2025-04-30")
    assert client.get(url, headers=H(world.kader_a1)).json["sessions"] == []
    assert client.delete(_url(world, f"/exceptions/{exc['id']}"), headers=H(world.kader_a1)).status_code == 204
    assert [s["date"] for s in client.get(url, headers=H(world.kader_a1)).json["sessions"]] == ["2025-04-08"]
    assert client.delete(_url(world, f"/exceptions/{exc['id']}"), headers=H(world.kader_a1)).status_code == 404
    actions = db.session.execute(sa.select(AuditEvent.action).where(AuditEvent.entity == "calendar_exception")
                                 ).scalars().all()
    assert actions == ["create", "delete"]


@pytest.mark.parametrize("who", ["kader_a2", "staff_b", "dinkes_lamongan"])
def test_wrong_tenant_is_404_on_every_calendar_endpoint(client, world, who):
    exc = _post(client, world, world.kader_a1, kind="cancelled", original_date="2025-04-08").json
    user = getattr(world, who)
    assert client.get(_url(world, "?from=2025-03-01&to=2025-05-31"), headers=H(user)).status_code == 404
    assert client.get(_url(world, "/exceptions"), headers=H(user)).status_code == 404
    assert client.post(_url(world, "/exceptions"), json={"kind": "cancelled", "original_date": "2025-03-11"},
                       headers=H(user)).status_code == 404
    assert client.delete(_url(world, f"/exceptions/{exc['id']}"), headers=H(user)).status_code == 404
    assert client.get(f"/api/v1/children/{world.child_a1.id}/next-session", headers=H(user)).status_code == 404
    assert _count() == 1


def test_parents_cannot_edit_or_read_the_calendar(client, world):
    exc = _post(client, world, world.kader_a1, kind="cancelled", original_date="2025-04-08").json
    parent = H(world.parent_1)
    assert client.get(_url(world), headers=parent).status_code == 403
    assert client.get(_url(world, "/exceptions"), headers=parent).status_code == 403
    assert client.post(_url(world, "/exceptions"), json={"kind": "cancelled", "original_date": "2025-03-11"},
                       headers=parent).status_code == 403
    assert client.delete(_url(world, f"/exceptions/{exc['id']}"), headers=parent).status_code == 403
    assert _count() == 1


def test_admin_may_edit_any_posyandu(client, world):
    response = client.post(f"/api/v1/posyandu/{world.posyandu_c1.id}/calendar/exceptions",
                           json={"kind": "cancelled", "original_date": "2025-03-11"}, headers=H(world.admin))
    assert response.status_code == 201


@pytest.mark.parametrize("query,field", [("from=2025-05-01&to=2025-04-01", "to"),
                                         ("from=2025-01-01&to=2027-06-01", "to"), ("from=soon", "from")])
def test_calendar_range_bad_input(client, world, query, field):
    response = client.get(_url(world, "?" + query), headers=H(world.kader_a1))
    assert response.status_code == 422 and field in response.json["errors"]


def test_child_next_session_for_parent_and_staff(client, world):
    _post(client, world, world.kader_a1, kind="moved", original_date="2025-03-11", new_date="2025-03-13",
          start_time="09:00")
    response = client.get(f"/api/v1/children/{world.child_a1.id}/next-session?on=2025-03-01",
                          headers=H(world.parent_1))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["session"]["date"] == "2025-03-13" and body["session"]["start_time"] == "09:00"
    assert body["posyandu"]["name"] == "Posyandu Melati"
    # child_a1 (born 2024-03-15) has no doses: BCG (< 12 months, last day 2025-03-14) is still overdue
    codes = [d["code"] for d in body["doses"]]
    assert "BCG" in codes and "HB0" not in codes  # HB0 is missed (max 7 days), not due
    assert body["vaccines_id"].startswith("BCG, Polio tetes 1")
    # another family
    assert client.get(f"/api/v1/children/{world.child_b1.id}/next-session",
                      headers=H(world.parent_1)).status_code == 404
    assert client.get(f"/api/v1/children/{world.child_a1.id}/next-session?on=2025-03-14",
                      headers=H(world.staff_a)).json["session"]["date"] == "2025-04-08"
    assert client.get(f"/api/v1/children/{world.child_a1.id}/next-session?on=bad",
                      headers=H(world.staff_a)).status_code == 422


def test_sessions_between_set_wise_pure():
    from types import SimpleNamespace as P
    a = P(id=1, session_rule="nth_weekday:2:TUE", session_start=time(8), session_end=time(11), timezone="Asia/Jakarta")
    b = P(id=2, session_rule="day_of_month:10", session_start=time(9), session_end=time(12), timezone="Asia/Jayapura")
    found = sessions_between([a, b], {1: [SessionException("cancelled", date(2025, 4, 8))]},
                             date(2025, 3, 1), date(2025, 4, 30))
    assert [s.date for s in found[1]] == [date(2025, 3, 11)]
    assert [s.date for s in found[2]] == [date(2025, 3, 10), date(2025, 4, 10)]
    assert found[2][0].zone_label == "WIT" and found[2][0].starts_at.isoformat() == "2025-03-10T00:00:00+00:00"
    # the first session on or after a due date (reminder anchoring), skipping the cancelled one
    nxt = first_session_on_or_after(a, [SessionException("cancelled", date(2025, 4, 8))], date(2025, 3, 12))
    assert nxt.date == date(2025, 5, 13)
