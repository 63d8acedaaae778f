"""The worker loop: in-process, as a `flask reminders worker` subprocess (SIGTERM, SIGKILL),
and two workers sharing the PostgreSQL queue."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from posyandu.db import utcnow
from posyandu.extensions import db
from posyandu.reminders.dispatcher import DispatchSettings, Dispatcher, claim_statement
from posyandu.reminders.models import ReminderDelivery
from posyandu.reminders.worker import Worker

from .dispatch_support import (  # noqa: F401  (fixtures)
    clock, committed_outbox, delivery, outbox, sender_factory, statuses)

REPO_ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ in-process loop
def test_worker_drains_the_queue_then_idles(world, fake, sender_factory, clock):
    rows = [outbox(world.child_a1, world.parent_1) for _ in range(5)]
    dispatcher = Dispatcher(db.session, sender_factory(), DispatchSettings(batch_size=2),
                            worker_id="loop", clock=clock)
    batches = []
    worker = Worker(dispatcher, idle_seconds=0.01, max_passes=2, on_batch=batches.append)
    totals = worker.run(install_signals=False)
    assert totals.claimed == 5 and totals.counts["sent"] == 5 and worker.passes == 2
    assert [b.counts["sent"] for b in batches] == [2, 2, 1]
    assert {delivery(r.id).status for r in rows} == {"sent"}
    assert fake.message_count == 5


def test_worker_stop_finishes_what_it_claimed_and_claims_no_more(world, fake, sender_factory, clock):
    rows = [outbox(world.child_a1, world.parent_1) for _ in range(7)]
    dispatcher = Dispatcher(db.session, sender_factory(), DispatchSettings(batch_size=2),
                            worker_id="stopper", clock=clock)
    worker = Worker(dispatcher, idle_seconds=0.01)
    send = dispatcher.send

    def send_then_stop(batch, **kw):  # a stop request while the first batch is with FCM
        worker.stop()
        return send(batch, **kw)

    dispatcher.send = send_then_stop
    totals = worker.run(install_signals=False)
    # The first batch, and the one claimed ahead of it if the claim came before the stop
    # request (pipelining), are sent and recorded; nothing stays leased, nothing more claimed.
    statuses_now = Counter(delivery(r.id).status for r in rows)
    assert statuses_now in (Counter(sent=2, pending=5), Counter(sent=4, pending=3))
    assert totals.claimed == totals.counts["sent"] == statuses_now["sent"] == fake.message_count


def test_pipelined_and_sequential_dispatch_agree(world, fake, sender_factory, clock):
    tokens = ["ok-1", "unregistered-2", "ok-3", "invalid-4", "ok-5"]
    rows = [outbox(world.child_a1, world.parent_1, t) for t in tokens]
    sender = sender_factory()
    first = Dispatcher(db.session, sender, DispatchSettings(batch_size=2), worker_id="p", clock=clock)
    report = first.dispatch_due()
    assert (report.claimed, report.counts["sent"], report.counts["failed"], report.counts["tokens_retired"]) == (5, 3, 2, 2)
    assert [delivery(r.id).status for r in rows] == ["sent", "failed", "sent", "failed", "sent"]
    more = [outbox(world.child_a1, world.parent_1, f"ok-seq-{i}") for i in range(3)]
    report = Dispatcher(db.session, sender, DispatchSettings(batch_size=2), worker_id="s",
                        clock=clock).dispatch_due(pipeline=False)
    assert (report.claimed, report.counts["sent"]) == (3, 3)
    assert {delivery(r.id).status for r in more} == {"sent"}


# ------------------------------------------------------------------ subprocess worker
def _worker_process(database_url: str, fake, tmp_path, **env) -> subprocess.Popen:
    environ = {**os.environ, "FLASK_APP": "posyandu", "POSYANDU_ENV": "development",
               "DATABASE_URL": database_url, "FCM_ENDPOINT_URL": fake.base_url,
               "POSYANDU_INSTANCE_PATH": str(tmp_path), "LOG_LEVEL": "WARNING",
               "REMINDER_IDLE_SECONDS": "0.2", "PYTHONUNBUFFERED": "1", **env}
    environ.pop("FCM_DRY_RUN", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "reminders", "worker", "--worker-id", "subproc"],
                            cwd=REPO_ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_until(predicate, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early ({proc.returncode}): {proc.communicate()}")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"timed out; worker output: {proc.communicate()}")


@pytest.mark.real_commits
def test_sigterm_finishes_the_batch_and_exits_0(app, database_url, fake, tmp_path):
    fake.slow_seconds = 0.5
    tokens = [f"slow-sigterm-{i}" for i in range(3)]
    with app.app_context(), committed_outbox(tokens) as ids:
        proc = _worker_process(database_url, fake, tmp_path)
        try:
            _wait_until(lambda: all(fake.attempts(t) for t in tokens), proc)  # batch in flight
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "worker subproc stopped: claimed=3 sent=3 failed=0 retry=0 dead=0" in out
        assert statuses(ids["deliveries"]) == {"sent": 3}
        assert fake.message_count == 3


@pytest.mark.real_commits
def test_sigkilled_worker_rows_finished_by_another_after_lease_expiry(app, database_url, fake, tmp_path):
    fake.slow_seconds = 0.5
    tokens = [f"slow-sigkill-{i}" for i in range(3)]
    with app.app_context(), committed_outbox(tokens) as ids:
        proc = _worker_process(database_url, fake, tmp_path, REMINDER_LEASE_SECONDS="2")
        try:
            _wait_until(lambda: all(fake.attempts(t) for t in tokens), proc)
            proc.kill()  # SIGKILL mid-batch: claimed, requests in flight, nothing recorded
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert statuses(ids["deliveries"]) == {"sending": 3}

        sender = None
        try:
            from .dispatch_support import make_sender
            sender = make_sender(fake)
            later = Dispatcher(db.session, sender, DispatchSettings(lease_seconds=60),
                               worker_id="rescuer", clock=lambda: utcnow() + timedelta(seconds=3))
            assert later.dispatch_due().counts["sent"] == 3
        finally:
            if sender:
                sender.close()
        db.session.expire_all()
        rows = db.session.scalars(sa.select(ReminderDelivery).where(
            ReminderDelivery.id.in_(ids["deliveries"]))).all()
        assert {(r.status, r.attempts, r.leased_by) for r in rows} == {("sent", 2, "rescuer")}
        # The killed worker's requests were accepted by FCM too: each reminder may have been
        # pushed twice, always under one tag/collapse key, so the phone shows it once.
        fake.wait_for_messages(6, timeout=5)
        by_reminder = {rid: [m for m in fake.messages() if m["message"]["data"]["reminder_id"] == str(rid)]
                       for rid in ids["reminders"]}
        for rid, msgs in by_reminder.items():
            assert 1 <= len(msgs) <= 2
            assert {(m["android_tag"], m["collapse_key"]) for m in msgs} == {(f"rem-{rid}", f"rem-{rid}")}


# ------------------------------------------------------------------ PostgreSQL: several workers
@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_two_workers_in_parallel_send_each_reminder_exactly_once(app, fake):
    tokens = [f"ok-par-{i}" for i in range(400)]
    with app.app_context(), committed_outbox(tokens) as ids:
        engine = db.engine
        barrier = threading.Barrier(2)
        reports, errors = {}, []

        def run(name):
            from .dispatch_support import make_sender
            sender = make_sender(fake)
            try:
                with Session(engine) as session:
                    dispatcher = Dispatcher(session, sender, DispatchSettings(batch_size=25), worker_id=name)
                    barrier.wait()
                    reports[name] = dispatcher.dispatch_due()
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                sender.close()

        threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        per_tag = Counter(m["android_tag"] for m in fake.messages())
        assert per_tag == {f"rem-{rid}": 1 for rid in ids["reminders"]}
        assert statuses(ids["deliveries"]) == {"sent": 400}
        by_worker = dict(db.session.execute(
            sa.select(ReminderDelivery.leased_by, sa.func.count())
            .where(ReminderDelivery.id.in_(ids["deliveries"])).group_by(ReminderDelivery.leased_by)).all())
        assert set(by_worker) == {"t1", "t2"} and sum(by_worker.values()) == 400
        assert by_worker == {name: r.counts["sent"] for name, r in reports.items()}
        assert db.session.scalar(sa.select(sa.func.max(ReminderDelivery.attempts))
                                 .where(ReminderDelivery.id.in_(ids["deliveries"]))) == 1


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_claim_skips_rows_locked_by_another_worker_instead_of_waiting(app):
    with app.app_context(), committed_outbox([f"ok-lock-{i}" for i in range(10)]) as ids:
        now = utcnow()
        lease = now + timedelta(minutes=3)
        with db.engine.connect() as a, db.engine.connect() as b:
            tx_a = a.begin()
            first = [r.id for r in a.execute(claim_statement(now=now, lease_until=lease, worker_id="A", limit=4,
                                                             claim_class="pending"))]
            assert len(first) == 4  # A's claim transaction is still open: its rows stay locked

            b.exec_driver_sql("SET lock_timeout = '5s'")  # fail instead of hanging if B waited
            b.commit()
            with Session(bind=b) as session_b:
                claim = Dispatcher(session_b, None, DispatchSettings(batch_size=100), worker_id="B").claim()
            second = [c.id for c in claim.rows]
            assert sorted(first + second) == sorted(ids["deliveries"]) and not set(first) & set(second)

            # Without SKIP LOCKED the same claim waits on A's row locks (here: times out).
            tx_c = b.begin()
            b.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            b.execute(sa.update(ReminderDelivery.__table__).where(
                ReminderDelivery.__table__.c.id.in_(second)).values(status="pending"))
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                b.execute(claim_statement(now=now, lease_until=lease, worker_id="C", limit=100,
                                          claim_class="pending", skip_locked=False))
            tx_c.rollback()
            tx_a.commit()
        assert statuses(ids["deliveries"]) == {"sending": 10}
