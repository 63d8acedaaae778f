"""Benchmark of ``recompute_all`` (``flask growth recompute``) on PostgreSQL.

    .venv/bin/python benchmarks/bench_recompute.py            # 10,000 children x 60 months = 600,000 rows
    .venv/bin/python benchmarks/bench_recompute.py --quick    # 200 children x 60 = 12,000 rows, small baseline
    .venv/bin/python benchmarks/bench_recompute.py --rows 100000 --children 2000 --baseline-rows 20000

Creates a throw-away database next to ``TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), builds the schema with the migrations, seeds
children and monthly measurements with bulk COPY (raw values only, like the demo loader and
``bench_api.py``), then times ``recompute_all(session, batch_size, commit=True)`` as the CLI
calls it, and prints rows/s, wall clock and CPU time of this process.

Baseline: the previous implementation (``--baseline-rev``, default the commit before the
rewrite) is loaded from git and run on a separate, smaller database (``--baseline-rows``,
default 20,000 rows; 0 skips it) together with the current one, so the ratio is measured on
the same rows. Both write every computed column; the script then checks the stored results of
the two versions are identical (a data check, not a timing check). The old batch picker
aggregates the whole remaining table per batch, so its cost grows with the table: the ratio on
the small database understates the gain on the full one.

The database is dropped at the end unless ``--keep`` is given.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import types
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
from synthetic import add_months, insert_area, weight_and_length  # noqa: E402 (benchmarks/ is the script's dir)

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
#: Last commit with the old recompute_all (aggregate per batch, per-row conversions, executemany).
BASELINE_REV = "f8ae1b713e724d1c331ac03807f4896f5c1c7fab"


# --------------------------------------------------------------------------------------------
# database
# --------------------------------------------------------------------------------------------
def create_database(admin_url: str, suffix: str = "", prefix: str = "posyandu_bench_recompute") -> str:
    """A fresh database ``<prefix>[_<suffix>]_<pid>`` on the server of ``admin_url``, migrated
    to head (every PostgreSQL benchmark seeds one of these)."""
    import sqlalchemy as sa

    from posyandu.config import normalise_database_url
    admin = sa.make_url(normalise_database_url(admin_url))
    name = "_".join(part for part in (prefix, suffix, str(os.getpid())) if part)
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    url = admin.set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "posyandu", "LOG_LEVEL": "WARNING"}
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return url


def drop_database(admin_url: str, url: str) -> None:
    import sqlalchemy as sa

    from posyandu.config import normalise_database_url
    name = sa.make_url(url).database
    engine = sa.create_engine(sa.make_url(normalise_database_url(admin_url)), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                   f" WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    engine.dispose()


def seed(url: str, n_children: int, per_child: int, seed_value: int) -> int:
    """Children and ``per_child`` monthly visits each (raw values, nothing computed), by COPY.

    Realistic variety so every code path runs: missed and doubled months, missing weights, a
    few data-entry errors (flagged z), LiLA and head circumference for some visits, vitamin A
    in and outside February/August, rare oedema, birth weights for half the children, about
    1 % soft-deleted rows. Returns the number of measurements."""
    import psycopg
    import sqlalchemy as sa

    rng = random.Random(seed_value)
    today = date.today()
    now = datetime.now(timezone.utc)
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    n_posyandu = max(1, min(50, n_children // 100))
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        posyandu = insert_area(cur, n_posyandu, now)
        children = []
        child_cols = ("id", "posyandu_id", "name", "name_key", "name_sort", "sex", "birth_date", "birth_weight_kg",
                      "desa_code", "status", "version", "created_at", "updated_at")
        with cur.copy(f"COPY child ({', '.join(child_cols)}) FROM STDIN") as copy:
            for i in range(n_children):
                pid, desa = posyandu[i % n_posyandu]
                sex = 1 + (i % 2)
                # old enough that all visits (with missed months) lie in the past
                birth = today - timedelta(days=rng.randint(0, 365) + 31 * (per_child * 6 // 5 + 2))
                bw = round(rng.gauss(3.1, 0.45), 2) if rng.random() < 0.5 else None
                cid = uuid.uuid4()
                children.append((cid, pid, sex, birth))
                copy.write_row((cid, pid, f"Anak {i}", f"anak {i}", f"anak {i}", sex, birth, bw, desa, "active", 1,
                                now, now))
        m_cols = ("id", "child_id", "posyandu_id", "measured_on", "weight_kg", "length_cm", "measure_method",
                  "head_circumference_cm", "arm_circumference_cm", "oedema", "vitamin_a", "version",
                  "deleted_at", "created_at", "updated_at")
        n = 0
        with cur.copy(f"COPY measurement ({', '.join(m_cols)}) FROM STDIN") as copy:
            for cid, pid, sex, birth in children:
                z_w, z_l = rng.gauss(-0.6, 1.0), rng.gauss(-1.0, 1.1)
                day_of_month = rng.randint(1, 28)
                k = 0
                for j in range(per_child):
                    r = rng.random()
                    if r < 0.08:
                        k += 1                      # a missed month
                    elif r < 0.11 and j:
                        k -= 1                      # a second weighing in the same month
                    day = add_months(birth, k + 1).replace(day=day_of_month)
                    k += 1
                    age_m = max(0.0, (day - birth).days / 30.4375)
                    weight, length = weight_and_length(rng, age_m, z_w, z_l)
                    e = rng.random()
                    if e < 0.01:
                        weight = None
                    elif e < 0.015:
                        weight = round(weight * 2.2, 1)     # data-entry error -> flagged z
                    elif e < 0.02:
                        length = round(length * 0.6, 1)
                    method = "lying" if age_m < 24 else "standing"
                    headc = round(34 + 12 * (1 - pow(2.718, -age_m / 8)) + rng.gauss(0, 1), 1) \
                        if rng.random() < 0.2 else None
                    armc = round(rng.gauss(14.5, 1.2), 1) if 6 <= age_m < 60 and rng.random() < 0.3 else None
                    oedema = rng.random() < 0.002
                    vit_a = (day.month in (2, 8) or rng.random() < 0.01) if 6 <= age_m < 60 else None
                    deleted = now if rng.random() < 0.01 else None
                    # distinct per child: same-day visits have a defined order in every version
                    created = datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc) + \
                        timedelta(minutes=rng.randint(0, 120), seconds=j)
                    copy.write_row((uuid.uuid4(), cid, pid, day, weight, length, method, headc, armc, oedema,
                                    vit_a, 1, deleted, created, created))
                    n += 1
        conn.commit()
        cur.execute("ANALYZE")
    return n


# --------------------------------------------------------------------------------------------
# the old implementation, loaded from git
# --------------------------------------------------------------------------------------------
def load_baseline(rev: str):
    """``recompute_all`` of ``rev``: its operations.py and assessment.py as modules of the
    ``posyandu.measurements`` package (models and everything else are the current ones)."""
    def source(path):
        return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout

    import posyandu.measurements  # noqa: F401
    old_assessment = types.ModuleType("posyandu.measurements._baseline_assessment")
    old_assessment.__package__ = "posyandu.measurements"
    sys.modules[old_assessment.__name__] = old_assessment
    exec(compile(source("posyandu/measurements/assessment.py"), f"{rev[:8]}:assessment.py", "exec"),
         old_assessment.__dict__)
    old_ops = types.ModuleType("posyandu.measurements._baseline_operations")
    old_ops.__package__ = "posyandu.measurements"
    sys.modules[old_ops.__name__] = old_ops
    text = source("posyandu/measurements/operations.py")
    if "from . import assessment\n" not in text:
        raise SystemExit(f"{rev}: unexpected operations.py (no 'from . import assessment')")
    old_ops.__dict__["assessment"] = old_assessment
    exec(compile(text.replace("from . import assessment\n", "\n"), f"{rev[:8]}:operations.py", "exec"),
         old_ops.__dict__)
    return old_ops.recompute_all


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------
def run(app, recompute_all, batch_size: int, reset: bool = True, only_outdated: bool = False
        ) -> tuple[int, float, float]:
    import sqlalchemy as sa

    from posyandu.extensions import db
    from posyandu.measurements import assessment
    from posyandu.measurements.models import Measurement
    with app.app_context():
        if reset:  # every row outdated and empty, as after loading raw rows
            db.session.execute(sa.update(Measurement).values({c: None for c in assessment.COMPUTED_COLUMNS}))
            db.session.commit()
        w0, c0 = time.perf_counter(), time.process_time()
        written = recompute_all(db.session, batch_size=batch_size, only_outdated=only_outdated,
                                progress=sys.stderr.isatty(), commit=True)
        db.session.commit()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        db.session.remove()
    return written, wall, cpu


def mark_outdated(url: str, rows: int) -> int:
    """Give about ``rows`` measurements (whole children, spread over the key range) an old
    standard version, as after loading a few raw rows into a big table."""
    import psycopg
    import sqlalchemy as sa
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        per_child = conn.execute("SELECT count(*)::float / greatest(count(DISTINCT child_id), 1)"
                                 " FROM measurement").fetchone()[0]
        n_children = conn.execute("SELECT count(*) FROM child").fetchone()[0]
        step = max(1, round(n_children / max(1, rows / per_child)))
        cur = conn.execute(
            "UPDATE measurement SET standard_version = 'old' WHERE child_id IN"
            " (SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM child) c WHERE k %% %s = 0)",
            (step,))
        return cur.rowcount


def vacuum(url: str) -> None:
    import psycopg
    import sqlalchemy as sa
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE measurement")


#: measurement id -> child id of the rows snapshotted.
SNAPSHOT_CHILD: dict = {}


def compared_columns() -> tuple:
    """The computed columns both versions write (the baseline predates weight_implausible and
    length_implausible)."""
    from posyandu.measurements import assessment
    return tuple(c for c in assessment.COMPUTED_COLUMNS if c not in assessment.PLAUSIBILITY_COLUMNS)


def children_with_implausible_values(app) -> set:
    """Children with a weight or length the current rules find implausible: the baseline still
    counted such values (issue 9's rule), so their rows legitimately differ from it."""
    import sqlalchemy as sa

    from posyandu.extensions import db
    from posyandu.measurements.models import Measurement
    with app.app_context():
        out = set(db.session.scalars(sa.select(Measurement.child_id).where(sa.or_(
            Measurement.weight_implausible.is_(True), Measurement.length_implausible.is_(True))).distinct()))
        db.session.remove()
    return out


def snapshot(app) -> dict:
    import sqlalchemy as sa

    from posyandu.extensions import db
    from posyandu.measurements.models import Measurement
    cols = [getattr(Measurement, c) for c in compared_columns()]
    with app.app_context():
        out = {r[0]: tuple(r[2:]) for r in db.session.execute(
            sa.select(Measurement.id, Measurement.child_id, *cols)).all()}
        SNAPSHOT_CHILD.update({r[0]: r[1] for r in db.session.execute(
            sa.select(Measurement.id, Measurement.child_id)).all()})
        db.session.remove()
    return out


def make_app(url: str):
    from posyandu import create_app
    os.environ["DATABASE_URL"] = url
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})


