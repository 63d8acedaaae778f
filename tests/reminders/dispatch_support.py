"""Helpers for the dispatcher/worker tests: outbox rows, a settable clock, senders at the fake.

Not a test module (no ``test_`` prefix): imported by tests/reminders/test_dispatcher*.py and
test_worker*.py.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from posyandu.auth.models import User
from posyandu.children.models import Child
from posyandu.devices.models import Device
from posyandu.devtools.firebase_local import fast_retry, point_messaging_at
from posyandu.extensions import db
from posyandu.notifications.fcm import FcmSender
from posyandu.regions.models import Posyandu, Puskesmas, PuskesmasDesa, Region
from posyandu.reminders.models import QueueState, Reminder, ReminderDelivery

PROJECT_ID = "demo-posyandu"
T0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # 07:00 WIB


class Clock:
    """A settable UTC clock for ``Dispatcher(clock=...)``."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def make_sender(fake, *, fast: bool = True, **kwargs) -> FcmSender:
    """A real FcmSender (own firebase_admin App) aimed at the fake; ``fast`` drops the SDK's
    urllib3 backoff (5 quick attempts on 500/503 instead of ~7 s)."""
    kwargs.setdefault("http_timeout", 5)
    sender = FcmSender(f"test-dispatch-{uuid.uuid4().hex}", PROJECT_ID,
                       endpoint_url=fake.base_url, **kwargs)
    if fast:
        point_messaging_at(sender.app, fake.base_url, retries=fast_retry())
    return sender


def add_device(user: User, token: str | None = None, *, kind: str = "fcm_token",
               retired: bool = False) -> Device:
    row = Device(user_id=user.id, token=token or f"ok-{uuid.uuid4().hex}", kind=kind,
                 retired_at=T0 - timedelta(days=1) if retired else None,
                 retired_reason="replaced" if retired else None)
    db.session.add(row)
    db.session.flush()
    return row


def add_reminder(child: Child, *, send_at: datetime = T0, kind: str = "imm_h0",
                 ref_key: str | None = None, cancelled: bool = False) -> Reminder:
    row = Reminder(child_id=child.id, posyandu_id=child.posyandu_id, kind=kind,
                   ref_key=ref_key or f"DPTHBHIB1-{uuid.uuid4().hex[:8]}",
                   ref_date=send_at.date(), send_at=send_at,
                   params={"child": "Ahmad", "vaccines": "DPT-HB-Hib 1"},
                   cancelled_at=T0 - timedelta(hours=1) if cancelled else None)
    db.session.add(row)
    db.session.flush()
    return row


def message_for(reminder: Reminder, title: str = "Imunisasi hari ini") -> dict:
    return {"title": title, "body": "Ahmad dijadwalkan imunisasi DPT-HB-Hib 1 di Posyandu Melati",
            "data": {"kind": reminder.kind, "child_id": str(reminder.child_id)}}


def add_delivery(reminder: Reminder, device: Device, *, status: str = "pending",
                 next_attempt_at: datetime | None = None, attempts: int = 0,
                 message: dict | None = None, **extra) -> ReminderDelivery:
    row = ReminderDelivery(reminder_id=reminder.id, device_id=device.id, user_id=device.user_id,
                           posyandu_id=reminder.posyandu_id, status=status, attempts=attempts,
                           message=message or message_for(reminder),
                           next_attempt_at=next_attempt_at or reminder.send_at, **extra)
    db.session.add(row)
    db.session.flush()
    return row


def outbox(child: Child, user: User, token: str | None = None, **kw) -> ReminderDelivery:
    """One reminder for ``child`` with one delivery to a new device of ``user``."""
    reminder = add_reminder(child, **{k: kw.pop(k) for k in ("send_at", "kind", "cancelled") if k in kw})
    return add_delivery(reminder, add_device(user, token), **kw)


def delivery(delivery_id: int) -> ReminderDelivery:
    db.session.expire_all()
    return db.session.get(ReminderDelivery, delivery_id)


def paused_until():
    db.session.expire_all()
    state = db.session.get(QueueState, 1)
    return state.paused_until if state else None


