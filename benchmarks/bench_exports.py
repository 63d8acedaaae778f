"""Benchmark of the report exports on PostgreSQL: seconds and peak memory of a whole kabupaten.

    .venv/bin/python benchmarks/bench_exports.py            # 100,000 children in 1,000 posyandu
    .venv/bin/python benchmarks/bench_exports.py --quick    # 3,000 children (smoke run)
    .venv/bin/python benchmarks/bench_exports.py --children 50000 --keep

Creates a throw-away database next to ``TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), builds the schema with the migrations and seeds
by COPY: one kabupaten with two puskesmas (a small one with 5 % of the posyandu, the baseline
area, and a large one), children under five with encrypted NIK, mother's NIK and KK, two
months of measurements with stored assessments, and their immunizations at about the
recommended ages. Then, each in a fresh process (so peak RSS is its own):

- the by-name e-PPGBM export of the whole kabupaten (identifiers in clear: every row decrypts
  three Fernet tokens) as CSV streamed through the HTTP route (Flask test client, body read
  chunk by chunk), as CSV and as .xlsx through the CLI's writer, and the same CSV for the small
  puskesmas: **memory ratio kabupaten ÷ small area** (≈ 1 means bounded);
- the kabupaten export *materialized* (all rows in a list, workbook in memory), the design the
  streaming replaces: **memory ratio streaming ÷ materialized**;
- the bare SELECT of the export read row by row without rendering: **time ratio export ÷
  query** (what rendering and decrypting cost on top of the database).

And in one process: the immunization-coverage and vitamin-A/breastfeeding reports of the
kabupaten (JSON documents, median of 3), and their .xlsx. Peak memory = max RSS of the process
minus its RSS after start-up (app created, first query run). The database is dropped at the end
unless ``--keep``. The integrator's ``bench_reports.py`` can call :func:`measure_export`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_recompute  # noqa: E402  (the benchmarks' throw-away database helpers)

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SMALL_PUSKESMAS = "BENCH-PKM-KECIL"
BIG_PUSKESMAS = "BENCH-PKM-BESAR"


# --------------------------------------------------------------------------------------------
# database
# --------------------------------------------------------------------------------------------
def create_database(admin_url: str, prefix: str = "posyandu_bench_exports") -> str:
    return bench_recompute.create_database(admin_url, prefix=prefix)


drop_database = bench_recompute.drop_database


def _env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "FLASK_APP": "posyandu", "LOG_LEVEL": "WARNING"}


def make_app(url: str):
    from posyandu import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": False})


def report_month():
    from posyandu.reports.areas import current_month
    return current_month().shift(-1)


def seed(url: str, n_children: int, n_posyandu: int, seed_value: int = 8) -> dict:
    """The kabupaten, its children, two months of measurements and the immunizations, by COPY."""
    import psycopg
    import sqlalchemy as sa

    from posyandu.children import crypto
    from posyandu.core.schedule import default_schedule

    rng = random.Random(seed_value)
    app = make_app(url)
    month = report_month()
    end = month.last_day
    now = datetime.now(timezone.utc)
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    counts = {"children": n_children, "posyandu": n_posyandu, "measurements": 0, "immunizations": 0}
    cats = {"bbu": ["bbu.normal"] * 8 + ["bbu.underweight", "bbu.severely_underweight"],
            "tbu": ["tbu.normal"] * 7 + ["tbu.stunted", "tbu.stunted", "tbu.severely_stunted"],
            "bbtb": ["bbtb.normal"] * 8 + ["bbtb.wasted", "bbtb.possible_risk_of_overweight"],
            "imtu": ["imtu.normal"] * 9 + ["imtu.wasted"]}
    doses = [d for d in default_schedule().doses if d.code != "JE1"]
    with app.app_context(), psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO region (code, level, name, parent_code) VALUES "
                    "('35','provinsi','Jawa Timur',NULL), ('3525','kabupaten','Kabupaten Gresik','35')")
        n_kecamatan = 18
        for k in range(n_kecamatan):
            cur.execute("INSERT INTO region (code, level, name, parent_code) VALUES (%s,'kecamatan',%s,'3525')",
                        (f"3525{k + 1:02d}", f"Kecamatan {k + 1}"))
        pkm = {}
        for code, kec in ((SMALL_PUSKESMAS, "352501"), (BIG_PUSKESMAS, "352502")):
            cur.execute("INSERT INTO puskesmas (code, name, kecamatan_code, kabupaten_code) VALUES (%s,%s,%s,'3525')"
                        " RETURNING id", (code, code.title(), kec))
            pkm[code] = cur.fetchone()[0]
        posyandu = []
        n_small = max(1, n_posyandu // 20)
        for i in range(n_posyandu):
            kec = f"3525{i % n_kecamatan + 1:02d}"
            desa = f"{kec}{2001 + i // n_kecamatan:04d}"
            cur.execute("INSERT INTO region (code, level, name, parent_code) VALUES (%s,'desa',%s,%s)",
                        (desa, f"Desa {i + 1}", kec))
            cur.execute(
                "INSERT INTO posyandu (code, name, desa_code, puskesmas_id, kabupaten_code, timezone,"
                " timezone_overridden, session_rule, session_start, session_end, is_active, created_at)"
                " VALUES (%s,%s,%s,%s,'3525','Asia/Jakarta',false,'nth_weekday:2:TUE','08:00','11:00',true,%s)"
                " RETURNING id", (f"BENCH-{i:04d}", f"Posyandu Bench {i + 1}", desa,
                                  pkm[SMALL_PUSKESMAS if i < n_small else BIG_PUSKESMAS], now))
            posyandu.append((cur.fetchone()[0], desa))
        cur.execute("INSERT INTO user_account (username, role, full_name, is_active, language, created_at, updated_at)"
                    " VALUES ('bench.admin','admin','Bench Admin',true,'id',%s,%s)", (now, now))

        children = []
        child_cols = ("id", "posyandu_id", "name", "name_key", "sex", "birth_date", "birth_weight_kg", "birth_order",
                      "nik_encrypted", "nik_hmac", "nik_masked", "mother_name", "mother_nik_encrypted",
                      "mother_nik_hmac", "mother_nik_masked", "kk_encrypted", "kk_hmac", "kk_masked", "father_name",
                      "address", "rt", "rw", "desa_code", "has_kia_book", "status", "version", "created_at",
                      "updated_at")
        with cur.copy(f"COPY child ({', '.join(child_cols)}) FROM STDIN") as copy:
            for i in range(n_children):
                pid, desa = posyandu[i % n_posyandu]
                birth = end - timedelta(days=rng.randint(0, 1795))
                cid = uuid.uuid4()
                children.append((cid, pid, birth))
                nik = crypto.protect(f"3525{i:012d}")
                mother = crypto.protect(f"3525{i + 500000:012d}")
                kk = crypto.protect(f"3525{i + 900000:012d}")
                registered = datetime.combine(birth, datetime.min.time(), tzinfo=timezone.utc)
                copy.write_row((cid, pid, f"Anak Bench {i}", f"anak bench {i}", 1 + i % 2, birth,
                                round(rng.gauss(3.1, 0.45), 2), 1 + i % 4, *nik, f"Ibu {i}", *mother, *kk,
                                f"Ayah {i}", f"Jl. Posyandu {i % 300}", f"{i % 20:03d}", f"{i % 9:03d}", desa,
                                rng.random() < 0.8, "active", 1, registered, registered))
        m_cols = ("id", "child_id", "posyandu_id", "measured_on", "weight_kg", "length_cm", "measure_method",
                  "arm_circumference_cm", "oedema", "vitamin_a", "exclusive_breastfeeding", "age_days", "age_months",
                  "zwei", "fwei", "zlen", "flen", "zwfl", "fwfl", "zbmi", "fbmi", "cat_bbu", "cat_tbu", "cat_bbtb",
                  "cat_imtu", "trend_status", "is_2t", "is_bgm", "version", "created_at", "updated_at")
        with cur.copy(f"COPY measurement ({', '.join(m_cols)}) FROM STDIN") as copy:
            for cid, pid, birth in children:
                for shift in (-1, 0):
                    day = month.shift(shift).first_day + timedelta(days=rng.randint(0, 27))
                    if day < birth or rng.random() < 0.15:
                        continue
                    age_days = (day - birth).days
                    age_m = int(age_days / 30.4375)
                    created = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=9)
                    copy.write_row((uuid.uuid4(), cid, pid, day, round(3.3 + 0.25 * age_m + rng.gauss(0, 0.8), 1),
                                    round(50 + 0.8 * age_m + rng.gauss(0, 2), 1),
                                    "lying" if age_m < 24 else "standing", round(rng.gauss(14.5, 1), 1), False,
                                    day.month in (2, 8) and age_m >= 6, (rng.random() < 0.7) if age_m < 6 else None,
                                    age_days, age_m, round(rng.gauss(-0.6, 1), 2), False, round(rng.gauss(-1, 1.1), 2),
                                    False, round(rng.gauss(-0.2, 1), 2), False, round(rng.gauss(-0.1, 1), 2), False,
                                    rng.choice(cats["bbu"]), rng.choice(cats["tbu"]), rng.choice(cats["bbtb"]),
                                    rng.choice(cats["imtu"]), rng.choice("NNNNTTOB"), False, False, 1, created,
                                    created))
                    counts["measurements"] += 1
        i_cols = ("id", "child_id", "posyandu_id", "dose_code", "vaccine_code", "given_on", "place", "is_valid",
                  "version", "created_at", "updated_at")
        with cur.copy(f"COPY immunization ({', '.join(i_cols)}) FROM STDIN") as copy:
            for cid, pid, birth in children:
                careful = rng.random() < 0.75
                for d in doses:
                    if rng.random() < (0.03 if careful else 0.25):
                        continue
                    given = d.recommended_age.add_to(birth) + timedelta(days=rng.randint(0, 6 if careful else 90))
                    if given > end:
                        continue
                    copy.write_row((uuid.uuid4(), cid, pid, d.code, d.series, given, "posyandu", True, 1, now, now))
                    counts["immunizations"] += 1
        conn.commit()
        cur.execute("ANALYZE")
    return counts


# --------------------------------------------------------------------------------------------
# measurements (each in its own process)
# --------------------------------------------------------------------------------------------
def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child_run(url: str, mode: str, area_text: str) -> dict:
    """One measurement in this (fresh) process; returns seconds, rows and memory."""
    import sqlalchemy as sa

    app = make_app(url)
    with app.app_context():
        from posyandu.extensions import db
        from posyandu.reports import eppgbm, export
        from posyandu.reports.areas import parse_area, resolve_area
        from posyandu.reports.cli import scope_for, write_document
        db.session.execute(sa.text("SELECT 1"))
        scope = scope_for(None)
        level, code = parse_area(area_text)
        area = resolve_area(scope, level, code)
        month = report_month()
        start_kb = _rss_kb()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        rows = 0
        out_dir = tempfile.mkdtemp(prefix="bench-exports-")
        if mode in ("csv", "xlsx"):
            document = eppgbm.eppgbm_document(scope, area, month, {"nik": "clear"})
            rows = write_document(document, os.path.join(out_dir, f"e.{mode}"), progress=False)
        elif mode == "http-csv":
            from posyandu.auth.models import User
            from posyandu.auth.tokens import access_token_for
            user = db.session.scalars(sa.select(User).where(User.username == "bench.admin")).one()
            token = access_token_for(user)
            client = app.test_client()
            response = client.get(f"/api/v1/reports/eppgbm.csv?level={level}&code={code}&month={month}",
                                  headers={"Authorization": f"Bearer {token}"}, buffered=False)
            size = 0
            for chunk in response.response:
                size += len(chunk)
                rows += chunk.count(b"\n")
            response.close()
            rows -= 1
        elif mode == "materialized":
            document = eppgbm.eppgbm_document(scope, area, month, {"nik": "clear"})
            document.tables[0].rows = list(document.tables[0].rows)
            rows = len(document.tables[0].rows)
            import io
            export.write_xlsx(document, io.BytesIO(), constant_memory=False)
        elif mode == "query":
            result = db.session.execute(eppgbm.export_query(area, month)
                                        .execution_options(yield_per=eppgbm.FETCH_ROWS, stream_results=True))
            for _ in result:
                rows += 1
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        db.session.rollback()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"mode": mode, "area": area_text, "rows": rows, "seconds": seconds, "cpu": cpu,
            "start_mb": start_kb / 1024, "peak_mb": peak_kb / 1024, "delta_mb": max(0, peak_kb - start_kb) / 1024}


def measure_export(url: str, mode: str, area_text: str) -> dict:
    """Run :func:`child_run` in a fresh Python process (the hook for bench_reports.py)."""
    out = subprocess.run([sys.executable, __file__, "--child-run", mode, "--area", area_text, "--database-url", url],
                         cwd=ROOT, env=_env(url), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_reports(url: str, runs: int = 3) -> list[tuple[str, float, float]]:
    """(label, median seconds, rows) of the aggregate reports of the kabupaten, in this process."""
    app = make_app(url)
    out = []
    with app.app_context():
        from posyandu.extensions import db
        from posyandu.reports import export, registry
        from posyandu.reports.areas import resolve_area
        from posyandu.reports.cli import scope_for
        scope = scope_for(None)
        area = resolve_area(scope, "kabupaten", "3525")
        month = report_month()
        for kind, by in (("immunization-coverage", "kecamatan"), ("immunization-coverage", "posyandu"),
                         ("vitamin-a-breastfeeding", "kecamatan"), ("vitamin-a-breastfeeding", "posyandu")):
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                document = registry.build(kind, scope, area, month, {"by": by})
                body = export.document_json(document)
                times.append(time.perf_counter() - t0)
                db.session.rollback()
            rows = sum(len(t["rows"]) for t in body["tables"])
            out.append((f"{kind} by {by} (JSON document)", statistics.median(times), rows))
            t0 = time.perf_counter()
            with tempfile.NamedTemporaryFile(suffix=".xlsx") as file:
                export.write_xlsx(registry.build(kind, scope, area, month, {"by": by}), file.name)
            out.append((f"{kind} by {by} (.xlsx, one run)", time.perf_counter() - t0, rows))
            db.session.rollback()
    return out


# --------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--posyandu", type=int, default=None, help="default: one per 100 children")
    parser.add_argument("--quick", action="store_true", help="3,000 children (smoke run)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--database-url", default=None, help="use this (already seeded) database")
    parser.add_argument("--child-run", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--area", default="kabupaten:3525", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_run:
        print(json.dumps(child_run(args.database_url, args.child_run, args.area)))
        return 0
    n = 3_000 if args.quick else args.children
    n_posyandu = args.posyandu or max(20, n // 100)
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    url = args.database_url
    created = False
    if url is None:
        t0 = time.perf_counter()
        url = create_database(admin_url)
        created = True
        counts = seed(url, n, n_posyandu)
        print(f"seeded {counts['children']:,} children in {counts['posyandu']:,} posyandu, "
              f"{counts['measurements']:,} measurements, {counts['immunizations']:,} immunizations "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
    try:
        small = f"puskesmas:{SMALL_PUSKESMAS}"
        whole = "kabupaten:3525"
        results = {}
        for key, mode, area in (("query", "query", whole), ("csv", "csv", whole), ("http", "http-csv", whole),
                                ("xlsx", "xlsx", whole), ("small", "http-csv", small),
                                ("materialized", "materialized", whole)):
            results[key] = r = measure_export(url, mode, area)
            print(f"  {key:<13} {r['area']:<28} {r['rows']:>8,} rows  {r['seconds']:7.2f} s (CPU {r['cpu']:.2f} s)  "
                  f"peak +{r['delta_mb']:6.1f} MB (RSS {r['peak_mb']:.0f} MB)", flush=True)
        print("\nby-name e-PPGBM export of the kabupaten (identifiers in clear)")
        print("| measure | rows | wall s | CPU s (this process) | peak memory over start-up |\n|---|---|---|---|---|")
        for key, label in (("http", "CSV streamed through the HTTP route"), ("csv", "CSV file (CLI writer)"),
                           ("xlsx", ".xlsx file (CLI writer, constant_memory)"),
                           ("small", "CSV over HTTP, small puskesmas (5 % of posyandu)"),
                           ("materialized", "materialized rows + in-memory workbook (not used)"),
                           ("query", "the SELECT alone, no rendering")):
            r = results[key]
            print(f"| {label} | {r['rows']:,} | {r['seconds']:.2f} | {r['cpu']:.2f} | {r['delta_mb']:.1f} MB |")
        ratio = results["http"]["delta_mb"] / max(results["small"]["delta_mb"], 0.1)
        print(f"\nmemory, kabupaten ÷ small area (streamed CSV): {ratio:.2f}x for "
              f"{results['http']['rows'] / max(results['small']['rows'], 1):.0f}x the rows")
        print(f"memory, streamed .xlsx ÷ materialized: "
              f"{results['xlsx']['delta_mb'] / max(results['materialized']['delta_mb'], 0.1):.2f}")
        print(f"time, CSV export ÷ bare SELECT: {results['csv']['seconds'] / max(results['query']['seconds'], 1e-6):.2f}x;"
              f" .xlsx ÷ bare SELECT: {results['xlsx']['seconds'] / max(results['query']['seconds'], 1e-6):.2f}x")
        print("\naggregate reports of the kabupaten (median of 3; .xlsx one run)")
        for label, seconds, rows in time_reports(url):
            print(f"  {label:<58} {seconds * 1000:8.0f} ms  ({rows} rows)")
    finally:
        if created and not args.keep:
            drop_database(admin_url, url)
        elif created:
            print(f"kept {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
