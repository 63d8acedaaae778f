"""``posyandu-anthro zscores``: the CLI reproduces WHO anthro's CSV on the validation sample.

Expected values come from anthro itself (the anthro columns of tests/data/validation_sample.csv,
see /work/shared/who-growth-standards/README.md) or, for the Indonesian categories, from the
PMK 2/2020 cut-offs in /work/shared/domain/anthropometry-id.md applied to anthro's unrounded
z-scores -- never from the engine's own output.
"""
from __future__ import annotations

import csv
import functools
import io
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from posyandu.anthro_cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "validation_sample.csv"
CLI = Path(sys.executable).parent / "posyandu-anthro"
INPUTS = ("sex", "age_days", "weight", "lenhei", "measure", "headc", "armc", "triskin",
          "subskin", "oedema")
ANTHRO_OUT = ("clenhei", "cmeasure", "c9mo_flag", "cbmi", "csex", "zlen", "flen", "zwei",
              "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "zhc", "fhc", "zac", "fac", "zts", "fts",
              "zss", "fss")
CATEGORY_COLS = ("bbu", "bbu_reason", "tbu", "tbu_reason", "bbtb", "bbtb_reason", "imtu",
                 "imtu_reason", "lku", "lku_reason", "lila", "lila_reason")


@functools.lru_cache(maxsize=None)
def sample_rows():
    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_csv(path_or_text, delimiter=","):
    if isinstance(path_or_text, Path) or os.path.exists(str(path_or_text)):
        with open(path_or_text, newline="", encoding="utf-8") as fh:
            text = fh.read()
    else:
        text = path_or_text
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def sample_inputs_csv(tmp_path, rows=None, extra=("id", "scenario")):
    """The sample's input columns only (anthro's outputs are what we must reproduce)."""
    rows = sample_rows() if rows is None else rows
    header = list(extra) + list(INPUTS)
    return write_csv(tmp_path / "in.csv", header, [[r[c] for c in header] for r in rows])


def run(args, capsys=None):
    code = main([str(a) for a in args])
    if capsys is None:
        return code, None
    return code, capsys.readouterr()


def assert_matches_anthro(exp: dict, got: dict, ident):
    """Every anthro column as text; cbmi (anthro writes 15 digits, we full precision) by value."""
    for col in ANTHRO_OUT:
        e, g = exp[col], got[col]
        if col == "cbmi" and e not in ("", "Inf", "-Inf"):
            assert g != "" and math.isclose(float(e), float(g), rel_tol=1e-12), (ident, col, e, g)
        else:
            assert e == g, (ident, col, e, g)


# --------------------------------------------------------------------------- anthro columns
def test_validation_sample_matches_anthro_text(tmp_path, capsys):
    src = sample_inputs_csv(tmp_path)
    out = tmp_path / "out.csv"
    code, cap = run(["zscores", src, "-o", out], capsys)
    assert code == 0
    header, got = read_csv(out)
    assert header == ["id", "scenario", *INPUTS, *ANTHRO_OUT, *CATEGORY_COLS, "error"]
    assert len(got) == 2000
    accepted = 0
    for exp, g in zip(sample_rows(), got):
        assert g["id"] == exp["id"]
        if exp["anthro_error"]:
            continue
        accepted += 1
        assert g["error"] == "", exp["id"]
        assert_matches_anthro(exp, g, exp["id"])
    assert accepted == 1994


def test_rows_anthro_refuses_are_empty_with_reason(tmp_path, capsys):
    src = sample_inputs_csv(tmp_path)
    out = tmp_path / "out.csv"
    code, cap = run(["zscores", src, "-o", out], capsys)
    assert code == 0
    _, got = read_csv(out)
    refused = [i for i, r in enumerate(sample_rows()) if r["anthro_error"]]
    assert len(refused) == 6
    for i in refused:
        g = got[i]
        assert float(g["age_days"]) < 0
        assert g["error"].startswith(f"row {i + 2}: negative_age:"), g["error"]
        assert all(g[c] == "" for c in ANTHRO_OUT + CATEGORY_COLS)
    numbers = ", ".join(str(i + 2) for i in refused)
    assert f"negative_age: 6 row(s): rows {numbers}" in cap.err


