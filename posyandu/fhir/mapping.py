"""Pure mapping: plain row dicts (as ``posyandu.fhir.reading`` selects them) → FHIR R4 resources.

No Flask, no SQLAlchemy, no database: each function takes one row (a mapping of column names
to Python values; NIKs already decrypted) and a :class:`Context`, and returns JSON-ready dicts.
Every code and unverified choice comes from ``data/satusehat_codes.json`` (:mod:`.codes`).

Logical ids are stable across exports: a child's Patient id is its UUID; every other id is a
UUID5 of the record it derives from (a visit is ``child + date + posyandu``), so the same
record always gets the same id and references inside one export resolve. References are
local (``Patient/<id>``); ``posyandu.fhir.submit`` rewrites them to the server's ids.

Times: visits and doses are recorded as dates. SATUSEHAT demands UTC instants (+00:00), so a
visit is placed at its posyandu's session hours in the posyandu's zone and converted
(fhir-satusehat.md §0; the choice is in the data file). Events before 2014-06-03 raise
:class:`BeforeMinimumDate` (the reading layer never selects them).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from functools import lru_cache
from typing import Any, Iterable, Mapping

from ..core.calendar import session_start_utc
from ..core.growth.rules import default_rules
from ..core.schedule import default_schedule
from ..core.schedule.ages import add_months
from .codes import Codes, default_codes

#: Namespace of the UUID5 logical ids (fixed forever: changing it renames every resource).
ID_NAMESPACE = uuid.UUID("6f1b9e2a-3c4d-5e6f-8a9b-0c1d2e3f4a5b")

RESOURCE_TYPES = ("Organization", "Location", "Patient", "RelatedPerson", "Encounter", "Observation",
                  "Immunization")

Row = Mapping[str, Any]


class BeforeMinimumDate(ValueError):
    """SATUSEHAT rejects events dated before 3 June 2014."""


@dataclass(frozen=True)
class Context:
    """What every mapping function needs besides the row."""
    organization_id: str | None = None  # SATUSEHAT_ORGANIZATION_ID (the submitting organization)
    codes: Codes = field(default_factory=default_codes)


# --- ids and small helpers ----------------------------------------------------------------

def derived_id(*parts: Any) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, ":".join(str(p) for p in parts)))


@lru_cache(maxsize=4096)
def organization_id(puskesmas_code: str) -> str:
    return derived_id("puskesmas", puskesmas_code)


@lru_cache(maxsize=16384)
def location_id(posyandu_code: str) -> str:
    return derived_id("posyandu", posyandu_code)


def patient_id(child_id: Any) -> str:
    return str(child_id)


def related_person_id(child_id: Any) -> str:
    return derived_id("mother", child_id)


def encounter_id(child_id: Any, on: date, posyandu_code: str) -> str:
    return derived_id("encounter", child_id, on.isoformat(), posyandu_code)


def observation_id(measurement_id: Any, kind: str) -> str:
    return derived_id("observation", measurement_id, kind)


def immunization_id(immunization_row_id: Any) -> str:
    return str(immunization_row_id)


def ref(resource_type: str, logical_id: str) -> dict:
    return {"reference": f"{resource_type}/{logical_id}"}


def utc_instant(moment: datetime) -> str:
    """``2023-08-23T10:35:00+00:00``: the form SATUSEHAT's examples use."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def local_instant(on: date, at: time, zone: str, codes: Codes) -> str:
    """A local date and time in an Indonesian zone, as a UTC instant; guards the minimum date."""
    if on < codes.min_event_date:
        raise BeforeMinimumDate(f"{on.isoformat()} is before {codes.min_event_date.isoformat()}")
    return utc_instant(session_start_utc(on, at, zone))


def _default_time(codes: Codes) -> time:
    return time.fromisoformat(codes.default_local_time)


def _coding(entry: Mapping[str, Any]) -> dict:
    out = {"system": entry["system"], "code": entry["code"]}
    if entry.get("display"):
        out["display"] = entry["display"]
    return out


def _concept(entry: Mapping[str, Any], text: str | None = None) -> dict:
    out: dict[str, Any] = {"coding": [_coding(entry)]}
    if text:
        out["text"] = text
    return out


