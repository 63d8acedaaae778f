"""Renderings of a ReportDocument: xlsx (openpyxl reads it back), CSV, zip; subtotal rows."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from posyandu.reports import export
from posyandu.reports.document import ROW_LEVEL, Column, ReportDocument, Table
from posyandu.reports.subtotals import with_subtotals, percent

COLUMNS = [
    Column("puskesmas_name", "Puskesmas", "Health centre"),
    Column("desa_name", "Desa/kelurahan", "Village"),
    Column("posyandu_name", "Posyandu", "Posyandu"),
    Column("s", "Sasaran (S)", "Target (S)", "int"),
    Column("d", "Ditimbang (D)", "Weighed (D)", "int"),
    Column("ds", "D/S (%)", "D/S (%)", "pct"),
    Column("mean_z", "Rerata z", "Mean z", "float", 2),
    Column("on", "Tanggal", "Date", "date"),
    Column("flag", "Bendera", "Flag", "bool"),
]


def derive(row):
    row["ds"] = percent(row["d"], row["s"])


def posyandu_rows():
    """Two puskesmas; puskesmas P1 has two desa (D1: two posyandu, D2: one)."""
    base = [("P1", "D1", "Melati", 10, 7), ("P1", "D1", "Mawar", 5, 5), ("P1", "D2", "Anggrek", 4, 1),
            ("P2", "D3", "Kenanga", 6, 3)]
    for pkm, desa, name, s, d in base:
        row = {"puskesmas_code": pkm, "puskesmas_name": f"Puskesmas {pkm}", "desa_code": desa,
               "desa_name": f"Desa {desa}", "posyandu_name": name, "s": s, "d": d, "mean_z": -1.234,
               "on": dt.date(2026, 11, 3), "flag": d > 3}
        derive(row)
        yield row


def test_subtotals_sum_and_recompute_ratios():
    rows = list(with_subtotals(posyandu_rows(), sum_keys=("s", "d"), derive=derive))
    summary = [(r[ROW_LEVEL], r.get("posyandu_name") or r.get("desa_name") or r.get("puskesmas_name"),
                r["s"], r["d"], r["ds"]) for r in rows]
    assert summary == [
        ("posyandu", "Melati", 10, 7, 70.0),
        ("posyandu", "Mawar", 5, 5, 100.0),
        ("desa", "Desa D1", 15, 12, 80.0),          # 12/15, not the mean of 70 and 100
        ("posyandu", "Anggrek", 4, 1, 25.0),
        ("desa", "Desa D2", 4, 1, 25.0),
        ("puskesmas", "Puskesmas P1", 19, 13, 68.4),  # 13/19 = 68.42
        ("posyandu", "Kenanga", 6, 3, 50.0),
        ("desa", "Desa D3", 6, 3, 50.0),
        ("puskesmas", "Puskesmas P2", 6, 3, 50.0),
        ("total", None, 25, 16, 64.0),
    ]
    desa_row = rows[2]
    assert desa_row["puskesmas_name"] == "Puskesmas P1" and "posyandu_name" not in desa_row


def test_subtotals_of_nothing_is_nothing():
    assert list(with_subtotals(iter(()), sum_keys=("s",))) == []


def make_doc(rows=None):
    return ReportDocument(
        kind="demo-report", title_id="Laporan Uji", title_en="Test report",
        area={"level": "kabupaten", "code": "35.25", "name": "Kabupaten Gresik"}, period="2026-11",
        generated_at=dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.timezone.utc),
        tables=[Table("per_posyandu", "Per posyandu", "By posyandu", COLUMNS,
                      rows if rows is not None else with_subtotals(posyandu_rows(), sum_keys=("s", "d"),
                                                                   derive=derive),
                      notes_id=["Catatan uji."], notes_en=["Test note."]),
                Table("names", "Nama", "Names", [Column("name", "Nama", "Name"), Column("n", "N", "N", "int")],
                      [{"name": "=HYPERLINK(\"http://x\")", "n": 1}, {"name": "Budi", "n": None}])])


def header_row_of(sheet, first_label):
    for row in sheet.iter_rows(min_col=1, max_col=1):
        if row[0].value == first_label:
            return row[0].row
    raise AssertionError("no header row")


def test_xlsx_opens_with_openpyxl_and_holds_the_numbers(tmp_path):
    path = tmp_path / "r.xlsx"
    written = export.write_xlsx(make_doc(), str(path))
    assert written == 12  # 4 posyandu + 3 desa + 2 puskesmas + total, + 2 names
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Per posyandu", "Nama"]
    ws = wb["Per posyandu"]
    assert ws["A1"].value == "Laporan Uji"
    block = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(2, 7)}
    assert block["Wilayah"] == "kabupaten 35.25 — Kabupaten Gresik"
    assert block["Periode"] == "2026-11"
    assert block["Dibuat pada"] == "2026-12-01T08:30:00+00:00"
    assert "tidak dapat dibandingkan" in block["Sumber data"]
    h = header_row_of(ws, "Tingkat")
    assert [c.value for c in ws[h]] == ["Tingkat", "Puskesmas", "Desa/kelurahan", "Posyandu", "Sasaran (S)",
                                        "Ditimbang (D)", "D/S (%)", "Rerata z", "Tanggal", "Bendera"]
    assert ws.freeze_panes == f"A{h + 1}"
    first = [c.value for c in ws[h + 1]]
    assert first[:7] == ["Posyandu", "Puskesmas P1", "Desa D1", "Melati", 10, 7, 70.0]
    assert first[7] == pytest.approx(-1.234) and first[8] == dt.datetime(2026, 11, 3) and first[9] == "Ya"
    desa = [c.value for c in ws[h + 3]]
    assert desa[:7] == ["Jumlah desa/kel.", "Puskesmas P1", "Desa D1", None, 15, 12, 80.0]
    assert ws.cell(h + 3, 5).font.b and not ws.cell(h + 1, 5).font.b
    total = [c.value for c in ws[h + 10]]
    assert total[:7] == ["Jumlah", None, None, None, 25, 16, 64.0]
    assert ws.cell(h + 1, 5).number_format == "#,##0"
    assert ws.cell(h + 1, 7).number_format == '0.0"%"'
    assert ws.cell(h + 1, 8).number_format == "#,##0.00"
    assert ws.cell(h + 1, 9).number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["B"].width >= len("Puskesmas P1")
    names = wb["Nama"]
    h2 = header_row_of(names, "Nama")
    cell = names.cell(h2 + 1, 1)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"  # text, never a formula
    assert names.cell(h2 + 2, 2).value is None


def test_xlsx_english_and_empty_table(tmp_path):
    path = tmp_path / "r.xlsx"
    export.write_xlsx(make_doc(rows=[]), str(path), language="en")
    ws = openpyxl.load_workbook(path)["By posyandu"]
    assert ws["A1"].value == "Test report"
    h = header_row_of(ws, "Health centre")
    assert ws.cell(h + 1, 1).value == "No data."


def test_xlsx_to_a_file_object_without_constant_memory():
    buffer = io.BytesIO()
    export.write_xlsx(make_doc(), buffer, constant_memory=False)
    assert openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).sheetnames == ["Per posyandu", "Nama"]


def read_csv(data: bytes, delimiter=","):
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def test_csv_one_table_with_bom_levels_and_plain_numbers():
    doc = make_doc()
    data = b"".join(export.iter_csv_bytes(doc.tables[0]))
    rows = read_csv(data)
    assert rows[0] == ["Tingkat", "Puskesmas", "Desa/kelurahan", "Posyandu", "Sasaran (S)", "Ditimbang (D)",
                       "D/S (%)", "Rerata z", "Tanggal", "Bendera"]
    assert rows[1] == ["posyandu", "Puskesmas P1", "Desa D1", "Melati", "10", "7", "70.0", "-1.234", "2026-11-03",
                       "Ya"]
    assert rows[6][:7] == ["puskesmas", "Puskesmas P1", "", "", "19", "13", "68.4"]
    assert rows[-1][:7] == ["total", "", "", "", "25", "16", "64.0"]
    names = read_csv(b"".join(export.iter_csv_bytes(doc.tables[1], language="en", delimiter=";")), ";")
    assert names == [["Name", "N"], ["'=HYPERLINK(\"http://x\")", "1"], ["Budi", ""]]


def test_csv_is_produced_in_chunks_from_a_generator():
    consumed = []

    def rows():
        for i in range(1200):
            consumed.append(i)
            yield {"name": f"anak {i}", "n": i}

    table = Table("t", "T", "T", [Column("name", "Nama", "Name"), Column("n", "N", "N", "int")], rows())
    chunks = export.iter_csv(table, chunk_rows=500)
    next(chunks)  # BOM + header
    next(chunks)
    assert len(consumed) <= 501  # rows are read as the file is written, not all at once
    rest = list(chunks)
    assert len(rest) == 2 and len(consumed) == 1200


def test_zip_holds_one_csv_per_table_and_the_header_block():
    doc = make_doc()
    data = b"".join(export.iter_zip(doc))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["report.txt", "per_posyandu.csv", "names.csv"]
    assert "Wilayah: kabupaten 35.25" in archive.read("report.txt").decode("utf-8-sig")
    assert read_csv(archive.read("names.csv"))[2] == ["Budi", ""]
    assert read_csv(archive.read("per_posyandu.csv"))[-1][4:6] == ["25", "16"]


def test_document_json_matches_rows():
    out = export.document_json(make_doc(), "en")
    table = out["tables"][0]
    assert table["columns"][3] == {"key": "s", "label": "Target (S)", "kind": "int"}
    assert table["rows"][2]["level"] == "desa" and table["rows"][2]["ds"] == 80.0
    assert table["rows"][0]["on"] == "2026-11-03"


def test_filename_is_ascii_and_safe():
    doc = make_doc()
    assert export.filename(doc, "xlsx") == "demo-report_kabupaten-35.25_2026-11.xlsx"
    doc.area = {"level": "posyandu", "code": "PY/Ä 1"}
    assert export.filename(doc, "csv", doc.tables[1]) == "demo-report_names_posyandu-PY-1_2026-11.csv"


def test_csv_formula_guard_keeps_plain_numbers_and_phones():
    table = Table("t", "T", "T", [Column("v", "V", "V")],
                  [{"v": "+6281234567890"}, {"v": "-2.5"}, {"v": "-2+3+cmd|' /C calc'!A0"}, {"v": "@SUM(A1)"},
                   {"v": "=1+1"}, {"v": "Siti"}])
    values = [r[0] for r in read_csv(b"".join(export.iter_csv_bytes(table)))[1:]]
    assert values == ["+6281234567890", "-2.5", "'-2+3+cmd|' /C calc'!A0", "'@SUM(A1)", "'=1+1", "Siti"]
