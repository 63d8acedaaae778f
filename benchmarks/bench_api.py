"""API benchmark: PostgreSQL, gunicorn as the README recommends, a load driver in another process.

    .venv/bin/python benchmarks/bench_api.py            # full run (50 posyandu, 10,000 children, 5 years)
    .venv/bin/python benchmarks/bench_api.py --quick    # small smoke run

Seeds a fresh database (50 posyandu, 10,000 children born just under 5 years ago, each with 5 years
of monthly measurements, ~12 % of months missed — about 506,000 rows — with their stored
assessments; then VACUUM ANALYZE), starts ``gunicorn wsgi:app`` and, from a separate driver
process, measures:

0. a baseline in the same run: GET /health (no database, no auth) in the same closed loop;
0b. the floor in the same run: the same POST bodies to ``benchmarks/floor_app.py`` (a minimal
   Flask-SQLAlchemy endpoint that SELECTs the child by key and INSERTs one row; served by its
   own gunicorn with the same workers and database), in the same closed loop just before and
   just after step 1; the target (issue 8) is the real POST at >= 0.70 of the floor's rate;
   gunicorn and PostgreSQL CPU per request are reported for both;
1. single measurement POST throughput and p50/p95/p99 latency at 16 concurrent clients, closed
   loop (each client sends its next request when the last one answered), then open loop at a
   fixed offered rate (300/s), latency counted from each request's scheduled time;
2. seconds for one 500-record ``/sync/push``;
3. seconds for a full first ``/sync/pull`` of one posyandu (about 200 children).

Targets on the 2-core machine: ≥ 300 POST/s with p95 < 50 ms; push < 1 s; pull < 1 s.
In a closed loop of 16 clients the mean latency is 16 / throughput (Little's law), so p95 < 50 ms
there needs well over 320 req/s; the machine's speed varies by up to ~40 % between runs an hour
apart (compare the baseline line).
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from synthetic import add_months, insert_area, weight_and_length

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "bench-Password-123"


# --------------------------------------------------------------------------------------------
# seeding
# --------------------------------------------------------------------------------------------
def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def seed(database_url: str, n_posyandu: int, n_children: int, years: int, rng: random.Random) -> dict:
    """Fresh schema via the migrations, then bulk COPY of rows, then the vectorised recompute."""
    import psycopg
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "posyandu", "LOG_LEVEL": "WARNING"}
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from posyandu.auth.passwords import hash_password
    from posyandu.children.names import name_key, name_sort_key

    pw_hash = hash_password(PASSWORD)
    today = date.today()
    start = add_months(today.replace(day=1), -12 * years)
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    names_f = ["Aisyah", "Putri", "Siti", "Nur", "Dewi", "Ayu", "Rina", "Salsabila", "Zahra", "Nabila"]
    names_m = ["Ahmad", "Muhammad", "Budi", "Rizky", "Fajar", "Dimas", "Bagus", "Arif", "Yusuf", "Rafi"]
    surnames = ["Pratama", "Saputra", "Wijaya", "Lestari", "Hidayat", "Santoso", "Rahmawati", "Setiawan"]
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        area = insert_area(cur, n_posyandu, now)
        posyandu_ids, kader = [pid for pid, _ in area], []
        for i, (pid, _) in enumerate(area):
            cur.execute("INSERT INTO user_account (username, full_name, role, password_hash, is_active, language,"
                        " created_at, updated_at) VALUES (%s,%s,'kader',%s,true,'id',%s,%s) RETURNING id",
                        (f"kader{i:03d}", f"Kader {i}", pw_hash, now, now))
            uid = cur.fetchone()[0]
            cur.execute("INSERT INTO user_posyandu (user_id, posyandu_id) VALUES (%s,%s)", (uid, pid))
            kader.append(f"kader{i:03d}")
        children = []
        child_cols = ("id", "posyandu_id", "name", "name_key", "name_sort", "sex", "birth_date", "mother_name",
                      "mother_name_key", "desa_code", "status", "version", "created_at", "updated_at")
        with cur.copy(f"COPY child ({', '.join(child_cols)}) FROM STDIN") as copy:
            for i in range(n_children):
                pid = posyandu_ids[i % n_posyandu]
                sex = 1 + (i % 2)
                first = rng.choice(names_m if sex == 1 else names_f)
                name = f"{first} {rng.choice(surnames)}"
                mother = f"{rng.choice(names_f)} {rng.choice(surnames)}"
                # born just under 5 years ago: `years` (≤ 5) of monthly visits each, and still a balita
                # today (the worst case for a full pull: ~60 measurements per child)
                birth = today - timedelta(days=rng.randint(1766, 1820))
                cid = uuid.uuid4()
                children.append((cid, pid, sex, birth))
                copy.write_row((cid, pid, name, name_key(name), name_sort_key(name), sex, birth, mother, name_key(mother),
                                area[i % n_posyandu][1], "active", 1, now, now))
        m_cols = ("id", "child_id", "posyandu_id", "measured_on", "weight_kg", "length_cm", "measure_method",
                  "oedema", "version", "created_at", "updated_at")
        n_meas = 0
        with cur.copy(f"COPY measurement ({', '.join(m_cols)}) FROM STDIN") as copy:
            for cid, pid, sex, birth in children:
                first_month = max(add_months(birth, 1), start)
                z_w, z_l = rng.gauss(-0.6, 1.0), rng.gauss(-1.0, 1.1)
                months = _months_between(first_month, today)
                for k in range(months):
                    if rng.random() < 0.12:  # missed months
                        continue
                    day = add_months(first_month, k).replace(day=min(28, 5 + (hash(cid) % 20)))
                    if day >= today:
                        break
                    age_m = max(0.0, (day - birth).days / 30.4375)
                    weight, length = weight_and_length(rng, age_m, z_w, z_l)
                    method = "lying" if age_m < 24 else "standing"
                    copy.write_row((uuid.uuid4(), cid, pid, day, weight, length, method, False, 1, now, now))
                    n_meas += 1
        conn.commit()
    copy_seconds = time.perf_counter() - t0

    # Assessments through the project's own batch recompute (the vectorised engine).
    t1 = time.perf_counter()
    os.environ["DATABASE_URL"] = database_url
    from posyandu import create_app
    from posyandu.extensions import db
    from posyandu.measurements.operations import recompute_all
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        recompute_all(db.session, batch_size=5000, only_outdated=False, progress=sys.stderr.isatty())
        db.session.commit()
        db.engine.dispose()
    recompute_seconds = time.perf_counter() - t1
    # The recompute rewrote every row: settle the database as autovacuum would in production
    # (dead tuples vacuumed, statistics fresh, dirty pages written) before anything is timed.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    return {"posyandu_ids": posyandu_ids, "kader": kader, "children": children, "measurements": n_meas,
            "copy_seconds": copy_seconds, "recompute_seconds": recompute_seconds}


# --------------------------------------------------------------------------------------------
# HTTP driver (runs in a separate process)
# --------------------------------------------------------------------------------------------
class Client:
    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body=None, token: str | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, (json.loads(data) if data else None)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def login(client: Client, username: str) -> str:
    status, body = client.request("POST", "/api/v1/auth/login", {"login": username, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"login failed: {status} {body}")
    return body["access_token"]


def measurement_body(child_id: str, day: date, rng: random.Random, age_days: int) -> dict:
    return {"id": str(uuid.uuid4()), "child_id": child_id, "measured_on": day.isoformat(),
            "weight_kg": round(rng.uniform(6.0, 16.0), 1), "length_cm": round(rng.uniform(62.0, 105.0), 1),
            "measure_method": "lying" if age_days < 731 else "standing"}


def _post_bytes(port: int, body: dict, token: str) -> bytes:
    payload = json.dumps(body).encode()
    head = (f"POST /api/v1/measurements HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    return head.encode() + payload


async def _send(port: int, request: bytes) -> int:
    """One request on a new connection (gunicorn's sync workers close after each response);
    returns the HTTP status once the whole response has arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        response = await reader.read()  # until the server closes the connection
    finally:
        writer.close()
    return int(response[9:12])


async def _closed_loop(port: int, requests: list[bytes], concurrency: int, warmup: int):
    """``concurrency`` clients each sending its next request as soon as the last one answered;
    the first ``warmup`` requests are not measured."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    position = 0
    started = {}

    async def client():
        nonlocal position
        while position < len(requests):
            i = position
            position += 1
            if i == warmup:
                started["t"] = time.perf_counter()
            t = time.perf_counter()
            status = await _send(port, requests[i])
            if i >= warmup:
                latencies.append(time.perf_counter() - t)
                statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return statuses, latencies, time.perf_counter() - started["t"]


async def _open_loop(port: int, requests: list[bytes], concurrency: int, rate: float):
    """Request ``i`` is due at ``start + i / rate`` and sent by client ``i % concurrency`` (after
    that client's previous request answered); its latency counts from when it was due."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    start = time.perf_counter() + 0.5

    async def client(slot: int):
        for i in range(slot, len(requests), concurrency):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status = await _send(port, requests[i])
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client(slot) for slot in range(concurrency)))
    return statuses, latencies, time.perf_counter() - start


