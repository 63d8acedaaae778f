"""``posyandu-anthro prevalence``: the CLI writes WHO anthro's own prevalence table.

Expected values are anthro's (tests/data/prevalence_validation_expected.csv, the output of
``anthro::anthro_prevalence`` on tests/data/prevalence_validation_input.csv; see
/work/shared/who-growth-standards/README.md), never the code's own output.
"""
from __future__ import annotations

import csv
import io
import math
import subprocess
import sys
from pathlib import Path

import pytest

from posyandu.anthro_cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
INPUT = DATA / "prevalence_validation_input.csv"
EXPECTED = DATA / "prevalence_validation_expected.csv"
CLI = Path(sys.executable).parent / "posyandu-anthro"


def run(args, capsys):
    code = main([str(a) for a in args])
    return code, capsys.readouterr()


def read_rows(path_or_text):
    text = (Path(path_or_text).read_text(encoding="utf-8") if isinstance(path_or_text, Path)
            else path_or_text)
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def expected():
    return read_rows(EXPECTED)


def assert_table_equals_anthro(header, rows, rel=1e-9):
    exp_header, exp_rows = expected()
    assert header == exp_header
    got = {r["Group"]: r for r in rows}
    assert sorted(got) == sorted(e["Group"] for e in exp_rows)
    for e in exp_rows:
        g = got[e["Group"]]
        for col in exp_header[1:]:
            if e[col] == "":
                assert g[col] in ("", None), (e["Group"], col, g[col])
            else:
                assert g[col] not in ("", None), (e["Group"], col)
                assert math.isclose(float(g[col]), float(e[col]), rel_tol=rel), (
                    e["Group"], col, e[col], g[col])


def input_rows():
    with open(INPUT, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_csv_equals_anthro(tmp_path, capsys):
    out = tmp_path / "prev.csv"
    code, cap = run(["prevalence", INPUT, "-o", out, "--othergr", "posyandu"], capsys)
    assert code == 0, cap.err
    header, rows = read_rows(out)
    assert_table_equals_anthro(header, rows)
    assert [r["Group"] for r in rows][:3] == ["All", "Age group: 00-05 mo",
                                              "Age group: 06-11 mo"]
    assert rows[0]["HAZ_pop"] == "1758"  # a count, written as a whole number
    assert "1,950 used" in cap.err
    assert "44 row(s) older than 1826 days left out" in cap.err


def test_small_chunks_give_the_same_table(tmp_path, capsys):
    out = tmp_path / "prev.csv"
    code, _ = run(["prevalence", INPUT, "-o", out, "--othergr", "POSYANDU",
                   "--chunk-size", "37"], capsys)
    assert code == 0
    assert_table_equals_anthro(*read_rows(out))


def test_malformed_rows_reported_by_row_number_and_left_out(tmp_path, capsys):
    rows = input_rows()
    header = rows[0]
    bad = [
        ["9001", "x", "100", "7", "65", "l", "n", "Posyandu A"],      # unknown sex
        ["9002", "1", "-5", "7", "65", "l", "n", "Posyandu B"],       # negative age
        ["9003", "2", "100", "7,5"],                                  # too few fields
        ["9004", "2", "100", "abc", "65", "l", "n", "Posyandu C"],    # not a number
        ["9005", "2", "100", "7", "65", "standing", "n", "Posyandu C"],
    ]
    data = rows[1:11] + bad[:2] + rows[11:500] + bad[2:] + rows[500:]
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header] + data)
    out = tmp_path / "prev.csv"
    code, cap = run(["prevalence", src, "-o", out, "--othergr", "posyandu"], capsys)
    assert code == 0, cap.err
    assert_table_equals_anthro(*read_rows(out))  # the bad rows changed nothing
    assert "5 row(s) left out" in cap.err
    for code_, row in (("invalid_sex", 12), ("negative_age", 13), ("bad_field_count", 503),
                       ("invalid_weight", 504), ("invalid_measure", 505)):
        assert f"{code_}: 1 row(s): rows {row}" in cap.err


def test_xlsx_output_and_input(tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")
    rows = input_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(rows[0])
    for r in rows[1:]:
        ws.append([float(v) if k in ("age_days", "weight", "lenhei") and v != "" else
                   (v if v != "" else None) for k, v in zip(rows[0], r)])
    src = tmp_path / "in.xlsx"
    wb.save(src)
    out = tmp_path / "prev.xlsx"
    code, cap = run(["prevalence", src, "-o", out, "--othergr", "posyandu"], capsys)
    assert code == 0, cap.err
    got = openpyxl.load_workbook(out, read_only=True).worksheets[0]
    values = list(got.iter_rows(values_only=True))
    header = [str(h) for h in values[0]]
    table = [{h: ("" if v is None else v) for h, v in zip(header, r)} for r in values[1:]]
    assert all(isinstance(r["HAZ_pop"], (int, float)) for r in table)  # numbers as numbers
    assert_table_equals_anthro(header, table)


def test_optional_groupings_labels_and_missing_column(tmp_path, capsys):
    src = tmp_path / "g.csv"
    src.write_text("sex,age_days,weight,lenhei,desa,kuintil\n"
                   "1,400,9.5,75,Kebomas,1\n"
                   "2,800,11,84,Gulomantung,Q5\n"
                   "2,100,5,58,Kebomas,\n", encoding="utf-8")
    out = tmp_path / "p.csv"
    code, cap = run(["prevalence", src, "-o", out, "--typeres", "desa", "--wealthq",
                     "kuintil"], capsys)
    assert code == 0, cap.err
    _, rows = read_rows(out)
    groups = [r["Group"] for r in rows]
    assert groups[-7:] == ["Area: Kebomas", "Area: Gulomantung", "Wealth quintile: Q1: Poorest",
                           "Wealth quintile: Q2", "Wealth quintile: Q3", "Wealth quintile: Q4",
                           "Wealth quintile: Q5: Richest"]
    by = {r["Group"]: r for r in rows}
    assert by["Area: Kebomas"]["HAZ_pop"] == "2" and by["Wealth quintile: Q2"]["HAZ_pop"] == "0"
    assert by["Wealth quintile: Q2"]["HA_r"] == ""  # NA
    code, cap = run(["prevalence", src, "-o", out, "--othergr", "posyandu"], capsys)
    assert code == 2 and "'posyandu' not in the header" in cap.err


def test_nothing_left_exits_nonzero(tmp_path, capsys):
    src = tmp_path / "old.csv"
    src.write_text("sex,age_days,weight\n1,2000,15\n2,1900,14\n", encoding="utf-8")
    code, cap = run(["prevalence", src, "-o", tmp_path / "p.csv"], capsys)
    assert code == 2 and "no rows left" in cap.err
    assert not (tmp_path / "p.csv").exists()


def test_console_script_stdout_without_progress_when_piped():
    proc = subprocess.run([str(CLI), "prevalence", str(INPUT), "--othergr", "posyandu"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "%|" not in proc.stderr
    assert_table_equals_anthro(*read_rows(proc.stdout))


def test_progress_can_be_forced(tmp_path, capsys):
    code, cap = run(["prevalence", INPUT, "-o", tmp_path / "p.csv", "--progress"], capsys)
    assert code == 0 and "%|" in cap.err
