"""Streaming, columnar table input/output for the command-line tools: CSV and .xlsx in chunks.

Reading (:func:`open_table`) gives the header and then :class:`Chunk` objects: up to
``chunk_size`` rows as one pyarrow string array per column ("" = empty), with each row's file
row number, so a file of any length runs in bounded memory and the per-cell work stays in C++:

* CSV (or ``-`` = stdin): the header line is read here (delimiter given or detected among
  ``,`` ``;`` tab ``|``; a UTF-8 BOM is skipped), the rest by pyarrow's streaming CSV reader
  (RFC 4180 quoting, quoted newlines, ``\n``/``\r\n``/``\r`` line ends; other encodings
  through Python's codecs).
* ``.xlsx``: openpyxl in read-only streaming mode, first sheet, first row = header. Numbers
  become their shortest round-trip text (``12.0`` -> ``"12"``, ``0.1`` -> ``"0.1"``), so
  nothing is lost by going through text; dates become ISO 8601.

Row numbers count the header as row 1, so the first data row is row 2: the line number of a
simple CSV file, the row number shown by a spreadsheet (a quoted field spanning lines counts as
one row). Blank rows, and rows whose every field is empty, are skipped (they keep their
number). A row whose number of fields differs from the header is padded or cut to the header
width and its field count recorded for the caller (:attr:`Chunk.field_counts`).

Columns to numbers: :func:`parse_numbers` (float64 plus a mask of cells that are not numbers)
and :func:`distinct_codes` (a column as codes of its few distinct values).

Writing (:class:`CsvWriter`) takes one pyarrow string array per output column (null = empty)
and writes the chunk's CSV text, quoting only the cells that need it (RFC 4180, as :mod:`csv`
would), joined row by row in pyarrow's compute kernels.
"""
from __future__ import annotations

import csv
import io
import itertools
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

#: Delimiters tried when none is given, in order of preference on a tie.
DELIMITER_CANDIDATES = (",", ";", "\t", "|")


class InputError(Exception):
    """The input cannot be used at all (missing file, no header, unreadable format)."""


