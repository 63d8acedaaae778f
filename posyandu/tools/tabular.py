"""Streaming table input/output for the command-line tools: CSV and .xlsx in chunks.

Reading (:func:`open_table`) gives the header and then lists of rows, a chunk at a time, so a
file of any length runs in bounded memory. Every cell is a ``str`` ("" = empty):

* CSV (or ``-`` = stdin): UTF-8 (a BOM is skipped), delimiter given or detected from the
  header line (``,`` ``;`` tab ``|``). Unquoted data is split with C-level string methods a
  chunk at a time; from the first ``"`` on, the :mod:`csv` module reads the rest (same result,
  exact RFC 4180 quoting).
* ``.xlsx``: openpyxl in read-only streaming mode, first sheet, first row = header. Numbers
  become their shortest round-trip text (``12.0`` -> ``"12"``, ``0.1`` -> ``"0.1"``), so
  nothing is lost by going through text; dates become ISO 8601.

Row numbers count the header as row 1, so the first data row is row 2: the line number of a
simple CSV file, the row number shown by a spreadsheet. Blank rows are skipped (they keep their
number). Chunks are columnar (:class:`Chunk`); a row whose number of fields differs from the
header is padded or cut to the header width and its field count recorded for the caller.

Writing (:func:`format_rows`) joins column lists into CSV text, quoting only the cells that
need it (RFC 4180 style, as :mod:`csv` would), which is several times faster than
``csv.writer`` for wide outputs.
"""
from __future__ import annotations

import csv
import io
import itertools
import os
import sys
from dataclasses import dataclass, field
from typing import Iterator, Sequence

#: Delimiters tried when none is given, in order of preference on a tie.
DELIMITER_CANDIDATES = (",", ";", "\t", "|")


class InputError(Exception):
    """The input cannot be used at all (missing file, no header, unreadable format)."""


@dataclass
class Chunk:
    """Up to ``chunk_size`` data rows, by column.

    ``columns[j][i]`` is field ``j`` of row ``i``; every column has one cell per row.
    ``row_numbers[i]`` is the file row of row ``i``. ``field_counts`` maps the position of each
    row whose number of fields differs from the header to that number (such a row is padded
    with "" or cut to the header width here).
    """

    columns: list[Sequence[str]]
    row_numbers: list[int]
    field_counts: dict[int, int]

    def __len__(self) -> int:
        return len(self.row_numbers)


def chunk_from_rows(rows: list[Sequence[str]], numbers: list[int], width: int) -> Chunk:
    """Row lists (blank rows already removed) -> a columnar :class:`Chunk`."""
    lens = list(map(len, rows))
    bad = {}
    if lens.count(width) != len(rows):
        rows = list(rows)
        for i, m in enumerate(lens):
            if m != width:
                bad[i] = m
                r = list(rows[i])[:width]
                rows[i] = r + [""] * (width - len(r))
    columns = [list(c) for c in zip(*rows)] if rows else [[] for _ in range(width)]
    return Chunk(columns, numbers, bad)


@dataclass
class Table:
    """An opened input table: header, a chunk iterator and progress information."""

    header: list[str]
    kind: str  # "csv" or "xlsx"
    delimiter: str | None
    progress_total: int | None  # bytes (csv) or rows (xlsx); None if unknown
    progress_unit: str  # "B" or "rows"
    notes: list[str] = field(default_factory=list)
    _chunks: Iterator[Chunk] | None = None
    _position: object = None
    _close: object = None

    @property
    def width(self) -> int:
        return len(self.header)

    def chunks(self) -> Iterator[Chunk]:
        assert self._chunks is not None
        return self._chunks

    def position(self) -> int:
        """Progress so far, in :attr:`progress_unit`."""
        return self._position() if self._position else 0

    def close(self) -> None:
        if self._close:
            self._close()
            self._close = None

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _CountingReader(io.RawIOBase):
    """Wraps a binary file and counts the bytes read (for a byte-based progress bar)."""

    def __init__(self, raw):
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._raw.readinto(b)
        if n:
            self.count += n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def parse_delimiter(text: str | None) -> str | None:
    """``--delimiter`` value: ``tab``/``\\t`` -> tab; ``None``/``auto`` -> detect."""
    if text is None or text == "auto":
        return None
    if text in ("tab", "\\t", "TAB"):
        return "\t"
    if len(text) != 1:
        raise ValueError(f"delimiter must be one character, 'tab' or 'auto', got {text!r}")
    if text in '"\r\n' or text.isalnum() or text in ".-+_ ":
        raise ValueError(f"delimiter {text!r} cannot be used")
    return text


