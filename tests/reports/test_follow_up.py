"""Follow-up lists, by name: each reason from a hand-built history, new vs already stunted,
cursor pages, every role and wrong scope, an empty and a future month, the download.

Stored measurement rows carry hand-chosen z-scores and the PMK 2/2020 categories those z-scores
fall in (anthropometry-id.md §2: e.g. BB/TB −3.2 < −3 is *gizi buruk*, LiLA 11.2 < 11.5 cm is
*gizi buruk akut*); every expected reason below is worked out from those documents by hand.
Early-warning thresholds are pinned to ``tests/early_warning/rules.py``.
"""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import openpyxl
import pytest
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.children import crypto
from posyandu.core import follow_up as fu
from posyandu.core.growth import early_warning as ew
from posyandu.db import utcnow
from posyandu.extensions import db
from tests.early_warning.rules import EXPLICIT
from tests.factories import headers
from tests.reports.coverage_data import kid, measure

URL = "/api/v1/reports/follow-up"
MONTH = "2026-11"
RULES = ew.default_ews_rules().with_values(EXPLICIT)
NIK = "3525014503240001"


@pytest.fixture(autouse=True)
def pinned_rules(monkeypatch):
    monkeypatch.setattr(ew, "default_ews_rules", lambda: RULES)


def weigh(child, on, kg, **values):
    """A weighing with normal categories unless told otherwise."""
    base = dict(weight_kg=kg, zwei=-0.5, fwei=False, cat_bbu="bbu.normal", zwfl=-0.3, fwfl=False,
                cat_bbtb="bbtb.normal", is_bgm=False, is_2t=False, oedema=False, trend_status="N")
    base.update(values)
    return measure(child, on, **base)


def length(child, on, cm, z, **values):
    category = "tbu.severely_stunted" if z < -3 else "tbu.stunted" if z < -2 else "tbu.normal"
    return measure(child, on, length_cm=cm, measure_method="lying", zlen=z, flen=False, cat_tbu=category, **values)


