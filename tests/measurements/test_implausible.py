"""Implausible values are kept but never decide a status (issue 9 §2).

Expected statuses are worked out by hand from growth-velocity-id.md §2.1 (N/T/O/B, KBM reading B:
200 g/month from 12 months) and posyandu-operations-id.md §5 (a weight change above 1.5 kg per
month asks to weigh again); z-scores by hand from the WHO weight-for-age rows quoted in the tests.
"""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from posyandu.extensions import db
from posyandu.measurements import operations as ops
from posyandu.measurements.models import Measurement

from tests import factories

API = "/api/v1"


@pytest.fixture
def girl(world):
    """Born 2024-12-01: 16 months on 2026-04-20, 17 on 2026-05-20, 18 on 2026-06-20."""
    return factories.child(world.posyandu_a1, "Nur Aini", sex=2, birth_date=date(2024, 12, 1))


def _visit(post_visit, child, on, kg, **extra):
    return post_visit(date.fromisoformat(on), kg, child=child, **extra).json


def _stored(mid) -> Measurement:
    db.session.expire_all()
    return db.session.get(Measurement, uuid.UUID(str(mid)))


def test_59_kg_for_a_17_month_girl_is_kept_but_decides_nothing(client, world, girl, post_visit, h):
    _visit(post_visit, girl, "2026-04-20", 7.4)
    wrong = _visit(post_visit, girl, "2026-05-20", 59.0)          # was: N, +51,600 g
    a = wrong["assessment"]
    assert wrong["weight_kg"] == 59.0                                # stored as entered
    assert a["weight_implausible"] is True and a["flags"]["fwei"] is True
    assert a["trend"] == {"status": None, "label_id": None, "label_en": None, "is_2t": None, "gain_g": None,
                          "kbm_g": None}
    assert a["bgm"] is None and a["above_orange"] is None
    assert a["categories"]["bbu"]["code"] is None and a["categories"]["bbu"]["implausible"] is True
    codes = [w["code"] for w in a["warnings"]]
    assert "remeasure_weight" in codes and "weight_not_gained" not in codes and "bgm" not in codes

    # June: the last usable weighing is April, so May counts as not weighed: O (§2.1 step 3)
    june = _visit(post_visit, girl, "2026-06-20", 7.7)["assessment"]["trend"]
    assert (june["status"], june["gain_g"]) == ("O", None)

    # nothing of it counts in the month lists either
    listed = client.get(f"{API}/measurements", query_string={"posyandu_id": world.posyandu_a1.id,
                                                            "month": "2026-05", "trend_status": "N"},
                        headers=h(world.kader_a1)).json["items"]
    assert listed == []

    # the cadre corrects May to 7.6 kg: everything after it is recomputed
    fixed = client.patch(f"{API}/measurements/{wrong['id']}", json={"weight_kg": 7.6},
                         headers=h(world.kader_a1))
    assert fixed.status_code == 200, fixed.json
    may = fixed.json["assessment"]
    # 7.6 - 7.4 = 200 g >= KBM(17) = 200 g -> N
    assert may["weight_implausible"] is False
    assert (may["trend"]["status"], may["trend"]["gain_g"], may["trend"]["kbm_g"]) == ("N", 200, 200)
    june_row = db.session.execute(sa.select(Measurement).where(
        Measurement.child_id == girl.id, Measurement.measured_on == date(2026, 6, 20))).scalar_one()
    db.session.refresh(june_row)
    # 7.7 - 7.6 = 100 g < KBM(18) = 200 g -> T (May was N, so not 2T)
    assert (june_row.trend_status, june_row.gain_g, june_row.is_2t) == ("T", 100, False)


def test_deleting_the_implausible_weighing_leaves_the_next_one_as_not_weighed_last_month(
        client, world, girl, post_visit, h):
    _visit(post_visit, girl, "2026-04-20", 7.4)
    _visit(post_visit, girl, "2026-05-20", 7.5)                     # N? 100 g < 200: T
    wrong = _visit(post_visit, girl, "2026-06-20", 59.0)
    july = _visit(post_visit, girl, "2026-07-20", 7.9)["assessment"]["trend"]
    assert july["status"] == "O"                                    # June had no usable weighing
    response = client.delete(f"{API}/measurements/{wrong['id']}", headers=h(world.kader_a1))
    assert response.status_code in (200, 204), response.get_json()
    july_row = db.session.execute(sa.select(Measurement).where(
        Measurement.child_id == girl.id, Measurement.measured_on == date(2026, 7, 20))).scalar_one()
    db.session.refresh(july_row)
    assert july_row.trend_status == "O" and july_row.weight_implausible is False


