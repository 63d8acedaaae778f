"""Run every benchmark in turn (``make bench``); ``--quick`` passes ``--quick`` to each.

Benchmarks print their own numbers and the targets they are held to; they are never part of the
test suite (machines are noisy, so timing thresholds live here, not in tests/).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["bench_growth.py", "bench_recompute.py", "bench_api.py", "bench_reminders.py",
              "bench_metrics.py", "bench_early_warning.py", "bench_quality.py", "bench_exports.py", "bench_charts.py",
              "bench_nutrition.py",
              "bench_follow_up.py"]
BENCHMARKS += ["bench_reports.py"]  # reports at kabupaten scale (seeds ~5,000,000 measurements; minutes)


def main(argv: list[str]) -> int:
    extra = ["--quick"] if "--quick" in argv else []
    failed = []
    for name in BENCHMARKS:
        if not (HERE / name).exists():
            continue
        print(f"\n=== {name} {' '.join(extra)}", flush=True)
        if subprocess.call([sys.executable, str(HERE / name), *extra], cwd=HERE.parent) != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
