"""Immunization coverage over HTTP against numbers worked out by hand (immunization_world):
doses per vaccine this month and this year against the targets, IDL/IBL, PWS dropout, UCI."""
from __future__ import annotations

import io

import openpyxl

from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from tests.factories import headers
from tests.reports.coverage_data import immunization_world

URL = "/api/v1/reports/immunization-coverage"
NOVEMBER = {"level": "kabupaten", "code": "35.25", "month": "2026-11"}


def get(client, user, url=URL, **params):
    return client.get(url, query_string=params, headers=headers(user))


def table(body, key):
    return next(t for t in body["tables"] if t["key"] == key)


def test_doses_per_vaccine(client, world):
    immunization_world(world)
    body = get(client, world.dinkes_gresik, **NOVEMBER).get_json()
    doses = {r["dose"]: r for r in table(body, "doses")["rows"]}
    assert "JE1" not in doses  # Gresik runs no JE programme
    assert list(doses)[:3] == ["HB0", "BCG", "OPV1"]

    def d(code):
        r = doses[code]
        return (r["target"], r["target_size"], r["given_month"], r["given_ytd"], r["catch_up_ytd"],
                r["coverage_month"], r["coverage_ytd"])
    assert d("HB0") == ("bayi", 3, 0, 1, 0, 0.0, 33.3)            # I2 only: I1's fell in 2025
    assert d("BCG") == ("bayi", 3, 0, 2, 0, 0.0, 66.7)
    assert d("DPTHBHIB1") == ("bayi", 3, 0, 3, 0, 0.0, 100.0)     # I1, I2, I3
    assert d("DPTHBHIB3") == ("bayi", 3, 1, 3, 0, 33.3, 100.0)    # I3's this month
    assert d("MR1") == ("bayi", 3, 1, 2, 1, 33.3, 66.7)           # I2 this month; I6 catch-up; I3 invalid
    assert d("IPV2") == ("bayi", 3, 1, 2, 0, 33.3, 66.7)
    assert d("RV3") == ("bayi", 3, 0, 2, 0, 0.0, 66.7)
    assert d("PCV3") == ("baduta", 2, 0, 1, 0, 0.0, 50.0)         # I4
    assert d("DPTHBHIB4") == ("baduta", 2, 0, 2, 0, 0.0, 100.0)   # I4, I6 (before 24 m)
    assert d("MR2") == ("baduta", 2, 0, 1, 0, 0.0, 50.0)


def test_idl_ibl_and_dropout_by_posyandu(client, world):
    immunization_world(world)
    body = get(client, world.dinkes_gresik, **NOVEMBER, by="posyandu").get_json()
    rows = table(body, "completeness")["rows"]
    keys = ("infants", "idl_month", "idl_ytd", "idl_ytd_pct", "baduta", "ibl_month", "ibl_ytd", "ibl_ytd_pct",
            "dpt1_ytd", "dpt3_ytd", "mr1_ytd", "dropout_dpt1_dpt3", "dropout_dpt1_mr1")
    got = [(r["level"], r["posyandu_code"] or r["desa_code"] or r["puskesmas_code"], tuple(r[k] for k in keys))
           for r in rows]
    assert got == [
        ("posyandu", "PY-A1", (2, 1, 2, 100.0, 0, 0, 0, None, 2, 2, 2, 0.0, 0.0)),
        ("desa", "35.25.01.2001", (2, 1, 2, 100.0, 0, 0, 0, None, 2, 2, 2, 0.0, 0.0)),
        ("posyandu", "PY-A2", (1, 0, 0, 0.0, 1, 0, 1, 100.0, 1, 1, 0, 0.0, 100.0)),
        ("desa", "35.25.01.2002", (1, 0, 0, 0.0, 1, 0, 1, 100.0, 1, 1, 0, 0.0, 100.0)),
        ("puskesmas", "P3525010101", (3, 1, 2, 66.7, 1, 0, 1, 100.0, 3, 3, 2, 0.0, 33.3)),
        ("posyandu", "PY-B1", (0, 0, 0, None, 1, 0, 0, 0.0, 0, 0, 0, None, None)),
        ("desa", "35.25.02.2001", (0, 0, 0, None, 1, 0, 0, 0.0, 0, 0, 0, None, None)),
        ("puskesmas", "P3525020101", (0, 0, 0, None, 1, 0, 0, 0.0, 0, 0, 0, None, None)),
        ("total", None, (3, 1, 2, 66.7, 2, 0, 1, 50.0, 3, 3, 2, 0.0, 33.3)),
    ]
    july = table(get(client, world.dinkes_gresik, **{**NOVEMBER, "month": "2026-07"}).get_json(),
                 "completeness")["rows"][-1]
    assert (july["ibl_month"], july["ibl_ytd"]) == (1, 1)  # I4's boosters of 15 July