def test_a_confirmed_value_never_overrides_a_who_flag(world, girl, post_visit):
    _visit(post_visit, girl, "2026-04-20", 7.4)
    a = _visit(post_visit, girl, "2026-05-20", 59.0, confirm_implausible=True)["assessment"]
    assert a["weight_implausible"] is True and a["trend"]["status"] is None


def test_a_big_change_decides_nothing_until_confirmed_and_then_the_next_visit_is_judged_against_it(
        client, world, post_visit, h):
    boy = factories.child(world.posyandu_a1, "Bima", sex=1, birth_date=date(2024, 1, 10))
    _visit(post_visit, boy, "2025-01-15", 9.0)                        # 12 months
    # +2.0 kg in 31 days; allowed 1.5 kg x 31/30.4375 = 1.53 kg
    feb = _visit(post_visit, boy, "2025-02-15", 11.0)
    assert feb["assessment"]["weight_implausible"] is True and feb["assessment"]["trend"]["status"] is None
    assert "weight_change_implausible" in [w["code"] for w in feb["assessment"]["warnings"]]
    # March compares with January (the last usable weighing): +0.4 kg in 59 days is plausible,
    # and February had no usable weighing: O
    march = _visit(post_visit, boy, "2025-03-15", 9.4)["assessment"]
    assert march["weight_implausible"] is False and march["trend"]["status"] == "O"

    # the cadre weighs again and confirms February's 11.0 kg
    confirmed = client.patch(f"{API}/measurements/{feb['id']}", json={"confirm_implausible": True},
                             headers=h(world.kader_a1))
    assert confirmed.status_code == 200, confirmed.json
    a = confirmed.json["assessment"]
    assert confirmed.json["confirm_implausible"] is True
    # 11.0 - 9.0 = 2000 g >= KBM(13) = 200 g -> N, and no check warning once confirmed
    assert (a["weight_implausible"], a["trend"]["status"], a["trend"]["gain_g"]) == (False, "N", 2000)
    assert "weight_change_implausible" not in [w["code"] for w in a["warnings"]]
    # March is now judged against February: -1.6 kg in 28 days (allowed 1.5 kg) -> implausible
    row = _stored(march_id := _march_id(boy))
    assert row.weight_implausible is True and row.trend_status is None, march_id


def _march_id(child):
    return db.session.execute(sa.select(Measurement.id).where(
        Measurement.child_id == child.id, Measurement.measured_on == date(2025, 3, 15))).scalar_one()


def test_an_implausible_weight_gives_no_bgm_until_confirmed(client, world, girl, post_visit, h):
    # WHO weight-for-age, girls, 535 days: L = -0.2606, M = 10.1433, S = 0.12308; 6.9 kg is below
    # the -3 SD weight (7.13 kg): z = -3 + (6.9 - 7.130) / (7.990 - 7.130) = -3.27 -> BGM (below -3)
    _visit(post_visit, girl, "2026-04-20", 9.0)
    drop = _visit(post_visit, girl, "2026-05-20", 6.9)                # -2.1 kg in 30 days
    a = drop["assessment"]
    assert a["weight_implausible"] is True and a["bgm"] is None
    assert a["categories"]["bbu"]["code"] is None
    assert not {"bgm", "weight_not_gained"} & {w["code"] for w in a["warnings"]}
    confirmed = client.patch(f"{API}/measurements/{drop['id']}", json={"confirm_implausible": True},
                             headers=h(world.kader_a1)).json["assessment"]
    assert confirmed["bgm"] is True and confirmed["categories"]["bbu"]["code"] == "bbu.severely_underweight"
    assert confirmed["trend"]["status"] == "T"                       # a real loss: T and a referral
    assert {"bgm", "weight_not_gained"} <= {w["code"] for w in confirmed["warnings"]}


def test_a_length_far_below_the_last_one_gives_no_length_category(world, girl, post_visit):
    _visit(post_visit, girl, "2026-04-20", 9.0, length_cm=78.0, measure_method="lying")
    a = _visit(post_visit, girl, "2026-05-20", 9.2, length_cm=75.0, measure_method="lying")["assessment"]
    assert a["length_implausible"] is True and a["weight_implausible"] is False
    assert a["categories"]["tbu"]["code"] is None and a["categories"]["bbtb"]["code"] is None
    assert a["categories"]["bbu"]["code"] is not None and a["trend"]["status"] == "N"   # +200 g >= 200 g


def test_sync_push_stores_an_implausible_weight_and_is_never_stuck(client, world, girl, post_visit, h):
    _visit(post_visit, girl, "2026-04-20", 7.4)
    record = {"entity": "measurement", "id": str(uuid.uuid4()), "base_version": None,
              "data": {"child_id": str(girl.id), "measured_on": "2026-05-20", "weight_kg": 59.0}}
    for _ in range(2):   # sent twice: applied, then duplicate; never invalid
        response = client.post(f"{API}/sync/push", json={"records": [record]}, headers=h(world.kader_a1))
        assert response.status_code == 200, response.json
        receipt = response.json["receipts"][0]
        assert receipt["status"] in ("applied", "duplicate"), receipt
        assert receipt["record"]["weight_implausible"] is True and receipt["record"]["trend_status"] is None
        assert receipt["record"]["weight_kg"] == 59.0


