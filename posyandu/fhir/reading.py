"""The database side of the FHIR export: plain row dicts for :mod:`posyandu.fhir.mapping`.

One SQL statement per resource type per page (keyset pagination on a unique key, pages of
``batch_size`` rows), each joining everything its mapping needs (posyandu zone and session
hours, puskesmas code, region names), so there is no per-row query however large the area.
Pages are separate statements (no server-side cursor held open), so ``submit`` can commit
between pages.

What is selected for an area and a date range (event dates, inclusive; never before
2014-06-03, which SATUSEHAT rejects):
- Patient, RelatedPerson: children now registered at a posyandu of the area (records follow
  the child after a move) with a measurement or dose in the range (every child of the area
  when no range is given); merged duplicates are left out;
- Encounter: one per child, date and posyandu with a measurement, or a dose given at the
  posyandu session, in the range;
- Observation, Immunization: the live measurements and doses of those children in the range;
- Location, Organization: the area's posyandu, any other posyandu those records were taken at,
  and their puskesmas.
``with_tombstones`` (submit only) adds deleted measurements and doses and merged children that
were already sent, so the server learns they are ``entered-in-error`` / replaced.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..children import crypto
from ..children.models import Child
from ..extensions import db
from ..immunizations.models import Immunization
from ..measurements.models import Measurement
from ..regions.models import Posyandu, Puskesmas, Region
from .codes import default_codes
from .models import FhirSubmission

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class Selection:
    """Which records: an area (``posyandu.reports.areas.Area``; None = everything) and event
    dates ``since``..``until`` (inclusive; None = open)."""
    area: Any = None
    since: date | None = None
    until: date | None = None
    with_tombstones: bool = False

    @property
    def first_day(self) -> date:
        floor = default_codes().min_event_date
        return max(self.since, floor) if self.since else floor

    def in_range(self, column):
        condition = column >= self.first_day
        if self.until is not None:
            condition = sa.and_(condition, column <= self.until)
        return condition

    @property
    def has_range(self) -> bool:
        return self.since is not None or self.until is not None


# --- shared pieces ---------------------------------------------------------------------------

def _child_in_area(selection: Selection, child=Child):
    if selection.area is None:
        return sa.true()
    return child.posyandu_id.in_(selection.area.posyandu_ids())


def _was_sent(source_column, resource_type: str):
    return sa.exists().where(FhirSubmission.source_id == source_column,
                             FhirSubmission.resource_type == resource_type,
                             FhirSubmission.server_id.is_not(None))


def _live_or_sent(model, resource_type: str, selection: Selection):
    live = model.deleted_at.is_(None)
    if selection.with_tombstones:
        return sa.or_(live, _was_sent(model.id, resource_type))
    return live


def _region_names(query, code_column, levels=("provinsi", "kabupaten", "kecamatan")):
    """Add ``<level>_name`` columns for the regions above ``code_column`` (undotted code)."""
    lengths = {"provinsi": 2, "kabupaten": 4, "kecamatan": 6, "desa": 10}
    for level in levels:
        region = aliased(Region)
        query = query.outerjoin(region, region.code == sa.func.substr(code_column, 1, lengths[level])) \
            .add_columns(region.name.label(f"{level}_name"))
    return query


def _measurements_in(selection: Selection):
    """Measurements of the area's children in the range (live ones)."""
    return (sa.select(Measurement.child_id.label("child_id"), Measurement.measured_on.label("day"),
                      Measurement.posyandu_id.label("posyandu_id"))
            .join(Child, Child.id == Measurement.child_id)
            .where(_child_in_area(selection), Measurement.deleted_at.is_(None),
                   selection.in_range(Measurement.measured_on)))


def _session_doses_in(selection: Selection):
    """Doses given at a posyandu session to the area's children in the range (live ones)."""
    return (sa.select(Immunization.child_id.label("child_id"), Immunization.given_on.label("day"),
                      Immunization.posyandu_id.label("posyandu_id"))
            .join(Child, Child.id == Immunization.child_id)
            .where(_child_in_area(selection), Immunization.deleted_at.is_(None), Immunization.place == "posyandu",
                   selection.in_range(Immunization.given_on)))


