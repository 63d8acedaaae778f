"""Immunization use cases: record, correct, soft-delete, read, schedule, cadre and puskesmas lists.

Signatures (the sync push adapter and the reminder planner call these too):

* ``record_immunization(scope, data) -> (Immunization, created: bool, warnings: list[str])``
    ``data`` as loaded by ``schemas.ImmunizationCreate`` plus ``child_id``. A retry with the same
    id and values returns the stored row with ``created=False`` and writes nothing; the same id
    with other values (or a deleted row) is ``Conflict`` with the server copy; another live
    record of the same dose for the child is ``Conflict`` naming the dose.
* ``update_immunization(scope, id, data, base_version=None) -> (Immunization, warnings)``
* ``delete_immunization(scope, id, base_version=None) -> Immunization`` (soft; again = no-op)
* ``get_immunization(scope, id)``, ``child_immunizations(scope, child_id)``
* ``child_schedule(scope, child_id, on=None) -> dict`` (the schedule endpoint's data)
* ``expected_at_session(posyandu, on) -> dict`` (the cadre's list for a session date)
* ``overdue_list(...)``, ``dropout_list(...)`` (set-wise, cursor pages)
* ``region_settings_for(kabupaten_codes) -> {code: RegionSettings}`` (one query)
* ``evaluate_children(children, doses_by_child, on_for, settings)`` (pure-ish, set-wise)

Validity: a dose given too early, with too short an interval or after the maximum age is STORED
and marked ``is_valid = False`` with the engine's reason. Whenever a child's doses change, the
validity of ALL of that child's live doses is recomputed from one ``evaluate_child`` call (a
corrected earlier dose can change later ones). Rows whose validity changes as a consequence are
noted in the sync change log but keep their ``version`` (what the cadre entered did not change).

Region settings (JE programme, cohort start dates) are data: one ``immunization_region_setting``
row per kabupaten; a kabupaten without a row uses the national defaults of the schedule data.
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..audit.log import audit, field_diff
from ..auth.models import User
from ..children.models import Child
from ..concurrent_writes import KeyTaken, new_rows, replay_when_taken
from ..core import calendar as cal
from ..core.schedule import (DoseStatus, RegionSettings, add_months, default_schedule, dose_name, dropouts,
                             evaluate_child, join_vaccine_names, schedule_version)
from ..db import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..regions.models import Posyandu
from ..sync.changes import record_change
from .models import Immunization, ImmunizationRegionSetting

I = Immunization
#: The values a cadre enters; compared for idempotent retries and diffed for the audit.
ENTERED_FIELDS = ("dose_code", "given_on", "lot_number", "place", "place_name", "given_by_user_id",
                  "given_by_name")
_DEFAULTS = {"place": "posyandu"}
UNDER_FIVE_MONTHS = 60
_BATCH = 500


# ---------------------------------------------------------------------------------------
# region settings
# ---------------------------------------------------------------------------------------
def _settings_from_row(row: ImmunizationRegionSetting) -> RegionSettings:
    cohorts = {}
    for key, value in (row.cohort_born_from or {}).items():
        cohorts[key] = date.fromisoformat(value) if value else None
    return RegionSettings(kabupaten_code=row.kabupaten_code, je_programme=bool(row.je_programme),
                          cohort_born_from=cohorts)


def region_settings_for(kabupaten_codes) -> dict[str, RegionSettings]:
    """``{kabupaten_code: RegionSettings}`` for the codes (one query); national defaults where
    a kabupaten has no row."""
    codes = sorted({c for c in kabupaten_codes if c})
    out = {}
    if codes:
        rows = db.session.execute(sa.select(ImmunizationRegionSetting)
                                  .where(ImmunizationRegionSetting.kabupaten_code.in_(codes))).scalars()
        out = {r.kabupaten_code: _settings_from_row(r) for r in rows}
    sch = default_schedule()
    for code in codes:
        out.setdefault(code, sch.national_region(code))
    return out


def region_settings_data(kabupaten_code: str) -> dict:
    row = db.session.get(ImmunizationRegionSetting, kabupaten_code)
    settings = _settings_from_row(row) if row else default_schedule().national_region(kabupaten_code)
    return _region_dict(settings, "kabupaten" if row else "national")


def _region_dict(settings: RegionSettings, source: str | None = None) -> dict:
    sch = default_schedule()
    cohorts = dict(sch.cohort_defaults)
    cohorts.update(settings.cohort_born_from)
    return {"kabupaten_code": settings.kabupaten_code, "je_programme": settings.je_programme,
            "cohort_born_from": cohorts, "source": source}


@replay_when_taken
def put_region_settings(scope, kabupaten_code: str, data: dict) -> dict:
    """Create or replace a kabupaten's settings (admin, or dinkes of that kabupaten)."""
    from ..regions.models import Region
    if scope.role not in ("admin", "dinkes"):
        raise Forbidden("Only dinkes or an administrator may change programme settings.")
    region = db.session.get(Region, kabupaten_code)
    if region is None or region.level != "kabupaten" or \
            (scope.role == "dinkes" and scope.kabupaten_code != kabupaten_code):
        raise NotFound("No such kabupaten.")
    row = db.session.get(ImmunizationRegionSetting, kabupaten_code)
    values = {"je_programme": data["je_programme"],
              "cohort_born_from": {k: (v.isoformat() if v else None)
                                   for k, v in sorted((data.get("cohort_born_from") or {}).items())},
              "note": data.get("note")}
    before = {} if row is None else {k: getattr(row, k) for k in values}
    new = row is None
    if new:
        row = ImmunizationRegionSetting(kabupaten_code=kabupaten_code)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_by_id = scope.user_id
    row.updated_at = utcnow()
    if new:
        with new_rows(db.session):  # another request created it meanwhile: replayed as a replacement
            db.session.add(row)
    else:
        db.session.flush()
    changes = field_diff(before, values)
    if changes:
        audit("update" if before else "create", "region_setting", kabupaten_code, changes=changes)
    return region_settings_data(kabupaten_code)