def test_recompute_gives_what_the_requests_stored(world, girl, post_visit):
    for on, kg in (("2026-04-20", 7.4), ("2026-05-20", 59.0), ("2026-06-20", 7.7), ("2026-07-20", 9.9),
                   ("2026-08-20", 8.0)):
        _visit(post_visit, girl, on, kg)
    columns = ("trend_status", "gain_g", "is_2t", "weight_implausible", "is_bgm", "cat_bbu", "warnings")

    def snapshot():
        db.session.expire_all()
        rows = db.session.execute(sa.select(Measurement).where(Measurement.child_id == girl.id)
                                  .order_by(Measurement.measured_on)).scalars().all()
        return [tuple(getattr(r, c) for c in columns) for r in rows]

    before = snapshot()
    # July: +2.2 kg since June's 7.7 kg in 30 days -> implausible; August compares with June:
    # +0.3 kg in 61 days, plausible, and July had no usable weighing -> O
    assert [(s[0], s[3]) for s in before] == [("B", False), (None, True), ("O", False), (None, True),
                                              ("O", False)]
    ops.recompute_child(db.session, girl.id)
    assert snapshot() == before


def test_a_pushed_batch_judges_visits_as_posting_them_one_by_one(client, world, post_visit, h):
    one = factories.child(world.posyandu_a1, "Anak Satu", sex=2, birth_date=date(2024, 12, 1))
    twin = factories.child(world.posyandu_a1, "Anak Dua", sex=2, birth_date=date(2024, 12, 1))
    visits = [("2026-04-20", 7.4), ("2026-05-20", 59.0), ("2026-06-20", 7.7), ("2026-07-20", 9.9),
              ("2026-08-20", 8.0)]
    batch = [{"entity": "measurement", "id": str(uuid.uuid4()), "base_version": None,
              "data": {"child_id": str(one.id), "measured_on": on, "weight_kg": kg}} for on, kg in visits]
    receipts = client.post(f"{API}/sync/push", json={"records": batch}, headers=h(world.kader_a1)).json["receipts"]
    posted = [_visit(post_visit, twin, on, kg)["assessment"] for on, kg in visits]
    got = [(r["record"]["trend_status"], r["record"]["weight_implausible"], r["record"]["gain_g"]) for r in receipts]
    assert got == [(a["trend"]["status"], a["weight_implausible"], a["trend"]["gain_g"]) for a in posted]
    assert got == [("B", False, None), (None, True, None), ("O", False, None), (None, True, None),
                   ("O", False, None)]


def test_a_sync_edit_confirms_or_corrects_like_the_rest_api(client, world, post_visit, h):
    boy = factories.child(world.posyandu_a1, "Bima", sex=1, birth_date=date(2024, 1, 10))
    _visit(post_visit, boy, "2025-01-15", 9.0)
    feb = _visit(post_visit, boy, "2025-02-15", 11.0)
    march = _visit(post_visit, boy, "2025-03-15", 9.4)
    assert feb["assessment"]["weight_implausible"] and march["assessment"]["trend"]["status"] == "O"
    edit = {"entity": "measurement", "id": feb["id"], "base_version": feb["version"],
            "data": {"confirm_implausible": True}}
    receipt = client.post(f"{API}/sync/push", json={"records": [edit]},
                          headers=h(world.kader_a1)).json["receipts"][0]
    assert receipt["status"] == "applied", receipt
    assert (receipt["record"]["weight_implausible"], receipt["record"]["trend_status"],
            receipt["record"]["confirm_implausible"]) == (False, "N", True)
    row = _stored(march["id"])
    assert row.weight_implausible is True and row.trend_status is None   # now judged against 11.0 kg
    # the cadre corrects February instead: 9.2 kg is +200 g since January -> N
    fix = {"entity": "measurement", "id": feb["id"], "base_version": receipt["version"],
           "data": {"weight_kg": 9.2, "confirm_implausible": False}}
    receipt = client.post(f"{API}/sync/push", json={"records": [fix]},
                          headers=h(world.kader_a1)).json["receipts"][0]
    assert receipt["status"] == "applied" and receipt["record"]["trend_status"] == "N"
    row = _stored(march["id"])
    # March 9.4 - February 9.2 = 200 g >= KBM(14) = 200 g -> N
    assert (row.weight_implausible, row.trend_status, row.gain_g) == (False, "N", 200)