def test_whole_sample_file_recomputes_its_anthro_columns(tmp_path, capsys):
    """The sample itself as input: its anthro columns are replaced (and reproduced)."""
    out = tmp_path / "out.csv"
    code, cap = run(["zscores", SAMPLE, "-o", out, "--chunk-size", "333"], capsys)
    assert code == 0
    assert "replaced by the computed column(s)" in cap.err
    header, got = read_csv(out)
    assert header.count("zlen") == 1 and header[:13] == list(sample_rows()[0])[:13]
    for exp, g in zip(sample_rows(), got):
        if not exp["anthro_error"]:
            assert_matches_anthro(exp, g, exp["id"])
            assert g["zlen_unrounded"] == exp["zlen_unrounded"]  # passed through


def test_age_in_months_as_anthro_is_age_in_month(tmp_path, capsys):
    """Integer ages in days given as months (days / 30.4375): round_up(months*30.4375) gives the
    same days back and the unrounded months are the same, so anthro's values must come out."""
    rows = [r for r in sample_rows() if not r["anthro_error"] and r["age_days"] != ""
            and float(r["age_days"]).is_integer()]
    assert len(rows) > 1000
    header = ["id", "age_months"] + [c for c in INPUTS if c != "age_days"]
    data = [[r["id"], repr(float(r["age_days"]) / 30.4375)] + [r[c] for c in header[2:]]
            for r in rows]
    src = write_csv(tmp_path / "m.csv", header, data)
    out = tmp_path / "out.csv"
    code, _ = run(["zscores", src, "-o", out, "--age-unit", "months"], capsys)
    assert code == 0
    _, got = read_csv(out)
    for exp, g in zip(rows, got):
        assert_matches_anthro(exp, g, exp["id"])


def test_semicolon_and_decimal_comma(tmp_path, capsys):
    rows = [r for r in sample_rows()[:200] if not r["anthro_error"]]
    data = [[r[c].replace(".", ",") for c in INPUTS] for r in rows]
    src = write_csv(tmp_path / "sc.csv", INPUTS, data, delimiter=";")
    out = tmp_path / "out.csv"
    code, _ = run(["zscores", src, "-o", out, "--decimal", ",", "--output-delimiter", ","],
                  capsys)
    assert code == 0
    _, got = read_csv(out)
    for exp, g in zip(rows, got):
        assert_matches_anthro(exp, g, None)


# --------------------------------------------------------------------------- categories
# PMK 2/2020 intervals (anthropometry-id.md s.2.1-2.3): (upper, inclusive, code) low -> high
PMK = {
    "bbu": ("zwei", [(-3, False, "bbu.severely_underweight"), (-2, False, "bbu.underweight"),
                     (1, True, "bbu.normal"), (None, None, "bbu.risk_of_overweight")]),
    "tbu": ("zlen", [(-3, False, "tbu.severely_stunted"), (-2, False, "tbu.stunted"),
                     (3, True, "tbu.normal"), (None, None, "tbu.tall")]),
    "bbtb": ("zwfl", [(-3, False, "bbtb.severely_wasted"), (-2, False, "bbtb.wasted"),
                      (1, True, "bbtb.normal"), (2, True, "bbtb.possible_risk_of_overweight"),
                      (3, True, "bbtb.overweight"), (None, None, "bbtb.obese")]),
}


def _pmk(z, table):
    for upper, inclusive, code in table:
        if upper is None or z < upper or (inclusive and z == upper):
            return code


def test_categories_follow_pmk_cutoffs_on_anthro_unrounded_z(tmp_path, capsys):
    src = sample_inputs_csv(tmp_path)
    out = tmp_path / "out.csv"
    assert run(["zscores", src, "-o", out], capsys)[0] == 0
    _, got = read_csv(out)
    checked = 0
    for exp, g in zip(sample_rows(), got):
        if exp["anthro_error"]:
            continue
        for key, (zcol, table) in PMK.items():
            raw = exp[zcol + "_unrounded"]
            flag = exp["f" + zcol[1:]]
            if raw == "":
                assert g[key] == "" and g[key + "_reason"] != "", (exp["id"], key)
                continue
            z = float(raw)
            if flag == "1":  # implausible: no category, "measure again"
                assert g[key] == "" and g[key + "_reason"].startswith("remeasure_")
                continue
            if any(b is not None and abs(z - b) < 1e-9 for b, _, _ in table):
                continue  # 15-digit CSV value too close to a cut-off to decide
            assert g[key] == _pmk(z, table), (exp["id"], key, z, g[key])
            assert g[key + "_reason"] == ""
            checked += 1
    assert checked > 4000