# ---------------------------------------------------------------------------------------
# evaluation helpers
# ---------------------------------------------------------------------------------------
def _reasons(adm) -> list[str]:
    return [r.value for r in adm.reasons]


def _admin_by_code(schedule) -> dict:
    """recorded dose code -> Administration (a child has one live record per code)."""
    out = {}
    for result in schedule.doses:
        for adm in result.administrations:
            out[adm.recorded_code] = adm
    for adm in schedule.extra_doses:
        out[adm.recorded_code] = adm
    return out


def _local_today(zone: str) -> date:
    return cal.local_today(zone)


def _child_context(child_id):
    """(birth_date, posyandu_id, kabupaten_code, timezone) of a child (no scope check)."""
    row = db.session.execute(
        sa.select(Child.birth_date, Child.posyandu_id, Posyandu.kabupaten_code, Posyandu.timezone)
        .join(Posyandu, Posyandu.id == Child.posyandu_id).where(Child.id == child_id)).first()
    return row


def revalidate_child(child_id, *, exclude_from_changes=()) -> list:
    """Recompute is_valid/invalid_reason/warnings of all the child's live doses (one engine
    call); write only what changed and note those rows in the change log. Returns their ids."""
    ctx = _child_context(child_id)
    rows = db.session.execute(sa.select(Immunization).where(I.child_id == child_id, I.deleted_at.is_(None))
                              ).scalars().all()
    if not rows:
        return []
    region = region_settings_for([ctx.kabupaten_code])[ctx.kabupaten_code]
    today = _local_today(ctx.timezone)
    schedule = evaluate_child(ctx.birth_date, [(r.dose_code, r.given_on) for r in rows], today, region)
    by_code = _admin_by_code(schedule)
    changed = []
    for row in rows:
        adm = by_code.get(row.dose_code)
        if adm is None:  # unknown code (cannot happen through the API)
            valid, reason, warnings = True, None, None
        else:
            valid = adm.valid
            reason = ",".join(_reasons(adm)) or None
            warnings = [w.value for w in adm.warnings] or None
        if (row.is_valid, row.invalid_reason, row.warnings or None) != (valid, reason, warnings):
            row.is_valid, row.invalid_reason, row.warnings = valid, reason, warnings
            changed.append(row)
    db.session.flush()
    ids = []
    for row in changed:
        if row.id in exclude_from_changes:
            continue
        record_change(db.session, entity="immunization", entity_id=row.id, posyandu_id=ctx.posyandu_id,
                      child_id=row.child_id)
        ids.append(row.id)
    return ids