def histories(w):
    """November 2026, posyandu A1 unless said (children registered on their birth date):

    - Ani: 10 Nov 6.1 kg, BB/TB −3.2 (gizi buruk), BB/U −3.4 (sangat kurang), BGM →
      severe_wasting (whz), underweight (severe), bgm.
    - Bayu: 10 Nov LiLA 11.2 cm (< 11.5: gizi buruk akut), BB/TB normal → severe_wasting (muac).
    - Cici: 10 Nov oedema → severe_wasting (oedema).
    - Dedi: 10 Nov BB/TB −2.4 (gizi kurang) → wasted.
    - Eko: PB/U −1.8 on 5 Aug, −2.3 on 12 Nov → stunted_new (previous −1.8).
    - Fitri: PB/U −2.5 on 5 Aug, weighed 12 Nov without length → stunted_known (Aug).
    - Gita: first length ever 12 Nov, −3.1 → stunted_new, severe.
    - Hadi: 9.0, 9.1, 9.2 kg in Sep, Oct, Nov, the November weighing marked 2T → two_t.
    - Indah: weighed 10 Oct, not in November → not_weighed (1 month).
    - Joko: last weighed 5 Aug → not_weighed_2m (3 months: Sep, Oct, Nov).
    - Kiki: weighed 10 Nov, all normal → not listed.
    - Lala: 3 Nov gizi buruk, 20 Nov normal weighing, 25 Nov a length only (normal): the month's
      record is the last weighing (20 Nov) → not listed.
    - Mira: a gizi-buruk November weighing that was deleted; weighed 10 Oct → not_weighed only.
    - Nina: 10 Nov weight flagged implausible (categories withheld, as stored) → not listed.
    - Oki: born 15 Oct 2026, never weighed → not_weighed_2m (October and November).
    - Putu: born 1 Nov 2026, never weighed → not_weighed.
    - Rani: PB/U −0.9, −1.3, −1.9 on 11 Jul, 8 Sep, 10 Nov → early warning (haz_decline,
      haz_near_line), not stunted.
    Elsewhere: Zara (A2) not weighed since 10 Oct; Yuda (B1) gizi buruk; Wati (C1, Lamongan) gizi buruk.
    """
    a1 = w.posyandu_a1
    c = {}
    c["ani"] = kid(a1, "Ani", sex=2, birth_date=date(2025, 1, 10))
    weigh(c["ani"], date(2026, 11, 10), 6.1, zwfl=-3.2, cat_bbtb="bbtb.severely_wasted", zwei=-3.4,
          cat_bbu="bbu.severely_underweight", is_bgm=True)
    c["bayu"] = kid(a1, "Bayu", birth_date=date(2025, 2, 1))
    weigh(c["bayu"], date(2026, 11, 10), 8.0, arm_circumference_cm=11.2, cat_lila="lila.severe_acute")
    c["cici"] = kid(a1, "Cici", sex=2, birth_date=date(2025, 3, 1))
    weigh(c["cici"], date(2026, 11, 10), 8.5, oedema=True, zwfl=None, fwfl=None, cat_bbtb=None, zwei=None,
          fwei=None, cat_bbu=None)
    c["dedi"] = kid(a1, "Dedi", birth_date=date(2024, 6, 1))
    weigh(c["dedi"], date(2026, 11, 10), 9.0, zwfl=-2.4, cat_bbtb="bbtb.wasted")
    c["eko"] = kid(a1, "Eko", birth_date=date(2025, 4, 1))
    length(c["eko"], date(2026, 8, 5), 75.0, -1.8)
    weigh(c["eko"], date(2026, 11, 12), 9.0)
    length(c["eko"], date(2026, 11, 12), 77.0, -2.3)
    c["fitri"] = kid(a1, "Fitri", sex=2, birth_date=date(2024, 5, 1))
    length(c["fitri"], date(2026, 8, 5), 80.0, -2.5)
    weigh(c["fitri"], date(2026, 11, 12), 10.0)
    c["gita"] = kid(a1, "Gita", sex=2, birth_date=date(2024, 7, 1))
    weigh(c["gita"], date(2026, 11, 12), 9.5)
    length(c["gita"], date(2026, 11, 12), 76.0, -3.1)
    c["hadi"] = kid(a1, "Hadi", birth_date=date(2025, 5, 1))
    weigh(c["hadi"], date(2026, 9, 10), 9.0)
    weigh(c["hadi"], date(2026, 10, 10), 9.1, trend_status="T")
    weigh(c["hadi"], date(2026, 11, 10), 9.2, trend_status="T", is_2t=True, gain_g=100, kbm_g=200)
    c["indah"] = kid(a1, "Indah", sex=2, birth_date=date(2024, 8, 1))
    weigh(c["indah"], date(2026, 10, 10), 10.5)
    c["joko"] = kid(a1, "Joko", birth_date=date(2023, 9, 1))
    weigh(c["joko"], date(2026, 8, 5), 12.0)
    c["kiki"] = kid(a1, "Kiki", sex=2, birth_date=date(2024, 9, 1))
    weigh(c["kiki"], date(2026, 11, 10), 10.0)
    c["lala"] = kid(a1, "Lala", sex=2, birth_date=date(2024, 10, 1))
    weigh(c["lala"], date(2026, 11, 3), 7.0, zwfl=-3.5, cat_bbtb="bbtb.severely_wasted")
    weigh(c["lala"], date(2026, 11, 20), 9.0)
    length(c["lala"], date(2026, 11, 25), 80.0, -0.5)
    c["mira"] = kid(a1, "Mira", sex=2, birth_date=date(2024, 11, 1))
    weigh(c["mira"], date(2026, 10, 10), 9.0)
    weigh(c["mira"], date(2026, 11, 10), 6.0, zwfl=-3.5, cat_bbtb="bbtb.severely_wasted", deleted_at=utcnow())
    c["nina"] = kid(a1, "Nina", sex=2, birth_date=date(2024, 12, 1))
    weigh(c["nina"], date(2026, 11, 10), 2.0, zwfl=-5.5, fwfl=True, zwei=-6.2, fwei=True, cat_bbtb=None,
          cat_bbu=None, is_bgm=None, weight_implausible=True)
    c["oki"] = kid(a1, "Oki", birth_date=date(2026, 10, 15))
    c["putu"] = kid(a1, "Putu", birth_date=date(2026, 11, 1))
    c["rani"] = kid(a1, "Rani", sex=2, birth_date=date(2025, 1, 20))
    length(c["rani"], date(2026, 7, 11), 70.0, -0.9)
    length(c["rani"], date(2026, 9, 8), 72.0, -1.3)
    weigh(c["rani"], date(2026, 11, 10), 9.0)
    length(c["rani"], date(2026, 11, 10), 74.0, -1.9)
    c["zara"] = kid(w.posyandu_a2, "Zara", sex=2, birth_date=date(2024, 1, 1))
    weigh(c["zara"], date(2026, 10, 10), 11.0)
    c["yuda"] = kid(w.posyandu_b1, "Yuda", birth_date=date(2024, 2, 1))
    weigh(c["yuda"], date(2026, 11, 10), 8.0, zwfl=-3.3, cat_bbtb="bbtb.severely_wasted")
    c["wati"] = kid(w.posyandu_c1, "Wati", sex=2, birth_date=date(2024, 3, 1))
    weigh(c["wati"], date(2026, 11, 10), 8.0, zwfl=-3.3, cat_bbtb="bbtb.severely_wasted")
    db.session.flush()
    return c


