"""POST /measurements: the assessment computed at write time, retries, bad input, query count.

Expected z-scores come from the WHO anthro validation sample (tests/data/validation_sample.csv);
categories, N/T/O/B and KBM are worked out by hand from anthropometry-id.md §2/§7 and
growth-velocity-id.md §2.1/§3 (KBM reading B, the packaged default).
"""
from __future__ import annotations

import uuid
from types import SimpleNamespace
from datetime import date, timedelta

import pytest

from posyandu.extensions import db
from posyandu.measurements.models import Measurement
from posyandu.measurements.schemas import latest_today

from tests import factories
from tests.measurements.conftest import count, counts, validation_row
from tests.querycount import statements_during

Z_KEYS = ("zlen", "zwei", "zwfl", "zbmi", "zhc", "zac")
F_KEYS = ("flen", "fwei", "fwfl", "fbmi", "fhc", "fac")


def _child_for_row(world, row, measured_on):
    return factories.child(world.posyandu_a1, "Anak Uji", sex=int(row["sex"]),
                           birth_date=measured_on - timedelta(days=int(row["age_days"])))


def _post_row(post_visit, child, row, measured_on, **extra):
    body = dict(weight_kg=float(row["weight"]), length_cm=float(row["lenhei"]),
                measure_method={"l": "lying", "h": "standing"}[row["measure"]],
                head_circumference_cm=float(row["headc"]), arm_circumference_cm=float(row["armc"]))
    body.update(extra)
    return post_visit(measured_on, child=child, **body).json


def _assert_zscores_match_anthro(result, row):
    a = result["assessment"]
    for key in Z_KEYS:
        assert a["zscores"][key] == pytest.approx(float(row[key]), abs=1e-9), key
    for key in F_KEYS:
        assert a["flags"][key] is (row[key] == "1"), key
    assert a["clenhei"] == pytest.approx(float(row["clenhei"]))
    assert a["age_days"] == int(row["age_days"])


def test_lying_row_matches_anthro_and_pmk_categories(app, world, post_visit):
    # validation row 18: boy, 681 days, 10.8 kg, 78.2 cm lying
    row = validation_row("18")
    measured_on = date(2025, 6, 10)
    child = _child_for_row(world, row, measured_on)
    result = _post_row(post_visit, child, row, measured_on)
    _assert_zscores_match_anthro(result, row)
    a = result["assessment"]
    cats = a["categories"]
    # zlen -2.77 (-3 <= z < -2): pendek; zwei -0.80: BB normal; zwfl 0.77: gizi baik;
    # zbmi 1.36 (+1 < z <= +2): berisiko gizi lebih; zhc -0.77: normal; LiLA 13.5 cm at 22 months: normal
    assert cats["tbu"]["code"] == "tbu.stunted" and cats["tbu"]["label_id"] == "Pendek"
    assert cats["tbu"]["index_label_id"] == "PB/U"  # under 731 days: lying index
    assert cats["bbu"]["code"] == "bbu.normal" and cats["bbu"]["label_en"] == "Normal weight"
    assert cats["bbtb"]["code"] == "bbtb.normal" and cats["bbtb"]["label_id"] == "Gizi baik"
    assert cats["bbtb"]["index_label_id"] == "BB/PB"
    assert cats["imtu"]["code"] == "imtu.possible_risk_of_overweight"
    assert cats["imtu"]["label_id"] == "Berisiko gizi lebih"
    assert cats["lku"]["code"] == "lku.normal"
    assert cats["lila"]["code"] == "lila.normal"
    assert a["bgm"] is False and a["above_orange"] is False
    assert a["age_months"] == 22
    assert a["trend"]["status"] == "B" and a["trend"]["label_id"] == "Baru"  # first weighing ever
    assert a["standard_version"] == "who2006-anthro1.1.0+id-2020.2"
    assert a["warnings"] == []

    stored = db.session.get(Measurement, uuid.UUID(result["id"]))
    assert stored.zlen == pytest.approx(-2.77) and stored.cat_tbu == "tbu.stunted"
    assert stored.standard_version == a["standard_version"] and stored.computed_at is not None