def row_warnings(row: Immunization) -> list[str]:
    """What to tell the cadre about a stored dose: invalidity first, then remarks."""
    out = [f"invalid:{r}" for r in (row.invalid_reason or "").split(",") if r]
    out.extend(row.warnings or [])
    return out


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _require_writer(scope) -> None:
    if scope.is_parent or not scope.can_write_children:
        raise Forbidden("Parents can read their children's immunizations but not change them.")


def load_child(scope, child_id, field: str | None = None) -> Child:
    """The child in scope; else 404, naming ``field`` when the child id came in the body."""
    child = db.session.execute(sa.select(Child).where(Child.id == child_id, scope.child_clause())
                               ).scalar_one_or_none()
    if child is None:
        raise NotFound("No such child.", errors={field: ["No such child."]} if field else None)
    return child


def _entered(obj) -> dict:
    if isinstance(obj, dict):
        return {f: obj.get(f, _DEFAULTS.get(f)) for f in ENTERED_FIELDS}
    return {f: getattr(obj, f) for f in ENTERED_FIELDS}


def _dose_label(code: str) -> str:
    sch = default_schedule()
    dose = sch.by_code.get(code)
    return f"{dose.name('en')} ({code})" if dose else code


def _server_copy(row):
    from .schemas import ImmunizationOut
    return ImmunizationOut().dump(immunization_data(row))


def _conflict(row: Immunization, detail: str) -> Conflict:
    return Conflict(detail, extra={"server": _server_copy(row)})


def _duplicate(existing: Immunization) -> Conflict:
    label = _dose_label(existing.dose_code)
    return Conflict(f"{label} is already recorded for this child (given on {existing.given_on.isoformat()}). "
                    "Correct that record instead of adding another.",
                    slug="duplicate-dose", title="Dose already recorded",
                    errors={"dose_code": [f"{existing.dose_code} is already recorded for this child"]},
                    extra={"dose_code": existing.dose_code, "server": _server_copy(existing)})


def _check_values(values: dict, child: Child) -> None:
    errors: dict[str, list[str]] = {}
    if values["given_on"] < child.birth_date:
        errors["given_on"] = ["must not be before the child's birth date"]
    if values.get("given_by_user_id") is not None and db.session.get(User, values["given_by_user_id"]) is None:
        errors["given_by_user_id"] = ["no such user"]
    if errors:
        raise InvalidInput("Some fields are invalid: " + ", ".join(sorted(errors)), errors=errors)


def _live_same_dose(child_id, dose_code, exclude_id=None) -> Immunization | None:
    query = sa.select(Immunization).where(I.child_id == child_id, I.dose_code == dose_code,
                                          I.deleted_at.is_(None))
    if exclude_id is not None:
        query = query.where(I.id != exclude_id)
    return db.session.execute(query).scalars().first()


def _series(code: str) -> str:
    return default_schedule().by_code[code].series


def _flush_unique(row: Immunization) -> None:
    """Flush in a SAVEPOINT so a concurrent duplicate (unique index) becomes a 409."""
    savepoint = db.session.begin_nested()
    try:
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        existing = _live_same_dose(row.child_id, row.dose_code, exclude_id=row.id)
        if existing is not None:
            raise _duplicate(existing) from None
        raise
    savepoint.commit()