# ----------------------------------------------------------------- committed rows
@contextmanager
def committed_outbox(tokens: list[str], *, send_at: datetime | None = None):
    """Commit a tiny tenant (region chain 96..., puskesmas, posyandu, a parent, a child) with one
    reminder and one device per token; yields {"reminders": [...ids], "deliveries": [...ids],
    "devices": [...ids]}; deletes everything (and the queue state) afterwards.

    For ``real_commits`` tests only (worker subprocesses and threads need committed rows)."""
    send_at = send_at or datetime.now(timezone.utc) - timedelta(minutes=5)
    tag = uuid.uuid4().hex[:6]
    regions = [("96", "provinsi", None), ("9601", "kabupaten", "96"),
               ("960101", "kecamatan", "9601"), ("9601012001", "desa", "960101")]
    s = db.session
    created_regions = []
    for code, level, parent in regions:
        if s.get(Region, code) is None:
            s.add(Region(code=code, level=level, name=f"Uji {code}", parent_code=parent))
            s.flush()
            created_regions.append(code)
    pkm = Puskesmas(code=f"PT-{tag}", name="Puskesmas Uji", kecamatan_code="960101", kabupaten_code="9601")
    s.add(pkm)
    s.flush()
    s.add(PuskesmasDesa(puskesmas_id=pkm.id, desa_code="9601012001"))
    py = Posyandu(code=f"PYT-{tag}", name="Posyandu Uji", desa_code="9601012001", puskesmas_id=pkm.id,
                  kabupaten_code="9601", timezone="Asia/Jakarta", session_rule="nth_weekday:2:TUE",
                  session_start=time(8, 0), session_end=time(11, 0))
    s.add(py)
    parent = User(username=None, phone=f"+62813{uuid.uuid4().int % 10**8:08d}", role="parent",
                  full_name="Orang Tua Uji")
    s.add_all([parent])
    s.flush()
    child = Child(id=uuid.uuid4(), posyandu_id=py.id, name="Anak Uji", name_key="anak uji", sex=1,
                  birth_date=date(2025, 6, 1), desa_code="9601012001")
    s.add(child)
    s.flush()
    devices = [Device(user_id=parent.id, token=t) for t in tokens]
    s.add_all(devices)
    s.flush()
    reminders = [Reminder(child_id=child.id, posyandu_id=py.id, kind="imm_h0", ref_key=f"R{i}",
                          ref_date=send_at.date(), send_at=send_at, params={})
                 for i in range(len(tokens))]
    s.add_all(reminders)
    s.flush()
    deliveries = [ReminderDelivery(reminder_id=r.id, device_id=d.id, user_id=parent.id,
                                   posyandu_id=py.id, status="pending", attempts=0,
                                   message={"title": "Imunisasi", "body": f"Pengingat {i}", "data": {}},
                                   next_attempt_at=send_at)
                  for i, (r, d) in enumerate(zip(reminders, devices))]
    s.add_all(deliveries)
    s.flush()
    ids = {"reminders": [r.id for r in reminders], "deliveries": [d.id for d in deliveries],
           "devices": [d.id for d in devices], "posyandu_id": py.id}
    parent_id, pkm_id = parent.id, pkm.id
    s.commit()  # and touch no expired attribute after it (SQLite: a new BEGIN IMMEDIATE would lock)
    try:
        yield ids
    finally:
        s.rollback()
        s.execute(sa.delete(ReminderDelivery).where(ReminderDelivery.posyandu_id == ids["posyandu_id"]))
        s.execute(sa.delete(Reminder).where(Reminder.posyandu_id == ids["posyandu_id"]))
        s.execute(sa.delete(Device).where(Device.user_id == parent_id))
        s.execute(sa.delete(Child).where(Child.posyandu_id == ids["posyandu_id"]))
        s.execute(sa.delete(User).where(User.id == parent_id))
        s.execute(sa.delete(Posyandu).where(Posyandu.id == ids["posyandu_id"]))
        s.execute(sa.delete(PuskesmasDesa).where(PuskesmasDesa.puskesmas_id == pkm_id))
        s.execute(sa.delete(Puskesmas).where(Puskesmas.id == pkm_id))
        s.execute(sa.delete(QueueState))
        for code in reversed(created_regions):
            s.execute(sa.delete(Region).where(Region.code == code))
        s.commit()


def statuses(delivery_ids: list[int]) -> dict[str, int]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(ReminderDelivery.status, sa.func.count()).where(ReminderDelivery.id.in_(delivery_ids))
        .group_by(ReminderDelivery.status)).all()
    db.session.commit()  # end the read (SQLite: do not keep the write lock from other processes)
    return dict(rows)


# ----------------------------------------------------------------- fixtures (import them)
import pytest  # noqa: E402



@pytest.fixture
def sender_factory(fake):
    senders: list[FcmSender] = []

    def factory(**kwargs) -> FcmSender:
        sender = make_sender(fake, **kwargs)
        senders.append(sender)
        return sender

    yield factory
    for sender in senders:
        sender.close()


@pytest.fixture
def clock():
    return Clock()