def test_labels_in_indonesian_and_english(tmp_path, capsys):
    # sample row 1: girl, 1668 days, zwei -1.68 (normal), zwfl -2.58 (wasted), armc 18.4 cm
    src = sample_inputs_csv(tmp_path, sample_rows()[:1])
    for lang, bbu, bbtb, lila in (
            ("id", "Berat badan normal", "Gizi kurang", "Normal"),
            ("en", "Normal weight", "Wasted", "Normal")):
        out = tmp_path / f"out-{lang}.csv"
        assert run(["zscores", src, "-o", out, "--labels", lang], capsys)[0] == 0
        _, got = read_csv(out)
        assert got[0]["bbu"] == bbu
        assert got[0]["bbtb"].lower() == bbtb.lower()
        assert got[0]["lila"].lower().startswith(lila.lower())


def test_lila_only_for_6_to_59_completed_months(tmp_path, capsys):
    # anthropometry-id.md s.5: < 11.5 cm severe, 11.5-12.5 moderate, >= 12.5 normal, 6-59 months
    header = ["sex", "age_days", "armc"]
    rows = [["1", "200", "11.4"],   # 6 completed months (200 / 30.4375 = 6.57)
            ["1", "200", "11.5"],
            ["1", "200", "12.5"],
            ["1", "150", "12.0"],   # 4.9 months: not applicable (never "normal")
            ["1", "1800", "13.0"],  # 59.1 months
            ["1", "1826", "13.0"]]  # 59.99 months, still 59 completed
    src = write_csv(tmp_path / "lila.csv", header, rows)
    out = tmp_path / "out.csv"
    assert run(["zscores", src, "-o", out], capsys)[0] == 0
    _, got = read_csv(out)
    assert [g["lila"] for g in got] == ["lila.severe_acute", "lila.moderate_acute",
                                        "lila.normal", "", "lila.normal", "lila.normal"]
    assert got[3]["lila_reason"] == "not_applicable"


# --------------------------------------------------------------------------- pass-through
def test_passthrough_columns_preserved_in_order(tmp_path, capsys):
    rows = sample_rows()[:5]
    header = ["nama", "sex", "catatan", "age_days", "weight", "lenhei", "measure", "kode"]
    extras = [('Siti, "Ani"', "baris\nkedua", "0012"), ("Budi", "", "00"),
              ("Ñoño ä", "semicolon; here", "x"), ("", "  spaced  ", "1e5"),
              ("Dewi", "tab\there", "007")]
    data = [[e[0], r["sex"], e[1], r["age_days"], r["weight"], r["lenhei"], r["measure"], e[2]]
            for r, e in zip(rows, extras)]
    src = write_csv(tmp_path / "p.csv", header, data)
    out = tmp_path / "out.csv"
    assert run(["zscores", src, "-o", out], capsys)[0] == 0
    got_header, got = read_csv(out)
    assert got_header[:len(header)] == header
    with open(out, newline="", encoding="utf-8") as fh:
        out_rows = list(csv.reader(fh))[1:]
    for d, o in zip(data, out_rows):
        assert o[:len(header)] == d
    # computed values for the first row: anthro's (sample row 1, no headc/armc/skinfolds given)
    assert got[0]["zwei"] == rows[0]["zwei"] and got[0]["zlen"] == rows[0]["zlen"]
    assert got[0]["zhc"] == "" and got[0]["zac"] == ""


