"""GET /children/{id}/immunization-schedule and the per-kabupaten programme settings.

Worked by hand from immunization-schedule-id.md §1–§3 (calendar months; IDL = 17 doses, IBL =
DPT-HB-Hib 4 + MR2 + PCV3, JE only where the kabupaten runs it; RV from births on 2023-05-16,
PCV from 2022) and the engine's documented defaults (posyandu/core/schedule/README.md: overdue
one month after the recommended date; PCV first dose at >= 24 months = single dose).
"""
from __future__ import annotations

from datetime import date

import pytest

from tests import factories

H = factories.headers
THO = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"


def _by_code(body):
    return {d["code"]: d for d in body["doses"]}


def test_schedule_of_a_baby_with_a_few_doses(client, world, baby, give):
    give(baby, "HB0", date(2025, 1, 10))
    give(baby, "BCG", date(2025, 2, 10))
    give(baby, "OPV1", date(2025, 2, 10))
    response = client.get(f"/api/v1/children/{baby.id}/immunization-schedule?on=2025-03-20",
                          headers=H(world.kader_a1))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["evaluated_on"] == "2025-03-20" and body["birth_date"] == "2025-01-10"
    doses = _by_code(body)
    assert len(doses) == 21
    for code in ("HB0", "BCG", "OPV1"):
        assert doses[code]["status"] == "given"
        assert doses[code]["fhir_status"] == {"system": THO, "code": "complete"}
    assert doses["BCG"]["given_on"] == "2025-02-10"
    dpt1 = doses["DPTHBHIB1"]
    assert dpt1["status"] == "due"
    assert dpt1["recommended_date"] == "2025-03-10"   # 2 months
    assert dpt1["earliest_date"] == "2025-02-21"      # 6 weeks = 42 days
    assert dpt1["next_date"] == "2025-02-21"
    assert dpt1["overdue_date"] == "2025-04-10"       # recommended + 1 month
    assert dpt1["latest_date"] == "2030-01-09"        # < 60 months
    assert dpt1["fhir_status"] == {"system": THO, "code": "due"}
    assert dpt1["names"] == {"id": "DPT-HB-Hib 1", "en": "DPT-HB-Hib 1"}
    # OPV2: 2 months and 4 weeks after OPV1 (2025-02-10 + 28 days) both give 2025-03-10
    assert doses["OPV2"]["status"] == "due" and doses["OPV2"]["recommended_date"] == "2025-03-10"
    assert doses["PCV1"]["status"] == "due" and doses["RV1"]["status"] == "due"
    assert doses["RV1"]["latest_date"] == "2025-06-09"  # < 5 months
    assert doses["MR1"]["status"] == "upcoming" and doses["MR1"]["recommended_date"] == "2025-10-10"
    assert doses["MR1"]["fhir_status"]["code"] == "due"  # "is due (or will be due)", with its dates
    je = doses["JE1"]
    assert je["status"] == "not_applicable" and je["reason"] == "not_in_region_programme"
    assert je["fhir_status"]["code"] == "not-applicable"
    idl = body["idl"]
    assert idl["status"] == "in_progress" and idl["deadline"] == "2026-01-10"
    assert len(idl["required"]) == 17
    assert set(idl["missing"]) == set(idl["required"]) - {"HB0", "BCG", "OPV1"}
    assert len(body["idl_2017"]["required"]) == 11
    assert set(body["ibl"]["required"]) == {"DPTHBHIB4", "MR2", "PCV3"}
    assert body["ibl"]["deadline"] == "2027-01-10"
    assert body["region"]["source"] == "national" and body["region"]["je_programme"] is False


def test_schedule_of_an_older_child_read_by_its_parent(client, world):
    # child_b1: born 2022-01-20, no doses; on 2025-03-20 she is 37 months old
    response = client.get(f"/api/v1/children/{world.child_b1.id}/immunization-schedule?on=2025-03-20",
                          headers=H(world.parent_2))
    assert response.status_code == 200, response.json
    doses = _by_code(response.json)
    assert doses["HB0"]["status"] == "missed" and doses["HB0"]["reason"] == "max_age_reached"  # max 7 days
    assert doses["HB0"]["fhir_status"]["code"] == "aged-out"
    assert doses["RV1"]["status"] == "not_applicable" and doses["RV1"]["reason"] == "born_before_cohort"
    # never vaccinated against pneumococcus and >= 24 months: one dose completes the series
    assert doses["PCV1"]["status"] == "overdue"
    assert doses["PCV2"]["status"] == "not_applicable" and doses["PCV3"]["status"] == "not_applicable"
    assert response.json["idl"]["status"] == "incomplete"
    # another family's child, and the wrong tenants: not found
    assert client.get(f"/api/v1/children/{world.child_b1.id}/immunization-schedule",
                      headers=H(world.parent_1)).status_code == 404
    for who in ("kader_a1", "staff_a", "dinkes_lamongan"):
        assert client.get(f"/api/v1/children/{world.child_b1.id}/immunization-schedule",
                          headers=H(getattr(world, who))).status_code == 404, who


