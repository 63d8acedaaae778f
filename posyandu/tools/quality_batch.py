"""``posyandu-anthro quality``: the data-quality score (SMART plausibility check) of a file.

Usage::

    posyandu-anthro quality visits.csv --group-by posyandu -o quality.csv
    posyandu-anthro quality visits.xlsx --group-by kader -o quality.xlsx

INPUT has the columns of the other posyandu-anthro commands (``sex``, ``age_days`` required;
``weight``, ``lenhei``, ``measure``, ``oedema``; same codes, case-insensitive names; others are
ignored) and, with ``--group-by``, the column to group by. The growth engine
(:func:`posyandu.core.growth.compute_zscores`) computes WHZ and its WHO flag, then
:func:`posyandu.core.quality.assess_groups` every check.

OUTPUT (CSV, ``.xlsx`` by its extension, or ``-`` for CSV on stdout): one row for ``All`` and
one per group (sorted), with exactly the columns of the R validation file
(:data:`posyandu.core.quality.VALIDATION_COLUMNS`): numbers with 15 significant digits as R's
``write.csv``, classes in lower case, an empty cell where a figure cannot be computed and
``Inf`` for a ratio over zero. ``--details`` adds, per check, the n it rests on and whether that
is enough to judge, plus ``points_judged`` and ``too_small``. The groups too small to judge are
also listed on stderr.

Reading goes through the shared columnar layer (:mod:`posyandu.tools.tabular`,
:func:`posyandu.tools.anthro_batch.parse_chunk` / ``compute_chunk``), chunk by chunk; only the
six columns the checks need are kept. Rows the engine refuses (unknown codes, text in a number
column, a wrong number of fields) stay in their group's ``n`` without a WHZ and are listed on
stderr by row number.

Exit status: 0 written; 2 unusable input or options (missing file or column); 1 output not
writable.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

from posyandu.tools.batch_cli import err as _err
from posyandu.tools.batch_cli import report_refused

#: Columns of ``--details`` after the validation columns.
DETAIL_SUFFIXES = ("n", "enough_data")


def register(subparsers, add_input_options) -> None:
    """Add the ``quality`` command to ``posyandu-anthro`` (no heavy imports here);
    ``add_input_options`` adds the input options every posyandu-anthro command shares."""
    q = subparsers.add_parser(
        "quality", help="data-quality score (SMART plausibility check) per group",
        description="Score the anthropometric data quality of INPUT (CSV, .xlsx, or - for "
                    "CSV on stdin) overall and per --group-by group: WHO-flagged WHZ, SD, "
                    "skewness and kurtosis of WHZ, digit preference of weight and length, age "
                    "ratio and sex ratio, with the SMART classes, penalty points and score. "
                    "Output: one row for All and one per group with the columns of the R "
                    "validation file. Exit 0 when written, 2 on unusable input.")
    q.add_argument("input", metavar="INPUT", help="CSV file, .xlsx workbook (first sheet), or -")
    q.add_argument("--group-by", metavar="COLUMN", default=None,
                   help="column whose values form the groups (default: only the 'All' row)")
    q.add_argument("-o", "--output", default="-", metavar="OUTPUT",
                   help="output file: .xlsx for a workbook, anything else CSV; - (default) "
                        "writes CSV to stdout")
    q.add_argument("--details", action="store_true",
                   help="add each check's n and whether it is enough to judge")
    add_input_options(q)
    q.set_defaults(func=run)


class _Labels:
    """Group labels across chunks as integer codes (Python work once per distinct label)."""

    def __init__(self):
        self.codes: dict[str, int] = {}

    def encode(self, col):
        import numpy as np
        import pyarrow.compute as pc

        from posyandu.tools import tabular

        values, index = tabular.distinct_codes(pc.utf8_trim_whitespace(col))
        local = np.array([self.codes.setdefault(v or "NA", len(self.codes)) for v in values],
                         dtype=np.int64)
        return local[index] if len(index) else np.array([], dtype=np.int64)

    def labels(self, codes):
        import numpy as np

        names = np.array(list(self.codes), dtype=str) if self.codes else np.array([], dtype=str)
        return names[codes]


def read_visits(table, layout, group_pos: int | None, opts, *, on_chunk=None) -> dict:
    """Every row of ``table`` as numpy columns with the engine's WHZ, flag and sex; the
    rows the engine refused as ``errors`` ({code: [row numbers]}) and their count."""
    import numpy as np
    import pyarrow as pa

    from posyandu.tools import anthro_batch as batch

    parts: dict[str, list] = defaultdict(list)
    errors: dict[str, list[int]] = defaultdict(list)
    labels = _Labels()
    for chunk in table.chunks():
        parsed = batch.parse_chunk(chunk, layout, opts)
        res = batch.compute_chunk(parsed)
        parts["whz"].append(res["zwfl"])
        parts["flag"].append(res["fwfl"])
        parts["sex"].append(res["csex"])
        parts["age"].append(parsed.floats["age"])  # days (months x 30.4375 with --age-unit months)
        parts["weight"].append(parsed.floats["weight"])
        parts["lenhei"].append(parsed.floats["lenhei"])
        if group_pos is not None:
            col = chunk.columns[group_pos]
            if not isinstance(col, (pa.Array, pa.ChunkedArray)):
                col = pa.array(col, type=pa.string())
            parts["group"].append(labels.encode(col))
        err = res["error"]
        for i in np.flatnonzero(err != None).tolist():  # noqa: E711 (elementwise)
            errors[err[i]].append(int(chunk.row_numbers[i]))
        if on_chunk is not None:
            on_chunk(len(chunk))
    out = {k: np.concatenate(parts[k]) if parts[k] else np.array([], dtype=float)
           for k in ("whz", "flag", "sex", "age", "weight", "lenhei")}
    if group_pos is None:
        out["group"] = None
    else:
        codes = np.concatenate(parts["group"]) if parts["group"] else np.array([], dtype=np.int64)
        out["group"] = labels.labels(codes)
    out["errors"] = dict(errors)
    return out


def score_visits(visits: dict, settings=None) -> dict:
    """``{label: GroupQuality}``: ``All`` first, then each group in sorted order."""
    from posyandu.core import quality

    return quality.assess_groups(visits["group"], whz=visits["whz"], flag=visits["flag"],
                                 sex=visits["sex"], age_days=visits["age"],
                                 weight=visits["weight"], lenhei=visits["lenhei"],
                                 settings=settings)


def output_rows(results: dict, details: bool = False) -> tuple[list[str], list[dict]]:
    """Header and dict rows (int, float, str or None; booleans as R writes them)."""
    from posyandu.core import quality

    header = list(quality.VALIDATION_COLUMNS)
    if details:
        header += [f"{c}_{s}" for c in quality.CHECKS for s in DETAIL_SUFFIXES]
        header += ["points_judged", "too_small"]
    rows = []
    for label, gq in results.items():
        row = gq.validation_row(str(label))
        if details:
            for c in quality.CHECKS:
                row[f"{c}_n"] = gq.checks[c].n
                row[f"{c}_enough_data"] = "TRUE" if gq.checks[c].enough_data else "FALSE"
            row["points_judged"] = gq.points_judged
            row["too_small"] = " ".join(gq.too_small)
        rows.append(row)
    return header, rows


def _small_group_notes(results: dict) -> list[str]:
    notes = []
    for label, gq in results.items():
        if gq.too_small:
            parts = [f"{k} (n={gq.checks[k].n} < {gq.checks[k].min_n})" for k in gq.too_small]
            notes.append(f"  {label}: " + ", ".join(parts))
    return notes


def run(args: argparse.Namespace) -> int:
    from posyandu.tools import anthro_batch as batch
    from posyandu.tools import tabular
    from posyandu.tools.batch_cli import open_input, progress_bar

    started = time.perf_counter()

    def group_column(header):
        return None if args.group_by is None else tabular.find_column(header, args.group_by)

    with open_input(args, group_column) as (table, layout, group_pos, delimiter):
        opts = batch.Options(age_unit=args.age_unit, decimal_comma=args.decimal == ",")
        bar = progress_bar(table, args)
        try:
            visits = read_visits(table, layout, group_pos, opts,
                                 on_chunk=lambda n: bar.update(table.position() - bar.n))
        except tabular.InputError as exc:
            _err(str(exc))
            return 2
        finally:
            bar.close()
    results = score_visits(visits)
    header, rows = output_rows(results, details=args.details)
    try:
        tabular.write_table(args.output, header, rows, delimiter=delimiter, sheet="quality")
    except OSError as exc:
        _err(f"{args.output}: cannot write ({exc.strerror or exc})")
        return 1

    total = results["All"]
    errors = visits["errors"]
    n_bad = sum(len(v) for v in errors.values())
    if n_bad or not args.quiet:
        dest = "stdout" if args.output == "-" else args.output
        _err(f"{total.n:,} rows in {time.perf_counter() - started:.1f} s, {total.whz_n:,} with "
             f"sex, age and WHZ; {len(results) - 1} group(s) -> {dest}")
    if n_bad:
        report_refused(f"{n_bad:,} row(s) the engine refused (counted in n, no WHZ):",
                       errors, {code: len(rows) for code, rows in errors.items()}, args.max_errors_listed)
    if not args.quiet:
        notes = _small_group_notes(results)
        if notes:
            _err("too few rows to judge (figures shown, but do not act on them):")
            for line in notes:
                print(line, file=sys.stderr)
    return 0