def test_standing_row_below_red_line(app, world, post_visit):
    # validation row 1766: boy, 1235 days, 10.133 kg, 97.49 cm standing
    row = validation_row("1766")
    measured_on = date(2025, 5, 20)
    child = _child_for_row(world, row, measured_on)
    result = _post_row(post_visit, child, row, measured_on, user=world.staff_a)
    _assert_zscores_match_anthro(result, row)
    a = result["assessment"]
    # zwei -3.27 < -3: BB sangat kurang and below the KMS red line (BGM); zwfl -4.62 < -3: gizi buruk
    assert a["categories"]["bbu"]["code"] == "bbu.severely_underweight"
    assert a["categories"]["bbtb"]["code"] == "bbtb.severely_wasted"
    assert a["categories"]["bbtb"]["label_id"] == "Gizi buruk"
    assert a["categories"]["bbtb"]["index_label_id"] == "BB/TB"
    assert a["categories"]["tbu"]["code"] == "tbu.normal"
    assert a["categories"]["tbu"]["index_label_id"] == "TB/U"
    assert a["bgm"] is True
    assert "bgm" in [w["code"] for w in a["warnings"]]


def test_implausible_row_is_kept_and_asks_to_remeasure(app, world, post_visit):
    # validation row 4: boy, 524 days, 4.67 kg, 77.3 cm lying -> zwei -6.34, zwfl -8.01 (flagged)
    row = validation_row("4")
    measured_on = date(2025, 4, 2)
    child = _child_for_row(world, row, measured_on)
    result = _post_row(post_visit, child, row, measured_on)
    _assert_zscores_match_anthro(result, row)
    a = result["assessment"]
    assert a["categories"]["bbu"]["code"] is None and a["categories"]["bbu"]["implausible"] is True
    codes = [w["code"] for w in a["warnings"]]
    assert "remeasure_weight" in codes and "remeasure_weight_length" in codes
    assert result["weight_kg"] == 4.67  # the raw value is stored unchanged


def test_monthly_trend_b_n_t_2t_o(world, post_visit):
    """child_a1 is born 2024-03-15. Hand-worked with KBM reading B (month 7 = 400 g)."""
    visits = [
        # (date, kg, status, gain_g, kbm_g, 2T)
        (date(2024, 9, 15), 7.5, "B", None, None, False),   # first weighing ever
        (date(2024, 10, 15), 7.9, "N", 400, 400, False),     # 7 months: +400 g >= KBM 400
        (date(2024, 11, 14), 8.1, "T", 200, 400, False),     # still 7 months (day 14 < 15): +200 < 400
        (date(2024, 12, 16), 8.3, "T", 200, 300, True),      # 9 months: +200 < 300, T after T -> 2T
        (date(2025, 2, 17), 8.9, "O", None, None, False),    # nothing in January -> O
        (date(2025, 3, 17), 8.9, "T", 0, 200, False),        # 12 months: no gain -> T, O broke the chain
    ]
    for measured_on, kg, status, gain, kbm, is_2t in visits:
        trend = post_visit(measured_on, kg).json["assessment"]["trend"]
        assert (trend["status"], trend["gain_g"], trend["kbm_g"], trend["is_2t"]) == (status, gain, kbm, is_2t), \
            measured_on
    warnings = post_visit(date(2025, 4, 17), 8.95).json["assessment"]
    assert warnings["trend"]["status"] == "T" and warnings["trend"]["is_2t"] is True
    assert "weight_not_gained_2t" in [w["code"] for w in warnings["warnings"]]


def test_big_weight_change_warns_to_weigh_again(world, post_visit):
    post_visit(date(2024, 9, 15), 7.5)
    # +2.6 kg in one month: more than 1.5 kg/month (posyandu-operations-id.md §5)
    a = post_visit(date(2024, 10, 15), 10.1).json["assessment"]
    assert "weight_change_implausible" in [w["code"] for w in a["warnings"]]
    # kept, to weigh again, and it decides nothing until corrected or confirmed (issue 9 §2)
    assert a["weight_implausible"] is True and a["trend"]["status"] is None


def test_retried_post_creates_nothing_twice(client, world, post_visit, h):
    mid = uuid.uuid4()
    first = post_visit(date(2024, 9, 15), 7.5, mid=mid, length_cm=66.0, measure_method="lying").json
    before = counts()
    again = post_visit(date(2024, 9, 15), 7.5, mid=mid, length_cm=66.0, measure_method="lying", expect=200).json
    assert again == first
    assert counts() == before

    conflict = post_visit(date(2024, 9, 15), 7.6, mid=mid, length_cm=66.0, measure_method="lying", expect=409)
    assert conflict.mimetype == "application/problem+json"
    assert conflict.json["server"]["weight_kg"] == 7.5
    assert counts() == before
    assert db.session.get(Measurement, mid).weight_kg == 7.5