# ---------------------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------------------
@replay_when_taken
def record_immunization(scope, data: dict):
    _require_writer(scope)
    iid, child_id = data["id"], data["child_id"]
    child = load_child(scope, child_id, field="child_id")
    existing = db.session.get(Immunization, iid)
    if existing is not None:
        if existing.deleted_at is None and existing.child_id == child_id and _entered(existing) == _entered(data):
            return existing, False, row_warnings(existing)
        if existing.child_id != child_id and not _visible(scope, iid):
            # another area's row: say the id is taken, show nothing of it
            raise Conflict("This id is already used by another record; generate a new id.")
        raise _conflict(existing, "An immunization with this id exists with different values"
                        if existing.deleted_at is None else "This immunization was deleted")
    values = _entered(data)
    _check_values(values, child)
    duplicate = _live_same_dose(child_id, values["dose_code"])
    if duplicate is not None:
        if duplicate.id == iid:
            # this very record, committed by a concurrent request after the id lookup above:
            # replayed, it answers as a retry (200), not as another dose of the same kind (409)
            raise KeyTaken()
        raise _duplicate(duplicate)
    now = utcnow()
    row = Immunization(id=iid, child_id=child_id, posyandu_id=child.posyandu_id, version=1,
                       vaccine_code=_series(values["dose_code"]), is_valid=True,
                       client_updated_at=data.get("client_updated_at"), created_by_id=scope.user_id,
                       updated_by_id=scope.user_id, created_at=now, updated_at=now, **values)
    with new_rows(db.session):  # the same id or dose committed meanwhile: replayed as a retry
        db.session.add(row)
    revalidate_child(child_id, exclude_from_changes={row.id})
    audit("create", "immunization", row.id,
          changes=field_diff({}, {k: v for k, v in values.items() if v is not None}),
          posyandu_id=child.posyandu_id, child_id=child_id)
    record_change(db.session, entity="immunization", entity_id=row.id, posyandu_id=row.posyandu_id,
                  child_id=child_id)
    db.session.flush()
    return row, True, row_warnings(row)


# ---------------------------------------------------------------------------------------
# read
# ---------------------------------------------------------------------------------------
def _visible(scope, immunization_id) -> bool:
    try:
        get_immunization(scope, immunization_id)
    except NotFound:
        return False
    return True


def get_immunization(scope, immunization_id) -> Immunization:
    """A dose of a child in scope (the child's current posyandu decides, as for measurements).
    Parents: their children's live doses only."""
    query = sa.select(Immunization).join(Child, Child.id == I.child_id).where(I.id == immunization_id)
    if scope.is_parent:
        query = query.where(scope.child_clause(), I.deleted_at.is_(None))
    else:
        query = query.where(scope.child_clause())
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound("No such immunization.")
    return row


def child_immunizations(scope, child_id) -> list[Immunization]:
    load_child(scope, child_id)
    return db.session.execute(sa.select(Immunization).where(I.child_id == child_id, I.deleted_at.is_(None))
                              .order_by(I.given_on, I.dose_code)).scalars().all()