# --------------------------------------------------------------------------- malformed rows
def test_malformed_rows_reported_rest_computed(tmp_path, capsys):
    good = [r for r in sample_rows()[:30] if not r["anthro_error"]][:4]
    cols = list(INPUTS)
    line = lambda r, **over: [over.get(c, r[c]) for c in cols]  # noqa: E731
    data = [
        line(good[0]),                                   # row 2 ok
        line(good[1], weight="12,5"),                    # row 3 not a number
        line(good[2]),                                   # row 4 ok
        line(good[3], sex="x"),                          # row 5 unknown sex
        line(good[0], measure="standing"),               # row 6 unknown measure
        line(good[1])[:5],                               # row 7 too few fields
        line(good[2], age_days="-3"),                    # row 8 anthro refuses
        line(good[3], age_days="abc", weight="?"),       # row 9 first problem: age
        line(good[1]),                                   # row 10 ok
    ]
    src = write_csv(tmp_path / "bad.csv", cols, data)
    out = tmp_path / "out.csv"
    code, cap = run(["zscores", src, "-o", out], capsys)
    assert code == 0
    _, got = read_csv(out)
    assert len(got) == 9
    for i, r in ((0, good[0]), (2, good[2]), (8, good[1])):
        assert got[i]["error"] == ""
        assert_matches_anthro(r, got[i], i)
    expected = {3: "invalid_weight", 5: "invalid_sex", 6: "invalid_measure",
                7: "bad_field_count", 8: "negative_age", 9: "invalid_age"}
    for row, code_ in expected.items():
        g = got[row - 2]
        assert g["error"].startswith(f"row {row}: {code_}:"), g["error"]
        assert all(g[c] == "" for c in ANTHRO_OUT + CATEGORY_COLS), row
    assert "'12,5' is not a number" in got[1]["error"]
    assert "'x'" in got[3]["error"]
    assert got[5]["sex"] == good[1]["sex"]  # what was there is still passed through
    assert "6 row(s) not computed" in cap.err
    for row, code_ in expected.items():
        assert f"{code_}: 1 row(s): rows {row}" in cap.err


def test_error_summary_lists_first_n_rows(tmp_path, capsys):
    data = [["x" if i % 2 else "1", "100", "7"] for i in range(60)]
    src = write_csv(tmp_path / "many.csv", ["sex", "age_days", "weight"], data)
    code, cap = run(["zscores", src, "-o", tmp_path / "o.csv", "--max-errors-listed", "3",
                     "--chunk-size", "7"], capsys)
    assert code == 0
    assert "invalid_sex: 30 row(s): rows 3, 5, 7, ..." in cap.err


# --------------------------------------------------------------------------- unusable input
@pytest.mark.parametrize("header,body,msg", [
    (["age_days", "weight"], [["100", "7"]], "'sex'"),
    (["sex", "weight"], [["1", "7"]], "'age_days'"),
    (["sex", "SEX", "age_days"], [["1", "1", "100"]], "appears 2 times"),
])
def test_unusable_header_exits_nonzero(tmp_path, capsys, header, body, msg):
    src = write_csv(tmp_path / "h.csv", header, body)
    out = tmp_path / "out.csv"
    code, cap = run(["zscores", src, "-o", out], capsys)
    assert code == 2
    assert msg in cap.err
    assert not out.exists()


def test_missing_and_empty_file_exit_nonzero(tmp_path, capsys):
    code, cap = run(["zscores", tmp_path / "nope.csv"], capsys)
    assert code == 2 and "no such file" in cap.err
    (tmp_path / "empty.csv").write_text("")
    code, cap = run(["zscores", tmp_path / "empty.csv"], capsys)
    assert code == 2 and "empty" in cap.err