@pytest.mark.parametrize("field, value, extra", [
    ("weight_kg", -3.2, {}),
    ("weight_kg", 95.0, {}),
    ("length_cm", 12.0, {"measure_method": "lying"}),
    ("measure_method", "sitting", {"length_cm": 70.0}),
    ("measure_method", None, {"length_cm": 70.0}),
    ("arm_circumference_cm", 0, {}),
    ("measured_on", "future", {}),
    ("measured_on", "2024-03-14", {}),          # the day before birth
    ("child_id", "not-a-uuid", {}),
    ("vitamin_a", True, {"measured_on": "2024-08-10"}),               # 4 months: no capsule yet
    ("exclusive_breastfeeding", True, {"measured_on": "2024-10-20"}),  # 7 months
    ("oedema", True, {}),                                             # a kader may not record oedema
])
def test_bad_input_is_422_naming_the_field_and_stores_nothing(client, world, h, field, value, extra):
    body = {"id": str(uuid.uuid4()), "child_id": str(world.child_a1.id), "measured_on": "2024-09-15",
            "weight_kg": 7.5}
    if value == "future":
        value = (latest_today() + timedelta(days=1)).isoformat()
    body[field] = value
    body.update(extra)
    before = counts()
    response = client.post("/api/v1/measurements", json=body, headers=h(world.kader_a1))
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert counts() == before


def test_nothing_measured_is_422(client, world, h):
    response = client.post("/api/v1/measurements", headers=h(world.kader_a1), json={
        "id": str(uuid.uuid4()), "child_id": str(world.child_a1.id), "measured_on": "2024-09-15"})
    assert response.status_code == 422
    assert "weight_kg" in response.json["errors"]


def test_posyandu_extras(world, post_visit):
    # vitamin A in August at 12 months (child_b1 born 2022-01-20 is too old: use a 2023 date)
    ok = post_visit(date(2023, 2, 21), 10.0, child=world.child_b1, user=world.kader_b1, vitamin_a=True).json
    assert ok["vitamin_a"] is True
    assert "vitamin_a_outside_round" not in [w["code"] for w in ok["assessment"]["warnings"]]
    # outside February/August: accepted (catch-up rounds happen) but flagged for checking
    late = post_visit(date(2023, 3, 21), 10.2, child=world.child_b1, user=world.kader_b1, vitamin_a=True).json
    assert "vitamin_a_outside_round" in [w["code"] for w in late["assessment"]["warnings"]]
    # exclusive breastfeeding at 5 months is fine
    ebf = post_visit(date(2024, 8, 20), 7.0, exclusive_breastfeeding=True).json
    assert ebf["exclusive_breastfeeding"] is True


def test_health_worker_records_oedema_and_weight_indices_are_not_assessed(world, post_visit):
    a = post_visit(date(2024, 10, 15), 7.0, user=world.staff_a, oedema=True, length_cm=66.0,
                   measure_method="lying", arm_circumference_cm=12.0).json["assessment"]
    assert a["zscores"]["zwei"] is None and a["categories"]["bbu"]["code"] is None
    assert a["zscores"]["zlen"] is not None
    codes = [w["code"] for w in a["warnings"]]
    assert "oedema" in codes and "lila_moderate_acute" in codes  # LiLA 12.0 cm: 11.5 <= x < 12.5


def test_post_query_count_does_not_grow_with_history(app, world, post_visit):
    """No N+1: the POST path costs the same number of statements with 1 or 8 earlier visits."""
    other = factories.child(world.posyandu_a1, "Anak Kedua", birth_date=date(2024, 3, 15))
    post_visit(date(2024, 4, 15), 4.5)
    for month in range(4, 12):
        post_visit(date(2024, month, 16), 4.5 + 0.5 * month, child=other)
    a1, a2 = SimpleNamespace(id=world.child_a1.id), SimpleNamespace(id=other.id)  # no lazy loads in the count
    few = statements_during(app, lambda: post_visit(date(2024, 5, 15), 5.3, child=a1))
    many = statements_during(app, lambda: post_visit(date(2024, 12, 16), 8.6, child=a2))
    assert len(few) == len(many)
    assert len(few) <= 10, few
    assert sum(s.lstrip().upper().startswith("SELECT") for s in few) <= 4, few
