"""Data-quality checks on hand-built groups; every expected value is worked out by hand from
the formulas in the data-quality notes (SMART / nipnTK / mwana), never taken from the code.

The chi-square upper tail with one degree of freedom is ``erfc(sqrt(x / 2))`` (a textbook
identity), which is how the p-values below are written.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from posyandu.core import quality as q


def chi1_upper(x: float) -> float:
    return math.erfc(math.sqrt(x / 2))


def group(whz, *, flag=None, sex=None, age_days=None, weight=None, lenhei=None, **kw):
    """assess() over hand-written rows; unspecified columns get harmless defaults."""
    n = len(whz)
    return q.assess(
        whz=np.array(whz, dtype=float),
        flag=np.zeros(n) if flag is None else np.array(flag, dtype=float),
        sex=np.ones(n) if sex is None else np.array(sex, dtype=float),
        age_days=np.full(n, 400.0) if age_days is None else np.array(age_days, dtype=float),
        weight=np.full(n, 9.3) if weight is None else np.array(weight, dtype=float),
        lenhei=np.full(n, 75.2) if lenhei is None else np.array(lenhei, dtype=float), **kw)


# --------------------------------------------------------------------------- statistics
def test_skewness_kurtosis_sd_by_hand():
    # x = 0, 0, 3: mean 1, deviations -1, -1, 2: sum d^2 = 6, sum d^3 = 6, sum d^4 = 18
    g = group([0.0, 0.0, 3.0])
    assert g.checks["sd"].value == pytest.approx(math.sqrt(6 / 2), rel=1e-12)
    assert g.checks["skewness"].value == pytest.approx(math.sqrt(3) * 6 / 6 ** 1.5, rel=1e-12)
    assert g.checks["skewness"].value == pytest.approx(1 / math.sqrt(2), rel=1e-12)
    assert g.checks["kurtosis"].value == pytest.approx(3 * 18 / 36 - 3, rel=1e-12)  # -1.5
    assert g.checks["skewness"].quality_class == "problematic"  # |0.707| >= 0.6
    assert g.checks["kurtosis"].quality_class == "problematic"  # |-1.5| >= 0.6


def test_flagged_rows_are_counted_then_left_out_of_sd_and_shape():
    g = group([0.0, 0.0, 3.0, -5.5], flag=[0, 0, 0, 1])
    assert g.checks["flagged"].value == 25.0 and g.checks["flagged"].n == 4
    assert g.checks["flagged"].quality_class == "problematic"
    assert g.checks["sd"].n == 3 and g.checks["sd"].value == pytest.approx(math.sqrt(3))


def test_no_flagged_rows():
    g = group([0.5, -0.5, 0.1, -0.1])
    assert g.checks["flagged"].value == 0.0
    assert (g.checks["flagged"].quality_class, g.checks["flagged"].points) == ("excellent", 0)


@pytest.mark.parametrize("k,n,pct,cls", [(1, 40, 2.5, "excellent"), (2, 40, 5.0, "good"),
                                         (3, 40, 7.5, "acceptable"), (4, 40, 10.0, "problematic")])
def test_flagged_percentage_at_the_class_limits(k, n, pct, cls):
    g = group([0.0] * n, flag=[1] * k + [0] * (n - k))
    assert g.checks["flagged"].value == pct
    assert g.checks["flagged"].quality_class == cls


def test_two_rows():
    # d = +-0.5: sd = 1/sqrt(2); sum d^3 = 0 -> skew 0; 2 * 2 d^4 / (2 d^2)^2 - 3 = -2
    g = group([1.0, 0.0])
    assert g.checks["sd"].value == pytest.approx(1 / math.sqrt(2))
    assert g.checks["skewness"].value == 0.0
    assert g.checks["kurtosis"].value == pytest.approx(-2.0)
    assert g.score is not None and set(g.too_small) == set(q.CHECKS)


def test_one_row_and_no_rows_have_no_figures():
    one = group([0.3])
    assert one.checks["sd"].value is None and one.checks["sd"].quality_class is None
    assert one.checks["skewness"].value is None and one.checks["kurtosis"].value is None
    assert one.score is None and one.quality is None  # R's NA propagates into the score
    none = group([])
    assert none.n == 0 and none.whz_n == 0
    assert all(c.value is None and c.points is None for c in none.checks.values())
    assert none.score is None and none.points_judged == 0


def test_identical_values_have_no_shape():
    g = group([0.2, 0.2, 0.2])  # sum d^2 = 0: skewness and kurtosis are 0/0
    # (R's mean of equal values is that value exactly, so every deviation is exactly 0)
    assert g.checks["sd"].value == 0.0 and g.checks["sd"].quality_class == "problematic"
    assert g.checks["skewness"].value is None and g.checks["kurtosis"].value is None


def test_rows_without_sex_age_or_whz_count_only_in_n():
    g = group([0.1, math.nan, -0.1, 0.4, 0.3], sex=[1, 1, 2, math.nan, 1],
              age_days=[400, 400, 400, 400, -1], weight=[9.1, 9.2, 9.3, 9.4, 9.5])
    assert g.n == 5 and g.whz_n == 2
    assert g.checks["dps_weight"].n == 2 and g.checks["sex_ratio"].n == 2


# --------------------------------------------------------------------------- prop.test
def test_prop_test_with_yates_by_hand():
    # x = 30 of 100 against 0.5: E = 50, 50; (|30 - 50| - 0.5)^2 / 50 * 2 = 15.21
    stat, p = q.prop_test(30, 100, 0.5)
    assert stat == pytest.approx(15.21, rel=1e-12)
    assert p == pytest.approx(chi1_upper(15.21), rel=1e-9)


def test_prop_test_correction_is_capped_at_the_distance():
    # |x - n p| = 0.3 < 0.5: YATES = 0.3, the statistic is exactly 0 and p exactly 1
    assert q.prop_test(3, 10, 0.27) == (0.0, 1.0)
    assert q.prop_test(5, 11, 0.5) == (0.0, 1.0)  # |5 - 5.5| = 0.5
    assert q.prop_test(0, 0, 0.5) == (None, None)


def test_all_one_sex():
    g = group([0.0] * 20, sex=[1] * 20)
    c = g.checks["sex_ratio"]
    # 20 boys, 0 girls: E = 10, 10; (10 - 0.5)^2 / 10 * 2 = 18.05
    assert c.n == 20 and c.ratio == math.inf
    assert c.value == pytest.approx(chi1_upper(18.05), rel=1e-9)
    assert c.quality_class == "problematic" and c.points == 10
    assert c.as_dict()["ratio"] is None  # JSON has no Infinity
    girls = group([0.0] * 4, sex=[2] * 4)
    assert girls.checks["sex_ratio"].ratio == 0.0


def test_age_ratio_months_are_floored_days_over_30_4375():
    # 182 d = 5.98 mo (out), 183 d = 6.01 (6-29), 913 d = 29.996 (6-29), 914 d = 30.03 (30-59),
    # 1826 d = 59.99 (30-59), 1827 d = 60.03 (out)
    g = group([0.0] * 6, age_days=[182, 183, 913, 914, 1826, 1827])
    c = g.checks["age_ratio"]
    assert c.n == 4 and c.ratio == 1.0
    p = 0.85 / 1.85
    e1, e2 = 4 * p, 4 * (1 - p)  # x = 2: |2 - 1.8378| = 0.162 < 0.5 -> YATES = 0.162
    y = abs(2 - e1)
    stat = (abs(2 - e1) - y) ** 2 / e1 + (abs(2 - e2) - y) ** 2 / e2
    assert stat == 0.0 and c.value == 1.0
    assert c.min_n == 11 and not c.enough_data  # 11 * 0.4595 = 5.05 >= 5, 10 * 0.4595 < 5


def test_no_child_aged_6_to_59_months():
    g = group([0.0] * 3, age_days=[10, 50, 150])
    c = g.checks["age_ratio"]
    assert (c.n, c.value, c.ratio, c.quality_class) == (0, None, None, None)
    only_young = group([0.0] * 3, age_days=[200, 300, 400])
    assert only_young.checks["age_ratio"].ratio == math.inf


# --------------------------------------------------------------------------- digit preference
def test_final_digit_is_the_one_written_with_one_decimal():
    # 10.25 is exact in binary: a tie, written "10.2" (round half to even, as C's printf);
    # 10.35 is 10.3499999... in binary: "10.3"; 28.08 -> "28.1"; 7 -> "7.0"; NaN not counted
    counts = q.final_digit_counts(np.array([10.25, 10.35, 28.08, 7.0, 7, math.nan]))
    assert counts.tolist() == [2, 1, 1, 1, 0, 0, 0, 0, 0, 0]


def test_dps_by_hand():
    assert q.digit_preference_score([5] * 10) == 0.0
    # all ten on one digit: E = 1, chi2 = 81 + 9 = 90, DPS = 100 sqrt(90 / 90) = 100
    assert q.digit_preference_score([10] + [0] * 9) == 100.0
    # half on 0, half on 5, N = 20: E = 2, chi2 = 2 * 64 / 2 + 8 * 4 / 2 = 80,
    # 100 sqrt(80 / 180) = 66.666... -> 66.67
    assert q.digit_preference_score([10, 0, 0, 0, 0, 10, 0, 0, 0, 0]) == 66.67
    assert q.digit_preference_score([0] * 10) is None


def test_dps_rounding_decides_the_class():
    # N = 363: three digits 23 times, seven 42 times. E = 36.3, chi2 = (3 * 13.3^2 + 7 * 5.7^2)
    # / 36.3 = 20.8843, DPS = 100 sqrt(20.8843 / 3267) = 7.9953 -> 8.00 after rounding: 'good'
    counts = [23, 23, 23] + [42] * 7
    raw = 100 * math.sqrt((3 * 13.3 ** 2 + 7 * 5.7 ** 2) / 36.3 / (363 * 9))
    assert 7.995 < raw < 8
    assert q.digit_preference_score(counts) == 8.0
    assert q.classify_dps(8.0) == "good" and q.classify_dps(7.99) == "excellent"
    # the same through assess(): weights whose final digits have those counts
    weights = np.concatenate([np.full(c, 10 + d / 10) for d, c in enumerate(counts)])
    g = group([0.0] * 363, weight=weights)
    assert g.checks["dps_weight"].value == 8.0
    assert (g.checks["dps_weight"].quality_class, g.checks["dps_weight"].points) == ("good", 2)


def test_dps_exactly_eight():
    # N = 250, five digits 19 times and five 31 times: chi2 = 10 * 36 / 25 = 14.4,
    # 100 sqrt(14.4 / 2250) = 100 * 0.08 = 8 exactly (7.999999999999999 in floating point)
    assert q.digit_preference_score([19] * 5 + [31] * 5) == 8.0


# --------------------------------------------------------------------------- classes, score
def test_p_value_boundaries():
    assert [q.classify_p(p) for p in (0.1000001, 0.1, 0.05, 0.001, 0.0)] == [
        "excellent", "good", "acceptable", "problematic", "problematic"]
    assert q.classify_p(None) is None


def test_sd_boundaries_are_strict():
    assert [q.classify_sd(v) for v in (1.0, 0.9, 1.1, 0.85, 1.15, 0.8, 1.2, 0.81)] == [
        "excellent", "good", "good", "acceptable", "acceptable", "problematic", "problematic",
        "acceptable"]


def test_skewness_and_kurtosis_classes_use_the_absolute_value():
    assert [q.classify_skew_kurt(v) for v in (0.19, -0.2, 0.39, -0.4, 0.59, -0.6)] == [
        "excellent", "good", "good", "acceptable", "acceptable", "problematic"]


def test_score_classes():
    assert [q.classify_score(s) for s in (0, 9, 10, 14, 15, 24, 25)] == [
        "excellent", "excellent", "good", "good", "acceptable", "acceptable", "problematic"]


def test_points_per_class():
    assert q.points_for("flagged", "good") == 5 and q.points_for("sd", "problematic") == 20
    assert q.points_for("skewness", "acceptable") == 3 and q.points_for("kurtosis", "good") == 1
    assert q.points_for("dps_height", "problematic") == 10 and q.points_for("age_ratio", "good") == 2


# --------------------------------------------------------------------------- small groups
def test_small_group_thresholds():
    s = q.default_settings()
    assert s.min_n_for("age_ratio") == 11  # ceil(5 / (0.85 / 1.85)) = ceil(10.88)
    assert s.min_n_for("sex_ratio") == 10
    assert s.min_n_for("dps_weight") == s.min_n_for("dps_height") == 160
    g = group([0.0, 0.1, -0.1] * 20, sex=[1, 2] * 30)  # 60 rows
    assert g.checks["flagged"].enough_data and g.checks["sd"].enough_data
    # every age is 400 d (13 months): the age ratio rests on 60 children, enough for the test
    assert g.checks["age_ratio"].n == 60 and g.checks["age_ratio"].enough_data
    assert set(g.too_small) == {"skewness", "kurtosis", "dps_weight", "dps_height"}


def test_points_judged_leave_out_checks_too_small():
    # 60 identical weights (dps 100, 10 points) but only the flagged/SD checks have enough data
    g = group(list(np.linspace(-1.5, 1.5, 60)), weight=[9.0] * 60)
    assert g.checks["dps_weight"].points == 10 and not g.checks["dps_weight"].enough_data
    judged = sum(c.points for c in g.checks.values() if c.enough_data)
    assert g.points_judged == judged
    assert g.score >= g.points_judged + 10


def test_groups_are_split_and_sorted_with_all_first():
    res = q.assess_groups(np.array(["b", "a", "b"]), whz=[0.0, 1.0, 2.0], flag=[0, 0, 0],
                          sex=[1, 2, 1], age_days=[400, 400, 400], weight=[9.1, 9.2, 9.3],
                          lenhei=[70.1, 70.2, 70.3])
    assert list(res) == ["All", "a", "b"]
    assert (res["All"].n, res["a"].n, res["b"].n) == (3, 1, 2)
    assert res["b"].checks["sd"].value == pytest.approx(math.sqrt(2))