def _local_identifier(resource: str, value: Any, ctx: Context) -> dict:
    return {"use": "usual", "system": ctx.codes.local_identifier_system(resource, ctx.organization_id),
            "value": str(value)}


def local_identifier_of(resource: Mapping[str, Any], ctx: Context) -> dict | None:
    """The local business identifier of a mapped resource (used to find it on a server)."""
    system = ctx.codes.local_identifier_system(resource["resourceType"], ctx.organization_id)
    for identifier in resource.get("identifier", ()):
        if identifier.get("system") == system:
            return identifier
    return None


def _administrative_code(region_code: str | None, rt: str | None = None, rw: str | None = None,
                         codes: Codes | None = None) -> dict | None:
    """The Kemkes administrativeCode extension from an undotted Kemendagri code (2-10 digits)."""
    if not region_code:
        return None
    codes = codes or default_codes()
    parts = []
    for name, length in (("province", 2), ("city", 4), ("district", 6), ("village", 10)):
        if len(region_code) >= length:
            parts.append({"url": name, "valueCode": region_code[:length]})
    for name, value in (("rt", rt), ("rw", rw)):
        if value:
            parts.append({"url": name, "valueCode": str(value)})
    return {"url": codes.administrative_code["url"], "extension": parts}


def _address(row: Row, region_code: str | None, codes: Codes, *, line: str | None = None,
             use: str | None = None, rt=None, rw=None) -> dict | None:
    if not region_code:
        return None
    address: dict[str, Any] = {}
    extension = _administrative_code(region_code, rt, rw, codes)
    if extension:
        address["extension"] = [extension]
    if use:
        address["use"] = use
    address["type"] = "physical"
    if line:
        address["line"] = [line]
    if row.get("kabupaten_name"):
        address["city"] = row["kabupaten_name"]
    if row.get("kecamatan_name"):
        address["district"] = row["kecamatan_name"]
    if row.get("provinsi_name"):
        address["state"] = row["provinsi_name"]
    address["country"] = "ID"
    return address


# --- Organization (puskesmas) and Location (posyandu) --------------------------------------

def organization(row: Row, ctx: Context) -> dict:
    """A puskesmas. Row: ``code, name, kecamatan_code`` (+ optional region names)."""
    codes = ctx.codes
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": organization_id(row["code"]),
        "identifier": [_local_identifier("Organization", row["code"], ctx)],
        "active": True,
        "type": [_concept(codes.organization["type"])],
        "name": row["name"],
    }
    address = _address(row, row.get("kecamatan_code"), codes, use="work")
    if address:
        resource["address"] = [address]
    if ctx.organization_id:
        resource["partOf"] = ref("Organization", ctx.organization_id)
    return resource


def location(row: Row, ctx: Context) -> dict:
    """A posyandu as a Location of its puskesmas. Row: ``code, name, desa_code, address,
    is_active, puskesmas_code`` (+ optional region names)."""
    codes = ctx.codes
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": location_id(row["code"]),
        "identifier": [_local_identifier("Location", row["code"], ctx)],
        "status": "active" if row.get("is_active", True) else "inactive",
        "name": row["name"],
        "mode": "instance",
        "type": [_concept(codes.location["type"])],
    }
    address = _address(row, row.get("desa_code"), codes, line=row.get("address"), use="work")
    if address:
        resource["address"] = address
    resource["physicalType"] = _concept(codes.location["physical_type"])
    resource["managingOrganization"] = ref("Organization", organization_id(row["puskesmas_code"]))
    return resource


# --- Patient (the child) and RelatedPerson (the mother) ------------------------------------

def _nik_identifier(system: str, value: str) -> dict:
    return {"use": "official", "system": system, "value": value}


