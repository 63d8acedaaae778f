"""What the three ``posyandu-anthro`` commands share: checking the options, opening the input,
the progress bar and the summary of refused rows on stderr.

Each command (``zscores``, ``prevalence``, ``quality``) differs only in what it does with the
chunks; the way a file is opened and a mistake reported is the same, so it is written once here.
Usage errors leave as :class:`UsageError` with the exit status the command returns (2 unusable
input or options, 1 output not writable).
"""
from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

PROG = "posyandu-anthro"


class UsageError(Exception):
    """A message for stderr and the exit status that goes with it."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def err(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr)


def show_progress(flag: bool | None) -> bool:
    """``--progress``/``--no-progress`` if given, else only when stderr is a terminal."""
    if flag is not None:
        return flag
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _check_options(args: argparse.Namespace):
    from posyandu.tools import tabular

    if args.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1")
    try:
        in_delim = tabular.parse_delimiter(args.delimiter)
        out_delim = tabular.parse_delimiter(args.output_delimiter)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.output != "-" and args.input != "-" and os.path.exists(args.output) \
            and os.path.samefile(args.output, args.input):
        raise UsageError("OUTPUT must not be the INPUT file")
    return in_delim, out_delim


@contextmanager
def open_input(args: argparse.Namespace, extra_columns: Callable | None = None) -> Iterator[tuple]:
    """Check the options, open INPUT and find its columns.

    Yields ``(table, layout, extras, out_delimiter)``: ``extras`` is what
    ``extra_columns(header)`` returned (positions of the grouping columns a command takes);
    ``out_delimiter`` is ``--output-delimiter``, else the input's, else a comma. Raises
    :class:`UsageError` for a bad option, a missing file or column."""
    from posyandu.tools import anthro_batch as batch
    from posyandu.tools import tabular

    in_delim, out_delim = _check_options(args)
    age_column = args.age_column or ("age_months" if args.age_unit == "months" else "age_days")
    try:
        table = tabular.open_table(args.input, chunk_size=args.chunk_size, delimiter=in_delim,
                                   encoding=args.encoding)
    except tabular.InputError as exc:
        raise UsageError(str(exc)) from None
    with table:
        try:
            layout = batch.make_layout(table.header, age_column=age_column)
            extras = extra_columns(table.header) if extra_columns else None
        except tabular.InputError as exc:
            hint = (f" (read with delimiter {table.delimiter!r}; see --delimiter)"
                    if table.kind == "csv" else "")
            raise UsageError(f"{args.input}: {exc}{hint}") from None
        for note in table.notes:
            err(note)
        yield table, layout, extras, out_delim or table.delimiter or ","


def progress_bar(table, args: argparse.Namespace):
    """A tqdm bar over the input's bytes (CSV) or rows (xlsx), on stderr, only on a terminal."""
    from tqdm import tqdm

    in_bytes = table.progress_unit == "B"
    return tqdm(total=table.progress_total, unit=table.progress_unit, unit_scale=in_bytes,
                unit_divisor=1024 if in_bytes else 1000, desc=PROG, file=sys.stderr,
                disable=not show_progress(args.progress), dynamic_ncols=True, leave=False)


def report_refused(heading: str, rows_by_code: dict[str, list[int]], counts: dict[str, int],
                   limit: int) -> None:
    """``heading`` then one line per error code, most frequent first, with up to ``limit``
    row numbers each."""
    err(heading)
    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        listed = rows_by_code[code][:limit]
        more = ", ..." if count > len(listed) else ""
        err(f"  {code}: {count:,} row(s): rows {', '.join(map(str, listed))}{more}")