def report(label: str, written: int, wall: float, cpu: float) -> None:
    print(f"{label:<44} {written:>9,} rows  {wall:8.2f} s wall  {written / wall:>9,.0f} rows/s"
          f"  ({cpu:.2f} s CPU in this process)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=600_000, help="measurements in total (rows/children per child)")
    parser.add_argument("--batch-size", type=int, default=500, help="recompute_all batch_size (CLI default 500)")
    parser.add_argument("--baseline-rows", type=int, default=20_000,
                        help="rows of the separate database timed with the old and the new version (0: skip)")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--quick", action="store_true", help="smoke run: 12,000 rows, baseline on 3,000")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--seed", type=int, default=20250601)
    args = parser.parse_args(argv)
    if args.quick:
        args.children, args.rows, args.baseline_rows = 200, 12_000, min(args.baseline_rows, 3_000)
    per_child = max(1, args.rows // args.children)
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    print(f"recompute_all benchmark: {args.children:,} children x {per_child} visits, batch_size {args.batch_size},"
          f" PostgreSQL ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})", flush=True)

    created = []
    try:
        if args.baseline_rows:
            old_recompute = load_baseline(args.baseline_rev)
            from posyandu.measurements.operations import recompute_all
            url = create_database(admin_url, "base")
            created.append(url)
            n = seed(url, max(1, args.baseline_rows // per_child), per_child, args.seed + 1)
            app = make_app(url)
            print(f"baseline database: {n:,} rows; old = {args.baseline_rev[:10]}", flush=True)
            written, wall, cpu = run(app, old_recompute, args.batch_size)
            report("old recompute_all (baseline)", written, wall, cpu)
            old_rows = snapshot(app)
            vacuum(url)
            written, wall2, cpu = run(app, recompute_all, args.batch_size)
            report("new recompute_all, same rows", written, wall2, cpu)
            new_rows = snapshot(app)
            changed_by_rule = children_with_implausible_values(app)
            differ = [k for k, v in old_rows.items()
                      if new_rows.get(k) != v and SNAPSHOT_CHILD.get(k) not in changed_by_rule]
            print(f"  ({len(changed_by_rule):,} children with implausible values left out of the comparison: "
                  "the baseline still counted them)", flush=True)
            for k in differ[:5]:
                print("  differs:", k, {c: (a, b) for c, a, b in zip(compared_columns(), old_rows[k], new_rows[k])
                                        if a != b})
            differ = len(differ)
            print(f"speed-up on {n:,} rows: {wall / wall2:.1f}x;  stored results identical: "
                  f"{'yes' if differ == 0 and len(old_rows) == len(new_rows) else f'NO ({differ} rows differ)'}",
                  flush=True)
            if not args.keep:
                drop_database(admin_url, url)
                created.remove(url)

        from posyandu.measurements.operations import recompute_all
        url = create_database(admin_url, "full")
        created.append(url)
        t0 = time.perf_counter()
        n = seed(url, args.children, per_child, args.seed)
        print(f"seeded {n:,} measurements by COPY in {time.perf_counter() - t0:.1f} s", flush=True)
        app = make_app(url)
        written, wall, cpu = run(app, recompute_all, args.batch_size, reset=False)
        report("new recompute_all, full database", written, wall, cpu)
        print(f"time for {written:,} rows: {wall:.1f} s", flush=True)
        if args.baseline_rows:
            # a few outdated children in the big table (demo loading, a partial load): the old
            # batch picker aggregates the whole remaining table per batch, the new one does not
            vacuum(url)
            marked = mark_outdated(url, args.baseline_rows)
            written, wall, cpu = run(app, old_recompute, args.batch_size, reset=False, only_outdated=True)
            report(f"old, only_outdated ({marked:,} of {n:,})", written, wall, cpu)
            mark_outdated(url, args.baseline_rows)
            written, wall2, cpu = run(app, recompute_all, args.batch_size, reset=False, only_outdated=True)
            report(f"new, only_outdated ({marked:,} of {n:,})", written, wall2, cpu)
            print(f"speed-up, only_outdated in the full table: {wall / wall2:.1f}x", flush=True)
    finally:
        if not args.keep:
            for url in created:
                drop_database(admin_url, url)
        else:
            for url in created:
                print("kept", url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
