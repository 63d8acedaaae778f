"""``flask reports <kind>``: every registered report as .xlsx, .csv, .zip or stdout; errors name
the option and write nothing."""
from __future__ import annotations

import csv
import io
import zipfile

import openpyxl

from tests.reports.coverage_data import immunization_world, vitamin_a_world


def run(runner, *args):
    return runner.invoke(args=["reports", *args])


def test_help_lists_every_report(runner):
    result = run(runner, "--help")
    assert result.exit_code == 0
    for kind in ("immunization-coverage", "vitamin-a-breastfeeding", "eppgbm"):
        assert kind in result.output


def test_coverage_as_xlsx_zip_and_stdout(runner, world, tmp_path):
    immunization_world(world)
    xlsx = tmp_path / "imunisasi.xlsx"
    result = run(runner, "immunization-coverage", "--area", "kabupaten:35.25", "--month", "2026-11", "-o", str(xlsx),
                 "--by", "posyandu", "--option", "uci_threshold=90")
    assert result.exit_code == 0, result.output
    workbook = openpyxl.load_workbook(xlsx)
    assert workbook.sheetnames == ["Dosis per imunisasi", "IDL, IBL dan drop out", "UCI desa",
                                   "Menurut jenis kelamin"]
    uci = workbook["UCI desa"]
    h = next(r[0].row for r in uci.iter_rows(min_col=1, max_col=1) if r[0].value == "Tingkat")
    assert [c.value for c in uci[h + 2]][1:] == ["35.25.01.2002", "Kawisanyar", 1, 1, 100.0, 90.0, "Ya"]

    archive = tmp_path / "imunisasi.zip"
    assert run(runner, "immunization-coverage", "--area", "kabupaten:3525", "--month", "2026-11",
               "-o", str(archive)).exit_code == 0
    names = zipfile.ZipFile(archive).namelist()
    assert names == ["report.txt", "doses.csv", "completeness.csv", "uci.csv", "by_sex.csv"]

    result = run(runner, "immunization-coverage", "--area", "desa:35.25.01.2002", "--month", "2026-11", "-o", "-",
                 "--table", "uci", "--lang", "en")
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(io.StringIO(result.output)))
    assert lines[0] == ["Level", "Village code", "Village", "Children 12-23 months",
                        "IDL complete before the first birthday", "IDL (%)", "UCI threshold (%)", "UCI village"]
    assert lines[1] == ["desa", "35.25.01.2002", "Kawisanyar", "1", "1", "100.0", "80.0", "Yes"]


def test_csv_of_one_table_and_semicolons(runner, world, tmp_path):
    vitamin_a_world(world)
    out = tmp_path / "vita.csv"
    result = run(runner, "vitamin-a-breastfeeding", "--area", "puskesmas:P3525010101", "--month", "2026-08",
                 "-o", str(out), "--table", "vitamin_a", "--delimiter", "semicolon")
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(io.StringIO(out.read_text("utf-8-sig")), delimiter=";"))
    assert lines[-1][0] == "total" and lines[-1][-3:] == ["6", "5", "83.3"]


def test_errors_name_the_option_and_write_nothing(runner, world, tmp_path):
    out = tmp_path / "x.xlsx"
    cases = [
        (["--area", "kabupaten:35.25", "--month", "2099-01"], "--month"),
        (["--area", "35.25", "--month", "2026-01"], "--area"),
        (["--area", "kabupaten:35.99", "--month", "2026-01"], "No such area"),
        (["--area", "kabupaten:35.25", "--month", "2026-01", "--option", "nik=clear"], "--option nik"),
        (["--area", "kabupaten:35.25", "--month", "2026-01", "--by", "rt"], "--by"),
        (["--area", "kabupaten:35.25", "--month", "2026-01", "--as-user", "nobody"], "--as-user"),
    ]
    for args, expected in cases:
        result = run(runner, "vitamin-a-breastfeeding", *args, "-o", str(out))
        assert result.exit_code != 0 and expected in result.output, (args, result.output)
    result = run(runner, "vitamin-a-breastfeeding", "--area", "kabupaten:35.25", "--month", "2026-01",
                 "-o", str(tmp_path / "x.pdf"))
    assert result.exit_code == 1 and "output" in result.output
    result = run(runner, "vitamin-a-breastfeeding", "--area", "kabupaten:35.25", "--month", "2026-01",
                 "-o", str(tmp_path / "x.csv"))
    assert result.exit_code == 1 and "--table" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_report_that_takes_lang_gets_the_callers_language(client, runner, world, monkeypatch, tmp_path):
    from posyandu.reports import registry
    from posyandu.reports.document import Column, ReportDocument, Table
    from tests.factories import headers
    seen = []

    def build(scope, area, month, options):
        seen.append(options.get("lang"))
        return ReportDocument("test-lang", "Uji", "Test", area.as_dict(), str(month),
                              [Table("t", "T", "T", [Column("reason", "Alasan", "Reason")],
                                     [{"reason": "stunted" if options.get("lang") == "en" else "pendek"}])])
    registry.load_all()
    monkeypatch.setitem(registry.REPORTS, "test-lang",
                        registry.ReportKind("test-lang", build, "Uji", "Test", options=("lang",)))
    r = client.get("/api/v1/reports/test-lang.csv", query_string={"lang": "en", "month": "2026-01"},
                   headers=headers(world.staff_a))
    assert r.status_code == 200 and r.data.decode("utf-8-sig").splitlines() == ["Reason", "stunted"]
    result = run(runner, "test-lang", "--area", "posyandu:PY-A1", "--month", "2026-01", "-o", "-")
    assert result.output.splitlines() == ["Alasan", "pendek"]
    assert seen == ["en", "id"]
