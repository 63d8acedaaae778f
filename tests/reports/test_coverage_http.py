"""Vitamin A and exclusive breastfeeding coverage over HTTP: numbers worked out by hand
(tests/reports/coverage_data.py), scope per role, bad input, and the same numbers in the
.xlsx and .csv downloads."""
from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest

from tests.factories import headers
from tests.reports.coverage_data import breastfeeding_world, measure, vitamin_a_world

URL = "/api/v1/reports/vitamin-a-breastfeeding"
GRESIK = {"level": "kabupaten", "code": "35.25", "month": "2026-08"}


def get(client, user, url=URL, **params):
    return client.get(url, query_string=params, headers=headers(user))


def table(body, key):
    return next(t for t in body["tables"] if t["key"] == key)


def vita(row):
    return (row["registered_6_11"], row["given_6_11"], row["registered_12_59"], row["given_12_59"],
            row["pct_12_59"], row["registered_6_59"], row["given_6_59"], row["pct_6_59"])


def test_vitamin_a_by_posyandu_with_subtotals(client, world):
    vitamin_a_world(world)
    r = get(client, world.dinkes_gresik, **GRESIK, by="posyandu")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["area"] == {"level": "kabupaten", "code": "35.25", "name": "Kabupaten Gresik"}
    assert body["period"] == "2026-08" and body["language"] == "id"
    assert "tidak dapat dibandingkan" in body["data_source"]
    rows = table(body, "vitamin_a")["rows"]
    summary = [(r["level"], r["posyandu_name"] or r["desa_name"] or r["puskesmas_name"], vita(r)) for r in rows]
    assert summary == [
        ("posyandu", "Posyandu Melati", (1, 1, 1, 1, 100.0, 2, 2, 100.0)),
        ("desa", "Giri", (1, 1, 1, 1, 100.0, 2, 2, 100.0)),
        ("posyandu", "Posyandu Mawar", (0, 0, 4, 3, 75.0, 4, 3, 75.0)),
        ("desa", "Kawisanyar", (0, 0, 4, 3, 75.0, 4, 3, 75.0)),
        ("puskesmas", "Puskesmas Kebomas", (1, 1, 5, 4, 80.0, 6, 5, 83.3)),
        ("posyandu", "Posyandu Anggrek", (0, 0, 1, 0, 0.0, 1, 0, 0.0)),
        ("desa", "Manyar Sido Rukun", (0, 0, 1, 0, 0.0, 1, 0, 0.0)),
        ("puskesmas", "Puskesmas Manyar", (0, 0, 1, 0, 0.0, 1, 0, 0.0)),
        ("total", None, (1, 1, 6, 4, 66.7, 7, 5, 71.4)),
    ]
    assert rows[0]["pct_6_11"] == 100.0 and rows[2]["pct_6_11"] is None


def test_vitamin_a_by_kecamatan_by_sex_and_not_a_campaign_month(client, world):
    vitamin_a_world(world)
    body = get(client, world.admin, **GRESIK).get_json()  # default breakdown: kecamatan
    rows = table(body, "vitamin_a")["rows"]
    assert [(r["name"], r["registered_6_59"], r["given_6_59"]) for r in rows] == [
        ("Kebomas", 6, 5), ("Manyar", 1, 0), (None, 7, 5)]
    # by sex: the girls are inf2 (0-5 months, no band), moved_out (12-59, given) and child_a2 (not given)
    by_sex = table(body, "by_sex")["rows"]
    assert [(r["sex"], r["registered_6_59"], r["given_6_59"]) for r in by_sex] == [("L", 5, 4), ("P", 2, 1), (None, 7, 5)]
    assert not any("Bukan bulan vitamin A" in n for n in table(body, "vitamin_a")["notes"])
    july = get(client, world.admin, level="kabupaten", code="35.25", month="2026-07").get_json()
    assert any("Bukan bulan vitamin A" in n for n in table(july, "vitamin_a")["notes"])
    # July: child_a2's capsule of 30 July; the children registered in July
    total = table(july, "vitamin_a")["rows"][-1]
    assert total["given_6_59"] == 1