@dataclass
class Chunk:
    """Up to ``chunk_size`` data rows, by column.

    ``columns[j]`` is field ``j`` as a pyarrow string array (one cell per row, "" = empty);
    ``row_numbers[i]`` is the file row of row ``i``. ``field_counts`` maps the position of each
    row whose number of fields differs from the header to that number (such a row is padded
    with "" or cut to the header width here).
    """

    columns: list[pa.Array]
    row_numbers: np.ndarray
    field_counts: dict[int, int]

    def __len__(self) -> int:
        return len(self.row_numbers)

    def text(self, j: int) -> list[str]:
        """Column ``j`` as Python strings (for the few places that need them)."""
        return self.columns[j].to_pylist()


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
    return Chunk([pa.array(c, type=pa.string()) for c in columns],
                 np.asarray(numbers, dtype=np.int64), bad)


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
_BLOCK = 1 << 22  # bytes parsed at a time by pyarrow (rows may straddle blocks)
_UTF8 = ("utf-8", "utf8", "utf-8-sig", "utf_8", "utf_8_sig")


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
    stream = io.BufferedReader(counter, buffer_size=1 << 20)

    def close() -> None:
        if path == "-":
            stream.detach()
        else:
            stream.close()

    head = stream.peek(1 << 16)[:1 << 16]
    cr, lf = head.find(b"\r"), head.find(b"\n")
    if cr >= 0 and (lf < 0 or cr < lf) and head[cr + 1:cr + 2] != b"\n":
        first = stream.read(cr + 1)  # a file with lone \r line ends
    else:
        first = stream.readline()
    try:
        text = first.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        close()
        reason = getattr(exc, "reason", str(exc))
        raise InputError(f"{path}: not {encoding} text ({reason})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        close()
        raise InputError(f"{path}: empty file (no header row)")
    delim = delimiter or detect_delimiter(text)
    header = [h.strip() for h in next(csv.reader([text.rstrip("\r\n")], delimiter=delim))]
    chunks = _arrow_csv_chunks(stream, delim, len(header), chunk_size, path, encoding)
    return Table(header=header, kind="csv", delimiter=delim,
                 progress_total=total, progress_unit="B", _chunks=chunks,
                 _position=lambda: counter.count, _close=close)


def _arrow_csv_chunks(stream, delim: str, width: int, chunk_size: int, path: str,
                      encoding: str) -> Iterator[Chunk]:
    """pyarrow's streaming reader, every column as text, re-cut into ``chunk_size`` rows.

    Rows with the wrong number of fields are set aside by pyarrow's invalid-row handler (which
    knows their row number) and put back in place, padded or cut, with their field count.
    """
    names = [f"c{j}" for j in range(width)]
    bad_rows: list[tuple[int, list[str], int]] = []  # (file row, fields, field count)
    waiting: list[tuple[int, list[str], int]] = []  # set aside, not yet put back

    def on_invalid(row) -> str:
        try:
            fields = next(csv.reader([row.text], delimiter=delim), []) if row.text else []
        except csv.Error:
            fields = row.text.split(delim)
        count = row.actual_columns
        fields = (fields + [""] * width)[:width]
        bad_rows.append((row.number + 1, fields, count))
        return "skip"

    read_opts = pacsv.ReadOptions(use_threads=False, block_size=_BLOCK, column_names=names,
                                  encoding="utf8" if encoding.lower() in _UTF8 else encoding)
    parse_opts = pacsv.ParseOptions(delimiter=delim, newlines_in_values=True,
                                    ignore_empty_lines=False, invalid_row_handler=on_invalid)
    conv_opts = pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                     strings_can_be_null=False,
                                     quoted_strings_can_be_null=False)
    next_row = 2  # file row of the next row pyarrow hands us (blank and bad rows skipped)
    pending: list[Chunk] = []
    pending_rows = 0
    try:
        reader = pacsv.open_csv(stream, read_options=read_opts, parse_options=parse_opts,
                                convert_options=conv_opts)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc) or "empty" in str(exc).lower():
            return
        raise _input_error(exc, path, encoding, next_row) from None
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            batch = None
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _input_error(exc, path, encoding, next_row) from None
        if batch is not None and batch.num_rows == 0 and not bad_rows:
            continue
        good = 0 if batch is None else batch.num_rows
        # number the good rows, putting back the rows set aside where their numbers fall
        # (pyarrow may report a bad row while still returning the rows before it)
        waiting.extend(sorted(bad_rows))
        bad_rows.clear()
        numbers = np.empty(good, dtype=np.int64)
        taken = []
        k = 0
        row = next_row
        while k < good:
            if waiting and waiting[0][0] <= row:
                taken.append(waiting.pop(0))
                row = taken[-1][0] + 1
                continue
            m = good - k if not waiting else min(good - k, waiting[0][0] - row)
            numbers[k:k + m] = np.arange(row, row + m)
            k += m
            row += m
        if batch is None:  # the end: what is still set aside comes last
            taken.extend(waiting)
            waiting.clear()
        else:
            while waiting and waiting[0][0] == row:
                taken.append(waiting.pop(0))
                row += 1
        next_row = row if not taken else max(row, taken[-1][0] + 1)
        if good or taken:
            piece = _with_bad_rows(batch, numbers, taken, width)
            if piece is not None and len(piece):
                pending.append(piece)
                pending_rows += len(piece)
        while pending_rows >= chunk_size or (batch is None and pending_rows):
            out, pending, pending_rows = _take_rows(pending, pending_rows, chunk_size)
            yield out
        if batch is None:
            return


def _with_bad_rows(batch, numbers: np.ndarray, taken, width: int) -> Chunk | None:
    """A pyarrow batch (plus the rows set aside, back in place) as a :class:`Chunk`, without
    blank rows (every field empty)."""
    cols = [batch.column(j) for j in range(width)] if batch is not None else \
        [pa.array([], pa.string()) for _ in range(width)]
    counts: dict[int, int] = {}
    if taken:
        extra = [pa.array([t[1][j] for t in taken], pa.string()) for j in range(width)]
        all_numbers = np.concatenate([numbers, np.array([t[0] for t in taken], np.int64)])
        order = np.argsort(all_numbers, kind="stable")
        cols = [pa.concat_arrays([c, e]).take(pa.array(order)) for c, e in zip(cols, extra)]
        numbers = all_numbers[order]
        where = {t[0]: t[2] for t in taken}
        pos = np.flatnonzero(np.isin(numbers, list(where)))
        counts = {int(i): where[int(numbers[i])] for i in pos}
    blank = None
    for c in cols:
        e = pc.equal(c, "")
        blank = e if blank is None else pc.and_(blank, e)
    if blank is not None and pc.any(blank).as_py():
        keep = np.flatnonzero(~blank.to_numpy(zero_copy_only=False))
        keep = np.setdiff1d(keep, [], assume_unique=True)
        bad_pos = set(counts)
        keep = np.array(sorted(set(keep.tolist()) | bad_pos), dtype=np.int64)
        idx = pa.array(keep)
        cols = [c.take(idx) for c in cols]
        remap = {int(old): new for new, old in enumerate(keep.tolist())}
        counts = {remap[i]: m for i, m in counts.items()}
        numbers = numbers[keep]
    return Chunk(list(cols), numbers, counts)


