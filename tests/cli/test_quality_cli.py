"""``posyandu-anthro quality``: options, unusable input and rows the engine refuses.

(Every cell of the R validation sample is checked in tests/core/test_quality_validation.py.)
"""
from __future__ import annotations

import csv
import io

from posyandu.anthro_cli import main
from posyandu.core.quality import CHECKS, VALIDATION_COLUMNS


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


HEADER = ["kader", "sex", "age_days", "weight", "lenhei", "measure", "oedema"]
ROWS = [
    ["Ani", "1", "400", "9.1", "75.2", "l", "n"],
    ["Ani", "2", "500", "9.3", "76.4", "l", "n"],
    ["Budi", "m", "900", "12.0", "88.0", "h", "n"],
    ["Budi", "x", "900", "12.0", "88.0", "h", "n"],      # unknown sex code: no WHZ
    ["", "2", "700", "10.2", "80.1", "l", "n"],          # no group
    ["Budi", "1", "1000", "13.0", "90.0", "h", "y"],     # oedema: anthro gives no WHZ
]


def test_groups_counts_and_stdout(tmp_path, capsys):
    src = write(tmp_path / "in.csv", HEADER, ROWS)
    assert main(["quality", src, "--group-by", "kader"]) == 0
    out = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert [r["group"] for r in rows] == ["All", "Ani", "Budi", "NA"]
    n = {r["group"]: (int(r["n"]), int(r["whz_n"])) for r in rows}
    assert n == {"All": (6, 4), "Ani": (2, 2), "Budi": (3, 1), "NA": (1, 1)}
    budi = rows[2]
    # one analysed row: no SD, so no score (R's NA); its sex ratio is 1 boy / 0 girls
    assert budi["sd_whz"] == "" and budi["sd_class"] == "" and budi["score"] == ""
    assert budi["sex_ratio"] == "Inf"
    assert "too few rows to judge" in out.err
    assert "invalid_sex: 1 row(s): rows 5" in out.err  # oedema is not an error


def test_details_columns(tmp_path, capsys):
    src = write(tmp_path / "in.csv", HEADER, ROWS)
    out = tmp_path / "q.csv"
    assert main(["quality", src, "-o", str(out), "--details", "-q"]) == 0
    err = capsys.readouterr().err  # -q: only the refused row is reported (file row 5)
    assert "invalid_sex: 1 row(s): rows 5" in err and "too few rows" not in err
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:len(VALIDATION_COLUMNS)] == list(VALIDATION_COLUMNS)
    assert [r["group"] for r in rows] == ["All"]  # no --group-by
    assert rows[0]["flagged_n"] == "4" and rows[0]["flagged_enough_data"] == "FALSE"
    assert set(rows[0]["too_small"].split()) == set(CHECKS)
    assert rows[0]["points_judged"] == "0"


def test_unusable_input(tmp_path, capsys):
    src = write(tmp_path / "in.csv", HEADER, ROWS)
    assert main(["quality", src, "--group-by", "posyandu"]) == 2
    assert "column 'posyandu' not in the header" in capsys.readouterr().err
    bad = write(tmp_path / "bad.csv", ["kader", "weight"], [["Ani", "9.1"]])
    assert main(["quality", bad]) == 2
    assert "required column(s)" in capsys.readouterr().err
    assert main(["quality", str(tmp_path / "missing.csv")]) == 2
    assert main(["quality", src, "-o", src]) == 2