EXPECTED_A1 = {
    "Ani": ["severe_wasting", "underweight", "bgm"],
    "Bayu": ["severe_wasting"],
    "Cici": ["severe_wasting"],
    "Dedi": ["wasted"],
    "Eko": ["stunted_new"],
    "Fitri": ["stunted_known"],
    "Gita": ["stunted_new"],
    "Hadi": ["two_t"],
    "Indah": ["not_weighed"],
    "Joko": ["not_weighed_2m"],
    "Mira": ["not_weighed"],
    "Oki": ["not_weighed_2m"],
    "Putu": ["not_weighed"],
    "Rani": ["early_warning"],
}


def get(client, user, **query):
    r = client.get(URL, query_string={"month": MONTH, **query}, headers=headers(user))
    return r


def all_pages(client, user, **query):
    items, cursor, pages = [], None, 0
    while True:
        r = get(client, user, **query, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def by_name(items):
    return {i["child"]["name"]: i for i in items}


def test_each_reason_from_a_hand_built_history(client, world):
    histories(world)
    r = get(client, world.kader_a1, limit=100)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["area"] == {"level": "posyandu", "code": "PY-A1", "name": "Posyandu Melati"}
    assert body["early_warning_included"] is True and body["next_cursor"] is None
    rows = by_name(body["items"])
    assert {name: [x["code"] for x in row["reasons"]] for name, row in rows.items()} == EXPECTED_A1
    assert [i["child"]["name"] for i in body["items"]] == sorted(EXPECTED_A1)  # by name within the posyandu

    ani = {x["code"]: x for x in rows["Ani"]["reasons"]}
    assert ani["severe_wasting"]["values"] == {"criteria": ["whz"], "whz": -3.2, "muac_cm": None,
                                               "oedema": False, "measured_on": "2026-11-10"}
    assert ani["severe_wasting"]["refer"] is True
    assert ani["severe_wasting"]["label_id"].startswith("Gizi buruk") and ani["severe_wasting"]["label"] == \
        ani["severe_wasting"]["label_id"]
    assert ani["underweight"]["values"]["severe"] is True and ani["bgm"]["values"]["weight_kg"] == 6.1
    assert rows["Bayu"]["reasons"][0]["values"]["criteria"] == ["muac"]
    assert rows["Bayu"]["reasons"][0]["values"]["muac_cm"] == 11.2
    assert rows["Cici"]["reasons"][0]["values"]["criteria"] == ["oedema"]
    assert rows["Dedi"]["reasons"][0]["values"]["criteria"] == ["whz"]
    assert rows["Hadi"]["reasons"][0]["values"] == {"weight_kg": 9.2, "gain_g": 100, "kbm_g": 200,
                                                    "measured_on": "2026-11-10"}
    assert rows["Indah"]["reasons"][0]["values"] == {"last_weighed_on": "2026-10-10", "months_without_weighing": 1}
    assert rows["Joko"]["reasons"][0]["values"] == {"last_weighed_on": "2026-08-05", "months_without_weighing": 3}
    assert rows["Oki"]["reasons"][0]["values"] == {"last_weighed_on": None, "months_without_weighing": 2}
    assert rows["Putu"]["reasons"][0]["values"]["months_without_weighing"] == 1
    rani = rows["Rani"]["reasons"][0]
    assert rani["values"]["rules"] == ["haz_decline", "haz_near_line"]
    assert [f["rule"] for f in rani["flags"]] == ["haz_decline", "haz_near_line"]
    assert rani["flags"][1]["values"]["z"] == -1.9

    # the last measurement: the month's last weighing, with its categories
    ani_m = rows["Ani"]["last_measurement"]
    assert (ani_m["measured_on"], ani_m["weight_kg"], ani_m["zwfl"], ani_m["bbtb"]["code"], ani_m["is_bgm"]) == \
        ("2026-11-10", 6.1, -3.2, "bbtb.severely_wasted", True)
    assert ani_m["bbtb"]["label"] == "Gizi buruk"
    assert rows["Indah"]["last_measurement"]["measured_on"] == "2026-10-10"
    assert rows["Indah"]["weighed_this_month"] is False and rows["Ani"]["weighed_this_month"] is True
    assert rows["Oki"]["last_measurement"] is None
    # identity as the child registry shows it to staff, age on the month's last day, links
    child = rows["Ani"]["child"]
    assert child["age_months"] == 22 and child["has_nik"] is False and child["nik_masked"] is None
    assert rows["Ani"]["posyandu"]["code"] == "PY-A1"
    assert rows["Ani"]["links"]["child"] == f"/api/v1/children/{child['id']}"
    assert rows["Ani"]["links"]["weight_chart"] == f"/api/v1/children/{child['id']}/charts/weight-for-age.svg"
    links = body["links"]
    assert links["immunization_overdue"] == f"/api/v1/immunizations/overdue?on=2026-11-30&posyandu_id={world.posyandu_a1.id}"
    assert links["immunization_dropouts"].startswith("/api/v1/immunizations/dropouts?indicator=DPTHBHIB1-DPTHBHIB3")


def test_links_lead_to_the_immunization_lists(client, world):
    histories(world)
    body = get(client, world.kader_a1).get_json()
    for key in ("immunization_overdue", "immunization_dropouts", "immunization_dropouts_mr", "early_warnings"):
        assert client.get(body["links"][key], headers=headers(world.kader_a1)).status_code == 200, key
    item = body["items"][0]
    assert client.get(item["links"]["child"], headers=headers(world.kader_a1)).status_code == 200
    assert client.get(item["posyandu"]["links"]["immunization_overdue"],
                      headers=headers(world.kader_a1)).status_code == 200


def test_new_versus_already_stunted(client, world):
    """Eko: −1.8 in August, −2.3 now → new. Fitri: −2.5 in August, only weighed now → known.
    A child stunted in August, −1.9 in October and −2.2 now fell back: a new episode.
    A child stunted in August and again now: known."""
    histories(world)
    back = kid(world.posyandu_a1, "Bali", birth_date=date(2024, 4, 1))
    length(back, date(2026, 8, 5), 80.0, -2.2)
    length(back, date(2026, 10, 5), 81.0, -1.9)
    weigh(back, date(2026, 11, 5), 10.0)
    length(back, date(2026, 11, 5), 82.0, -2.2)
    again = kid(world.posyandu_a1, "Bima", birth_date=date(2024, 4, 1))
    length(again, date(2026, 8, 5), 80.0, -2.6)
    weigh(again, date(2026, 11, 5), 10.0)
    length(again, date(2026, 11, 5), 82.0, -2.4)
    rows = by_name(get(client, world.kader_a1, reason="stunted").get_json()["items"])
    assert {n: [x["code"] for x in r["reasons"]] for n, r in rows.items()} == {
        "Bali": ["stunted_new"], "Bima": ["stunted_known"], "Eko": ["stunted_new"], "Fitri": ["stunted_known"],
        "Gita": ["stunted_new"]}
    eko = rows["Eko"]["reasons"][0]["values"]
    assert eko == {"haz": -2.3, "severe": False, "measured_on": "2026-11-12", "previous_haz": -1.8,
                   "previous_measured_on": "2026-08-05"}
    assert rows["Fitri"]["reasons"][0]["values"]["measured_on"] == "2026-08-05"
    assert rows["Gita"]["reasons"][0]["values"]["severe"] is True
    assert rows["Gita"]["reasons"][0]["values"]["previous_haz"] is None
    new = get(client, world.kader_a1, reason="stunted_new").get_json()["items"]
    assert [i["child"]["name"] for i in new] == ["Bali", "Eko", "Gita"]


def test_filter_by_reason_and_without_early_warning(client, world):
    histories(world)
    refer = get(client, world.kader_a1, reason="severe_wasting").get_json()
    assert [i["child"]["name"] for i in refer["items"]] == ["Ani", "Bayu", "Cici"]
    assert refer["reason"] == "severe_wasting" and refer["early_warning_included"] is False
    # a row lists every reason of the child, not only the one asked for
    assert [x["code"] for x in refer["items"][0]["reasons"]] == ["severe_wasting", "underweight", "bgm"]
    off = get(client, world.kader_a1, early_warning="false").get_json()
    assert "Rani" not in by_name(off["items"]) and off["early_warning_included"] is False
    ew_only = get(client, world.kader_a1, reason="early_warning").get_json()
    assert [i["child"]["name"] for i in ew_only["items"]] == ["Rani"]
    r = get(client, world.kader_a1, reason="obese")
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]


