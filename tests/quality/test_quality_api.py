"""GET /api/v1/quality/posyandu, /cadres and /report.xlsx: figures worked out by hand from the
stored values, the register checks, sorting, small groups, scope per role, bad input."""
from __future__ import annotations

import io
import math
import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest

from posyandu.extensions import db

from tests import factories
from tests.querycount import statements_during

OCT = date(2026, 10, 14)
SEP = date(2026, 9, 9)
P = 0.85 / 1.85


def chi1_upper(x: float) -> float:
    return math.erfc(math.sqrt(x / 2))


def by_check(group: dict) -> dict:
    return {c["check"]: c for c in group["checks"]}


def by_register(group: dict) -> dict:
    return {c["check"]: c for c in group["register"]}


def group_of(body: dict, code: str) -> dict:
    return next(g for g in body["groups"] if g["group"].get("code") == code)


# --------------------------------------------------------------------------- figures by hand
@pytest.fixture
def four_visits(world, kid, visit):
    """Posyandu A1, October 2026: 3 boys and 1 girl aged 400-600 days, WHZ 0, 1, 2 and 6
    (flagged), every weight 9.0 kg, lengths 75.1 .. 75.4 cm."""
    kids = [kid(sex=1), kid(sex=2), kid(sex=1), kid(sex=1)]
    for k, z, length, age in zip(kids, (0.0, 1.0, 2.0, 6.0), (75.1, 75.2, 75.3, 75.4),
                                 (400, 450, 500, 600)):
        visit(k, OCT, by=world.kader_a1, zwfl=z, weight=9.0, length=length, age_days=age)
    return kids


def test_smart_figures_of_a_posyandu_by_hand(world, get, four_visits):
    body = get("posyandu", world.staff_a, level="posyandu", code="PY-A1", month="2026-10").json
    assert body["area"] == {"level": "posyandu", "code": "PY-A1", "name": "Posyandu Melati"}
    assert body["period"] == {"from": "2026-10", "to": "2026-10", "months": 1}
    g = body["groups"][0]
    assert g["group"] == {"kind": "posyandu", "id": world.posyandu_a1.id, "code": "PY-A1",
                          "name": "Posyandu Melati"}
    assert (g["visits"], g["children"], g["whz_n"], g["rank"]) == (4, 4, 4, 1)
    c = by_check(g)
    # 1 of 4 flagged = 25 % -> problematic, 20 points
    assert (c["flagged"]["value"], c["flagged"]["quality_class"], c["flagged"]["points"]) == (25.0, "problematic", 20)
    # unflagged 0, 1, 2: SD 1 (excellent); skewness 0; kurtosis 3 * 2 / 2^2 - 3 = -1.5 (5 points)
    assert c["sd"]["value"] == pytest.approx(1.0) and c["sd"]["n"] == 3 and c["sd"]["points"] == 0
    assert c["skewness"]["value"] == pytest.approx(0.0, abs=1e-12) and c["skewness"]["points"] == 0
    assert c["kurtosis"]["value"] == pytest.approx(-1.5) and c["kurtosis"]["points"] == 5
    # four weights ending in 0: E = 0.4, chi2 = 3.6^2/0.4 + 9 * 0.4 = 36, DPS = 100 sqrt(36/36)
    assert (c["dps_weight"]["value"], c["dps_weight"]["points"]) == (100.0, 10)
    # lengths ending 1, 2, 3, 4: chi2 = 4 * 0.6^2/0.4 + 6 * 0.4 = 6, DPS = 100 sqrt(6/36) = 40.82
    assert (c["dps_height"]["value"], c["dps_height"]["points"]) == (40.82, 10)
    # all four aged 6-29 months: ratio 4/0 (null in JSON); prop.test(4, 4, 0.85/1.85)
    e1, e2 = 4 * P, 4 * (1 - P)
    stat = (abs(4 - e1) - 0.5) ** 2 / e1 + (abs(0 - e2) - 0.5) ** 2 / e2
    assert c["age_ratio"]["value"] == pytest.approx(chi1_upper(stat), rel=1e-9)
    assert c["age_ratio"]["ratio"] is None and c["age_ratio"]["quality_class"] == "good"  # p = 0.0955
    # 3 boys, 1 girl: ratio 3; (|3 - 2| - 0.5)^2 / 2 * 2 = 0.25
    assert c["sex_ratio"]["ratio"] == 3.0
    assert c["sex_ratio"]["value"] == pytest.approx(chi1_upper(0.25), rel=1e-9)
    assert c["sex_ratio"]["points"] == 0
    assert (g["score"], g["quality_class"], g["quality_label"]) == (47, "problematic", "Bermasalah")
    # a group this small: every check is marked, and none of its points count for sorting
    assert g["too_small"] is True and g["points_judged"] == 0
    assert set(g["too_small_checks"]) >= {"flagged", "sd", "skewness", "kurtosis", "dps_weight",
                                          "dps_height", "age_ratio", "sex_ratio"}
    assert all(not ch["enough_data"] for ch in g["checks"])
    assert c["flagged"]["n"] == 4 and c["flagged"]["min_n"] == 40
    assert "Data terlalu sedikit" in g["size_note"] and "n=4 < 40" in g["size_note"]
    assert body["total"]["visits"] == 4 and body["total"]["group"]["kind"] == "area"


