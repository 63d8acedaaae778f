"""N/T/O/B, 2T, KBM, visit checks and visit warnings. Expected values worked out by hand
from growth-velocity-id.md §2.1 (normative) and §3.2 (KBM reading B), not from the code."""
from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from posyandu.core.growth.classify import classify_visit
from posyandu.core.growth.rules import DEFAULT_RULES_PATH, load_rules, rules_from_dict
from posyandu.core.growth.trend import (
    WeighingTrend, changed_results, check_against_previous, completed_months,
    compute_trend, deciding_weighings, month_statuses, visit_warnings,
)

BIRTH = date(2024, 1, 10)


def by_id(results):
    return {r.measurement_id: r for r in results}


@pytest.fixture(scope="module")
def rules_data():
    with open(DEFAULT_RULES_PATH, encoding="utf-8") as fh:
        return json.load(fh)


# --------------------------------------------------------------------------------------
# completed months (bulan penuh), calendar arithmetic
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("birth, on, months", [
    (date(2024, 7, 28), date(2024, 8, 27), 0),    # doc example: 28 July -> 27 August = 0
    (date(2024, 7, 28), date(2024, 8, 28), 1),    # same day-of-month: 1 completed month
    (date(2024, 7, 28), date(2024, 7, 28), 0),
    (date(2023, 1, 31), date(2023, 2, 28), 0),    # 31 Jan -> 28 Feb: day 28 < 31
    (date(2023, 1, 31), date(2023, 3, 1), 1),
    (date(2020, 2, 29), date(2021, 2, 28), 11),   # 12 calendar months minus 1 (28 < 29)
    (date(2020, 2, 29), date(2021, 3, 1), 12),
    (date(2019, 3, 10), date(2024, 3, 9), 59),    # 60 months minus one day
    (date(2019, 3, 10), date(2024, 3, 10), 60),
])
def test_completed_months(birth, on, months):
    assert completed_months(birth, on) == months


# --------------------------------------------------------------------------------------
# N / T / O / B and 2T
# --------------------------------------------------------------------------------------
def test_b_n_t_2t_sequence_and_gain_equal_to_kbm_is_n():
    # born 10 Jan 2024; each weighing on the 15th, so age = months since January.
    res = compute_trend(BIRTH, [
        ("a", date(2024, 2, 15), 4.0),   # first weighing ever -> B
        ("b", date(2024, 3, 15), 4.9),   # age 2, KBM 900; gain 900 = KBM -> N (gain >= KBM)
        ("c", date(2024, 4, 15), 5.6),   # age 3, KBM 800; gain 700 < 800 -> T
        ("d", date(2024, 5, 15), 6.0),   # age 4, KBM 600; gain 400 -> T; T after T -> 2T
    ])
    r = by_id(res)
    assert [x.status for x in res] == ["B", "N", "T", "T"]
    assert [x.is_2t for x in res] == [False, False, False, True]
    assert (r["b"].gain_g, r["b"].kbm_g, r["b"].age_months) == (900, 900, 2)
    assert (r["c"].gain_g, r["c"].kbm_g) == (700, 800)
    assert (r["d"].gain_g, r["d"].kbm_g) == (400, 600)
    assert r["a"].gain_g is None and r["a"].previous_id is None
    assert r["a"].previous_source is None
    assert (r["d"].previous_id, r["d"].previous_date, r["d"].previous_weight_kg) == \
        ("c", date(2024, 4, 15), 5.6)
    assert r["d"].previous_source == "weighing"
    assert r["b"].status_label_id == "Naik" and r["c"].status_label_id == "Tidak naik"
    assert r["a"].status_label_id == "Baru"
    assert all(x.counts_for_month and not x.superseded for x in res)


