"""``posyandu-anthro``: WHO anthro z-scores + PMK 2/2020 categories for a CSV/.xlsx file.

Usage::

    posyandu-anthro zscores INPUT.csv [-o OUTPUT.csv] [options]
    posyandu-anthro zscores visits.xlsx -o - --labels id | less
    posyandu-anthro quality INPUT.csv|xlsx --group-by COLUMN -o OUTPUT.csv|xlsx

INPUT has a header row with (case-insensitive) ``sex``, ``age_days`` (required) and any of
``weight, lenhei, measure, headc, armc, triskin, subskin, oedema`` (the columns of
``anthro::anthro_zscores``, same codes; empty = missing); other columns are copied through.
OUTPUT (``-`` or no ``-o``: stdout) adds anthro's columns, the Indonesian categories and an
``error`` column; see :mod:`posyandu.tools.anthro_batch` for the exact format.

The file is streamed in chunks (``--chunk-size``, default 100,000 rows) through the vectorised
engine, so memory stays bounded whatever the file length. A progress bar is shown on stderr
when stderr is a terminal (``--progress`` / ``--no-progress`` to force).

Exit status: 0 when the file was processed, even if some rows could not be computed (they are
listed on stderr and explained in the ``error`` column); 2 when the input cannot be used
(missing/unreadable file, no header, missing ``sex``/age column, a doubled input column) or
the options are wrong; 1 when the output cannot be written.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict

import numpy as np

PROG = "posyandu-anthro"
DEFAULT_CHUNK = 100_000


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="WHO child growth z-scores (exactly as WHO anthro 1.1.0) and Indonesian "
                    "PMK 2/2020 categories for a file of visits.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    z = sub.add_parser(
        "zscores", help="compute z-scores and categories for a CSV or .xlsx file",
        description="Read INPUT (CSV, .xlsx, or - for CSV on stdin) with anthro's input columns "
                    "(sex, age_days, weight, lenhei, measure, headc, armc, triskin, subskin, "
                    "oedema) and write them with anthro's output columns, the PMK 2/2020 "
                    "categories (bbu, tbu, bbtb, imtu, lku, lila + *_reason) and an error "
                    "column. Exit 0 when processed (bad rows are reported), 2 on unusable "
                    "input.")
    z.add_argument("input", metavar="INPUT", help="CSV file, .xlsx workbook (first sheet), or -")
    z.add_argument("-o", "--output", default="-", metavar="OUTPUT",
                   help="output CSV file; - (default) writes to stdout")
    _add_input_options(z)
    z.add_argument("--labels", choices=("code", "id", "en"), default="code",
                   help="category cells as codes (default), Indonesian or English labels")
    z.set_defaults(func=_cmd_zscores)
    pv = sub.add_parser(
        "prevalence", help="prevalence estimates by group, exactly as anthro_prevalence",
        description="Read INPUT (CSV, .xlsx, or - for CSV on stdin) with anthro's input "
                    "columns (sex, age_days, weight, lenhei, measure, oedema) and write "
                    "anthro::anthro_prevalence's table (simple path: no cluster, strata or "
                    "weights): one row per group (All, Age group, Sex, Age + sex and the "
                    "optional groupings) with anthro's column names. Malformed rows are "
                    "reported by row number and left out. Exit 0 when processed, 2 on "
                    "unusable input.")
    pv.add_argument("input", metavar="INPUT", help="CSV file, .xlsx workbook (first sheet), or -")
    pv.add_argument("-o", "--output", default="-", metavar="OUTPUT",
                    help="output file: .xlsx for a workbook, anything else CSV; - (default) "
                         "writes CSV to stdout")
    for key, what in (("typeres", "type of residence (anthro: Area)"),
                      ("gregion", "geographical region"),
                      ("wealthq", "wealth quintile: 1-5 or Q1-Q5"),
                      ("mothered", "mother's education"),
                      ("othergr", "any other grouping, e.g. the posyandu")):
        pv.add_argument(f"--{key}", metavar="COLUMN", default=None,
                        help=f"input column with the {what} (anthro's {key} argument)")
    _add_input_options(pv)
    pv.set_defaults(func=_cmd_prevalence)
    from posyandu.tools import quality_batch
    quality_batch.register(sub, _add_input_options)
    return p


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-d", "--delimiter", default="auto",
                   help="input CSV delimiter: one character, 'tab', or 'auto' (default: "
                        "detected from the header among , ; tab |)")
    p.add_argument("--output-delimiter", default=None,
                   help="output delimiter (default: the input's; ',' for .xlsx input)")
    p.add_argument("--decimal", choices=(".", ","), default=".",
                   help="decimal separator of the input numbers (default '.')")
    p.add_argument("--encoding", default="utf-8-sig", help="input text encoding (default UTF-8)")
    p.add_argument("--age-unit", choices=("days", "months"), default="days",
                   help="unit of the age column; months as anthro's is_age_in_month: "
                        "days = round_up(months * 30.4375) (default days)")
    p.add_argument("--age-column", default=None,
                   help="name of the age column (default age_days, or age_months with "
                        "--age-unit months)")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, metavar="N",
                   help=f"rows per chunk (default {DEFAULT_CHUNK:,})")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar on stderr (default: only when stderr is a "
                        "terminal)")
    p.add_argument("--max-errors-listed", type=int, default=20, metavar="N",
                   help="row numbers listed per error kind in the summary (default 20)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no summary line when every row was used")


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit status (``sys.exit(main())``)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (status 2)
        return int(exc.code or 0)
    from posyandu.tools.batch_cli import UsageError
    try:
        return args.func(args)
    except UsageError as exc:
        _err(str(exc))
        return exc.status


from posyandu.tools.batch_cli import err as _err  # noqa: E402  (the shared stderr voice)


def _cmd_zscores(args: argparse.Namespace) -> int:
    from posyandu.core.growth.version import standard_version
    from posyandu.tools import anthro_batch as batch
    from posyandu.tools.batch_cli import open_input

    with open_input(args) as (table, layout, _, delim):
        if layout.dropped:
            _err("input column(s) " + ", ".join(map(repr, layout.dropped))
                 + " replaced by the computed column(s) of the same name")
        opts = batch.Options(age_unit=args.age_unit, labels=args.labels,
                             decimal_comma=args.decimal == ",", delimiter=delim)
        return _run(args, table, layout, opts, standard_version(opts.rules))


def _run(args, table, layout, opts, version: str) -> int:
    from posyandu.tools import anthro_batch as batch
    from posyandu.tools import tabular
    from posyandu.tools.batch_cli import progress_bar, report_refused

    started = time.perf_counter()
    to_stdout = args.output == "-"
    tmp_path = None
    if to_stdout:
        sys.stdout.flush()
        out = getattr(sys.stdout, "buffer", None) or _TextSink(sys.stdout)
    else:
        tmp_path = f"{args.output}.part-{os.getpid()}"
        try:
            out = open(tmp_path, "wb")
        except OSError as exc:
            _err(f"{args.output}: cannot write ({exc.strerror or exc})")
            return 1
    total_rows = 0
    errors_by_code: dict[str, list[int]] = defaultdict(list)
    error_counts: Counter = Counter()
    bar = progress_bar(table, args)
    status = 0
    try:
        writer = tabular.CsvWriter(out, layout.out_header, opts.delimiter)
        for chunk in table.chunks():
            res = batch.process_chunk(chunk, layout, opts)
            writer.write(res.columns)
            total_rows += res.rows
            for row, code in res.errors:
                error_counts[code] += 1
                if len(errors_by_code[code]) < args.max_errors_listed:
                    errors_by_code[code].append(row)
            bar.set_postfix_str(f"{total_rows:,} rows", refresh=False)
            bar.update(table.position() - bar.n)
        out.flush()
    except tabular.InputError as exc:
        status = 2
        _err(f"{exc}; stopped after {total_rows:,} rows")
    except BrokenPipeError:  # e.g. piped into `head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        status = 1
    except OSError as exc:
        status = 1
        _err(f"{args.output}: write failed ({exc.strerror or exc})")
    finally:
        bar.close()
        if tmp_path is not None:
            out.close()
            if status == 0:
                os.replace(tmp_path, args.output)
            else:
                try:
                    os.remove(tmp_path)
                except OSError:
                    pass
    if status:
        return status

    elapsed = time.perf_counter() - started
    n_bad = sum(error_counts.values())
    dest = "stdout" if to_stdout else args.output
    if n_bad or not args.quiet:
        _err(f"{total_rows:,} rows in {elapsed:.1f} s -> {dest} (standard {version})")
    if n_bad:
        report_refused(f"{n_bad:,} row(s) not computed (z-scores left empty; the 'error' column says why):",
                       errors_by_code, error_counts, args.max_errors_listed)
    return 0


class _TextSink:
    """A text stream (no ``.buffer``) used as a binary one: UTF-8 bytes decoded back."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, data) -> None:
        self.stream.write(bytes(data).decode("utf-8"))

    def flush(self) -> None:
        self.stream.flush()


