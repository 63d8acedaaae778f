"""Early-warning rules on hand-built histories (posyandu.core.growth.early_warning).

Every test fixes the thresholds it relies on (``RULES`` below), so the expected results are
worked out by hand from those numbers, not from the packaged (tuned) values: a history just at
a threshold fires, one just short of it does not; flagged values are ignored; gaps behave.
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from posyandu.core.growth import early_warning as ew
from tests.early_warning.rules import EXPLICIT

BIRTH = dt.date(2025, 6, 1)

RULES = ew.default_ews_rules().with_values(EXPLICIT)
OFF = {
    "haz_decline": {"haz_decline.min_drop_z": 99.0},
    "haz_near_line": {"haz_near_line.max_z": -1.999},
    "weight_crossing": {"weight_crossing.min_drop_z": {"waz": 99.0, "whz": 99.0}},
    "weight_flat": {"weight_flat.max_gain_kg": -99.0},
    "gap_drop": {"gap_drop.min_drop_z": {"haz": 99.0, "waz": 99.0, "whz": 99.0}},
}


def only(rule: str, **extra) -> ew.EarlyWarningRules:
    """RULES with every other rule unable to fire (and ``extra`` overrides, dotted names with __)."""
    overrides = {k: v for name, off in OFF.items() if name != rule for k, v in off.items()}
    overrides.update({k.replace("__", "."): v for k, v in extra.items()})
    return RULES.with_values(overrides)


def visit(month: str, *, day: int = 10, haz=None, waz=None, whz=None, w=None, cm=None,
          flen=False, fwei=False, fwfl=False) -> dict:
    on = dt.date(int(month[:4]), int(month[5:7]), day)
    return {"measured_on": on, "age_days": (on - BIRTH).days, "zlen": haz, "zwei": waz, "zwfl": whz,
            "weight_kg": w, "clenhei": cm, "flen": flen, "fwei": fwei, "fwfl": fwfl}


def fired(visits, month: str, rules) -> list[tuple]:
    result = ew.evaluate_child(visits, month, rules)
    return [(f["rule"], f["index"]) for f in result.flags]


# --- haz_decline ---------------------------------------------------------------------------------
def test_haz_decline_fires_with_the_numbers_in_both_languages():
    # -0.9 (Mar) -> -1.7 (Jul): fitted trend falls 0.8 SD in 4 months; at that pace -2 comes soon
    visits = [visit("2026-03", haz=-0.9), visit("2026-05", haz=-1.2), visit("2026-06", haz=-1.4),
              visit("2026-07", haz=-1.7)]
    result = ew.evaluate_child(visits, "2026-07", only("haz_decline"))
    assert result.listed
    [flag] = result.flags
    assert flag["rule"] == "haz_decline" and flag["index"] == "haz"
    assert flag["values"]["from_z"] == -0.9 and flag["values"]["to_z"] == -1.7
    assert flag["values"]["months"] == 4 and flag["values"]["points"] == 4
    assert flag["message_en"].startswith("Length-for-age fell from -0.9 to -1.7 in 4 months (4 measurements)")
    assert flag["message_id"].startswith("PB/U turun dari -0,9 menjadi -1,7 dalam 4 bulan (4 pengukuran)")
    assert flag["measured_on"] == "2026-07-10"
    assert flag["advice_id"] and flag["advice_en"] and flag["label_id"] and flag["label_en"]


def test_haz_decline_threshold_two_points():
    # two points: the trend is the difference itself
    at = [visit("2026-03", haz=-1.0), visit("2026-05", haz=-1.5)]         # drop 0.50
    short = [visit("2026-03", haz=-1.0), visit("2026-05", haz=-1.49)]     # drop 0.49
    rules = only("haz_decline", haz_decline__horizon_months=99)
    assert fired(at, "2026-05", rules) == [("haz_decline", "haz")]
    assert fired(short, "2026-05", rules) == []


def test_haz_decline_needs_the_span_points_and_horizon():
    one_month = [visit("2026-04", haz=-1.0), visit("2026-05", haz=-1.6)]  # 1 month apart
    assert fired(one_month, "2026-05", only("haz_decline")) == []
    two = [visit("2026-03", haz=-1.0), visit("2026-05", haz=-1.6)]
    assert fired(two, "2026-05", only("haz_decline", haz_decline__min_points=3)) == []
    # slope -0.3/month from -1.0: -1.6 now, -2 in 1.33 months -> inside a 2-month horizon, not a 1-month one
    assert fired(two, "2026-05", only("haz_decline", haz_decline__horizon_months=2)) == [("haz_decline", "haz")]
    assert fired(two, "2026-05", only("haz_decline", haz_decline__horizon_months=1)) == []
    # outside the 6-month window the old value does not count
    old = [visit("2025-10", haz=-0.5), visit("2026-05", haz=-1.6)]
    assert fired(old, "2026-05", only("haz_decline")) == []


def test_haz_decline_not_for_a_stunted_child_and_flagged_lengths_ignored():
    stunted = [visit("2026-03", haz=-1.2), visit("2026-05", haz=-2.1)]
    result = ew.evaluate_child(stunted, "2026-05", only("haz_decline"))
    assert not result.listed and result.excluded_as_stunted
    # the falling value is flagged implausible: it takes no part, nothing fires
    flagged = [visit("2026-03", haz=-1.0), visit("2026-05", haz=-6.5, flen=True)]
    assert fired(flagged, "2026-05", only("haz_decline")) == []
    # ... and an earlier flagged value is no reference either
    flagged_ref = [visit("2026-03", haz=6.2, flen=True), visit("2026-05", haz=-1.6)]
    assert fired(flagged_ref, "2026-05", only("haz_decline")) == []


def test_a_length_that_shrank_is_a_measuring_error():
    # 70.0 cm then 68.8 cm (shrank 1.2 > 1.0 cm): the second length takes no part
    shrunk = [visit("2026-03", haz=-1.0, cm=70.0), visit("2026-05", haz=-1.7, cm=68.8)]
    assert fired(shrunk, "2026-05", only("haz_decline")) == []
    within = [visit("2026-03", haz=-1.0, cm=70.0), visit("2026-05", haz=-1.7, cm=69.0)]  # shrank 1.0: kept
    assert fired(within, "2026-05", only("haz_decline")) == [("haz_decline", "haz")]


# --- haz_near_line -------------------------------------------------------------------------------
@pytest.mark.parametrize("z,listed", [(-1.49, False), (-1.5, False), (-1.51, True), (-2.0, True)])
def test_near_line_band(z, listed):
    assert bool(fired([visit("2026-05", haz=z)], "2026-05", only("haz_near_line"))) is listed


def test_near_line_message_and_stunted_exclusion():
    result = ew.evaluate_child([visit("2026-05", haz=-1.8)], "2026-05", only("haz_near_line"))
    assert result.flags[0]["message_en"] == "Length-for-age is -1.8: below -1.5 SD, close to the stunting line (-2 SD)."
    assert result.flags[0]["message_id"] == "PB/U -1,8: di bawah -1,5 SD, dekat garis pendek (-2 SD)."
    below = ew.evaluate_child([visit("2026-05", haz=-2.01)], "2026-05", only("haz_near_line"))
    assert not below.listed and below.excluded_as_stunted


def test_height_label_from_two_years():
    on = BIRTH.replace(year=BIRTH.year + 2) + dt.timedelta(days=30)
    result = ew.evaluate_child([{"measured_on": on, "age_days": (on - BIRTH).days, "zlen": -1.8}],
                               f"{on:%Y-%m}", only("haz_near_line"))
    assert result.flags[0]["message_id"].startswith("TB/U -1,8")


# --- weight_crossing -----------------------------------------------------------------------------
def test_weight_crossing_through_lines():
    visits = [visit("2026-02", waz=-0.2), visit("2026-04", waz=-0.4), visit("2026-06", waz=-1.2)]
    result = ew.evaluate_child(visits, "2026-06", only("weight_crossing"))
    [flag] = result.flags
    assert (flag["rule"], flag["index"]) == ("weight_crossing", "waz")
    assert flag["values"]["from_z"] == -0.2 and flag["values"]["to_z"] == -1.2
    assert flag["values"]["lines_crossed_z"] == [-1.0] and flag["values"]["months"] == 4
    assert flag["message_en"] == "Weight-for-age fell from -0.2 to -1.2 in 4 months, crossing the -1 SD line(s)."
    two_lines = [visit("2026-02", waz=0.1), visit("2026-06", waz=-1.3)]
    flag = ew.evaluate_child(two_lines, "2026-06", only("weight_crossing")).flags[0]
    assert flag["values"]["lines_crossed_z"] == [0.0, -1.0]
    assert "garis 0 SD dan -1 SD" in flag["message_id"]


def test_weight_crossing_thresholds():
    rules = only("weight_crossing")
    assert fired([visit("2026-02", waz=-0.6), visit("2026-04", waz=-1.1)], "2026-04", rules) == [
        ("weight_crossing", "waz")]                                             # drop 0.5, crosses -1
    assert fired([visit("2026-02", waz=-0.6), visit("2026-04", waz=-1.09)], "2026-04", rules) == []  # 0.49
    assert fired([visit("2026-02", waz=-1.1), visit("2026-04", waz=-1.9)], "2026-04", rules) == []   # no line
    assert fired([visit("2026-02", waz=1.4), visit("2026-04", waz=0.1)], "2026-04", rules) == []     # +1 not a line
    # the reference is the HIGHEST value in the 6 months before (not only the previous visit)
    assert fired([visit("2026-01", waz=-0.4), visit("2026-03", waz=-0.8), visit("2026-05", waz=-1.0)],
                 "2026-05", rules) == []                                        # -1.0 is not below the -1 line
    assert fired([visit("2026-01", waz=-0.4), visit("2026-03", waz=-0.8), visit("2026-05", waz=-1.01)],
                 "2026-05", rules) == [("weight_crossing", "waz")]
    # weight-for-length has its own (larger) threshold: 0.79 does not fire, 0.8 does
    assert fired([visit("2026-02", whz=-0.5), visit("2026-04", whz=-1.29)], "2026-04", rules) == []
    assert fired([visit("2026-02", whz=-0.5), visit("2026-04", whz=-1.3)], "2026-04", rules) == [
        ("weight_crossing", "whz")]


def test_weight_crossing_ignores_flagged_weights():
    rules = only("weight_crossing")
    assert fired([visit("2026-02", waz=5.3, fwei=True), visit("2026-04", waz=-0.3)], "2026-04", rules) == []
    assert fired([visit("2026-02", waz=-0.2), visit("2026-04", waz=-6.2, fwei=True)], "2026-04", rules) == []
    assert fired([visit("2026-02", whz=-0.1), visit("2026-04", whz=-5.3, fwfl=True)], "2026-04", rules) == []


# --- weight_flat ---------------------------------------------------------------------------------
def test_weight_flat_two_intervals_without_gain():
    visits = [visit("2026-04", w=8.4), visit("2026-05", w=8.4), visit("2026-06", w=8.3)]
    result = ew.evaluate_child(visits, "2026-06", only("weight_flat"))
    [flag] = result.flags
    assert flag["rule"] == "weight_flat" and flag["index"] is None
    assert flag["values"]["weights_kg"] == [8.4, 8.4, 8.3] and flag["values"]["change_kg"] == -0.1
    assert flag["message_en"] == "No weight gain at two consecutive weighings: 8.4 → 8.4 → 8.3 kg over 2 months."
    assert flag["message_id"].endswith("8,4 → 8,4 → 8,3 kg dalam 2 bulan.")


def test_weight_flat_thresholds_and_gaps():
    rules = only("weight_flat")
    assert fired([visit("2026-04", w=8.4), visit("2026-05", w=8.5), visit("2026-06", w=8.5)], "2026-06", rules) == []
    # one missed month between weighings is bridged (2T cannot: O breaks its chain) ...
    assert fired([visit("2026-03", w=8.4), visit("2026-05", w=8.4), visit("2026-06", w=8.4)], "2026-06",
                 rules) == [("weight_flat", None)]
    # ... two missed months are not
    assert fired([visit("2026-02", w=8.4), visit("2026-05", w=8.4), visit("2026-06", w=8.4)], "2026-06", rules) == []
    # the last weighing of each earlier month counts (two in May: 8.6 then 8.4)
    assert fired([visit("2026-04", w=8.4), visit("2026-05", day=3, w=8.6), visit("2026-05", day=20, w=8.4),
                  visit("2026-06", w=8.4)], "2026-06", rules) == [("weight_flat", None)]
    # a flagged weight takes no part: the three usable weighings gained
    assert fired([visit("2026-04", w=8.0), visit("2026-05", w=8.4), visit("2026-05", day=20, w=84.0, fwei=True),
                  visit("2026-06", w=8.4)], "2026-06", rules) == []


def test_weight_flat_not_in_the_first_month():
    # born 30 January; weighed at 1, 16 and 30 days of age in three calendar months, no gain:
    # physiological weight loss, not faltering (30 days < 1 month of 30.4375 days)
    born = dt.date(2026, 1, 30)
    visits = [{"measured_on": born + dt.timedelta(days=d), "age_days": d, "weight_kg": w}
              for d, w in ((1, 3.2), (16, 3.1), (30, 3.1))]
    assert ew.evaluate_child(visits, "2026-03", only("weight_flat")).flags == []
    no_minimum = only("weight_flat", weight_flat__min_age_months=0)
    assert [f["rule"] for f in ew.evaluate_child(visits, "2026-03", no_minimum).flags] == ["weight_flat"]


# --- gap_drop ------------------------------------------------------------------------------------
def test_gap_drop_after_a_long_absence():
    visits = [visit("2026-01", waz=-0.6), visit("2026-05", waz=-1.1)]  # 4 months, drop 0.5
    result = ew.evaluate_child(visits, "2026-05", only("gap_drop"))
    [flag] = result.flags
    assert (flag["rule"], flag["index"]) == ("gap_drop", "waz") and flag["values"]["gap_months"] == 4
    assert flag["message_en"] == ("First visit after 4 months without a measurement: weight-for-age fell from "
                                  "-0.6 to -1.1.")
    rules = only("gap_drop")
    assert fired([visit("2026-01", waz=-0.6), visit("2026-05", waz=-1.09)], "2026-05", rules) == []  # drop 0.49
    assert fired([visit("2026-02", waz=-0.6), visit("2026-04", waz=-1.4)], "2026-04", rules) == []   # gap 2
    assert fired([visit("2026-02", waz=-0.6), visit("2026-05", waz=-1.1)], "2026-05", rules) == [("gap_drop", "waz")]
    assert fired([visit("2025-04", waz=-0.6), visit("2026-05", waz=-1.4)], "2026-05", rules) == []   # > 12 months
    assert fired([visit("2026-01", haz=-0.9), visit("2026-05", haz=-1.49)], "2026-05", rules) == []  # haz 0.59
    assert fired([visit("2026-01", haz=-0.9), visit("2026-05", haz=-1.5)], "2026-05", rules) == [("gap_drop", "haz")]


def test_gap_drop_counts_any_visit_as_ending_the_absence():
    # a visit in March (length only) means May is not "after a long absence" for the weight
    visits = [visit("2026-01", waz=-0.6), visit("2026-03", haz=-1.0), visit("2026-05", waz=-1.2)]
    assert fired(visits, "2026-05", only("gap_drop")) == []
    # a flagged last value before the absence is no reference: the one before it is
    visits = [visit("2026-01", waz=-0.6), visit("2026-02", waz=5.1, fwei=True), visit("2026-06", waz=-1.2)]
    assert fired(visits, "2026-06", only("gap_drop")) == [("gap_drop", "waz")]


# --- the month's list ----------------------------------------------------------------------------
def test_recent_months_and_newer_visits():
    visits = [visit("2026-02", waz=-0.2), visit("2026-04", waz=-1.2)]  # fires in April
    rules = only("weight_crossing")
    assert fired(visits, "2026-04", rules) and fired(visits, "2026-06", rules)  # April is in Apr..Jun
    assert fired(visits, "2026-07", rules) == []                                # too old by July
    assert fired(visits, "2026-03", rules) == []                                # April not yet visible
    recovered = visits + [visit("2026-05", waz=-0.3)]                           # a newer weighing clears it
    assert fired(recovered, "2026-05", rules) == []


def test_gate_keeps_children_far_from_the_line_off_the_list():
    drop = [visit("2026-02", waz=0.2, haz=-0.2), visit("2026-04", waz=-0.8, haz=-0.3)]
    gated = only("weight_crossing", general__max_latest_haz_z=-1.0)
    assert fired(drop, "2026-04", only("weight_crossing")) == [("weight_crossing", "waz")]
    assert fired(drop, "2026-04", gated) == []
    no_length = [visit("2026-02", waz=0.2), visit("2026-04", waz=-0.8)]           # judged on weight alone
    assert fired(no_length, "2026-04", gated) == [("weight_crossing", "waz")]
    near = [visit("2026-02", waz=0.2, haz=-1.1), visit("2026-04", waz=-0.8, haz=-1.2)]
    assert fired(near, "2026-04", gated) == [("weight_crossing", "waz")]


def test_age_limit_and_empty_history():
    old = [{"measured_on": dt.date(2026, 5, 1), "age_days": 1826, "zlen": -1.8}]
    assert ew.evaluate_child(old, "2026-05", only("haz_near_line")).flags == []
    assert ew.evaluate_child([], "2026-05", RULES).listed is False


# --- vectorised area computation ----------------------------------------------------------------
def _random_histories(rng, n_children: int):
    rows = []
    for child in range(n_children):
        birth = dt.date(2023, 1, 1) + dt.timedelta(days=int(rng.integers(0, 900)))
        haz, waz, whz, w = rng.normal(-1.2, 0.6), rng.normal(-0.8, 0.7), rng.normal(-0.4, 0.7), 7.0
        for m in range(int(rng.integers(1, 20))):
            month = dt.date(2024, 1, 1) + dt.timedelta(days=31 * (m + int(rng.integers(0, 3))))
            on = month.replace(day=int(rng.integers(1, 28)))
            if on < birth:
                continue
            haz += rng.normal(-0.05, 0.25)
            waz += rng.normal(-0.03, 0.3)
            whz += rng.normal(0, 0.35)
            w = round(max(2.0, w + rng.normal(0.1, 0.25)), 1)
            rows.append({"child": f"c{child:03d}", "measured_on": on, "age_days": (on - birth).days,
                         "weight_kg": w, "clenhei": 60 + m + rng.normal(0, 0.6),
                         "zlen": None if rng.random() < 0.2 else round(haz, 2), "flen": rng.random() < 0.03,
                         "zwei": round(waz, 2), "fwei": rng.random() < 0.03,
                         "zwfl": None if rng.random() < 0.3 else round(whz, 2), "fwfl": rng.random() < 0.03})
    return rows


def _columns(rows):
    cols, keys, order = ew.build_columns(
        [r["child"] for r in rows], [r["measured_on"] for r in rows], [r["age_days"] for r in rows],
        [r["weight_kg"] for r in rows], [r["clenhei"] for r in rows], [r["zlen"] for r in rows],
        [r["zwei"] for r in rows], [r["zwfl"] for r in rows], [r["flen"] for r in rows], [r["fwei"] for r in rows],
        [r["fwfl"] for r in rows])
    return cols, keys


def test_area_computation_equals_the_per_child_entry_point():
    rng = np.random.default_rng(7)
    rows = _random_histories(rng, 60)
    rng.shuffle(rows)                                    # any input order
    cols, keys = _columns(rows)
    month = ew.month_index(2025, 3)
    visible, results, flags = ew.evaluate_month(cols, month, RULES)
    listed_somewhere = 0
    for code, key in enumerate(keys):
        mine = [r for r in rows if r["child"] == key]
        single = ew.evaluate_child(mine, "2025-03", RULES)
        assert single.listed == bool(flags.listed[code])
        area = ew.explain(visible, results, flags, code, RULES) if flags.listed[code] else []
        assert single.flags == area
        listed_somewhere += single.listed
    assert listed_somewhere > 5  # the random histories do exercise the rules


def test_reading_a_month_equals_recomputing_from_the_visits_known_then():
    """Causality: rows evaluated once over the whole history and read for month M give what the
    rules said on only the visits recorded up to the end of M."""
    rng = np.random.default_rng(11)
    cols, keys = _columns(_random_histories(rng, 120))
    results = ew.evaluate_rows(cols, RULES)
    for month in range(ew.month_index(2024, 1), ew.month_index(2025, 10)):
        whole = ew.flags_for_month(cols, results, month, RULES, len(keys))
        _vis, _res, then = ew.evaluate_month(cols, month, RULES)
        assert np.array_equal(whole.listed, then.listed)
        assert np.array_equal(whole.fired, then.fired)


# --- the data file -------------------------------------------------------------------------------
def test_every_number_has_a_source_and_a_tag():
    data = json.loads(ew.DEFAULT_PATH.read_text(encoding="utf-8"))
    entries = list(data["general"].items())
    for code, rule in data["rules"].items():
        entries += [(f"{code}.{k}", v) for k, v in rule["params"].items()]
        for part in ("label", "message", "advice"):
            assert rule[part]["id"] and rule[part]["en"], (code, part)
    for name, entry in entries:
        assert set(entry) >= {"value", "tag", "source", "note"}, name
        assert entry["tag"] in ("V", "P", "U"), name
        assert entry["source"] and entry["note"], name
    assert set(data["rules"]) == set(ew.RULE_CODES)


def test_bad_rule_data_is_refused():
    with pytest.raises(KeyError):
        RULES.with_values({"haz_decline.no_such_threshold": 1})
    with pytest.raises(ew.EarlyWarningRulesError):
        RULES.with_values({"haz_near_line.max_z": -2.5})
    with pytest.raises(ew.EarlyWarningRulesError):
        RULES.with_values({"weight_crossing.indices": ["haz"]})
