"""Both entry points reproduce WHO anthro's own output on tests/data/validation_sample.csv.

Expected values are anthro's columns in the CSV (anthro 1.1.0, R 4.2.2; see
/work/shared/who-growth-standards/README.md), never the engine's output.
"""

import csv
import functools
import math
from pathlib import Path

import numpy as np
import pytest

from posyandu.core.growth import compute_zscores, zscores_one

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "validation_sample.csv"
NUM_INPUTS = ("age_days", "weight", "lenhei", "headc", "armc", "triskin", "subskin")
Z = ("zlen", "zwei", "zwfl", "zbmi", "zhc", "zac", "zts", "zss")
F = ("flen", "fwei", "fwfl", "fbmi", "fhc", "fac", "fts", "fss")
EXACT = Z + F + ("c9mo_flag", "csex")  # compared for exact equality
CLOSE = ("clenhei", "cbmi")  # unrounded, written with 15 significant digits
ALL_CHECKED = EXACT + CLOSE + ("cmeasure",)


@functools.lru_cache(maxsize=None)
def rows():
    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def _num(s):
    return math.nan if s == "" else float(s)


def _expected(r, col):
    if col == "cmeasure":
        return r[col] or None
    return _num(r[col])  # "Inf" parses to inf


def _inputs_raw(r):
    """One row's inputs, codes exactly as anthro received them (strings), NA as None."""
    d = {k: (None if r[k] == "" else float(r[k])) for k in NUM_INPUTS}
    for k in ("sex", "measure", "oedema"):
        d[k] = r[k] or None
    return d


def _same(exp, got, col):
    if col == "cmeasure":
        return exp == got
    if got is None:
        got = math.nan
    got = float(got)
    if math.isnan(exp) or math.isnan(got):
        return math.isnan(exp) and math.isnan(got)
    if col in CLOSE and math.isfinite(exp):
        return abs(exp - got) <= 1e-9 * max(1.0, abs(exp))
    return exp == got


@functools.lru_cache(maxsize=None)
def vector_raw_codes():
    rs = rows()
    kw = {k: np.array([_num(r[k]) for r in rs]) for k in NUM_INPUTS}
    for k in ("sex", "measure", "oedema"):
        kw[k] = np.array([r[k] or None for r in rs], dtype=object)
    return compute_zscores(**kw)


@functools.lru_cache(maxsize=None)
def vector_numeric_sex_lists():
    """Same data, other input forms: sex as float with NaN, codes as plain lists."""
    rs = rows()
    kw = {k: [None if r[k] == "" else float(r[k]) for r in rs] for k in NUM_INPUTS}
    kw["sex"] = np.array([_num(r["sex"]) for r in rs])
    kw["measure"] = [r["measure"] or None for r in rs]
    kw["oedema"] = [r["oedema"] or None for r in rs]
    return compute_zscores(**kw)


@functools.lru_cache(maxsize=None)
def scalar_results():
    return tuple(zscores_one(**_inputs_raw(r)) for r in rows())


def _mismatches(get, col):
    bad = []
    for i, r in enumerate(rows()):
        if r["anthro_error"]:
            continue
        exp, got = _expected(r, col), get(i)
        if not _same(exp, got, col):
            bad.append((r["id"], r["scenario"], r[col], got))
    return bad


def test_sample_shape():
    rs = rows()
    assert len(rs) == 2000
    assert sum(1 for r in rs if r["anthro_error"]) == 6


@pytest.mark.parametrize("col", ALL_CHECKED)
def test_vectorised_matches_anthro(col):
    res = vector_raw_codes()
    bad = _mismatches(lambda i: res[col][i], col)
    assert not bad, bad[:10]


@pytest.mark.parametrize("col", ALL_CHECKED)
def test_vectorised_other_input_forms_match_anthro(col):
    res = vector_numeric_sex_lists()
    bad = _mismatches(lambda i: res[col][i], col)
    assert not bad, bad[:10]


@pytest.mark.parametrize("col", ALL_CHECKED)
def test_scalar_matches_anthro(col):
    res = scalar_results()
    bad = _mismatches(lambda i: res[i][col], col)
    assert not bad, bad[:10]


def test_accepted_rows_have_no_error():
    res, one = vector_raw_codes(), scalar_results()
    for i, r in enumerate(rows()):
        if not r["anthro_error"]:
            assert res["error"][i] is None and one[i]["error"] is None, r["id"]


def test_rows_anthro_refused_are_missing_with_reason():
    """anthro stops on a negative age (RULES.md s.1); we blank just that row."""
    res, one = vector_raw_codes(), scalar_results()
    refused = [i for i, r in enumerate(rows()) if r["anthro_error"]]
    assert refused
    for i in refused:
        assert float(rows()[i]["age_days"]) < 0
        assert res["error"][i] == "negative_age"
        assert one[i]["error"] == "negative_age"
        for col in Z + F + ("clenhei", "cbmi", "c9mo_flag", "csex", "age_days_rounded"):
            assert math.isnan(res[col][i]), col
            assert one[i][col] is None, col
        for col in Z:
            assert math.isnan(res[col + "_raw"][i])
        assert res["cmeasure"][i] is None and one[i]["cmeasure"] is None


def test_unrounded_z_agree_with_anthro_unrounded():
    """The ``*_raw`` outputs are anthro's z before round() (CSV has 15 significant digits).

    Not bit-exact: numpy's power (SIMD) and R's libm pow can differ in the last bit, and
    ``z = ((y/M)^L - 1) / (S*L)`` divides that by ``S*L``, which is ~1e-5 where L ~ 1e-4
    (e.g. weight-for-age, girls, day 118).  So ~1e-11 differences are expected.
    """
    res = vector_raw_codes()
    worst = 0.0
    for i, r in enumerate(rows()):
        if r["anthro_error"]:
            continue
        for z in Z:
            exp = _num(r[z + "_unrounded"])
            got = res[z + "_raw"][i]
            if math.isnan(exp) or not math.isfinite(exp):
                assert math.isnan(exp) == math.isnan(got) and (exp == got or math.isnan(exp))
                continue
            worst = max(worst, abs(exp - got) / max(1.0, abs(exp)))
    assert worst < 1e-10
