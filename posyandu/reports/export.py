"""Render a :class:`~posyandu.reports.document.ReportDocument` as ``.xlsx``, CSV or a zip of CSVs.

The JSON answer, the workbook and the CSV files are renderings of one document, so the numbers
agree by construction. Decisions (docs/exports.md):

- **xlsx** (xlsxwriter): one sheet per table; on each sheet the header block (report, area,
  period, generated at, data source) and the table's notes, then the column header row, frozen;
  numbers written as numbers with a number format per column kind (``int`` ``#,##0``, ``float``
  with the column's decimals, ``pct`` 0–100 shown as ``45.5%`` without scaling, ``date``
  ``yyyy-mm-dd``); subtotal rows (``ROW_LEVEL``) bold and shaded; column widths from the header
  and the first rows. ``constant_memory`` mode: each row goes to a temporary file as it is
  written, so a 100,000-row by-name sheet needs no more memory than a 100-row one. Text is always
  written as text (a name starting with ``=`` never becomes a formula).
- **CSV**: one table per file, RFC 4180, comma, ``.`` as decimal separator, UTF-8 with a BOM (so
  Excel detects UTF-8; the BOM is harmless to most CSV readers), header row then data rows, no
  header block (machine-readable; the workbook is for people). Numbers plain (no thousands
  separator), dates ISO. When rows carry ``ROW_LEVEL`` a first ``level`` column says what each
  row is, so subtotals can be filtered out. A text cell starting with ``= + - @`` gets a leading
  apostrophe (spreadsheet formula injection, OWASP), except a plain signed number or phone
  number (``+6281…``). Optional ``;`` delimiter. CSV has no cell types: Excel turns a 16-digit
  NIK into a rounded number, so people should open the ``.xlsx`` (NIK written as text).
- **zip**: several tables → one CSV per table plus ``report.txt`` (the header block and notes),
  streamed: zipfile writes to a non-seekable sink, so bytes leave as rows are read.

Rows may be generators: everything here reads them once, in order.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import itertools
import math
import re
import zipfile
from typing import IO, Callable, Iterable, Iterator

from .document import ROW_LEVEL, Column, ReportDocument, Table

#: Rows sampled (and buffered) to size the columns of a sheet.
WIDTH_SAMPLE_ROWS = 200
#: Excel's hard limit per sheet (header rows included); a longer table continues on a new sheet.
EXCEL_MAX_ROWS = 1_048_576
_EXCEL_MAX_CHARS = 32_767
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A leading + or - is harmless when the rest is a plain number or phone number (+6281...).
_PLAIN_SIGNED = re.compile(r"^[+-][0-9][0-9 .]*$")

#: What a ROW_LEVEL value is called in the level column: (data row, subtotal row) × (id, en).
#: In a table, the first row's level is the detail level; a row with another level is a
#: subtotal (or the total) and is styled as one.
LEVEL_LABELS = {
    "posyandu": (("Posyandu", "Posyandu"), ("Jumlah posyandu", "Posyandu total")),
    "desa": (("Desa/Kelurahan", "Village"), ("Jumlah desa/kel.", "Village total")),
    "kecamatan": (("Kecamatan", "District"), ("Jumlah kecamatan", "District total")),
    "puskesmas": (("Puskesmas", "Health centre"), ("Jumlah puskesmas", "Health centre total")),
    "kabupaten": (("Kabupaten/Kota", "Regency/City"), ("Jumlah kabupaten/kota", "Regency/city total")),
    "total": (("Jumlah", "Total"), ("Jumlah", "Total")),
    "child": (("Anak", "Child"), ("Anak", "Child")),
    "cadre": (("Kader / petugas", "Cadre / staff"), ("Jumlah kader", "Cadre total")),
    "sex": (("Jenis kelamin", "Sex"), ("Jumlah jenis kelamin", "Sex total")),
}
#: Subtotal styling: background colour per level (others get _DEFAULT_FILL).
_LEVEL_FILL = {"desa": "#EEF3FA", "kecamatan": "#E2EAF5", "puskesmas": "#D6E2F1", "kabupaten": "#C9D9EE",
               "total": "#BCD0EA"}
_DEFAULT_FILL = "#E2EAF5"
_BOOL_TEXT = {"id": ("Ya", "Tidak"), "en": ("Yes", "No")}

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
}


# ---------------------------------------------------------------------------------------------
# shared
# ---------------------------------------------------------------------------------------------
def level_column(language: str) -> Column:
    return Column(ROW_LEVEL, "Tingkat", "Level", "text")


def level_label(level: str | None, language: str = "id", *, subtotal: bool = False) -> str:
    if not level:
        return ""
    labels = LEVEL_LABELS.get(level)
    if labels is None:
        return str(level)
    pair = labels[1 if subtotal else 0]
    return pair[1] if language == "en" else pair[0]


def _peek(rows: Iterable[dict], n: int) -> tuple[list[dict], Iterator[dict]]:
    """The first ``n`` rows (buffered) and an iterator over all rows, read once."""
    iterator = iter(rows)
    head = list(itertools.islice(iterator, n))
    return head, itertools.chain(head, iterator)


def _columns_with_level(table: Table, head: list[dict], language: str) -> list[Column]:
    if head and ROW_LEVEL in head[0]:
        return [level_column(language), *table.columns]
    return list(table.columns)


def safe_filename_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def filename(doc: ReportDocument, ext: str, table: Table | None = None) -> str:
    """``<kind>[_<table>]_<level>-<code>_<period>.<ext>``, ASCII only (Content-Disposition)."""
    parts = [doc.kind]
    if table is not None:
        parts.append(table.key)
    parts.append(f"{doc.area.get('level', '')}-{doc.area.get('code', '')}")
    parts.append(doc.period)
    return "_".join(safe_filename_part(p) for p in parts) + "." + ext


# ---------------------------------------------------------------------------------------------
# xlsx
# ---------------------------------------------------------------------------------------------
def _number_format(column: Column) -> str | None:
    if column.kind == "int":
        return "#,##0"
    if column.kind == "float":
        decimals = 2 if column.decimals is None else column.decimals
        return "#,##0" + ("." + "0" * decimals if decimals else "")
    if column.kind == "pct":
        decimals = 1 if column.decimals is None else column.decimals
        return "0" + ("." + "0" * decimals if decimals else "") + '"%"'
    if column.kind == "date":
        return "yyyy-mm-dd"
    return None


def _display_len(value, column: Column) -> int:
    if value is None:
        return 0
    if column.kind in ("int", "float", "pct") and isinstance(value, (int, float)):
        return len(f"{value:,.{column.decimals if column.decimals is not None else 2}f}")
    if isinstance(value, (_dt.date, _dt.datetime)):
        return 10
    return len(str(value))


def _column_width(column: Column, label: str, head: list[dict], language: str) -> float:
    key = column.key
    sample = max((_display_len(level_label(r.get(key), language, subtotal=True) if key == ROW_LEVEL
                               else r.get(key), column) for r in head), default=0)
    # long labels wrap in the header row (up to ~3 lines), short ones set the width
    label_need = min(len(label), max(12, math.ceil(len(label) / 3)))
    return float(min(60, max(6, sample + 2, label_need + 2)))


def _sheet_name(title: str, used: set[str]) -> str:
    base = _SHEET_NAME_BAD.sub("-", title).strip("'") or "Sheet"
    base = base[:31]
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[:31 - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name


class _Formats:
    """xlsxwriter formats, created once per (column kind, decimals, row level)."""

    def __init__(self, workbook):
        self.workbook = workbook
        self._cache: dict = {}
        self.title = workbook.add_format({"bold": True, "font_size": 13})
        self.label = workbook.add_format({"bold": True})
        self.note = workbook.add_format({"italic": True, "font_color": "#555555"})
        self.header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top", "border": 1,
                                           "bg_color": "#DDE4EE"})

    def cell(self, column: Column, level: str | None):
        """``level``: the subtotal level of the row, None for a detail row."""
        fill = (_LEVEL_FILL.get(level, _DEFAULT_FILL)) if level else None
        key = (column.kind, column.decimals, fill, level == "total")
        fmt = self._cache.get(key)
        if fmt is None:
            props = {}
            number_format = _number_format(column)
            if number_format:
                props["num_format"] = number_format
            if fill:
                props.update(bold=True, bg_color=fill)
                if level == "total":
                    props["top"] = 1
            fmt = self._cache[key] = self.workbook.add_format(props) if props else None
        return fmt


def _cell_writer(column: Column, language: str):
    """A function ``(sheet, row, col, value, fmt, subtotal)`` writing one non-empty value of
    ``column``, chosen once per column (the inner loop runs for every cell of a big sheet)."""
    yes, no = _BOOL_TEXT["en" if language == "en" else "id"]

    def text(sheet, r, c, value, fmt, subtotal):
        if isinstance(value, bool):
            sheet.write_string(r, c, yes if value else no, fmt)
        elif isinstance(value, (_dt.datetime, _dt.date)):
            sheet.write_datetime(r, c, value, fmt)
        else:
            sheet.write_string(r, c, str(value)[:_EXCEL_MAX_CHARS], fmt)

    def number(sheet, r, c, value, fmt, subtotal):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value == value and value not in (math.inf, -math.inf):
                sheet.write_number(r, c, value, fmt)
            elif fmt is not None:
                sheet.write_blank(r, c, None, fmt)
        else:
            text(sheet, r, c, value, fmt, subtotal)

    def boolean(sheet, r, c, value, fmt, subtotal):
        sheet.write_string(r, c, yes if value else no, fmt)

    def level(sheet, r, c, value, fmt, subtotal):
        sheet.write_string(r, c, level_label(value, language, subtotal=subtotal), fmt)

    if column.key == ROW_LEVEL:
        return level
    if column.kind in ("int", "float", "pct"):
        return number
    if column.kind == "bool":
        return boolean
    return text


def write_xlsx(doc: ReportDocument, target, *, language: str = "id", constant_memory: bool = True,
               progress: Callable[[int], None] | None = None, tmpdir: str | None = None) -> int:
    """Write ``doc`` as a workbook to ``target`` (a path or a binary file object); returns the
    number of data rows written. ``progress(n)`` is called with row counts as they are written."""
    import xlsxwriter

    options = {"constant_memory": constant_memory, "remove_timezone": True,
               "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    if tmpdir:
        options["tmpdir"] = tmpdir
    if not isinstance(target, (str, bytes)) and not hasattr(target, "__fspath__"):
        options["in_memory"] = False
    workbook = xlsxwriter.Workbook(target, options)
    workbook.set_properties({"title": doc.title(language), "comments": doc.data_source(language)})
    formats = _Formats(workbook)
    used: set[str] = set()
    total = 0
    try:
        if not doc.tables:
            _start_sheet(workbook, formats, doc, None, [], [], language, used)
        for table in doc.tables:
            total += _write_table(workbook, formats, doc, table, language, used, progress)
    finally:
        workbook.close()
    return total


def _start_sheet(workbook, formats, doc, table, columns, head, language, used, part: int = 1):
    title = table.title(language) if table is not None else doc.title(language)
    if part > 1:
        title = f"{title[:24]} ({part})"
    sheet = workbook.add_worksheet(_sheet_name(title, used))
    sheet.write_string(0, 0, doc.title(language), formats.title)
    r = 1
    for label, value in doc.header_block(language)[1:]:
        sheet.write_string(r, 0, label, formats.label)
        sheet.write_string(r, 1, value)
        r += 1
    if table is not None:
        if table.title(language) != doc.title(language):
            sheet.write_string(r, 0, "Tabel" if language != "en" else "Table", formats.label)
            sheet.write_string(r, 1, table.title(language))
            r += 1
        for note in table.notes(language):
            sheet.write_string(r, 0, note, formats.note)
            r += 1
    r += 1
    for c, column in enumerate(columns):
        label = column.label(language)
        sheet.set_column(c, c, _column_width(column, label, head, language))
        sheet.write_string(r, c, label, formats.header)
    if columns:
        sheet.freeze_panes(r + 1, 0)
        if not head:
            sheet.write_string(r + 1, 0, "Tidak ada data." if language != "en" else "No data.", formats.note)
    return sheet, r + 1


def _write_table(workbook, formats, doc, table, language, used, progress) -> int:
    head, rows = _peek(table.rows, WIDTH_SAMPLE_ROWS)
    columns = _columns_with_level(table, head, language)
    part = 1
    sheet, r = _start_sheet(workbook, formats, doc, table, columns, head, language, used)
    written = 0
    detail_level = head[0].get(ROW_LEVEL) if head else None
    cells = [(c, column.key, _cell_writer(column, language)) for c, column in enumerate(columns)]
    formats_by_level: dict = {}  # subtotal level (None: detail row) -> per-column formats
    for data in rows:
        if r >= EXCEL_MAX_ROWS:
            part += 1
            sheet, r = _start_sheet(workbook, formats, doc, table, columns, head, language, used, part)
        level = data.get(ROW_LEVEL)
        subtotal_level = level if level is not None and level != detail_level else None
        row_formats = formats_by_level.get(subtotal_level)
        if row_formats is None:
            row_formats = formats_by_level[subtotal_level] = [formats.cell(col, subtotal_level) for col in columns]
        subtotal = subtotal_level is not None
        for c, key, write in cells:
            value = data.get(key)
            if value is None:
                if subtotal:
                    sheet.write_blank(r, c, None, row_formats[c])
                continue
            write(sheet, r, c, value, row_formats[c], subtotal)
        r += 1
        written += 1
        if progress is not None and written % 1000 == 0:
            progress(1000)
    if progress is not None and written % 1000:
        progress(written % 1000)
    return written


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------
def _csv_value(value, column: Column, language: str) -> str:
    if value is None:
        return ""
    if column.key == ROW_LEVEL:
        return str(value)
    if isinstance(value, bool):
        yes, no = _BOOL_TEXT["en" if language == "en" else "id"]
        return yes if value else no
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, _dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_SIGNED.match(text):
        text = "'" + text
    return text


class _LineBuffer:
    """A write() sink for csv.writer that hands back what was written since the last take()."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        out = "".join(self.parts)
        self.parts.clear()
        return out