def patient(row: Row, ctx: Context) -> dict:
    """The child. Row: ``id, name, sex (1/2), birth_date, nik, mother_nik, kk, mother_name,
    address, rt, rw, desa_code, status, closed_reason, merged_into_id, twin, puskesmas_code``
    (+ optional region names). ``nik``, ``mother_nik`` and ``kk`` in clear (or None).

    Identifiers: the child's NIK; without one, the mother's NIK under the ``nik-ibu`` system
    (IDCore, for newborns); the family card number; our own id. A merged duplicate is
    inactive and points at the kept record (``link: replaced-by``)."""
    codes = ctx.codes
    systems = codes.identifier_systems
    identifiers = []
    if row.get("nik"):
        identifiers.append(_nik_identifier(systems["nik"], row["nik"]))
    elif row.get("mother_nik"):
        identifiers.append(_nik_identifier(systems["nik_ibu"], row["mother_nik"]))
    if row.get("kk"):
        identifiers.append(_nik_identifier(systems["kk"], row["kk"]))
    identifiers.append(_local_identifier("Patient", row["id"], ctx))

    citizenship = codes.patient["citizenship_status"]
    language = codes.patient["communication_language"]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id(row["id"]),
        "extension": [{"url": citizenship["url"], "valueCode": citizenship["value_code"]}],
        "identifier": identifiers,
        "active": row.get("status", "active") == "active" and not row.get("merged_into_id"),
        "name": [{"use": "official", "text": row["name"]}],
        "gender": {1: "male", 2: "female"}[int(row["sex"])],
        "birthDate": row["birth_date"].isoformat(),
    }
    if row.get("closed_reason") == "died":
        resource["deceasedBoolean"] = True
    address = _address(row, row.get("desa_code"), codes, line=row.get("address"), use="home",
                       rt=row.get("rt"), rw=row.get("rw"))
    if address:
        resource["address"] = [address]
    resource["multipleBirthBoolean"] = bool(row.get("twin"))
    if row.get("mother_name"):
        resource["contact"] = [{
            "relationship": [_concept(codes.patient["contact_relationship"], "Ibu")],
            "name": {"use": "official", "text": row["mother_name"]},
            "gender": "female",
        }]
    resource["communication"] = [{"language": _concept(language, "Bahasa Indonesia"), "preferred": True}]
    if row.get("puskesmas_code"):
        resource["managingOrganization"] = ref("Organization", organization_id(row["puskesmas_code"]))
    if row.get("merged_into_id"):
        resource["link"] = [{"other": ref("Patient", patient_id(row["merged_into_id"])), "type": "replaced-by"}]
    return resource


def has_mother(row: Row) -> bool:
    return bool(row.get("mother_name") or row.get("mother_nik"))


def related_person(row: Row, ctx: Context) -> dict:
    """The child's mother. Row: ``id`` (the child's), ``mother_name``, ``mother_nik``."""
    codes = ctx.codes
    identifiers = []
    if row.get("mother_nik"):
        identifiers.append(_nik_identifier(codes.identifier_systems["nik"], row["mother_nik"]))
    logical_id = related_person_id(row["id"])
    identifiers.append(_local_identifier("RelatedPerson", logical_id, ctx))
    resource: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "id": logical_id,
        "identifier": identifiers,
        "active": True,
        "patient": ref("Patient", patient_id(row["id"])),
        "relationship": [_concept(codes.related_person["mother_relationship"], "Ibu")],
    }
    if row.get("mother_name"):
        resource["name"] = [{"use": "official", "text": row["mother_name"]}]
    resource["gender"] = "female"
    return resource


# --- Encounter (a posyandu visit) ------------------------------------------------------------

def encounter(row: Row, ctx: Context) -> dict:
    """One visit of a child to a posyandu session. Row: ``child_id, day, posyandu_code,
    puskesmas_code, timezone, session_start, session_end``."""
    codes = ctx.codes
    start = local_instant(row["day"], row["session_start"], row["timezone"], codes)
    end = local_instant(row["day"], row["session_end"], row["timezone"], codes)
    logical_id = encounter_id(row["child_id"], row["day"], row["posyandu_code"])
    period = {"start": start, "end": end}
    return {
        "resourceType": "Encounter",
        "id": logical_id,
        "identifier": [_local_identifier("Encounter", logical_id, ctx)],
        "status": "finished",
        "statusHistory": [{"status": "finished", "period": dict(period)}],
        "class": _coding(codes.encounter["class"]),
        "subject": ref("Patient", patient_id(row["child_id"])),
        "period": period,
        "location": [{"location": ref("Location", location_id(row["posyandu_code"]))}],
        "serviceProvider": ref("Organization", organization_id(row["puskesmas_code"])),
    }


# --- Observations (one measurement row → several resources) --------------------------------