def test_uci_per_desa_and_threshold(client, world):
    immunization_world(world)
    body = get(client, world.dinkes_gresik, **NOVEMBER).get_json()
    uci = table(body, "uci")
    got = [(r["name"], r["uci_assessed"], r["uci_complete"], r["uci_pct"], r["uci_threshold"], r["uci"])
           for r in uci["rows"]]
    assert got == [("Giri", 0, 0, None, 80.0, None), ("Kawisanyar", 1, 1, 100.0, 80.0, True),
                   ("Manyar Sido Rukun", 1, 0, 0.0, 80.0, False), (None, 2, 1, 50.0, 80.0, None)]
    assert uci["notes"][0].startswith("Desa UCI: 1 dari 2 desa/kelurahan")
    strict = table(get(client, world.dinkes_gresik, **NOVEMBER, uci_threshold=100).get_json(), "uci")["rows"]
    assert [r["uci"] for r in strict[:3]] == [None, True, False] and strict[0]["uci_threshold"] == 100.0
    for bad in ("0", "150", "abc"):
        r = get(client, world.dinkes_gresik, **NOVEMBER, uci_threshold=bad)
        assert r.status_code == 422 and "uci_threshold" in r.get_json()["errors"]


def test_by_sex(client, world):
    immunization_world(world)
    rows = table(get(client, world.dinkes_gresik, **NOVEMBER).get_json(), "by_sex")["rows"]
    # girls: I2 (infant, IDL this year) and I4 (baduta, IBL this year, UCI complete)
    assert [(r["sex"], r["infants"], r["idl_ytd"], r["baduta"], r["ibl_ytd"], r["uci_assessed"], r["uci_complete"])
            for r in rows] == [("L", 2, 1, 1, 0, 1, 0), ("P", 1, 1, 1, 1, 1, 1), (None, 3, 2, 2, 1, 2, 1)]


def test_a_deleted_dose_leaves_the_report(client, world):
    children = immunization_world(world)
    dpt3 = db.session.query(Immunization).filter_by(child_id=children["I3"].id, dose_code="DPTHBHIB3").one()
    r = client.delete(f"/api/v1/immunizations/{dpt3.id}", headers=headers(world.staff_a))
    assert r.status_code in (200, 204)
    doses = {r["dose"]: r for r in table(get(client, world.staff_a, **{**NOVEMBER, "level": "puskesmas",
                                                                        "code": "P3525010101"}).get_json(),
                                          "doses")["rows"]}
    assert (doses["DPTHBHIB3"]["given_month"], doses["DPTHBHIB3"]["given_ytd"]) == (0, 2)


def test_scope(client, world):
    immunization_world(world)
    staff = get(client, world.staff_a, month="2026-11").get_json()
    assert staff["area"]["code"] == "P3525010101"
    assert table(staff, "completeness")["rows"][-1]["infants"] == 3  # B1's children are not puskesmas A's
    for user, level, code in [(world.staff_b, "desa", "3525012002"), (world.kader_b1, "posyandu", "PY-A1"),
                              (world.dinkes_lamongan, "kabupaten", "3525"), (world.parent_1, "posyandu", "PY-A1"),
                              (world.kader_a1, "puskesmas", "P3525010101")]:
        assert get(client, user, level=level, code=code, month="2026-11").status_code == 404
    assert get(client, world.admin, **{**NOVEMBER, "month": "2031-01"}).status_code == 422


def test_xlsx_holds_the_json_numbers(client, world):
    immunization_world(world)
    body = get(client, world.dinkes_gresik, **NOVEMBER, lang="en").get_json()
    r = get(client, world.dinkes_gresik, URL + ".xlsx", **NOVEMBER, lang="en")
    assert r.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(r.data))
    assert workbook.sheetnames == ["Doses per vaccine", "IDL, IBL and dropout", "UCI by village", "By sex"]
    sheet = workbook["Doses per vaccine"]
    assert sheet["A1"].value == "Immunization coverage"
    h = next(row[0].row for row in sheet.iter_rows(min_col=1, max_col=1) if row[0].value == "Dose code")
    json_rows = table(body, "doses")["rows"]
    columns = [c["key"] for c in table(body, "doses")["columns"]]
    for xlsx_row, json_row in zip(sheet.iter_rows(min_row=h + 1, values_only=True), json_rows, strict=True):
        assert list(xlsx_row) == [json_row[k] for k in columns]
    uci = workbook["UCI by village"]
    h = next(row[0].row for row in uci.iter_rows(min_col=1, max_col=1) if row[0].value == "Level")
    assert [c.value for c in uci[h + 2]][1:] == ["35.25.01.2002", "Kawisanyar", 1, 1, 100.0, 80.0, "Yes"]
    assert uci.cell(h + 4, 1).value == "Total" and uci.cell(h + 4, 4).font.b
