"""Parents' devices and notification preferences over HTTP."""
from __future__ import annotations

from datetime import datetime, timezone
from unittest import mock

import pytest
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.devices.models import Device
from posyandu.extensions import db
from posyandu.reminders.models import Reminder, ReminderDelivery
from posyandu.reminders.planning import plan_reminders
from tests import factories
from tests.reminders.test_planner import make_child, make_posyandu

UTC = timezone.utc
TOKEN = "fcm-token-aaaaaaaaaaaaaaaa-0001"
TOKEN2 = "fcm-token-bbbbbbbbbbbbbbbb-0002"
PLAN_NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
#: the API's clock: after planning, before the H-3 (5 Dec 07:00 WIB)
API_NOW = datetime(2026, 12, 2, 3, tzinfo=UTC)


@pytest.fixture
def api_clock():
    with mock.patch("posyandu.devices.operations.utcnow", return_value=API_NOW):
        yield


def post(client, user, body):
    return client.post("/api/v1/devices", json=body, headers=factories.headers(user))


def devices_of(user):
    return db.session.execute(sa.select(Device).where(Device.user_id == user.id).order_by(Device.id)).scalars().all()


def deliveries(device_id=None):
    query = sa.select(ReminderDelivery).order_by(ReminderDelivery.id)
    if device_id is not None:
        query = query.where(ReminderDelivery.device_id == device_id)
    return db.session.execute(query).scalars().all()


def test_register_then_reregister_same_token(client, world):
    r = post(client, world.parent_1, {"token": TOKEN, "kind": "fcm_token", "platform": "android",
                                      "app_version": "1.2.0"})
    assert r.status_code == 201, r.json
    body = r.json
    assert body["kind"] == "fcm_token" and body["token_tail"] == TOKEN[-8:] and "token" not in body
    (row,) = devices_of(world.parent_1)
    first_seen = row.last_seen_at
    # a retry / the app starting again: same row, last_seen updated
    r = post(client, world.parent_1, {"token": TOKEN, "kind": "fcm_token", "platform": "android",
                                      "app_version": "1.3.0"})
    assert r.status_code == 200 and r.json["id"] == body["id"] and r.json["app_version"] == "1.3.0"
    db.session.expire_all()
    (row,) = devices_of(world.parent_1)
    assert row.last_seen_at >= first_seen
    # a Firebase Installation ID as a second device
    r = post(client, world.parent_1, {"token": "fid-cXyZ0123456789", "kind": "fid", "platform": "ios"})
    assert r.status_code == 201
    listed = client.get("/api/v1/devices", headers=factories.headers(world.parent_1)).json["items"]
    assert [d["kind"] for d in listed] == ["fcm_token", "fid"]
    assert client.get("/api/v1/devices", headers=factories.headers(world.parent_2)).json["items"] == []


def test_reregistering_a_signed_out_token_brings_it_back(client, world):
    device_id = post(client, world.parent_1, {"token": TOKEN}).json["id"]
    assert client.delete(f"/api/v1/devices/{device_id}", headers=factories.headers(world.parent_1)).status_code == 204
    r = post(client, world.parent_1, {"token": TOKEN})
    assert r.status_code == 200 and r.json["id"] == device_id
    db.session.expire_all()
    assert db.session.get(Device, device_id).retired_at is None


@pytest.mark.parametrize("role", ["kader_a1", "staff_a", "dinkes_gresik", "admin"])
def test_staff_may_not_register_devices(client, world, role):
    r = post(client, getattr(world, role), {"token": TOKEN})
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert client.get("/api/v1/devices", headers=factories.headers(getattr(world, role))).status_code == 403
    assert db.session.execute(sa.select(sa.func.count()).select_from(Device)).scalar_one() == 0