def test_o_breaks_the_2t_chain():
    res = compute_trend(BIRTH, [
        ("a", date(2024, 5, 15), 6.0),   # B
        ("b", date(2024, 6, 15), 6.2),   # age 5, KBM 500, gain 200 -> T
        # no weighing in July
        ("c", date(2024, 8, 15), 6.5),   # weighed before, not last month -> O
        ("d", date(2024, 9, 15), 6.6),   # age 8, KBM 300, gain 100 -> T, but previous is O
    ])
    assert [x.status for x in res] == ["B", "T", "O", "T"]
    assert [x.is_2t for x in res] == [False, False, False, False]
    r = by_id(res)
    assert r["c"].gain_g is None and r["c"].kbm_g is None    # O: no N/T judgement
    assert r["c"].previous_id == "b"                           # last earlier weighing shown


def test_t_t_is_2t_even_with_loss_and_no_change():
    res = compute_trend(BIRTH, [
        ("a", date(2025, 2, 15), 10.0),  # B
        ("b", date(2025, 3, 15), 10.0),  # age 14, KBM 200, gain 0 (unchanged) -> T
        ("c", date(2025, 4, 15), 9.9),   # gain -100 (loss) -> T; T after T -> 2T
        ("d", date(2025, 5, 15), 10.1),  # gain 200 = KBM -> N, chain ends
    ])
    assert [(x.status, x.is_2t, x.gain_g, x.kbm_g) for x in res] == [
        ("B", False, None, None), ("T", False, 0, 200), ("T", True, -100, 200),
        ("N", False, 200, 200)]


@pytest.mark.parametrize("weight, reading, status", [
    (7.35, None, "T"),    # age 7, reading B (default): KBM 400; gain 350 -> T
    (7.40, None, "N"),    # gain 400 = KBM(7) -> N
    (7.35, "A", "N"),     # reading A: KBM(7) = 300; gain 350 -> N
    (7.29, "A", "T"),     # gain 290 < 300 -> T
])
def test_month_7_kbm_reading(weight, reading, status):
    rules = load_rules(kbm_reading=reading) if reading else None
    res = compute_trend(BIRTH, [("a", date(2024, 7, 15), 7.0),      # age 6
                                ("b", date(2024, 8, 15), weight)],  # age 7
                        rules=rules)
    assert res[1].age_months == 7
    assert res[1].kbm_g == (400 if reading is None else 300)
    assert res[1].status == status


def test_kbm_table_reading_b():
    rules = load_rules()
    assert rules.kbm_reading == "B"
    expected = {1: 800, 2: 900, 3: 800, 4: 600, 5: 500, 6: 400, 7: 400, 8: 300, 9: 300,
                10: 300, 11: 200, 12: 200, 24: 200, 59: 200}
    assert {m: rules.kbm_g(m) for m in expected} == expected
    assert rules.kbm_g(0) == 800      # age-0 rule: uses month 1 (data setting)


def test_kbm_indexed_by_completed_months_not_30_day_blocks():
    # born 28 July; weighed 30 July (B) and 27 August: 0 completed months (not 1), so
    # the age-0 rule applies: KBM(1) = 800. Gain 750 -> T.
    res = compute_trend(date(2024, 7, 28), [("a", date(2024, 7, 30), 3.2),
                                            ("b", date(2024, 8, 27), 3.95)])
    assert res[1].age_months == 0 and res[1].kbm_g == 800
    assert (res[1].gain_g, res[1].status) == (750, "T")
    # born 10 Jan, weighed 9 April: 2 completed months (KBM 900), not 3 (KBM 800)
    res = compute_trend(BIRTH, [("a", date(2024, 3, 15), 5.0), ("b", date(2024, 4, 9), 5.85)])
    assert res[1].age_months == 2 and res[1].kbm_g == 900 and res[1].status == "T"


def test_calendar_months_not_30_day_windows():
    # born 1 June 2023. 31 Jan and 1 Feb 2024 are consecutive calendar months (1 day
    # apart): N/T, not O. 1 Feb -> 1 Apr: March skipped -> O although only 60 days.
    res = compute_trend(date(2023, 6, 1), [("a", date(2024, 1, 31), 9.0),   # B
                                           ("b", date(2024, 2, 1), 9.3),    # age 8
                                           ("c", date(2024, 4, 1), 9.6)])   # O
    # b: age 8 completed months (1 Feb vs day 1), KBM(8) = 300, gain 300 -> N
    assert [x.status for x in res] == ["B", "N", "O"]
    assert (res[1].age_months, res[1].kbm_g, res[1].gain_g) == (8, 300, 300)