def _measured(port: int, requests: list[bytes], concurrency: int, warmup: int, match: str, database: str) -> dict:
    """A closed-loop run with its latencies and the server's and PostgreSQL's CPU per request
    (all requests, warm-up included, over the CPU of the whole run). PostgreSQL: the backends
    connected to this run's database only (other work on the machine's server is left out;
    the app and the floor share the database but never run at the same time)."""
    is_server = lambda cmd: "gunicorn" in cmd and match in cmd  # noqa: E731
    is_postgres = lambda cmd: cmd.startswith("postgres:") and f" {database} " in cmd  # noqa: E731
    cpu = (cpu_seconds(is_server), cpu_seconds(is_postgres))
    statuses, latencies, wall = asyncio.run(_closed_loop(port, requests, concurrency, warmup))
    app_cpu, db_cpu = cpu_seconds(is_server) - cpu[0], cpu_seconds(is_postgres) - cpu[1]
    latencies.sort()
    return {"requests": len(latencies), "seconds": wall, "rps": len(latencies) / wall,
            "p50_ms": _percentile(latencies, 50), "p95_ms": _percentile(latencies, 95),
            "p99_ms": _percentile(latencies, 99), "statuses": statuses, "latencies": latencies,
            "app_cpu_ms": 1000 * app_cpu / len(requests), "db_cpu_ms": 1000 * db_cpu / len(requests)}