def _doses_in(selection: Selection):
    return (sa.select(Immunization.posyandu_id)
            .join(Child, Child.id == Immunization.child_id)
            .where(_child_in_area(selection), Immunization.deleted_at.is_(None),
                   selection.in_range(Immunization.given_on)))


def _posyandu_ids(selection: Selection):
    """The area's posyandu plus every posyandu the selected records were taken at."""
    if selection.area is None:
        return sa.select(Posyandu.id)
    measured = _measurements_in(selection).with_only_columns(Measurement.posyandu_id)
    return sa.union(selection.area.posyandu_ids(), measured, _doses_in(selection))


# --- one statement per resource type ---------------------------------------------------------

def _organization_query(selection: Selection):
    query = (sa.select(Puskesmas.code, Puskesmas.name, Puskesmas.kecamatan_code)
             .where(Puskesmas.id.in_(sa.select(Posyandu.puskesmas_id).where(
                 Posyandu.id.in_(_posyandu_ids(selection))))))
    return _region_names(query, Puskesmas.kecamatan_code), ((Puskesmas.code, "code"),)


def _location_query(selection: Selection):
    query = (sa.select(Posyandu.code, Posyandu.name, Posyandu.desa_code, Posyandu.address, Posyandu.is_active,
                       Puskesmas.code.label("puskesmas_code"))
             .join(Puskesmas, Puskesmas.id == Posyandu.puskesmas_id)
             .where(Posyandu.id.in_(_posyandu_ids(selection))))
    return _region_names(query, Posyandu.desa_code), ((Posyandu.code, "code"),)


def _patient_query(selection: Selection, *, mothers: bool = False):
    sibling = aliased(Child)
    twin = sa.exists().where(sibling.mother_nik_hmac == Child.mother_nik_hmac, sibling.birth_date == Child.birth_date,
                             sibling.id != Child.id, sibling.merged_into_id.is_(None))
    query = (sa.select(Child.id, Child.name, Child.sex, Child.birth_date, Child.nik_encrypted,
                       Child.mother_nik_encrypted, Child.kk_encrypted, Child.mother_name, Child.address, Child.rt,
                       Child.rw, Child.desa_code, Child.status, Child.closed_reason, Child.merged_into_id,
                       sa.and_(Child.mother_nik_hmac.is_not(None), twin).label("twin"),
                       Puskesmas.code.label("puskesmas_code"))
             .join(Posyandu, Posyandu.id == Child.posyandu_id)
             .join(Puskesmas, Puskesmas.id == Posyandu.puskesmas_id)
             .where(_child_in_area(selection)))
    not_merged = Child.merged_into_id.is_(None)
    if mothers:
        query = query.where(not_merged, sa.or_(Child.mother_name.is_not(None), Child.mother_nik_encrypted.is_not(None)))
    elif selection.with_tombstones:
        query = query.where(sa.or_(not_merged, _was_sent(Child.id, "Patient")))
    else:
        query = query.where(not_merged)
    if selection.has_range:
        visited = sa.or_(
            sa.exists().where(Measurement.child_id == Child.id, Measurement.deleted_at.is_(None),
                              selection.in_range(Measurement.measured_on)),
            sa.exists().where(Immunization.child_id == Child.id, Immunization.deleted_at.is_(None),
                              selection.in_range(Immunization.given_on)))
        query = query.where(visited)
    return _region_names(query, Child.desa_code), ((Child.id, "id"),)


def _encounter_query(selection: Selection):
    visits = sa.union(_measurements_in(selection), _session_doses_in(selection)).subquery("visit")
    query = (sa.select(visits.c.child_id, visits.c.day, Posyandu.code.label("posyandu_code"),
                       Posyandu.timezone, Posyandu.session_start, Posyandu.session_end,
                       Puskesmas.code.label("puskesmas_code"))
             .select_from(visits)
             .join(Posyandu, Posyandu.id == visits.c.posyandu_id)
             .join(Puskesmas, Puskesmas.id == Posyandu.puskesmas_id))
    return query, ((visits.c.child_id, "child_id"), (visits.c.day, "day"), (Posyandu.code, "posyandu_code"))