def _take_rows(pending: list[Chunk], pending_rows: int, n: int):
    """The first ``n`` rows of the pending chunks (zero-copy slices) and the rest."""
    cols: list[list[pa.Array]] = [[] for _ in pending[0].columns]
    numbers, counts = [], {}
    got = 0
    rest: list[Chunk] = []
    for ch in pending:
        if got >= n:
            rest.append(ch)
            continue
        m = min(len(ch), n - got)
        for j, c in enumerate(ch.columns):
            cols[j].append(c.slice(0, m))
        numbers.append(ch.row_numbers[:m])
        counts.update({got + i: v for i, v in ch.field_counts.items() if i < m})
        if m < len(ch):
            rest.append(Chunk([c.slice(m) for c in ch.columns], ch.row_numbers[m:],
                              {i - m: v for i, v in ch.field_counts.items() if i >= m}))
        got += m
    out = Chunk([pa.concat_arrays(c) if len(c) > 1 else c[0] for c in cols],
                np.concatenate(numbers), counts)
    return out, rest, pending_rows - got


def _input_error(exc, path: str, encoding: str, row: int) -> InputError:
    text = str(exc)
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "utf8" in text.lower() \
            or "decode" in text.lower():
        return InputError(f"{path}: not {encoding} text near row {row}")
    return InputError(f"{path}: CSV error near row {row}: {text.splitlines()[0]}")


