"""HTTP routes for immunizations (thin: parse, check scope, call operations, dump).

Paths (under ``/api/v1``):

* ``POST   /children/{child_id}/immunizations``           record a dose given (client UUID, retry-safe)
* ``GET    /children/{child_id}/immunizations``           the child's recorded doses
* ``GET    /children/{child_id}/immunization-schedule``   every dose's status, dates, IDL/IBL
* ``GET    /immunizations/{id}``                          one record
* ``PATCH  /immunizations/{id}``                          correct it (optional ``base_version``)
* ``DELETE /immunizations/{id}``                          soft delete (optional ``?base_version=``)
* ``GET    /posyandu/{id}/next-session``                  the cadre's list for the next session
* ``GET    /immunizations/overdue``                       overdue children in the caller's area
* ``GET    /immunizations/dropouts?indicator=|from=&to=`` dropouts (DPT-HB-Hib 1→3, 1→MR 1, MR1→2, …)
* ``GET    /immunizations/dropout-indicators``           the named dropout indicators
* ``GET/PUT /immunizations/region-settings/{kabupaten}``  JE programme and cohort start dates
"""
from __future__ import annotations

from ..blueprint import Blueprint

from ..auth.scope import STAFF_ROLES, current_scope, roles_required
from ..calendar import operations as calendar_ops
from ..core import calendar as cal
from . import operations as ops
from .schemas import (DeleteArgs, DropoutArgs, DropoutIndicatorList, DropoutPage, ImmunizationCreate,
                      ImmunizationListOut, ImmunizationOut, ImmunizationUpdate, NextSessionListOut, OnArgs, OverdueArgs, OverduePage,
                      ParentImmunizationOut, RegionSettingsIn, RegionSettingsOut,
                      ScheduleOut)

blp = Blueprint("immunizations", __name__, url_prefix=None,
                description="Immunizations given, each child's schedule (Kemenkes programme), and the lists "
                            "cadres and puskesmas work from.")

_CONFLICT = "The id exists with other values, the row was deleted, base_version is stale, or the dose is " \
            "already recorded for the child; the body's `server` member holds the server copy."


def undotted(code: str) -> str:
    """``35.25`` or ``3525`` → ``3525``."""
    return code.strip().replace(".", "")


def _out(row) -> dict:
    return ops.immunization_data(row)


_PARENT_FIELDS = tuple(ParentImmunizationOut().fields)


def _parent(data: dict) -> dict:
    """The parent view: the staff dict cut to the parent fields (missing keys are not dumped)."""
    return {k: data[k] for k in _PARENT_FIELDS}


@blp.route("/children/<uuid:child_id>/immunizations", methods=["POST"])
@roles_required(*STAFF_ROLES)
@blp.arguments(ImmunizationCreate)
@blp.response(201, ImmunizationOut)
@blp.alt_response(200, schema=ImmunizationOut, description="A retry: same id and same values; nothing new stored.")
@blp.alt_response(409, description=_CONFLICT)
def record_immunization(data, child_id):
    """Record a dose given

    The client generates ``id``; a retried request with the same id and values answers 200 with
    the stored record and creates nothing. A dose given too early, with too short an interval
    or after the maximum age is stored as given and marked ``is_valid: false`` with
    ``invalid_reasons``; every other dose of the child is re-validated with it. A second record
    of a dose already recorded for the child is refused (409, ``type`` ends in
    ``duplicate-dose``) naming the dose. Cadres: children of their posyandu; puskesmas staff:
    their area; dinkes: their kabupaten. Audited.
    """
    data["child_id"] = child_id
    row, created, _warnings = ops.record_immunization(current_scope(), data)
    return _out(row), (201 if created else 200)


@blp.route("/children/<uuid:child_id>/immunizations", methods=["GET"])
@roles_required()
@blp.response(200, ImmunizationListOut)
def list_child_immunizations(child_id):
    """A child's recorded doses

    Live records, oldest first. Parents may read their own children's (without bookkeeping).
    """
    scope = current_scope()
    rows = ops.child_immunizations(scope, child_id)
    items = [ops.immunization_data(r) for r in rows]
    if scope.is_parent:
        items = [_parent(i) for i in items]
    return {"items": items}


@blp.route("/children/<uuid:child_id>/immunization-schedule", methods=["GET"])
@roles_required()
@blp.arguments(OnArgs, location="query")
@blp.response(200, ScheduleOut)
def child_schedule(args, child_id):
    """A child's immunization schedule

    Every dose of the Kemenkes programme with its status (given, due, overdue, upcoming, missed,
    not_applicable), the reason when missed or not applicable, the FHIR
    ImmunizationRecommendation forecast status, the next / earliest / recommended / overdue /
    latest dates, the Indonesian and English names, and the records matched to it; plus IDL
    (current and 2017 definitions) and IBL completeness. Evaluated as of today at the child's
    posyandu, or ``on``. Uses the kabupaten's programme settings (JE, cohort starts). Parents may
    read their own children's.
    """
    return ops.child_schedule(current_scope(), child_id, args.get("on"))


@blp.route("/immunizations/<uuid:immunization_id>", methods=["GET"])
@roles_required()
@blp.response(200, ImmunizationOut)
def get_immunization(immunization_id):
    """Get one immunization record

    Staff see the full record (deleted ones too, with ``deleted_at``); parents see their own
    children's live records without bookkeeping fields.
    """
    scope = current_scope()
    row = ops.get_immunization(scope, immunization_id)
    if scope.is_parent:
        return _parent(ops.immunization_data(row))
    return _out(row)