def test_english_labels_on_request(world, get, four_visits):
    body = get("posyandu", world.staff_a, level="posyandu", code="PY-A1", month="2026-10", lang="en").json
    g = body["groups"][0]
    assert body["language"] == "en" and g["quality_label"] == "Problematic"
    assert by_check(g)["flagged"]["label"] == "WHO-flagged WHZ"
    assert g["size_note"].startswith("Too few rows to judge")


def test_account_language_comes_before_accept_language(world, get, four_visits):
    world.staff_a.language = "en"
    db.session.flush()
    body = get("posyandu", world.staff_a, level="posyandu", code="PY-A1", month="2026-10",
               headers={"Accept-Language": "id"}).json
    assert body["language"] == "en"


# --------------------------------------------------------------------------- register checks
def test_register_checks_by_hand(world, get, kid, visit):
    k1, k2, k3, k4 = kid(), kid(), kid(), kid()
    # k1: September 80.0 cm / 10.0 kg, October 78.5 cm (shrank 1.5 > 1.0) / 10.0 kg (repeated)
    visit(k1, SEP, by=world.kader_a1, weight=10.0, length=80.0)
    visit(k1, OCT, by=world.kader_a1, weight=10.0, length=78.5)
    # k2: 75.0 -> 74.2 (0.8: within the tolerance), 9.0 -> 9.2 kg; a deleted visit in between
    visit(k2, SEP, by=world.kader_a1, weight=9.0, length=75.0)
    visit(k2, date(2026, 10, 1), by=world.kader_a1, weight=9.0, length=70.0, deleted=True)
    visit(k2, OCT, by=world.kader_a1, weight=9.2, length=74.2)
    # k3: first visit, length without a measuring position
    visit(k3, OCT, by=world.kader_a1, length=76.0, method=None)
    # k4: a flagged weight saved anyway, entered 15 days after the session (limit: 14)
    late = datetime.combine(OCT + timedelta(days=15), time(9, 0),
                            timezone(timedelta(hours=7))).astimezone(timezone.utc)
    visit(k4, OCT, by=world.kader_a1, zwfl=5.5, flags=("fwei",), created_at=late)
    body = get("posyandu", world.kader_a1, month="2026-10").json  # her only posyandu by default
    r = by_register(group_of(body, "PY-A1"))
    assert (r["length_shrank"]["n"], r["length_shrank"]["count"]) == (2, 1)
    assert (r["weight_repeated"]["n"], r["weight_repeated"]["count"]) == (2, 1)
    assert r["weight_repeated"]["pct"] == 50.0
    assert (r["measure_missing"]["n"], r["measure_missing"]["count"]) == (4, 1)
    assert (r["implausible_entered"]["n"], r["implausible_entered"]["count"]) == (4, 1)
    assert (r["late_entry"]["n"], r["late_entry"]["count"]) == (4, 1)
    assert all(not x["enough_data"] for x in r.values())  # 4 visits < 20
    assert group_of(body, "PY-A1")["visits"] == 4  # September's visits only serve as "previous"


