"""Benchmark of the data-quality report (``/api/v1/quality/...``) on PostgreSQL.

    .venv/bin/python benchmarks/bench_quality.py            # 10,000 children x 24 visits, 50 posyandu
    .venv/bin/python benchmarks/bench_quality.py --quick    # 1,000 children x 24 visits

Creates a throw-away database next to ``TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), seeds children and monthly visits with
``bench_recompute.seed`` (COPY), fills the stored z-scores with ``recompute_all`` (as
``flask growth recompute`` does), then times, for the whole puskesmas, its busiest month and
the twelve months up to it:

* baseline: a plain SELECT of the same visits' columns (no window function, no statistics);
* the report per posyandu and per cadre (``quality_report`` + the JSON dicts): the one
  statement with ``LAG`` over each child's visits, and numpy;
* the .xlsx workbook built from it.

Prints each time as a ratio of the baseline measured in the same run (medians of 3). The
database is dropped at the end unless ``--keep`` is given.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_recompute import DEFAULT_PG, create_database, drop_database, make_app, seed  # noqa: E402


def median_time(fn, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=24, help="monthly visits per child")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 children")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args(argv)
    if args.quick:
        args.children = 1_000
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    print(f"data-quality report benchmark: {args.children:,} children x {args.visits} visits, PostgreSQL "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})", flush=True)
    url = create_database(admin_url, "quality")
    try:
        t0 = time.perf_counter()
        n = seed(url, args.children, args.visits, args.seed)
        app = make_app(url)
        with app.app_context():
            import sqlalchemy as sa

            from posyandu.auth.scope import Scope
            from posyandu.extensions import db
            from posyandu.measurements.models import Measurement
            from posyandu.measurements.operations import recompute_all
            from posyandu.quality import operations as ops
            from posyandu.quality.report import render_xlsx, report_document
            from posyandu.reports.areas import resolve_area

            recompute_all(db.session, 2000, commit=True)
            db.session.remove()
            print(f"seeded and computed {n:,} measurements in {time.perf_counter() - t0:.1f} s", flush=True)
            scope = Scope(user_id=0, role="admin")
            area = resolve_area(scope, "puskesmas", "BENCH-PKM")
            month_of = sa.func.to_char(Measurement.measured_on, "YYYY-MM")
            last = db.session.execute(  # the busiest month, and the twelve months up to it
                sa.select(month_of).group_by(month_of).order_by(sa.func.count().desc()).limit(1)).scalar()
            first_y, first_m = divmod(int(last[:4]) * 12 + int(last[5:]) - 1 - 11, 12)
            first = f"{first_y:04d}-{first_m + 1:02d}"
            for label, params in (("1 month", {"month": last}), ("12 months", {"from_month": first, "to_month": last})):
                period = ops.resolve_period(params)
                m = Measurement.__table__
                plain = sa.select(m.c.posyandu_id, m.c.created_by_id, m.c.measured_on, m.c.created_at,
                                  m.c.weight_kg, m.c.length_cm, m.c.age_days, m.c.zwfl, m.c.fwfl).where(
                    m.c.deleted_at.is_(None), m.c.posyandu_id.in_(area.posyandu_ids()),
                    m.c.measured_on >= period.first.first_day, m.c.measured_on <= period.last.last_day)
                base, rows = median_time(lambda: db.session.execute(plain).all())
                args_ = {"level": "puskesmas", "code": "BENCH-PKM", **params}

                def json_report():
                    r = ops.quality_report(scope, args_)
                    return r, r.as_dict("posyandu"), r.as_dict("cadre")

                rep, (report, *_rest) = median_time(json_report)
                xlsx, body = median_time(lambda: render_xlsx(report_document(report)))
                print(f"{label:>9}: {len(rows):>8,} visits in {len(report.groups['posyandu'])} posyandu | "
                      f"plain SELECT (baseline) {base * 1000:7.1f} ms | report {rep * 1000:7.1f} ms "
                      f"({rep / base:4.1f}x baseline) | + xlsx {xlsx * 1000:6.1f} ms ({len(body) / 1024:.0f} KiB)",
                      flush=True)
            db.session.remove()
    finally:
        if not args.keep:
            drop_database(admin_url, url)
        else:
            print(f"kept {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
