"""Reports at kabupaten scale: PostgreSQL, gunicorn as the README recommends, a driver over HTTP.

    .venv/bin/python benchmarks/bench_reports.py            # ~100,000 balita, 1,500 posyandu, 5 years
    .venv/bin/python benchmarks/bench_reports.py --quick    # 5,000 balita, 75 posyandu (smoke run)
    .venv/bin/python benchmarks/bench_reports.py --keep     # keep the database (printed) ...
    .venv/bin/python benchmarks/bench_reports.py --database-url URL   # ... and measure it again

Seeds a fresh database in the shape of Kabupaten Gresik (35.25: 18 kecamatan, 356 desa, 30
puskesmas; ``synthetic.insert_kabupaten``), ``--posyandu`` posyandu and about ``--children``
children under five in every month of a five-year window (children are born all along the
window and the five years before it, so twice as many child records exist in all), each weighed
in most months of that window while under five (``synthetic.weight_and_length_array``, with
some data-entry errors, LiLA, vitamin A, exclusive breastfeeding). Every measurement's stored
assessment (z-scores, flags, categories, N/T/O/B, 2T, BGM, plausibility) is computed by the
project's own vectorised batch path (``measurements.assessment.assess_columns`` over the numpy
engine in ``posyandu/core/growth``) in worker processes and loaded with ``COPY`` (indexes built
after the load); the report summary table is filled by its own rebuild function when the code
has one. Then it starts ``gunicorn --workers N wsgi:app`` (one per core) and, from a separate
driver process (``multiprocessing`` spawn) over HTTP, prints:

1. the kabupaten nutrition-status report of the last complete month by kecamatan, p50/p95,
   next to the floor: the same numbers from ONE hand-written SQL statement with the best index,
   timed in the same run from the driver (target p95 < 100 ms and <= 2x the floor);
2. p95 of the SKDN report of the kabupaten, the 12-month trend of a puskesmas and the first
   page of a follow-up list (an endpoint not in the OpenAPI document is "not available");
3. the kabupaten ``.xlsx`` and the by-name e-PPGBM export: seconds and the peak RSS growth of
   the gunicorn worker that served it (``/proc`` sampled every 5 ms);
4. the measurement POST at 16 clients (closed loop, ``bench_api``'s driver) next to the same
   loop against ``floor_app`` (Flask-SQLAlchemy: SELECT the child by key, INSERT one row) and
   ``stack_floor_app`` (the floor's two statements behind this app's request machinery) under
   the same gunicorn settings, in alternating rounds: throughput ratios and p95.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_api import PASSWORD, Client, _closed_loop, _percentile, _post_bytes, free_port, login, wait_for  # noqa: E402
from bench_exports import create_database, drop_database  # noqa: E402
from synthetic import insert_kabupaten, weight_and_length_array  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
#: Stunted / wasted / underweight / overweight category codes (posyandu/core/growth/data/rules_id.json).
STUNTED = ("tbu.stunted", "tbu.severely_stunted")
SEVERELY_STUNTED = ("tbu.severely_stunted",)
WASTED = ("bbtb.wasted", "bbtb.severely_wasted")
SEVERELY_WASTED = ("bbtb.severely_wasted",)
UNDERWEIGHT = ("bbu.underweight", "bbu.severely_underweight")
OVERWEIGHT = ("bbtb.overweight", "bbtb.obese")
MEASUREMENT_COLUMNS = (
    "id", "child_id", "posyandu_id", "measured_on", "weight_kg", "length_cm", "measure_method",
    "arm_circumference_cm", "oedema", "vitamin_a", "exclusive_breastfeeding", "has_kia_book",
    "age_days", "age_months", "clenhei", "cbmi", "zlen", "flen", "zwei", "fwei", "zwfl", "fwfl", "zbmi", "fbmi",
    "zhc", "fhc", "zac", "fac", "cat_bbu", "cat_tbu", "cat_bbtb", "cat_imtu", "cat_lila", "cat_lk", "is_bgm",
    "above_orange", "trend_status", "is_2t", "gain_g", "kbm_g", "weight_implausible", "length_implausible",
    "warnings", "standard_version", "computed_at", "version", "created_at", "updated_at")


# --------------------------------------------------------------------------------------------
# seeding
# --------------------------------------------------------------------------------------------
def report_month():
    from posyandu.reports.areas import current_month
    return current_month().shift(-1)


def _uuids(gen, n: int) -> list[str]:
    """``n`` random version-4 UUIDs as 32 hex digits (PostgreSQL reads them without dashes)."""
    import numpy as np
    raw = gen.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = raw.tobytes().hex()
    return [text[i:i + 32] for i in range(0, 32 * n, 32)]


def _copy_table(cur, table: str, columns, arrow_table) -> None:
    """COPY a pyarrow table (columns in ``columns`` order) as CSV: rendered in C++, nulls empty."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    sink = pa.BufferOutputStream()
    pacsv.write_csv(arrow_table, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(sink.getvalue().to_pybytes())


def _children(gen, n_balita: int, posyandu: list, months: int, month) -> dict:
    """The children (numpy columns): born uniformly over the window and the five years before
    it, so about ``n_balita`` are under five in any month of the window."""
    import numpy as np
    window_start = month.shift(-(months - 1)).first_day
    span_start = np.datetime64(window_start, "D") - np.timedelta64(1826, "D")
    span_end = np.datetime64(month.last_day, "D")
    span = int((span_end - span_start).astype(int))
    n = int(round(n_balita * (months + 60) / 60))
    sizes = gen.gamma(4.0, size=len(posyandu))  # posyandu differ in size
    pidx = gen.choice(len(posyandu), size=n, p=sizes / sizes.sum())
    z_l = gen.normal(-1.0, 1.05, n)
    return {"n": n, "id": _uuids(gen, n), "pidx": pidx,
            "sex": gen.integers(1, 3, n), "birth": span_start + gen.integers(0, span + 1, n).astype("timedelta64[D]"),
            "z_l": z_l, "z_w": 0.6 * z_l + gen.normal(-1.1, 0.7, n),
            "attend": gen.beta(9.0, 1.4, n), "birth_weight": np.round(gen.normal(3.1, 0.45, n), 2),
            "kia": gen.random(n) < 0.8}


def _child_table(gen, kids: dict, posyandu: list, now):
    """The child rows as a pyarrow table (names drawn from short lists; NIK, mother's NIK and KK
    encrypted like the app does, for the by-name export)."""
    import numpy as np
    import pyarrow as pa

    from posyandu.children import crypto
    from posyandu.children.names import name_key, name_sort_key
    firsts_m = np.array(["Ahmad", "Muhammad", "Budi", "Rizky", "Fajar", "Dimas", "Bagus", "Arif", "Yusuf", "Rafi"])
    firsts_f = np.array(["Aisyah", "Putri", "Siti", "Nur", "Dewi", "Ayu", "Rina", "Salsabila", "Zahra", "Nabila"])
    lasts = np.array(["Pratama", "Saputra", "Wijaya", "Lestari", "Hidayat", "Santoso", "Rahmawati", "Setiawan"])
    n = kids["n"]
    first = np.where(kids["sex"] == 1, firsts_m[gen.integers(0, 10, n)], firsts_f[gen.integers(0, 10, n)])
    names = np.char.add(np.char.add(first, " "), lasts[gen.integers(0, 8, n)]).tolist()
    mothers = np.char.add(np.char.add(firsts_f[gen.integers(0, 10, n)], " "), lasts[gen.integers(0, 8, n)]).tolist()
    keys, sorts = {}, {}
    for name in set(names) | set(mothers):
        keys[name], sorts[name] = name_key(name), name_sort_key(name)
    nik = [crypto.protect(f"3525{i:012d}") for i in range(n)]
    mother_nik = [crypto.protect(f"3525{i + 4_000_000:012d}") for i in range(n)]
    desa = [posyandu[p][1] for p in kids["pidx"].tolist()]
    created = [datetime.combine(b, datetime.min.time(), tzinfo=timezone.utc) for b in kids["birth"].astype(object)]
    cols = {
        "id": kids["id"], "posyandu_id": [posyandu[p][0] for p in kids["pidx"].tolist()], "name": names,
        "name_key": [keys[x] for x in names], "name_sort": [sorts[x] for x in names], "sex": kids["sex"],
        "birth_date": kids["birth"], "birth_weight_kg": kids["birth_weight"],
        "nik_encrypted": [x[0] for x in nik], "nik_hmac": [x[1] for x in nik], "nik_masked": [x[2] for x in nik],
        "mother_name": mothers, "mother_name_key": [keys[x] for x in mothers],
        "mother_nik_encrypted": [x[0] for x in mother_nik], "mother_nik_hmac": [x[1] for x in mother_nik],
        "mother_nik_masked": [x[2] for x in mother_nik], "desa_code": desa, "has_kia_book": kids["kia"],
        "status": ["active"] * n, "version": [1] * n, "created_at": created, "updated_at": created}
    return list(cols), pa.table({k: pa.array(v) for k, v in cols.items()})


def _measurement_chunk(spec: dict) -> tuple[bytes, int]:
    """One chunk of children's visits as COPY CSV: raw values drawn in numpy, the stored
    assessment from the project's vectorised batch path (exactly what ``recompute_all`` writes)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from posyandu.measurements.assessment import assess_columns
    gen = np.random.default_rng(spec["seed"])
    birth, n_months = spec["birth"], spec["n_months"]
    c = len(birth)
    # visit day: each posyandu's own day of the month (4th-24th), every month of the window
    month_first = spec["month_first"]                                            # (n_months,) datetime64[D]
    visit = month_first[None, :] + spec["day"][:, None].astype("timedelta64[D]")  # (c, n_months)
    age = (visit - birth[:, None]).astype(np.int64)
    keep = (age >= 0) & (age < 1826) & (gen.random((c, n_months)) < spec["attend"][:, None])
    ci, mi = np.nonzero(keep)  # child-major, months ascending: the visit order of each child
    n = len(ci)
    age = age[ci, mi]
    age_m = age / 30.4375
    weight, length = weight_and_length_array(gen, age_m, spec["z_w"][ci], spec["z_l"][ci])
    slips = gen.random(n)
    weight = np.where(slips < 0.002, np.round(weight * 10, 1), weight)          # decimal slip: WHO-flagged
    length = np.where((slips >= 0.002) & (slips < 0.004), length + 25.0, length)
    length = np.where(gen.random(n) < 0.08, np.nan, length)                    # weighed only
    standing = age >= 731
    standing = np.where(gen.random(n) < 0.03, ~standing, standing)
    method = np.where(np.isnan(length), None, np.where(standing, "standing", "lying"))
    arm = np.where((age_m >= 6) & (gen.random(n) < 0.25),
                   np.round(14.8 + 0.9 * spec["z_w"][ci] + gen.normal(0, 0.5, n), 1), np.nan)
    oedema = gen.random(n) < 0.0003
    day = visit[ci, mi]
    cal_month = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    vita = np.where(((cal_month == 2) | (cal_month == 8)) & (age_m >= 6),
                    np.where(gen.random(n) < 0.85, True, None), None)
    asi = np.where(age_m < 6, gen.random(n) < 0.6, None)
    kia = gen.random(n) < 0.8
    days = day.astype(object)
    child_ids = [spec["ids"][i] for i in ci.tolist()]
    ids = _uuids(gen, n)
    none = [None] * n
    out = assess_columns({
        "id": ids, "child_id": child_ids, "measured_on": days, "weight_kg": weight, "length_cm": length,
        "measure_method": method, "head_circumference_cm": np.full(n, np.nan), "arm_circumference_cm": arm,
        "oedema": oedema, "vitamin_a": vita, "deleted_at": none, "created_at": none,
        "sex": spec["sex"][ci], "birth_date": birth[ci].astype(object),
        "birth_weight_kg": spec["birth_weight"][ci], "confirm_implausible": [False] * n})
    created = (day.astype("datetime64[s]") + np.timedelta64(2 * 3600, "s")).astype("datetime64[us]")
    ts = pa.array(created, pa.timestamp("us", tz="UTC"))
    computed = pa.array(np.full(n, np.datetime64(spec["now"], "us")), pa.timestamp("us", tz="UTC"))
    cols = {
        "id": pa.array(ids), "child_id": pa.array(child_ids),
        "posyandu_id": pa.array(spec["posyandu_id"][ci]), "measured_on": pa.array(day),
        "weight_kg": pa.array(weight), "length_cm": pa.array(length, from_pandas=True),
        "measure_method": pa.array(method.tolist(), pa.string()),
        "arm_circumference_cm": pa.array(arm, from_pandas=True), "oedema": pa.array(oedema),
        "vitamin_a": pa.array(vita.tolist(), pa.bool_()), "exclusive_breastfeeding": pa.array(asi.tolist(), pa.bool_()),
        "has_kia_book": pa.array(kia)}
    for name in MEASUREMENT_COLUMNS[12:42]:
        cols[name] = pa.array(out[name])
    cols["warnings"] = pa.array([json.dumps(w) if w else "[]" for w in out["warnings"]])
    cols["standard_version"] = pa.array(out["standard_version"])
    cols["computed_at"] = computed
    cols["version"] = pa.array(np.ones(n, dtype=np.int32))
    cols["created_at"], cols["updated_at"] = ts, ts
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.table([cols[k] for k in MEASUREMENT_COLUMNS], names=list(MEASUREMENT_COLUMNS)), sink,
                    pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes(), n


def _init_worker(url: str) -> None:
    os.environ["DATABASE_URL"] = url


def seed(url: str, n_balita: int, n_posyandu: int, *, months: int = 60, n_kader: int = 100,
         processes: int = 2, chunk_children: int = 2000, seed_value: int = 8, log=print) -> dict:
    """Fill a migrated database: hierarchy, accounts, children, measurements (COPY), summary."""
    import numpy as np
    import psycopg
    import sqlalchemy as sa

    from posyandu.auth.passwords import hash_password
    gen = np.random.default_rng(seed_value)
    month = report_month()
    now = datetime.now(timezone.utc)
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    timings = {}
    t0 = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        area = insert_kabupaten(cur, n_posyandu, now)
        posyandu = area["posyandu"]
        pw = hash_password(PASSWORD)
        users = [("bench.admin", "admin", None, None), ("bench.dinkes", "dinkes", "3525", None),
                 ("bench.puskesmas", "puskesmas", None, area["puskesmas"][0][0])]
        users += [(f"bench.kader{i:04d}", "kader", None, None) for i in range(min(n_kader, n_posyandu))]
        kader = {}
        for username, role, kab, pkm in users:
            cur.execute("INSERT INTO user_account (username, full_name, role, password_hash, is_active, language,"
                        " kabupaten_code, puskesmas_id, created_at, updated_at)"
                        " VALUES (%s,%s,%s,%s,true,'id',%s,%s,%s,%s) RETURNING id",
                        (username, username.title(), role, pw, kab, pkm, now, now))
            uid = cur.fetchone()[0]
            if role == "kader":
                pid = posyandu[len(kader)][0]
                cur.execute("INSERT INTO user_posyandu (user_id, posyandu_id) VALUES (%s,%s)", (uid, pid))
                kader[pid] = username
        kids = _children(gen, n_balita, posyandu, months, month)
        from posyandu import create_app
        with create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": False}).app_context():  # NIK keys
            cols, table = _child_table(gen, kids, posyandu, now)
        _copy_table(cur, "child", cols, table)
        conn.commit()
        timings["children"] = time.perf_counter() - t0
        log(f"  {kids['n']:,} children (about {n_balita:,} under five in any month) in {len(posyandu):,} posyandu, "
            f"{len(area['desa'])} desa, {len(area['puskesmas'])} puskesmas, 18 kecamatan: {timings['children']:.1f} s",
            flush=True)

        # measurements: indexes and constraints dropped for the load, built once after it
        t1 = time.perf_counter()
        cur.execute("SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
                    " WHERE c.conrelid = 'measurement'::regclass AND c.contype IN ('p', 'u')")
        constraints = cur.fetchall()
        cur.execute("SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                    " WHERE x.indrelid = 'measurement'::regclass"
                    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)")
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        for name, _ in constraints:
            cur.execute(f'ALTER TABLE measurement DROP CONSTRAINT "{name}"')
        cur.execute("SET session_replication_role = replica")  # no per-row FK triggers (keys are known good)
        month_first = np.array([month.shift(k - (months - 1)).first_day for k in range(months)], dtype="datetime64[D]")
        pid_arr = np.array([p[0] for p in posyandu], dtype=np.int64)
        day_of_posyandu = 3 + (np.arange(len(posyandu)) * 7) % 21
        specs = []
        for s in range(0, kids["n"], chunk_children):
            sl = slice(s, s + chunk_children)
            pidx = kids["pidx"][sl]
            specs.append({"seed": seed_value * 1_000_003 + s, "birth": kids["birth"][sl], "n_months": months,
                          "month_first": month_first, "day": day_of_posyandu[pidx], "attend": kids["attend"][sl],
                          "z_w": kids["z_w"][sl], "z_l": kids["z_l"][sl], "ids": kids["id"][sl],
                          "sex": kids["sex"][sl], "birth_weight": kids["birth_weight"][sl],
                          "posyandu_id": pid_arr[pidx], "now": now.replace(tzinfo=None)})
        n_rows = 0
        columns = ", ".join(MEASUREMENT_COLUMNS)
        ctx = mp.get_context("fork")
        with ctx.Pool(processes, initializer=_init_worker, initargs=(url,)) as pool:
            for k, (data, n) in enumerate(pool.imap(_measurement_chunk, specs)):
                with cur.copy(f"COPY measurement ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(data)
                n_rows += n
                if sys.stderr.isatty():
                    print(f"\r  measurements: {n_rows:,} rows, chunk {k + 1}/{len(specs)}", end="", file=sys.stderr,
                          flush=True)
        if sys.stderr.isatty():
            print(file=sys.stderr)
        cur.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        timings["measurements"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in constraints:
            cur.execute(f'ALTER TABLE measurement ADD CONSTRAINT "{name}" {definition}')
        for _, ddl in indexes:
            cur.execute(ddl)
        conn.commit()
        timings["indexes"] = time.perf_counter() - t2
        log(f"  {n_rows:,} measurements with their assessments (vectorised, {processes} processes) loaded by COPY: "
            f"{timings['measurements']:.1f} s; keys and {len(indexes)} indexes built: {timings['indexes']:.1f} s",
            flush=True)

    # the report summary table, by the code's own rebuild (present once i8-nutrition is merged)
    t3 = time.perf_counter()
    summary_rows = rebuild_summary(url)
    timings["summary"] = time.perf_counter() - t3
    if summary_rows is not None:
        log(f"  report_child_month rebuilt: {summary_rows:,} rows in {timings['summary']:.1f} s", flush=True)
    t4 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    timings["vacuum"] = time.perf_counter() - t4
    timings["total"] = time.perf_counter() - t0
    log(f"  VACUUM ANALYZE + CHECKPOINT {timings['vacuum']:.1f} s; seeding took {timings['total']:.0f} s in all",
        flush=True)
    children = [(kids["id"][i], posyandu[p][0], int(kids["sex"][i]), kids["birth"][i].item())
                for i, p in enumerate(kids["pidx"].tolist())]
    return {"posyandu": posyandu, "puskesmas": area["puskesmas"], "kader": kader, "children": children,
            "measurements": n_rows, "timings": timings}


def rebuild_summary(url: str) -> int | None:
    """Fill the summary table with the code's own rebuild; None when the code has none."""
    try:
        from posyandu.reports.summary import rebuild_summary as rebuild
    except ImportError:
        return None
    from posyandu import create_app
    from posyandu.extensions import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": False})
    with app.app_context():
        rows = rebuild(db.session, progress=True, batch_children=5000)
        db.session.commit()
        db.engine.dispose()
    return rows


# --------------------------------------------------------------------------------------------
# the floor: one hand-written statement per report, with the best index for it
# --------------------------------------------------------------------------------------------
#: Covering indexes the floor statements read with index-only scans (created for the floor only).
FLOOR_INDEXES = (
    "CREATE INDEX IF NOT EXISTS bench_floor_measurement_month ON measurement (measured_on, child_id)"
    " INCLUDE (created_at, id, deleted_at, weight_kg, age_days, cat_bbu, cat_tbu, cat_bbtb, cat_imtu, cat_lila)",
    "CREATE INDEX IF NOT EXISTS bench_floor_child_birth ON child (birth_date) INCLUDE (posyandu_id, status)",
)
FLOOR_SUMMARY_INDEX = ("CREATE INDEX IF NOT EXISTS bench_floor_summary_month ON report_child_month (month)"
                       " INCLUDE (posyandu_id, sex, age_days, weighed, cat_bbu, cat_tbu, cat_bbtb, cat_imtu, cat_lila)")
_AGE_GROUP = ("CASE WHEN r.age_days < 183 THEN 0 WHEN r.age_days < 366 THEN 1"
              " WHEN r.age_days < 731 THEN 2 ELSE 3 END")


def _category_counts() -> list[tuple[str, str]]:
    """(column, category code) of every category the report counts (BB/U, TB/U, BB/TB, IMT/U, LiLA)."""
    from posyandu.core.growth.rules import default_rules
    rules = default_rules()
    pairs = [(f"cat_{key}", c.code) for key in ("bbu", "tbu", "bbtb", "imtu") for c in rules.indices[key].categories]
    return pairs + [("cat_lila", c.code) for c in rules.lila.categories]


def floor_statement(source: str) -> str:
    """ONE statement giving the nutrition-status numbers of a month by kecamatan (each category
    of BB/U, TB/U, BB/TB, IMT/U and LiLA counted per kecamatan, per kecamatan and sex, per
    kecamatan and age group; children measured; S, the children under five registered): count
    per posyandu x sex x age group first (integer keys), then roll the few thousand groups up
    to kecamatan with GROUPING SETS. ``source`` ``raw``: each child's last weighing of the
    month from ``measurement`` (DISTINCT ON over the covering month index), placed at her
    posyandu; ``summary``: the month's rows of ``report_child_month``."""
    pairs = _category_counts()
    counts = ",\n    ".join(f"count(*) FILTER (WHERE r.{col} = '{code}') AS n{i}"
                              for i, (col, code) in enumerate(pairs))
    sums = ", ".join(f"sum(g.n{i})" for i in range(len(pairs)))
    if source == "raw":
        records = """rec AS (
  SELECT DISTINCT ON (m.child_id) m.child_id, m.age_days, m.cat_bbu, m.cat_tbu, m.cat_bbtb, m.cat_imtu, m.cat_lila
  FROM measurement m
  WHERE m.measured_on >= %(first)s AND m.measured_on <= %(last)s AND m.deleted_at IS NULL AND m.weight_kg IS NOT NULL
  ORDER BY m.child_id, m.measured_on DESC, m.created_at DESC, m.id DESC
), groups AS (
  SELECT c.posyandu_id, c.sex, {age} AS age_group, count(*) AS measured,
    {counts}
  FROM rec r JOIN child c ON c.id = r.child_id
  WHERE r.age_days < 1826
  GROUP BY 1, 2, 3
)"""
    else:
        records = """groups AS (
  SELECT r.posyandu_id, r.sex, {age} AS age_group, count(*) AS measured,
    {counts}
  FROM report_child_month r
  WHERE r.month = %(index)s AND r.weighed AND r.age_days < 1826
  GROUP BY 1, 2, 3
)"""
    return f"""
WITH {records.format(age=_AGE_GROUP, counts=counts)}, targets AS (
  SELECT d.parent_code AS kecamatan, count(*) AS s
  FROM child c JOIN posyandu p ON p.id = c.posyandu_id JOIN region d ON d.code = p.desa_code
  WHERE c.status = 'active' AND c.birth_date <= %(last)s AND c.birth_date > %(last)s::date - 1826
  GROUP BY 1
)
SELECT d.parent_code AS kecamatan, g.sex, g.age_group, max(t.s) AS s, sum(g.measured) AS measured, {sums}
FROM groups g JOIN posyandu p ON p.id = g.posyandu_id JOIN region d ON d.code = p.desa_code
JOIN targets t ON t.kecamatan = d.parent_code
GROUP BY GROUPING SETS ((d.parent_code), (d.parent_code, g.sex), (d.parent_code, g.age_group))"""


def create_floor_indexes(dsn: str) -> list[str]:
    """Build the floor's covering indexes (and the summary's, when the table exists); VACUUM so
    index-only scans need no heap visits."""
    import psycopg
    made = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        statements = list(FLOOR_INDEXES)
        if conn.execute("SELECT to_regclass('report_child_month')").fetchone()[0]:
            statements.append(FLOOR_SUMMARY_INDEX)
        for ddl in statements:
            conn.execute(ddl)
            made.append(ddl.split(" ON ")[0].rsplit(" ", 1)[1])
        conn.execute("VACUUM ANALYZE measurement")
        if len(statements) > len(FLOOR_INDEXES):
            conn.execute("VACUUM ANALYZE report_child_month")
    return made


# --------------------------------------------------------------------------------------------
# the driver (a separate process)
# --------------------------------------------------------------------------------------------
def _worker_pids(master: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Peak RSS growth of the gunicorn workers over a request (``/proc`` every 5 ms)."""

    def __init__(self, master: int):
        self.pids = _worker_pids(master)
        self.start = {pid: _rss_kb(pid) for pid in self.pids}
        self.peak = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], _rss_kb(pid))
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def growth_mb(self) -> tuple[float, float]:
        """(largest growth over the request, that worker's peak RSS) in MB."""
        pid = max(self.pids, key=lambda p: self.peak[p] - self.start[p])
        return (self.peak[pid] - self.start[pid]) / 1024, self.peak[pid] / 1024


def _get(port: int, path: str, token: str) -> tuple[int, int, float]:
    """GET on a new connection, body read to the end: (status, bytes, seconds)."""
    import http.client
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Connection": "close"})
    response = conn.getresponse()
    size = 0
    while chunk := response.read(65536):
        size += len(chunk)
    conn.close()
    return response.status, size, time.perf_counter() - t


def _stats(latencies: list[float]) -> dict:
    values = sorted(latencies)
    return {"n": len(values), "p50_ms": _percentile(values, 50), "p95_ms": _percentile(values, 95),
            "max_ms": values[-1] * 1000}


def _time_get(port: int, path: str, token: str, runs: int, warmup: int = 3) -> dict:
    statuses: dict[int, int] = {}
    latencies = []
    for i in range(warmup + runs):
        status, size, seconds = _get(port, path, token)
        if i >= warmup:
            latencies.append(seconds)
            statuses[status] = statuses.get(status, 0) + 1
        if status >= 400 and i == 0:
            return {"statuses": {status: 1}, "error": True}
    return {**_stats(latencies), "statuses": statuses, "bytes": size}


def _time_sql(dsn: str, sql: str, params: dict, runs: int, warmup: int = 3) -> dict:
    """p50/p95 of ``sql`` from a plain psycopg connection, with the session settings the app's
    report transactions use (``reports.cohort.report_settings``: work_mem, no JIT), so that the
    floor is not slower for want of memory the app has."""
    import psycopg
    from posyandu.reports.cohort import REPORT_WORK_MEM
    latencies = []
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET work_mem = '{REPORT_WORK_MEM}'")
        conn.execute("SET jit = off")
        for i in range(warmup + runs):
            t = time.perf_counter()
            rows = conn.execute(sql, params).fetchall()
            if i >= warmup:
                latencies.append(time.perf_counter() - t)
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall())
    return {**_stats(latencies), "rows": len(rows), "plan": plan}


def driver(plan: dict, results: "mp.Queue") -> None:
    try:
        results.put(_drive(plan))
    except BaseException:  # noqa: BLE001 - report to the parent instead of dying silently
        import traceback
        results.put({"error": traceback.format_exc()})


def _drive(plan: dict) -> dict:
    """Every phase in turn; a phase that fails is reported as such and the others still run."""
    out: dict = {}
    for phase in (_drive_reports, _drive_downloads, _drive_posts):
        try:
            phase(plan, out)
        except Exception:  # noqa: BLE001 - a broken phase must not lose the others' figures
            import traceback
            out.setdefault("errors", []).append(f"{phase.__name__}: {traceback.format_exc()}")
    return out


def _tokens(plan: dict) -> dict:
    client = Client(plan["port"])
    return {name: login(client, name) for name in ("bench.dinkes", "bench.puskesmas", "bench.admin")}


def _drive_reports(plan: dict, out: dict) -> None:
    port, month, runs = plan["port"], plan["month"], plan["runs"]
    client = Client(port)
    tokens = {name: login(client, name) for name in ("bench.dinkes", "bench.puskesmas", "bench.admin")}
    status, spec = client.request("GET", "/api/v1/openapi.json")
    paths = set(spec.get("paths", {})) if status == 200 else set()
    out["paths"] = sorted(p for p in paths if "/reports" in p)
    q = urllib.parse.urlencode
    kab = {"level": "kabupaten", "code": "3525", "month": month}
    registered = _registered(client, tokens["bench.dinkes"])

    def get_report(key, path, params, token="bench.dinkes", n=runs):
        if path not in paths:
            kind = path.rsplit("/", 1)[1]
            if kind in registered:  # no JSON route yet: the same document through the download route
                zip_path = f"/api/v1/reports/{kind}.zip"
                out[key] = {"available": True, "url": f"{zip_path}?{q(params)}", "via": ".zip download",
                            **_time_get(port, f"{zip_path}?{q(params)}", tokens[token], n)}
            else:
                out[key] = {"available": False}
            return
        out[key] = {"available": True, "url": f"{path}?{q(params)}",
                    **_time_get(port, f"{path}?{q(params)}", tokens[token], n)}

    # 1. nutrition status by kecamatan, and its floor(s), interleaved in the same minutes; first
    # once with the stored per-posyandu counts emptied (every posyandu recomputed: the first
    # report of a month nobody asked for yet)
    if _empty_month_counts(plan["dsn"]):
        url = f"/api/v1/reports/nutrition-status?{q({**kab, 'by': 'kecamatan'})}"
        status, _size, seconds = _get(port, url, tokens["bench.dinkes"])
        out["nutrition_cold"] = {"status": status, "seconds": seconds}
    get_report("nutrition", "/api/v1/reports/nutrition-status", {**kab, "by": "kecamatan"})
    first, last, index = plan["month_first"], plan["month_last"], plan["month_index"]
    out["floor_raw"] = _time_sql(plan["dsn"], floor_statement("raw"), {"first": first, "last": last}, runs)
    if plan["summary"]:
        out["floor_summary"] = _time_sql(plan["dsn"], floor_statement("summary"), {"index": index, "last": last}, runs)
    get_report("nutrition_again", "/api/v1/reports/nutrition-status", {**kab, "by": "kecamatan"})

    # 2. SKDN of the kabupaten, 12-month trend of a puskesmas, first page of a follow-up list
    get_report("skdn", "/api/v1/reports/skdn", {**kab, "by": "kecamatan"})
    get_report("trend", "/api/v1/reports/trend",
               {"level": "puskesmas", "code": plan["puskesmas_code"], "month": month, "months": 12})
    get_report("follow_up", "/api/v1/reports/follow-up",
               {"level": "puskesmas", "code": plan["puskesmas_code"], "month": month, "limit": 50})



def _empty_month_counts(dsn: str) -> bool:
    """Forget the nutrition report's stored per-posyandu counts (reports.month_cache), if the
    code has them; True when it does."""
    import psycopg
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not conn.execute("SELECT to_regclass('report_month_cached')").fetchone()[0]:
            return False
        for table in ("report_month_counts", "report_month_cached", "report_dirty"):
            conn.execute(f"DELETE FROM {table}")
    return True


def _registered(client, token) -> set:
    status, listing = client.request("GET", "/api/v1/reports/downloads", token=token)
    return {d.get("kind") for d in listing.get("items", [])} if status == 200 else set()


def _drive_downloads(plan: dict, out: dict) -> None:
    """3. the kabupaten .xlsx and the by-name e-PPGBM export: seconds and the worker's peak RSS growth."""
    port, q = plan["port"], urllib.parse.urlencode
    kab = {"level": "kabupaten", "code": "3525", "month": plan["month"]}
    tokens = _tokens(plan)
    registered = _registered(Client(port), tokens["bench.dinkes"])
    downloads = []
    aggregate = next((k for k in ("nutrition-status", "skdn", "vitamin-a-breastfeeding") if k in registered), None)
    if aggregate:
        downloads.append(("xlsx", f"/api/v1/reports/{aggregate}.xlsx?{q({**kab, 'by': 'posyandu'})}"))
    if "eppgbm" in registered:
        downloads.append(("eppgbm_xlsx", f"/api/v1/reports/eppgbm.xlsx?{q(kab)}"))
        downloads.append(("eppgbm_csv", f"/api/v1/reports/eppgbm.csv?{q(kab)}"))
    for key, path in downloads:
        with RssSampler(plan["gunicorn_pid"]) as sampler:
            status, size, seconds = _get(port, path, tokens["bench.dinkes"])
        growth, peak = sampler.growth_mb()
        out[key] = {"url": path, "status": status, "bytes": size, "seconds": seconds, "rss_growth_mb": growth,
                    "rss_peak_mb": peak}



def _drive_posts(plan: dict, out: dict) -> None:
    """4. measurement POST, 16 clients, closed loop: the API, the floor app and the stack floor app
    in alternate rounds (order reversed every other round)."""
    import random
    port, client = plan["port"], Client(plan["port"])
    rng = random.Random(7)
    today = date.today()
    kader_tokens = {pid: login(client, username) for pid, username in plan["kader"].items()}
    children = [(cid, pid, birth) for cid, pid, _, birth in plan["children"]
                if pid in kader_tokens and today - timedelta(days=1790) < birth < today - timedelta(days=30)]
    rng.shuffle(children)
    # each child once a day: pass k weighs them on day k + 1 of this month (after every seeded
    # visit, each pass after the last), so the rounds may need more visits than there are children
    visits = [(cid, pid, birth, today.replace(day=k + 1)) for k in range(today.day) for cid, pid, birth in children]
    per_round = plan["post_requests"] + plan["post_warmup"]
    from bench_api import measurement_body
    post = {"api": [], "floor": [], "stack_floor": []}
    servers = (("api", port), ("floor", plan["floor_port"]), ("stack_floor", plan["stack_floor_port"]))
    for r in range(plan["post_rounds"]):
        for which, target in (servers if r % 2 == 0 else servers[::-1]):
            jobs, visits = visits[:per_round], visits[per_round:]
            if len(jobs) <= plan["post_warmup"]:
                raise RuntimeError("not enough children in the kaders' posyandu for the POST rounds")
            encoded = [_post_bytes(target, measurement_body(cid, day, rng, (day - birth).days), kader_tokens[pid])
                       for cid, pid, birth, day in jobs]
            statuses, latencies, wall = asyncio.run(
                _closed_loop(target, encoded, plan["concurrency"], plan["post_warmup"]))
            post[which].append({"rps": len(latencies) / wall, **_stats(latencies), "statuses": statuses})
    out["post"] = post
    # this month's kabupaten report after those visits: the first request recomputes the
    # posyandu that got one, the next ones read the stored counts
    token = _tokens(plan)["bench.dinkes"]
    url = "/api/v1/reports/nutrition-status?" + urllib.parse.urlencode(
        {"level": "kabupaten", "code": "3525", "month": today.strftime("%Y-%m"), "by": "kecamatan"})
    status, _size, seconds = _get(port, url, token)
    out["nutrition_after_posts"] = {"status": status, "seconds": seconds, "posyandu": len(kader_tokens),
                                    "then": _time_get(port, url, token, 10, warmup=0)}


# --------------------------------------------------------------------------------------------
# EXPLAIN ANALYZE of the app's own report statements (for index suggestions)
# --------------------------------------------------------------------------------------------
def explain_reports(url: str, month, puskesmas_code: str, min_ms: float = 5.0) -> str:
    """Build the reports in this process as the API does (admin scope), capture every SQL
    statement with its parameters, and EXPLAIN (ANALYZE, BUFFERS) those slower than ``min_ms``:
    what to read when looking for a missing index."""
    from sqlalchemy import event

    from posyandu import create_app
    from posyandu.extensions import db
    from posyandu.reports import export, registry
    from posyandu.reports.areas import resolve_area
    from posyandu.reports.cli import scope_for
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": False})
    captured: list = []
    lines = []
    with app.app_context():
        engine = db.engine

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_t"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            captured.append((time.perf_counter() - conn.info.pop("bench_t"), statement, parameters))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        scope = scope_for(None)
        kinds = registry.load_all()
        jobs = [("nutrition-status", "kabupaten", "3525", {"by": "kecamatan"}),
                ("skdn", "kabupaten", "3525", {"by": "kecamatan"}),
                ("trend", "puskesmas", puskesmas_code, {}),
                ("follow-up", "puskesmas", puskesmas_code, {})]
        for kind, level, code, options in jobs:
            if kind not in kinds:
                lines.append(f"== {kind}: not registered on this branch\n")
                continue
            captured.clear()
            area = resolve_area(scope, level, code)
            t0 = time.perf_counter()
            document = registry.build(kind, scope, area, month, registry.pick_options(kinds[kind], options))
            export.document_json(document)
            total = time.perf_counter() - t0
            db.session.rollback()
            lines.append(f"== {kind} {level} {code} {month}: {total * 1000:.0f} ms in this process, "
                         f"{len(captured)} statements, {sum(c[0] for c in captured) * 1000:.0f} ms in SQL\n")
            for seconds, statement, parameters in sorted(captured, key=lambda c: -c[0]):
                if seconds * 1000 < min_ms:
                    break
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                raw = engine.raw_connection()
                try:
                    cur = raw.cursor()
                    cur.execute("SET LOCAL jit = off")  # as the app's report transactions do
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    plan = "\n".join(r[0] for r in cur.fetchall())
                finally:
                    raw.rollback()
                    raw.close()
                lines.append(f"-- {seconds * 1000:.1f} ms\n{statement}\n{plan}\n")
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        db.engine.dispose()
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
def _start_gunicorn(target: str, port: int, workers: int, env: dict, log_name: str, chdir: Path = ROOT):
    cmd = [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
           "--timeout", "600", target]
    (HERE / "out").mkdir(exist_ok=True)
    log = open(HERE / "out" / log_name, "w")
    process = subprocess.Popen(cmd, cwd=chdir, env=env, stdout=log, stderr=log, start_new_session=True)
    wait_for(port, timeout=60)
    return process, cmd


def _stop(process) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000, help="children under five in any month")
    parser.add_argument("--posyandu", type=int, default=1_500)
    parser.add_argument("--months", type=int, default=60, help="months of visits (default five years)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs of each report (after 3 warm-up runs)")
    parser.add_argument("--requests", type=int, default=3000, help="POSTs per round and app")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="alternate rounds of API / floor POSTs")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="seeding processes")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2)),
                        help="gunicorn workers (README: one per core)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 children, 75 posyandu, fewer runs")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--database-url", default=None, help="measure this already seeded database")
    parser.add_argument("--explain-only", action="store_true",
                        help="with --database-url: only EXPLAIN ANALYZE the app's report statements")
    args = parser.parse_args(argv)
    if args.quick:
        args.children, args.posyandu, args.runs, args.requests, args.warmup, args.rounds = 5_000, 75, 15, 400, 50, 1

    import sqlalchemy as sa
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    secrets = {"JWT_SECRET_KEY": "b" * 48, "SECRET_KEY": "c" * 48, "NIK_ENCRYPTION_KEY": "d" * 48}
    os.environ.update({k: os.environ.get(k, v) for k, v in secrets.items()})
    os.environ["NIK_ENCRYPTION_KEY"] = secrets["NIK_ENCRYPTION_KEY"]  # the seed and the server must agree
    url, created = args.database_url, False
    app_server = floor_server = stack_floor_server = None
    month = report_month()
    print(f"machine: {os.cpu_count()} CPUs, load average {_load()} at start", flush=True)
    try:
        if url is None:
            url = create_database(admin_url, prefix="posyandu_bench_reports")
            created = True
            print(f"seeding {url.rsplit('/', 1)[1]}: ~{args.children:,} balita, {args.posyandu:,} posyandu, "
                  f"{args.months} months of visits ending {month} …", flush=True)
            info = seed(url, args.children, args.posyandu, months=args.months, processes=args.processes)
            seed_info = {k: info[k] for k in ("kader", "children", "puskesmas")}
            (HERE / "out").mkdir(exist_ok=True)  # absent in a fresh checkout: the seed was lost here
            with open(HERE / "out" / f"bench-reports-{url.rsplit('/', 1)[1]}.json", "w") as f:
                json.dump({"kader": {str(k): v for k, v in info["kader"].items()}, "puskesmas": info["puskesmas"],
                           "children": [(c, p, s, b.isoformat()) for c, p, s, b in info["children"]]}, f)
        else:
            with open(HERE / "out" / f"bench-reports-{url.rsplit('/', 1)[1]}.json") as f:
                saved = json.load(f)
            seed_info = {"kader": {int(k): v for k, v in saved["kader"].items()}, "puskesmas": saved["puskesmas"],
                         "children": [(c, p, s, date.fromisoformat(b)) for c, p, s, b in saved["children"]]}
        dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        import psycopg
        with psycopg.connect(dsn) as conn:
            summary = bool(conn.execute("SELECT to_regclass('report_child_month')").fetchone()[0])
            # the POSTs of an earlier drive on a kept database: gone, so each drive writes the same way
            conn.execute("DELETE FROM measurement WHERE measured_on > %s", (month.last_day,))
            if summary:
                conn.execute("DELETE FROM report_child_month WHERE month > %s", (month.index,))
            n_meas = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'measurement'").fetchone()[0]
        pkm_code = seed_info["puskesmas"][0][1]
        if args.explain_only:
            with open(HERE / "out" / "bench-reports-explain-app.txt", "w") as f:
                f.write(explain_reports(url, month, pkm_code))
            print("EXPLAIN ANALYZE of the app's report statements: benchmarks/out/bench-reports-explain-app.txt")
            return 0
        t0 = time.perf_counter()
        made = create_floor_indexes(dsn)
        print(f"floor indexes {', '.join(made)}: {time.perf_counter() - t0:.1f} s", flush=True)

        env = {**os.environ, "DATABASE_URL": url, "POSYANDU_ENV": "production", **secrets,
               "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0"),
               "RATELIMIT_KEY_PREFIX": f"posyandu-bench-reports-{os.getpid()}", "LOG_LEVEL": "WARNING"}
        for name in ("FCM_ENDPOINT_URL", "FIREBASE_AUTH_EMULATOR_HOST", "FIREBASE_FAKE_GOOGLE_URL"):
            env.pop(name, None)
        port, floor_port = free_port(), free_port()
        app_server, cmd = _start_gunicorn("wsgi:app", port, args.workers, env, "gunicorn-bench-reports.log")
        floor_server, _ = _start_gunicorn("floor_app:app", floor_port, args.workers, env,
                                          "gunicorn-bench-floor.log", chdir=HERE)
        stack_floor_port = free_port()
        stack_floor_server, _ = _start_gunicorn("stack_floor_app:app", stack_floor_port, args.workers,
                                                {**env, "PYTHONPATH": str(ROOT)}, "gunicorn-bench-stack-floor.log",
                                                chdir=HERE)
        print(f"gunicorn: {' '.join(cmd[1:])}; floor app and stack floor app on the same settings", flush=True)
        plan = {"port": port, "floor_port": floor_port, "stack_floor_port": stack_floor_port, "gunicorn_pid": app_server.pid, "dsn": dsn,
                "month": str(month), "month_first": month.first_day, "month_last": month.last_day,
                "month_index": month.index, "summary": summary, "runs": args.runs,
                "puskesmas_code": seed_info["puskesmas"][0][1], "kader": seed_info["kader"],
                "children": seed_info["children"], "post_requests": args.requests, "post_warmup": args.warmup,
                "post_rounds": args.rounds, "concurrency": args.concurrency}
        load_before = _load()
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        proc = ctx.Process(target=driver, args=(plan, queue))
        proc.start()
        result = queue.get(timeout=3600)
        proc.join()
        load_after = _load()
        if "error" in result:
            print(result["error"], file=sys.stderr)
            return 1
        for error in result.get("errors", []):
            print(f"phase failed: {error}", file=sys.stderr)
    finally:
        _stop(app_server)
        _stop(floor_server)
        _stop(stack_floor_server)
        if created and not args.keep:
            drop_database(admin_url, url)
        elif created:
            print(f"kept {url} (--database-url {url} measures it again)")
    report(result, args, month, n_meas, load_before, load_after)
    return 0