def detect_delimiter(header_line: str) -> str:
    counts = [(header_line.count(d), -i, d) for i, d in enumerate(DELIMITER_CANDIDATES)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","


def is_xlsx(path: str) -> bool:
    if path == "-":
        return False
    if path.lower().endswith((".xlsx", ".xlsm")):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"  # a zip container, i.e. an OOXML workbook
    except OSError:
        return False


def open_table(path: str, *, chunk_size: int, delimiter: str | None = None,
               encoding: str = "utf-8-sig") -> Table:
    """Open ``path`` (CSV, ``-`` for stdin, or .xlsx) and read its header.

    Raises :class:`InputError` when the file is missing or unreadable or has no header.
    """
    if path != "-" and not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if path != "-" and os.path.isdir(path):
        raise InputError(f"{path}: is a directory")
    if is_xlsx(path):
        return _open_xlsx(path, chunk_size)
    return _open_csv(path, chunk_size, delimiter, encoding)


# --------------------------------------------------------------------------- CSV
def _open_csv(path: str, chunk_size: int, delimiter: str | None, encoding: str) -> Table:
    if path == "-":
        raw = sys.stdin.buffer
        total = None
    else:
        try:
            raw = open(path, "rb", buffering=0)
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror or exc}") from None
        total = os.fstat(raw.fileno()).st_size
    counter = _CountingReader(raw)
    text = io.TextIOWrapper(io.BufferedReader(counter, buffer_size=1 << 20),
                            encoding=encoding, newline="")
    try:
        first = text.readline()
    except UnicodeDecodeError as exc:
        text.close()
        raise InputError(f"{path}: not {encoding} text ({exc.reason})") from None
    if not first.strip():
        text.close()
        raise InputError(f"{path}: empty file (no header row)")
    delim = delimiter or detect_delimiter(first)
    header = [h.strip() for h in next(csv.reader([first], delimiter=delim))]
    width = len(header)
    if '"' in first:  # quoted header: let the csv module read everything
        chunks = _csv_module_chunks(text, "", delim, width, chunk_size, 2, path, encoding)
    else:
        chunks = _fast_csv_chunks(text, delim, width, chunk_size, path, encoding)

    def close() -> None:
        if path == "-":
            text.detach()
        else:
            text.close()

    return Table(header=header, kind="csv", delimiter=delim,
                 progress_total=total, progress_unit="B", _chunks=chunks,
                 _position=lambda: counter.count, _close=close)


_BLOCK = 1 << 22  # characters read at a time by the fast CSV path


