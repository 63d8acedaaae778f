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

Exit status: 0 written; 2 unusable input or options (missing file or column); 1 output not
writable.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys

#: Columns of ``--details`` after the validation columns.
DETAIL_SUFFIXES = ("n", "enough_data")


def register(subparsers) -> None:
    """Add the ``quality`` command to ``posyandu-anthro`` (no heavy imports here)."""
    q = subparsers.add_parser(
        "quality", help="data-quality score (SMART plausibility check) per group",
        description="Score the anthropometric data quality of INPUT (CSV, .xlsx, or - for "
                    "CSV on stdin) overall and per --group-by group: WHO-flagged WHZ, SD, "
                    "skewness and kurtosis of WHZ, digit preference of weight and length, age "
                    "ratio and sex ratio, with the SMART classes, penalty points and score.")
    q.add_argument("input", metavar="INPUT", help="CSV file, .xlsx workbook (first sheet), or -")
    q.add_argument("--group-by", metavar="COLUMN", default=None,
                   help="column whose values form the groups (default: only the 'All' row)")
    q.add_argument("-o", "--output", default="-", metavar="OUTPUT",
                   help="output .csv or .xlsx file; - (default) writes CSV to stdout")
    q.add_argument("-d", "--delimiter", default="auto",
                   help="input CSV delimiter: one character, 'tab', or 'auto' (default)")
    q.add_argument("--decimal", choices=(".", ","), default=".",
                   help="decimal separator of the input numbers (default '.')")
    q.add_argument("--encoding", default="utf-8-sig", help="input text encoding (default UTF-8)")
    q.add_argument("--age-unit", choices=("days", "months"), default="days",
                   help="unit of the age column, as for the zscores command (default days)")
    q.add_argument("--age-column", default=None,
                   help="name of the age column (default age_days, or age_months with "
                        "--age-unit months)")
    q.add_argument("--details", action="store_true",
                   help="add each check's n and whether it is enough to judge")
    q.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    q.set_defaults(func=run)


def _err(msg: str) -> None:
    print(f"posyandu-anthro: {msg}", file=sys.stderr)


def _find_column(header: list[str], name: str) -> int | None:
    """Exact name first, then case-insensitive (unique) match."""
    if name in header:
        return header.index(name)
    hits = [i for i, h in enumerate(header) if h.strip().lower() == name.strip().lower()]
    return hits[0] if len(hits) == 1 else None


def read_visits(table, layout, group_pos: int | None, *, age_unit: str = "days",
                decimal_comma: bool = False) -> dict:
    """Every row of ``table`` as numpy columns with the engine's WHZ, flag and sex.

    Rows whose number of fields differs from the header, and rows the engine refuses
    (unknown codes, text in a number column), stay in the group's ``n`` with no WHZ.
    """
    import numpy as np

    from posyandu.core.growth import compute_zscores
    from posyandu.core.growth.zscores import DAYS_PER_MONTH
    from posyandu.tools import anthro_batch as batch

    parts: dict[str, list] = {k: [] for k in ("group", "whz", "flag", "sex", "age", "weight",
                                              "lenhei")}
    for chunk in table.chunks():
        n = len(chunk)
        bad_rows = list(chunk.field_counts)

        def column(fld):
            pos = layout.positions.get(fld)
            if pos is None:
                return None
            col = chunk.columns[pos]
            if bad_rows:
                col = list(col)
                for i in bad_rows:
                    col[i] = ""
            return col

        nums = {}
        for fld in ("age", "weight", "lenhei"):
            col = column(fld)
            if col is None:
                nums[fld] = (np.full(n, np.nan), None)
            else:
                nums[fld] = batch.parse_numbers(col, decimal_comma)
        age = nums["age"][0]
        if age_unit == "months":
            age = age * DAYS_PER_MONTH
        kw = {}
        for fld, arr in (("age_days", age), ("weight", nums["weight"][0]),
                         ("lenhei", nums["lenhei"][0])):
            bad = nums["age" if fld == "age_days" else fld][1]
            if bad is not None:  # not a number: the engine marks the row invalid
                arr = arr.astype(object)
                arr[bad] = "?"
            kw[fld] = arr
        for fld in ("sex", "measure", "oedema"):
            col = column(fld)
            kw[fld] = None if col is None else batch.parse_codes(col, fld)
        res = compute_zscores(sex=kw["sex"], age_days=kw["age_days"], weight=kw["weight"],
                              lenhei=kw["lenhei"], measure=kw["measure"], oedema=kw["oedema"])
        whz = res["zwfl"].copy()
        if bad_rows:
            whz[bad_rows] = np.nan
        parts["whz"].append(whz)
        parts["flag"].append(res["fwfl"])
        parts["sex"].append(res["csex"])
        parts["age"].append(age)
        parts["weight"].append(nums["weight"][0])
        parts["lenhei"].append(nums["lenhei"][0])
        if group_pos is not None:
            parts["group"].append(np.array(chunk.columns[group_pos], dtype=object))
    out = {k: (np.concatenate(v) if v else np.array([], dtype=float))
           for k, v in parts.items() if k != "group"}
    if group_pos is not None:
        groups = np.concatenate(parts["group"]) if parts["group"] else np.array([], dtype=object)
        labels = np.char.strip(groups.astype(str))
        out["group"] = np.where(labels == "", "NA", labels)
    else:
        out["group"] = None
    return out


