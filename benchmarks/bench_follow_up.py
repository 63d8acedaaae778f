"""Benchmark of the follow-up list at kabupaten scale on PostgreSQL (first page, next pages,
filters, the download).

    .venv/bin/python benchmarks/bench_follow_up.py            # 100,000 children, 1,500 posyandu, 5 years
    .venv/bin/python benchmarks/bench_follow_up.py --quick    # 5,000 children (smoke run)
    .venv/bin/python benchmarks/bench_follow_up.py --keep     # keep the database (URL printed)
    .venv/bin/python benchmarks/bench_follow_up.py --database-url URL   # measure it again

Creates a throw-away database next to ``TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), schema from the migrations, and seeds it with
SQL (``generate_series``): one kabupaten, two puskesmas (a small one with 5 % of the posyandu),
``--posyandu`` posyandu, ``--children`` children under five born over the five years before the
report month, and one measurement in about 85 % of the months of each child's life inside the
five-year window (about 25 per child; weight every time, a length in about half of them), with
random stored categories (about 20 % stunted, 5 % wasted, 1 % severely wasted, 10 %
underweight, 3 % BGM, 3 % 2T). The numbers are not growth data: they only give the list the
shape and the selectivity of real months. The report summary (``report_child_month``) is filled
by its own rebuild function.

Then, in this process (the operation, not HTTP: ``bench_reports.py`` times the endpoint through
gunicorn), median of ``--runs``: the first page (50) for the kabupaten, a puskesmas and a
posyandu; the page after 2,000 children of the kabupaten; the kabupaten filtered on a rare reason
(``severe_wasting``) and on ``stunted_new``; the kabupaten and the puskesmas with early warning;
and the kabupaten CSV download (one run, seconds and rows). No target is asserted; the numbers are printed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_exports import BIG_PUSKESMAS, SMALL_PUSKESMAS, create_database, drop_database, make_app  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def report_month():
    from posyandu.reports.areas import current_month
    return current_month().shift(-1)


def seed(url: str, n_children: int, n_posyandu: int) -> dict:
    import psycopg
    import sqlalchemy as sa

    month = report_month()
    end = month.last_day
    now = datetime.now(timezone.utc)
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT setseed(0.8)")
        cur.execute("INSERT INTO region (code, level, name, parent_code) VALUES "
                    "('35','provinsi','Jawa Timur',NULL), ('3525','kabupaten','Kabupaten Gresik','35')")
        cur.execute("INSERT INTO region (code, level, name, parent_code) SELECT '3525' || lpad(k::text, 2, '0'),"
                    " 'kecamatan', 'Kecamatan ' || k, '3525' FROM generate_series(1, 18) k")
        ids = {}
        for code, kec in ((SMALL_PUSKESMAS, "352501"), (BIG_PUSKESMAS, "352502")):
            cur.execute("INSERT INTO puskesmas (code, name, kecamatan_code, kabupaten_code) VALUES (%s,%s,%s,'3525')"
                        " RETURNING id", (code, code.title(), kec))
            ids[code] = cur.fetchone()[0]
        n_small = max(1, n_posyandu // 20)
        cur.execute(
            "INSERT INTO region (code, level, name, parent_code) SELECT '3525' || lpad((i %% 18 + 1)::text, 2, '0')"
            " || lpad((2001 + i / 18)::text, 4, '0'), 'desa', 'Desa ' || i, '3525' || lpad((i %% 18 + 1)::text, 2, '0')"
            " FROM generate_series(0, %s) i", (n_posyandu - 1,))
        cur.execute(
            "INSERT INTO posyandu (code, name, desa_code, puskesmas_id, kabupaten_code, timezone, timezone_overridden,"
            " session_rule, session_start, session_end, is_active, created_at)"
            " SELECT 'BENCH-' || lpad(i::text, 4, '0'), 'Posyandu Bench ' || i,"
            " '3525' || lpad((i %% 18 + 1)::text, 2, '0') || lpad((2001 + i / 18)::text, 4, '0'),"
            " CASE WHEN i < %s THEN %s ELSE %s END, '3525', 'Asia/Jakarta', false, 'nth_weekday:2:TUE', '08:00',"
            " '11:00', true, %s FROM generate_series(0, %s) i",
            (n_small, ids[SMALL_PUSKESMAS], ids[BIG_PUSKESMAS], now, n_posyandu - 1))
        cur.execute("INSERT INTO user_account (username, role, full_name, is_active, language, created_at, updated_at)"
                    " VALUES ('bench.admin','admin','Bench Admin',true,'id',%s,%s)", (now, now))
        cur.execute(
            "INSERT INTO child (id, posyandu_id, name, name_key, name_sort, sex, birth_date, desa_code, status,"
            " version, created_at, updated_at)"
            " SELECT gen_random_uuid(), p.id, 'Anak Bench ' || i, 'anak bench ' || i, 'anak bench ' || i,"
            " 1 + i %% 2, b.birth, p.desa_code, 'active', 1, b.birth::timestamptz, b.birth::timestamptz"
            " FROM generate_series(0, %s) i"
            " JOIN posyandu p ON p.code = 'BENCH-' || lpad((i %% %s)::text, 4, '0')"
            " CROSS JOIN LATERAL (SELECT (%s::date - (random() * 1795)::int) AS birth WHERE i >= 0 OFFSET 0) b",
            (n_children - 1, n_posyandu, end))
        first = month.shift(-59).first_day
        cur.execute(
            "INSERT INTO measurement (id, child_id, posyandu_id, measured_on, weight_kg, length_cm, measure_method,"
            " oedema, age_days, age_months, zwei, fwei, zlen, flen, zwfl, fwfl, cat_bbu, cat_tbu, cat_bbtb,"
            " cat_lila, trend_status, is_2t, is_bgm, weight_implausible, length_implausible, version, created_at,"
            " updated_at)"
            " SELECT gen_random_uuid(), c.id, c.posyandu_id, d.day, 3 + r.a * 10,"
            "  CASE WHEN r.l < 0.5 THEN 50 + r.a * 40 END, CASE WHEN r.l < 0.5 THEN 'lying' END, r.e < 0.001,"
            "  d.day - c.birth_date, ((d.day - c.birth_date) / 30.4375)::int, -3 * r.a, false,"
            "  CASE WHEN r.l < 0.5 THEN -3 * r.b END, CASE WHEN r.l < 0.5 THEN false END, -3 * r.c, false,"
            "  CASE WHEN r.a > 0.9 THEN 'bbu.underweight' ELSE 'bbu.normal' END,"
            "  CASE WHEN r.l >= 0.5 THEN NULL WHEN r.b > 0.8 THEN 'tbu.stunted' ELSE 'tbu.normal' END,"
            "  CASE WHEN r.c > 0.99 THEN 'bbtb.severely_wasted' WHEN r.c > 0.95 THEN 'bbtb.wasted'"
            "   ELSE 'bbtb.normal' END, NULL, CASE WHEN r.e < 0.3 THEN 'T' ELSE 'N' END, r.e > 0.97, r.a > 0.97,"
            "  false, false, 1, d.day::timestamptz, d.day::timestamptz"
            " FROM child c"
            " CROSS JOIN LATERAL (SELECT (date_trunc('month', %s::date) + make_interval(months => k)"
            "   + make_interval(days => 9))::date AS day FROM generate_series(0, 59) k) d"
            " CROSS JOIN LATERAL (SELECT random() AS a, random() AS b, random() AS c, random() AS e, random() AS l,"
            "   random() AS skip WHERE d.day IS NOT NULL AND c.id IS NOT NULL OFFSET 0) r"
            " WHERE d.day BETWEEN c.birth_date AND %s AND r.skip < 0.85",
            (first, end))
        conn.commit()
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM child")
        children = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM measurement")
        measurements = cur.fetchone()[0]
    fill_summary(url)
    return {"children": children, "measurements": measurements, "posyandu": n_posyandu}


def fill_summary(url: str) -> None:
    """The report summary (``report_child_month``) from the seeded measurements, by its own
    rebuild function (the write paths keep it in a real database)."""
    app = make_app(url)
    with app.app_context():
        from posyandu.extensions import db
        from posyandu.reports.summary import rebuild_summary
        rebuild_summary(db.session)
        db.session.commit()
        db.session.execute(__import__("sqlalchemy").text("ANALYZE report_child_month"))
        db.session.commit()


def run(url: str, runs: int) -> None:
    app = make_app(url)
    with app.app_context(), app.test_request_context():
        from posyandu.extensions import db
        from posyandu.regions.models import Posyandu, Puskesmas
        from posyandu.reports import export, follow_up, registry
        from posyandu.reports.areas import resolve_area
        from posyandu.reports.cli import scope_for
        import sqlalchemy as sa
        scope = scope_for(None)
        month = report_month()
        kab = resolve_area(scope, "kabupaten", "3525")
        pkm_code = db.session.scalar(sa.select(Puskesmas.code).where(Puskesmas.code == SMALL_PUSKESMAS))
        pkm = resolve_area(scope, "puskesmas", pkm_code)
        third = db.session.scalar(sa.select(sa.func.count()).select_from(Posyandu)) // 3
        pos = resolve_area(scope, "posyandu", db.session.scalar(sa.select(Posyandu.code).order_by(Posyandu.code)
                                                                 .offset(third).limit(1)))
        db.session.rollback()

        def timed(label, fn):
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                out = fn()
                times.append(time.perf_counter() - t0)
                db.session.rollback()
            items = len(out["items"])
            print(f"  {label:<62} median {statistics.median(times) * 1000:8.1f} ms   "
                  f"max {max(times) * 1000:8.1f} ms   ({items} rows)", flush=True)
            return out

        def page(area, **kw):
            return lambda: follow_up.follow_up_list(scope, area, month, limit=kw.pop("limit", 50), **kw)

        print(f"follow-up list, month {month}, median of {runs}:")
        first = timed("kabupaten, first page (50)", page(kab))
        cursor = first["next_cursor"]
        for _ in range(39):  # walk to the page after 2,000 children
            cursor = follow_up.follow_up_list(scope, kab, month, limit=50, cursor=cursor)["next_cursor"]
        db.session.rollback()
        timed("kabupaten, page 41 (after 2,000 listed children)", page(kab, cursor=cursor))
        timed("kabupaten, first page, early_warning=true", page(kab, early_warning=True))
        timed("kabupaten, reason=severe_wasting, first page", page(kab, reason="severe_wasting"))
        timed("kabupaten, reason=stunted_new, first page", page(kab, reason="stunted_new"))
        timed("puskesmas (5 % of the posyandu), first page, early warning", page(pkm))
        timed("puskesmas, first page, without early warning", page(pkm, early_warning=False))
        timed("posyandu, first page, early warning", page(pos))

        t0 = time.perf_counter()
        document = registry.build("follow-up", scope, kab, month, {})
        rows = 0
        for chunk in export.iter_csv_bytes(document.tables[0], language="id"):
            rows += chunk.count(b"\n")
        print(f"  {'kabupaten download (.csv, streamed, one run)':<62} {time.perf_counter() - t0:8.1f} s"
              f"   ({rows - 1} rows)")
        db.session.rollback()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--posyandu", type=int, default=1_500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--fill-summary", action="store_true",
                        help="with --database-url: upgrade the schema and rebuild the report summary first")
    args = parser.parse_args(argv)
    if args.quick:
        args.children, args.posyandu, args.runs = 5_000, 75, 3
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    url = args.database_url
    created = url is None
    if created:
        url = create_database(admin_url)
    try:
        if created:
            t0 = time.perf_counter()
            counts = seed(url, args.children, args.posyandu)
            print(f"seeded {counts['children']:,} children in {counts['posyandu']:,} posyandu, "
                  f"{counts['measurements']:,} measurements in {time.perf_counter() - t0:.0f} s", flush=True)
        if not created and args.fill_summary:
            import subprocess
            from bench_exports import BIN, ROOT, _env
            subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=_env(url), check=True)
            t0 = time.perf_counter()
            fill_summary(url)
            print(f"report summary rebuilt in {time.perf_counter() - t0:.0f} s", flush=True)
        run(url, args.runs)
    finally:
        if created and not args.keep:
            drop_database(admin_url, url)
        elif created:
            print(f"kept: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
