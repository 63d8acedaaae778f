"""Nutrition status, SKDN and trend over HTTP: numbers counted by hand from
tests/reports/nutrition_data.py (CIs by WHO anthro's formula, core.prevalence being the
WHO-anthro-verified reference), scope per role, bad input, and the same numbers in the .xlsx."""
from __future__ import annotations

import io
import uuid
from datetime import date

import openpyxl
import pytest

from posyandu.core import prevalence
from tests import factories
from tests.factories import headers
from tests.reports.nutrition_data import nutrition_world

API = "/api/v1/reports"
GRESIK = {"level": "kabupaten", "code": "35.25", "month": "2026-08"}


def get(client, user, path, **params):
    return client.get(f"{API}/{path}", query_string=params, headers=headers(user))


def table(body, key):
    return next(t for t in body["tables"] if t["key"] == key)


def total(body, key):
    rows = table(body, key)["rows"]
    return next(r for r in rows if r.get("level") == "total")


def ci(k, n, N):
    est = prevalence.proportion([k], [n], [N])
    return tuple(round(float(est[p][0]), 2) for p in ("r", "ll", "ul"))


@pytest.fixture
def kids(world):
    return nutrition_world(world)


def test_nutrition_status_kabupaten(client, world, kids):
    r = get(client, world.dinkes_gresik, "nutrition-status", **GRESIK, by="posyandu")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["kind"] == "nutrition-status" and body["period"] == "2026-08"
    t = total(body, "summary")
    assert (t["target"], t["measured"], t["coverage_pct"], t["excluded"]) == (9, 8, 88.9, 2)
    expected = {"stunting": (3, 7), "severe_stunting": (1, 7), "underweight": (3, 7), "wasting": (2, 7),
                "severe_wasting": (1, 7), "overweight": (1, 7)}
    for key, (k, n) in expected.items():
        assert (t[f"{key}_cases"], t[f"{key}_n"]) == (k, n), key
        assert (t[f"{key}_pct"], t[f"{key}_ci_low"], t[f"{key}_ci_high"]) == ci(k, n, 8), key
    assert t["stunting_pct"] == pytest.approx(42.86) and t["severe_stunting_pct"] == pytest.approx(14.29)
    notes = " ".join(table(body, "summary")["notes"])
    assert "SSGI/SKI" in notes and "bulan penimbangan" in notes
    # per posyandu: the moved child (c7) counts once, at B1 where she was at the month's end
    rows = {r["posyandu_code"]: r for r in table(body, "summary")["rows"] if r["level"] == "posyandu"}
    assert {k: (v["target"], v["measured"], v["stunting_cases"]) for k, v in rows.items()} == {
        "PY-A1": (5, 4, 2), "PY-A2": (1, 1, 0), "PY-B1": (3, 3, 1)}
    assert [r["level"] for r in table(body, "summary")["rows"]] == [
        "posyandu", "desa", "posyandu", "desa", "puskesmas", "posyandu", "desa", "puskesmas", "total"]
    # exclusions: c4's flagged length, c10's implausible weight
    ex = total(body, "exclusions")
    assert (ex["excluded"], ex["flag_ha"], ex["flag_wa"], ex["implausible_weight"], ex["oedema"]) == (2, 1, 0, 1, 1)
    # categories: TB/U of the 7 valid lengths (c4 flagged: no category)
    cat = total(body, "categories")
    assert (cat["cat_tbu_severely_stunted"], cat["cat_tbu_stunted"], cat["cat_tbu_normal"]) == (1, 2, 4)
    assert (cat["cat_bbtb_wasted"], cat["cat_bbtb_overweight"], cat["cat_bbu_severely_underweight"]) == (1, 1, 1)


def test_nutrition_status_by_sex_and_age(client, world, kids):
    body = get(client, world.admin, "nutrition-status", **GRESIK).get_json()
    rows = table(body, "by_sex_age")["rows"]

    def row(group, sex=None, age=None):
        return next(r for r in rows if r["level"] == group and r["sex"] == sex and
                    (age is None or r["age_group"] == age))
    # boys measured: c1 c3 c7; girls: c2 c4 c6 c8 c10
    assert row("sex", "L")["measured"] == 3 and row("sex", "P")["measured"] == 5
    assert (row("sex", "L")["stunting_cases"], row("sex", "L")["stunting_n"]) == (2, 3)
    # age groups at the visit: 0-5 c2; 6-11 none; 12-23 c3 c6; 24-59 c1 c4 c7 c8 c10
    measured = {r["age_group"]: r["measured"] for r in rows if r["level"] == "age"}
    assert measured == {"0-5 bulan": 1, "6-11 bulan": 0, "12-23 bulan": 2, "24-59 bulan": 5,
                        "Baduta (0-23 bulan)": 3, "Balita (0-59 bulan)": 8}
    # default breakdown of a kabupaten: kecamatan
    assert [r["name"] for r in table(body, "summary")["rows"]] == ["Kebomas", "Manyar", None]