def _line(label: str, r: dict) -> str:
    if not r.get("available", True):
        return f"{label}: not available (no such endpoint on this branch)"
    if r.get("error"):
        return f"{label}: HTTP {r['statuses']} (see benchmarks/out/gunicorn-bench-reports.log)"
    if r.get("via"):
        label += f" [{r['via']}: no JSON route on this branch]"
    return (f"{label}: p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms "
            f"({r['n']} runs, statuses {r['statuses']}, {r.get('bytes', 0):,} bytes)")


def report(result: dict, args, month, n_meas: int, load_before: str, load_after: str) -> None:
    print(f"\nreports of {month}, {n_meas:,} measurements; load average {load_before} before the drive, "
          f"{load_after} after; one request at a time from the driver process")
    if "nutrition" not in result:
        print("reports: not measured (the phase failed, see above)")
        return _report_rest(result, args)
    nutrition = result["nutrition"]
    if "nutrition_cold" in result:
        cold = result["nutrition_cold"]
        print(f"nutrition status, kabupaten by kecamatan, first request with no stored counts (every posyandu "
              f"recomputed): {cold['seconds'] * 1000:.0f} ms, HTTP {cold['status']}")
    print(_line("nutrition status, kabupaten by kecamatan (API)", nutrition))
    if result.get("nutrition_again", {}).get("available"):
        print(_line("  same, again after the floor runs", result["nutrition_again"]))
    floors = {"raw": result["floor_raw"], "summary": result.get("floor_summary")}
    print(f"floor, one SQL statement over measurement (covering index bench_floor_measurement_month): "
          f"p50 {floors['raw']['p50_ms']:.1f} ms, p95 {floors['raw']['p95_ms']:.1f} ms ({floors['raw']['rows']} rows)")
    if floors["summary"]:
        print(f"floor, one SQL statement over report_child_month (covering index bench_floor_summary_month): "
              f"p50 {floors['summary']['p50_ms']:.1f} ms, p95 {floors['summary']['p95_ms']:.1f} ms "
              f"({floors['summary']['rows']} rows)")
    best = min((f for f in floors.values() if f), key=lambda f: f["p95_ms"])
    if nutrition.get("available") and not nutrition.get("error"):
        p95 = max(nutrition["p95_ms"], result.get("nutrition_again", {}).get("p95_ms", 0))
        ratio = p95 / best["p95_ms"]
        print(f"  p95 API / p95 floor = {ratio:.2f}x   [target p95 < 100 ms and <= 2x the floor: "
              f"{'met' if p95 < 100 and ratio <= 2 else 'NOT met'}]")
    print(_line("SKDN, kabupaten by kecamatan", result["skdn"]))
    print(_line("trend, 12 months of a puskesmas", result["trend"]))
    print(_line("follow-up list, first page (50) of a puskesmas", result["follow_up"]))
    with open(HERE / "out" / "bench-reports-explain.txt", "w") as f:
        for name, r in floors.items():
            if r:
                f.write(f"== floor over {name}\n{r['plan']}\n\n")
    print("EXPLAIN ANALYZE of the floor statements: benchmarks/out/bench-reports-explain.txt")
    _report_rest(result, args)