def test_exclusive_breastfeeding(client, world):
    breastfeeding_world(world)
    body = get(client, world.dinkes_gresik, **GRESIK, by="posyandu").get_json()
    rows = {(r["level"], r["posyandu_code"] or r["puskesmas_code"]): r
            for r in table(body, "exclusive_breastfeeding")["rows"]}

    def ebf(r):
        return (r["registered_0_5"], r["asked"], r["exclusive"], r["exclusive_pct"], r["turned_6"], r["graduated"],
                r["graduated_pct"])
    assert ebf(rows[("posyandu", "PY-A1")]) == (2, 2, 1, 50.0, 0, 0, None)
    assert ebf(rows[("posyandu", "PY-A2")]) == (0, 1, 1, 100.0, 2, 1, 50.0)
    assert ebf(rows[("posyandu", "PY-B1")]) == (0, 0, 0, None, 1, 0, 0.0)
    total = table(body, "exclusive_breastfeeding")["rows"][-1]
    assert total["level"] == "total" and ebf(total) == (2, 3, 2, 66.7, 3, 1, 33.3)


def test_english_labels(client, world):
    vitamin_a_world(world)
    body = get(client, world.dinkes_gresik, **GRESIK, lang="en").get_json()
    assert body["language"] == "en" and body["title"] == "Vitamin A and exclusive breastfeeding coverage"
    assert table(body, "vitamin_a")["columns"][0] == {"key": "code", "label": "District code", "kind": "text"}
    assert "not comparable" in body["data_source"]
    # Accept-Language is used only when the account has no preference; lang= always wins
    r = client.get(URL, query_string=GRESIK, headers={**headers(world.dinkes_gresik), "Accept-Language": "en"})
    assert r.get_json()["language"] == "id"


def test_scope_per_role_and_wrong_tenants(client, world):
    vitamin_a_world(world)
    # own areas (and the defaults when none is named)
    assert get(client, world.staff_a, month="2026-08").get_json()["area"]["code"] == "P3525010101"
    assert get(client, world.kader_a1, month="2026-08").get_json()["area"]["code"] == "PY-A1"
    assert get(client, world.dinkes_gresik, month="2026-08").get_json()["area"]["code"] == "35.25"
    kader = get(client, world.kader_a1, level="posyandu", code="PY-A1", month="2026-08").get_json()
    assert [r["given_6_59"] for r in table(kader, "vitamin_a")["rows"]] == [2]  # one row, no total
    # another posyandu / puskesmas / kabupaten / family: not found
    for user, level, code in [(world.kader_a2, "posyandu", "PY-A1"), (world.kader_c1, "kabupaten", "35.25"),
                              (world.staff_b, "puskesmas", "P3525010101"), (world.staff_b, "desa", "3525012002"),
                              (world.staff_c, "kecamatan", "35.25.01"), (world.dinkes_lamongan, "kabupaten", "35.25"),
                              (world.dinkes_lamongan, "posyandu", "PY-B1"), (world.parent_1, "posyandu", "PY-A1")]:
        r = get(client, user, level=level, code=code, month="2026-08")
        assert r.status_code == 404, (user.username, level, code)
        assert r.mimetype == "application/problem+json"
    assert get(client, world.parent_1, month="2026-08").status_code == 404
    assert client.get(URL, query_string=GRESIK).status_code == 401


