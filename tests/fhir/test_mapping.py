"""The pure mapping (row dicts → FHIR R4 resources), checked against fhir-satusehat.md by hand.

No database: rows are written out here. Every resource built here is also validated with the
fhir.resources R4 models.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timezone

import pytest

from posyandu.fhir import codes as codes_module
from posyandu.fhir import mapping, validation

ORG = "100000001"
CTX = mapping.Context(organization_id=ORG)
CHILD = uuid.UUID("0b7e1c1e-5a8f-4c11-9d36-2f0a4f1b2c3d")
LOINC = "http://loinc.org"


def child_row(**overrides):
    row = {"id": CHILD, "name": "Bayi Ny. Siti", "sex": 1, "birth_date": date(2024, 3, 15), "nik": None,
           "mother_nik": "3525015503950003", "kk": None, "mother_name": "Siti Aminah", "address": "Jl. Melati 3",
           "rt": "001", "rw": "002", "desa_code": "3525012001", "status": "active", "closed_reason": None,
           "merged_into_id": None, "twin": False, "puskesmas_code": "P3525010101",
           "provinsi_name": "Jawa Timur", "kabupaten_name": "Kabupaten Gresik", "kecamatan_name": "Kebomas"}
    row.update(overrides)
    return row


def measurement_row(**overrides):
    row = {"id": uuid.UUID("9d2f6c1a-1111-4b22-8c33-444455556666"), "child_id": CHILD,
           "measured_on": date(2026, 11, 10), "deleted": False, "posyandu_code": "PY-A1",
           "puskesmas_code": "P3525010101", "timezone": "Asia/Jakarta", "session_start": time(8, 0),
           "weight_kg": 11.2, "length_cm": 86.4, "measure_method": "standing", "head_circumference_cm": 47.5,
           "arm_circumference_cm": 15.1, "zwei": -1.8, "fwei": False, "cat_bbu": "bbu.normal",
           "zlen": -2.31, "flen": False, "cat_tbu": "tbu.stunted", "zwfl": None, "fwfl": None, "cat_bbtb": None,
           "zbmi": None, "fbmi": None, "cat_imtu": None, "zhc": None, "fhc": None, "cat_lk": None,
           "zac": 6.2, "fac": True, "cat_lila": None}
    row.update(overrides)
    return row


def dose_row(code="DPTHBHIB1", given_on=date(2024, 5, 14), **overrides):
    row = {"id": uuid.UUID("5e6f7a8b-2222-4c33-9d44-555566667777"), "child_id": CHILD, "birth_date": date(2024, 3, 15),
           "dose_code": code, "vaccine_code": None, "given_on": given_on, "lot_number": "PB1234",
           "place": "posyandu", "deleted": False, "created_at": datetime(2024, 5, 14, 3, 0, tzinfo=timezone.utc),
           "posyandu_code": "PY-A1", "puskesmas_code": "P3525010101", "timezone": "Asia/Jakarta",
           "session_start": time(8, 0)}
    row.update(overrides)
    return row


# --- time ------------------------------------------------------------------------------------

@pytest.mark.parametrize("on,at,zone,expected", [
    (date(2023, 8, 23), time(17, 35), "Asia/Jakarta", "2023-08-23T10:35:00+00:00"),  # the docs' example (WIB)
    (date(2026, 11, 10), time(8, 0), "Asia/Makassar", "2026-11-10T00:00:00+00:00"),  # WITA, UTC+8
    (date(2026, 11, 10), time(8, 0), "Asia/Jayapura", "2026-11-09T23:00:00+00:00"),  # WIT, UTC+9: the day before
    (date(2026, 11, 10), time(8, 0), "Asia/Pontianak", "2026-11-10T01:00:00+00:00"),  # WIB in Kalimantan Barat
])
def test_local_times_are_sent_in_utc(on, at, zone, expected):
    assert mapping.local_instant(on, at, zone, CTX.codes) == expected


def test_events_before_2014_06_03_are_refused():
    with pytest.raises(mapping.BeforeMinimumDate):
        mapping.local_instant(date(2014, 6, 2), time(8), "Asia/Jakarta", CTX.codes)
    assert mapping.local_instant(date(2014, 6, 3), time(8), "Asia/Jakarta", CTX.codes) == "2014-06-03T01:00:00+00:00"
    with pytest.raises(mapping.BeforeMinimumDate):
        mapping.observations(measurement_row(measured_on=date(2014, 5, 31)), CTX)


# --- Patient and RelatedPerson ---------------------------------------------------------------

def test_patient_newborn_with_mothers_nik():
    patient = validation.validate(mapping.patient(child_row(), CTX))
    assert patient["identifier"][0] == {"use": "official", "system": "https://fhir.kemkes.go.id/id/nik-ibu",
                                        "value": "3525015503950003"}
    assert patient["identifier"][-1] == {"use": "usual", "system": "http://sys-ids.kemkes.go.id/patient/100000001",
                                         "value": str(CHILD)}
    assert patient["gender"] == "male" and patient["birthDate"] == "2024-03-15"
    assert patient["multipleBirthBoolean"] is False
    assert patient["communication"][0]["language"]["coding"][0] == {"system": "urn:ietf:bcp:47", "code": "id-ID",
                                                                    "display": "Indonesian"}
    assert patient["managingOrganization"] == {"reference": f"Organization/{mapping.organization_id('P3525010101')}"}
    address = patient["address"][0]
    assert address["extension"] == [{
        "url": "https://fhir.kemkes.go.id/r4/StructureDefinition/administrativeCode",
        "extension": [{"url": "province", "valueCode": "35"}, {"url": "city", "valueCode": "3525"},
                      {"url": "district", "valueCode": "352501"}, {"url": "village", "valueCode": "3525012001"},
                      {"url": "rt", "valueCode": "001"}, {"url": "rw", "valueCode": "002"}]}]
    assert address["line"] == ["Jl. Melati 3"] and address["city"] == "Kabupaten Gresik" and address["country"] == "ID"


def test_patient_with_own_nik_does_not_send_the_mothers():
    patient = validation.validate(mapping.patient(child_row(nik="3525015503240001", kk="3525011203200007"), CTX))
    systems = [i["system"] for i in patient["identifier"]]
    assert systems == ["https://fhir.kemkes.go.id/id/nik", "https://fhir.kemkes.go.id/id/kk",
                       "http://sys-ids.kemkes.go.id/patient/100000001"]
    assert "3525015503950003" not in json.dumps(patient["identifier"])


def test_patient_twin_died_and_merged():
    assert mapping.patient(child_row(twin=True), CTX)["multipleBirthBoolean"] is True
    died = validation.validate(mapping.patient(child_row(status="closed", closed_reason="died"), CTX))
    assert died["deceasedBoolean"] is True and died["active"] is False
    kept = uuid.uuid4()
    merged = validation.validate(mapping.patient(child_row(status="closed", closed_reason="merged",
                                                           merged_into_id=kept), CTX))
    assert merged["active"] is False
    assert merged["link"] == [{"other": {"reference": f"Patient/{kept}"}, "type": "replaced-by"}]


def test_mother_as_related_person():
    mother = validation.validate(mapping.related_person(child_row(), CTX))
    assert mother["patient"] == {"reference": f"Patient/{CHILD}"}
    assert mother["identifier"][0] == {"use": "official", "system": "https://fhir.kemkes.go.id/id/nik",
                                       "value": "3525015503950003"}
    assert mother["relationship"][0]["coding"][0]["code"] == "MTH"
    assert mother["gender"] == "female" and mother["name"] == [{"use": "official", "text": "Siti Aminah"}]
    assert mapping.map_row("RelatedPerson", child_row(mother_name=None, mother_nik=None), CTX) == []


# --- Organization, Location, Encounter -------------------------------------------------------

def test_puskesmas_and_posyandu():
    organization = validation.validate(mapping.organization(
        {"code": "P3525010101", "name": "Puskesmas Kebomas", "kecamatan_code": "352501"}, CTX))
    assert organization["partOf"] == {"reference": "Organization/100000001"}
    assert [e["valueCode"] for e in organization["address"][0]["extension"][0]["extension"]] == ["35", "3525", "352501"]
    location = validation.validate(mapping.location(
        {"code": "PY-A1", "name": "Posyandu Melati", "desa_code": "3525012001", "address": None, "is_active": False,
         "puskesmas_code": "P3525010101"}, CTX))
    assert location["status"] == "inactive"
    assert location["managingOrganization"] == {"reference": f"Organization/{organization['id']}"}
    assert location["address"]["extension"][0]["extension"][-1] == {"url": "village", "valueCode": "3525012001"}


def test_without_organization_id_identifiers_use_the_local_urn():
    ctx = mapping.Context(organization_id=None)
    organization = validation.validate(mapping.organization(
        {"code": "P1", "name": "Puskesmas", "kecamatan_code": "352501"}, ctx))
    assert "partOf" not in organization
    assert organization["identifier"][0]["system"] == "urn:posyandugo:id:organization"


def test_encounter_is_the_posyandu_session_in_utc():
    encounter = validation.validate(mapping.encounter(
        {"child_id": CHILD, "day": date(2026, 11, 10), "posyandu_code": "PY-A1", "puskesmas_code": "P3525010101",
         "timezone": "Asia/Jakarta", "session_start": time(8, 0), "session_end": time(11, 0)}, CTX))
    assert encounter["period"] == {"start": "2026-11-10T01:00:00+00:00", "end": "2026-11-10T04:00:00+00:00"}
    assert encounter["status"] == "finished"
    assert encounter["class"] == {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "FLD",
                                  "display": "field"}
    assert encounter["location"] == [{"location": {"reference": f"Location/{mapping.location_id('PY-A1')}"}}]
    assert encounter["id"] == mapping.encounter_id(CHILD, date(2026, 11, 10), "PY-A1")


# --- Observations ----------------------------------------------------------------------------

def _by_code(observations):
    return {o["code"]["coding"][0]["code"]: o for o in observations}


def test_standing_height_weight_circumferences_with_ucum():
    observations = mapping.observations(measurement_row(), CTX)
    for observation in observations:
        validation.validate(observation)
    by_code = _by_code(observations)
    assert by_code["29463-7"]["valueQuantity"] == {"value": 11.2, "unit": "kg", "system": "http://unitsofmeasure.org",
                                                   "code": "kg"}
    assert by_code["8302-2"]["valueQuantity"]["value"] == 86.4  # standing: body height, raw value
    assert "8306-3" not in by_code
    assert by_code["9843-4"]["valueQuantity"]["code"] == "cm"
    assert by_code["56072-2"]["valueQuantity"] == {"value": 15.1, "unit": "cm", "system": "http://unitsofmeasure.org",
                                                   "code": "cm"}
    assert all(o["code"]["coding"][0]["system"] == LOINC for c, o in by_code.items() if c[0].isdigit())
    weight = by_code["29463-7"]
    assert weight["category"][0]["coding"][0]["code"] == "vital-signs"
    assert weight["effectiveDateTime"] == "2026-11-10T01:00:00+00:00"
    assert weight["status"] == "final"


def test_lying_length_uses_8306_3():
    by_code = _by_code(mapping.observations(measurement_row(measure_method="lying", length_cm=71.5), CTX))
    assert by_code["8306-3"]["valueQuantity"]["value"] == 71.5 and "8302-2" not in by_code


def test_nutrition_status_z_scores_and_categories():
    by_code = _by_code(mapping.observations(measurement_row(), CTX))
    tbu = by_code["tbu"]
    assert tbu["code"]["coding"][0]["system"] == "urn:posyandugo:CodeSystem:nutrition-index"
    assert tbu["valueQuantity"] == {"value": -2.31, "unit": "SD", "system": "http://unitsofmeasure.org",
                                    "code": "{SD}"}
    assert tbu["interpretation"][0]["coding"][0] == {"system": "urn:posyandugo:CodeSystem:nutrition-status",
                                                     "code": "tbu.stunted", "display": "Pendek"}
    height_id = by_code["8302-2"]["id"]
    assert tbu["derivedFrom"] == [{"reference": f"Observation/{height_id}"}]
    assert by_code["bbu"]["interpretation"][0]["coding"][0]["code"] == "bbu.normal"
    assert "lila" not in by_code  # zac flagged implausible: not exported
    assert "bbtb" not in by_code  # no z-score


def test_deleted_measurement_is_entered_in_error():
    assert {o["status"] for o in mapping.observations(measurement_row(deleted=True), CTX)} == {"entered-in-error"}


# --- Immunization ----------------------------------------------------------------------------

def test_pentavalent_at_the_posyandu():
    dose = validation.validate(mapping.immunization(dose_row(), CTX))
    assert dose["vaccineCode"]["coding"] == [{"system": "http://hl7.org/fhir/sid/cvx", "code": "198",
                                              "display": "DTP-hepB-Hib Pentavalent Non-US"}]
    assert dose["identifier"][0]["system"] == "http://sys-ids.kemkes.go.id/immunization/100000001"
    assert dose["occurrenceDateTime"] == "2024-05-14T01:00:00+00:00"
    assert dose["primarySource"] is True and "reportOrigin" not in dose
    assert dose["encounter"] == {"reference": f"Encounter/{mapping.encounter_id(CHILD, date(2024, 5, 14), 'PY-A1')}"}
    assert dose["lotNumber"] == "PB1234"
    assert [c["coding"][0]["code"] for c in dose["reasonCode"]] == ["IM-Dasar", "IM-Ideal"]
    assert dose["protocolApplied"] == [{"series": "DPT-HB-Hib", "doseNumberPositiveInt": 1}]
    assert dose["performer"][0]["function"]["coding"][0]["code"] == "AP"


def test_birth_dose_from_the_kia_book():
    dose = validation.validate(mapping.immunization(dose_row("HB0", date(2024, 3, 15), place="other_facility"), CTX))
    assert dose["vaccineCode"]["coding"] == [
        {"system": "http://sys-ids.kemkes.go.id/kfa", "code": "VG45", "display": "HepB"},
        {"system": "http://hl7.org/fhir/sid/cvx", "code": "08", "display": "Hep B, adolescent or pediatric"}]
    assert dose["primarySource"] is False
    assert dose["reportOrigin"]["coding"][0] == {"system": "http://terminology.hl7.org/CodeSystem/immunization-origin",
                                                 "code": "record", "display": "Written Record"}
    assert "encounter" not in dose and "performer" not in dose
    assert dose["occurrenceDateTime"] == "2024-03-15T01:00:00+00:00"  # default 08:00 WIB
    assert dose["protocolApplied"][0]["doseNumberPositiveInt"] == 1  # HB0 is dose 0 in the schedule


@pytest.mark.parametrize("code,birth,given,expected", [
    ("MR1", date(2024, 3, 15), date(2025, 3, 14), ["IM-Dasar", "IM-Ideal"]),   # 11 completed months
    ("MR1", date(2024, 3, 15), date(2025, 3, 15), ["IM-Dasar", "IM-Kejar"]),   # 12 months: catch-up
    ("MR1", date(2024, 1, 31), date(2025, 1, 30), ["IM-Dasar", "IM-Ideal"]),   # 31 Jan + 12 months not yet reached
    ("PCV3", date(2024, 3, 15), date(2026, 3, 14), ["IM-Baduta", "IM-Ideal"]),  # 23 months
    ("PCV3", date(2024, 3, 15), date(2026, 3, 15), ["IM-Baduta", "IM-Kejar"]),  # 24 months
])
def test_programme_and_timing_reason(code, birth, given, expected):
    dose = validation.validate(mapping.immunization(dose_row(code, given, birth_date=birth), CTX))
    assert [c["coding"][0]["code"] for c in dose["reasonCode"]] == expected


def test_deleted_dose_is_entered_in_error():
    assert mapping.immunization(dose_row(deleted=True), CTX)["status"] == "entered-in-error"


# --- validation catches what SATUSEHAT would reject --------------------------------------------

def test_validation_rejects():
    good = mapping.immunization(dose_row(), CTX)
    cases = {
        "occurrenceDateTime": dict(good, occurrenceDateTime="2024-05-14T08:00:00+07:00"),  # not UTC
        "occurrenceDateTime ": dict(good, occurrenceDateTime="2024-05-14"),
        "early": dict(good, occurrenceDateTime="2014-06-02T01:00:00+00:00"),
        "unknown element": dict(good, vaccine="x"),
        "missing status": {k: v for k, v in good.items() if k != "status"},
    }
    for name, resource in cases.items():
        with pytest.raises(validation.ResourceInvalid):
            validation.validate(resource)
    patient = mapping.patient(child_row(), CTX)
    with pytest.raises(validation.ResourceInvalid):
        validation.validate(dict(patient, gender="boy"))
    with pytest.raises(validation.ResourceInvalid):
        validation.validate({"resourceType": "NoSuchThing"})


# --- the data file -----------------------------------------------------------------------------

def test_every_code_in_the_data_file_carries_its_evidence_tag():
    data = json.loads(codes_module.DATA_FILE.read_text(encoding="utf-8"))
    untagged = []

    def walk(value, path, tagged):
        if isinstance(value, dict):
            tagged = tagged or "tag" in value
            if not tagged and any(k in value for k in ("code", "system", "url", "value", "cvx")):
                untagged.append(path)
            for key, child in value.items():
                walk(child, f"{path}.{key}", tagged)

    for section in ("min_event_date", "identifier_systems", "administrative_code", "patient", "related_person",
                    "organization", "location", "encounter", "observation", "immunization"):
        walk(data[section], section, False)
    assert untagged == []
    assert data["fhir_version"] == "4.0.1"
