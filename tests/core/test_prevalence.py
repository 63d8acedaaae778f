"""``anthro_prevalence`` against WHO anthro's own output and hand-worked cases.

The validation files are anthro's (tests/data/prevalence_validation_*.csv, copied from
/work/shared/who-growth-standards; see its README): every cell must equal anthro's to 1e-9
relative, NA where anthro has NA. The hand-worked cases cover the rules of RULES.md s.6 the
sample may not reach; their numbers are counted by hand and the arithmetic was done with R's
``qt``/``plogis``/``mean``/``sd`` on the counted values (the R expression is in each comment).
"""
from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import numpy as np
import pytest

from posyandu.core.prevalence import (
    COLUMNS, COUNT_COLUMNS, PrevalenceAccumulator, anthro_prevalence, mean_z, proportion)

DATA = Path(__file__).resolve().parents[1] / "data"
GROUPINGS = ("typeres", "gregion", "wealthq", "mothered", "othergr")


@functools.lru_cache(maxsize=None)
def validation_input():
    with open(DATA / "prevalence_validation_input.csv", newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


@functools.lru_cache(maxsize=None)
def validation_expected():
    with open(DATA / "prevalence_validation_expected.csv", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return tuple(header), tuple(dict(zip(header, r)) for r in reader)


def input_columns(rows):
    def num(c):
        return np.array([float(r[c]) if r[c] != "" else np.nan for r in rows])
    return dict(sex=[r["sex"] for r in rows], age=num("age_days"), weight=num("weight"),
                lenhei=num("lenhei"), measure=np.array([r["measure"] for r in rows], object),
                oedema=np.array([r["oedema"] for r in rows], object))


def assert_equals_anthro(got_rows, expected_rows, rel=1e-9):
    """Every cell of anthro's table, rows compared by Group (NA must be NA)."""
    got = {r["Group"]: r for r in got_rows}
    assert len(got) == len(got_rows)
    assert sorted(got) == sorted(e["Group"] for e in expected_rows)
    for e in expected_rows:
        g = got[e["Group"]]
        for col in COLUMNS[1:]:
            text, value = e[col], g[col]
            if text in ("", "NA", "NaN"):
                assert isinstance(value, float) and math.isnan(value), (e["Group"], col, value)
                continue
            want = float(text)
            assert not math.isnan(value), (e["Group"], col, want)
            assert math.isclose(value, want, rel_tol=rel, abs_tol=0.0), (e["Group"], col,
                                                                         want, value)


# --------------------------------------------------------------------------- anthro's file
def test_columns_are_anthros():
    header, _ = validation_expected()
    assert header == COLUMNS
    assert len(COLUMNS) == 135


def test_every_cell_equals_anthro():
    rows = validation_input()
    got = anthro_prevalence(**input_columns(rows), othergr=[r["posyandu"] for r in rows])
    _, expected = validation_expected()
    assert_equals_anthro(got, expected)
    # anthro's order here (fast path: factor levels, then first appearance)
    assert [r["Group"] for r in got] == [e["Group"] for e in expected]
    assert got[0]["Group"] == "All" and got[0]["HAZ_pop"] == 1758
    assert all(isinstance(got[0][c], int) for c in COUNT_COLUMNS)


@pytest.mark.parametrize("chunk", [1, 7, 500])
def test_chunked_and_merged_equal_the_whole(chunk):
    rows = validation_input()
    cols = input_columns(rows)
    groups = [r["posyandu"] for r in rows]
    whole = anthro_prevalence(**cols, othergr=groups)
    parts = []
    for a in range(0, len(rows), 997):  # two accumulators, merged
        acc = PrevalenceAccumulator(strata=["othergr"])
        for s in range(a, min(len(rows), a + 997), chunk):
            e = min(len(rows), s + chunk, a + 997)
            acc.add(cols["sex"][s:e], cols["age"][s:e], cols["weight"][s:e],
                    cols["lenhei"][s:e], cols["measure"][s:e], cols["oedema"][s:e],
                    othergr=groups[s:e])
        parts.append(acc)
    merged = parts[0]
    for p in parts[1:]:
        merged.merge(p)
    got = merged.rows()
    assert merged.N == 1994 - 44 and merged.excluded_age == 44
    for w, g in zip(whole, got):  # exact integer sums: identical, not just close
        assert w.keys() == g.keys()
        for c in COLUMNS:
            assert w[c] == g[c] or (isinstance(w[c], float) and math.isnan(w[c])
                                    and math.isnan(g[c])), c
    _, expected = validation_expected()
    assert_equals_anthro(got, expected)


def test_age_in_months_gives_the_same_table():
    """anthro's is_age_in_month: days = round_up(months * 30.4375), groups on the months."""
    rows = [r for r in validation_input() if r["age_days"] != ""
            and float(r["age_days"]).is_integer()]
    cols = input_columns(rows)
    by_days = anthro_prevalence(**cols)
    cols["age"] = cols["age"] / 30.4375
    by_months = anthro_prevalence(**cols, is_age_in_month=True)
    assert [r["Group"] for r in by_days] == [r["Group"] for r in by_months]
    for d, m in zip(by_days, by_months):
        for c in COUNT_COLUMNS:
            assert d[c] == m[c], (d["Group"], c)
        assert math.isclose(d["HA_r"], m["HA_r"], rel_tol=1e-12)


# --------------------------------------------------------------------------- hand-worked
FLAG = {"zlen": lambda z: abs(z) > 6, "zwei": lambda z: z < -6 or z > 5,
        "zbmi": lambda z: abs(z) > 5, "zwfl": lambda z: abs(z) > 5}


def zrows(*, zlen, zwei=None, zbmi=None, zwfl=None, sex=None, age_days=None, error=None):
    """A compute_zscores-like result for hand-made z-scores (flags from anthro's limits)."""
    n = len(zlen)
    nan = [math.nan] * n
    z = {}
    for name, vals in (("zlen", zlen), ("zwei", zwei), ("zbmi", zbmi), ("zwfl", zwfl)):
        v = np.array(nan if vals is None else vals, dtype=float)
        z[name] = v
        z["f" + name[1:]] = np.array([math.nan if x != x else float(FLAG[name](x)) for x in v])
    z["csex"] = np.array([1.0] * n if sex is None else sex, dtype=float)
    ages = np.array([400.0] * n if age_days is None else age_days, dtype=float)
    z["age_days_rounded"] = np.floor(ages + 0.5)
    z["error"] = np.array([None] * n if error is None else error, dtype=object)
    return z, ages / 30.4375


def table(z, months, oedema, groups=None, **kw):
    acc = PrevalenceAccumulator(strata=list(groups or {}))
    acc.add_zscores(z, oedema=np.array(oedema, bool), age_months=months, groups=groups, **kw)
    return acc, {r["Group"]: r for r in acc.rows()}


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-13)


def test_cutoffs_strict_on_rounded_z_flags_oedema_and_combined():
    nan = math.nan
    z, months = zrows(zlen=[-3.01, -3.0, -2.0, -1.99, 2.0, 3.01],
                      zwei=[-2.5, 1.0, 1.01, nan, 5.5, nan],      # 5.5 is flagged (> 5)
                      zwfl=[-2.01, 2.01, -2.5, nan, 1.0, nan])
    oedema = [False] * 5 + [True]  # row 6: oedema, so WA/BMI/WH count as -3.1
    _, t = table(z, months, oedema)
    a = t["All"]
    # HA: 6 values; < -3: {-3.01}; < -2: {-3.01, -3.0}; < -1: 4; > 1: {2.0, 3.01}; > 2 and
    # > 3: {3.01} (2.0 is not > 2)
    assert a["HAZ_pop"] == a["HAZ_unwpop"] == 6
    assert [a[f"HA{s}_r"] * 6 / 100 for s in ("_3", "_2", "_1", "1", "2", "3")] == \
        pytest.approx([1, 2, 4, 2, 1, 1])
    # R: x <- c(1,0,0,0,0,0); r <- mean(x); sqrt(6/5)/6*sqrt(sum((x-r)^2))*100;
    #    plogis(log(r/(1-r)) + c(-1,1)*qt(0.975,5)*sqrt(6/5/(6*r*(1-r))))*100
    assert close(a["HA_3_r"], 16.666666666666664)
    assert close(a["HA_3_se"], 16.666666666666664)
    assert close(a["HA_3_ll"], 0.90658262997393624)
    assert close(a["HA_3_ul"], 81.385560791420531)
    assert close(a["HA_2_se"], 21.081851067789199)
    assert close(a["HA_2_ll"], 4.1813818408271644)
    assert close(a["HA_1_ll"], 14.861303789425111)
    assert close(a["HA_1_ul"], 95.818618159172843)
    # R: x <- c(-3.01,-3,-2,-1.99,2,3.01); mean(x); sd(x); se and mean -/+ qt(0.975,5)*se
    assert close(a["HA_r"], -0.83166666666666667)
    assert close(a["HA_se"], 1.0790471619803175)
    assert close(a["HA_ll"], -3.6054457010481857)
    assert close(a["HA_ul"], 1.9421123677148526)
    assert close(a["HA_stdev"], 2.6431149552500863)
    # WA: -2.5, 1.0, 1.01, the flagged 5.5 left out, oedema as -3.1 -> 4 values
    assert a["WAZ_pop"] == 4
    assert close(a["WA_3_r"], 25.0) and close(a["WA_2_r"], 50.0)
    assert close(a["WA_2_se"], 27.386127875258303)  # R: x <- c(1,1,0,0), N = 6
    assert close(a["WA_2_ll"], 5.6469324534216625)
    assert close(a["WA_2_ul"], 94.35306754657833)
    assert close(a["WA1_r"], 25.0)  # 1.01 > 1, 1.0 is not
    for s in ("2", "3"):  # r = 0: CI [0, 0], se 0
        assert (a[f"WA{s}_r"], a[f"WA{s}_se"], a[f"WA{s}_ll"], a[f"WA{s}_ul"]) == (0, 0, 0, 0)
    # mean and SD without the oedema child: R: x <- c(-2.5, 1, 1.01), N = 6
    assert close(a["WA_r"], -0.16333333333333333)
    assert close(a["WA_se"], 1.0449922913059642)
    assert close(a["WA_ll"], -2.849571535744416)
    assert close(a["WA_stdev"], 2.0236188705715641)
    # BMI: only the oedema child (-3.1): pop 1, r = 1 -> CI [100, 100]; no mean
    assert a["BMIZ_pop"] == 1
    assert (a["BMI_3_r"], a["BMI_3_se"], a["BMI_3_ll"], a["BMI_3_ul"]) == (100, 0, 100, 100)
    assert math.isnan(a["BMI_r"]) and math.isnan(a["BMI_stdev"])
    # WH: -2.01, 2.01, -2.5, 1.0 and -3.1 -> pop 5; mean of the 4 measured
    assert a["WHZ_pop"] == 5
    assert close(a["WH_2_r"], 60.0) and close(a["WH2_r"], 20.0) and a["WH3_r"] == 0
    assert close(a["WH_r"], -0.375)
    assert close(a["WH_stdev"], 2.2186857971931642)
    # combined: row 4 (WH missing) left out; row 1 stunted & wasted, row 2 stunted &
    # overweight; row 6 (oedema, zlen 3.01) neither -> 1 of 5 each
    assert a["HA_2_WH_2_pop"] == a["HA_2_WH_2_unwpop"] == 5
    assert close(a["HA_2_WH_2_r"], 20.0) and close(a["HA_2_WH2_r"], 20.0)
    assert close(a["HA_2_WH_2_se"], 19.595917942265427)  # R: x <- c(1,0,0,0,0), N = 6
    assert close(a["HA_2_WH_2_ll"], 1.0617249434113107)
    assert close(a["HA_2_WH2_ul"], 85.346153980750827)


def test_oedema_counts_even_without_weight_length_or_age():
    """RULES.md s.6: an oedema child is below -3 for WA/BMI/WH whatever is missing."""
    nan = math.nan
    t = {r["Group"]: r for r in anthro_prevalence(
        sex=["1", "2", "1", "", "2"],
        age=[500, nan, 500, 700, 100],
        weight=[nan, 10.0, nan, nan, nan],
        lenhei=[nan, 80.0, nan, nan, nan],
        measure=["", "l", "", "", ""],
        oedema=["y", "Y", "n", "1", ""])}
    a = t["All"]
    # rows 1, 2, 4 have oedema: WA, BMI and WH each count 3 values, all -3.1
    for ind in ("WA", "BMI", "WH"):
        assert a[f"{ind}Z_pop"] == 3, ind
        assert (a[f"{ind}_3_r"], a[f"{ind}_3_se"], a[f"{ind}_3_ll"], a[f"{ind}_3_ul"]) == \
            (100, 0, 100, 100)
        assert (a[f"{ind}1_r"], a[f"{ind}1_ll"], a[f"{ind}1_ul"]) == (0, 0, 0)
        assert math.isnan(a[f"{ind}_r"]) and math.isnan(a[f"{ind}_se"])  # no measured z
    assert a["HAZ_pop"] == 0 and math.isnan(a["HA_2_r"]) and math.isnan(a["HA_stdev"])
    assert a["HA_2_WH_2_pop"] == 0 and math.isnan(a["HA_2_WH_2_r"])
    # age groups: rows 1, 3 (500 d), 4 (700 d) in 12-23 mo; row 5 (100 d) in 00-05 mo
    assert t["Age group: 12-23 mo"]["WAZ_pop"] == 2  # rows 1 and 4
    assert t["Age group: 00-05 mo"]["WAZ_pop"] == 0
    assert t["Age group: 48-59 mo"]["WAZ_pop"] == 0  # empty level: kept, pop 0, NA
    assert math.isnan(t["Age group: 48-59 mo"]["WA_3_r"])
    # sex: row 2 (age missing) counts for Female; row 4 (sex missing) for no sex
    assert t["Sex: Female"]["WAZ_pop"] == 1 and t["Sex: Male"]["WAZ_pop"] == 1
    assert t["Age + sex: 12-23 mo.Male"]["WAZ_pop"] == 1
    assert t["Age + sex: 12-23 mo.Female"]["WAZ_pop"] == 0
    assert len(t) == 1 + 6 + 2 + 12


def test_missing_age_rows_stay_in_all_sex_and_weight_for_height():
    nan = math.nan
    z, months = zrows(zlen=[nan, -1.0], zwfl=[2.5, 0.5], sex=[2.0, 1.0],
                      age_days=[nan, 400.0])
    acc, t = table(z, months, [False, False])
    assert acc.N == 2
    assert t["All"]["WHZ_pop"] == 2 and close(t["All"]["WH2_r"], 50.0)
    assert t["Sex: Female"]["WHZ_pop"] == 1 and t["Sex: Female"]["WH2_r"] == 100
    assert sum(t[f"Age group: {g}"]["WHZ_pop"] for g in
               ("00-05 mo", "06-11 mo", "12-23 mo", "24-35 mo", "36-47 mo", "48-59 mo")) == 1


def test_age_filter_on_rounded_days_and_n_after_it():
    """1826.4 d rounds to 1826 (kept, but 60.005 months is in no age group); 1826.5 and 1900
    are dropped and do not count in N."""
    z, months = zrows(zlen=[-2.5, -2.5, -2.5, 0.0], age_days=[1826.4, 1826.5, 1900.0, 1000.0])
    acc, t = table(z, months, [False] * 4)
    assert acc.N == 2 and acc.excluded_age == 2
    a = t["All"]
    assert a["HAZ_pop"] == 2 and close(a["HA_2_r"], 50.0)
    # N = 2: se = sqrt(2/1)/2 * sqrt(0.5^2 + 0.5^2) = 0.5; logit(0.5) = 0 and the half width
    # is qt(0.975, 1) * sqrt(2 / (2 * 0.25)) = 2 * 12.706204736174694
    assert close(a["HA_2_se"], 50.0)
    assert close(a["HA_2_ll"], 1 / (1 + math.exp(12.706204736174694 * 2)) * 100)
    assert t["Age group: 48-59 mo"]["HAZ_pop"] == 0  # the 1826.4-day child is not in it
    assert t["Age group: 24-35 mo"]["HAZ_pop"] == 1


def test_mean_of_cancelling_z_scores_is_rs_long_double_mean():
    # R: mean(c(0.1, 0.2, -0.3)) = 9.2518585385429707e-18; sd = 0.26457513110645903
    z, months = zrows(zlen=[0.1, 0.2, -0.3])
    _, t = table(z, months, [False] * 3)
    a = t["All"]
    assert a["HA_r"] == 9.2518585385429707e-18
    assert close(a["HA_stdev"], 0.26457513110645903)
    assert close(a["HA_se"], 0.15275252316519466)
    assert close(a["HA_ul"], 0.65724106077284272)


def test_one_row():
    """N = 1: qt(0.975, 0) is NaN and N/(N-1) infinite; r = 1 still gives [100, 100]."""
    z, months = zrows(zlen=[-1.5], zwei=[-2.5])
    _, t = table(z, months, [False])
    a = t["All"]
    assert (a["HA_1_r"], a["HA_1_ll"], a["HA_1_ul"]) == (100, 100, 100)
    assert math.isnan(a["HA_1_se"])  # sqrt(Inf) * 0
    assert (a["HA_3_r"], a["HA_3_ll"], a["HA_3_ul"]) == (0, 0, 0)
    assert a["HA_r"] == -1.5
    for c in ("HA_se", "HA_ll", "HA_ul", "HA_stdev"):
        assert math.isnan(a[c]), c
    assert t["Sex: Male"]["HAZ_pop"] == 1 and t["Sex: Female"]["HAZ_pop"] == 0


def test_groupings_labels_levels_and_all_na_strata():
    z, months = zrows(zlen=[-2.5, 0.0, 1.0, -1.0, 0.5, 0.2])
    groups = {
        "typeres": ["Urban", "Rural", "Urban", None, "Rural", "Urban"],   # some NA
        "gregion": [None, "", "NA", None, float("nan"), None],           # entirely NA
        "wealthq": [1, "Q2", "x", "5", "Q5", 3.0],                      # a factor
        "mothered": [2, 2.5, 2, 2, 2, 2],                                 # numbers
        "othergr": ["Posyandu F", "Posyandu E", "Posyandu F", "Posyandu E", "Posyandu G",
                    "Posyandu E"],
    }
    acc, t = table(z, months, [False] * 6, groups)
    labels = [r["Group"] for r in acc.rows()]
    start = labels.index("Area: Urban")
    assert labels[start:] == [
        "Area: Urban", "Area: Rural", "Area: NA",  # first appearance; NA kept as anthro does
        "Wealth quintile: Q1: Poorest", "Wealth quintile: Q2", "Wealth quintile: Q3",
        "Wealth quintile: Q4", "Wealth quintile: Q5: Richest",
        "Maternal education: 2", "Maternal education: 2.5",
        "Other grouping: Posyandu F", "Other grouping: Posyandu E",
        "Other grouping: Posyandu G"]
    assert not any(lbl.startswith("Geographical region") for lbl in labels)
    assert t["Area: NA"]["HAZ_pop"] == 0 and math.isnan(t["Area: NA"]["HA_r"])
    assert t["Area: Urban"]["HAZ_pop"] == 3 and close(t["Area: Urban"]["HA_2_r"],
                                                      100 / 3)
    assert [t[f"Wealth quintile: {q}"]["HAZ_pop"] for q in
            ("Q1: Poorest", "Q2", "Q3", "Q4", "Q5: Richest")] == [1, 1, 1, 0, 2]
    assert t["Other grouping: Posyandu E"]["HAZ_pop"] == 3
    assert close(t["Other grouping: Posyandu E"]["HA_r"], (0.0 - 1.0 + 0.2) / 3)


def test_rows_anthro_would_refuse_are_left_out():
    z, months = zrows(zlen=[-2.5, math.nan, 0.0], error=[None, "negative_age", None])
    acc, t = table(z, months, [False] * 3)
    assert acc.N == 2 and acc.excluded_invalid == 1
    assert t["All"]["HAZ_pop"] == 2


def test_nothing_left_raises():
    z, months = zrows(zlen=[0.0], age_days=[2000.0])
    acc = PrevalenceAccumulator()
    acc.add_zscores(z, oedema=np.array([False]), age_months=months)
    with pytest.raises(ValueError, match="no rows left"):
        acc.rows()


def test_unrounded_z_scores_are_refused():
    z, months = zrows(zlen=[0.123])
    with pytest.raises(ValueError, match="rounded to 2 decimals"):
        PrevalenceAccumulator().add_zscores(z, oedema=np.array([False]), age_months=months)


# --------------------------------------------------------------------------- SQL aggregates
def test_proportion_and_mean_z_from_aggregates():
    # the HA_2 'All' cell of anthro's file from its counts (345 of 1758 stunted, N = 1950)
    _, expected = validation_expected()
    a = expected[0]
    p = proportion(345, 1758, 1950)
    for s in ("r", "se", "ll", "ul"):
        assert math.isclose(p[s], float(a[f"HA_2_{s}"]), rel_tol=1e-9)
    m = mean_z(3, -0.16333333333333333 * 3, 2.5 ** 2 + 1 + 1.01 ** 2, 6)
    assert close(m["sd"], 2.0236188705715641) and close(m["se"], 1.0449922913059642)