def iter_csv(table: Table, *, language: str = "id", delimiter: str = ",", bom: bool = True,
             chunk_rows: int = 500, progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """The table as CSV text, yielded in chunks of ``chunk_rows`` rows (the BOM first)."""
    head, rows = _peek(table.rows, 1)
    columns = _columns_with_level(table, head, language)
    sink = _LineBuffer()
    writer = csv.writer(sink, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([c.label(language) for c in columns])
    pending = 0
    first = ("\ufeff" if bom else "") + sink.take()
    yield first
    for data in rows:
        writer.writerow([_csv_value(data.get(c.key), c, language) for c in columns])
        pending += 1
        if pending == chunk_rows:
            yield sink.take()
            if progress is not None:
                progress(pending)
            pending = 0
    if pending:
        yield sink.take()
        if progress is not None:
            progress(pending)


def write_csv(table: Table, target: IO[bytes], **kwargs) -> None:
    for text in iter_csv(table, **kwargs):
        target.write(text.encode("utf-8"))


def iter_csv_bytes(table: Table, **kwargs) -> Iterator[bytes]:
    for text in iter_csv(table, **kwargs):
        yield text.encode("utf-8")


# ---------------------------------------------------------------------------------------------
# zip of CSVs
# ---------------------------------------------------------------------------------------------
class _ChunkSink(io.RawIOBase):
    """A non-seekable binary sink for zipfile: written bytes are collected until drained."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self._chunks.append(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:  # zipfile asks for the offset of each member
        return self._position

    def seekable(self) -> bool:
        return False

    def drain(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def info_text(doc: ReportDocument, language: str = "id") -> str:
    lines = [f"{label}: {value}" for label, value in doc.header_block(language)]
    for table in doc.tables:
        lines.append("")
        lines.append(f"{table.key}.csv — {table.title(language)}")
        lines.extend(f"  {note}" for note in table.notes(language))
    return "\r\n".join(lines) + "\r\n"


def iter_zip(doc: ReportDocument, *, language: str = "id", delimiter: str = ",",
             progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """A zip with one CSV per table and ``report.txt``, yielded as it is written."""
    sink = _ChunkSink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.txt", "\ufeff" + info_text(doc, language))
        yield sink.drain()
        for table in doc.tables:
            with archive.open(f"{safe_filename_part(table.key)}.csv", mode="w", force_zip64=True) as member:
                for text in iter_csv(table, language=language, delimiter=delimiter, progress=progress):
                    member.write(text.encode("utf-8"))
                    chunk = sink.drain()
                    if chunk:
                        yield chunk
            yield sink.drain()
    tail = sink.drain()
    if tail:
        yield tail


# ---------------------------------------------------------------------------------------------
# JSON (the API's rendering of the same document)
# ---------------------------------------------------------------------------------------------
def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return value


def document_json(doc: ReportDocument, language: str = "id") -> dict:
    """The document as the API answers it: header fields, then each table's columns and rows
    (``level`` for ``ROW_LEVEL``). Rows are materialised: use this for aggregate reports only."""
    tables = []
    for table in doc.tables:
        rows = []
        for data in table.rows:
            out = {c.key: _json_value(data.get(c.key)) for c in table.columns}
            if ROW_LEVEL in data:
                out["level"] = data[ROW_LEVEL]
            rows.append(out)
        tables.append({"key": table.key, "title": table.title(language), "notes": table.notes(language),
                       "columns": [{"key": c.key, "label": c.label(language), "kind": c.kind}
                                   for c in table.columns],
                       "rows": rows})
    return {"kind": doc.kind, "title": doc.title(language), "area": doc.area, "period": doc.period,
            "generated_at": doc.generated_at, "data_source": doc.data_source(language), "language": language,
            "tables": tables}


def materialize(doc: ReportDocument) -> ReportDocument:
    """Read every table's rows into lists (so a document can be rendered twice, e.g. JSON and
    xlsx in a test). Only for aggregate reports."""
    for table in doc.tables:
        if not isinstance(table.rows, list):
            table.rows = list(table.rows)
    return doc