def test_skdn_identities_and_numbers(client, world, kids):
    body = get(client, world.staff_a, "skdn", level="puskesmas", code="P3525010101", month="2026-08").get_json()
    rows = {r["posyandu_code"]: r for r in table(body, "skdn")["rows"] if r["level"] == "posyandu"}
    a1 = rows["PY-A1"]
    assert [a1[k] for k in ("S", "K", "D", "N", "T", "O", "B", "BGM", "2T")] == [5, 5, 4, 1, 2, 0, 1, 0, 1]
    assert (a1["K_S"], a1["D_S"], a1["N_D"], a1["N_S"], a1["S_minus_D"], a1["K_minus_D"]) == (
        100.0, 80.0, 25.0, 20.0, 1, 1)
    assert [rows["PY-A2"][k] for k in ("S", "D", "N")] == [1, 1, 1]   # c7 moved to B1 in August
    kab = total(get(client, world.dinkes_gresik, "skdn", **GRESIK).get_json(), "skdn")
    assert [kab[k] for k in ("S", "K", "D", "N", "T", "O", "B", "BGM", "2T")] == [9, 8, 7, 2, 2, 2, 1, 1, 1]
    assert (kab["D_S"], kab["N_D"], kab["BGM_D"], kab["weighed_implausible"]) == (77.8, 28.6, 14.3, 1)
    assert (kab["S_minus_D"], kab["K_minus_D"]) == (2, 1)


def test_skdn_identities_on_generated_data(client, world):
    """Random visits through the API: D = N + T + O + B and N <= D <= K <= S in every row."""
    import random
    rng = random.Random(5)
    kids = [factories.child(rng.choice([world.posyandu_a1, world.posyandu_a2, world.posyandu_b1]), f"Gen {i}",
                            birth_date=date(2023, 1, 1) + __import__("datetime").timedelta(days=rng.randrange(900)),
                            mother_name="Ibu") for i in range(15)]
    from posyandu.extensions import db
    db.session.commit()
    for child in kids:
        for month in range(1, 12):
            if rng.random() < 0.7:
                body = {"id": str(uuid.uuid4()), "child_id": str(child.id),
                        "measured_on": date(2026, month, rng.randrange(1, 28)).isoformat(),
                        "weight_kg": round(rng.uniform(8, 15), 1)}
                assert client.post("/api/v1/measurements", json=body, headers=headers(world.admin)).status_code == 201
    for month in ("2026-03", "2026-07", "2026-11"):
        body = get(client, world.admin, "skdn", level="kabupaten", code="35.25", month=month, by="posyandu").get_json()
        for row in table(body, "skdn")["rows"]:
            assert row["D"] == row["N"] + row["T"] + row["O"] + row["B"]
            assert row["N"] <= row["D"] <= row["K"] <= row["S"]
        assert total(body, "skdn")["D"] > 0


def test_scope_per_role(client, world, kids):
    # default areas: kader -> her posyandu, staff -> the puskesmas, dinkes -> the kabupaten
    for user, level, code in ((world.kader_a1, "posyandu", "PY-A1"), (world.staff_a, "puskesmas", "P3525010101"),
                              (world.dinkes_gresik, "kabupaten", "35.25")):
        for path in ("nutrition-status", "skdn", "trend"):
            r = get(client, user, path, month="2026-08")
            assert r.status_code == 200, (path, r.get_json())
            assert (r.get_json()["area"]["level"], r.get_json()["area"]["code"]) == (level, code)
    a1 = get(client, world.kader_a1, "nutrition-status", month="2026-08").get_json()
    assert len(table(a1, "summary")["rows"]) == 1 and table(a1, "summary")["rows"][0]["measured"] == 4
    wrong = [(world.kader_a1, {"level": "posyandu", "code": "PY-A2"}),
             (world.kader_b1, {"level": "puskesmas", "code": "P3525010101"}),
             (world.staff_b, {"level": "puskesmas", "code": "P3525010101"}),
             (world.staff_a, {"level": "kabupaten", "code": "35.25"}),
             (world.dinkes_lamongan, {"level": "kabupaten", "code": "35.25"}),
             (world.parent_1, {"level": "posyandu", "code": "PY-A1"}),
             (world.parent_1, {})]
    for user, area in wrong:
        for path in ("nutrition-status", "skdn", "trend"):
            r = get(client, user, path, month="2026-08", **area)
            assert r.status_code == 404, (user.username, path, area)
            assert r.mimetype == "application/problem+json"