# --------------------------------------------------------------------------- xlsx
def test_xlsx_input(tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")
    rows = [r for r in sample_rows()[:120] if not r["anthro_error"]]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", *INPUTS, "kader"])
    for r in rows:
        vals = [int(r["id"])]
        for c in INPUTS:
            v = r[c]
            if v == "":
                vals.append(None)
            elif c in ("measure", "oedema"):
                vals.append(v)
            else:
                vals.append(float(v) if c != "sex" else int(v))
        ws.append(vals + ["Bu Ani"])
    wb.create_sheet("notes").append(["ignored"])
    src = tmp_path / "visits.xlsx"
    wb.save(src)
    out = tmp_path / "out.csv"
    code, cap = run(["zscores", src, "-o", out], capsys)
    assert code == 0
    assert "reading only the first" in cap.err
    header, got = read_csv(out)
    assert header[0] == "id" and header[len(INPUTS) + 1] == "kader"
    assert len(got) == len(rows)
    for exp, g in zip(rows, got):
        assert g["id"] == exp["id"] and g["kader"] == "Bu Ani"
        assert_matches_anthro(exp, g, exp["id"])


# --------------------------------------------------------------------------- subprocess
def test_console_script_subprocess_stdout_no_progress_when_piped(tmp_path):
    assert CLI.exists(), CLI
    rows = sample_rows()[:300]
    src = sample_inputs_csv(tmp_path, rows)
    proc = subprocess.run([str(CLI), "zscores", str(src)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    # stderr is a pipe: no progress bar (tqdm draws with \r and "|...|")
    assert "\r" not in proc.stderr and "%|" not in proc.stderr and "it/s" not in proc.stderr
    assert "300 rows" in proc.stderr
    _, got = read_csv(proc.stdout)
    assert len(got) == 300
    for exp, g in zip(rows, got):
        if not exp["anthro_error"]:
            assert_matches_anthro(exp, g, exp["id"])


def test_console_script_subprocess_missing_file_exit_code(tmp_path):
    proc = subprocess.run([str(CLI), "zscores", str(tmp_path / "missing.csv"), "-o",
                           str(tmp_path / "o.csv")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "no such file" in proc.stderr


def test_progress_can_be_forced_and_suppressed(tmp_path, capsys):
    src = sample_inputs_csv(tmp_path, sample_rows()[:50])
    code, cap = run(["zscores", src, "-o", tmp_path / "a.csv", "--progress"], capsys)
    assert code == 0 and "posyandu-anthro:" in cap.err and "%|" in cap.err
    code, cap = run(["zscores", src, "-o", tmp_path / "b.csv", "--no-progress", "-q"], capsys)
    assert code == 0 and cap.err == ""


# --------------------------------------------------------------------------- CSV reading paths
def test_crlf_blank_lines_late_quotes_and_small_blocks(tmp_path, capsys, monkeypatch):
    """The unquoted fast path hands over to the csv module at the first quote, mid-file."""
    from posyandu.tools import tabular
    monkeypatch.setattr(tabular, "_BLOCK", 64)
    good = [r for r in sample_rows()[:40] if not r["anthro_error"]][:12]
    lines = ["nama,sex,age_days,weight,lenhei,measure"]
    expected_rows = []  # (file row number, nama, sample row)
    for k, r in enumerate(good):
        nama = f'"Anak {k}, ""A"""' if k >= 9 else f"anak{k}"
        lines.append(f"{nama},{r['sex']},{r['age_days']},{r['weight']},{r['lenhei']},"
                     f"{r['measure']}")
        expected_rows.append((len(lines), f'Anak {k}, "A"' if k >= 9 else f"anak{k}", r))
        if k in (2, 3):
            lines.append("")  # blank lines: skipped but counted
        if k == 3:
            lines.append("bad,1,100")  # a short row: file row 8
    lines += ["", '"late",1,-5,10,80,l']  # after the switch to the csv module
    late_row = len(lines)
    src = tmp_path / "crlf.csv"
    src.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    out = tmp_path / "out.csv"
    code, cap = run(["zscores", src, "-o", out, "--chunk-size", "3"], capsys)
    assert code == 0
    _, got = read_csv(out)
    assert len(got) == len(good) + 2
    assert got.pop()["error"].startswith(f"row {late_row}: negative_age:")
    assert got[4]["nama"] == "bad" and got[4]["error"].startswith("row 8: bad_field_count:")
    assert "bad_field_count: 1 row(s): rows 8" in cap.err
    got = got[:4] + got[5:]
    for (row, nama, exp), g in zip(expected_rows, got):
        assert g["nama"] == nama and g["error"] == ""
        assert g["zwei"] == exp["zwei"] and g["zlen"] == exp["zlen"], row


def test_undecodable_input_exits_nonzero_and_leaves_no_output(tmp_path, capsys):
    src = tmp_path / "latin1.csv"
    src.write_bytes(b"sex,age_days,weight,nama\n1,100,6.1,Ani\n2,200,7.0,Jos\xe9\n")
    out = tmp_path / "out.csv"
    code, cap = run(["zscores", src, "-o", out], capsys)
    assert code == 2 and "not utf-8" in cap.err.lower()
    assert not out.exists() and not list(tmp_path.glob("out.csv.part*"))
    code, cap = run(["zscores", src, "-o", out, "--encoding", "latin-1"], capsys)
    assert code == 0
    _, got = read_csv(out)
    assert got[1]["nama"] == "José" and got[1]["zwei"] != ""