@blp.route("/immunizations/<uuid:immunization_id>", methods=["PATCH"])
@roles_required(*STAFF_ROLES)
@blp.arguments(ImmunizationUpdate)
@blp.response(200, ImmunizationOut)
@blp.alt_response(409, description=_CONFLICT)
def update_immunization(data, immunization_id):
    """Correct an immunization record

    Send only the fields to change, and ``base_version`` (the version you edited) to be told
    with 409 and the server copy when someone changed it meanwhile. The validity of all the
    child's doses is recomputed. Audited.
    """
    base_version = data.pop("base_version", None)
    row, _warnings = ops.update_immunization(current_scope(), immunization_id, data, base_version=base_version)
    return _out(row)


@blp.route("/immunizations/<uuid:immunization_id>", methods=["DELETE"])
@roles_required(*STAFF_ROLES)
@blp.arguments(DeleteArgs, location="query")
@blp.response(204)
@blp.alt_response(409, description=_CONFLICT)
def delete_immunization(args, immunization_id):
    """Delete an immunization record (soft)

    The row is kept with ``deleted_at`` and left out of schedules and lists; the child's other
    doses are re-validated. Deleting again is a no-op. Audited.
    """
    ops.delete_immunization(current_scope(), immunization_id, base_version=args.get("base_version"))
    return None


@blp.route("/posyandu/<int:posyandu_id>/next-session", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(OnArgs, location="query")
@blp.response(200, NextSessionListOut)
def posyandu_next_session(args, posyandu_id):
    """The cadre's list for the next session

    The posyandu's first session on or after today (or ``on``), from the monthly rule and the
    calendar exceptions, with the children expected (active, under 60 months that day) and the
    doses due or overdue for each on that day, plus how many children need each dose.
    """
    posyandu = calendar_ops.load_posyandu(current_scope(), posyandu_id)
    session = calendar_ops.next_session(posyandu, args.get("on"))
    day = session.date if session else (args.get("on") or cal.local_today(posyandu.timezone))
    expected = ops.expected_at_session(posyandu, day)
    return {"posyandu": {"id": posyandu.id, "name": posyandu.name, "address": posyandu.address},
            "session": calendar_ops.session_data(session), "evaluated_on": day, **expected}


@blp.route("/immunizations/overdue", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(OverdueArgs, location="query")
@blp.response(200, OverduePage)
def overdue(args):
    """Children with overdue doses

    Active children under 60 months in the caller's area (or ``posyandu_id``) with at least one
    overdue dose (or ``dose``), ordered by posyandu, birth date and id. Pass ``next_cursor`` back
    as ``cursor`` for the next page.
    """
    items, next_cursor = ops.overdue_list(current_scope(), posyandu_id=args.get("posyandu_id"),
                                          dose=args.get("dose"), on=args.get("on"), cursor=args.get("cursor"),
                                          limit=args["limit"])
    return {"items": items, "next_cursor": next_cursor}


@blp.route("/immunizations/dropouts", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(DropoutArgs, location="query")
@blp.response(200, DropoutPage)
def dropouts(args):
    """Dropouts: children who got one dose but not a later one

    Name a dropout indicator (``indicator=DPTHBHIB1-MR1``; the list is at
    ``/immunizations/dropout-indicators``: DPT-HB-Hib 1→3, DPT-HB-Hib 1→MR 1, MR 1→2) or a
    pair of doses (``from=DPTHBHIB1&to=DPTHBHIB3``: a later dose of the same series, or the
    two doses of a named indicator). Lists the children who got ``from`` (validly) but not
    ``to``: active children under 60 months in the caller's area (or ``posyandu_id``) who
    have reached the recommended age of the later dose (``include_upcoming`` also lists
    younger ones). ``to_dose`` carries the later dose's status and dates; ``indicator`` says
    which indicator was listed. Cursor pages as for the overdue list.
    """
    indicator = ops.dropout_indicator(args.get("indicator"), args.get("from_dose"), args.get("to_dose"))
    items, next_cursor = ops.dropout_list(
        current_scope(), from_dose=indicator["from_dose"], to_dose=indicator["to_dose"],
        posyandu_id=args.get("posyandu_id"), on=args.get("on"), include_upcoming=args["include_upcoming"],
        cursor=args.get("cursor"), limit=args["limit"])
    return {"indicator": indicator, "items": items, "next_cursor": next_cursor}


@blp.route("/immunizations/dropout-indicators", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.response(200, DropoutIndicatorList)
def dropout_indicators():
    """The named dropout indicators a puskesmas reports

    Each with its doses (``from``, ``to``), its label in the caller's language (and both
    ``label_id`` / ``label_en``) and the source of the definition
    (``posyandu/core/schedule/data/dropout-indicators-id.json``).
    """
    return {"items": ops.dropout_indicators()}


@blp.route("/immunizations/region-settings/<string:kabupaten_code>", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.response(200, RegionSettingsOut)
def get_region_settings(kabupaten_code):
    """A kabupaten's immunization programme settings

    ``je_programme`` and the cohort start dates (first eligible birth date per antigen) the
    schedule uses for children of that kabupaten; ``source`` says whether they are the national
    defaults or the kabupaten's own.
    """
    return ops.region_settings_data(undotted(kabupaten_code))


@blp.route("/immunizations/region-settings/<string:kabupaten_code>", methods=["PUT"])
@roles_required("admin", "dinkes")
@blp.arguments(RegionSettingsIn)
@blp.response(200, RegionSettingsOut)
def put_region_settings(data, kabupaten_code):
    """Set a kabupaten's immunization programme settings

    Admins, or dinkes of that kabupaten. Cohort keys left out use the national default. Audited.
    """
    return ops.put_region_settings(current_scope(), undotted(kabupaten_code), data)
