"""Data quality against the R validation sample: every cell of validation_expected.csv.

tests/data/validation_input.csv and validation_expected.csv are copies of the data-quality
validation sample: z-scores by WHO anthro 1.1.0, the checks by nipnTK, classes by mwana's
cut-offs, all in R 4.2.2. Numbers must agree to 1e-9 relative, classes and counts exactly,
through the core (engine z-scores + ``core.quality``) and through ``posyandu-anthro quality``
(CSV in/out, .xlsx in and out).
"""
from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import numpy as np
import pytest

from posyandu.anthro_cli import main
from posyandu.core import quality
from posyandu.core.growth import compute_zscores

DATA = Path(__file__).resolve().parents[1] / "data"
INPUT = DATA / "validation_input.csv"
EXPECTED = DATA / "validation_expected.csv"
TEXT_COLUMNS = {"group", "flagged_class", "sd_class", "skew_class", "kurt_class",
                "dps_weight_class", "dps_height_class", "age_ratio_class", "sex_ratio_class",
                "quality"}
INT_COLUMNS = {"n", "whz_n", "score"}


@functools.lru_cache(maxsize=None)
def expected_rows():
    with open(EXPECTED, newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


@functools.lru_cache(maxsize=None)
def input_rows():
    with open(INPUT, newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def assert_row_equal(exp: dict, got: dict):
    assert set(got) >= set(quality.VALIDATION_COLUMNS)
    for col in quality.VALIDATION_COLUMNS:
        e, g = exp[col], got[col]
        where = (exp["group"], col, e, g)
        if col in TEXT_COLUMNS:
            assert str(g) == e, where
        elif col in INT_COLUMNS:
            assert int(g) == int(e), where
        else:
            e, g = float(e), float(g)
            assert math.isclose(g, e, rel_tol=1e-9, abs_tol=0.0), where


def test_core_matches_every_cell():
    rows = input_rows()
    col = lambda name: np.array([float(r[name]) for r in rows])  # noqa: E731
    sex, age, weight, lenhei = col("sex"), col("age_days"), col("weight"), col("lenhei")
    measure = np.array([{"l": 1.0, "h": 2.0}[r["measure"]] for r in rows])
    oedema = np.array([1.0 if r["oedema"] == "y" else 0.0 for r in rows])
    z = compute_zscores(sex=sex, age_days=age, weight=weight, lenhei=lenhei, measure=measure,
                        oedema=oedema)
    groups = np.array([r["posyandu"] for r in rows])
    results = quality.assess_groups(groups, whz=z["zwfl"], flag=z["fwfl"], sex=sex,
                                    age_days=age, weight=weight, lenhei=lenhei)
    got = quality.validation_rows(results)
    assert [r["group"] for r in got] == [r["group"] for r in expected_rows()]
    for exp, g in zip(expected_rows(), got):
        assert_row_equal(exp, g)


def read_output_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.mark.parametrize("chunk", ["100000", "333"])
def test_cli_csv_matches_every_cell(tmp_path, capsys, chunk):
    out = tmp_path / "quality.csv"
    assert main(["quality", str(INPUT), "--group-by", "posyandu", "-o", str(out),
                 "--chunk-size", chunk]) == 0
    header, got = read_output_csv(out)
    assert header == list(quality.VALIDATION_COLUMNS)  # exactly the validation columns
    assert len(got) == len(expected_rows())
    for exp, g in zip(expected_rows(), got):
        assert_row_equal(exp, g)
    err = capsys.readouterr().err
    assert "1,894 rows" in err and "Posyandu A: kurtosis (n=271 < 600)" in err


@pytest.fixture(scope="module")
def xlsx_input(tmp_path_factory):
    import xlsxwriter

    path = tmp_path_factory.mktemp("xlsx") / "visits.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    header = list(input_rows()[0])
    ws.write_row(0, 0, header)
    for i, r in enumerate(input_rows(), start=1):
        for j, c in enumerate(header):
            v = r[c]
            try:
                ws.write_number(i, j, float(v))
            except ValueError:
                ws.write_string(i, j, v)
    wb.close()
    return path


def test_cli_xlsx_in_and_out_match_every_cell(tmp_path, xlsx_input):
    import openpyxl

    out = tmp_path / "quality.xlsx"
    assert main(["quality", str(xlsx_input), "--group-by", "POSYANDU", "-o", str(out),
                 "-q"]) == 0
    ws = openpyxl.load_workbook(out, read_only=True).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == list(quality.VALIDATION_COLUMNS)
    for exp, r in zip(expected_rows(), rows[1:], strict=True):
        assert_row_equal(exp, dict(zip(rows[0], r)))