def test_bad_input(client, world, kids):
    for path in ("nutrition-status", "skdn", "trend"):
        r = get(client, world.admin, path, level="kabupaten", code="35.25", month="2099-01")
        assert r.status_code == 422 and "month" in r.get_json()["errors"]
        r = get(client, world.admin, path, level="kabupaten", code="35.25", month="2026-13")
        assert r.status_code == 422 and "month" in r.get_json()["errors"]
    r = get(client, world.admin, "skdn", level="desa", code="35.25.01.2001", month="2026-08", by="kecamatan")
    assert r.status_code == 422 and "by" in r.get_json()["errors"]
    r = get(client, world.admin, "trend", level="kabupaten", code="35.25", month="2026-08", months=61)
    assert r.status_code == 422 and "months" in r.get_json()["errors"]
    r = get(client, world.admin, "nutrition-status", level="kabupaten")
    assert r.status_code == 422 and "code" in r.get_json()["errors"]


def test_empty_month_answers_zeros(client, world, kids):
    body = get(client, world.admin, "nutrition-status", level="kabupaten", code="35.25", month="2025-02").get_json()
    t = total(body, "summary")
    assert (t["measured"], t["stunting_n"], t["stunting_cases"], t["stunting_pct"]) == (0, 0, 0, None)
    skdn = total(get(client, world.admin, "skdn", level="kabupaten", code="35.25", month="2025-02").get_json(), "skdn")
    assert (skdn["D"], skdn["N"], skdn["D_S"]) == (0, 0, 0.0)
    assert "bulan penimbangan" in " ".join(table(body, "summary")["notes"])   # February


def test_trend_series(client, world, kids):
    body = get(client, world.staff_a, "trend", level="puskesmas", code="P3525010101", month="2026-09",
               months=3).get_json()
    rows = table(body, "trend")["rows"]
    assert [r["month"] for r in rows] == ["2026-07", "2026-08", "2026-09"]
    # July: c5 only (A1); August: c1 c2 c3 c4 (A1) and c6 (A2); c7 is at B1 at August's end
    assert [r["measured"] for r in rows] == [1, 5, 0]
    aug = rows[1]
    assert (aug["stunting_cases"], aug["stunting_n"]) == (2, 4)   # c1 c2 of c1 c2 c3 c6 (c4 flagged)
    assert (aug["stunting_pct"], aug["stunting_ci_low"], aug["stunting_ci_high"]) == ci(2, 4, 5)
    assert (aug["D"], aug["target"]) == (5, 6)
    assert body["period"] == "2026-07..2026-09"


def test_moved_child_over_http(client, world):
    """A child weighed at A1 and handed over to A2 during the month counts once, at A2."""
    child = factories.child(world.posyandu_a1, "Anak Pindah", birth_date=date(2024, 8, 1), mother_name="Ibu")
    from posyandu.extensions import db
    db.session.commit()
    body = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": "2026-10-05", "weight_kg": 11.0}
    assert client.post("/api/v1/measurements", json=body, headers=headers(world.admin)).status_code == 201

    def measured():
        rows = table(get(client, world.staff_a, "nutrition-status", level="puskesmas", code="P3525010101",
                         month="2026-10").get_json(), "summary")["rows"]
        return {r["posyandu_code"]: r["measured"] for r in rows if r["level"] == "posyandu"}
    assert measured() == {"PY-A1": 1, "PY-A2": 0}
    r = client.post(f"/api/v1/children/{child.id}/move", json={"posyandu_id": world.posyandu_a2.id,
                                                               "moved_on": "2026-10-20"}, headers=headers(world.admin))
    assert r.status_code == 200, r.get_json()
    assert measured() == {"PY-A1": 0, "PY-A2": 1}
    # September (before the move) stays at A1
    sept = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": "2026-09-05", "weight_kg": 10.8}
    assert client.post("/api/v1/measurements", json=sept, headers=headers(world.admin)).status_code == 201
    rows = table(get(client, world.staff_a, "skdn", level="puskesmas", code="P3525010101", month="2026-09")
                 .get_json(), "skdn")["rows"]
    assert {r["posyandu_code"]: r["D"] for r in rows if r["level"] == "posyandu"} == {"PY-A1": 1, "PY-A2": 0}