def _cmd_prevalence(args: argparse.Namespace) -> int:
    from posyandu.core.prevalence import OPTIONAL_STRATA
    from posyandu.tools import anthro_batch as batch
    from posyandu.tools import tabular
    from posyandu.tools.batch_cli import open_input

    def group_columns(header):
        return {key: tabular.find_column(header, getattr(args, key))
                for key, _ in OPTIONAL_STRATA if getattr(args, key) is not None}

    with open_input(args, group_columns) as (table, layout, group_pos, delim):
        opts = batch.Options(age_unit=args.age_unit, decimal_comma=args.decimal == ",")
        return _run_prevalence(args, table, layout, group_pos, opts, delim)


def _run_prevalence(args, table, layout, group_pos, opts, delim: str) -> int:
    from posyandu.core.prevalence import COLUMNS, PrevalenceAccumulator
    from posyandu.tools import anthro_batch as batch
    from posyandu.tools import tabular
    from posyandu.tools.batch_cli import progress_bar, report_refused

    started = time.perf_counter()
    acc = PrevalenceAccumulator(strata=group_pos)
    total_rows = 0
    errors_by_code: dict[str, list[int]] = defaultdict(list)
    error_counts: Counter = Counter()
    bar = progress_bar(table, args)
    try:
        for chunk in table.chunks():
            parsed = batch.parse_chunk(chunk, layout, opts)
            res = batch.compute_chunk(parsed)
            oedema = parsed.kw["oedema"]
            oed = (np.zeros(len(chunk), dtype=bool) if oedema is None else oedema == 1.0)
            groups = {key: chunk.text(pos) for key, pos in group_pos.items()}
            acc.add_zscores(res, oedema=oed, age_months=parsed.months, groups=groups)
            for i, code in enumerate(res["error"].tolist()):
                if code is not None:
                    error_counts[code] += 1
                    if len(errors_by_code[code]) < args.max_errors_listed:
                        errors_by_code[code].append(chunk.row_numbers[i])
            total_rows += len(chunk)
            bar.set_postfix_str(f"{total_rows:,} rows", refresh=False)
            bar.update(table.position() - bar.n)
    except tabular.InputError as exc:
        _err(f"{exc}; stopped after {total_rows:,} rows")
        return 2
    finally:
        bar.close()
    try:
        rows = acc.rows()
    except ValueError as exc:
        _err(f"{args.input}: {exc}")
        return 2
    try:
        tabular.write_table(args.output, COLUMNS, rows, delimiter=delim)
    except OSError as exc:
        _err(f"{args.output}: cannot write ({exc.strerror or exc})")
        return 1

    elapsed = time.perf_counter() - started
    n_bad = sum(error_counts.values())
    dest = "stdout" if args.output == "-" else args.output
    if n_bad or acc.excluded_age or not args.quiet:
        _err(f"{total_rows:,} rows in {elapsed:.1f} s: {acc.N:,} used (anthro's N), "
             f"{len(rows)} groups -> {dest}")
    if acc.excluded_age:
        _err(f"{acc.excluded_age:,} row(s) older than 1826 days left out, as anthro does")
    if n_bad:
        report_refused(f"{n_bad:,} row(s) left out (anthro would refuse them):",
                       errors_by_code, error_counts, args.max_errors_listed)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