def score_visits(visits: dict, settings=None) -> dict:
    """``{label: GroupQuality}``: ``All`` first, then each group in sorted order."""
    from posyandu.core import quality

    return quality.assess_groups(visits["group"], whz=visits["whz"], flag=visits["flag"],
                                 sex=visits["sex"], age_days=visits["age"],
                                 weight=visits["weight"], lenhei=visits["lenhei"],
                                 settings=settings)


def output_rows(results: dict, details: bool = False) -> tuple[list[str], list[list]]:
    """Header and rows (Python values: int, float, str or None) for the output file."""
    from posyandu.core import quality

    header = list(quality.VALIDATION_COLUMNS)
    if details:
        header += [f"{c}_{s}" for c in quality.CHECKS for s in DETAIL_SUFFIXES]
        header += ["points_judged", "too_small"]
    rows = []
    for label, gq in results.items():
        v = gq.validation_row(label)
        row = [v[c] for c in quality.VALIDATION_COLUMNS]
        if details:
            for c in quality.CHECKS:
                row += [gq.checks[c].n, gq.checks[c].enough_data]
            row += [gq.points_judged, " ".join(gq.too_small)]
        rows.append(row)
    return header, rows


def format_cell(v) -> str:
    """As R's write.csv: 15 significant digits, ``Inf``; missing = empty cell."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return "%.15g" % v
    return str(v)


def write_csv(fh, header: list[str], rows: list[list]) -> None:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([format_cell(v) for v in row])


def write_xlsx(path: str, header: list[str], rows: list[list]) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(path, {"nan_inf_to_errors": False})
    try:
        ws = wb.add_worksheet("quality")
        bold = wb.add_format({"bold": True})
        ws.write_row(0, 0, header, bold)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    continue
                if isinstance(v, float) and math.isinf(v):
                    ws.write_string(r, c, "Inf" if v > 0 else "-Inf")
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, str(v))
        ws.freeze_panes(1, 1)
        ws.set_column(0, 0, 18)
    finally:
        wb.close()


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

    try:
        in_delim = tabular.parse_delimiter(args.delimiter)
    except ValueError as exc:
        _err(str(exc))
        return 2
    if args.output != "-" and args.input != "-" and os.path.exists(args.output) \
            and os.path.samefile(args.output, args.input):
        _err("OUTPUT must not be the INPUT file")
        return 2
    age_column = args.age_column or ("age_months" if args.age_unit == "months" else "age_days")
    try:
        table = tabular.open_table(args.input, chunk_size=100_000, delimiter=in_delim,
                                   encoding=args.encoding)
    except tabular.InputError as exc:
        _err(str(exc))
        return 2
    with table:
        try:
            layout = batch.make_layout(table.header, age_column=age_column)
        except tabular.InputError as exc:
            _err(f"{args.input}: {exc}")
            return 2
        group_pos = None
        if args.group_by is not None:
            group_pos = _find_column(table.header, args.group_by)
            if group_pos is None:
                _err(f"{args.input}: no column {args.group_by!r} to group by (columns: "
                     + ", ".join(map(repr, table.header[:12])) + ")")
                return 2
        try:
            visits = read_visits(table, layout, group_pos, age_unit=args.age_unit,
                                 decimal_comma=args.decimal == ",")
        except tabular.InputError as exc:
            _err(str(exc))
            return 2
    results = score_visits(visits)
    header, rows = output_rows(results, details=args.details)
    try:
        if args.output == "-":
            write_csv(sys.stdout, header, rows)
        elif tabular.is_xlsx(args.output):
            write_xlsx(args.output, header, rows)
        else:
            buf = io.StringIO()
            write_csv(buf, header, rows)
            with open(args.output, "w", encoding="utf-8", newline="") as fh:
                fh.write(buf.getvalue())
    except OSError as exc:
        _err(f"{args.output}: cannot write ({exc.strerror or exc})")
        return 1
    if not args.quiet:
        total = results["All"]
        _err(f"{total.n:,} rows, {total.whz_n:,} with sex, age and WHZ; "
             f"{len(results) - 1} group(s) -> {'stdout' if args.output == '-' else args.output}")
        notes = _small_group_notes(results)
        if notes:
            _err("too few rows to judge (figures shown, but do not act on them):")
            for line in notes:
                print(line, file=sys.stderr)
    return 0
