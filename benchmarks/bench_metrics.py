"""Cost of the Prometheus metrics on the request path (posyandu/metrics.py).

    .venv/bin/python benchmarks/bench_metrics.py [--quick]

In one process, on a throw-away SQLite database with the demo data, one app with
``METRICS_TOKEN`` set: the measurement POST (the benchmarked hot path) through the Flask test
client, in alternating blocks with the metrics hook in place and taken out, median per-request
time of each; then the hook alone (µs per call, in a real request context), both with
prometheus_client's in-process values and in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``,
as under gunicorn: each observation writes to a memory-mapped file). Prints the hook's cost as
a fraction of the POST measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def hook_cost(calls: int) -> float:
    """µs per call of the metrics after_request hook for POST /api/v1/measurements."""
    from flask import g

    from posyandu import create_app
    app = create_app({"METRICS_TOKEN": "bench-" + "x" * 40, "LOG_LEVEL": "WARNING",
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    hook = next(f for f in app.after_request_funcs[None] if getattr(f, "__name__", "") == "_observe")
    response = app.response_class(status=201)
    with app.test_request_context("/api/v1/measurements", method="POST"):
        from flask import request
        request.url_rule = app.url_map.bind("localhost").match(
            "/api/v1/measurements", method="POST", return_rule=True)[0]
        g.request_started = time.perf_counter()
        for _ in range(1000):
            hook(response)
        started = time.perf_counter()
        for _ in range(calls):
            hook(response)
        return (time.perf_counter() - started) / calls * 1e6


def post_timings(requests: int, blocks: int) -> dict:
    from posyandu import create_app
    from posyandu.extensions import db
    workdir = Path(tempfile.mkdtemp(prefix="posyandu-bench-metrics-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
                      "METRICS_TOKEN": "bench-" + "x" * 40, "LOG_LEVEL": "WARNING",
                      "RATELIMIT_ENABLED": False})
    app.instance_path = str(workdir)
    runner = app.test_cli_runner()
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"login": "kader.melati",
                                                     "password": "kader-demo-123"}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    child = client.get("/api/v1/children?limit=1", headers=headers).json["items"][0]

    def post() -> float:
        body = {"id": str(uuid.uuid4()), "child_id": child["id"], "measured_on": "2026-11-10",
                "weight_kg": 9.4, "length_cm": 76.0, "measure_method": "lying"}
        started = time.perf_counter()
        response = client.post("/api/v1/measurements", json=body, headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.json
        return elapsed

    funcs = app.after_request_funcs[None]
    hook = next(f for f in funcs if getattr(f, "__name__", "") == "_observe")
    timings = {"with": [], "without": []}
    for _ in range(20):
        post()  # warm-up
    for block in range(blocks):
        for mode in (("with", "without") if block % 2 == 0 else ("without", "with")):
            if mode == "without":
                funcs.remove(hook)
            timings[mode] += [post() for _ in range(requests)]
            if mode == "without":
                funcs.insert(0, hook)
    with app.app_context():
        db.engine.dispose()
    return {mode: statistics.median(values) * 1e6 for mode, values in timings.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--hook-only", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hook_only:  # child process (multiprocess mode): print µs per call
        print(json.dumps(hook_cost(args.hook_only)))
        return 0
    calls = 20_000 if args.quick else 200_000
    requests, blocks = (50, 2) if args.quick else (250, 6)

    single = hook_cost(calls)
    with tempfile.TemporaryDirectory(prefix="posyandu-prom-") as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
        out = subprocess.run([sys.executable, __file__, "--hook-only", str(calls)], env=env,
                             capture_output=True, text=True, check=True).stdout
        multi = json.loads(out.strip().splitlines()[-1])
    posts = post_timings(requests, blocks)
    print(f"metrics hook alone, in-process values:   {single:7.2f} µs per request")
    print(f"metrics hook alone, multiprocess (mmap): {multi:7.2f} µs per request")
    print(f"measurement POST (Flask test client, SQLite), median of {requests * blocks} each:")
    print(f"  with the hook    {posts['with']:8.0f} µs")
    print(f"  without the hook {posts['without']:8.0f} µs")
    print(f"  difference       {posts['with'] - posts['without']:+8.0f} µs (noise: blocks alternate)")
    print(f"ratio hook/POST: in-process {single / posts['without']:.2%}, "
          f"multiprocess {multi / posts['without']:.2%}  (target: < 1 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