def _report_rest(result: dict, args) -> None:
    for key, label in (("xlsx", "kabupaten .xlsx (by posyandu)"), ("eppgbm_xlsx", "by-name e-PPGBM .xlsx, kabupaten"),
                       ("eppgbm_csv", "by-name e-PPGBM .csv, kabupaten")):
        r = result.get(key)
        if r is None:
            print(f"{label}: not available")
            continue
        print(f"{label}: {r['seconds']:.2f} s, HTTP {r['status']}, {r['bytes'] / 1e6:.1f} MB; gunicorn worker RSS "
              f"+{r['rss_growth_mb']:.1f} MB (peak {r['rss_peak_mb']:.0f} MB)   {r['url'].split('?')[0]}")
    if "post" not in result:
        print("measurement POST: not measured (the phase failed, see above)")
        return
    post = result["post"]
    print(f"measurement POST, closed loop, {args.concurrency} clients, {args.requests} requests per round "
          f"(+{args.warmup} warm-up), API, floor app and stack floor app (bench_api.py's: the floor's two statements "
          f"behind this app's sign-in check, schemas, transaction wrapper and logging) alternating:")
    for i, (a, f, st) in enumerate(zip(post["api"], post["floor"], post["stack_floor"])):
        print(f"  round {i + 1}: API {a['rps']:.0f} req/s p95 {a['p95_ms']:.1f} ms {a['statuses']}; "
              f"floor {f['rps']:.0f} req/s p95 {f['p95_ms']:.1f} ms {f['statuses']}; "
              f"stack floor {st['rps']:.0f} req/s p95 {st['p95_ms']:.1f} ms {st['statuses']}; "
              f"API / floor {a['rps'] / f['rps']:.2f}, stack floor / floor {st['rps'] / f['rps']:.2f}, "
              f"API / stack floor {a['rps'] / st['rps']:.2f}")
    ratio = statistics.median(a["rps"] / f["rps"] for a, f in zip(post["api"], post["floor"]))
    stack_ratio = statistics.median(st["rps"] / f["rps"] for st, f in zip(post["stack_floor"], post["floor"]))
    domain_ratio = statistics.median(a["rps"] / st["rps"] for a, st in zip(post["api"], post["stack_floor"]))
    api_rps = statistics.median(a["rps"] for a in post["api"])
    floor_rps = statistics.median(f["rps"] for f in post["floor"])
    api_p95 = statistics.median(a["p95_ms"] for a in post["api"])
    print(f"  median: API {api_rps:.0f} req/s, p95 {api_p95:.1f} ms; floor {floor_rps:.0f} req/s; "
          f"API / floor {ratio:.2f}   [goal >= 0.70 with p95 < 50 ms: "
          f"{'met' if ratio >= 0.7 and api_p95 < 50 else 'NOT met'}]; stack floor / floor {stack_ratio:.2f} (the "
          f"request machinery every endpoint shares); API / stack floor {domain_ratio:.2f} (the measurement's own "
          f"work)")
    after = result.get("nutrition_after_posts")
    if after:
        print(f"this month's kabupaten nutrition report after those visits (in {after['posyandu']} posyandu): first "
              f"request {after['seconds'] * 1000:.0f} ms (HTTP {after['status']}), then "
              f"p50 {after['then']['p50_ms']:.1f} ms, p95 {after['then']['p95_ms']:.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