def _combined(runs: list[dict]) -> dict:
    """Several closed-loop runs of one server as one: throughput over their summed wall time,
    percentiles of all their latencies, CPU per request averaged; ``runs`` kept (without latencies)."""
    latencies = sorted(t for run in runs for t in run.pop("latencies"))
    statuses: dict = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {"requests": len(latencies), "seconds": sum(run["seconds"] for run in runs),
            "rps": len(latencies) / sum(run["seconds"] for run in runs), "p50_ms": _percentile(latencies, 50),
            "p95_ms": _percentile(latencies, 95), "p99_ms": _percentile(latencies, 99), "statuses": statuses,
            "app_cpu_ms": sum(run["app_cpu_ms"] for run in runs) / len(runs),
            "db_cpu_ms": sum(run["db_cpu_ms"] for run in runs) / len(runs), "runs": runs}


def _round_ratios(combined: dict, base: dict) -> list[float]:
    """Throughput of ``combined`` over ``base``, round by round (runs of the same round side by side)."""
    return [run["rps"] / other["rps"] for run, other in zip(combined["runs"], base["runs"])]


def _percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile in milliseconds."""
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values))) - 1)] * 1000


def driver(port: int, plan: dict, results: "mp.Queue") -> None:
    try:
        results.put(_drive(port, plan))
    except BaseException:  # noqa: BLE001 - report to the parent instead of dying silently
        import traceback
        results.put({"error": traceback.format_exc()})


def _drive(port: int, plan: dict) -> dict:
    rng = random.Random(7)
    tokens = {}
    c = Client(port)
    for pid, username in zip(plan["posyandu_ids"], plan["kader"]):
        tokens[pid] = login(c, username)
    today = date.today()
    children = plan["children"]
    rng.shuffle(children)
    # 1. single POSTs at N concurrent clients (each child used once). Requests are encoded
    # before timing and sent by one asyncio loop over raw connections, so the driver spends
    # little CPU per request on the machine it shares with the server and no client thread
    # waits for a GIL between the response arriving and its time being taken.
    n_requests, concurrency, warmup = plan["requests"], plan["concurrency"], plan["warmup"]
    offered_count = plan["offered"]
    jobs = children[: n_requests + warmup + offered_count]
    encoded = [_post_bytes(port, measurement_body(cid, today, rng, (today - birth).days), tokens[pid])
               for cid, pid, sex, birth in jobs]
    closed = encoded[: warmup + n_requests]
    # 0. baseline in the same run: the same closed loop on GET /health (no database, no auth):
    # what this machine gives an empty request right now (its speed varies from hour to hour)
    health = (f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").encode()
    health_statuses, health_latencies, health_wall = asyncio.run(
        _closed_loop(port, [health] * (warmup + n_requests), concurrency, warmup))
    baseline = {"rps": len(health_latencies) / health_wall, "statuses": health_statuses}
    database = plan["database"]
    # 1a. the POST beside its floors, in interleaved rounds: this machine's speed drifts by tens of
    # per cent within a minute, so each round runs every server back to back (order reversed every
    # other round) and the ratios are taken round by round. Servers and their requests:
    # - the floor (floor_app.py) and the stack floor (stack_floor_app.py: the floor's statements
    #   behind this app's request machinery) read no history, so any child will do; their rows
    #   are dated the day after birth, before every seeded visit, so no later step (the push of
    #   posyandu 0's children) meets them as a newer visit that makes its records back-dated;
    # - the POST (today's visit, each child once) and the earlier code's POST (the same, for
    #   children the POST does not use).
    rounds = plan["rounds"]
    per_run, per_warmup = n_requests // rounds, warmup // rounds
    size = per_run + per_warmup
    spare = children[len(jobs):]
    floor_port, stack_port = plan["floor_port"], plan["stack_floor_port"]
    floor_encoded = [_post_bytes(floor_port, measurement_body(cid, birth + timedelta(days=1), rng, 1), "-")
                     for cid, pid, sex, birth in spare[:rounds * size]]
    stack_encoded = [_post_bytes(stack_port, measurement_body(cid, birth + timedelta(days=1), rng, 1), tokens[pid])
                     for cid, pid, sex, birth in spare[:rounds * size]]
    servers = [("floor", floor_port, plan["floor_match"], floor_encoded),
               ("stack_floor", stack_port, plan["stack_floor_match"], stack_encoded),
               ("post", port, plan["app_match"], closed)]
    if plan.get("earlier_port"):
        earlier_encoded = [_post_bytes(plan["earlier_port"], measurement_body(cid, today, rng, (today - birth).days),
                                       tokens[pid]) for cid, pid, sex, birth in spare[:rounds * size]]
        servers.append(("earlier", plan["earlier_port"], plan["earlier_match"], earlier_encoded))
    runs: dict = {name: [] for name, *_ in servers}
    for r in range(rounds):
        for name, server_port, match, encoded_requests in (servers if r % 2 == 0 else servers[::-1]):
            runs[name].append(_measured(server_port, encoded_requests[r * size:(r + 1) * size], concurrency,
                                        per_warmup, match, database))
    post, floor, stack_floor = _combined(runs["post"]), _combined(runs["floor"]), _combined(runs["stack_floor"])
    earlier = _combined(runs["earlier"]) if "earlier" in runs else None
    for combined in (post, stack_floor, earlier):
        if combined is not None:
            combined["floor_ratios"] = _round_ratios(combined, floor)
    post["stack_floor_ratios"] = _round_ratios(post, stack_floor)
    if earlier is not None:
        post["earlier_ratios"] = _round_ratios(post, earlier)

    # 1b. open loop: a fixed offered rate spread over the same N clients. Latency is measured
    # from each request's *scheduled* time, so a slow server cannot hide queueing (no
    # coordinated omission).
    rate = plan["offered_rate"]
    open_statuses, open_latencies, open_wall = asyncio.run(
        _open_loop(port, encoded[warmup + n_requests:], concurrency, rate))
    open_latencies.sort()
    offered = {"rate": rate, "requests": len(open_latencies), "achieved_rps": len(open_latencies) / open_wall,
               "p50_ms": _percentile(open_latencies, 50), "p95_ms": _percentile(open_latencies, 95),
               "p99_ms": _percentile(open_latencies, 99), "statuses": open_statuses}

    # 2. one 500-record sync push (measurements for the children of one posyandu)
    pid = plan["posyandu_ids"][0]
    own = [(cid, birth) for cid, p, sex, birth in plan["children"] if p == pid]
    records = []
    for k in range(500):
        cid, birth = own[k % len(own)]
        day = today - timedelta(days=1 + k // len(own))
        if day <= birth:
            day = today
        body = measurement_body(cid, day, rng, (day - birth).days)
        rid = body.pop("id")
        records.append({"entity": "measurement", "id": rid, "base_version": None,
                        "client_updated_at": datetime.now(timezone.utc).isoformat(), "data": body})
    t0 = time.perf_counter()
    status, response = c.request("POST", "/api/v1/sync/push", {"records": records}, tokens[pid])
    push_seconds = time.perf_counter() - t0
    push_summary = response.get("summary") if isinstance(response, dict) else response
    t0 = time.perf_counter()
    status_retry, response_retry = c.request("POST", "/api/v1/sync/push", {"records": records}, tokens[pid])
    push_retry_seconds = time.perf_counter() - t0
    retry_summary = response_retry.get("summary") if isinstance(response_retry, dict) else response_retry

    # 3. full first pull of another posyandu
    pid = plan["posyandu_ids"][1]
    cursor, pages, records_pulled, entities = None, 0, 0, {}
    t0 = time.perf_counter()
    while True:
        path = f"/api/v1/sync/pull?limit={plan['pull_limit']}" + (f"&since={cursor}" if cursor else "")
        status_pull, page = c.request("GET", path, token=tokens[pid])
        if status_pull != 200:
            raise RuntimeError(f"pull failed: {status_pull} {page}")
        pages += 1
        records_pulled += len(page["changes"])
        for change in page["changes"]:
            entities[change["entity"]] = entities.get(change["entity"], 0) + 1
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    pull_seconds = time.perf_counter() - t0
    return {"baseline": baseline, "post": post, "earlier": earlier, "floor": floor, "stack_floor": stack_floor,
            "offered": offered,
            "push": {"status": status, "seconds": push_seconds, "summary": push_summary,
                     "retry_seconds": push_retry_seconds, "retry_summary": retry_summary, "retry_status": status_retry},
            "pull": {"seconds": pull_seconds, "pages": pages, "records": records_pulled, "entities": entities,
                     "children_in_posyandu": sum(1 for _, p, _, _ in plan["children"] if p == pid)}}


# --------------------------------------------------------------------------------------------
def cpu_seconds(match) -> float:
    """User+system CPU seconds of every process whose command line matches ``match``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            if not match(cmd):
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            status, _ = Client(port).request("GET", "/health")
            if status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posyandu", type=int, default=50)
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of the POST beside its floors (requests and warm-up split over them)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2)),
                        help="gunicorn workers (README recommends one per core)")
    parser.add_argument("--gunicorn-args", default="", help="extra gunicorn options, e.g. '-k gthread --threads 2'")
    parser.add_argument("--pull-limit", type=int, default=5000)
    parser.add_argument("--offered-rate", type=float, default=300.0, help="open-loop requests/second")
    parser.add_argument("--offered", type=int, default=3000, help="open-loop requests")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--earlier", metavar="DIR",
                        help="a checkout of earlier code (e.g. `git worktree add /tmp/old REV`): its "
                             "wsgi:app is served the same way and measured right after the POST run, "
                             "on the same database (same migrations needed)")
    args = parser.parse_args(argv)
    if args.quick:
        args.posyandu, args.children, args.years, args.requests, args.warmup = 5, 1000, 2, 300, 50
        args.offered = 300

    import sqlalchemy as sa
    from posyandu.config import normalise_database_url
    admin_url = sa.make_url(normalise_database_url(args.database_url))
    name = f"posyandu_bench_{os.getpid()}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    database_url = admin_url.set(database=name).render_as_string(hide_password=False)
    gunicorn = floor_server = stack_floor_server = earlier_server = None
    try:
        load = os.getloadavg()
        print(f"machine load average at the start (1/5/15 min, {os.cpu_count()} CPUs): "
              f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}", flush=True)
        print(f"seeding {args.posyandu} posyandu, {args.children} children, {args.years} years of monthly visits …",
              flush=True)
        info = seed(database_url, args.posyandu, args.children, args.years, random.Random(42))
        print(f"  {info['measurements']:,} measurements: COPY {info['copy_seconds']:.1f} s, "
              f"vectorised recompute {info['recompute_seconds']:.1f} s", flush=True)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "POSYANDU_ENV": "production",
               "JWT_SECRET_KEY": "b" * 48, "SECRET_KEY": "c" * 48, "NIK_ENCRYPTION_KEY": "d" * 48,
               "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0"),
               "RATELIMIT_KEY_PREFIX": f"posyandu-bench-{os.getpid()}",
               "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO")}
        env.pop("FCM_ENDPOINT_URL", None)
        env.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
        cmd = [str(BIN / "gunicorn"), "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning", *args.gunicorn_args.split(), "wsgi:app"]
        (ROOT / "benchmarks" / "out").mkdir(exist_ok=True)
        log = open(ROOT / "benchmarks" / "out" / "gunicorn-bench.log", "w")
        gunicorn = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        floor_port = free_port()
        floor_cmd = [str(BIN / "gunicorn"), "--workers", str(args.workers), "--bind", f"127.0.0.1:{floor_port}",
                     "--log-level", "warning", *args.gunicorn_args.split(), "floor_app:app"]
        floor_server = subprocess.Popen(floor_cmd, cwd=ROOT / "benchmarks", env=env, stdout=log, stderr=log,
                                        start_new_session=True)
        stack_floor_port = free_port()
        stack_floor_server = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(args.workers), "--bind", f"127.0.0.1:{stack_floor_port}",
             "--log-level", "warning", *args.gunicorn_args.split(), "stack_floor_app:app"],
            cwd=ROOT / "benchmarks", env={**env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=log,
            start_new_session=True)
        earlier_port = None
        if args.earlier:
            earlier_port = free_port()
            earlier_cmd = [str(BIN / "gunicorn"), "--workers", str(args.workers), "--chdir", args.earlier,
                           "--bind", f"127.0.0.1:{earlier_port}", "--log-level", "warning",
                           *args.gunicorn_args.split(), "wsgi:app"]
            earlier_server = subprocess.Popen(earlier_cmd, cwd=args.earlier, env={**env, "PYTHONPATH": args.earlier},
                                              stdout=log, stderr=log, start_new_session=True)
            wait_for(earlier_port)
        wait_for(port)
        wait_for(floor_port)
        wait_for(stack_floor_port)
        print(f"gunicorn: {' '.join(cmd[1:])}; floor: {' '.join(floor_cmd[1:])}", flush=True)
        plan = {"posyandu_ids": info["posyandu_ids"], "kader": info["kader"], "rounds": args.rounds,
                "children": [(str(c), p, s, b) for c, p, s, b in info["children"]],
                "requests": args.requests, "warmup": args.warmup, "concurrency": args.concurrency,
                "pull_limit": args.pull_limit, "offered_rate": args.offered_rate, "offered": args.offered,
                "floor_port": floor_port, "stack_floor_port": stack_floor_port,
                "stack_floor_match": f"127.0.0.1:{stack_floor_port}", "earlier_port": earlier_port, "earlier_match": f"127.0.0.1:{earlier_port}",
                "database": name, "floor_match": f"127.0.0.1:{floor_port}", "app_match": f"127.0.0.1:{port}"}
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        is_gunicorn = lambda cmd: "gunicorn" in cmd and f"127.0.0.1:{port}" in cmd  # noqa: E731
        is_postgres = lambda cmd: cmd.startswith("postgres:") and f" {name} " in cmd  # noqa: E731
        cpu_before = (cpu_seconds(is_gunicorn), cpu_seconds(is_postgres))
        proc = ctx.Process(target=driver, args=(port, plan, queue))
        proc.start()
        result = queue.get(timeout=1800)
        cpu_after = (cpu_seconds(is_gunicorn), cpu_seconds(is_postgres))
        proc.join()
        if "error" in result:
            print(result["error"], file=sys.stderr)
            return 1
    finally:
        for server in (gunicorn, floor_server, stack_floor_server, earlier_server):
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    post, offered, push, pull = result["post"], result["offered"], result["push"], result["pull"]
    baseline = result["baseline"]
    print()
    print(f"baseline, GET /health, closed loop, {args.concurrency} concurrent clients: {baseline['rps']:.0f} req/s "
          f"(statuses {baseline['statuses']})")
    print(f"measurement POST, closed loop, {args.concurrency} concurrent clients: {post['requests']} requests in "
          f"{post['seconds']:.2f} s = {post['rps']:.0f} req/s ({post['rps'] / baseline['rps']:.1%} of the baseline); "
          f"p50 {post['p50_ms']:.1f} ms, p95 {post['p95_ms']:.1f} ms, p99 {post['p99_ms']:.1f} ms; "
          f"statuses {post['statuses']}   [target ≥ 300 req/s with p95 < 50 ms: "
          f"{'met' if post['rps'] >= 300 and post['p95_ms'] < 50 else 'NOT met'}]")
    floor, stack = result["floor"], result["stack_floor"]

    def per_round(values):
        return " / ".join(f"{v:.2f}" for v in values)

    def median(values):
        return sorted(values)[len(values) // 2]

    def rates(combined):
        return " / ".join(f"{run['rps']:.0f}" for run in combined["runs"])

    ratio = median(post["floor_ratios"])
    print(f"{len(floor['runs'])} interleaved rounds of {floor['runs'][0]['requests']} measured requests per server "
          f"(order reversed every other round; ratios are taken round by round and their median quoted):")
    print(f"  floor (benchmarks/floor_app.py: SELECT the child, INSERT one row): "
          f"{rates(floor)} req/s, p95 {floor['p95_ms']:.1f} ms; CPU per request: gunicorn {floor['app_cpu_ms']:.2f} ms, "
          f"PostgreSQL {floor['db_cpu_ms']:.2f} ms")
    print(f"  stack floor (benchmarks/stack_floor_app.py: the floor's two statements behind this app's sign-in "
          f"check, request and response schemas, transaction wrapper and logging): "
          f"{rates(stack)} req/s, p95 {stack['p95_ms']:.1f} ms; CPU per request: gunicorn {stack['app_cpu_ms']:.2f} ms, "
          f"PostgreSQL {stack['db_cpu_ms']:.2f} ms; statuses {stack['statuses']}")
    print(f"  measurement POST: {rates(post)} req/s; CPU per request: gunicorn {post['app_cpu_ms']:.2f} ms, PostgreSQL {post['db_cpu_ms']:.2f} ms")
    print(f"  stack floor / floor: {median(stack['floor_ratios']):.2f} ({per_round(stack['floor_ratios'])}): "
          f"what the request machinery every endpoint shares costs")
    print(f"  measurement POST / stack floor: {median(post['stack_floor_ratios']):.2f} "
          f"({per_round(post['stack_floor_ratios'])}): what the measurement's own work costs")
    print(f"  measurement POST / floor: {ratio:.2f} ({per_round(post['floor_ratios'])})   "
          f"[target >= 0.70: {'met' if ratio >= 0.70 else 'NOT met'}]")
    earlier = result.get("earlier")
    if earlier:
        print(f"  earlier code ({args.earlier}): {rates(earlier)} req/s, p95 {earlier['p95_ms']:.1f} ms, "
              f"{median(earlier['floor_ratios']):.2f} of the floor; CPU per request: gunicorn "
              f"{earlier['app_cpu_ms']:.2f} ms, PostgreSQL {earlier['db_cpu_ms']:.2f} ms; this code / earlier code: "
              f"{median(post['earlier_ratios']):.2f}x the throughput ({per_round(post['earlier_ratios'])})")
    print(f"measurement POST, open loop at {offered['rate']:.0f} req/s offered over {args.concurrency} clients: "
          f"achieved {offered['achieved_rps']:.0f} req/s; p50 {offered['p50_ms']:.1f} ms, "
          f"p95 {offered['p95_ms']:.1f} ms, p99 {offered['p99_ms']:.1f} ms; statuses {offered['statuses']}   "
          f"[target p95 < 50 ms at 300 req/s: {'met' if offered['p95_ms'] < 50 and offered['achieved_rps'] >= 0.98 * offered['rate'] else 'NOT met'}]")
    print(f"sync push of 500 records: {push['seconds']:.2f} s, HTTP {push['status']}, {push['summary']}   "
          f"[target < 1 s: {'met' if push['seconds'] < 1 else 'NOT met'}]; same batch again: "
          f"{push['retry_seconds']:.2f} s, {push['retry_summary']}")
    app_cpu, db_cpu = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
    print(f"CPU used during the whole drive (logins, all phases): gunicorn {app_cpu:.1f} s, PostgreSQL {db_cpu:.1f} s "
          f"(this run's database backends; the driver runs in its own process)")
    load = os.getloadavg()
    print(f"machine load average at the end (1/5/15 min, {os.cpu_count()} CPUs): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(f"full first pull of one posyandu ({pull['children_in_posyandu']} children): {pull['seconds']:.2f} s, "
          f"{pull['records']:,} records in {pull['pages']} page(s) of ≤ {args.pull_limit} {pull['entities']}   "
          f"[target < 1 s: {'met' if pull['seconds'] < 1 else 'NOT met'}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