def test_late_entry_counts_local_days(world, get, kid, visit):
    """14 days after the session (local date) is not late; day 15 is, even when the UTC date
    is still day 14 (08:00 WIB is 01:00 UTC)."""
    wib = timezone(timedelta(hours=7))
    for days, hour in ((14, 23), (15, 8)):
        at = datetime.combine(OCT + timedelta(days=days), time(hour, 0), wib).astimezone(timezone.utc)
        visit(kid(), OCT, by=world.kader_a1, created_at=at)
    r = by_register(get("posyandu", world.kader_a1, month="2026-10").json["groups"][0])
    assert (r["late_entry"]["n"], r["late_entry"]["count"]) == (2, 1)


def test_previous_visit_at_another_posyandu_and_before_the_period(world, get, kid, visit):
    """A child's previous visit counts wherever and whenever (within a year) it was."""
    k = kid()
    visit(k, date(2026, 3, 3), by=world.kader_a2, length=82.0, posyandu=world.posyandu_a2)
    visit(k, OCT, by=world.kader_a1, length=80.0)
    body = get("posyandu", world.staff_a, level="puskesmas", code="P3525010101", month="2026-10").json
    r = by_register(group_of(body, "PY-A1"))
    assert (r["length_shrank"]["n"], r["length_shrank"]["count"]) == (1, 1)
    assert group_of(body, "PY-A2")["visits"] == 0  # its March visit is outside the period


def test_through_the_measurement_api(world, client, get):
    """Stored by POST /measurements (engine z-scores, clenhei): a standing length 1.5 cm below
    last month's, the same weight as last month, and a weight WHO flags. (The API refuses a
    length without a position, so that check stays at 0 here.)"""
    h = factories.headers(world.kader_a1)
    child = world.child_a1  # born 2024-03-15: 2 years old in 2026, so lying = length - 0.7

    def post(on, **data):
        body = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": on.isoformat(), **data}
        response = client.post("/api/v1/measurements", json=body, headers=h)
        assert response.status_code == 201, response.json

    post(SEP, weight_kg=11.0, length_cm=86.0, measure_method="standing")
    post(OCT, weight_kg=11.0, length_cm=84.5, measure_method="standing")
    post(date(2026, 10, 20), weight_kg=40.0, length_cm=84.6, measure_method="standing")  # implausible
    g = get("posyandu", world.kader_a1, month="2026-10").json["groups"][0]
    r = by_register(g)
    assert (r["length_shrank"]["n"], r["length_shrank"]["count"]) == (2, 1)
    assert (r["weight_repeated"]["n"], r["weight_repeated"]["count"]) == (1, 1)
    assert (r["measure_missing"]["n"], r["measure_missing"]["count"]) == (2, 0)
    assert r["implausible_entered"]["count"] == 1
    c = by_check(g)
    assert c["flagged"]["n"] == 2 and c["flagged"]["value"] == 50.0


# --------------------------------------------------------------------------- sorting, small groups
def test_sorted_by_judged_points_not_by_noise(world, get, kid, visit):
    """A2: 50 visits, 10 with a flagged WHZ (20 %, judged: 20 points). A1: 4 visits with a
    worse score that rests on too few rows. B... is another puskesmas. A2 comes first."""
    for i in range(50):
        z = 6.0 if i < 10 else (-1.0, 0.0, 1.0)[i % 3]
        visit(kid(world.posyandu_a2, sex=1 + i % 2), OCT, by=world.kader_a2, zwfl=z,
              weight=9.0 + (i % 10) / 10, length=75.0 + (i % 10) / 10)
    for z in (0.0, 1.0, 2.0, 6.0):
        visit(kid(), OCT, by=world.kader_a1, zwfl=z, weight=9.0, length=75.0)
    body = get("posyandu", world.staff_a, level="puskesmas", code="P3525010101", month="2026-10").json
    codes = [g["group"]["code"] for g in body["groups"]]
    assert codes == ["PY-A2", "PY-A1"]
    a2, a1 = body["groups"]
    assert by_check(a2)["flagged"]["value"] == 20.0 and by_check(a2)["flagged"]["enough_data"]
    assert a2["points_judged"] >= 20 and a1["points_judged"] == 0
    assert a1["score"] > a2["score"]  # the raw score would have put A1 first
    assert a1["too_small"] and a1["size_note"]


