"""The command-centre feed: what a dashboard polling every minute costs.

    .venv/bin/python benchmarks/bench_feed.py [--quick] [--children N] [--database-url URL] [--profile]

On a throw-away SQLite database (or, with ``--database-url postgresql://...``, a throw-away
PostgreSQL database created next to the one the URL names and dropped afterwards) with the demo data plus ``--children`` more children (default
20,000; 2,000 with ``--quick``) spread over the demo kabupaten's posyandu, each measured in
every one of the last 13 months with stored z-scores (Core bulk inserts, then
``flask reports rebuild-summary``), through the Flask test client with a command-centre key:

* the feed computed (its body cache emptied before each request): the first request after a
  change;
* the feed from the process cache (another dashboard, a new ETag already computed);
* the 304 answer to ``If-None-Match`` (the steady state of a polling dashboard);
* the parts of a computation (glance without the slow indicators, the early warning and the
  overdue doses of one month).

Medians of 5 requests (3 with ``--quick``, 1 for the computed feed at full size); the machine is
shared and noisy, compare the orders of magnitude.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def add_children(app, count: int) -> None:
    import numpy as np
    import sqlalchemy as sa

    from posyandu.children.models import Child
    from posyandu.extensions import db
    from posyandu.measurements.models import Measurement
    from posyandu.regions.models import Posyandu
    from synthetic import add_months
    rng = np.random.default_rng(7)
    today = date.today()
    with app.app_context():
        posts = db.session.execute(sa.select(Posyandu.id, Posyandu.desa_code)
                                   .where(Posyandu.kabupaten_code == "3525")).all()
        children, visits = [], []
        for i in range(count):
            post = posts[i % len(posts)]
            age = int(rng.integers(400, 1790))
            birth = today - timedelta(days=age)
            child_id = uuid.uuid4()
            children.append({"id": child_id, "posyandu_id": post.id, "name": f"Anak {i}", "name_key": f"anak {i}",
                             "sex": int(rng.integers(1, 3)), "birth_date": birth, "desa_code": post.desa_code,
                             "status": "active", "version": 1})
            haz0, whz0 = rng.normal(-1.1, 1.15), rng.normal(-0.3, 1.05)
            for k in range(13):
                on = add_months(today.replace(day=min(today.day, 10)), -k)
                days = (on - birth).days
                if days < 0:
                    continue
                haz, whz = haz0 + rng.normal(0, 0.2), whz0 + rng.normal(0, 0.3)
                visits.append({"id": uuid.uuid4(), "child_id": child_id, "posyandu_id": post.id, "measured_on": on,
                               "weight_kg": 10.0, "length_cm": 80.0, "measure_method": "standing", "age_days": days,
                               "age_months": int(days // 30.4375), "zlen": round(float(haz), 2), "flen": False,
                               "zwfl": round(float(whz), 2), "fwfl": False, "zwei": round(float((haz + whz) / 2), 2),
                               "fwei": False, "oedema": False, "version": 1})
        for start in range(0, len(children), 5000):
            db.session.execute(sa.insert(Child.__table__), children[start:start + 5000])
        for start in range(0, len(visits), 20000):
            db.session.execute(sa.insert(Measurement.__table__), visits[start:start + 20000])
        db.session.commit()
    print(f"added {len(children)} children, {len(visits)} measurements")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--children", type=int)
    parser.add_argument("--database-url", help="a PostgreSQL server to create a throw-away database on")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of the computed feed")
    parser.add_argument("--existing", metavar="URL",
                        help="time an already seeded database (one kept with --keep) instead of seeding one")
    parser.add_argument("--keep", action="store_true", help="--database-url: keep the database, print its URL")
    args = parser.parse_args(argv)
    if args.existing:
        return run(args, args.existing, seed=False)
    if args.database_url:
        return with_postgres(args.database_url, lambda url: run(args, url), keep=args.keep)
    workdir = Path(tempfile.mkdtemp(prefix="posyandu-bench-feed-"))
    return run(args, f"sqlite:///{workdir / 'bench.db'}", workdir)


def with_postgres(url: str, fn, keep: bool = False) -> int:
    """Run ``fn(url of a fresh database)`` and drop the database afterwards."""
    import sqlalchemy as sa

    from posyandu.config import normalise_database_url
    admin_url = sa.make_url(normalise_database_url(url))
    name = f"posyandu_bench_feed_{os.getpid()}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        return fn(url)
    finally:
        if keep:
            print(f"kept: {url}")
        else:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


def run(args, database_url: str, workdir: Path | None = None, seed: bool = True) -> int:
    count = args.children if args.children is not None else (2_000 if args.quick else 20_000)
    repeat = 3 if args.quick else 5
    sys.path.insert(0, str(ROOT / "benchmarks"))

    from posyandu import create_app
    from posyandu.feeds import operations as ops
    workdir = workdir or Path(tempfile.mkdtemp(prefix="posyandu-bench-feed-"))
    print(f"database: {database_url.split('://')[0]}, {count if seed else 'existing'} extra children")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "LOG_LEVEL": "WARNING",
                      "RATELIMIT_ENABLED": False, "COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS": 0,
                      "COMMAND_CENTRE_BACKGROUND": False})
    app.instance_path = str(workdir)
    runner = app.test_cli_runner()
    if seed:
        with app.app_context():
            from flask_migrate import upgrade
            upgrade()
        assert runner.invoke(args=["demo", "load"]).exit_code == 0
        add_children(app, count)
        started = time.perf_counter()
        result = runner.invoke(args=["reports", "rebuild-summary"])
        assert result.exit_code == 0, result.output
        print(f"summary table rebuilt in {time.perf_counter() - started:.1f} s")
    if database_url.startswith("postgresql"):
        # fresh statistics, as a database in use has them (without them PostgreSQL plans the
        # report statements for a handful of children and nested-loops for minutes)
        engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
        engine.dispose()
    out = runner.invoke(args=["api-clients", "create", "--name", f"bench-{uuid.uuid4().hex[:8]}", "--kabupaten", "35.25"])
    key = out.output.strip().splitlines()[-1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}

    def get(**extra):
        response = client.get("/api/v1/feeds/command-centre", headers={**headers, **extra})
        assert response.status_code in (200, 304), response.get_data(as_text=True)[:300]
        return response

    def computed():   # nothing stored: the whole feed (past months included) is computed
        with app.app_context():
            from posyandu.extensions import db
            from posyandu.feeds.models import CommandCentreFeed
            db.session.execute(sa.delete(CommandCentreFeed))
            db.session.commit()
        ops.clear_cache()
        get()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if args.profile:
        from pyinstrument import Profiler
        profiler = Profiler()
        profiler.start()
        computed()
        profiler.stop()
        (workdir / "feed-profile.txt").write_text(profiler.output_text(unicode=False, color=False))
        print(f"profile of the computed feed: {workdir / 'feed-profile.txt'}")
    computed_ms = median_ms(computed, 1 if count >= 10_000 else repeat)
    response = get()
    cached_ms = median_ms(get, repeat)
    etag = response.headers["ETag"]
    not_modified_ms = median_ms(lambda: get(**{"If-None-Match": etag}), repeat * 4)
    print(f"feed computed:       {computed_ms:10.1f} ms  ({len(response.data)} bytes)")
    print(f"feed from the cache: {cached_ms:10.1f} ms")
    print(f"304 (unchanged):     {not_modified_ms:10.1f} ms")

    from posyandu.reports import glance
    from posyandu.children.models import Child
    from posyandu.early_warning.operations import evaluate
    from posyandu.reports.areas import Month
    with app.app_context():
        area = ops.kabupaten_area("3525")
        today = ops.local_today("3525")
        current = Month(today.year, today.month)
        months = [current.shift(-k) for k in range(12, -1, -1)]
        parts = {
            "glance, 13 months, no slow indicators": lambda: glance.area_glance(area, months, ("kecamatan", "desa"),
                                                                                slow_months=[]),
            "nutrition counts, 13 months": lambda: glance.nutrition_counts(area, months[0], current),
            "registered counts, 13 months": lambda: glance.registered_counts(area, months),
            "IDL coverage counts, 13 months": lambda: glance.idl_counts(area, months),
            "quality visits, 13 months": lambda: glance.quality_visits(area, months[0], current),
            "early warning, current month": lambda: glance.early_warning_counts(area, current),
            "early_warning.evaluate, current month": lambda: evaluate(
                Child.posyandu_id.in_(area.posyandu_ids()), current),
            "overdue doses, today": lambda: glance.overdue_counts(area, current, today),
        }
        try:  # the former row-wise fetch, kept as the reference of tests/early_warning (same run: before/after)
            from tests.early_warning.test_fetch_equivalence import reference_evaluate
            parts["early_warning.evaluate, former row-wise fetch"] = lambda: reference_evaluate(
                Child.posyandu_id.in_(area.posyandu_ids()), current)
        except ImportError:
            pass
        for name, fn in parts.items():
            cpu = time.process_time()
            wall = median_ms(fn, 1)
            print(f"  {name:<48}{wall:10.1f} ms  (this process's CPU {1000 * (time.process_time() - cpu):8.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