def _load_for_write(scope, immunization_id) -> Immunization:
    """The row to edit or delete, locked and read fresh (see measurements.operations._load_for_write)."""
    row = db.session.execute(sa.select(Immunization).join(Child, Child.id == I.child_id)
                             .where(I.id == immunization_id, scope.child_clause())
                             .with_for_update(of=Immunization.__table__)
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        raise NotFound("No such immunization.")
    return row


def _check_version(row: Immunization, base_version) -> None:
    if base_version is not None and base_version != row.version:
        raise _conflict(row, f"The immunization changed on the server (version {row.version}, you edited "
                             f"version {base_version})")


# ---------------------------------------------------------------------------------------
# update / delete
# ---------------------------------------------------------------------------------------
def update_immunization(scope, immunization_id, data: dict, base_version=None):
    _require_writer(scope)
    row = _load_for_write(scope, immunization_id)
    if row.deleted_at is not None:
        raise _conflict(row, "This immunization was deleted")
    _check_version(row, base_version)
    before = _entered(row)
    after = dict(before)
    after.update({k: v for k, v in data.items() if k in ENTERED_FIELDS})
    if after == before:
        return row, row_warnings(row)
    child = db.session.get(Child, row.child_id)
    _check_values(after, child)
    if after["dose_code"] != before["dose_code"]:
        duplicate = _live_same_dose(row.child_id, after["dose_code"], exclude_id=row.id)
        if duplicate is not None:
            raise _duplicate(duplicate)
        row.vaccine_code = _series(after["dose_code"])
    for key, value in after.items():
        setattr(row, key, value)
    row.version += 1
    row.updated_by_id = scope.user_id
    row.updated_at = utcnow()
    if "client_updated_at" in data:
        row.client_updated_at = data["client_updated_at"]
    _flush_unique(row)
    revalidate_child(row.child_id, exclude_from_changes={row.id})
    audit("update", "immunization", row.id, changes=field_diff(before, after), posyandu_id=child.posyandu_id,
          child_id=row.child_id)
    record_change(db.session, entity="immunization", entity_id=row.id, posyandu_id=child.posyandu_id,
                  child_id=row.child_id)
    db.session.flush()
    return row, row_warnings(row)


def delete_immunization(scope, immunization_id, base_version=None) -> Immunization:
    _require_writer(scope)
    row = _load_for_write(scope, immunization_id)
    if row.deleted_at is not None:
        return row
    _check_version(row, base_version)
    row.deleted_at = utcnow()
    row.version += 1
    row.updated_by_id = scope.user_id
    db.session.flush()
    revalidate_child(row.child_id)
    posyandu_id = db.session.get(Child, row.child_id).posyandu_id
    audit("delete", "immunization", row.id, changes={"deleted_at": [None, row.deleted_at.isoformat()]},
          posyandu_id=posyandu_id, child_id=row.child_id)
    record_change(db.session, entity="immunization", entity_id=row.id, posyandu_id=posyandu_id,
                  child_id=row.child_id, op="delete")
    db.session.flush()
    return row


# ---------------------------------------------------------------------------------------
# output shaping (plain dicts for the schemas)
# ---------------------------------------------------------------------------------------
def _names(code: str) -> dict:
    dose = default_schedule().by_code.get(code)
    return {"id": dose.name("id"), "en": dose.name("en")} if dose else {"id": code, "en": code}


def immunization_data(row: Immunization) -> dict:
    dose = default_schedule().by_code.get(row.dose_code)
    data = {c: getattr(row, c) for c in (
        "id", "child_id", "posyandu_id", "dose_code", "vaccine_code", "given_on", "lot_number", "place",
        "place_name", "given_by_user_id", "given_by_name", "is_valid", "invalid_reason", "version", "deleted_at",
        "client_updated_at", "created_by_id", "updated_by_id", "created_at", "updated_at")}
    data["names"] = _names(row.dose_code)
    data["program"] = dose.program if dose else None
    data["invalid_reasons"] = [r for r in (row.invalid_reason or "").split(",") if r]
    data["warnings"] = list(row.warnings or [])
    return data


def dose_due_data(result) -> dict:
    return {"code": result.code, "names": _names(result.code), "status": result.status.value,
            "earliest_date": result.earliest_date, "recommended_date": result.recommended_date,
            "overdue_date": result.overdue_date, "latest_date": result.latest_date}


def _completeness_dict(c) -> dict:
    return {"definition": c.definition, "status": c.status.value, "deadline": c.deadline,
            "required": list(c.required), "missing": list(c.missing), "late": list(c.late),
            "excluded": list(c.excluded), "completed_on": c.completed_on}


def _administration(adm, ids: dict) -> dict:
    return {"immunization_id": ids.get(adm.recorded_code), "recorded_code": adm.recorded_code,
            "given_on": adm.given_on, "valid": adm.valid, "invalid_reasons": _reasons(adm),
            "warnings": [w.value for w in adm.warnings]}


def schedule_dict(child_id, birth_date, schedule, ids: dict, region_source: str | None) -> dict:
    doses = []
    for result in schedule.doses:
        system, code = schedule.fhir_status(result.code)
        d = result.dose
        doses.append({
            "code": d.code, "series": d.series, "dose_number": d.dose_number, "program": d.program,
            "names": {"id": d.name("id"), "en": d.name("en")}, "status": result.status.value,
            "reason": result.reason, "fhir_status": {"system": system, "code": code},
            "given_on": result.given_on, "next_date": result.next_date, "earliest_date": result.earliest_date,
            "recommended_date": result.recommended_date, "overdue_date": result.overdue_date,
            "latest_date": result.latest_date,
            "administrations": [_administration(a, ids) for a in result.administrations]})
    return {"child_id": child_id, "birth_date": birth_date, "evaluated_on": schedule.today,
            "schedule_version": schedule_version(), "region": _region_dict(schedule.region, region_source),
            "doses": doses, "idl": _completeness_dict(schedule.idl),
            "idl_2017": _completeness_dict(schedule.idl_2017), "ibl": _completeness_dict(schedule.ibl),
            "extra_doses": [_administration(a, ids) for a in schedule.extra_doses]}


# ---------------------------------------------------------------------------------------
# schedule of one child
# ---------------------------------------------------------------------------------------
def child_schedule(scope, child_id, on: date | None = None) -> dict:
    child = load_child(scope, child_id)
    posyandu = db.session.get(Posyandu, child.posyandu_id)
    rows = db.session.execute(sa.select(I.id, I.dose_code, I.given_on)
                              .where(I.child_id == child_id, I.deleted_at.is_(None))).all()
    has_row = db.session.get(ImmunizationRegionSetting, posyandu.kabupaten_code) is not None
    region = region_settings_for([posyandu.kabupaten_code])[posyandu.kabupaten_code]
    on = on or _local_today(posyandu.timezone)
    schedule = evaluate_child(child.birth_date, [(r.dose_code, r.given_on) for r in rows], on, region)
    return schedule_dict(child.id, child.birth_date, schedule, {r.dose_code: r.id for r in rows},
                         "kabupaten" if has_row else "national")


def doses_due_for_child(child, posyandu, on: date) -> list:
    """DoseResults due or overdue for one child on ``on`` (two queries)."""
    rows = db.session.execute(sa.select(I.dose_code, I.given_on)
                              .where(I.child_id == child.id, I.deleted_at.is_(None))).all()
    region = region_settings_for([posyandu.kabupaten_code])[posyandu.kabupaten_code]
    schedule = evaluate_child(child.birth_date, [tuple(r) for r in rows], on, region)
    return list(schedule.with_status(DoseStatus.DUE, DoseStatus.OVERDUE))


# ---------------------------------------------------------------------------------------
# set-wise evaluation
# ---------------------------------------------------------------------------------------
_CHILD_COLUMNS = (Child.id, Child.name, Child.sex, Child.birth_date, Child.posyandu_id,
                  Posyandu.name.label("posyandu_name"), Posyandu.kabupaten_code, Posyandu.timezone)


def doses_by_child(child_ids) -> dict:
    """``{child_id: [(dose_code, given_on), ...]}`` of live doses, one query."""
    out: dict = {cid: [] for cid in child_ids}
    if not child_ids:
        return out
    rows = db.session.execute(sa.select(I.child_id, I.dose_code, I.given_on)
                              .where(I.child_id.in_(list(child_ids)), I.deleted_at.is_(None))).all()
    for r in rows:
        out[r.child_id].append((r.dose_code, r.given_on))
    return out


def _age_months(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if add_months(birth, months) > on:
        months -= 1
    return months


def _child_brief(c, on: date) -> dict:
    return {"id": c.id, "name": c.name, "sex": c.sex, "birth_date": c.birth_date, "posyandu_id": c.posyandu_id,
            "posyandu_name": c.posyandu_name, "age_months": _age_months(c.birth_date, on)}


def evaluate_children(children, on_for, settings: dict):
    """Yield ``(child_row, on, ChildSchedule)`` for children under five on their ``on`` date.

    ``children``: rows with ``id``, ``birth_date``, ``kabupaten_code``, ``timezone``;
    ``on_for(child_row) -> date``; ``settings``: ``region_settings_for`` output. Doses are
    loaded in one query for all of them."""
    children = list(children)
    doses = doses_by_child([c.id for c in children])
    for c in children:
        on = on_for(c)
        if add_months(c.birth_date, UNDER_FIVE_MONTHS) <= on or c.birth_date > on:
            continue
        yield c, on, evaluate_child(c.birth_date, doses[c.id], on, settings[c.kabupaten_code])


def expected_at_session(posyandu: Posyandu, on: date) -> dict:
    """Active children of the posyandu under 60 months on ``on`` and their due/overdue doses
    then (one query for the children, one for their doses)."""
    children = db.session.execute(
        sa.select(*_CHILD_COLUMNS).join(Posyandu, Posyandu.id == Child.posyandu_id)
        .where(Child.posyandu_id == posyandu.id, Child.status == "active",
               Child.birth_date > add_months(on, -UNDER_FIVE_MONTHS), Child.birth_date <= on)
        .order_by(Child.birth_date, Child.name, Child.id)).all()
    settings = region_settings_for([posyandu.kabupaten_code])
    items, needed = [], {}
    for c, day, schedule in evaluate_children(children, lambda c: on, settings):
        due = schedule.with_status(DoseStatus.DUE, DoseStatus.OVERDUE)
        for result in due:
            needed[result.code] = needed.get(result.code, 0) + 1
        items.append({"child": _child_brief(c, day), "doses": [dose_due_data(r) for r in due],
                      "vaccines_id": join_vaccine_names([r.code for r in due])})
    order = {d.code: d.index for d in default_schedule().doses}
    return {"children": items, "doses_needed": dict(sorted(needed.items(), key=lambda kv: order[kv[0]]))}


# ---------------------------------------------------------------------------------------
# overdue and dropout lists (cursor pages)
# ---------------------------------------------------------------------------------------
def _encode_cursor(c) -> str:
    raw = json.dumps([c.posyandu_id, c.birth_date.isoformat(), str(c.id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        pid, birth, cid = json.loads(raw)
        return int(pid), date.fromisoformat(birth), uuid.UUID(cid)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("Invalid cursor", errors={"cursor": ["not a cursor returned by this endpoint"]}) from None


def _children_pages(scope, posyandu_id, on, cursor, extra_where=()):
    """Batches of active children in scope (ordered by posyandu, birth date, id) from the cursor."""
    if posyandu_id is not None and not scope.covers_posyandu(posyandu_id):
        raise NotFound("No such posyandu.")
    # under five at the latest possible 'today' (UTC+9) minus a day of slack; exact check in Python
    latest = on or (utcnow() + timedelta(hours=9)).date()
    query = (sa.select(*_CHILD_COLUMNS).join(Posyandu, Posyandu.id == Child.posyandu_id)
             .where(scope.child_clause(), Child.status == "active",
                    Child.birth_date > add_months(latest, -UNDER_FIVE_MONTHS) - timedelta(days=1), *extra_where))
    if posyandu_id is not None:
        query = query.where(Child.posyandu_id == posyandu_id)
    after = _decode_cursor(cursor) if cursor else None
    while True:
        q = query
        if after is not None:
            pid, birth, cid = after
            q = q.where(sa.or_(Child.posyandu_id > pid,
                               sa.and_(Child.posyandu_id == pid, Child.birth_date > birth),
                               sa.and_(Child.posyandu_id == pid, Child.birth_date == birth, Child.id > cid)))
        batch = db.session.execute(q.order_by(Child.posyandu_id, Child.birth_date, Child.id).limit(_BATCH)).all()
        if not batch:
            return
        yield batch
        if len(batch) < _BATCH:
            return
        last = batch[-1]
        after = (last.posyandu_id, last.birth_date, last.id)


def _paged(scope, posyandu_id, on, cursor, limit, match, extra_where=()):
    """Run ``match(child, on, schedule) -> item | None`` over the children in order and cut a
    page of ``limit`` items; returns ``(items, next_cursor)``."""
    zones: dict[str, date] = {}

    def on_for(c):
        if on is not None:
            return on
        if c.timezone not in zones:
            zones[c.timezone] = _local_today(c.timezone)
        return zones[c.timezone]

    items, last_child = [], None
    for batch in _children_pages(scope, posyandu_id, on, cursor, extra_where):
        settings = region_settings_for([c.kabupaten_code for c in batch])
        for c, day, schedule in evaluate_children(batch, on_for, settings):
            item = match(c, day, schedule)
            if item is None:
                continue
            if len(items) == limit:
                return items, _encode_cursor(last_child)
            items.append(item)
            last_child = c
    return items, None


def overdue_list(scope, *, posyandu_id=None, dose=None, on=None, cursor=None, limit=50):
    """Children in scope with overdue doses (optionally only ``dose``)."""
    if scope.is_parent:
        raise Forbidden("Parents cannot list other children.")

    def match(c, day, schedule):
        results = [schedule.dose(dose)] if dose else schedule.doses
        overdue = [r for r in results if r.status is DoseStatus.OVERDUE]
        if not overdue:
            return None
        return {"child": _child_brief(c, day), "doses": [dose_due_data(r) for r in overdue]}

    return _paged(scope, posyandu_id, on, cursor, limit, match)


def _indicator_data(indicator) -> dict:
    from ..i18n import pick
    return {"code": indicator.code, "from_dose": indicator.from_dose, "to_dose": indicator.to_dose,
            "label": pick(indicator.label_id, indicator.label_en), "label_id": indicator.label_id,
            "label_en": indicator.label_en, "source": indicator.source}


def dropout_indicators() -> list[dict]:
    """The named dropout indicators (data/dropout-indicators-id.json), labels in the caller's language."""
    return [_indicator_data(i) for i in dropouts.indicators().values()]


def dropout_indicator(code: str | None, from_dose: str | None, to_dose: str | None) -> dict:
    """The indicator a dropout list is for: a named one (by code, or by its two doses), or an
    ad-hoc pair of the same series (no code; labelled with the dose names)."""
    indicator = dropouts.indicators()[code] if code else dropouts.named_pair(from_dose, to_dose)
    if indicator is not None:
        return _indicator_data(indicator)
    from ..i18n import pick
    label_id = f"Drop out {dose_name(from_dose, 'id')} – {dose_name(to_dose, 'id')}"
    label_en = f"Dropout {dose_name(from_dose, 'en')} to {dose_name(to_dose, 'en')}"
    return {"code": None, "from_dose": from_dose, "to_dose": to_dose, "label": pick(label_id, label_en),
            "label_id": label_id, "label_en": label_en, "source": None}


def dropout_list(scope, *, from_dose: str, to_dose: str, posyandu_id=None, on=None, include_upcoming=False,
                 cursor=None, limit=50):
    """Children in scope with a valid ``from_dose`` but no valid ``to_dose`` (e.g. DPTHBHIB1 →
    DPTHBHIB3, DPTHBHIB1 → MR1, MR1 → MR2; the pair is checked by the caller, see
    ``core.schedule.dropouts``). By default only children who have reached the later dose's
    recommended AGE (birth + recommended age; a dose a child is not old enough for is no
    dropout); ``include_upcoming`` lists the younger ones too. Children for whom the later dose
    is not applicable (cohort, region, PCV rules) are never listed."""
    if scope.is_parent:
        raise Forbidden("Parents cannot list other children.")
    sch = default_schedule()
    later_index = sch.by_code[to_dose].index
    series_codes = [d.code for d in sch.series[_series(from_dose)]]
    has_series_dose = sa.exists().where(I.child_id == Child.id, I.deleted_at.is_(None),
                                        I.dose_code.in_(series_codes))

    def match(c, day, schedule):
        first, later = schedule.dose(from_dose), schedule.dose(to_dose)
        if first.status is not DoseStatus.GIVEN or later.status in (DoseStatus.GIVEN, DoseStatus.NOT_APPLICABLE):
            return None
        if not include_upcoming and sch.static_dates(c.birth_date)[later_index].rec_date > day:
            return None
        return {"child": _child_brief(c, day), "from_given_on": first.given_on, "to_dose": dose_due_data(later)}

    return _paged(scope, posyandu_id, on, cursor, limit, match, extra_where=(has_series_dose,))