def test_schedule_bad_date_is_422(client, world, baby):
    response = client.get(f"/api/v1/children/{baby.id}/immunization-schedule?on=2025-13-01",
                          headers=H(world.kader_a1))
    assert response.status_code == 422 and "on" in response.json["errors"]


def test_kabupaten_settings_switch_on_je_and_move_a_cohort(client, world, baby):
    url = "/api/v1/immunizations/region-settings/35.25"
    assert client.get(url, headers=H(world.kader_a1)).json["source"] == "national"
    response = client.put(url, json={"je_programme": True, "cohort_born_from": {"RV": "2021-01-01"}},
                          headers=H(world.dinkes_gresik))
    assert response.status_code == 200, response.json
    assert response.json["source"] == "kabupaten" and response.json["je_programme"] is True
    assert response.json["cohort_born_from"]["RV"] == "2021-01-01"
    assert response.json["cohort_born_from"]["PCV"] == "2022-01-01"  # national default kept
    doses = _by_code(client.get(f"/api/v1/children/{baby.id}/immunization-schedule?on=2025-03-20",
                                headers=H(world.kader_a1)).json)
    assert doses["JE1"]["status"] == "upcoming" and doses["JE1"]["recommended_date"] == "2025-11-10"  # 10 months
    sched = client.get(f"/api/v1/children/{baby.id}/immunization-schedule?on=2025-03-20",
                       headers=H(world.kader_a1)).json
    assert "JE1" in sched["idl"]["required"] and len(sched["idl"]["required"]) == 18
    # child_b1 (Gresik, born 2022-01-20) is now in the RV cohort: at 37 months RV1 is missed
    doses = _by_code(client.get(f"/api/v1/children/{world.child_b1.id}/immunization-schedule?on=2025-03-20",
                                headers=H(world.staff_b)).json)
    assert doses["RV1"]["status"] == "missed" and doses["RV1"]["reason"] == "max_age_reached"
    # Lamongan is untouched
    doses = _by_code(client.get(f"/api/v1/children/{world.child_c1.id}/immunization-schedule?on=2025-03-20",
                                headers=H(world.kader_c1)).json)
    assert doses["JE1"]["status"] == "not_applicable"


@pytest.mark.parametrize("who,status", [("dinkes_lamongan", 404), ("kader_a1", 403), ("staff_a", 403),
                                        ("parent_1", 403)])
def test_region_settings_are_changed_by_dinkes_of_the_kabupaten_only(client, world, who, status):
    response = client.put("/api/v1/immunizations/region-settings/3525", json={"je_programme": True},
                          headers=H(getattr(world, who)))
    assert response.status_code == status
    assert client.get("/api/v1/immunizations/region-settings/3525",
                      headers=H(world.admin)).json["source"] == "national"


def test_region_settings_bad_input(client, world):
    before = client.get("/api/v1/immunizations/region-settings/3525", headers=H(world.admin)).json
    for body, field in (({"je_programme": True, "cohort_born_from": {"XYZ": "2022-01-01"}}, "cohort_born_from"),
                        ({"je_programme": "maybe"}, "je_programme"),
                        ({"cohort_born_from": {}}, "je_programme")):
        response = client.put("/api/v1/immunizations/region-settings/3525", json=body, headers=H(world.admin))
        assert response.status_code == 422, body
        assert field in response.json["errors"]
    assert client.get("/api/v1/immunizations/region-settings/3525", headers=H(world.admin)).json == before
    assert client.put("/api/v1/immunizations/region-settings/352501", json={"je_programme": True},
                      headers=H(world.admin)).status_code == 404  # a kecamatan, not a kabupaten