def test_two_weighings_in_a_month_last_counts():
    res = compute_trend(BIRTH, [
        ("a", date(2024, 2, 20), 4.5),   # age 1 -> B
        ("b", date(2024, 3, 5), 5.0),    # age 1 (5 < 10), KBM 800, gain 500 -> T, superseded
        ("c", date(2024, 3, 25), 5.5),   # age 2, KBM 900, gain 1000 -> N, counts for March
        ("d", date(2024, 4, 20), 6.2),   # vs c (last of March): gain 700 < 800 -> T; March
                                         # counted N, so not 2T
    ])
    r = by_id(res)
    assert (r["b"].status, r["b"].superseded, r["b"].counts_for_month) == ("T", True, False)
    assert (r["b"].age_months, r["b"].gain_g, r["b"].kbm_g) == (1, 500, 800)
    assert (r["c"].status, r["c"].superseded, r["c"].counts_for_month) == ("N", False, True)
    assert r["c"].previous_id == "a" and r["b"].previous_id == "a"
    assert (r["d"].previous_id, r["d"].gain_g, r["d"].status, r["d"].is_2t) == \
        ("c", 700, "T", False)
    months = month_statuses(res)
    assert {m: x.measurement_id for m, x in months.items()} == \
        {"2024-02": "a", "2024-03": "c", "2024-04": "d"}
    # D = N + T + O + B: one counted weighing per month
    assert [x.status for x in months.values()] == ["B", "N", "T"]


def test_second_weighing_of_first_month_is_also_b():
    # no weighing before the month at all -> B for both; only the last counts
    res = compute_trend(BIRTH, [("a", date(2024, 2, 12), 4.4), ("b", date(2024, 2, 26), 4.6)])
    assert [(x.status, x.counts_for_month) for x in res] == [("B", False), ("B", True)]


def test_input_order_and_same_day_ties():
    shuffled = [("d", date(2024, 5, 15), 6.0), ("a", date(2024, 2, 15), 4.0),
                ("c", date(2024, 4, 15), 5.6), ("b", date(2024, 3, 15), 4.9)]
    res = compute_trend(BIRTH, shuffled)
    assert [x.measurement_id for x in res] == ["a", "b", "c", "d"]
    # same date: the later one in the input is the later weighing (counts)
    res = compute_trend(BIRTH, [("a", date(2024, 2, 15), 4.0),
                                ("x", date(2024, 3, 15), 4.1), ("y", date(2024, 3, 15), 4.9)])
    r = by_id(res)
    assert r["x"].superseded and r["y"].counts_for_month
    assert (r["y"].gain_g, r["y"].status) == (900, "N")


def test_no_status_from_60_months():
    born = date(2019, 3, 10)
    res = compute_trend(born, [
        ("a", date(2024, 1, 15), 15.0),  # age 58 -> B
        ("b", date(2024, 2, 15), 15.3),  # age 59, KBM 200, gain 300 -> N
        ("c", date(2024, 3, 10), 15.5),  # age 60 -> no status
        ("d", date(2024, 4, 10), 15.4),  # age 61 -> no status (no T from a loss either)
    ])
    assert [x.age_months for x in res] == [58, 59, 60, 61]
    assert [x.status for x in res] == ["B", "N", None, None]
    assert res[2].no_status_reason == "age_60_plus" and res[2].gain_g is None
    assert not res[3].is_2t


