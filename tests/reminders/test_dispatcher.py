"""The dispatcher against the real firebase-admin SDK and the local fake FCM, on SQLite and
PostgreSQL (each test rolled back). Time is a settable clock, so backoff and leases are exact."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from posyandu.db import utcnow
from posyandu.devices.models import Device
from posyandu.extensions import db
from posyandu.reminders.dispatcher import DispatchSettings, Dispatcher, retry_delay

from .dispatch_support import (  # noqa: F401  (fixtures)
    T0, add_delivery, add_device, add_reminder, clock, delivery, outbox,
    paused_until, sender_factory)

SETTINGS = DispatchSettings(batch_size=50, max_attempts=8, retry_base_seconds=30,
                            retry_cap_seconds=3600, retry_jitter=0.2, quota_pause_seconds=60,
                            lease_seconds=180)


@pytest.fixture
def make_dispatcher(sender_factory, clock):
    """Dispatchers (one per simulated worker) sharing one FcmSender: building a firebase_admin
    App costs ~0.15 s (the SDK loads the CA bundle for its async client)."""
    shared = []

    def factory(worker_id="w1", settings=SETTINGS, **kw):
        if not shared:
            shared.append(sender_factory())
        return Dispatcher(db.session, shared[0], settings, worker_id=worker_id,
                          clock=kw.pop("clock", clock), rng=random.Random(7), **kw)
    return factory


def messages_by_tag(fake) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for m in fake.messages():
        out.setdefault(m["android_tag"], []).append(m)
    return out


# ------------------------------------------------------------------ backoff formula
def test_retry_delay_doubles_from_base_up_to_cap():
    s = DispatchSettings(retry_base_seconds=30, retry_cap_seconds=3600, retry_jitter=0)
    # 30 * 2**(attempts-1): 30, 60, 120, 240, 480, 960, 1920, 3840 -> capped at 3600
    assert [retry_delay(a, s) for a in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    jittered = DispatchSettings(retry_base_seconds=30, retry_cap_seconds=3600, retry_jitter=0.2)
    rng = random.Random(3)
    for attempts, nominal in ((1, 30), (4, 240), (12, 3600)):
        values = [retry_delay(attempts, jittered, rng) for _ in range(200)]
        assert all(0.8 * nominal <= v <= 1.2 * nominal for v in values)
        assert len({round(v, 6) for v in values}) > 100  # actually spread, not a constant


def test_settings_from_config_and_environment(monkeypatch):
    monkeypatch.setenv("REMINDER_MAX_ATTEMPTS", "5")
    s = DispatchSettings.from_config({"REMINDER_LEASE_SECONDS": "120", "REMINDER_BATCH_SIZE": 30},
                                     batch_size=None)
    assert (s.lease_seconds, s.batch_size, s.max_attempts, s.retry_base_seconds) == (120.0, 30, 5, 30.0)
    assert DispatchSettings.from_config({}, batch_size=7).batch_size == 7


# ------------------------------------------------------------------ success
def test_due_delivery_is_sent_with_message_name_tag_and_collapse_key(world, fake, make_dispatcher, clock):
    due = outbox(world.child_a1, world.parent_1, "ok-phone-1")
    later = outbox(world.child_a1, world.parent_1, "ok-phone-2", send_at=T0 + timedelta(hours=1))

    report = make_dispatcher().dispatch_due()

    assert report.claimed == 1 and report.counts["sent"] == 1
    [record] = fake.messages()
    row = delivery(due.id)
    assert row.status == "sent" and row.attempts == 1
    assert row.fcm_name == record["name"] and row.fcm_name.startswith("projects/demo-posyandu/messages/")
    assert row.sent_at == T0 and row.lease_until is None and row.last_error is None
    assert record["target"] == "ok-phone-1"
    assert record["android_tag"] == f"rem-{due.reminder_id}" == record["collapse_key"]
    assert record["message"]["notification"] == {
        "title": "Imunisasi hari ini",
        "body": "Ahmad dijadwalkan imunisasi DPT-HB-Hib 1 di Posyandu Melati"}
    assert record["message"]["data"] == {"kind": "imm_h0", "child_id": str(world.child_a1.id),
                                         "reminder_id": str(due.reminder_id)}
    assert delivery(later.id).status == "pending" and delivery(later.id).attempts == 0


def test_two_devices_of_one_reminder_share_the_reminder_tag(world, fake, make_dispatcher):
    reminder = add_reminder(world.child_a1)
    d1 = add_delivery(reminder, add_device(world.parent_1, "ok-phone-a"))
    d2 = add_delivery(reminder, add_device(world.parent_1, "fid-tablet-b", kind="fid"))

    make_dispatcher().dispatch_due()

    tags = messages_by_tag(fake)
    assert list(tags) == [f"rem-{reminder.id}"]
    assert sorted((m["target_type"], m["target"]) for m in tags[f"rem-{reminder.id}"]) == [
        ("fid", "fid-tablet-b"), ("token", "ok-phone-a")]
    assert delivery(d1.id).status == delivery(d2.id).status == "sent"


def test_claims_oldest_first_in_batches(world, fake, make_dispatcher):
    rows = [outbox(world.child_a1, world.parent_1, send_at=T0 - timedelta(minutes=m)) for m in (1, 5, 3)]
    dispatcher = make_dispatcher(settings=DispatchSettings(batch_size=2))
    first = dispatcher.run_once()
    assert first.claimed == 2
    assert {delivery(r.id).status for r in rows[1:]} == {"sent"} and delivery(rows[0].id).status == "pending"
    assert dispatcher.run_once().claimed == 1 and delivery(rows[0].id).status == "sent"
    assert dispatcher.run_once().claimed == 0


# ------------------------------------------------------------------ dead tokens
def test_unregistered_and_invalid_tokens_are_retired_and_later_deliveries_cancelled(
        world, fake, make_dispatcher, clock):
    gone = outbox(world.child_a1, world.parent_1, "unregistered-phone")
    bad = outbox(world.child_a1, world.parent_1, "invalid-phone")
    again = add_delivery(add_reminder(world.child_a1, send_at=T0 + timedelta(days=1)),
                         db.session.get(Device, gone.device_id))

    report = make_dispatcher().dispatch_due()

    assert report.counts["failed"] == 2 and report.counts["tokens_retired"] == 2
    for row, reason in ((gone, "unregistered"), (bad, "invalid_argument")):
        d = delivery(row.id)
        assert d.status == "failed" and d.attempts == 1 and d.fcm_name is None
        device = db.session.get(Device, row.device_id)
        assert device.retired_at == T0 and device.retired_reason == reason
    assert delivery(gone.id).last_error.startswith("UNREGISTERED: ")
    assert fake.message_count == 0

    clock.advance(86400)
    report = make_dispatcher().dispatch_due()
    assert report.counts["cancelled"] == 1 and fake.message_count == 0
    d = delivery(again.id)
    assert (d.status, d.attempts, d.last_error) == ("cancelled", 0, "device retired")


def test_cancelled_reminder_is_not_sent(world, fake, make_dispatcher):
    row = outbox(world.child_a1, world.parent_1, cancelled=True)
    report = make_dispatcher().dispatch_due()
    assert report.counts["cancelled"] == 1 and fake.stats()["fcm_requests"] == 0
    d = delivery(row.id)
    assert (d.status, d.attempts, d.last_error) == ("cancelled", 0, "reminder cancelled")


def test_push_too_big_for_fcm_fails_without_a_request(world, fake, make_dispatcher):
    reminder = add_reminder(world.child_a1)
    row = add_delivery(reminder, add_device(world.parent_1),
                       message={"title": "x", "body": "y" * 5000, "data": {}})
    report = make_dispatcher().dispatch_due()
    assert report.counts["failed"] == 1
    d = delivery(row.id)
    assert d.status == "failed" and d.last_error.startswith("INVALID_PUSH: payload too big")
    assert fake.stats()["fcm_requests"] == 0


# ------------------------------------------------------------------ retries
def test_503_is_retried_with_backoff_then_sent(world, fake, make_dispatcher, clock):
    # 5 x 503: the SDK's own 5 attempts (fast retry, no sleep) all fail -> our retry; the 6th works.
    row = outbox(world.child_a1, world.parent_1, "flaky503x5-phone")
    dispatcher = make_dispatcher()

    report = dispatcher.dispatch_due()
    assert report.counts["retry"] == 1 and fake.attempts("flaky503x5-phone") == 5
    d = delivery(row.id)
    assert d.status == "retry" and d.attempts == 1 and d.last_error.startswith("UNAVAILABLE")
    # base 30 s * 2**0, jitter +-20 %
    assert T0 + timedelta(seconds=24) <= d.next_attempt_at <= T0 + timedelta(seconds=36)

    clock.now = d.next_attempt_at - timedelta(seconds=1)
    assert dispatcher.dispatch_due().claimed == 0  # not due yet
    clock.now = d.next_attempt_at
    assert dispatcher.dispatch_due().counts["sent"] == 1
    d = delivery(row.id)
    assert d.status == "sent" and d.attempts == 2 and d.last_error is None and d.fcm_name
    assert fake.attempts("flaky503x5-phone") == 6 and fake.message_count == 1


def test_dead_after_max_attempts(world, fake, make_dispatcher, clock):
    row = outbox(world.child_a1, world.parent_1, "internal-phone")
    dispatcher = make_dispatcher(settings=DispatchSettings(max_attempts=3, retry_base_seconds=30,
                                                           retry_jitter=0.2))
    expected_nominal = [30, 60]  # after attempts 1 and 2
    for attempt, nominal in enumerate(expected_nominal, start=1):
        assert dispatcher.dispatch_due().counts["retry"] == 1
        d = delivery(row.id)
        assert (d.status, d.attempts) == ("retry", attempt)
        delay = (d.next_attempt_at - clock.now).total_seconds()
        assert 0.8 * nominal <= delay <= 1.2 * nominal
        clock.now = d.next_attempt_at
    assert dispatcher.dispatch_due().counts["dead"] == 1
    d = delivery(row.id)
    assert (d.status, d.attempts) == ("dead", 3) and d.last_error.startswith("INTERNAL")
    clock.advance(86400)
    assert dispatcher.dispatch_due().claimed == 0
    assert fake.attempts("internal-phone") == 3 * 5  # SDK: 1 + 4 retries per send


# ------------------------------------------------------------------ quota
def test_quota_exceeded_pauses_the_whole_queue_then_resumes(world, fake, make_dispatcher, clock):
    rows = [outbox(world.child_a1, world.parent_1) for _ in range(3)]
    fake.set_mode("quota", requests=1)  # the first send request of the batch gets 429
    dispatcher = make_dispatcher()

    report = dispatcher.dispatch_due()
    assert report.counts["quota"] == 1 and report.counts["sent"] == 2
    pause = paused_until()
    assert pause == T0 + timedelta(seconds=60)
    [quota_row] = [delivery(r.id) for r in rows if delivery(r.id).status != "sent"]
    assert quota_row.status == "retry" and quota_row.attempts == 0  # quota does not count
    assert quota_row.last_error.startswith("QUOTA_EXCEEDED")
    assert pause <= quota_row.next_attempt_at <= pause + timedelta(seconds=12)

    newcomer = outbox(world.child_b1, world.parent_2, send_at=T0 + timedelta(seconds=10))
    clock.advance(30)  # newcomer is due, but the queue is paused for every worker
    other = make_dispatcher(worker_id="w2")
    report = other.dispatch_due()
    assert report.claimed == 0 and report.paused_until == pause
    assert delivery(newcomer.id).status == "pending"

    clock.now = quota_row.next_attempt_at
    report = other.dispatch_due()
    assert report.counts["sent"] == 2
    assert {delivery(r.id).status for r in rows} == {"sent"} and delivery(newcomer.id).status == "sent"
    assert delivery(quota_row.id).attempts == 1 and fake.message_count == 4


def test_quota_hands_back_the_batch_claimed_ahead_unsent(world, fake, make_dispatcher, clock):
    rows = [outbox(world.child_a1, world.parent_1, send_at=T0 - timedelta(minutes=5 - i)) for i in range(4)]
    fake.set_mode("quota", requests=1)
    report = make_dispatcher(settings=DispatchSettings(batch_size=2)).dispatch_due()
    # batch 1 (two oldest): one 429, one sent; batch 2 was claimed while batch 1 was sending
    assert report.claimed == 4 and report.counts["sent"] == 1 and report.counts["quota"] == 3
    assert report.paused_until == paused_until() == T0 + timedelta(seconds=60)
    ahead = [delivery(r.id) for r in rows[2:]]
    for d in ahead:
        assert (d.status, d.attempts, d.next_attempt_at) == ("retry", 0, T0 + timedelta(seconds=60))
        assert d.last_error == "QUOTA_EXCEEDED: not attempted, queue paused"
    assert fake.message_count == 1 and fake.stats()["fcm_requests"] == 2


def test_quota_pause_only_moves_forward(world, fake, make_dispatcher, clock):
    outbox(world.child_a1, world.parent_1, "quota-phone-1")
    dispatcher = make_dispatcher(settings=DispatchSettings(quota_pause_seconds=600))
    dispatcher.dispatch_due()
    assert paused_until() == T0 + timedelta(seconds=600)
    outbox(world.child_a1, world.parent_1, "quota-phone-2")
    clock.advance(601)
    make_dispatcher(settings=DispatchSettings(quota_pause_seconds=60), worker_id="w2").run_once()
    assert paused_until() == clock.now + timedelta(seconds=60)
    # a shorter pause recorded later never shortens a longer one
    make_dispatcher(settings=DispatchSettings(quota_pause_seconds=1))._pause_queue(
        clock.now + timedelta(seconds=1), "test")
    assert paused_until() == clock.now + timedelta(seconds=60)


# ------------------------------------------------------------------ leases
def test_worker_killed_after_fcm_accepted_rows_finished_by_another_without_overwrite(
        world, fake, make_dispatcher, clock):
    rows = [outbox(world.child_a1, world.parent_1) for _ in range(3)]
    crashed = make_dispatcher(worker_id="crashed")
    claim = crashed.claim()
    results = crashed.send(claim.rows)  # FCM accepted ... and the worker dies before recording
    assert all(r.ok for r in results) and fake.message_count == 3

    survivor = make_dispatcher(worker_id="survivor")
    clock.advance(179)
    assert survivor.dispatch_due().claimed == 0  # the lease (180 s) still holds
    clock.advance(2)
    report = survivor.dispatch_due()
    assert report.claimed == 3 and report.counts["sent"] == 3
    names = {}
    for r in rows:
        d = delivery(r.id)
        assert (d.status, d.attempts, d.leased_by) == ("sent", 2, "survivor")
        names[r.id] = d.fcm_name
    # the one unavoidable duplicate: same tag and collapse key, so it replaces on the phone
    tags = messages_by_tag(fake)
    assert sorted(tags) == sorted(f"rem-{r.reminder_id}" for r in rows)
    for r in rows:
        msgs = tags[f"rem-{r.reminder_id}"]
        assert len(msgs) == 2
        assert {m["collapse_key"] for m in msgs} == {f"rem-{r.reminder_id}"}

    # the crashed worker comes back and tries to record its stale results: nothing changes
    counts = crashed.record(claim.rows, results)
    assert counts["lease_lost"] == 3
    for r in rows:
        d = delivery(r.id)
        assert (d.status, d.leased_by, d.fcm_name) == ("sent", "survivor", names[r.id])


def test_rows_claimed_by_a_dead_worker_are_sent_once_after_lease_expiry(world, fake, make_dispatcher, clock):
    rows = [outbox(world.child_a1, world.parent_1) for _ in range(2)]
    assert len(make_dispatcher(worker_id="gone").claim().rows) == 2  # killed before sending
    clock.advance(181)
    assert make_dispatcher(worker_id="next").dispatch_due().counts["sent"] == 2
    assert fake.message_count == 2
    assert {delivery(r.id).attempts for r in rows} == {2}


def test_row_whose_workers_keep_dying_goes_dead(world, fake, make_dispatcher, clock):
    row = outbox(world.child_a1, world.parent_1)
    settings = DispatchSettings(max_attempts=2, lease_seconds=60)
    for i in range(2):
        assert len(make_dispatcher(worker_id=f"dies-{i}", settings=settings).claim().rows) == 1
        clock.advance(61)
    report = make_dispatcher(worker_id="last", settings=settings).dispatch_due()
    assert report.counts["dead"] == 1 and fake.message_count == 0
    d = delivery(row.id)
    assert d.status == "dead" and d.last_error.startswith("LEASE_EXPIRED")


# ------------------------------------------------------------------ dry run
def test_dry_run_validates_and_writes_nothing(world, fake, make_dispatcher):
    ok = outbox(world.child_a1, world.parent_1, "ok-dry")
    gone = outbox(world.child_a1, world.parent_1, "unregistered-dry")
    report = make_dispatcher().validate_due()
    assert report.counts["validated"] == 1 and report.counts["failed"] == 1
    assert fake.message_count == 0 and fake.validated_count == 1
    assert [m["validate_only"] for m in fake.messages(include_validate_only=True)] == [True]
    for r in (ok, gone):
        d = delivery(r.id)
        assert (d.status, d.attempts, d.leased_by, d.fcm_name) == ("pending", 0, None, None)
    assert db.session.get(Device, gone.device_id).retired_at is None


# ------------------------------------------------------------------ CLI
@pytest.fixture
def cli_at_fake(app, fake, monkeypatch):
    monkeypatch.setitem(app.config, "FCM_ENDPOINT_URL", fake.base_url)
    monkeypatch.setitem(app.config, "FCM_DRY_RUN", False)


def test_cli_dispatch_prints_counts(world, fake, runner, cli_at_fake):
    now = utcnow()
    sent = outbox(world.child_a1, world.parent_1, "ok-cli", send_at=now - timedelta(minutes=1))
    failed = outbox(world.child_a1, world.parent_1, "unregistered-cli", send_at=now - timedelta(minutes=1))
    outbox(world.child_a1, world.parent_1, "ok-future", send_at=now + timedelta(hours=2))

    result = runner.invoke(args=["reminders", "dispatch", "--batch-size", "10"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("claimed=2 sent=1 failed=1 retry=0 dead=0 cancelled=0 quota=0 "
                                     "tokens_retired=1 lease_lost=0")
    assert delivery(sent.id).status == "sent" and delivery(failed.id).status == "failed"
    assert fake.message_count == 1


def test_cli_dispatch_dry_run_and_worker_refuses_dry_run(world, fake, runner, cli_at_fake):
    now = utcnow()
    row = outbox(world.child_a1, world.parent_1, "ok-cli-dry", send_at=now - timedelta(minutes=1))
    result = runner.invoke(args=["reminders", "dispatch", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("dry run (FCM validate_only, nothing written): claimed=0 validated=1 ")
    assert delivery(row.id).status == "pending" and fake.validated_count == 1 and fake.message_count == 0

    result = runner.invoke(args=["reminders", "worker", "--dry-run"])
    assert result.exit_code == 2 and "dispatch --dry-run" in result.output