@pytest.mark.parametrize("params,field", [
    ({"level": "kabupaten", "code": "35.25", "month": "2099-01"}, "month"),
    ({"level": "kabupaten", "code": "35.25", "month": "2026-13"}, "month"),
    ({"level": "kabupaten", "code": "35.25", "month": "1999-12"}, "month"),
    ({"level": "kabupaten", "month": "2026-08"}, "code"),
    ({"code": "35.25", "month": "2026-08"}, "level"),
    ({"level": "kabupaten", "code": "35.25", "by": "rt"}, "by"),
    ({"level": "desa", "code": "35.25.01.2001", "by": "kecamatan"}, "by"),
    ({"level": "kabupaten", "code": "35.25", "lang": "fr"}, "lang"),
    ({"level": "kota", "code": "35.25"}, "level"),
])
def test_bad_input_is_a_422_naming_the_field(client, world, params, field):
    r = get(client, world.admin, **params)
    assert r.status_code == 422, r.get_json()
    assert r.mimetype == "application/problem+json"
    assert field in r.get_json()["errors"]


def test_admin_must_name_an_area(client, world):
    r = get(client, world.admin, month="2026-08")
    assert r.status_code == 422 and set(r.get_json()["errors"]) == {"level", "code"}


def test_an_empty_month_is_zeros(client, world):
    body = get(client, world.dinkes_gresik, level="kabupaten", code="35.25", month="2020-01").get_json()
    total = table(body, "vitamin_a")["rows"][-1]
    assert total["registered_6_59"] == 0 and total["pct_6_59"] is None
    assert table(body, "exclusive_breastfeeding")["rows"][-1]["asked"] == 0


def test_a_deleted_measurement_leaves_the_report(client, world):
    children = vitamin_a_world(world)
    extra = measure(children["inf1"], date(2026, 8, 20), vitamin_a=True, weight_kg=8.1)
    before = table(get(client, world.staff_a, **GRESIK | {"level": "puskesmas", "code": "P3525010101"}).get_json(),
                   "vitamin_a")["rows"][-1]
    assert before["given_6_11"] == 1
    from posyandu.extensions import db
    from posyandu.measurements.models import Measurement
    other = db.session.query(Measurement).filter(Measurement.child_id == children["inf1"].id,
                                                 Measurement.id != extra.id).one()
    for m in (other, extra):
        r = client.delete(f"/api/v1/measurements/{m.id}", headers=headers(world.staff_a))
        assert r.status_code in (200, 204), r.get_json()
    after = table(get(client, world.staff_a, **GRESIK | {"level": "puskesmas", "code": "P3525010101"}).get_json(),
                  "vitamin_a")["rows"][-1]
    assert (after["registered_6_11"], after["given_6_11"]) == (1, 0)


def header_row(sheet, label):
    for row in sheet.iter_rows(min_col=1, max_col=1):
        if row[0].value == label:
            return row[0].row
    raise AssertionError(label)


def test_xlsx_and_csv_hold_the_json_numbers(client, world):
    vitamin_a_world(world)
    breastfeeding_world(world)
    body = get(client, world.dinkes_gresik, **GRESIK, by="posyandu").get_json()
    r = get(client, world.dinkes_gresik, URL + ".xlsx", **GRESIK, by="posyandu")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="vitamin-a-breastfeeding_kabupaten-35.25_2026-08.xlsx"'
    workbook = openpyxl.load_workbook(io.BytesIO(r.data))
    assert workbook.sheetnames == ["Vitamin A", "ASI eksklusif", "Menurut jenis kelamin"]
    for sheet_name, key in (("Vitamin A", "vitamin_a"), ("ASI eksklusif", "exclusive_breastfeeding"),
                            ("Menurut jenis kelamin", "by_sex")):
        sheet = workbook[sheet_name]
        json_table = table(body, key)
        first_label = "Tingkat"
        h = header_row(sheet, first_label)
        labels = [c.value for c in sheet[h]]
        assert labels == ["Tingkat"] + [c["label"] for c in json_table["columns"]]
        assert sheet.freeze_panes == f"A{h + 1}"
        values = [[c.value for c in row] for row in sheet.iter_rows(min_row=h + 1)]
        assert len(values) == len(json_table["rows"])
        for xlsx_row, json_row in zip(values, json_table["rows"]):
            for cell, column in zip(xlsx_row[1:], json_table["columns"]):
                assert cell == json_row[column["key"]], (sheet_name, column["key"])
    csv_response = get(client, world.dinkes_gresik, URL + ".csv", **GRESIK, by="posyandu", table="vitamin_a")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert csv_response.data.startswith(b"\xef\xbb\xbf")
    assert csv_response.headers["Content-Disposition"] == \
        'attachment; filename="vitamin-a-breastfeeding_vitamin_a_kabupaten-35.25_2026-08.csv"'
    lines = list(csv.reader(io.StringIO(csv_response.data.decode("utf-8-sig"))))
    json_rows = table(body, "vitamin_a")["rows"]
    assert lines[0][1:] == [c["label"] for c in table(body, "vitamin_a")["columns"]]
    for line, json_row in zip(lines[1:], json_rows):
        assert line[0] == json_row["level"]
        for cell, column in zip(line[1:], table(body, "vitamin_a")["columns"]):
            expected = json_row[column["key"]]
            assert cell == ("" if expected is None else str(expected))