def _fast_csv_chunks(text, delim: str, width: int, chunk_size: int, path: str,
                     encoding: str) -> Iterator[Chunk]:
    """Columnar CSV reading without per-row Python code, while the data has no quote.

    Lines are split on ``\n`` (a ``\r\n`` ending is accepted), every line of the chunk is
    joined and split on the delimiter once, and the columns are strided slices of that list.
    The first block holding a ``"`` (or a lone ``\r``) hands the rest of the file, from the
    first unread line on, to the :mod:`csv` module, which handles quoting exactly.
    """
    pending: list[str] = []  # complete lines not yet returned
    tail = ""  # an incomplete last line
    next_row = 2
    eof = False
    sep_count = width - 1
    while True:
        while len(pending) < chunk_size and not eof:
            try:
                block = text.read(_BLOCK)
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: not {encoding} text near row "
                                 f"{next_row + len(pending)} ({exc.reason})") from None
            if not block:
                eof = True
                if tail:
                    pending.append(tail)
                    tail = ""
                break
            block = tail + block
            if "\r" in block:
                block = block.replace("\r\n", "\n")
                if block.endswith("\r"):  # maybe the first half of \r\n
                    nxt = text.read(1)
                    block = block[:-1] + "\n" + ("" if nxt == "\n" else nxt)
            if '"' in block or "\r" in block:
                rest = "\n".join(pending) + ("\n" if pending else "") + block
                yield from _csv_module_chunks(text, rest, delim, width, chunk_size, next_row,
                                              path, encoding)
                return
            lines = block.split("\n")
            tail = lines.pop()
            pending.extend(lines)
        if not pending:
            return
        lines, pending = pending[:chunk_size], pending[chunk_size:]
        numbers = list(range(next_row, next_row + len(lines)))
        next_row += len(lines)
        counts = list(map(str.count, lines, itertools.repeat(delim, len(lines))))
        bad: dict[int, int] = {}
        if counts.count(sep_count) != len(lines):
            keep = []
            for i, (line, c) in enumerate(zip(lines, counts)):
                if line == "":
                    continue  # a blank line: skipped, keeps its number
                keep.append(i)
                if c != sep_count:
                    fields = line.split(delim)
                    fields = fields[:width] + [""] * (width - len(fields))
                    lines[i] = delim.join(fields)
                    bad[i] = c + 1
            if len(keep) != len(lines):
                pos = {old: new for new, old in enumerate(keep)}
                bad = {pos[i]: m for i, m in bad.items()}
                lines = [lines[i] for i in keep]
                numbers = [numbers[i] for i in keep]
        if not lines:
            continue
        flat = delim.join(lines).split(delim)
        columns = [flat[j::width] for j in range(width)]
        yield Chunk(columns, numbers, bad)


def _csv_module_chunks(text, before: str, delim: str, width: int, chunk_size: int,
                       next_row: int, path: str, encoding: str) -> Iterator[Chunk]:
    """The :mod:`csv` module on ``before`` (text already read) followed by the rest of ``text``."""
    source = itertools.chain(io.StringIO(before, newline=""), text) if before else text
    reader = csv.reader(source, delimiter=delim)
    try:
        while True:
            rows = list(itertools.islice(reader, chunk_size))
            if not rows:
                return
            numbers = list(range(next_row, next_row + len(rows)))
            next_row += len(rows)
            if not all(rows):  # blank lines come back as []
                keep = [i for i, r in enumerate(rows) if r]
                rows = [rows[i] for i in keep]
                numbers = [numbers[i] for i in keep]
                if not rows:
                    continue
            yield chunk_from_rows(rows, numbers, width)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not {encoding} text near row {next_row} "
                         f"({exc.reason})") from None
    except csv.Error as exc:
        raise InputError(f"{path}: CSV error near row {next_row}: {exc}") from None