def test_cursor_pages_have_no_duplicates_or_gaps(client, world):
    histories(world)
    whole = get(client, world.dinkes_gresik, level="kabupaten", code="35.25", early_warning="true",
                limit=500).get_json()
    everyone = [i["child"]["id"] for i in whole["items"]]
    assert len(everyone) == len(EXPECTED_A1) + 2  # A1, Zara (A2), Yuda (B1); not Wati (Lamongan)
    for limit in (1, 3, 4):
        items, pages = all_pages(client, world.dinkes_gresik, level="kabupaten", code="35.25", early_warning="true",
                                 limit=limit)
        assert [i["child"]["id"] for i in items] == everyone
        assert pages == -(-len(everyone) // limit)
    codes = [i["posyandu"]["code"] for i in whole["items"]]
    assert codes == sorted(codes) and codes[-1] == "PY-B1"
    r = get(client, world.dinkes_gresik, level="kabupaten", code="35.25", cursor="not-a-cursor")
    assert r.status_code == 422 and "cursor" in r.get_json()["errors"]


def test_kabupaten_leaves_early_warning_out_unless_asked(client, world):
    histories(world)
    body = get(client, world.dinkes_gresik, level="kabupaten", code="35.25", limit=500).get_json()
    assert body["early_warning_included"] is False and "Rani" not in by_name(body["items"])
    puskesmas = get(client, world.staff_a, limit=500).get_json()
    assert puskesmas["early_warning_included"] is True and "Rani" in by_name(puskesmas["items"])


@pytest.mark.parametrize("who, level, code, visible", [
    ("kader_a1", None, None, {"Ani", "Rani"}),
    ("kader_a1", "posyandu", "PY-A1", {"Ani"}),
    ("staff_a", None, None, {"Ani", "Zara"}),
    ("staff_a", "desa", "35.25.01.2002", {"Zara"}),
    ("staff_b", None, None, {"Yuda"}),
    ("dinkes_gresik", "kabupaten", "35.25", {"Ani", "Zara", "Yuda"}),
    ("dinkes_lamongan", "kabupaten", "35.24", {"Wati"}),
    ("admin", "posyandu", "PY-C1", {"Wati"}),
])
def test_each_role_sees_its_area(client, world, who, level, code, visible):
    histories(world)
    query = {"level": level, "code": code} if level else {}
    body = get(client, getattr(world, who), limit=500, **query).get_json()
    names = set(by_name(body["items"]))
    assert visible <= names
    others = {"Ani", "Zara", "Yuda", "Wati"} - visible
    assert not (names & others)


@pytest.mark.parametrize("who, level, code", [
    ("kader_a1", "posyandu", "PY-A2"),       # another posyandu
    ("kader_a1", "puskesmas", "P3525010101"),
    ("staff_a", "posyandu", "PY-B1"),        # another puskesmas's posyandu
    ("staff_a", "kabupaten", "35.25"),
    ("dinkes_gresik", "kabupaten", "35.24"),  # another kabupaten
    ("dinkes_lamongan", "posyandu", "PY-A1"),
    ("parent_1", "posyandu", "PY-A1"),        # parents have no lists
    ("parent_1", None, None),
    ("admin", "posyandu", "PY-NOPE"),
])
def test_wrong_scope_is_404(client, world, who, level, code):
    histories(world)
    query = {"level": level, "code": code} if level else {}
    r = get(client, getattr(world, who), **query)
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    d = client.get(URL + ".csv", query_string={"month": MONTH, **query}, headers=headers(getattr(world, who)))
    assert d.status_code == 404


def test_empty_month_and_future_month(client, world):
    histories(world)
    empty = get(client, world.kader_a1, month="2019-01").get_json()
    assert empty["items"] == [] and empty["next_cursor"] is None
    r = get(client, world.kader_a1, month="2099-01")
    assert r.status_code == 422 and r.mimetype == "application/problem+json" and "month" in r.get_json()["errors"]
    r = get(client, world.kader_a1, month="2026-13")
    assert r.status_code == 422 and "month" in r.get_json()["errors"]
    r = get(client, world.kader_a1, limit=0)
    assert r.status_code == 422 and "limit" in r.get_json()["errors"]
    r = client.get(URL + ".xlsx", query_string={"month": "2099-01"}, headers=headers(world.kader_a1))
    assert r.status_code == 422


def test_english_labels(client, world):
    histories(world)
    body = get(client, world.kader_a1, lang="en", reason="severe_wasting").get_json()
    first = body["items"][0]["reasons"][0]
    assert first["label"] == first["label_en"] and first["label"].startswith("Severely wasted")
    assert body["items"][0]["last_measurement"]["bbtb"]["label"] == "Severely wasted"


def test_nik_masked_in_the_list_and_the_download(client, world):
    c = histories(world)
    ani = c["ani"]
    ani.nik_encrypted, ani.nik_hmac, ani.nik_masked = crypto.protect(NIK)
    db.session.flush()
    row = by_name(get(client, world.staff_a).get_json()["items"])["Ani"]
    assert row["child"]["nik_masked"] == "3525********0001" and row["child"]["has_nik"] is True
    assert NIK not in get(client, world.staff_a).get_data(as_text=True)
    r = client.get(URL + ".csv", query_string={"month": MONTH, "nik": "clear"}, headers=headers(world.kader_a1))
    assert r.status_code == 403
    r = client.get(URL + ".csv", query_string={"month": MONTH, "nik": "clear"}, headers=headers(world.staff_a))
    assert r.status_code == 200 and NIK in r.get_data(as_text=True)
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export_identifiers")).all()
    assert len(events) == 1 and events[0].entity_id == "follow-up:puskesmas:P3525010101"
    assert NIK not in str(events[0].changes)
    masked = client.get(URL + ".csv", query_string={"month": MONTH}, headers=headers(world.staff_a))
    assert NIK not in masked.get_data(as_text=True) and "3525********0001" in masked.get_data(as_text=True)


def test_xlsx_download_holds_the_list(client, world):
    histories(world)
    r = client.get(URL + ".xlsx", query_string={"month": MONTH}, headers=headers(world.kader_a1))
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    h = next(row[0].row for row in sheet.iter_rows(min_col=1, max_col=1) if row[0].value == "Kode posyandu")
    header = [c.value for c in sheet[h]]
    assert header[:4] == ["Kode posyandu", "Posyandu", "Nama anak", "NIK anak"] and "Alasan" in header
    data = [dict(zip(header, [c.value for c in row])) for row in sheet.iter_rows(min_row=h + 1)
            if row[0].value is not None]
    assert [d["Nama anak"] for d in data] == sorted(EXPECTED_A1)
    ani = next(d for d in data if d["Nama anak"] == "Ani")
    assert ani["ZS BB/TB"] == -3.2 and ani["Status BB/TB"] == "Gizi buruk" and ani["Berat badan (kg)"] == 6.1
    assert ani["Perlu dirujuk"] == "Ya" and ani[fu.reason("bgm").label_id] == "Ya"
    assert ani[fu.reason("wasted").label_id] in (None, "")
    assert ani["Alasan"] == "; ".join(fu.label(c) for c in EXPECTED_A1["Ani"])
    joko = next(d for d in data if d["Nama anak"] == "Joko")
    assert joko["Bulan tanpa penimbangan"] == 3 and joko["Tanggal pengukuran terakhir"] == datetime(2026, 8, 5)
    rani = next(d for d in data if d["Nama anak"] == "Rani")
    assert rani["Peringatan dini (aturan)"] == "haz_decline, haz_near_line"


def test_csv_download_streams_with_a_reason_filter(client, world):
    histories(world)
    r = client.get(URL + ".csv", query_string={"month": MONTH, "reason": "not_weighed_2m", "level": "kabupaten",
                                               "code": "35.25"}, headers=headers(world.dinkes_gresik))
    assert r.status_code == 200 and r.is_streamed
    text = r.get_data(as_text=True)
    lines = [line for line in text.splitlines() if line]
    assert len(lines) == 3 and "Joko" in text and "Oki" in text  # header + 2
    r = client.get(URL + ".csv", query_string={"month": MONTH, "reason": "nope"}, headers=headers(world.kader_a1))
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]
    listed = client.get("/api/v1/reports/downloads", headers=headers(world.kader_a1)).get_json()
    kind = next(i for i in listed["items"] if i["kind"] == "follow-up")
    assert kind["by_name"] is True


def test_core_counts_months_without_weighing():
    nov = 2026 * 12 + 10
    assert fu.months_without_weighing(nov, date(2026, 1, 31), date(2025, 1, 1)) == 10
    assert fu.months_without_weighing(nov, date(2026, 10, 1), date(2025, 1, 1)) == 1
    assert fu.months_without_weighing(nov, None, date(2026, 11, 30)) == 1
    assert fu.months_without_weighing(nov, None, date(2026, 9, 1)) == 3
    assert fu.stunting_episode(True, None) == "stunted_new"
    assert fu.stunting_episode(True, False) == "stunted_new"
    assert fu.stunting_episode(True, True) == "stunted_known"
    assert fu.stunting_episode(False, None) == "stunted_known"
    assert fu.expand("stunted") == ("stunted_new", "stunted_known")