# --------------------------------------------------------------------------- columns
def parse_numbers(col, decimal_comma: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Text cells -> float64 (NaN for "" / "NA" / blank) and a mask of non-numbers (or None).

    Numbers are what Python's ``float()`` reads (``--decimal ,``: a decimal comma too). A
    pyarrow column is cast in C++; only a column holding something else than numbers and
    empty cells goes cell by cell."""
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        s = pc.replace_substring(col, ",", ".") if decimal_comma else col
        missing = pc.or_(pc.equal(s, ""), pc.equal(s, "NA"))
        try:
            values = pc.cast(pc.if_else(missing, pa.scalar(None, pa.string()), s),
                             pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _parse_numbers_py(col.to_pylist(), decimal_comma)
        return values.to_numpy(zero_copy_only=False), None
    return _parse_numbers_py(col, decimal_comma)


def _parse_numbers_py(col: Sequence[str], decimal_comma: bool):
    n = len(col)
    if not decimal_comma and "" not in col:
        try:
            return np.fromiter(map(float, col), np.float64, n), None
        except ValueError:
            pass
    values: dict[str, float] = {}
    bad = set()
    for u in set(col):
        t = u.replace(",", ".") if decimal_comma else u
        try:
            values[u] = float(t)
        except ValueError:
            values[u] = float("nan")
            s = u.strip()
            if s != "" and s != "NA":
                bad.add(u)
    arr = np.fromiter(map(values.__getitem__, col), np.float64, n)
    if not bad:
        return arr, None
    return arr, np.fromiter(map(bad.__contains__, col), bool, n)


def distinct_codes(col) -> tuple[list[str], np.ndarray]:
    """A text column as (its distinct values, the index of each cell's value): a code column
    (sex, measure, ...) then needs Python work only once per distinct value."""
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        enc = pc.dictionary_encode(col)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.combine_chunks()
        return enc.dictionary.to_pylist(), enc.indices.to_numpy(zero_copy_only=False)
    lookup = {u: i for i, u in enumerate(dict.fromkeys(col))}
    return list(lookup), np.fromiter(map(lookup.__getitem__, col), np.int64, len(col))


def blank_rows(col, rows: Sequence[int]):
    """``col`` with the cells of ``rows`` set to "" (rows we cannot read)."""
    if not len(rows):
        return col
    mask = np.zeros(len(col), dtype=bool)
    mask[list(rows)] = True
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return pc.if_else(pa.array(mask), "", col)
    c = list(col)
    for i in rows:
        c[i] = ""
    return c


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


def needs_quotes(values, delimiter: str) -> bool:
    """Might a cell of this pyarrow string column need quoting? (A byte scan of its data.)"""
    data = values.buffers()[2] if isinstance(values, pa.Array) else None
    if data is None:
        return isinstance(values, pa.ChunkedArray)
    raw = data.to_pybytes()
    return any(raw.find(ch.encode("utf-8")) >= 0 for ch in (delimiter, '"', "\n", "\r"))


def quote_column(values, delimiter: str):
    """A column of cells, quoted where needed (a pyarrow array stays one, in C++)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if not needs_quotes(values, delimiter):
            return values
        pattern = "[" + re.escape(delimiter) + '"\r\n]'
        need = pc.match_substring_regex(values, pattern)
        if not pc.any(need).as_py():
            return values
        quoted = pc.binary_join_element_wise(
            '"', pc.replace_substring(values, '"', '""'), '"', "")
        return pc.if_else(need, quoted, values)
    joined = "".join(values)
    if (delimiter in joined or '"' in joined or "\n" in joined or "\r" in joined):
        return [quote_cell(v, delimiter) for v in values]
    return values


@dataclass
class Coded:
    """A column as integer codes into a list of (already quoted) cell texts."""

    codes: np.ndarray
    texts: list


def coded_text(parts: Sequence[Coded], delimiter: str) -> pa.Array:
    """Adjacent few-valued columns as ONE pyarrow string column of their joined cells
    ("a,b,c"): each distinct combination is joined once in Python, the rows are a ``take``.
    Output columns of this kind cost the CSV join one column instead of several."""
    key = np.zeros(len(parts[0].codes), dtype=np.int64)
    for p in parts:
        key = key * len(p.texts) + p.codes
        if len(p.texts) > 1 << 20:  # keep the key small: renumber the combinations so far
            _, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
    first, inv = _distinct(key)
    cells = []
    rows = [np.asarray(p.codes) for p in parts]
    for i in first.tolist():
        cells.append(delimiter.join(p.texts[r[i]] for p, r in zip(parts, rows)))
    return pa.array(cells, pa.string()).take(pa.array(inv.reshape(-1).astype(np.int32)))


def _distinct(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a row holding each distinct key, each row's distinct-key number) of non-negative
    integer keys; a presence table instead of a sort when the keys are small."""
    if key.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    top = int(key.max())
    if top > 8 * key.size + (1 << 16):
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        return first, inv.reshape(-1)
    slot = np.full(top + 1, -1, dtype=np.int64)
    slot[key[::-1]] = np.arange(key.size - 1, -1, -1)  # some row of each key
    present = np.flatnonzero(slot >= 0)
    number = np.zeros(top + 1, dtype=np.int64)
    number[present] = np.arange(present.size)
    return slot[present], number[key]


def csv_text(columns: Sequence, delimiter: str):
    """Rows of equal-length, already quoted columns (pyarrow string arrays without nulls, or
    lists of str) as UTF-8 CSV bytes with ``\n`` line ends (a buffer)."""
    if not columns or not len(columns[0]):
        return b""
    cols = [c if isinstance(c, (pa.Array, pa.ChunkedArray)) else pa.array(c, pa.string())
            for c in columns]
    cols = [pc.fill_null(c, "") if c.null_count else c for c in cols]
    cols[-1] = pc.binary_join_element_wise(cols[-1], "\n", "")  # the line end, cheaply
    rows = pc.binary_join_element_wise(*cols, delimiter)
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    off = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1,
                        offset=rows.offset * 4)
    return memoryview(rows.buffers()[2])[off[0]:off[-1]]


class CsvWriter:
    """Writes a header line and then chunks of columns (see :func:`csv_text`) to a binary
    file object."""

    def __init__(self, fh, header: Sequence[str], delimiter: str):
        self.fh = fh
        self.delimiter = delimiter
        fh.write((delimiter.join(quote_cell(h, delimiter) for h in header) + "\n")
                 .encode("utf-8"))

    def write(self, columns: Sequence) -> None:
        self.fh.write(csv_text(columns, self.delimiter))


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
                delimiter: str = ",", sheet: str = "prevalence") -> None:
    """A small result table (dict rows) as CSV (``-``: stdout) or, for ``*.xlsx``, a workbook
    with one sheet named ``sheet`` (numbers as numbers, missing as empty cells). Written to a
    temporary file and renamed."""
    if path != "-" and path.lower().endswith(".xlsx"):
        _write_xlsx(path, header, rows, sheet)
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


def _write_xlsx(path: str, header: Sequence[str], rows: Sequence[dict],
                sheet: str = "prevalence") -> None:
    import xlsxwriter

    tmp = f"{path}.part-{os.getpid()}.xlsx"
    try:
        wb = xlsxwriter.Workbook(tmp, {"constant_memory": True, "nan_inf_to_errors": False})
        ws = wb.add_worksheet(sheet)
        bold = wb.add_format({"bold": True})
        ws.write_row(0, 0, list(header), bold)
        ws.freeze_panes(1, 1)
        for i, r in enumerate(rows, start=1):
            for j, h in enumerate(header):
                v = r[h]
                if isinstance(v, str):
                    ws.write_string(i, j, v)
                elif v is None or (isinstance(v, float) and not math.isfinite(v)):
                    continue  # NA: an empty cell
                else:
                    ws.write_number(i, j, v)
        ws.set_column(0, 0, 32)
        wb.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
