"""Growth charts drawn on request: how long a chart takes, uncached and cached.

    .venv/bin/python benchmarks/bench_charts.py [--quick] [--out DIR]

In one process, on a throw-away SQLite database with the demo data plus one demo child whose
weight falters (a girl born 2025-01-05, weighed monthly for 22 months, weight-for-age falling
from +0.3 to about -2.4 SD after six months, one weighing typed as 17.0 kg instead of 7.1 kg,
lengths every three months, head circumference three times), through the Flask test client as
a cadre of her posyandu:

* baseline: ``GET /children/{id}/growth`` (the JSON history the charts draw), median ms;
* each child chart (weight-for-age, length-for-age, weight-for-length, head circumference) as
  SVG and PNG: drawn (the chart cache emptied before every request), served from the
  in-process cache, and answered 304 to ``If-None-Match``; median ms and the ratio to the
  baseline;
* the renderer alone (no HTTP, no database), SVG and PNG;
* the first chart in a fresh process (matplotlib's import and font cache), once;
* the area charts of the demo kabupaten (z distribution, 12-month trend), drawn, with
  ``--area-children`` more children (default 20,000; 2,000 with ``--quick``) measured in the
  current month added with stored z-scores (drawn from N(-1.1, 1.15) for HAZ and N(-0.3, 1.05)
  for WHZ), as a kabupaten-sized month;
* the density estimate of the distribution chart on 100,000 z-scores.

``--out DIR`` also writes the faltering child's charts and the area charts there (PNG and SVG),
to look at. Timings are medians of 15 requests (3 with ``--quick``); this machine is shared and
noisy, so compare the ratios, and run it on a quiet machine for absolute numbers.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INDICATORS = ("weight-for-age", "length-for-age", "weight-for-length", "head-circumference-for-age")
DEMO_KABUPATEN = ("kabupaten", "35.25")


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def faltering_visits(birth: date):
    """(date, weight, length or None, head or None) of the demo child, from the WHO curves."""
    from posyandu.core.growth import curves
    visits = []
    for month in range(1, 23):
        if month in (9, 15):  # missed sessions
            continue
        day = (birth.replace(day=1) + timedelta(days=31 * month)).replace(day=5)
        age = (day - birth).days
        if month <= 6:
            z = 0.3 - 0.05 * month
        elif month <= 18:
            z = 0.0 - 0.2 * (month - 6)
        else:
            z = -2.4 + 0.08 * (month - 18)
        weight = round(float(curves.age_curves("wfa", 2, age, age, (z,)).values[z][0]), 1)
        if month == 11:
            weight = 17.0  # typed 17.0 for 7.1: WAZ beyond +5, flagged
        length = head = None
        if month % 3 == 0 or month == 1:
            lz = -0.1 * month
            length = round(float(curves.age_curves("lhfa", 2, age, age, (lz,)).values[lz][0]), 1)
        if month in (1, 6, 12):
            head = round(float(curves.age_curves("hcfa", 2, age, age, (-0.3,)).values[-0.3][0]), 1)
        visits.append((day, weight, length, head))
    return visits


def add_measured_children(app, count: int) -> None:
    """``count`` children of the demo posyandu, each measured once this month, with stored
    z-scores (Core bulk inserts: the benchmark is about the chart, not the write path)."""
    import numpy as np
    import sqlalchemy as sa

    from posyandu.children.models import Child
    from posyandu.extensions import db
    from posyandu.measurements.models import Measurement
    from posyandu.regions.models import Posyandu
    if count <= 0:
        return
    rng = np.random.default_rng(11)
    today = date.today()
    with app.app_context():
        posts = db.session.execute(sa.select(Posyandu.id, Posyandu.desa_code)).all()
        children, visits = [], []
        for i in range(count):
            post = posts[i % len(posts)]
            age = int(rng.integers(30, 1790))
            child_id = uuid.uuid4()
            children.append({"id": child_id, "posyandu_id": post.id, "name": f"Anak {i}", "name_key": f"anak {i}",
                             "sex": int(rng.integers(1, 3)), "birth_date": today - timedelta(days=age),
                             "desa_code": post.desa_code, "status": "active", "version": 1})
            haz, whz = rng.normal(-1.1, 1.15), rng.normal(-0.3, 1.05)
            visits.append({"id": uuid.uuid4(), "child_id": child_id, "posyandu_id": post.id, "measured_on": today,
                           "weight_kg": 10.0, "length_cm": 80.0, "age_days": age, "age_months": int(age // 30.4375),
                           "zlen": round(float(haz), 2), "flen": bool(abs(haz) > 6), "zwfl": round(float(whz), 2),
                           "fwfl": bool(abs(whz) > 5), "zwei": round(float((haz + whz) / 2), 2), "fwei": False,
                           "oedema": False, "version": 1})
        db.session.execute(sa.insert(Child.__table__), children)
        db.session.execute(sa.insert(Measurement.__table__), visits)
        db.session.commit()


def first_chart_in_fresh_process(database: Path, workdir: Path) -> float:
    """ms of the first chart drawn by a new process (imports, font cache), database warm."""
    code = f"""