def test_edit_and_delete_change_the_report(client, world):
    """A boy of 24 months 76 cm long is below WHO's -3 SD of length-for-age (boys at 24 months:
    median 87.8 cm, -3 SD 78.7 cm... the WHO chart's -3 SD line is near 78-79 cm); 88 cm is at the
    median. An edit to 88 cm takes him out of stunting; deleting the visit takes him out of the
    month."""
    child = factories.child(world.posyandu_b1, "Anak Edit", birth_date=date(2024, 8, 15), mother_name="Ibu")
    from posyandu.extensions import db
    db.session.commit()
    mid = str(uuid.uuid4())
    body = {"id": mid, "child_id": str(child.id), "measured_on": "2026-08-20", "weight_kg": 11.5,
            "length_cm": 76.0, "measure_method": "lying"}
    assert client.post("/api/v1/measurements", json=body, headers=headers(world.kader_b1)).status_code == 201

    def report():
        t = table(get(client, world.kader_b1, "nutrition-status", month="2026-08").get_json(), "summary")["rows"][0]
        return t["measured"], t["stunting_cases"], t["severe_stunting_cases"]
    assert report() == (1, 1, 1)
    r = client.patch(f"/api/v1/measurements/{mid}", json={"length_cm": 88.0}, headers=headers(world.kader_b1))
    assert r.status_code == 200, r.get_json()
    assert report() == (1, 0, 0)
    assert client.delete(f"/api/v1/measurements/{mid}", headers=headers(world.kader_b1)).status_code in (200, 204)
    assert report() == (0, 0, 0)


def test_xlsx_holds_the_json_numbers(client, world, kids):
    for kind in ("nutrition-status", "skdn", "trend"):
        body = get(client, world.dinkes_gresik, kind, **GRESIK, by="posyandu" if kind != "trend" else None).get_json()
        params = dict(GRESIK, **({"by": "posyandu"} if kind != "trend" else {}))
        r = client.get(f"{API}/{kind}.xlsx", query_string=params, headers=headers(world.dinkes_gresik))
        assert r.status_code == 200, r.data[:300]
        book = openpyxl.load_workbook(io.BytesIO(r.data), read_only=True)
        assert len(book.sheetnames) == len(body["tables"])
        first = table(body, body["tables"][0]["key"])
        sheet = book[book.sheetnames[0]]
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        header_at = next(i for i, row in enumerate(values) if row and first["columns"][0]["label"] in row)
        header = values[header_at]
        compared = 0
        for json_row, xlsx_row in zip(first["rows"], values[header_at + 1:]):
            for column in first["columns"]:
                if column["kind"] in ("int", "pct", "float"):
                    got = xlsx_row[header.index(column["label"])]
                    assert got == json_row[column["key"]] or (got in (None, "") and json_row[column["key"]] is None), \
                        (kind, column["key"])
                    compared += 1
        assert compared > 20 and len(values) - header_at - 1 == len(first["rows"])
    r = client.get(f"{API}/skdn.csv", query_string=dict(GRESIK, table="skdn"), headers=headers(world.dinkes_gresik))
    assert r.status_code == 200 and "S: balita sasaran" in r.data.decode("utf-8-sig")


def test_english_labels(client, world, kids):
    body = get(client, world.admin, "skdn", **GRESIK, lang="en").get_json()
    labels = [c["label"] for c in table(body, "skdn")["columns"]]
    assert "D: weighed" in labels and body["language"] == "en"


def test_trend_months_match_the_monthly_skdn(client, world, kids):
    """The trend's one-query S/SKDN per month gives what the SKDN report gives month by month
    (moves, a closure, registrations and visits in different months)."""
    from tests.reports.coverage_data import close, kid, measure, transfer
    from posyandu.reports.summary import refresh_child_months
    from posyandu.extensions import db
    late = kid(world.posyandu_a2, "Anak Baru", birth_date=date(2026, 6, 20))
    measure(late, date(2026, 7, 1), weight_kg=4.0, trend_status="B")
    closed = kid(world.posyandu_a1, "Anak Tutup", birth_date=date(2024, 1, 5))
    measure(closed, date(2026, 6, 1), weight_kg=10.0, trend_status="B")
    close(closed, "died", date(2026, 7, 15))
    transfer(kids["c1"], world.posyandu_a1, world.posyandu_b1, date(2026, 9, 3))
    refresh_child_months(db.session, [late.id, closed.id, kids["c1"].id])
    db.session.commit()
    body = get(client, world.admin, "trend", level="kabupaten", code="35.25", month="2026-10", months=6).get_json()
    for row in table(body, "trend")["rows"]:
        monthly = total(get(client, world.admin, "skdn", level="kabupaten", code="35.25",
                            month=row["month"]).get_json(), "skdn")
        assert (row["target"], row["D"], row["BGM"], row["2T"], row["D_S"]) == (
            monthly["S"], monthly["D"], monthly["BGM"], monthly["2T"], monthly["D_S"]), row["month"]
    a1 = get(client, world.admin, "trend", level="posyandu", code="PY-A1", month="2026-10", months=3).get_json()
    a1_monthly = [table(get(client, world.admin, "skdn", level="posyandu", code="PY-A1", month=m).get_json(),
                        "skdn")["rows"][0]["S"] for m in ("2026-08", "2026-09", "2026-10")]
    assert [r["target"] for r in table(a1, "trend")["rows"]] == a1_monthly
