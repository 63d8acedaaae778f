"""Nutrition reports and their write-time summary: what the summary costs the measurement POST,
and what it buys the reports. PostgreSQL, in-process (Flask test client), one command:

    .venv/bin/python benchmarks/bench_nutrition.py            # 50 posyandu, 10,000 children, 5 years
    .venv/bin/python benchmarks/bench_nutrition.py --quick    # 5 posyandu, 1,000 children, 2 years

Seeds a fresh database as ``bench_api.py`` does (the vectorised recompute also fills
``report_child_month``), then measures, side by side in the same run:

1. the measurement POST with the summary maintained (on PostgreSQL the row is merged by the
   POST's own INSERT statement; a back-dated visit recomputes the child) and with it switched
   off, in alternating blocks (so machine noise hits both), mean and p95 per request, and the
   separate upsert statement (SQLite's path) alone;
2. p50/p95 of the kabupaten nutrition-status report by kecamatan, the kabupaten SKDN and the
   puskesmas 12-month trend (JSON, through the API);
3. the floor: one hand-written SQL statement that computes the month's stunting counts per
   posyandu straight from ``measurement`` (ranking each child's visits of the month), against the
   same numbers read from the summary.

No thresholds here are asserted; the numbers are printed (benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def ms(values):
    return f"mean {statistics.mean(values) * 1000:6.2f} ms  p50 {pct(values, 50) * 1000:6.2f}  " \
           f"p95 {pct(values, 95) * 1000:6.2f}"


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posyandu", type=int, default=50)
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--posts", type=int, default=600, help="POSTs per variant")
    parser.add_argument("--reports", type=int, default=30, help="requests per report")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.posyandu, args.children, args.years, args.posts, args.reports = 5, 1000, 2, 200, 10

    import sqlalchemy as sa
    from posyandu.config import normalise_database_url
    from bench_api import seed

    admin_url = sa.make_url(normalise_database_url(args.database_url))
    name = f"posyandu_bench_nutrition_{os.getpid()}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    database_url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        print(f"seeding {args.posyandu} posyandu, {args.children} children, {args.years} years …", flush=True)
        t0 = time.perf_counter()
        info = seed(database_url, args.posyandu, args.children, args.years, random.Random(42))
        print(f"  {info['measurements']:,} measurements in {time.perf_counter() - t0:.1f} s "
              f"(recompute incl. summary {info['recompute_seconds']:.1f} s)", flush=True)
        run(database_url, info, args)
    finally:
        admin.dispose()
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return 0


def run(database_url, info, args) -> None:
    import sqlalchemy as sa
    from posyandu import create_app
    from posyandu.auth.models import User
    from posyandu.auth.tokens import access_token_for
    from posyandu.config import TESTING_OVERRIDES
    from posyandu.extensions import db
    from posyandu.measurements import operations as m_ops
    from posyandu.reports import summary

    app = create_app({**TESTING_OVERRIDES, "TESTING": False, "SQLALCHEMY_DATABASE_URI": database_url,
                      "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    with app.app_context():
        stored = db.session.execute(sa.select(sa.func.count()).select_from(summary._S)).scalar_one()
        print(f"  report_child_month rows: {stored:,}", flush=True)
        kader = db.session.scalars(sa.select(User).where(User.username == "kader000")).one()
        dinkes = User(username="bench.dinkes", full_name="Dinkes", role="dinkes", kabupaten_code="3525",
                      password_hash="x", is_active=True, language="id")
        db.session.add(dinkes)
        db.session.commit()
        h_kader = {"Authorization": f"Bearer {access_token_for(kader)}"}
        h_dinkes = {"Authorization": f"Bearer {access_token_for(dinkes)}"}
        pkm = db.session.execute(sa.text("SELECT code FROM puskesmas LIMIT 1")).scalar_one()
        db.session.remove()

    # 1. the POST, with and without the summary upsert, alternating blocks
    children = [c for c in info["children"] if c[1] == info["posyandu_ids"][0]]
    today = date.today()
    real, real_companion = m_ops.refresh_child_months, m_ops.record_companion
    # without the summary: no refresh, and a companion CTE that writes nothing (an unreferenced SELECT)
    from posyandu.concurrent_writes import Derived
    no_companion = lambda *a, **k: Derived(key="bench-no-summary", needs=("id",),  # noqa: E731
                                           build=lambda new: sa.select(new.c.id), fallback=lambda session: None)
    timings = {"with summary": [], "without summary": []}
    rng = random.Random(7)
    block = 25
    for i in range(2 * args.posts // block):
        variant = "with summary" if i % 2 == 0 else "without summary"
        m_ops.refresh_child_months = real if variant == "with summary" else (lambda *a, **k: None)
        m_ops.record_companion = real_companion if variant == "with summary" else no_companion
        for _ in range(block):
            cid = rng.choice(children)[0]
            body = {"id": str(uuid.uuid4()), "child_id": str(cid), "measured_on": today.isoformat(),
                    "weight_kg": round(rng.uniform(12, 18), 1)}
            t = time.perf_counter()
            r = client.post("/api/v1/measurements", json=body, headers=h_kader)
            timings[variant].append(time.perf_counter() - t)
            assert r.status_code in (200, 201), r.get_json()
    m_ops.refresh_child_months, m_ops.record_companion = real, real_companion
    print("\n1. measurement POST (in-process, one client)")
    for variant, values in timings.items():
        print(f"   {variant:<16} {ms(values)}  ({len(values)} requests)")
    with app.app_context():
        upsert = []
        for _ in range(200):
            cid = rng.choice(children)[0]
            t = time.perf_counter()
            summary.refresh_child_months(db.session, [cid], [today.year * 12 + today.month - 1], added=True)
            upsert.append(time.perf_counter() - t)
        db.session.rollback()
        print(f"   the upsert alone  {ms(upsert)}  (the separate statement SQLite uses; on PostgreSQL the POST "
              "merges the row in its INSERT statement: reports.summary.record_companion)")

    # 2. reports through the API
    month = f"{today.year:04d}-{today.month:02d}"
    last = date(today.year, today.month, 1) - timedelta(days=1)
    last_month = f"{last.year:04d}-{last.month:02d}"
    print(f"\n2. reports (month {last_month}; JSON through the API)")
    for label, path, params in (
            ("nutrition-status kabupaten by kecamatan", "nutrition-status",
             {"level": "kabupaten", "code": "35.25", "month": last_month, "by": "kecamatan"}),
            ("SKDN kabupaten", "skdn", {"level": "kabupaten", "code": "35.25", "month": last_month}),
            ("trend puskesmas, 12 months", "trend", {"level": "puskesmas", "code": pkm, "month": month})):
        values = []
        for i in range(args.reports + 2):
            t = time.perf_counter()
            r = client.get(f"/api/v1/reports/{path}", query_string=params, headers=h_dinkes)
            if i >= 2:
                values.append(time.perf_counter() - t)
            assert r.status_code == 200, r.get_json()
        print(f"   {label:<42} {ms(values)}")

    # 3. the floor: the month's stunting counts per posyandu from measurement directly
    index = last.year * 12 + last.month - 1
    floor_sql = sa.text("""
        SELECT posyandu_id, count(*) AS measured,
               sum(CASE WHEN zlen IS NOT NULL AND NOT coalesce(flen, false) THEN 1 ELSE 0 END) AS n,
               sum(CASE WHEN zlen < -2 AND NOT coalesce(flen, false) THEN 1 ELSE 0 END) AS k
        FROM (SELECT DISTINCT ON (child_id) child_id, posyandu_id, zlen, flen, age_months
              FROM measurement
              WHERE deleted_at IS NULL AND measured_on >= :first AND measured_on <= :last
              ORDER BY child_id, (weight_kg IS NULL), measured_on DESC, created_at DESC, id DESC) r
        WHERE age_months BETWEEN 0 AND 59 GROUP BY posyandu_id""")
    summary_sql = sa.text("""
        SELECT posyandu_id, count(*) AS measured,
               sum(CASE WHEN zlen IS NOT NULL AND NOT coalesce(flen, false) THEN 1 ELSE 0 END) AS n,
               sum(CASE WHEN zlen < -2 AND NOT coalesce(flen, false) THEN 1 ELSE 0 END) AS k
        FROM report_child_month WHERE month = :month AND age_months BETWEEN 0 AND 59 GROUP BY posyandu_id""")
    with app.app_context():
        results = {}
        for label, sql, params in (("from measurement (window per child)", floor_sql,
                                    {"first": last.replace(day=1), "last": last}),
                                   ("from report_child_month", summary_sql, {"month": index})):
            values = []
            for _ in range(args.reports):
                t = time.perf_counter()
                rows = db.session.execute(sql, params).all()
                values.append(time.perf_counter() - t)
            results[label] = sorted(tuple(r) for r in rows)
            print(f"\n3. one hand-written SQL statement, {label:<36} {ms(values)}" if label.startswith("from m")
                  else f"   one hand-written SQL statement, {label:<36} {ms(values)}")
        same = len(set(map(tuple, results.values()))) == 1
        print(f"   same numbers: {same}")
        db.session.remove()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
