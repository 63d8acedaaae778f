"""Planning the reminder outbox in the database (posyandu/reminders/planning.py).

Hand-worked expectations: 8 December 2026 is the second Tuesday (the posyandu rule
``nth_weekday:2:TUE``); a child born 1 Oct 2026 with HB0, BCG and Polio 1 recorded has
DPT-HB-Hib 1, Polio tetes 2, PCV 1 and Rotavirus 1 recommended on 1 Dec 2026, so one H-3 on
Saturday 5 Dec and one H-0 on 8 Dec, both at 07:00 local: 00:00 UTC (WIB), 23:00 UTC the day
before (WITA), 22:00 UTC the day before (WIT).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone

import sqlalchemy as sa

from posyandu.children.models import ChildGuardian
from posyandu.devices.models import Device
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from posyandu.reminders.models import Reminder, ReminderDelivery
from posyandu.reminders.planning import plan_reminders
from tests import factories
from tests.querycount import recorded_statements

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SESSION = date(2026, 12, 8)
KEY = "DPTHBHIB1+OPV2+PCV1+RV1"


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def make_posyandu(w, code="PY-R1", zone="Asia/Jakarta"):
    return factories.posyandu(code, f"Posyandu {code}", "3525012001", w.puskesmas_a, timezone=zone)


def make_child(posyandu_row, parent=None, birth=date(2026, 10, 1), name="Bayu", given=None):
    row = factories.child(posyandu_row, name, birth_date=birth)
    if given is None:
        given = [("HB0", birth), ("BCG", date(2026, 10, 20)), ("OPV1", date(2026, 10, 20))]
    for code, on in given:
        give(row, code, on)
    if parent is not None:
        db.session.add(ChildGuardian(child_id=row.id, phone=parent.phone, user_id=parent.id))
    db.session.flush()
    return row


def give(child_row, code, on):
    db.session.add(Immunization(id=uuid.uuid4(), child_id=child_row.id, posyandu_id=child_row.posyandu_id,
                                dose_code=code, given_on=on, is_valid=True))
    db.session.flush()


def device(user, token, language=None):
    row = Device(user_id=user.id, token=token, kind="fcm_token", platform="android")
    db.session.add(row)
    db.session.flush()
    return row


def reminders_of(child_row):
    return db.session.execute(sa.select(Reminder).where(Reminder.child_id == child_row.id)
                              .order_by(Reminder.send_at)).scalars().all()


def count(model):
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_h3_and_h0_planned_with_deliveries_and_planning_twice_adds_nothing(world):
    p = make_posyandu(world)
    c = make_child(p, world.parent_1)
    device(world.parent_1, "token-phone-a-000001")
    device(world.parent_1, "token-phone-b-000002")
    summary = plan_reminders(db.session, NOW, horizon_days=7, posyandu_ids=[p.id])
    rows = reminders_of(c)
    assert [(r.kind, r.ref_key, r.ref_date, r.send_at) for r in rows] == [
        ("imm_h3", KEY, SESSION, at(2026, 12, 5)),
        ("imm_h0", KEY, SESSION, at(2026, 12, 8)),
    ]
    assert summary.reminders_created == 2 and summary.deliveries_created == 4
    deliveries = db.session.execute(sa.select(ReminderDelivery).where(
        ReminderDelivery.reminder_id.in_([r.id for r in rows]))).scalars().all()
    assert len(deliveries) == 4 and {d.status for d in deliveries} == {"pending"}
    h3 = next(d for d in deliveries if d.reminder_id == rows[0].id)
    assert h3.message["body"] == (
        "Halo Ayah/Bunda, Bayu dijadwalkan imunisasi DPT-HB-Hib 1, Polio tetes 2, PCV 1 dan Rotavirus 1 pada "
        "Selasa, 8 Desember 2026 pukul 08.00 WIB di Posyandu PY-R1. Jangan lupa bawa Buku KIA ya.")
    assert h3.message["data"] == {"child_id": str(c.id), "reminder_id": str(rows[0].id), "kind": "imm_h3",
                                  "screen": "immunization_schedule", "posyandu_id": str(p.id),
                                  "session_date": "2026-12-08"}
    assert h3.next_attempt_at == at(2026, 12, 5)

    before = (count(Reminder), count(ReminderDelivery))
    again = plan_reminders(db.session, NOW, horizon_days=7, posyandu_ids=[p.id])
    later = plan_reminders(db.session, at(2026, 12, 3, 12), horizon_days=7, posyandu_ids=[p.id])
    assert (count(Reminder), count(ReminderDelivery)) == before
    assert again.reminders_created == later.reminders_created == 0
    assert again.deliveries_created == later.deliveries_created == 0


def test_time_zones_wit_wita_wib(world):
    children = {}
    for code, zone in (("PY-WIB", "Asia/Jakarta"), ("PY-WITA", "Asia/Makassar"), ("PY-WIT", "Asia/Jayapura")):
        children[zone] = make_child(make_posyandu(world, code, zone))
    plan_reminders(db.session, NOW, horizon_days=7)
    h0 = {zone: next(r.send_at for r in reminders_of(c) if r.kind == "imm_h0") for zone, c in children.items()}
    assert h0 == {"Asia/Jakarta": at(2026, 12, 8, 0), "Asia/Makassar": at(2026, 12, 7, 23),
                  "Asia/Jayapura": at(2026, 12, 7, 22)}


def test_parent_quiet_hours_and_english(world):
    world.parent_1.language = "en"
    world.parent_1.quiet_start, world.parent_1.quiet_end = time(6), time(9)
    p = make_posyandu(world)
    c = make_child(p, world.parent_1)
    device(world.parent_1, "token-phone-a-000001")
    plan_reminders(db.session, NOW, horizon_days=7, posyandu_ids=[p.id])
    rows = reminders_of(c)
    deliveries = {d.reminder_id: d for d in db.session.execute(sa.select(ReminderDelivery)).scalars()}
    h3, h0 = (deliveries[r.id] for r in rows)
    # the reminder is for 07:00 WIB; this parent's quiet hours end at 09:00 WIB = 02:00 UTC
    assert rows[1].send_at == at(2026, 12, 8, 0)
    assert h0.next_attempt_at == at(2026, 12, 8, 2) and h3.next_attempt_at == at(2026, 12, 5, 2)
    assert h0.message["language"] == "en"
    assert h0.message["body"] == ("Today Bayu is due for DPT-HB-Hib 1, Polio drops 2, PCV 1 and Rotavirus 1 "
                                  "immunization at Posyandu PY-R1 from 08:00 WIB. We look forward to seeing you.")


def test_given_dose_suppressed_and_reminder_replaced_when_a_dose_is_recorded_later(world):
    p = make_posyandu(world)
    c = make_child(p, world.parent_1)
    give(c, "DPTHBHIB1", date(2026, 11, 30))
    d = device(world.parent_1, "token-phone-a-000001")
    plan_reminders(db.session, NOW, horizon_days=7, posyandu_ids=[p.id])
    assert {r.ref_key for r in reminders_of(c)} == {"OPV2+PCV1+RV1"}
    # Rotavirus 1 given at the puskesmas on 2 Dec: the planned pushes are cancelled and replaced
    give(c, "RV1", date(2026, 12, 2))
    summary = plan_reminders(db.session, at(2026, 12, 2, 12), horizon_days=7, posyandu_ids=[p.id])
    rows = reminders_of(c)
    live = [(r.kind, r.ref_key) for r in rows if r.cancelled_at is None]
    assert sorted(live) == [("imm_h0", "OPV2+PCV1"), ("imm_h3", "OPV2+PCV1")]
    assert summary.reminders_cancelled == 2 and summary.deliveries_cancelled == 2
    statuses = dict(db.session.execute(sa.select(Reminder.ref_key, sa.func.count()).join(
        ReminderDelivery, ReminderDelivery.reminder_id == Reminder.id).where(
        ReminderDelivery.device_id == d.id, ReminderDelivery.status == "pending").group_by(Reminder.ref_key)).all())
    assert statuses == {"OPV2+PCV1": 2}


def test_weighing_once_per_session_for_a_fully_immunised_child(world):
    # first doses on 12 Nov: the second ones are recommended 4 weeks later, 10 Dec, after the session
    p = make_posyandu(world)
    c = make_child(p, birth=date(2026, 9, 1), given=[("HB0", date(2026, 9, 1)), ("BCG", date(2026, 10, 1)),
                                                      ("OPV1", date(2026, 10, 1)), ("DPTHBHIB1", date(2026, 11, 12)),
                                                      ("OPV2", date(2026, 11, 12)), ("PCV1", date(2026, 11, 12)),
                                                      ("RV1", date(2026, 11, 12))])
    for now in (NOW, at(2026, 12, 4), at(2026, 12, 7, 20)):
        plan_reminders(db.session, now, horizon_days=7, posyandu_ids=[p.id])
    assert [(r.kind, r.ref_key, r.ref_date, r.send_at) for r in reminders_of(c)] == [
        ("weighing", "session", SESSION, at(2026, 12, 8))]


def test_cli_plan_prints_a_summary(world, runner):
    p = make_posyandu(world)
    make_child(p, world.parent_1)
    device(world.parent_1, "token-phone-a-000001")
    db.session.commit()  # releases the test's SAVEPOINT only; the test's transaction still rolls back
    result = runner.invoke(args=["reminders", "plan", "--now", "2026-12-01T12:00:00+00:00", "--horizon-days", "7",
                                 "--posyandu-id", str(p.id)])
    assert result.exit_code == 0, result.output
    assert "Reminders: 2 new (imm_h3 1, imm_h0 1, weighing 0, overdue 0)" in result.output
    assert "Deliveries: 2 new" in result.output
    bad = runner.invoke(args=["reminders", "plan", "--now", "yesterday"])
    assert bad.exit_code != 0 and "--now" in bad.output


def test_query_count_does_not_grow_with_children(world):
    p = make_posyandu(world)
    for i in range(3):
        make_child(p, world.parent_1, name=f"Anak {i}")
    device(world.parent_1, "token-phone-a-000001")
    with recorded_statements(db.session.connection()) as statements:
        plan_reminders(db.session, NOW, horizon_days=7, posyandu_ids=[p.id])
        small = len(statements)
        for i in range(30):
            make_child(p, world.parent_1, name=f"Anak tambahan {i}")
        statements.clear()
        plan_reminders(db.session, at(2026, 12, 1, 13), horizon_days=7, posyandu_ids=[p.id])
        large = len(statements)
    assert large <= small + 2, (small, large)