_MEASUREMENT_COLUMNS = ("id", "child_id", "measured_on", "weight_kg", "length_cm", "measure_method",
                        "head_circumference_cm", "arm_circumference_cm",
                        "zwei", "fwei", "zlen", "flen", "zwfl", "fwfl", "zbmi", "fbmi", "zhc", "fhc", "zac", "fac",
                        "cat_bbu", "cat_tbu", "cat_bbtb", "cat_imtu", "cat_lk", "cat_lila")


def _observation_query(selection: Selection):
    query = (sa.select(*(getattr(Measurement, name) for name in _MEASUREMENT_COLUMNS),
                       Measurement.deleted_at.is_not(None).label("deleted"),
                       Posyandu.code.label("posyandu_code"), Posyandu.timezone, Posyandu.session_start,
                       Puskesmas.code.label("puskesmas_code"))
             .join(Child, Child.id == Measurement.child_id)
             .join(Posyandu, Posyandu.id == Measurement.posyandu_id)
             .join(Puskesmas, Puskesmas.id == Posyandu.puskesmas_id)
             .where(_child_in_area(selection), selection.in_range(Measurement.measured_on),
                    _live_or_sent(Measurement, "Observation", selection)))
    return query, ((Measurement.id, "id"),)


def _immunization_query(selection: Selection):
    query = (sa.select(Immunization.id, Immunization.child_id, Child.birth_date, Immunization.dose_code,
                       Immunization.vaccine_code, Immunization.given_on, Immunization.lot_number, Immunization.place,
                       Immunization.created_at, Immunization.deleted_at.is_not(None).label("deleted"),
                       Posyandu.code.label("posyandu_code"), Posyandu.timezone, Posyandu.session_start,
                       Puskesmas.code.label("puskesmas_code"))
             .join(Child, Child.id == Immunization.child_id)
             .join(Posyandu, Posyandu.id == Immunization.posyandu_id)
             .join(Puskesmas, Puskesmas.id == Posyandu.puskesmas_id)
             .where(_child_in_area(selection), selection.in_range(Immunization.given_on),
                    _live_or_sent(Immunization, "Immunization", selection)))
    return query, ((Immunization.id, "id"),)


_QUERIES = {
    "Organization": _organization_query,
    "Location": _location_query,
    "Patient": _patient_query,
    "RelatedPerson": lambda selection: _patient_query(selection, mothers=True),
    "Encounter": _encounter_query,
    "Observation": _observation_query,
    "Immunization": _immunization_query,
}


def _decrypt_identifiers(row: dict) -> dict:
    """Clear NIK, mother's NIK and KK for the mapping (they leave only in the export itself)."""
    for column, name in (("nik_encrypted", "nik"), ("mother_nik_encrypted", "mother_nik"), ("kk_encrypted", "kk")):
        if column in row:
            row[name] = crypto.decrypt(row.pop(column))
    return row


def pages(resource_type: str, selection: Selection, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[list[dict]]:
    """Row dicts for ``resource_type``, one SQL statement per page of ``batch_size`` rows."""
    query, keys = _QUERIES[resource_type](selection)
    columns = [column for column, _ in keys]
    query = query.order_by(*columns).limit(batch_size)
    after = None
    while True:
        page_query = query
        if after is not None:
            page_query = query.where(sa.tuple_(*columns) > sa.tuple_(*after) if len(columns) > 1
                                     else columns[0] > after[0])
        rows = [dict(row) for row in db.session.execute(page_query).mappings()]
        if not rows:
            return
        last = rows[-1]
        after = tuple(last[name] for _, name in keys)
        yield [_decrypt_identifiers(row) for row in rows]
        if len(rows) < batch_size:
            return


def rows(resource_type: str, selection: Selection, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[dict]:
    for page in pages(resource_type, selection, batch_size=batch_size):
        yield from page
