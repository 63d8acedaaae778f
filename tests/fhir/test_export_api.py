"""GET /api/v1/fhir/export: streamed NDJSON for admin and dinkes (own kabupaten), 404 outside
scope, 403 for roles that may never export (the export carries NIKs), 422 naming the field."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.fhir import validation

from tests import factories
from tests.fhir.conftest import GIRL_NIK

URL = "/api/v1/fhir/export"


def get(client, user, **params):
    return client.get(URL, query_string=params, headers=factories.headers(user) if user else {})


def lines(response) -> list[dict]:
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines() if line]


def export_events() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.entity == "fhir"))


def test_dinkes_exports_patients_of_own_kabupaten(client, fhir_world):
    response = get(client, fhir_world.dinkes_gresik, level="kabupaten", code="35.25", type="Patient")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+ndjson"
    assert response.is_streamed
    assert response.headers["Cache-Control"] == "no-store"
    patients = lines(response)
    assert len(patients) == 4
    for patient in patients:
        validation.validate(patient)
    assert GIRL_NIK in response.get_data(as_text=True)  # the NIK leaves here, and only here
    assert export_events() == 1


@pytest.mark.parametrize("resource_type,expected", [("Organization", 2), ("Location", 3), ("RelatedPerson", 4),
                                                     ("Encounter", 5), ("Observation", 16), ("Immunization", 2)])
def test_every_type_streams_valid_resources(client, fhir_world, resource_type, expected):
    response = get(client, fhir_world.admin, level="kabupaten", code="3525", type=resource_type)
    assert response.status_code == 200
    resources = lines(response)
    assert len(resources) == expected
    for resource in resources:
        assert resource["resourceType"] == resource_type
        validation.validate(resource)


def test_date_range(client, fhir_world):
    response = get(client, fhir_world.dinkes_gresik, level="posyandu", code="PY-A1", type="Encounter",
                   since="2026-11-01", until="2026-11-30")
    assert [e["period"] for e in lines(response)] == [
        {"start": "2026-11-10T01:00:00+00:00", "end": "2026-11-10T04:00:00+00:00"}]  # 08:00-11:00 WIB


@pytest.mark.parametrize("level,code", [("kabupaten", "35.24"), ("posyandu", "PY-C1"), ("puskesmas", "P3524010101"),
                                        ("desa", "35.24.01.2001"), ("kecamatan", "35.24.01"),
                                        ("kabupaten", "35.99")])
def test_dinkes_of_another_kabupaten_is_not_found(client, fhir_world, level, code):
    response = get(client, fhir_world.dinkes_gresik, level=level, code=code, type="Patient")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert export_events() == 0


def test_lamongan_dinkes_cannot_see_gresik(client, fhir_world):
    assert get(client, fhir_world.dinkes_lamongan, level="kabupaten", code="35.25", type="Patient").status_code == 404
    assert get(client, fhir_world.dinkes_lamongan, level="posyandu", code="PY-A1", type="Patient").status_code == 404
    response = get(client, fhir_world.dinkes_lamongan, level="kabupaten", code="35.24", type="Patient")
    assert response.status_code == 200 and [p["id"] for p in lines(response)] == [str(fhir_world.child_c1.id)]


@pytest.mark.parametrize("who", ["staff_a", "staff_c", "kader_a1", "kader_c1", "parent_1"])
def test_other_roles_may_never_export(client, fhir_world, who):
    response = get(client, getattr(fhir_world, who), level="posyandu", code="PY-A1", type="Patient")
    assert response.status_code == 403
    assert export_events() == 0


def test_unauthenticated(client, fhir_world):
    assert get(client, None, level="kabupaten", code="35.25", type="Patient").status_code == 401


@pytest.mark.parametrize("params,field", [
    ({"level": "kabupaten", "code": "35.25", "type": "Practitioner"}, "type"),
    ({"level": "kabupaten", "code": "35.25"}, "type"),
    ({"level": "country", "code": "ID", "type": "Patient"}, "level"),
    ({"code": "35.25", "type": "Patient"}, "level"),
    ({"level": "kabupaten", "type": "Patient"}, "code"),
    ({"level": "kabupaten", "code": "35.25", "type": "Patient", "since": "2026-13-01"}, "since"),
    ({"level": "kabupaten", "code": "35.25", "type": "Patient", "since": "2026-02-01", "until": "2026-01-31"},
     "until"),
])
def test_bad_input_is_422_naming_the_field(client, fhir_world, params, field):
    response = get(client, fhir_world.admin, **params)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert export_events() == 0


def test_openapi_documents_the_endpoint(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/fhir/export"]["get"]
    assert "application/fhir+ndjson" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} >= {"level", "code", "type", "since", "until"}


def test_export_audit_event_is_listed_for_admin(client, fhir_world):
    get(client, fhir_world.dinkes_gresik, level="kabupaten", code="35.25", type="Encounter", since="2026-01-01")
    response = client.get("/api/v1/audit", query_string={"entity": "fhir"}, headers=factories.headers(fhir_world.admin))
    assert response.status_code == 200
    [event] = response.json["items"]
    assert event["action"] == "export" and event["user_id"] == fhir_world.dinkes_gresik.id
    assert event["changes"]["since"] == [None, "2026-01-01"] and event["changes"]["via"] == [None, "api"]


def test_stream_in_several_chunks_keeps_whole_lines(client, fhir_world, monkeypatch):
    monkeypatch.setattr("posyandu.fhir.export.CHUNK_BYTES", 500)
    response = get(client, fhir_world.admin, level="kabupaten", code="35.25", type="Observation")
    chunks = list(response.response)
    assert len(chunks) > 3 and all(chunk.endswith(b"\n") for chunk in chunks)
    assert len([json.loads(line) for line in b"".join(chunks).splitlines()]) == 16