import time, sys
sys.path.insert(0, {str(ROOT)!r})
from posyandu import create_app
app = create_app({{"SQLALCHEMY_DATABASE_URI": "sqlite:///{database}", "LOG_LEVEL": "WARNING",
                   "RATELIMIT_ENABLED": False}})
app.instance_path = {str(workdir)!r}
client = app.test_client()
token = client.post("/api/v1/auth/login", json={{"login": "kader.melati", "password": "kader-demo-123"}}).json["access_token"]
child = client.get("/api/v1/children?limit=1", headers={{"Authorization": "Bearer " + token}}).json["items"][0]["id"]
started = time.perf_counter()
r = client.get(f"/api/v1/children/{{child}}/charts/weight-for-age.svg", headers={{"Authorization": "Bearer " + token}})
assert r.status_code == 200
print((time.perf_counter() - started) * 1000)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 requests per figure instead of 15")
    parser.add_argument("--out", type=Path, help="write the demo child's charts and the area charts here")
    parser.add_argument("--area-children", type=int, help="children added for the area charts")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 15
    area_children = args.area_children if args.area_children is not None else (2_000 if args.quick else 20_000)

    from posyandu import create_app
    from posyandu.charts import cache, render
    from posyandu.core import density

    workdir = Path(tempfile.mkdtemp(prefix="posyandu-bench-charts-"))
    database = workdir / "bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "LOG_LEVEL": "WARNING",
                      "RATELIMIT_ENABLED": False})
    app.instance_path = str(workdir)
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"login": "kader.melati",
                                                     "password": "kader-demo-123"}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    posyandu_id = client.get("/api/v1/children?limit=1", headers=headers).json["items"][0]["posyandu_id"]

    birth = date(2025, 1, 5)
    child_id = str(uuid.uuid4())
    created = client.post("/api/v1/children", headers=headers, json={
        "id": child_id, "posyandu_id": posyandu_id, "name": "Nur Aisyah (demo)", "sex": 2,
        "birth_date": birth.isoformat(), "mother_name": "Siti Rahmawati"})
    assert created.status_code == 201, created.json
    for day, weight, length, head in faltering_visits(birth):
        body = {"id": str(uuid.uuid4()), "child_id": child_id, "measured_on": day.isoformat(), "weight_kg": weight}
        if length:
            body.update(length_cm=length, measure_method="lying")
        if head:
            body["head_circumference_cm"] = head
        response = client.post("/api/v1/measurements", json=body, headers=headers)
        assert response.status_code == 201, response.json

    def get(path, **extra):
        response = client.get(path, headers={**headers, **extra})
        assert response.status_code in (200, 304), (path, response.status_code, response.get_data(as_text=True)[:300])
        return response

    get(f"/api/v1/children/{child_id}/charts/weight-for-age.svg")  # warm: imports, fonts, curves
    baseline = median_ms(lambda: get(f"/api/v1/children/{child_id}/growth"), repeat * 2)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: above ~2 the "
          f"times are inflated); median of {repeat} requests per figure")
    print(f"baseline GET /children/{{id}}/growth (JSON): {baseline:.1f} ms\n")
    print(f"{'chart':<32}{'fmt':<5}{'drawn ms':>10}{'cached ms':>11}{'304 ms':>9}{'drawn/base':>12}"
          f"{'cached/base':>13}{'bytes':>9}")
    drawn_all = {"svg": [], "png": []}
    for indicator in INDICATORS:
        for fmt in ("svg", "png"):
            path = f"/api/v1/children/{child_id}/charts/{indicator}.{fmt}"

            def drawn():
                cache.CHARTS.clear()
                get(path)
            drawn_ms = median_ms(drawn, repeat)
            response = get(path)
            cached_ms = median_ms(lambda: get(path), repeat)
            etag = response.headers["ETag"]
            not_modified_ms = median_ms(lambda: get(path, **{"If-None-Match": etag}), repeat)
            drawn_all[fmt].append(drawn_ms)
            print(f"{indicator:<32}{fmt:<5}{drawn_ms:>10.1f}{cached_ms:>11.1f}{not_modified_ms:>9.1f}"
                  f"{drawn_ms / baseline:>11.1f}x{cached_ms / baseline:>12.2f}x{len(response.data):>9}")
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"child-{indicator}.{fmt}").write_bytes(response.data)

    # the renderer alone
    from posyandu.charts import operations
    from posyandu.extensions import db
    with app.test_request_context():
        from posyandu.auth.scope import Scope
        spec = operations.child_chart_spec(Scope(user_id=0, role="admin"), uuid.UUID(child_id), "weight-for-age")
        db.session.remove()
    render_ms, render_cpu = {}, {}
    for fmt in ("svg", "png"):
        render_ms[fmt] = median_ms(lambda: render.child_chart(spec, fmt), repeat)
        started = time.process_time()
        for _ in range(repeat):
            render.child_chart(spec, fmt)
        render_cpu[fmt] = (time.process_time() - started) / repeat * 1000
    print(f"\nrenderer alone (weight-for-age, no HTTP/database): SVG {render_ms['svg']:.1f} ms "
          f"({render_cpu['svg']:.0f} ms CPU), PNG {render_ms['png']:.1f} ms ({render_cpu['png']:.0f} ms CPU)")
    first = first_chart_in_fresh_process(database, workdir)
    print(f"first chart in a fresh process (imports matplotlib, fonts): {first:.0f} ms")

    add_measured_children(app, area_children)
    token = client.post("/api/v1/auth/login", json={"login": "dinkes.gresik",
                                                     "password": "dinkes-demo-123"}).json["access_token"]
    headers["Authorization"] = f"Bearer {token}"
    level, code = DEMO_KABUPATEN
    print()
    for name in ("z-distribution", "trend"):
        for fmt in ("svg", "png"):
            path = f"/api/v1/charts/{name}.{fmt}?level={level}&code={code}"

            def drawn():
                cache.CHARTS.clear()
                get(path)
            ms = median_ms(drawn, repeat)
            response = get(path)
            print(f"area chart {name}.{fmt} ({level} {code}, +{area_children} children): drawn {ms:.1f} ms ({ms / baseline:.1f}x baseline), "
                  f"{len(response.data)} bytes")
            if args.out:
                (args.out / f"area-{name}.{fmt}").write_bytes(response.data)

    import numpy as np
    z = np.random.default_rng(1).normal(-1.1, 1.15, 100_000)
    kde_ms = median_ms(lambda: density.gaussian_kde(z, render.DENSITY_GRID), max(1, repeat // 3))
    print(f"density estimate, 100,000 z-scores on {len(render.DENSITY_GRID)} points: {kde_ms:.0f} ms")

    print(f"\nsummary: child chart drawn on request, median over indicators: SVG "
          f"{statistics.median(drawn_all['svg']):.0f} ms, PNG {statistics.median(drawn_all['png']):.0f} ms; "
          f"from the cache or 304: a few ms (the two scoped queries and the ETag)")
    if args.out:
        print(f"charts written to {args.out}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
