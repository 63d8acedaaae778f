"""Reminder dispatch throughput: outbox workers vs the raw firebase-admin send_each rate.

Not a test. One command, on PostgreSQL:

1. a fresh database (``TEST_DATABASE_URL``'s server, default
   ``postgresql://postgres@127.0.0.1:5432/test``; or ``--database-url`` of an existing, migrated
   database), schema by the migrations;
2. ``--children`` children (default 100,000) in 100 posyandu, each with a parent account, a
   guardian link and one device (bulk inserts);
3. reminders planned by the real planner (``posyandu.reminders.planning.plan_reminders``) as of
   a past instant whose 8-day window holds every posyandu's session, so every planned delivery
   is due now (fallback when the planner is missing: bulk Reminder + ReminderDelivery rows);
4. the fake FCM (``python -m posyandu.devtools.fake_google``) in a SEPARATE process;
5. baseline: raw ``messaging.send_each`` in chunks of 100 (no database) against that fake, in a
   separate process like the workers;
6. the outbox drained by 1 worker process, then (all rows reset to pending, VACUUM ANALYZE) by
   2 worker processes. Each worker process builds the app, warms its sender, waits for "go",
   runs ``Dispatcher.dispatch_due()`` and reports; the rate is deliveries sent / (last worker
   end - first worker start), so process start-up is excluded (workers are long-lived).

Prints the raw rate, the 1-worker rate and its share of raw (target >= 80 %), the 2-worker rate
and its ratio to 1 worker (target >= 1.4x) and whether the targets were met.

Usage: .venv/bin/python benchmarks/bench_reminders.py [--children 100000] [--batch-size 500]
       [--raw-messages 20000] [--runs 1] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROJECT = "demo-posyandu"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
POSYANDU_COUNT = 100
SESSION_RULE = "nth_weekday:2:TUE"
UTC = timezone.utc


# ============================================================================ helpers
def log(msg: str) -> None:
    print(msg, flush=True)


def start_fake() -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "posyandu.devtools.fake_google", "--port", "0",
                             "--project", PROJECT, "--max-records", "1000"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("FAKE_GOOGLE_READY "):
        proc.kill()
        raise SystemExit(f"fake did not start: {line!r}")
    return proc, line.split()[1]


def fake_control(base_url: str, path: str, payload: dict | None = None) -> dict:
    import urllib.request
    data = json.dumps(payload or {}).encode() if payload is not None else None
    req = urllib.request.Request(base_url + path, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def second_tuesday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(1 - first.weekday()) % 7 + 7)


def plan_instant(today: date) -> datetime:
    """A past instant whose planning window (8 days) holds a 2nd-Tuesday session and ends
    before today, so every planned delivery is due now."""
    year, month = today.year, today.month
    for _ in range(3):
        session = second_tuesday(year, month)
        if session + timedelta(days=2) < today:
            return datetime.combine(session - timedelta(days=2), dtime(0), UTC)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    raise RuntimeError("no session found")


# ============================================================================ database
def create_database(admin_url: str) -> str:
    import sqlalchemy as sa
    from posyandu.config import normalise_database_url
    url = sa.make_url(normalise_database_url(admin_url))
    name = f"posyandu_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, db_url: str) -> None:
    import sqlalchemy as sa
    from posyandu.config import normalise_database_url
    name = sa.make_url(db_url).database
    engine = sa.create_engine(sa.make_url(normalise_database_url(admin_url)), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    engine.dispose()


def make_app(db_url: str, fake_url: str | None = None):
    from posyandu import create_app
    from posyandu.config import TESTING_OVERRIDES
    config = {"SQLALCHEMY_DATABASE_URI": db_url, "LOG_LEVEL": "WARNING",
              "JWT_SECRET_KEY": TESTING_OVERRIDES["JWT_SECRET_KEY"]}
    if fake_url:
        config["FCM_ENDPOINT_URL"] = fake_url
    return create_app(config)


def seed(app, children: int) -> None:
    """Regions, one puskesmas, 100 posyandu, and per child: a parent, a guardian link, a device."""
    import sqlalchemy as sa
    from posyandu.auth.models import User
    from posyandu.children.models import Child, ChildGuardian
    from posyandu.devices.models import Device
    from posyandu.extensions import db
    from posyandu.regions.models import Posyandu, Puskesmas, PuskesmasDesa, Region

    rng = random.Random(20261201)
    s = db.session
    for code, level, parent in (("97", "provinsi", None), ("9701", "kabupaten", "97"),
                                ("970101", "kecamatan", "9701"), ("9701012001", "desa", "970101")):
        s.add(Region(code=code, level=level, name=f"Bench {code}", parent_code=parent))
        s.flush()
    pkm = Puskesmas(code="PBENCH", name="Puskesmas Bench", kecamatan_code="970101", kabupaten_code="9701")
    s.add(pkm)
    s.flush()
    s.add(PuskesmasDesa(puskesmas_id=pkm.id, desa_code="9701012001"))
    s.execute(sa.insert(Posyandu.__table__), [
        {"code": f"PYB-{i:03d}", "name": f"Posyandu Bench {i}", "desa_code": "9701012001",
         "puskesmas_id": pkm.id, "kabupaten_code": "9701", "timezone": "Asia/Jakarta",
         "timezone_overridden": False, "session_rule": SESSION_RULE, "session_start": dtime(8, 0),
         "session_end": dtime(11, 0), "is_active": True, "created_at": datetime.now(UTC)}
        for i in range(POSYANDU_COUNT)])
    posyandu_ids = s.scalars(sa.select(Posyandu.id).order_by(Posyandu.id)).all()
    now = datetime.now(UTC)
    today = now.date()
    chunk = 10_000
    for start in range(0, children, chunk):
        n = min(chunk, children - start)
        idx = range(start, start + n)
        users = s.execute(sa.insert(User.__table__).returning(User.__table__.c.id, sort_by_parameter_order=True), [
            {"phone": f"+6289{i:09d}", "role": "parent", "full_name": f"Ibu {i}", "is_active": True,
             "language": "en" if i % 10 == 0 else "id", "created_at": now, "updated_at": now}
            for i in idx]).scalars().all()
        child_rows = []
        for i in idx:
            age_days = rng.randint(30, 58 * 30)
            child_rows.append({"id": uuid.UUID(int=i + 1), "posyandu_id": posyandu_ids[i % len(posyandu_ids)],
                               "name": f"Anak {i}", "name_key": f"anak {i}", "sex": 1 + i % 2,
                               "birth_date": today - timedelta(days=age_days), "desa_code": "9701012001",
                               "status": "active", "version": 1, "created_at": now, "updated_at": now})
        s.execute(sa.insert(Child.__table__), child_rows)
        s.execute(sa.insert(ChildGuardian.__table__), [
            {"child_id": c["id"], "phone": f"+6289{i:09d}", "relationship_kind": "mother", "user_id": u,
             "created_at": now} for i, c, u in zip(idx, child_rows, users)])
        s.execute(sa.insert(Device.__table__), [
            {"user_id": u, "token": f"bench-{i}-{uuid.uuid4().hex[:12]}", "kind": "fcm_token",
             "platform": "android", "created_at": now, "last_seen_at": now} for i, u in zip(idx, users)])
        s.commit()


def plan(app) -> tuple[str, int]:
    """Plan with the planner if it exists; returns (how, deliveries)."""
    import sqlalchemy as sa
    from posyandu.extensions import db
    from posyandu.reminders.models import ReminderDelivery
    now = plan_instant(datetime.now(UTC).date())
    try:
        from posyandu.reminders.planning import plan_reminders
    except ImportError:
        plan_reminders = None
    if plan_reminders is not None:
        summary = plan_reminders(db.session, now, horizon_days=7)
        db.session.commit()
        how = (f"planner posyandu.reminders.planning.plan_reminders as of {now:%Y-%m-%d %H:%M}Z "
               f"({summary.elapsed_seconds:.0f} s): " + "; ".join(summary.lines()[2:4]))
    else:
        how = "planner not found: bulk-inserted one Reminder + ReminderDelivery per device"
        bulk_outbox(now)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ReminderDelivery))
    db.session.commit()
    return how, total


def bulk_outbox(now: datetime) -> None:
    import sqlalchemy as sa
    from posyandu.extensions import db
    s = db.session
    s.execute(sa.text("""
        INSERT INTO reminder (child_id, posyandu_id, kind, ref_key, ref_date, send_at, params, created_at)
        SELECT c.id, c.posyandu_id, 'weighing', 'session', CAST(:d AS date), :t, '{}'::jsonb, :t FROM child c"""),
              {"d": now.date(), "t": now})
    s.execute(sa.text("""
        INSERT INTO reminder_delivery (reminder_id, device_id, user_id, posyandu_id, status, message,
                                       attempts, next_attempt_at, created_at, updated_at)
        SELECT r.id, d.id, d.user_id, r.posyandu_id, 'pending',
               jsonb_build_object('title', 'Hari posyandu', 'body', 'Timbang anak hari ini', 'data', '{}'::jsonb),
               0, r.send_at, :t, :t
        FROM reminder r JOIN child_guardian g ON g.child_id = r.child_id JOIN device d ON d.user_id = g.user_id"""),
              {"t": now})
    s.commit()


def reset_outbox(app) -> None:
    import sqlalchemy as sa
    from posyandu.extensions import db
    with db.engine.connect() as c:
        c.execute(sa.text("UPDATE reminder_delivery SET status='pending', attempts=0, lease_until=NULL, "
                          "leased_by=NULL, fcm_name=NULL, sent_at=NULL, last_error=NULL"))
        c.execute(sa.text("DELETE FROM reminder_queue_state"))
        c.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE reminder_delivery")


def outbox_status(app) -> dict[str, int]:
    import sqlalchemy as sa
    from posyandu.extensions import db
    rows = db.session.execute(sa.text(
        "SELECT status, count(*), max(attempts) FROM reminder_delivery GROUP BY status")).all()
    db.session.commit()
    return {status: (n, max_attempts) for status, n, max_attempts in rows}


# ============================================================================ child processes
def child_raw(fake_url: str, messages: int, chunk: int) -> None:
    """Raw firebase-admin send_each rate (no database), same message shape as FcmSender."""
    from posyandu.notifications.fcm import FcmSender, Push
    sender = FcmSender(f"bench-raw-{uuid.uuid4().hex}", PROJECT, endpoint_url=fake_url)
    from firebase_admin import messaging
    msgs = [FcmSender._build_message(Push(reminder_id=i, title="Hari posyandu",
                                          body="Timbang anak hari ini di Posyandu Bench",
                                          token=f"raw-{i}", data={"kind": "weighing"}))
            for i in range(messages)]
    messaging.send_each(msgs[:50], app=sender.app)  # warm-up: pool and threads
    print("READY", flush=True)
    sys.stdin.readline()
    started, cpu = time.time(), time.process_time()
    for i in range(0, messages, chunk):
        resp = messaging.send_each(msgs[i:i + chunk], app=sender.app)
        if resp.failure_count:
            raise SystemExit(f"raw send_each failures: {resp.responses[0].exception}")
    print(json.dumps({"start": started, "end": time.time(), "sent": messages,
                      "cpu": time.process_time() - cpu}), flush=True)
    sender.close()


def child_worker(db_url: str, fake_url: str, name: str, batch_size: int, profile: str | None) -> None:
    from sqlalchemy.orm import Session
    from posyandu.extensions import db
    from posyandu.notifications.fcm import Push
    from posyandu.reminders.dispatcher import DispatchSettings, Dispatcher, build_sender
    app = make_app(db_url, fake_url)
    with app.app_context():
        settings = DispatchSettings.from_config(app.config, batch_size=batch_size)
        sender = build_sender(app.config, name=f"bench-{name}", settings=settings)
        sender.send([Push(reminder_id=0, title="warm", body="up", token=f"warm-{i}") for i in range(50)],
                    dry_run=True)  # warm the connection pool (validate_only: not counted)
        with Session(db.engine) as session:
            dispatcher = Dispatcher(session, sender, settings, worker_id=name)
            session.connection()  # open the DB connection before "go"
            session.commit()
            print("READY", flush=True)
            sys.stdin.readline()
            prof = None
            if profile:
                import cProfile
                prof = cProfile.Profile()
                prof.enable()
            started, cpu = time.time(), time.process_time()
            report = dispatcher.dispatch_due()
            ended, cpu = time.time(), time.process_time() - cpu
            if prof:
                prof.disable()
                prof.dump_stats(f"{profile}.{name}")
        print(json.dumps({"start": started, "end": ended, "sent": report.counts["sent"], "cpu": cpu,
                          "claimed": report.claimed, "summary": report.summary()}), flush=True)
        sender.close()


def run_children(argvs: list[list[str]], probe=None) -> list[dict]:
    """Start the children, wait for READY from all, say go, collect their JSON results.
    ``probe()`` is called right before go and after the last child ended; the difference is
    added to the first result as ``probe``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, __file__, *argv], cwd=ROOT, env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for argv in argvs]
    for p in procs:
        line = p.stdout.readline().strip()
        if line != "READY":
            for q in procs:
                q.kill()
            raise SystemExit(f"child not ready: {line!r}")
    before = probe() if probe else None
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=3600)
        if p.returncode:
            raise SystemExit(f"child failed ({p.returncode}): {out}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    if probe:
        results[0]["probe"] = probe() - before
    return results


def proc_cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (Linux /proc), in seconds."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_pids() -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() in ("postgres", "postmaster"):
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def rate(results: list[dict]) -> tuple[float, int, float]:
    sent = sum(r["sent"] for r in results)
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    return sent / elapsed, sent, elapsed


# ============================================================================ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500, help="deliveries claimed per transaction")
    parser.add_argument("--raw-messages", type=int, default=20_000, help="messages for the raw baseline")
    parser.add_argument("--runs", type=int, default=1, help="repeat raw / 1-worker / 2-worker (median)")
    parser.add_argument("--database-url", help="existing migrated database (default: a fresh one)")
    parser.add_argument("--keep", action="store_true", help="do not drop the fresh database")
    parser.add_argument("--profile", metavar="PREFIX", help="cProfile each worker to PREFIX.<name>")
    parser.add_argument("--role", choices=["raw", "worker"], help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.role == "raw":
        return child_raw(args.fake_url, args.raw_messages, 100)
    if args.role == "worker":
        return child_worker(args.database_url, args.fake_url, args.name, args.batch_size, args.profile)

    import firebase_admin
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    fresh = args.database_url is None
    db_url = args.database_url or create_database(admin_url)
    fake_proc = None
    try:
        from flask_migrate import upgrade
        from posyandu.extensions import db
        app = make_app(db_url)
        with app.app_context():
            t = time.perf_counter()
            if fresh:
                upgrade()
                seed(app, args.children)
                log(f"seeded {args.children} children, parents, guardian links and devices "
                    f"in {POSYANDU_COUNT} posyandu: {time.perf_counter() - t:.0f} s")
                t = time.perf_counter()
                how, deliveries = plan(app)
                log(f"planned: {how}")
                log(f"outbox: {deliveries} deliveries ({time.perf_counter() - t:.0f} s)")
            else:
                reset_outbox(app)
                deliveries = sum(n for n, _ in outbox_status(app).values())
            db.session.remove()

            fake_proc, fake_url = start_fake()
            log(f"fake FCM: {fake_url} (separate process); {os.cpu_count()} CPUs; firebase-admin "
                f"{firebase_admin.__version__}; claim batch {args.batch_size}, send_each chunks of 100")
            raws, ones, twos = [], [], []
            cpu_notes = []
            common = ["--database-url", db_url, "--fake-url", fake_url, "--batch-size", str(args.batch_size)]
            if args.profile:
                common += ["--profile", args.profile]
            fake_cpu = lambda: proc_cpu_seconds([fake_proc.pid])  # noqa: E731

            def cpu_line(label: str, results: list[dict], n: int) -> str:
                client = sum(x["cpu"] for x in results) / n * 1000
                fake = results[0]["probe"] / n * 1000
                return (f"{label}: client CPU {client:.2f} ms/msg, fake CPU {fake:.2f} ms/msg, "
                        f"load average {loadavg()}")

            def measure_raw(label: str) -> None:
                fake_control(fake_url, "/_fake/reset", {})
                results = run_children([["--role", "raw", "--fake-url", fake_url,
                                         "--raw-messages", str(args.raw_messages)]], probe=fake_cpu)
                r, n, el = rate(results)
                raws.append(r)
                cpu_notes.append(cpu_line(label, results, n))
                log(f"{label}: raw send_each(100): {n} msgs in {el:.1f} s = {r:.0f} msg/s")

            # Settle the database after the bulk load before anything is timed: otherwise autovacuum
            # and the checkpointer work through the new tables during the first worker phase.
            with app.app_context():
                from posyandu.extensions import db as _db
                with _db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM ANALYZE")
                    c.exec_driver_sql("CHECKPOINT")
            for run in range(args.runs):
                for workers, bucket in ((1, ones), (2, twos)):
                    # raw baseline right before each worker phase (the machine's load drifts)
                    measure_raw(f"run {run + 1} raw ({workers})")
                    reset_outbox(app)
                    fake_control(fake_url, "/_fake/reset", {})
                    results = run_children([["--role", "worker", "--name", f"w{workers}-{i}", *common]
                                            for i in range(workers)], probe=fake_cpu)
                    r, n, el = rate(results)
                    status = outbox_status(app)
                    accepted = fake_control(fake_url, "/_fake/stats")["accepted"]
                    bucket.append(r)
                    cpu_notes.append(cpu_line(f"run {run + 1} {workers} worker(s)", results, n))
                    log(f"run {run + 1}: {workers} worker(s): {n} sent in {el:.1f} s = {r:.0f} msg/s; "
                        f"fake accepted {accepted}; outbox (status: count, max attempts) {status}; "
                        + " | ".join(x["summary"] for x in results))
                    if accepted != deliveries or status.get("sent", (0, 0)) != (deliveries, 1):
                        log("  !! not exactly once: check the counts above")
        raw, one, two = (statistics.median(x) for x in (raws, ones, twos))
        share, ratio = one / raw, two / one
        log("")
        log(f"deliveries: {deliveries}")
        log(f"raw send_each rate      : {raw:7.0f} msg/s")
        log(f"1 worker                : {one:7.0f} msg/s = {share:5.0%} of raw   (target >= 80%: "
            f"{'met' if share >= 0.8 else 'NOT met'})")
        log(f"2 workers               : {two:7.0f} msg/s = {ratio:4.2f}x 1 worker (target >= 1.4x: "
            f"{'met' if ratio >= 1.4 else 'NOT met'})")
        log("CPU (all threads of the process, per message sent):")
        for line in cpu_notes:
            log("  " + line)
    finally:
        if fake_proc:
            fake_proc.terminate()
            fake_proc.wait(timeout=10)
        if fresh and not args.keep:
            drop_database(admin_url, db_url)
        elif fresh:
            log(f"kept database: {db_url}")


if __name__ == "__main__":
    main()