@pytest.mark.parametrize("body, field", [
    ({"token": TOKEN, "kind": "sms"}, "kind"),
    ({"token": TOKEN, "platform": "symbian"}, "platform"),
    ({"token": "short"}, "token"),
    ({"kind": "fid"}, "token"),
    ({"token": TOKEN, "app_version": "x" * 40}, "app_version"),
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(client, world, body, field):
    r = post(client, world.parent_1, body)
    assert r.status_code == 422
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert field in r.json["errors"]
    assert devices_of(world.parent_1) == []


def test_another_parents_device_is_not_found(client, world):
    device_id = post(client, world.parent_1, {"token": TOKEN}).json["id"]
    h2 = factories.headers(world.parent_2)
    assert client.put(f"/api/v1/devices/{device_id}", json={"token": TOKEN2}, headers=h2).status_code == 404
    assert client.delete(f"/api/v1/devices/{device_id}", headers=h2).status_code == 404
    assert client.delete("/api/v1/devices/999999", headers=h2).status_code == 404
    db.session.expire_all()
    row = db.session.get(Device, device_id)
    assert row.retired_at is None and row.token == TOKEN and row.user_id == world.parent_1.id
    assert db.session.execute(sa.select(Device).where(Device.token == TOKEN2)).first() is None


def test_registration_fans_out_the_parents_future_reminders(client, world, api_clock):
    p = make_posyandu(world)
    child = make_child(p, world.parent_1)
    plan_reminders(db.session, PLAN_NOW, horizon_days=7, posyandu_ids=[p.id])
    reminders = db.session.execute(sa.select(Reminder).where(Reminder.child_id == child.id)
                                   .order_by(Reminder.send_at)).scalars().all()
    assert [r.kind for r in reminders] == ["imm_h3", "imm_h0"]  # planned before any phone was registered
    assert deliveries() == []
    db.session.commit()
    r = post(client, world.parent_1, {"token": TOKEN})
    assert r.status_code == 201
    got = deliveries(r.json["id"])
    assert sorted(d.reminder_id for d in got) == sorted(x.id for x in reminders)
    assert {d.user_id for d in got} == {world.parent_1.id}
    assert got[0].message["body"].startswith("Halo Ayah/Bunda, Bayu dijadwalkan imunisasi DPT-HB-Hib 1")
    # another family's phone gets nothing of this child
    r2 = post(client, world.parent_2, {"token": TOKEN2})
    assert deliveries(r2.json["id"]) == []
    # registering again creates nothing twice
    post(client, world.parent_1, {"token": TOKEN})
    assert len(deliveries(r.json["id"])) == 2


def test_refresh_rotated_token_retires_the_old_one_and_moves_pending_pushes(client, world, api_clock):
    p = make_posyandu(world)
    make_child(p, world.parent_1)
    headers = factories.headers(world.parent_1)
    old_id = post(client, world.parent_1, {"token": TOKEN, "app_version": "1.0"}).json["id"]
    plan_reminders(db.session, PLAN_NOW, horizon_days=7, posyandu_ids=[p.id])
    db.session.commit()
    assert len(deliveries(old_id)) == 2
    r = client.put(f"/api/v1/devices/{old_id}", json={"token": TOKEN2}, headers=headers)
    assert r.status_code == 200, r.json
    new_id = r.json["id"]
    assert new_id != old_id and r.json["app_version"] == "1.0"
    db.session.expire_all()
    old = db.session.get(Device, old_id)
    assert old.retired_at is not None and old.retired_reason == "replaced"
    assert {d.status for d in deliveries(old_id)} == {"cancelled"}
    assert {d.status for d in deliveries(new_id)} == {"pending"} and len(deliveries(new_id)) == 2
    # a retried PUT answers the same new device and creates nothing
    again = client.put(f"/api/v1/devices/{old_id}", json={"token": TOKEN2}, headers=headers)
    assert again.status_code == 200 and again.json["id"] == new_id
    assert len(devices_of(world.parent_1)) == 2 and len(deliveries(new_id)) == 2
    listed = client.get("/api/v1/devices", headers=headers).json["items"]
    assert [d["id"] for d in listed] == [new_id]
    bad = client.put(f"/api/v1/devices/{new_id}", json={"token": TOKEN2, "kind": "apns"}, headers=headers)
    assert bad.status_code == 422 and "kind" in bad.json["errors"]


def test_sign_out_cancels_pending_pushes(client, world, api_clock):
    p = make_posyandu(world)
    make_child(p, world.parent_1)
    device_id = post(client, world.parent_1, {"token": TOKEN}).json["id"]
    plan_reminders(db.session, PLAN_NOW, horizon_days=7, posyandu_ids=[p.id])
    db.session.commit()
    headers = factories.headers(world.parent_1)
    assert client.delete(f"/api/v1/devices/{device_id}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/devices/{device_id}", headers=headers).status_code == 204  # again: no-op
    db.session.expire_all()
    assert db.session.get(Device, device_id).retired_reason == "signed_out"
    assert {d.status for d in deliveries(device_id)} == {"cancelled"}
    assert client.get("/api/v1/devices", headers=headers).json["items"] == []
    actions = db.session.execute(sa.select(AuditEvent.action).where(AuditEvent.entity == "device")).scalars().all()
    assert actions == ["register", "retire"]


def test_phone_handed_to_another_parent(client, world, api_clock):
    p = make_posyandu(world)
    make_child(p, world.parent_1)
    device_id = post(client, world.parent_1, {"token": TOKEN}).json["id"]
    plan_reminders(db.session, PLAN_NOW, horizon_days=7, posyandu_ids=[p.id])
    db.session.commit()
    r = post(client, world.parent_2, {"token": TOKEN})
    assert r.status_code == 200 and r.json["id"] == device_id
    db.session.expire_all()
    assert db.session.get(Device, device_id).user_id == world.parent_2.id
    assert {d.status for d in deliveries(device_id)} == {"cancelled"}  # parent 1's child's pushes
    assert client.get("/api/v1/devices", headers=factories.headers(world.parent_1)).json["items"] == []


# --- preferences --------------------------------------------------------------------------------

def test_preferences_get_and_patch(client, world, api_clock):
    headers = factories.headers(world.parent_1)
    r = client.get("/api/v1/me/preferences", headers=headers)
    assert r.status_code == 200 and r.json == {"language": "id", "quiet_start": None, "quiet_end": None}
    p = make_posyandu(world)
    make_child(p, world.parent_1)
    device_id = post(client, world.parent_1, {"token": TOKEN}).json["id"]
    plan_reminders(db.session, PLAN_NOW, horizon_days=7, posyandu_ids=[p.id])
    db.session.commit()
    r = client.patch("/api/v1/me/preferences", json={"language": "en", "quiet_start": "06:00", "quiet_end": "09.00"},
                     headers=headers)
    assert r.status_code == 200, r.json
    assert r.json == {"language": "en", "quiet_start": "06:00", "quiet_end": "09:00"}
    db.session.expire_all()
    got = deliveries(device_id)
    assert {d.message["language"] for d in got} == {"en"}
    # re-timed: 07:00 WIB inside 06:00–09:00 → 09:00 WIB = 02:00 UTC
    assert sorted(d.next_attempt_at for d in got) == [datetime(2026, 12, 5, 2, tzinfo=UTC),
                                                      datetime(2026, 12, 8, 2, tzinfo=UTC)]
    r = client.patch("/api/v1/me/preferences", json={"quiet_start": None, "quiet_end": None}, headers=headers)
    assert r.json["quiet_start"] is None and r.json["language"] == "en"
    # staff have preferences too (their own account), but no devices
    assert client.get("/api/v1/me/preferences", headers=factories.headers(world.kader_a1)).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"language": "jv"}, "language"),
    ({"quiet_start": "25:00", "quiet_end": "06:00"}, "quiet_start"),
    ({"quiet_start": "22:00"}, "quiet_end"),
    ({"quiet_end": "06:00"}, "quiet_start"),
    ({"quiet_start": "22:00", "quiet_end": None}, "quiet_end"),
    ({"quiet_start": "22:00", "quiet_end": "22:00"}, "quiet_end"),
])
def test_preferences_bad_input(client, world, body, field):
    r = client.patch("/api/v1/me/preferences", json=body, headers=factories.headers(world.parent_1))
    assert r.status_code == 422 and field in r.json["errors"], r.json
    db.session.expire_all()
    user = db.session.get(type(world.parent_1), world.parent_1.id)
    assert (user.language, user.quiet_start, user.quiet_end) == ("id", None, None)