# --------------------------------------------------------------------------------------
# birth weight as "weighed last month" (data setting, default true if born in m-1)
# --------------------------------------------------------------------------------------
def test_birth_weight_counts_when_born_last_month():
    born = date(2024, 7, 28)
    # 27 Aug: 0 completed months; KBM via the age-0 rule = 800; gain 3.7-3.0 = 700 -> T
    res = compute_trend(born, [("a", date(2024, 8, 27), 3.7)], birth_weight_kg=3.0)
    a = res[0]
    assert (a.status, a.gain_g, a.kbm_g) == ("T", 700, 800)
    assert (a.previous_source, a.previous_id, a.previous_date, a.previous_weight_kg) == \
        ("birth_weight", None, born, 3.0)
    res = compute_trend(born, [("a", date(2024, 8, 27), 3.8)], birth_weight_kg=3.0)
    assert res[0].status == "N"                    # gain 800 = KBM
    # birth 5 July, weighed 10 August: age 1, KBM(1) = 800 against the birth weight
    res = compute_trend(date(2024, 7, 5), [("a", date(2024, 8, 10), 4.0)], birth_weight_kg=3.1)
    assert (res[0].age_months, res[0].gain_g, res[0].status) == (1, 900, "N")


def test_birth_weight_rule_limits_and_switch(rules_data):
    # no birth weight -> B
    res = compute_trend(date(2024, 7, 28), [("a", date(2024, 8, 27), 3.7)])
    assert res[0].status == "B"
    # born two months before the first weighing: birth weight is not a posyandu weighing,
    # so not O but B
    res = compute_trend(date(2024, 6, 15), [("a", date(2024, 8, 20), 5.0)], birth_weight_kg=3.0)
    assert res[0].status == "B" and res[0].previous_source is None
    # a posyandu weighing later in the birth month replaces the birth weight (last counts)
    res = compute_trend(date(2024, 7, 5), [("a", date(2024, 7, 20), 3.5),
                                           ("b", date(2024, 8, 20), 4.4)], birth_weight_kg=3.0)
    assert [x.status for x in res] == ["B", "N"]           # 4.4 - 3.5 = 900 >= KBM(1) 800
    assert res[1].previous_source == "weighing" and res[1].previous_id == "a"
    # setting off -> the birth weight is ignored: B
    data = copy.deepcopy(rules_data)
    data["trend"]["birth_weight_counts_as_previous_month"]["value"] = False
    res = compute_trend(date(2024, 7, 28), [("a", date(2024, 8, 27), 3.7)],
                        birth_weight_kg=3.0, rules=rules_from_dict(data))
    assert res[0].status == "B"


# --------------------------------------------------------------------------------------
# edits in the middle recompute later months
# --------------------------------------------------------------------------------------
HISTORY = [("a", date(2024, 2, 15), 4.0), ("b", date(2024, 3, 15), 4.9),
           ("c", date(2024, 4, 15), 5.6), ("d", date(2024, 5, 15), 6.0)]
# hand result: B, N (900>=900), T (700<800), T+2T (400<600)


def test_edit_in_the_middle_recomputes_later_months():
    before = compute_trend(BIRTH, HISTORY)
    assert [(x.status, x.is_2t) for x in before] == \
        [("B", False), ("N", False), ("T", False), ("T", True)]
    # c corrected 5.6 -> 5.8: c gain 900 >= 800 -> N; d gain 200 < 600 -> T, no longer 2T
    edited = [h if h[0] != "c" else ("c", h[1], 5.8) for h in HISTORY]
    after = compute_trend(BIRTH, edited)
    assert [(x.status, x.is_2t) for x in after] == \
        [("B", False), ("N", False), ("N", False), ("T", False)]
    assert [x.measurement_id for x in changed_results(before, after)] == ["c", "d"]
    # b corrected 4.9 -> 4.5: b gain 500 < 900 -> T; c gain 1100 -> N; d 400 -> T (not 2T)
    edited = [h if h[0] != "b" else ("b", h[1], 4.5) for h in HISTORY]
    after = compute_trend(BIRTH, edited)
    assert [(x.status, x.is_2t) for x in after] == \
        [("B", False), ("T", False), ("N", False), ("T", False)]