# --------------------------------------------------------------------------- XLSX
def cell_text(v) -> str:
    """One .xlsx cell value as text: shortest round-trip numbers, ISO dates, "" for empty."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _open_xlsx(path: str, chunk_size: int) -> Table:
    import zipfile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    if not wb.worksheets:
        wb.close()
        raise InputError(f"{path}: the workbook has no sheet")
    ws = wb.worksheets[0]
    notes = []
    if len(wb.worksheets) > 1:
        notes.append(f"{path}: {len(wb.worksheets)} sheets, reading only the first "
                     f"({ws.title!r})")
    rows_iter = ws.iter_rows(values_only=True)
    header_row = next(rows_iter, None)
    if header_row is None or all(v is None or str(v).strip() == "" for v in header_row):
        wb.close()
        raise InputError(f"{path}: the first sheet has no header row")
    header = [cell_text(v).strip() for v in header_row]
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    max_row = ws.max_row if isinstance(ws.max_row, int) and ws.max_row > 1 else None
    state = {"done": 0}

    def chunks() -> Iterator[Chunk]:
        next_row = 2
        for block in iter(lambda: list(itertools.islice(rows_iter, chunk_size)), []):
            rows, numbers = [], []
            for i, values in enumerate(block):
                cells = [cell_text(v) for v in values]
                while len(cells) > width and cells[-1] == "":
                    cells.pop()
                if any(cells):
                    if len(cells) < width:
                        cells.extend([""] * (width - len(cells)))
                    rows.append(cells)
                    numbers.append(next_row + i)
            next_row += len(block)
            state["done"] += len(block)
            if rows:
                yield chunk_from_rows(rows, numbers, width)

    return Table(header=header, kind="xlsx", delimiter=None,
                 progress_total=(max_row - 1) if max_row else None, progress_unit="rows",
                 notes=notes, _chunks=chunks(), _position=lambda: state["done"],
                 _close=wb.close)


# --------------------------------------------------------------------------- writing
def quote_cell(value: str, delimiter: str) -> str:
    """``value`` as a CSV cell (quoted only when it contains a delimiter, quote or newline)."""
    if (delimiter in value or '"' in value or "\n" in value or "\r" in value):
        return '"' + value.replace('"', '""') + '"'
    return value


def quote_column(values: Sequence[str], delimiter: str) -> Sequence[str]:
    """A column of cells, quoted where needed; returned unchanged (fast) when none need it."""
    joined = "".join(values)
    if (delimiter in joined or '"' in joined or "\n" in joined or "\r" in joined):
        return [quote_cell(v, delimiter) for v in values]
    return values


def format_rows(columns: Sequence[Sequence[str]], delimiter: str) -> str:
    """Rows of equal-length, already quoted column lists as CSV text (``\\n`` line ends)."""
    if not columns or not len(columns[0]):
        return ""
    return "\n".join(map(delimiter.join, zip(*columns))) + "\n"


# --------------------------------------------------------------------------- small tables
def find_column(header: Sequence[str], name: str) -> int:
    """Position of column ``name`` (case-insensitive); :class:`InputError` if absent/doubled."""
    hits = [i for i, h in enumerate(header) if h.strip().lower() == name.strip().lower()]
    if len(hits) > 1:
        raise InputError(f"column {name!r} appears {len(hits)} times in the header")
    if not hits:
        shown = ", ".join(repr(h) for h in header[:12]) + (" ..." if len(header) > 12 else "")
        raise InputError(f"column {name!r} not in the header (found {len(header)} column(s): "
                         f"{shown})")
    return hits[0]


def number_text(v) -> str:
    """A number as R's ``write.csv`` writes it: 15 significant digits, ``Inf``, NA empty."""
    if v is None:
        return ""
    if isinstance(v, int):
        return str(v)
    if v != v:
        return ""
    if v in (float("inf"), float("-inf")):
        return "Inf" if v > 0 else "-Inf"
    return "%.15g" % v


def write_table(path: str, header: Sequence[str], rows: Sequence[dict], *,
                delimiter: str = ",") -> None:
    """A small result table (dict rows) as CSV (``-``: stdout) or, for ``*.xlsx``, a workbook
    (numbers as numbers, missing as empty cells). Written to a temporary file and renamed."""
    if path != "-" and path.lower().endswith(".xlsx"):
        _write_xlsx(path, header, rows)
        return
    lines = [delimiter.join(quote_cell(h, delimiter) for h in header)]
    for r in rows:
        lines.append(delimiter.join(quote_cell(v, delimiter) if isinstance(v, str)
                                    else number_text(v) for v in (r[h] for h in header)))
    text = "\n".join(lines) + "\n"
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    tmp = f"{path}.part-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _write_xlsx(path: str, header: Sequence[str], rows: Sequence[dict]) -> None:
    import xlsxwriter

    tmp = f"{path}.part-{os.getpid()}.xlsx"
    try:
        wb = xlsxwriter.Workbook(tmp, {"constant_memory": True, "nan_inf_to_errors": False})
        ws = wb.add_worksheet("prevalence")
        bold = wb.add_format({"bold": True})
        ws.write_row(0, 0, list(header), bold)
        ws.freeze_panes(1, 1)
        for i, r in enumerate(rows, start=1):
            for j, h in enumerate(header):
                v = r[h]
                if isinstance(v, str):
                    ws.write_string(i, j, v)
                elif v is None or (isinstance(v, float) and (v != v or v in (float("inf"),
                                                                            float("-inf")))):
                    continue  # NA: an empty cell
                else:
                    ws.write_number(i, j, v)
        ws.set_column(0, 0, 32)
        wb.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
