"""Classification per Permenkes 2/2020, LiLA, LK/U, BGM: expected values worked out by hand
from anthropometry-id.md (§2 tables, §5 LiLA, §6 LK, §7 KMS lines), not from the code."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from posyandu.core.growth.classify import classify_batch, classify_visit
from posyandu.core.growth.rules import (
    DEFAULT_RULES_PATH, RulesError, default_rules, load_rules, rules_from_dict,
)
from posyandu.core.growth.version import (
    RULESET_VERSION, STANDARD_VERSION, WHO_STANDARD, standard_version,
)

Z_KEYS = ("zlen", "zwei", "zwfl", "zbmi", "zhc", "zac")
FLAG_OF = {"zlen": "flen", "zwei": "fwei", "zwfl": "fwfl", "zbmi": "fbmi", "zhc": "fhc",
           "zac": "fac"}


def zmap(age_days=400, clenhei=75.0, **values):
    """Engine-shaped mapping: each given z is the UNROUNDED value (z*_raw); the rounded
    z is round(raw, 2) as the engine does; flags 0 unless passed as e.g. fwei=1."""
    out = {"age_days_rounded": age_days, "clenhei": clenhei, "cmeasure": "l"}
    for k in Z_KEYS:
        raw = values.pop(k, None)
        out[k + "_raw"] = raw
        out[k] = None if raw is None else round(raw, 2)
        out[FLAG_OF[k]] = None if raw is None else 0
    for k, v in values.items():          # explicit flags
        out[k] = v
    return out


@pytest.fixture(scope="module")
def rules_data():
    with open(DEFAULT_RULES_PATH, encoding="utf-8") as fh:
        return json.load(fh)


# --------------------------------------------------------------------------------------
# BB/U (§2.1): z < -3 sangat kurang; -3 <= z < -2 kurang; -2 <= z <= +1 normal; z > +1 risiko
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("z, code, label_id", [
    (-3.0001, "bbu.severely_underweight", "Berat badan sangat kurang"),  # z < -3
    (-3.0, "bbu.underweight", "Berat badan kurang"),           # -3 is inclusive in "kurang"
    (-2.5, "bbu.underweight", "Berat badan kurang"),
    (-2.0001, "bbu.underweight", "Berat badan kurang"),        # just below -2
    (-2.004, "bbu.underweight", "Berat badan kurang"),         # unrounded; displays -2.00
    (-2.0, "bbu.normal", "Berat badan normal"),                # -2 inclusive in normal
    (0.0, "bbu.normal", "Berat badan normal"),
    (1.0, "bbu.normal", "Berat badan normal"),                 # "-2 SD sd +1 SD": +1 inclusive
    (1.0001, "bbu.risk_of_overweight", "Risiko berat badan lebih"),  # z > +1
    (4.9, "bbu.risk_of_overweight", "Risiko berat badan lebih"),
])
def test_bbu_boundaries(z, code, label_id):
    r = classify_visit(zmap(zwei=z))["bbu"]
    assert r["status"] == "ok"
    assert r["category"] == code
    assert r["category_id"] == label_id
    assert r["label_id"] == "BB/U"
    assert r["reason"] is None


def test_unrounded_vs_rounded_comparison_is_a_setting(rules_data):
    # -2.004 displays as -2.00. Unrounded (default, §2.5): -3 <= -2.004 < -2 -> pendek.
    # Compared on the rounded -2.00: -2 <= z -> normal.
    z = zmap(zlen=-2.004, zwei=-2.004)
    r = classify_visit(z)
    assert r["compare_on"] == "unrounded"
    assert r["tbu"]["z"] == -2.0
    assert r["tbu"]["category"] == "tbu.stunted"
    assert r["bbu"]["category"] == "bbu.underweight"
    data = copy.deepcopy(rules_data)
    data["settings"]["compare_on"]["value"] = "rounded"
    rounded = rules_from_dict(data)
    r2 = classify_visit(z, rules=rounded)
    assert r2["tbu"]["category"] == "tbu.normal"
    assert r2["bbu"]["category"] == "bbu.normal"
    # +1.004 rounds to +1.00: unrounded > +1 -> risiko; rounded -> normal
    assert classify_visit(zmap(zwei=1.004))["bbu"]["category"] == "bbu.risk_of_overweight"
    assert classify_visit(zmap(zwei=1.004), rules=rounded)["bbu"]["category"] == "bbu.normal"


def test_unrounded_setting_requires_raw_keys():
    with pytest.raises(ValueError, match="zwei_raw"):
        classify_visit({"zwei": -1.0, "fwei": 0})


def test_bbu_is_never_labelled_gizi_buruk(rules_data):
    # §4: PMK 2/2020 reserves gizi buruk/kurang for BB/PB, BB/TB.
    for z in (-5.9, -3.5, -3.0, -2.5, 0.0, 3.0):
        r = classify_visit(zmap(zwei=z))["bbu"]
        assert "gizi" not in r["category_id"].lower()
    for cat in default_rules().indices["bbu"].categories:
        assert "gizi" not in cat.label_id.lower()
    bad = copy.deepcopy(rules_data)
    bad["indices"]["bbu"]["categories"][0]["id"] = "Gizi buruk"
    with pytest.raises(RulesError, match="gizi buruk"):
        rules_from_dict(bad)


# --------------------------------------------------------------------------------------
# PB/U or TB/U (§2.2): < -3 sangat pendek; -3..<-2 pendek; -2..+3 normal; > +3 tinggi
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("z, code, label_id", [
    (-3.0001, "tbu.severely_stunted", "Sangat pendek"),
    (-3.0, "tbu.stunted", "Pendek"),            # -3 SD sd <-2 SD: -3 inclusive
    (-2.004, "tbu.stunted", "Pendek"),
    (-2.0001, "tbu.stunted", "Pendek"),
    (-2.0, "tbu.normal", "Normal"),
    (1.0001, "tbu.normal", "Normal"),           # +1 is not a TB/U cut-off
    (3.0, "tbu.normal", "Normal"),              # -2 SD sd +3 SD: +3 inclusive
    (3.0001, "tbu.tall", "Tinggi"),
])
def test_tbu_boundaries(z, code, label_id):
    r = classify_visit(zmap(zlen=z))["tbu"]
    assert (r["category"], r["category_id"]) == (code, label_id)


def test_pbu_tbu_label_by_rounded_age_days():
    # §1/§3: PB/U below 731 rounded days, TB/U from 731 days; same for BB/PB vs BB/TB
    young = classify_visit(zmap(age_days=730, zlen=0.0, zwfl=0.0))
    old = classify_visit(zmap(age_days=731, zlen=0.0, clenhei=86.0, zwfl=0.0))
    assert young["tbu"]["label_id"] == "PB/U" and young["bbtb"]["label_id"] == "BB/PB"
    assert old["tbu"]["label_id"] == "TB/U" and old["bbtb"]["label_id"] == "BB/TB"
    assert young["tbu"]["category"] == old["tbu"]["category"] == "tbu.normal"
    unknown = classify_visit(zmap(age_days=None, zlen=0.0))
    assert unknown["tbu"]["label_id"] == "PB/U atau TB/U"


# --------------------------------------------------------------------------------------
# BB/PB or BB/TB and IMT/U 0-60 (§2.3): six categories
# --------------------------------------------------------------------------------------
SIX = [
    (-3.0001, "severely_wasted", "Gizi buruk"),          # z < -3
    (-3.0, "wasted", "Gizi kurang"),                     # -3 <= z < -2
    (-2.0001, "wasted", "Gizi kurang"),
    (-2.0, "normal", "Gizi baik"),                       # -2 <= z <= +1
    (1.0, "normal", "Gizi baik"),
    (1.0001, "possible_risk_of_overweight", "Berisiko gizi lebih"),   # +1 < z <= +2
    (2.0, "possible_risk_of_overweight", "Berisiko gizi lebih"),
    (2.0001, "overweight", "Gizi lebih"),                # +2 < z <= +3
    (3.0, "overweight", "Gizi lebih"),
    (3.0001, "obese", "Obesitas"),                       # z > +3
]


@pytest.mark.parametrize("z, suffix, label_id", SIX)
def test_bbtb_boundaries(z, suffix, label_id):
    r = classify_visit(zmap(zwfl=z))["bbtb"]
    assert (r["category"], r["category_id"]) == ("bbtb." + suffix, label_id)


@pytest.mark.parametrize("z, suffix, label_id", SIX)
def test_imtu_boundaries(z, suffix, label_id):
    r = classify_visit(zmap(zbmi=z))["imtu"]
    assert (r["category"], r["category_id"]) == ("imtu." + suffix, label_id)
    assert r["label_id"] == "IMT/U"


# --------------------------------------------------------------------------------------
# LK/U (§6): < -2 mikrosefali; -2..+2 normal; > +2 makrosefali; screening only
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("z, code", [
    (-2.0001, "lku.microcephaly"), (-2.0, "lku.normal"), (2.0, "lku.normal"),
    (2.0001, "lku.macrocephaly"),
])
def test_head_circumference_screening(z, code):
    r = classify_visit(zmap(zhc=z))["lku"]
    assert r["category"] == code
    assert r["screening"] is True


# --------------------------------------------------------------------------------------
# LiLA (§5): 6-59 completed months; < 11.5 gizi buruk akut; 11.5..<12.5 kurang; >= 12.5
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("age, armc, status, code", [
    (5, 10.0, "not_applicable", None),         # 5 months: outside window, even if very low
    (6, 11.4, "ok", "lila.severe_acute"),      # first month of the window
    (6, 11.5, "ok", "lila.moderate_acute"),    # 11.5 <= LiLA < 12.5
    (30, 12.4, "ok", "lila.moderate_acute"),
    (30, 12.5, "ok", "lila.normal"),           # >= 12.5 normal
    (59, 11.49, "ok", "lila.severe_acute"),    # last month of the window
    (60, 11.0, "not_applicable", None),        # 60 months: outside
    (0, 9.0, "not_applicable", None),
    (None, 12.0, "not_assessable", None),      # no age: cannot gate
    (12, None, "not_assessable", None),        # not measured
])
def test_lila_window_and_cutoffs(age, armc, status, code):
    r = classify_visit(zmap(zac=0.0), age_months=age, armc_cm=armc)["lila"]
    assert r["status"] == status
    assert r["category"] == code
    if status == "not_applicable":
        assert r["reason"] == "not_applicable" and r["reason_id"] == "Tidak berlaku"
    if status == "ok":
        assert r["armc_cm"] == armc


def test_lila_labels():
    r = classify_visit(zmap(zac=-3.0), age_months=10, armc_cm=11.0)["lila"]
    assert r["category_id"] == "Gizi buruk (akut)"
    r = classify_visit(zmap(zac=-2.5), age_months=10, armc_cm=12.0)["lila"]
    assert r["category_id"] == "Gizi kurang (akut)"


# --------------------------------------------------------------------------------------
# flags and missing values
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, flag, index, warning", [
    ("zwei", "fwei", "bbu", "remeasure_weight"),
    ("zlen", "flen", "tbu", "remeasure_length"),
    ("zwfl", "fwfl", "bbtb", "remeasure_weight_length"),
    ("zbmi", "fbmi", "imtu", "remeasure_weight_length"),
    ("zhc", "fhc", "lku", "remeasure_head_circumference"),
])
def test_flagged_z_gets_no_category_and_remeasure(key, flag, index, warning):
    # -6.5 would be the lowest category if it were believed; a flag means "do not".
    r = classify_visit(zmap(**{key: -6.5, flag: 1}))[index]
    assert r["category"] is None and r["category_id"] is None
    assert r["status"] == "flagged"
    assert r["reason"] == warning
    assert r["reason_id"] and r["reason_en"]
    assert r["z"] == -6.5          # still shown


def test_flagged_lila_and_flagged_waz_has_no_bgm():
    r = classify_visit(zmap(zac=5.5, fac=1), age_months=20, armc_cm=30.0)
    assert r["lila"]["status"] == "flagged"
    assert r["lila"]["reason"] == "remeasure_arm_circumference"
    r = classify_visit(zmap(zwei=-6.2, fwei=1))
    assert r["bgm"] is None and r["above_orange"] is None
    assert r["bbu"]["reason_id"] == "Berat badan tidak wajar: timbang ulang (tidak dihitung untuk status sampai diperbaiki)"


def test_missing_z_not_assessable_with_reason():
    # age 100 d: BB/PB table 45-110 cm; 44.0 cm and 110.5 cm are outside
    r = classify_visit(zmap(age_days=100, clenhei=44.0, zwei=0.0))
    assert r["bbtb"]["status"] == "not_assessable"
    assert r["bbtb"]["category"] is None
    assert r["bbtb"]["reason"] == "length_out_of_range"
    assert r["bbtb"]["reason_id"].startswith("Tidak dapat dinilai")
    assert classify_visit(zmap(age_days=100, clenhei=110.5))["bbtb"]["reason"] == \
        "length_out_of_range"
    # age 800 d: BB/TB table 65-120 cm; 64.9 outside, 120.0 inside (so the missing z has
    # another cause: generic not_assessable)
    assert classify_visit(zmap(age_days=800, clenhei=64.9))["bbtb"]["reason"] == \
        "length_out_of_range"
    assert classify_visit(zmap(age_days=800, clenhei=120.0))["bbtb"]["reason"] == \
        "not_assessable"
    r = classify_visit({})                 # nothing measured at all
    for key in ("bbu", "tbu", "bbtb", "imtu", "lku"):
        assert r[key]["status"] == "not_assessable"
        assert r[key]["category"] is None
        assert r[key]["reason_id"] == "Tidak dapat dinilai"
    assert r["bgm"] is None


def test_nan_counts_as_missing():
    r = classify_visit(zmap(zwei=float("nan")))
    assert r["bbu"]["status"] == "not_assessable"


def test_oedema_noted_and_weight_indices_not_assessable():
    # WHO anthro gives no zwei/zwfl/zbmi with oedema; length-for-age still computed.
    z = zmap(zlen=-1.0, zhc=0.0)
    r = classify_visit(z, oedema=True)
    assert r["oedema"] is True
    for key in ("bbu", "bbtb", "imtu"):
        assert r[key]["reason"] == "oedema"
    assert r["tbu"]["category"] == "tbu.normal"
    assert r["sam_criteria"] == ("oedema",)


def test_sam_case_finding_criteria():
    # §4: gizi buruk case = BB/TB < -3 or LiLA < 11.5 or bilateral oedema (any)
    r = classify_visit(zmap(zwfl=-3.2, zac=-3.5), age_months=14, armc_cm=11.2)
    assert r["sam_criteria"] == ("bbtb.severely_wasted", "lila.severe_acute")
    r = classify_visit(zmap(zwfl=-3.0), age_months=14, armc_cm=11.5)
    assert r["sam_criteria"] == ()          # -3.0 is gizi kurang, 11.5 is moderate


# --------------------------------------------------------------------------------------
# KMS lines (§7): BGM = waz < -3; above orange = waz > +1 (configurable)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("z, bgm, orange", [
    (-3.0001, True, False), (-3.0, False, False), (0.0, False, False),
    (1.0, False, False), (1.0001, False, True),
])
def test_kms_lines(z, bgm, orange):
    r = classify_visit(zmap(zwei=z))
    assert (r["bgm"], r["above_orange"]) == (bgm, orange)


def test_kms_lines_are_configurable(rules_data):
    data = copy.deepcopy(rules_data)
    data["settings"]["kms_red_line_z"]["value"] = -2.0
    data["settings"]["kms_orange_line_z"]["value"] = 2.0
    rules = rules_from_dict(data)
    assert classify_visit(zmap(zwei=-2.5), rules=rules)["bgm"] is True
    assert classify_visit(zmap(zwei=1.5), rules=rules)["above_orange"] is False


# --------------------------------------------------------------------------------------
# batch == one visit
# --------------------------------------------------------------------------------------
def _batch_input(n_random=400, seed=7):
    rng = np.random.default_rng(seed)
    edges = [-6.5, -5.0, -3.0001, -3.0, -2.9999, -2.004, -2.0001, -2.0, -1.9999, 0.0, 1.0,
             1.0001, 1.004, 2.0, 2.0001, 3.0, 3.0001, 5.2, np.nan]
    zs = np.concatenate([np.array(edges), rng.normal(0, 2.5, n_random)])
    n = zs.size
    z = {"age_days_rounded": np.where(np.arange(n) % 2 == 0, 400.0, 900.0),
         "clenhei": rng.uniform(40, 125, n), "cmeasure": np.array(["l"] * n, dtype=object)}
    for j, k in enumerate(Z_KEYS):
        raw = np.roll(zs, j)
        rounded = np.round(raw, 2)
        flag = np.where(np.isnan(raw), np.nan, (np.abs(rounded) > 5).astype(float))
        z[k + "_raw"], z[k], z[FLAG_OF[k]] = raw, rounded, flag
    age_m = rng.integers(0, 62, n).astype(float)
    age_m[::17] = np.nan
    armc = np.round(rng.uniform(10.5, 14.0, n), 1)
    armc[3] = 11.5
    armc[4] = 12.5
    armc[::13] = np.nan
    oedema = rng.random(n) < 0.05
    return z, age_m, armc, oedema


def test_batch_agrees_with_one_visit():
    z, age_m, armc, oedema = _batch_input()
    res = classify_batch(z, age_months=age_m, armc_cm=armc, oedema=oedema)
    n = len(age_m)
    for i in range(n):
        row = {k: (None if isinstance(v[i], float) and np.isnan(v[i]) else v[i])
               for k, v in z.items()}
        a = None if np.isnan(age_m[i]) else int(age_m[i])
        c = None if np.isnan(armc[i]) else float(armc[i])
        one = classify_visit(row, age_months=a, armc_cm=c, oedema=bool(oedema[i]))
        for key in ("bbu", "tbu", "bbtb", "imtu", "lku", "lila"):
            assert res[key][i] == one[key]["category"], (key, i)
            assert res[key + "_status"][i] == one[key]["status"], (key, i)
            assert res[key + "_reason"][i] == one[key]["reason"], (key, i)
        assert res["bgm"][i] == one["bgm"]
        assert res["above_orange"][i] == one["above_orange"]
        assert bool(res["oedema"][i]) == one["oedema"]


def test_batch_hand_values():
    z = {"zwei_raw": np.array([-3.0001, -3.0, -2.004, 1.0, 1.0001, np.nan, -6.5]),
         "fwei": np.array([0, 0, 0, 0, 0, np.nan, 1.0])}
    z["zwei"] = np.round(z["zwei_raw"], 2)
    r = classify_batch(z)
    assert list(r["bbu"]) == ["bbu.severely_underweight", "bbu.underweight",
                              "bbu.underweight", "bbu.normal", "bbu.risk_of_overweight",
                              None, None]
    assert list(r["bbu_status"])[-2:] == ["not_assessable", "flagged"]
    assert list(r["bgm"]) == [True, False, False, False, False, None, None]
    assert list(r["above_orange"]) == [False, False, False, False, True, None, None]
    assert list(r["lila_status"]) == ["not_assessable"] * 7     # no age given


# --------------------------------------------------------------------------------------
# rule data, version, speed
# --------------------------------------------------------------------------------------
def test_rule_data_has_source_version_and_notes(rules_data):
    assert rules_data["source"] and rules_data["version"]
    for group in ("settings", "visit_checks"):
        for name, rule in rules_data[group].items():
            assert {"value", "tag", "source", "note"} <= set(rule), name
    for name in ("status_max_age_months", "birth_weight_counts_as_previous_month",
                 "kbm_age0_uses_age_months"):
        assert {"value", "tag", "source", "note"} <= set(rules_data["trend"][name]), name
    for reading in rules_data["trend"]["kbm"]["readings"].values():
        assert {"source", "version", "tag", "note"} <= set(reading)
    for key, idx in rules_data["indices"].items():
        assert {"tag", "source", "note"} <= set(idx), key
        for cat in idx["categories"]:
            assert cat["code"].startswith(key + ".") and cat["id"] and cat["en"]
    assert rules_data["settings"]["compare_on"]["value"] == "unrounded"


def test_category_codes_are_stable():
    # Stored in the database: changing any of these needs a migration, not just a JSON edit.
    assert default_rules().category_codes() == (
        "bbu.severely_underweight", "bbu.underweight", "bbu.normal", "bbu.risk_of_overweight",
        "tbu.severely_stunted", "tbu.stunted", "tbu.normal", "tbu.tall",
        "bbtb.severely_wasted", "bbtb.wasted", "bbtb.normal",
        "bbtb.possible_risk_of_overweight", "bbtb.overweight", "bbtb.obese",
        "imtu.severely_wasted", "imtu.wasted", "imtu.normal",
        "imtu.possible_risk_of_overweight", "imtu.overweight", "imtu.obese",
        "lku.microcephaly", "lku.normal", "lku.macrocephaly",
        "lila.severe_acute", "lila.moderate_acute", "lila.normal",
    )


# Pin of the packaged rule data. If this fails you changed rules_id.json: bump its
# "version" (results are stored with it) and then update both values here.
PINNED_VERSION = "id-2020.2"
PINNED_FINGERPRINT = "ac41cc9b15ad89ed"


def test_ruleset_pinned_so_rule_changes_bump_the_version():
    rules = default_rules()
    assert (rules.version, rules.fingerprint) == (PINNED_VERSION, PINNED_FINGERPRINT)


def test_standard_version():
    assert WHO_STANDARD == "WHO-CGS-2006 / anthro 1.1.0 algorithm"
    assert RULESET_VERSION == "id-2020.2"
    assert STANDARD_VERSION == "who2006-anthro1.1.0+id-2020.2"
    assert standard_version() == STANDARD_VERSION
    assert classify_visit({})["standard_version"] == STANDARD_VERSION
    # a programmatic KBM switch must not be stored under the file's version
    assert standard_version(load_rules(kbm_reading="A")) == "who2006-anthro1.1.0+id-2020.2-kbmA"
    assert standard_version(load_rules(kbm_reading="B")) == STANDARD_VERSION


def test_invalid_rules_rejected(rules_data):
    bad = copy.deepcopy(rules_data)
    bad["indices"]["tbu"]["categories"][1]["upper"] = -4.0      # not increasing
    with pytest.raises(RulesError):
        rules_from_dict(bad)
    bad = copy.deepcopy(rules_data)
    bad["settings"]["compare_on"]["value"] = "nearest"
    with pytest.raises(RulesError):
        rules_from_dict(bad)
    bad = copy.deepcopy(rules_data)
    del bad["warnings"]["bgm"]
    with pytest.raises(RulesError):
        rules_from_dict(bad)


def test_one_visit_does_no_io_per_call(monkeypatch):
    # Request path: the rules are loaded once per process; a call must not re-read the
    # JSON (no timing thresholds in tests, so guard the expensive part directly).
    import builtins

    z = zmap(zwei=-1.0, zlen=-2.1, zwfl=0.3, zbmi=0.2, zhc=0.0, zac=-0.5)
    classify_visit(z, age_months=20, armc_cm=13.0)          # warm the rules cache

    def no_open(*a, **k):
        raise AssertionError("classify_visit opened a file")

    monkeypatch.setattr(builtins, "open", no_open)
    r = classify_visit(z, age_months=20, armc_cm=13.0)
    assert r["tbu"]["category"] == "tbu.stunted"            # -2.1: -3 <= z < -2