def test_posyandu_without_visits_are_listed_last(world, get, kid, visit):
    visit(kid(), OCT, by=world.kader_a1)
    body = get("posyandu", world.dinkes_gresik, level="kabupaten", code="35.25", month="2026-10").json
    assert [g["group"]["code"] for g in body["groups"]] == ["PY-A1", "PY-A2", "PY-B1"]
    empty = group_of(body, "PY-B1")
    assert empty["visits"] == 0 and empty["score"] is None
    assert empty["size_note"] == "Tidak ada kunjungan pada periode ini."


def test_per_cadre(world, get, kid, visit):
    for _ in range(3):
        visit(kid(), OCT, by=world.kader_a1)
    visit(kid(world.posyandu_a2), OCT, by=world.staff_a)
    visit(kid(world.posyandu_a2), OCT, by=None)
    visit(kid(world.posyandu_b1), OCT, by=world.kader_b1)  # another puskesmas: not in the area
    body = get("cadres", world.staff_a, month="2026-10").json
    assert body["area"]["code"] == "P3525010101" and body["grouping"] == "cadre"
    groups = {g["group"]["id"]: g for g in body["groups"]}
    assert set(groups) == {world.kader_a1.id, world.staff_a.id, None}
    assert groups[world.kader_a1.id]["visits"] == 3
    assert groups[world.kader_a1.id]["group"] == {"kind": "cadre", "id": world.kader_a1.id, "code": None,
                                                  "name": "kader.melati", "role": "kader"}
    assert groups[None]["visits"] == 1 and groups[world.staff_a.id]["group"]["role"] == "puskesmas"
    assert body["total"]["visits"] == 5


def test_range_of_months_counts_every_visit(world, get, kid, visit):
    k = kid()
    for month in (8, 9, 10):
        visit(k, date(2026, month, 10), by=world.kader_a1, weight=9.0 + month / 10)
    body = get("posyandu", world.kader_a1, **{"from": "2026-09", "to": "2026-10"}).json
    assert body["period"] == {"from": "2026-09", "to": "2026-10", "months": 2}
    assert body["groups"][0]["visits"] == 2 and body["groups"][0]["children"] == 1


def test_one_statement_for_the_visits_whatever_their_number(app, world, client, kid, visit):
    h = factories.headers(world.staff_a)
    url = "/api/v1/quality/posyandu?level=puskesmas&code=P3525010101&month=2026-10"

    def run():
        assert client.get(url, headers=h).status_code == 200

    visit(kid(), OCT, by=world.kader_a1)
    few = statements_during(app, run)
    for _ in range(30):
        visit(kid(world.posyandu_a2), OCT, by=world.kader_a2)
    many = statements_during(app, run)
    assert len(few) == len(many)
    assert sum("measurement" in s.lower() for s in many) == 1


# --------------------------------------------------------------------------- xlsx
def test_workbook_has_the_same_numbers(world, get, four_visits):
    import openpyxl

    response = get("report.xlsx", world.staff_a, level="posyandu", code="PY-A1", month="2026-10")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    assert wb.sheetnames == ["Per posyandu", "Per kader", "Keterangan"]
    rows = [list(r) for r in wb["Per posyandu"].iter_rows(values_only=True)]
    assert rows[0][0] == "Kualitas data antropometri"
    header_at = next(i for i, r in enumerate(rows) if r and "Urutan" in r)
    header = rows[header_at]
    total, a1 = (dict(zip(header, r)) for r in rows[header_at + 1:header_at + 3])
    assert total["Kunjungan"] == 4 and total["Urutan"] is None and total["Tingkat"] == "Jumlah"
    assert a1["Urutan"] == 1 and a1["Kode"] == "PY-A1" and a1["Skor SMART"] == 47
    assert a1["Kualitas"] == "Bermasalah" and a1["Flag BB/TB %"] == 25.0
    assert a1["DPS panjang/tinggi"] == 40.82 and a1["Data terlalu sedikit"] == "Ya"
    assert "n=4 < 40" in a1["Catatan jumlah data"]


def test_workbook_in_english(world, get, four_visits):
    import openpyxl

    response = get("report.xlsx", world.staff_a, level="posyandu", code="PY-A1", month="2026-10", lang="en")
    wb = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    assert wb.sheetnames == ["By posyandu", "By cadre", "Explanations"]