def test_delete_in_the_middle_recomputes_later_months():
    before = compute_trend(BIRTH, HISTORY)
    after = compute_trend(BIRTH, [h for h in HISTORY if h[0] != "c"])
    # April empty now: d was weighed before but not last month -> O, no gain, not 2T
    d = by_id(after)["d"]
    assert (d.status, d.is_2t, d.gain_g) == ("O", False, None)
    assert [x.measurement_id for x in changed_results(before, after)] == ["d"]
    # deleting the first weighing makes the next one B
    after = compute_trend(BIRTH, HISTORY[1:])
    assert after[0].status == "B"


def test_weighing_without_weight_or_before_birth_is_ignored():
    res = compute_trend(BIRTH, [("a", date(2024, 2, 15), 4.0), ("x", date(2024, 3, 2), None),
                                ("b", date(2024, 3, 15), 4.9), ("z", date(2023, 12, 1), 3.0)])
    r = by_id(res)
    assert r["x"].status is None and r["x"].no_status_reason == "no_weight"
    assert r["z"].status is None and r["z"].no_status_reason == "before_birth"
    assert r["b"].status == "N" and r["b"].counts_for_month
    assert not r["x"].counts_for_month


def test_long_history_single_pass():
    # 36 monthly weighings on the 15th from Jan 2002 (24 months) to Dec 2004 (59 months),
    # +250 g each month; KBM is 200 g from 12 months, so every month after the first is N.
    born = date(2000, 1, 1)
    rows = [(i, date(2002 + (i // 12), 1 + i % 12, 15), 12.0 + 0.25 * i) for i in range(36)]
    res = compute_trend(born, rows)
    # first at 24 months -> B; 25..59 months: gain 250 >= 200 -> N; from 60 months none
    assert res[0].status == "B"
    assert all(r.status == "N" and r.gain_g == 250 for r in res[1:36])
    assert res[35].age_months == 59
    more = compute_trend(born, rows + [(36, date(2005, 1, 15), 21.25)])
    assert more[-1].age_months == 60 and more[-1].status is None
    assert isinstance(res[0], WeighingTrend) and res[0].as_dict()["status"] == "B"


# --------------------------------------------------------------------------------------
# checks against the previous visit
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("prev_cm, cur_cm, warn", [
    (80.0, 79.0, False),     # shrank exactly 1.0 cm = tolerance: not "more than"
    (80.0, 78.9, True),      # 1.1 cm > 1.0
    (80.0, 80.4, False),
    (75.3, 74.3, False),     # float noise around 1.0 must not trigger
])
def test_length_decrease_warning(prev_cm, cur_cm, warn):
    w = check_against_previous({"date": date(2024, 5, 1), "clenhei": cur_cm},
                               {"date": date(2024, 4, 1), "clenhei": prev_cm})
    assert [x["code"] for x in w] == (["length_decreased"] if warn else [])
    if warn:
        assert w[0]["detail"]["decrease_cm"] == round(prev_cm - cur_cm, 2)
        assert "ukur ulang" in w[0]["label_id"]


def test_length_check_uses_adjusted_clenhei():
    # The check compares clenhei (after the 0.7 cm lying/standing adjustment, §3).
    # 23 months, lying 85.0 -> clenhei 85.0. At 25 months (>= 731 d):
    #   standing 84.5 -> clenhei 84.5: 0.5 cm lower, within the 1.0 cm tolerance;
    #   lying 84.5 -> clenhei 83.8 (-0.7): 1.2 cm lower than 85.0 -> warn.
    assert check_against_previous({"date": date(2024, 3, 1), "clenhei": 84.5},
                                  {"date": date(2024, 1, 1), "clenhei": 85.0}) == []
    w = check_against_previous({"date": date(2024, 3, 1), "clenhei": 83.8},
                               {"date": date(2024, 1, 1), "clenhei": 85.0})
    assert [x["code"] for x in w] == ["length_decreased"]
    assert w[0]["detail"]["decrease_cm"] == 1.2


@pytest.mark.parametrize("prev_date, cur_date, prev_kg, cur_kg, warn", [
    (date(2024, 3, 1), date(2024, 3, 20), 8.0, 9.6, True),    # +1.6 within a month > 1.5
    (date(2024, 3, 1), date(2024, 3, 20), 8.0, 9.5, False),   # +1.5: not more than 1.5
    (date(2024, 3, 1), date(2024, 3, 20), 8.0, 6.4, True),    # -1.6: losses count too
    (date(2024, 3, 1), date(2024, 3, 1), 8.0, 9.0, False),    # same day: still 1.5 allowed
    # 1 Jan -> 1 Mar 2024 = 60 days = 1.971 months -> 1.5 x 1.971 = 2.957 kg allowed
    (date(2024, 1, 1), date(2024, 3, 1), 8.0, 10.9, False),
    (date(2024, 1, 1), date(2024, 3, 1), 8.0, 11.0, True),
])
def test_weight_jump_warning(prev_date, cur_date, prev_kg, cur_kg, warn):
    w = check_against_previous({"date": cur_date, "weight_kg": cur_kg},
                               {"date": prev_date, "weight_kg": prev_kg})
    assert [x["code"] for x in w] == (["weight_change_implausible"] if warn else [])
    if warn:
        assert w[0]["kind"] == "remeasure" and "timbang ulang" in w[0]["label_id"]


def test_weight_jump_limit_is_data(rules_data):
    data = copy.deepcopy(rules_data)
    data["visit_checks"]["weight_change_max_kg_per_month"]["value"] = 1.0
    w = check_against_previous({"date": date(2024, 3, 20), "weight_kg": 9.2},
                               {"date": date(2024, 3, 1), "weight_kg": 8.0},
                               rules=rules_from_dict(data))
    assert [x["code"] for x in w] == ["weight_change_implausible"]


def test_checks_need_previous_values():
    assert check_against_previous({"date": date(2024, 3, 1), "weight_kg": 9.0}, None) == []
    assert check_against_previous({"date": date(2024, 3, 1), "weight_kg": 9.0},
                                  {"date": date(2024, 2, 1), "clenhei": 70.0}) == []
    with pytest.raises(ValueError):
        check_against_previous({"date": date(2024, 1, 1)}, {"date": date(2024, 2, 1)})


# --------------------------------------------------------------------------------------
# whole-visit warnings
# --------------------------------------------------------------------------------------
def _z(**raw):
    out = {}
    flags = {"zwei": "fwei", "zlen": "flen", "zwfl": "fwfl", "zbmi": "fbmi", "zhc": "fhc",
             "zac": "fac"}
    for k, v in raw.items():
        if k in flags:
            out[k], out[k + "_raw"] = round(v, 2), v
            out.setdefault(flags[k], 0)
        else:
            out[k] = v
    return out


def test_visit_warnings_combine_everything():
    cls = classify_visit(_z(zwei=-3.2, zwfl=-6.0, fwfl=1, zbmi=-5.6, fbmi=1, zlen=-1.0),
                         age_months=14, armc_cm=12.0, oedema=True)
    t = compute_trend(BIRTH, [("a", date(2024, 3, 15), 5.0), ("b", date(2024, 4, 15), 5.5),
                              ("c", date(2024, 5, 15), 5.8)])
    assert (t[-1].status, t[-1].is_2t) == ("T", True)    # 500<800 T, 300<600 T -> 2T
    checks = check_against_previous({"date": date(2024, 5, 15), "clenhei": 60.0},
                                    {"date": date(2024, 4, 15), "clenhei": 62.0})
    w = visit_warnings(cls, t[-1], checks)
    codes = [x["code"] for x in w]
    # sorted by priority: remeasure first, then referral hints
    assert codes == ["remeasure_weight_length", "length_decreased", "oedema",
                     "lila_moderate_acute", "bgm", "weight_not_gained_2t"]
    assert w[0]["detail"] == {"indices": ["bbtb", "imtu"]}     # one warning for both flags
    two_t = w[-1]
    assert "perlu dirujuk ke tenaga kesehatan" in two_t["label_id"] and two_t["refer"]
    assert all(x["label_id"] and x["label_en"] for x in w)


def test_visit_warnings_t_orange_lila_severe():
    cls = classify_visit(_z(zwei=1.5), age_months=20, armc_cm=11.0)
    t = {"status": "T", "is_2t": False}
    codes = [x["code"] for x in visit_warnings(cls, t)]
    assert codes == ["lila_severe_acute", "weight_not_gained", "above_orange_line"]
    t_warn = visit_warnings(None, t)[0]
    assert t_warn["label_id"] == "Berat badan tidak naik (T): perlu dirujuk ke tenaga kesehatan"


def test_visit_warnings_none_for_normal_visit():
    cls = classify_visit(_z(zwei=0.0, zlen=0.0, zwfl=0.0, zbmi=0.0, zhc=0.0, zac=0.0),
                         age_months=20, armc_cm=14.0)
    t = compute_trend(BIRTH, [("a", date(2024, 3, 15), 5.0), ("b", date(2024, 4, 15), 6.0)])
    assert visit_warnings(cls, t[-1]) == []
    # flagged weight-for-age -> measure again, and no BGM from an implausible z
    cls = classify_visit(_z(zwei=-6.3, fwei=1))
    assert [x["code"] for x in visit_warnings(cls)] == ["remeasure_weight"]


# --------------------------------------------------------------------------------------
# deciding_weighings: the short history the request path replays
# --------------------------------------------------------------------------------------
def test_deciding_weighings_keeps_months_m2_to_m_and_the_latest_usable_earlier_one():
    history = [("a", date(2024, 2, 5), 4.0), ("b", date(2024, 3, 5), 5.0), ("c", date(2024, 3, 20), None),
               ("d", date(2024, 5, 5), 6.0), ("e", date(2024, 6, 5), 6.5), ("f", date(2024, 7, 5), 7.0),
               ("g", date(2024, 8, 5), 7.2)]
    # target in July 2024: May..July kept; the latest usable weighing before May is "b"
    # ("c" in March has no weight); August is after the target and never matters.
    assert [w[0] for w in deciding_weighings(BIRTH, history, date(2024, 7, 9))] == ["b", "d", "e", "f"]
    # nothing before month m-2: nothing prepended
    assert [w[0] for w in deciding_weighings(BIRTH, history, date(2024, 3, 9))] == ["a", "b", "c"]


def test_deciding_weighings_gives_the_full_history_result_on_random_histories():
    """The windowed replay must agree with the whole-history replay (the reference) for
    the weighing it is asked about: gaps (O), first visits (B), birth weight in m-1, several
    weighings per month and per date, missing weights, weighings before birth, age 60+."""
    import random
    rng = random.Random(20261128)
    checked = 0
    for case in range(600):
        birth = date(2019 + rng.randrange(6), 1 + rng.randrange(12), 1 + rng.randrange(28))
        bw = rng.choice([None, 2.4, 3.1, 3.6])
        visits, day = [], birth.toordinal() - rng.randrange(0, 40)
        for k in range(rng.randrange(1, 40)):
            day += rng.choice([0, 3, 12, 25, 31, 31, 31, 33, 45, 62, 95])
            weight = rng.choice([None, 0.0]) if rng.random() < 0.08 else round(3 + k * 0.25 + rng.gauss(0, 0.4), 1)
            visits.append((f"v{k}", date.fromordinal(day), weight))
        target = rng.randrange(len(visits))
        mid, on, _ = visits[target]
        full = {r.measurement_id: r for r in compute_trend(birth, visits, bw)}[mid]
        window = deciding_weighings(birth, visits, on)
        assert any(w[0] == mid for w in window)
        short = {r.measurement_id: r for r in compute_trend(birth, window, bw)}[mid]
        assert (short.status, short.is_2t, short.gain_g, short.kbm_g, short.no_status_reason) == \
            (full.status, full.is_2t, full.gain_g, full.kbm_g, full.no_status_reason), (case, birth, bw, visits, mid)
        checked += full.status is not None
    assert checked > 300
