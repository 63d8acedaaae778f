"""`flask fhir export`: NDJSON per resource type for an area and date range.

Expected counts are worked out by hand from the records of ``fhir_world`` (see its docstring).
"""
from __future__ import annotations

import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.fhir import validation

from tests.fhir.conftest import ALL_TYPES, GIRL_NIK, KK, MOTHER_NIK, identifier_values, read_ndjson, references_in
from tests.querycount import recorded_statements

NIK = "https://fhir.kemkes.go.id/id/nik"
NIK_IBU = "https://fhir.kemkes.go.id/id/nik-ibu"
KK_SYSTEM = "https://fhir.kemkes.go.id/id/kk"


def export(runner, tmp_path, *args):
    result = runner.invoke(args=["fhir", "export", "-o", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    return {t: read_ndjson(tmp_path / f"{t}.ndjson") for t in ALL_TYPES if (tmp_path / f"{t}.ndjson").exists()}


def test_kabupaten_export_counts_validity_and_references(runner, fhir_world, tmp_path):
    files = export(runner, tmp_path, "--area", "kabupaten:35.25")
    counts = {t: len(v) for t, v in files.items()}
    assert counts == {"Organization": 2, "Location": 3, "Patient": 4, "RelatedPerson": 4, "Encounter": 5,
                      "Observation": 16, "Immunization": 2}
    ids = set()
    for resource_type, resources in files.items():
        for resource in resources:
            assert resource["resourceType"] == resource_type
            validation.validate(resource)  # FHIR R4 (fhir.resources 6.4) + UTC instants
            ids.add(f"{resource_type}/{resource['id']}")
    # every reference resolves inside the export (Bulk Data: the files stand on their own)
    for resources in files.values():
        for resource in resources:
            assert references_in(resource) <= ids, resource["resourceType"]


def test_patient_identifiers_nik_or_mothers_nik(runner, fhir_world, tmp_path):
    patients = {p["id"]: p for p in export(runner, tmp_path, "--area", "kabupaten:35.25")["Patient"]}
    boy = patients[str(fhir_world.child_a1.id)]
    assert identifier_values(boy, NIK) == []
    assert identifier_values(boy, NIK_IBU) == [MOTHER_NIK]  # newborn without a NIK of his own
    assert identifier_values(boy, KK_SYSTEM) == [KK]
    girl = patients[str(fhir_world.child_a2.id)]
    assert identifier_values(girl, NIK) == [GIRL_NIK]
    assert identifier_values(girl, NIK_IBU) == []
    assert boy["gender"] == "male" and girl["gender"] == "female"
    assert boy["birthDate"] == "2024-03-15"
    assert len(boy["identifier"]) >= 2  # IDCore: at least two identifiers


def test_area_and_date_range(runner, fhir_world, tmp_path):
    files = export(runner, tmp_path, "--area", "kabupaten:35.25", "--since", "2026-11-01", "--until", "2026-11-30")
    assert {t: len(v) for t, v in files.items()} == {
        "Organization": 2, "Location": 3, "Patient": 2, "RelatedPerson": 2, "Encounter": 2, "Observation": 8,
        "Immunization": 0}
    assert {p["id"] for p in files["Patient"]} == {str(fhir_world.child_a1.id), str(fhir_world.child_a2.id)}
    # Lamongan's child and her measurement are not in a Gresik export
    all_text = (tmp_path / "Observation.ndjson").read_text() + (tmp_path / "Patient.ndjson").read_text()
    assert str(fhir_world.child_c1.id) not in all_text


def test_posyandu_area(runner, fhir_world, tmp_path):
    files = export(runner, tmp_path, "--area", "posyandu:PY-A1")
    assert [p["id"] for p in files["Patient"]] == [str(fhir_world.child_a1.id)]
    assert len(files["Location"]) == 1 and len(files["Organization"]) == 1
    assert len(files["Observation"]) == 12 and len(files["Immunization"]) == 2 and len(files["Encounter"]) == 3


def test_events_before_2014_06_03_are_left_out(runner, fhir_world, tmp_path):
    files = export(runner, tmp_path, "--area", "posyandu:PY-B1", "--since", "2010-01-01")
    old_visits = sorted(e["period"]["start"] for e in files["Encounter"]
                        if e["subject"]["reference"] == f"Patient/{fhir_world.child_old.id}")
    # 2014-05-20 is rejected by SATUSEHAT; 2014-06-03 08:00 WIB = 01:00 UTC
    assert old_visits == ["2014-06-03T01:00:00+00:00"]
    assert all(o["effectiveDateTime"] >= "2014-06-03" for o in files["Observation"])


def test_deleted_measurement_is_not_exported(runner, fhir_world, tmp_path):
    files = export(runner, tmp_path, "--area", "posyandu:PY-A1")
    text = (tmp_path / "Observation.ndjson").read_text()
    assert "2025-02-11" not in text
    assert all(o["status"] == "final" for o in files["Observation"])


def test_export_is_audited_without_values(runner, fhir_world, tmp_path):
    export(runner, tmp_path, "--area", "kabupaten:35.25", "--type", "Patient")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "fhir")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.action == "export" and event.entity_id == "kabupaten:35.25"
    assert event.changes["types"] == [None, ["Patient"]]
    assert event.changes["counts"] == [None, {"Patient": 4}]
    assert MOTHER_NIK not in str(event.changes) and GIRL_NIK not in str(event.changes)


def test_one_statement_per_type_per_page_whatever_the_number_of_rows(app, runner, fhir_world, tmp_path):
    """No N+1: the statements an export runs do not grow with the records exported."""
    def statements(directory):
        with recorded_statements(db.session.connection()) as seen:
            export(runner, directory, "--area", "kabupaten:35.25")
        return [s for s in seen if s.lstrip().upper().startswith("SELECT")]

    before = statements(tmp_path / "a")
    from tests.fhir.conftest import measurement
    for day in range(1, 25):  # 24 more visits, ~100 more resources
        from datetime import date
        measurement(fhir_world.child_a2, fhir_world.posyandu_a2, date(2025, 1, day), weight_kg=10.0 + day / 10)
    after = statements(tmp_path / "b")
    assert len(before) >= len(ALL_TYPES)  # at least one statement per type was seen
    assert len(after) == len(before)


def test_bad_area_and_dates(runner, fhir_world, tmp_path):
    result = runner.invoke(args=["fhir", "export", "-o", str(tmp_path), "--area", "kabupaten:99.99"])
    assert result.exit_code != 0 and "--area" in result.output
    result = runner.invoke(args=["fhir", "export", "-o", str(tmp_path), "--area", "nowhere"])
    assert result.exit_code != 0 and "--area" in result.output
    result = runner.invoke(args=["fhir", "export", "-o", str(tmp_path), "--area", "kabupaten:35.25",
                                 "--since", "2026-02-01", "--until", "2026-01-01"])
    assert result.exit_code != 0 and "--until" in result.output


def test_validate_flag_runs_the_models(runner, fhir_world, tmp_path):
    result = runner.invoke(args=["fhir", "export", "-o", str(tmp_path), "--area", "posyandu:PY-A1", "--validate"])
    assert result.exit_code == 0, result.output
    assert "Observation.ndjson: 12" in result.output