#: Measurement column, code key in the data file, kind (part of the id).
_MEASURED = (("weight_kg", "weight", "weight"),
             ("length_cm", None, "length"),  # lying vs standing decides the code
             ("head_circumference_cm", "head_circumference", "head_circumference"),
             ("arm_circumference_cm", "arm_circumference", "arm_circumference"))


def _length_code_key(measure_method: str | None) -> str:
    """8306-3 for a length measured lying, 8302-2 for a height measured standing (the raw
    value, never the ±0.7 cm corrected one)."""
    return "height_standing" if measure_method == "standing" else "length_lying"


def observations(row: Row, ctx: Context) -> list[dict]:
    """The Observations of one measurement row: each measured value (LOINC, UCUM), then one
    z-score + category Observation per nutrition index (local CodeSystem; see the data file).

    Row: ``id, child_id, measured_on, deleted, posyandu_code, puskesmas_code, timezone,
    session_start, weight_kg, length_cm, measure_method, head_circumference_cm,
    arm_circumference_cm`` and the stored z-score, flag and category columns."""
    codes = ctx.codes
    obs_codes = codes.observation
    effective = local_instant(row["measured_on"], row["session_start"], row["timezone"], codes)
    status = "entered-in-error" if row.get("deleted") else "final"
    base = {
        "subject": ref("Patient", patient_id(row["child_id"])),
        "encounter": ref("Encounter", encounter_id(row["child_id"], row["measured_on"], row["posyandu_code"])),
        "effectiveDateTime": effective,
        "performer": [ref("Organization", organization_id(row["puskesmas_code"]))],
    }
    out: list[dict] = []
    measured_ids: dict[str, str] = {}
    for column, code_key, kind in _MEASURED:
        value = row.get(column)
        if value is None:
            continue
        entry = obs_codes["measurements"][code_key or _length_code_key(row.get("measure_method"))]
        logical_id = observation_id(row["id"], kind)
        measured_ids[kind] = logical_id
        out.append({
            "resourceType": "Observation",
            "id": logical_id,
            "identifier": [_local_identifier("Observation", logical_id, ctx)],
            "status": status,
            "category": [_concept(obs_codes["vital_signs_category"])],
            "code": _concept(entry, entry["display"]),
            **base,
            "valueQuantity": {"value": float(value), "unit": entry["unit"],
                              "system": obs_codes["ucum_system"], "code": entry["ucum"]},
        })
    nutrition = obs_codes["nutrition_status"]
    rules = default_rules()
    for index, spec in nutrition["indices"].items():
        z = row.get(spec["z"])
        if z is None or row.get(spec["flag"]):
            continue  # no z-score, or flagged implausible by WHO anthro (no category either)
        derived = [ref("Observation", measured_ids[k]) for k in spec["derived_from"] if k in measured_ids]
        logical_id = observation_id(row["id"], "z-" + index)
        resource = {
            "resourceType": "Observation",
            "id": logical_id,
            "identifier": [_local_identifier("Observation", logical_id, ctx)],
            "status": status,
            "category": [_concept(nutrition["category"])],
            "code": _concept({"system": nutrition["index_system"], "code": index, "display": spec["display"]},
                             spec["display"]),
            **base,
            "valueQuantity": {"value": float(z), "unit": nutrition["z_unit"]["unit"],
                              "system": obs_codes["ucum_system"], "code": nutrition["z_unit"]["ucum"]},
        }
        category_code = row.get(spec["category"])
        if category_code:
            try:
                category = rules.category(category_code)
            except KeyError:
                category = None  # a reason code (e.g. not applicable), not a category
            if category is not None:
                resource["interpretation"] = [{
                    "coding": [{"system": nutrition["category_system"], "code": category.code,
                                "display": category.label_id}],
                    "text": category.label_id}]
        if derived:
            resource["derivedFrom"] = derived
        out.append(resource)
    return out


# --- Immunization ----------------------------------------------------------------------------