def test_download_errors(client, world):
    r = get(client, world.dinkes_gresik, URL + ".csv", **GRESIK)
    assert r.status_code == 422 and "table" in r.get_json()["errors"]
    r = get(client, world.dinkes_gresik, URL + ".csv", **GRESIK, table="nope")
    assert r.status_code == 422 and "table" in r.get_json()["errors"]
    r = get(client, world.dinkes_gresik, URL + ".xlsx", **GRESIK, nik="clear")
    assert r.status_code == 422 and "nik" in r.get_json()["errors"]
    r = get(client, world.dinkes_gresik, "/api/v1/reports/no-such-report.xlsx", **GRESIK)
    assert r.status_code == 404
    r = get(client, world.dinkes_lamongan, URL + ".zip", **GRESIK)
    assert r.status_code == 404
    r = get(client, world.dinkes_gresik, URL + ".pdf", **GRESIK)
    assert r.status_code == 404


def test_download_list_and_openapi(client, world):
    r = get(client, world.kader_a1, "/api/v1/reports/downloads", lang="en")
    items = {i["kind"]: i for i in r.get_json()["items"]}
    assert {"immunization-coverage", "vitamin-a-breastfeeding", "eppgbm"} <= set(items)
    assert items["eppgbm"]["by_name"] is True and items["eppgbm"]["formats"] == ["xlsx", "csv", "zip"]
    assert items["immunization-coverage"]["title"] == "Immunization coverage"
    assert "uci_threshold" in items["immunization-coverage"]["options"]
    assert get(client, world.parent_1, "/api/v1/reports/downloads").status_code == 403
    assert client.get("/api/v1/reports/vitamin-a-breastfeeding.xlsx", query_string=GRESIK).status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    download = spec["paths"]["/api/v1/reports/{kind}.{fmt}"]["get"]
    assert set(download["responses"]["200"]["content"]) == {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv", "application/zip"}
    assert {"403", "404", "422"} <= set(download["responses"])
    for path in ("/api/v1/reports/immunization-coverage", "/api/v1/reports/vitamin-a-breastfeeding"):
        operation = spec["paths"][path]["get"]
        assert "application/json" in operation["responses"]["200"]["content"]
        assert {"level", "code", "month", "by", "lang"} <= {p["name"] for p in operation["parameters"]}


def test_xlsx_temporary_files_are_removed(client, world, tmp_path, monkeypatch):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    r = get(client, world.dinkes_gresik, URL + ".xlsx", **GRESIK)
    assert r.status_code == 200 and r.data[:2] == b"PK"
    r.close()
    head = client.head(URL + ".xlsx", query_string=GRESIK, headers=headers(world.dinkes_gresik))
    head.close()
    assert list(tmp_path.iterdir()) == []