# --------------------------------------------------------------------------- scope
ENDPOINTS = ("posyandu", "cadres", "report.xlsx")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_scope_per_role(world, get, path, kid, visit):
    visit(kid(), OCT, by=world.kader_a1)
    month = {"month": "2026-10"}
    ok = [(world.kader_a1, "posyandu", "PY-A1"), (world.staff_a, "puskesmas", "P3525010101"),
          (world.staff_a, "posyandu", "PY-A2"), (world.dinkes_gresik, "kabupaten", "35.25"),
          (world.dinkes_gresik, "posyandu", "PY-B1"), (world.admin, "kabupaten", "3524")]
    for user, level, code in ok:
        get(path, user, level=level, code=code, **month)
    wrong = [(world.kader_a2, "posyandu", "PY-A1"),          # kader of another posyandu
             (world.kader_a1, "puskesmas", "P3525010101"),   # her puskesmas has other posyandu
             (world.staff_b, "puskesmas", "P3525010101"),    # staff of another puskesmas
             (world.staff_b, "posyandu", "PY-A1"),
             (world.dinkes_lamongan, "kabupaten", "35.25"),  # dinkes of another kabupaten
             (world.dinkes_lamongan, "posyandu", "PY-A1"),
             (world.admin, "posyandu", "PY-NOPE")]
    for user, level, code in wrong:
        body = get(path, user, expect=404, level=level, code=code, **month).json
        assert body["status"] == 404 and "PY-A1" not in str(body)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_parents_may_not(world, get, path):
    get(path, world.parent_1, expect=403, level="posyandu", code="PY-A1", month="2026-10")
    get(path, world.parent_2, expect=403, month="2026-10")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_default_area(world, get, path, kid, visit):
    visit(kid(), OCT, by=world.kader_a1)
    if path != "report.xlsx":
        assert get(path, world.kader_a1, month="2026-10").json["area"]["code"] == "PY-A1"
        assert get(path, world.dinkes_gresik, month="2026-10").json["area"]["code"] == "35.25"
    body = get(path, world.admin, expect=422, month="2026-10").json
    assert "level" in body["errors"]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("params,field", [
    ({"month": "2026-13"}, "month"),
    ({"month": "10-2026"}, "month"),
    ({"month": "2027-01"}, "month"),             # the future
    ({"month": "1999-12"}, "month"),
    ({"from": "2026-10"}, "to"),
    ({"to": "2026-10"}, "from"),
    ({"from": "2026-10", "to": "2026-09"}, "to"),
    ({"from": "2025-01", "to": "2026-01"}, "from"),  # 13 months
    ({"month": "2026-10", "from": "2026-09", "to": "2026-10"}, "month"),
    ({}, "from"),
    ({"month": "2026-10", "level": "rt", "code": "1"}, "level"),
    ({"month": "2026-10", "level": "posyandu"}, "code"),
    ({"month": "2026-10", "code": "PY-A1"}, "level"),
    ({"month": "2026-10", "lang": "fr"}, "lang"),
])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_bad_input_is_422_naming_the_field(world, get, path, params, field):
    response = get(path, world.staff_a, expect=422, **params)
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"], response.json


def test_openapi_documents_the_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/quality/posyandu", "/api/v1/quality/cadres", "/api/v1/quality/report.xlsx"):
        op = spec["paths"][path]["get"]
        assert op["summary"] and "Kader" in op["description"]
        assert {"403", "404", "422"} <= set(op["responses"])
        assert {p["name"] for p in op["parameters"]} == {"level", "code", "month", "from", "to", "lang"}
    assert "QualityReportOut" in spec["components"]["schemas"]
    xlsx = spec["paths"]["/api/v1/quality/report.xlsx"]["get"]["responses"]["200"]
    assert "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in xlsx["content"]


def test_data_quality_is_a_report_download(world, client, four_visits):
    """The same numbers through the shared download route (one month), and out of scope a 404."""
    import csv

    from tests import factories

    url = "/api/v1/reports/data-quality.csv"
    query = {"level": "posyandu", "code": "PY-A1", "month": "2026-10", "table": "posyandu"}
    response = client.get(url, query_string=query, headers=factories.headers(world.staff_a))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header = next(r for r in rows if "Urutan" in r)
    a1 = dict(zip(header, rows[rows.index(header) + 2]))
    assert a1["Kode"] == "PY-A1" and a1["Skor SMART"] == "47"
    wrong = client.get(url, query_string=query, headers=factories.headers(world.staff_b))
    assert wrong.status_code == 404