def _completed_months(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + on.month - birth.month
    return months if add_months(birth, months) <= on else months - 1


def vaccine_codings(series: str, codes: Codes) -> list[dict]:
    """KFA product code (none known yet), the 'VG' group code where verified, the CVX code."""
    entry = codes.vaccines.get(series)
    if entry is None:
        return []
    immunization = codes.immunization
    out = []
    if entry.get("kfa"):
        out.append({"system": immunization["kfa_system"]["value"], "code": entry["kfa"]})
    if entry.get("vg"):
        out.append({"system": immunization["kfa_system"]["value"], "code": entry["vg"],
                    "display": entry.get("vg_display") or series})
    out.append({"system": immunization["cvx_system"]["value"], "code": entry["cvx"],
                "display": entry["cvx_display"]})
    return out


def immunization(row: Row, ctx: Context) -> dict:
    """One dose. Row: ``id, child_id, birth_date, dose_code, given_on, lot_number, place,
    deleted, created_at, posyandu_code, puskesmas_code, timezone, session_start``."""
    codes = ctx.codes
    spec = codes.immunization
    dose = default_schedule().by_code.get(row["dose_code"])
    series = dose.series if dose else (row.get("vaccine_code") or row["dose_code"])
    at_session = row.get("place") == "posyandu"
    at = row["session_start"] if at_session else _default_time(codes)
    occurrence = local_instant(row["given_on"], at, row["timezone"], codes)
    logical_id = immunization_id(row["id"])
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": logical_id,
        "identifier": [_local_identifier("Immunization", logical_id, ctx)],
        "status": "entered-in-error" if row.get("deleted") else "completed",
        "vaccineCode": {"coding": vaccine_codings(series, codes),
                        "text": dose.name_id if dose else row["dose_code"]},
        "patient": ref("Patient", patient_id(row["child_id"])),
    }
    if at_session:
        resource["encounter"] = ref("Encounter", encounter_id(row["child_id"], row["given_on"], row["posyandu_code"]))
    resource["occurrenceDateTime"] = occurrence
    if row.get("created_at"):
        resource["recorded"] = utc_instant(row["created_at"])
    primary = row.get("place") in spec["primary_source_places"]["value"]
    resource["primarySource"] = primary
    if not primary:
        resource["reportOrigin"] = _concept({"system": spec["origin_system"]["value"], **spec["record_origin"]})
    if row.get("lot_number"):
        resource["lotNumber"] = row["lot_number"]
    if at_session or row.get("place") == "puskesmas":
        resource["performer"] = [{
            "function": _concept({"system": "http://terminology.hl7.org/CodeSystem/v2-0443", "code": "AP",
                                  "display": "Administering Provider"}),
            "actor": ref("Organization", organization_id(row["puskesmas_code"]))}]
    if dose is not None:
        reasons = []
        program = spec["program_reason"].get(dose.program)
        if program:
            reasons.append(_concept({"system": spec["reason_system"]["value"], **program}))
            catch_up_from = spec["timing"]["catch_up_from_age_months"].get(dose.program)
            if catch_up_from is not None and row.get("birth_date"):
                late = _completed_months(row["birth_date"], row["given_on"]) >= catch_up_from
                timing = spec["timing"]["catch_up" if late else "ideal"]
                reasons.append(_concept({"system": spec["timing_system"]["value"], **timing}))
        if reasons:
            resource["reasonCode"] = reasons
        number = spec["dose_number_override"]["value"].get(dose.code, dose.dose_number)
        resource["protocolApplied"] = [{"series": series, "doseNumberPositiveInt": int(number)}]
    return resource


# --- dispatch --------------------------------------------------------------------------------

def map_row(resource_type: str, row: Row, ctx: Context) -> list[dict]:
    """All resources of ``resource_type`` that one row gives (zero, one or several)."""
    if resource_type == "Organization":
        return [organization(row, ctx)]
    if resource_type == "Location":
        return [location(row, ctx)]
    if resource_type == "Patient":
        return [patient(row, ctx)]
    if resource_type == "RelatedPerson":
        return [related_person(row, ctx)] if has_mother(row) else []
    if resource_type == "Encounter":
        return [encounter(row, ctx)]
    if resource_type == "Observation":
        return observations(row, ctx)
    if resource_type == "Immunization":
        return [immunization(row, ctx)]
    raise ValueError(f"unknown resource type {resource_type!r}")


def map_rows(resource_type: str, rows: Iterable[Row], ctx: Context) -> Iterable[dict]:
    for row in rows:
        yield from map_row(resource_type, row, ctx)
