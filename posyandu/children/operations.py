"""Child registry use cases, shared by the REST routes and ``/sync/push``.

Every function loads through the caller's ``scope`` (out of scope → ``NotFound``), flushes and
never commits, writes the audit trail (identifiers only as "changed"), records sync changes and
increments ``version`` on every update. ``data`` is what :class:`ChildCreateSchema` /
:class:`ChildUpdateSchema` ``.load()`` return (``sync_adapter`` loads raw phone records first).

Signatures::

    create_child(scope, data) -> (child, warnings, created: bool)
        data["id"] is the client UUID. Same UUID + same content again → (existing, warnings, False)
        and nothing is written; same UUID + other content → Conflict(extra={"server": {...}}).
    update_child(scope, child_id, data, base_version=None) -> (child, warnings)
        Partial update. base_version given and ≠ current → Conflict(extra={"server": {...}}),
        unless the edit is already applied (a retried request: nothing changes, no conflict).
    move_child(scope, child_id, posyandu_id, *, reason=None, moved_on=None, desa_code=None) -> child
    close_child(scope, child_id, reason, closed_on=None) -> child
    reopen_child(scope, child_id) -> child
    merge_children(scope, keep_id, duplicate_id) -> child          (puskesmas, dinkes, admin)
    load_child(scope, child_id, *, for_update=False) -> child
    list_children(scope, filters) -> (children, next_cursor)
    search_children(scope, **criteria) -> [child with ._score]
    find_duplicates(scope, child_id) -> [candidate dicts]
    reveal_identifiers(scope, child) -> {"nik", "mother_nik", "kk_number"}   (audited)
    same_content(child, data) -> bool

``warnings`` is a list of ``{"code", "field", "message", ...}``; see ``ChildWriteSchema``.
Errors: ``InvalidInput`` (422, ``errors={field: [...]}``), ``NotFound`` (404), ``Conflict`` (409),
``Forbidden`` (403, role may not do this).

Access decisions (docs/children.md):
- writes: admin, dinkes, puskesmas, kader within their scope; parents are read-only (403).
- move: the child must be in scope; the target posyandu must be in scope too, except that
  puskesmas staff may hand a child over to any active posyandu **of their own kabupaten** (the
  family moved to the next kecamatan; the child keeps its history instead of being registered
  twice). After the hand-over the child is out of their scope. Moves across kabupaten: dinkes of
  the source cannot (404), admin can; otherwise close with ``moved_away`` and register anew.
- merge: puskesmas, dinkes, admin (kader 403), both records in scope.
- reveal of identifiers in clear: puskesmas, dinkes, admin (kader and parents 403), audited as
  ``reveal_identifiers`` without the values.
"""
from __future__ import annotations

import base64
import calendar
import json
import logging
import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..audit.log import audit, field_diff
from ..auth.phones import InvalidPhone, normalise_phone
from ..auth.scope import SUPERVISOR_ROLES
from ..concurrent_writes import lock_children, new_rows, replay_when_taken
from ..db import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..measurements.models import Measurement
from ..regions.models import Posyandu, Puskesmas, Region
from ..sync.changes import record_change
from . import crypto, duplicates, registration
from .models import Child, ChildGuardian, ChildTransfer
from .names import name_key
from .nik import child_nik_warnings, clean_number, kk_errors, mother_nik_warnings, nik_errors

log = logging.getLogger(__name__)

#: Plain columns copied from the loaded data.
_PLAIN_FIELDS = ("name", "sex", "birth_date", "birth_weight_kg", "birth_length_cm", "birth_order",
                 "mother_name", "father_name", "address", "rt", "rw", "desa_code", "has_kia_book",
                 "client_updated_at")
#: identifier input field → column prefix on Child.
_IDENTIFIERS = {"nik": "nik", "mother_nik": "mother_nik", "kk_number": "kk"}
_AUDITED = ("posyandu_id", "name", "sex", "birth_date", "birth_weight_kg", "birth_length_cm", "birth_order",
            "mother_name", "father_name", "address", "rt", "rw", "desa_code", "has_kia_book", "status",
            "closed_reason", "closed_on", "merged_into_id")
#: Fields a merge copies from the duplicate when the kept record has none.
_MERGE_FILL = ("birth_weight_kg", "birth_length_cm", "birth_order", "mother_name", "mother_name_key",
               "father_name", "address", "rt", "rw", "has_kia_book",
               "nik_encrypted", "nik_hmac", "nik_masked", "mother_nik_encrypted", "mother_nik_hmac",
               "mother_nik_masked", "kk_encrypted", "kk_hmac", "kk_masked")
_IGNORED_FOR_CONTENT = ("id", "base_version", "client_updated_at")


# --------------------------------------------------------------------------- helpers

def _require_writer(scope) -> None:
    if not scope.can_write_children:
        raise Forbidden("Your role may not change children.")


def _invalid(errors: dict) -> InvalidInput:
    return InvalidInput("Some fields are invalid: " + ", ".join(sorted(errors)), errors=errors)


def _snapshot(child: Child) -> dict:
    """Audit view of a child: identifiers by HMAC under sensitive keys (field_diff shows ***)."""
    data = {name: getattr(child, name) for name in _AUDITED}
    data["nik"] = child.nik_hmac
    data["mother_nik"] = child.mother_nik_hmac
    data["kk_number"] = child.kk_hmac
    data["guardians"] = sorted(f"{g.relationship_kind}:{g.phone}" for g in child.guardians)
    return data


def server_copy(child: Child) -> dict:
    from .schemas import ChildSchema
    return ChildSchema().dump(child)


def _pad(value: str | None) -> str | None:
    return value.zfill(3) if value else value


def _strip(value):
    if isinstance(value, str):
        value = " ".join(value.split())
        return value or None
    return value


def _as_uuid(value, field: str = "id") -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        raise NotFound("Child not found.", errors={field: ["Not a valid child id."]})


def load_child(scope, child_id, *, for_update: bool = False) -> Child:
    child_id = _as_uuid(child_id)
    query = sa.select(Child).where(Child.id == child_id, scope.child_clause())
    if for_update:  # locked and read fresh: base_version is checked against the latest commit;
        # the child's write lock first (concurrent_writes.lock_children: its growth records are
        # recomputed from what is read next), then the row
        lock_children(db.session, [child_id])
        query = query.with_for_update().execution_options(populate_existing=True)
    child = db.session.scalars(query).first()
    if child is None:
        raise NotFound("Child not found.")
    return child


def _posyandu_in_scope(scope, posyandu_id: int, field: str = "posyandu_id") -> Posyandu:
    posyandu = db.session.get(Posyandu, posyandu_id)
    if posyandu is None or not posyandu.is_active or not scope.covers_posyandu(posyandu_id):
        raise NotFound("Posyandu not found.", errors={field: ["No such posyandu in your area."]})
    return posyandu


def _normalise(data: dict, *, birth_date_now: date | None = None) -> tuple[dict, dict, list | None]:
    """Validate and normalise loaded data.

    Returns (column values, identifiers {field: cleaned digits or None}, guardians or None).
    Raises InvalidInput naming every bad field; nothing is changed before this has passed.
    """
    errors: dict[str, list[str]] = {}
    values = {}
    for name in _PLAIN_FIELDS:
        if name in data:
            values[name] = _strip(data[name]) if name in ("name", "mother_name", "father_name", "address") \
                else data[name]
    if "name" in data and not values.get("name"):
        errors["name"] = ["A name is required."]
    for name in ("sex", "birth_date"):
        if name in data and data[name] is None:
            errors[name] = ["Field may not be null."]
    if values.get("birth_date") and values["birth_date"] > registration.latest_today():
        errors["birth_date"] = ["The birth date cannot be in the future."]
    for name in ("rt", "rw"):
        if name in values:
            values[name] = _pad(values[name])
    if values.get("desa_code"):
        region = db.session.get(Region, values["desa_code"])
        if region is None or region.level != "desa":
            errors["desa_code"] = ["Unknown desa code."]
    identifiers = {}
    for field in _IDENTIFIERS:
        if field not in data:
            continue
        cleaned = clean_number(data[field])
        if cleaned is not None:
            problems = kk_errors(cleaned) if field == "kk_number" else nik_errors(cleaned)
            if problems:
                errors[field] = problems
        identifiers[field] = cleaned
    guardians = None
    if "guardians" in data and data["guardians"] is not None:
        guardians = []
        seen = set()
        for i, item in enumerate(data["guardians"]):
            try:
                phone = normalise_phone(item["phone"])
            except InvalidPhone:
                errors[f"guardians.{i}.phone"] = ["Not a valid phone number (e.g. 0812-3456-7890)."]
                continue
            if phone not in seen:
                seen.add(phone)
                guardians.append((phone, item.get("relationship") or "mother"))
    if errors:
        raise _invalid(errors)
    return values, identifiers, guardians


def _check_birth_date(birth_date, registered_on) -> None:
    """The posyandu age rule (``registration.py``): 422 naming ``birth_date``."""
    problems = registration.birth_date_errors(birth_date, registered_on)
    if problems:
        raise _invalid({"birth_date": problems})


def _apply(child: Child, values: dict, identifiers: dict) -> None:
    for name, value in values.items():
        setattr(child, name, value)
    if "name" in values:
        child.name_key = name_key(child.name)
    if "mother_name" in values:
        child.mother_name_key = name_key(child.mother_name) or None
    for field, prefix in _IDENTIFIERS.items():
        if field in identifiers:
            encrypted, digest, masked = crypto.protect(identifiers[field])
            if digest != getattr(child, f"{prefix}_hmac"):
                setattr(child, f"{prefix}_encrypted", encrypted)
                setattr(child, f"{prefix}_hmac", digest)
                setattr(child, f"{prefix}_masked", masked)


def _parent_user_ids(phones) -> dict[str, int]:
    from ..auth.models import User
    if not phones:
        return {}
    rows = db.session.execute(sa.select(User.phone, User.id).where(User.phone.in_(list(phones)),
                                                                   User.role == "parent")).all()
    return {phone: user_id for phone, user_id in rows}


def _set_guardians(child: Child, guardians: list[tuple[str, str]]) -> None:
    """Replace the guardian list, keeping existing rows (and their account links) for kept phones."""
    wanted = dict(guardians)
    current = {g.phone: g for g in child.guardians}
    for phone, row in current.items():
        if phone not in wanted:
            child.guardians.remove(row)
    users = _parent_user_ids(wanted)
    for phone, relationship in wanted.items():
        row = current.get(phone)
        if row is None:
            child.guardians.append(ChildGuardian(phone=phone, relationship_kind=relationship,
                                                 user_id=users.get(phone)))
        else:
            row.relationship_kind = relationship
            if row.user_id is None and phone in users:
                row.user_id = users[phone]


def _warnings(scope, child: Child, *, nik: str | None, mother_nik: str | None) -> list[dict]:
    """Consistency warnings for the stored child. ``nik``/``mother_nik``: clear values when known
    (just entered); otherwise decrypted from the row."""
    warnings = []
    if nik is None and child.nik_encrypted:
        nik = crypto.decrypt(child.nik_encrypted)
    if mother_nik is None and child.mother_nik_encrypted:
        mother_nik = crypto.decrypt(child.mother_nik_encrypted)
    if nik:
        warnings += child_nik_warnings(nik, birth_date=child.birth_date, sex=child.sex, desa_code=child.desa_code)
    if mother_nik:
        warnings += mother_nik_warnings(mother_nik)
    if not nik and not mother_nik:
        warnings.append({"code": "missing_identifier", "field": "mother_nik",
                         "message": "Neither the child's NIK nor the mother's NIK is recorded. A child "
                                    "without a NIK is identified by the mother's NIK (e-PPGBM, SATUSEHAT "
                                    "nik-ibu); add it when the family card is at hand."})
    same_nik = duplicates.same_nik_candidates(scope, child)
    if same_nik:
        warnings.append({"code": "nik_already_registered", "field": "nik",
                         "message": "Another active child in your area has this NIK.",
                         "candidates": same_nik})
    if child.status == "active":
        candidates = duplicates.duplicate_candidates(scope, child)
        if candidates:
            warnings.append({"code": "possible_duplicate", "field": None,
                             "message": "This child may already be registered (similar name, birth date "
                                        "and mother's name in the same desa). Ask puskesmas staff to "
                                        "merge the records if so.",
                             "candidates": candidates})
    return warnings


def _changes_relative_to(child: Child, values: dict, identifiers: dict, guardians) -> bool:
    """Would applying these normalised values change the stored child?"""
    for name, value in values.items():
        if name == "client_updated_at":
            continue
        if getattr(child, name) != value:
            return True
    for field, prefix in _IDENTIFIERS.items():
        if field in identifiers:
            wanted = crypto.lookup_hmac(identifiers[field]) if identifiers[field] else None
            if wanted != getattr(child, f"{prefix}_hmac"):
                return True
    if guardians is not None:
        current = {(g.phone, g.relationship_kind) for g in child.guardians}
        if current != set(guardians):
            return True
    return False


def same_content(child: Child, data: dict) -> bool:
    """True when ``data`` (loaded) describes exactly what is stored (a retried request)."""
    try:
        values, identifiers, guardians = _normalise({k: v for k, v in data.items()
                                                     if k not in _IGNORED_FOR_CONTENT and k != "posyandu_id"})
    except InvalidInput:
        return False
    if "posyandu_id" in data and data["posyandu_id"] != child.posyandu_id:
        return False
    return not _changes_relative_to(child, values, identifiers, guardians)


def _record_child_change(child: Child, posyandu_id: int | None = None, op: str = "upsert") -> None:
    record_change(db.session, entity="child", entity_id=child.id, posyandu_id=posyandu_id or child.posyandu_id,
                  child_id=child.id, op=op)


def _touch(child: Child, scope) -> None:
    child.version = (child.version or 1) + 1
    child.updated_by_id = scope.user_id
    child.updated_at = utcnow()


# --------------------------------------------------------------------------- create / update

@replay_when_taken
def create_child(scope, data: dict) -> tuple[Child, list[dict], bool]:
    _require_writer(scope)
    child_id = data["id"]
    existing = db.session.get(Child, child_id)
    if existing is not None:
        return _replay_create(scope, existing, data)
    posyandu = _posyandu_in_scope(scope, data["posyandu_id"])
    values, identifiers, guardians = _normalise(data)
    _check_birth_date(values.get("birth_date"), registration.registration_day(data.get("client_updated_at")))
    child = Child(id=child_id, posyandu_id=posyandu.id, status="active", version=1,
                  created_by_id=scope.user_id, updated_by_id=scope.user_id)
    _apply(child, values, identifiers)
    if not child.desa_code:
        child.desa_code = posyandu.desa_code
    with new_rows(db.session):  # the same id committed meanwhile: replayed as a retry
        db.session.add(child)
        if guardians:
            _set_guardians(child, guardians)
    audit("create", "child", child.id, changes=field_diff({}, _snapshot(child)),
          posyandu_id=child.posyandu_id, child_id=child.id)
    _record_child_change(child)
    warnings = _warnings(scope, child, nik=identifiers.get("nik"), mother_nik=identifiers.get("mother_nik"))
    return child, warnings, True


def _replay_create(scope, existing: Child, data: dict) -> tuple[Child, list[dict], bool]:
    visible = db.session.scalars(sa.select(Child).where(Child.id == existing.id, scope.child_clause())).first()
    if visible is None:
        raise Conflict("This id is already used by another record.", errors={"id": ["Already used."]})
    if not same_content(visible, data):
        raise Conflict("A child with this id already exists with other content.",
                       errors={"id": ["Already used with other content."]},
                       extra={"server": server_copy(visible)})
    return visible, _warnings(scope, visible, nik=None, mother_nik=None), False


def update_child(scope, child_id, data: dict, base_version: int | None = None) -> tuple[Child, list[dict]]:
    _require_writer(scope)
    child = load_child(scope, child_id, for_update=True)
    errors = {}
    if data.get("id") is not None and str(data["id"]) != str(child.id):
        errors["id"] = ["Does not match the child being updated."]
    if data.get("posyandu_id") is not None and data["posyandu_id"] != child.posyandu_id:
        errors["posyandu_id"] = ["Use POST /children/{id}/move to change the posyandu."]
    if errors:
        raise _invalid(errors)
    fields = {k: v for k, v in data.items() if k not in ("id", "posyandu_id", "base_version")}
    values, identifiers, guardians = _normalise(fields)
    if "desa_code" in values and not values["desa_code"]:
        # null: back to the default a new child gets, the posyandu's desa (the column is NOT NULL)
        values["desa_code"] = db.session.get(Posyandu, child.posyandu_id).desa_code
    if "birth_date" in values and values["birth_date"] != child.birth_date:
        # a correction: the child must have been under five on the day it was registered
        _check_birth_date(values["birth_date"], min(registration.latest_today(), child.created_at.date()))
    if not _changes_relative_to(child, values, identifiers, guardians):
        return child, _warnings(scope, child, nik=None, mother_nik=None)  # already so: a retried edit
    if base_version is not None and base_version != child.version:
        raise Conflict(f"The child changed on the server (version {child.version}, you edited "
                       f"version {base_version}). Nothing was overwritten.",
                       errors={"base_version": [f"Stale: the current version is {child.version}."]},
                       extra={"server": server_copy(child)})
    if child.merged_into_id is not None:
        raise Conflict("This record was merged into another one; edit that one.",
                       extra={"server": server_copy(child)})
    before = _snapshot(child)
    _apply(child, values, identifiers)
    if guardians is not None:
        _set_guardians(child, guardians)
    _touch(child, scope)
    db.session.flush()
    changes = field_diff(before, _snapshot(child))
    audit("update", "child", child.id, changes=changes, posyandu_id=child.posyandu_id, child_id=child.id)
    _record_child_change(child)
    if "birth_date" in changes or "sex" in changes:
        # every stored z-score, category and trend status depends on age and sex, dose
        # validity on age: recompute them all for this child now
        _refresh_dependent_records(child, growth="all")
    elif "has_kia_book" in changes:
        _refresh_report_summary([child.id])
    return child, _warnings(scope, child, nik=identifiers.get("nik"), mother_nik=identifiers.get("mother_nik"))


# --------------------------------------------------------------------------- move / close / reopen

def _child_record_ids(child_id) -> list[tuple[str, uuid.UUID]]:
    """(entity, id) of the synced records that belong to a child (not soft-deleted)."""
    records = [("measurement", mid) for mid in db.session.scalars(
        sa.select(Measurement.id).where(Measurement.child_id == child_id, Measurement.deleted_at.is_(None)))]
    immunization = _immunization_model()
    if immunization is not None:
        records += [("immunization", iid) for iid in db.session.scalars(
            sa.select(immunization.id).where(immunization.child_id == child_id,
                                             immunization.deleted_at.is_(None)))]
    return records


def _immunization_model():
    try:
        from ..immunizations.models import Immunization
    except ImportError:
        return None
    return Immunization


def _move_target(scope, posyandu_id: int) -> Posyandu:
    posyandu = db.session.get(Posyandu, posyandu_id)
    allowed = posyandu is not None and posyandu.is_active and scope.covers_posyandu(posyandu_id)
    if not allowed and posyandu is not None and posyandu.is_active and scope.role == "puskesmas":
        own = db.session.get(Puskesmas, scope.puskesmas_id) if scope.puskesmas_id else None
        allowed = own is not None and own.kabupaten_code == posyandu.kabupaten_code
    if not allowed:
        raise NotFound("Posyandu not found.", errors={"posyandu_id": ["No such posyandu in your area."]})
    return posyandu


def move_child(scope, child_id, posyandu_id: int, *, reason: str | None = None, moved_on: date | None = None,
               desa_code: str | None = None) -> Child:
    _require_writer(scope)
    child = load_child(scope, child_id, for_update=True)
    target = _move_target(scope, posyandu_id)
    today = utcnow().date()
    moved_on = moved_on or today
    errors = {}
    if target.id == child.posyandu_id:
        errors["posyandu_id"] = ["The child is already registered at this posyandu."]
    if moved_on > today:
        errors["moved_on"] = ["Cannot be in the future."]
    elif moved_on < child.birth_date:
        errors["moved_on"] = ["Cannot be before the birth date."]
    if desa_code:
        region = db.session.get(Region, desa_code)
        if region is None or region.level != "desa":
            errors["desa_code"] = ["Unknown desa code."]
    if errors:
        raise _invalid(errors)
    if child.status != "active":
        raise Conflict("Only an active child can be moved; reopen it first.", extra={"server": server_copy(child)})
    before = _snapshot(child)
    old_posyandu_id = child.posyandu_id
    child.posyandu_id = target.id
    child.desa_code = desa_code or target.desa_code
    _touch(child, scope)
    db.session.add(ChildTransfer(child_id=child.id, from_posyandu_id=old_posyandu_id, to_posyandu_id=target.id,
                                 moved_on=moved_on, reason=_strip(reason), moved_by_id=scope.user_id))
    db.session.flush()
    changes = field_diff(before, _snapshot(child))
    changes["moved_on"] = [None, moved_on.isoformat()]
    if reason:
        changes["reason"] = [None, _strip(reason)]
    audit("move", "child", child.id, changes=changes, posyandu_id=target.id, child_id=child.id)
    audit("move_out", "child", child.id, changes=changes, posyandu_id=old_posyandu_id, child_id=child.id)
    _record_child_change(child, old_posyandu_id, "delete")
    _record_child_change(child, target.id, "upsert")
    for entity, record_id in _child_record_ids(child.id):
        record_change(db.session, entity=entity, entity_id=record_id, posyandu_id=old_posyandu_id,
                      child_id=child.id, op="delete")
        record_change(db.session, entity=entity, entity_id=record_id, posyandu_id=target.id,
                      child_id=child.id, op="upsert")
    _refresh_report_summary([child.id])
    return child


def close_child(scope, child_id, reason: str, closed_on: date | None = None) -> Child:
    _require_writer(scope)
    child = load_child(scope, child_id, for_update=True)
    closed_on = closed_on or utcnow().date()
    if reason not in ("moved_away", "died", "aged_out", "duplicate_entry"):
        raise _invalid({"reason": ["Must be one of: moved_away, died, aged_out, duplicate_entry."]})
    if closed_on > utcnow().date():
        raise _invalid({"closed_on": ["Cannot be in the future."]})
    if closed_on < child.birth_date:
        raise _invalid({"closed_on": ["Cannot be before the birth date."]})
    if child.status == "closed":
        if child.closed_reason == reason and child.closed_on == closed_on:
            return child  # a retried request
        raise Conflict("The child is already closed.", extra={"server": server_copy(child)})
    before = _snapshot(child)
    child.status, child.closed_reason, child.closed_on = "closed", reason, closed_on
    _touch(child, scope)
    db.session.flush()
    audit("close", "child", child.id, changes=field_diff(before, _snapshot(child)),
          posyandu_id=child.posyandu_id, child_id=child.id)
    _record_child_change(child)
    _refresh_report_summary([child.id])
    return child


def reopen_child(scope, child_id) -> Child:
    _require_writer(scope)
    child = load_child(scope, child_id, for_update=True)
    if child.status == "active":
        return child  # nothing to do (also a retried request)
    if child.merged_into_id is not None:
        raise Conflict("A merged record cannot be reopened.", extra={"server": server_copy(child)})
    before = _snapshot(child)
    child.status, child.closed_reason, child.closed_on = "active", None, None
    _touch(child, scope)
    db.session.flush()
    audit("reopen", "child", child.id, changes=field_diff(before, _snapshot(child)),
          posyandu_id=child.posyandu_id, child_id=child.id)
    _record_child_change(child)
    _refresh_report_summary([child.id])
    return child


# --------------------------------------------------------------------------- merge

def _reassign_child_records(session, from_id, to_id) -> list[tuple[str, uuid.UUID, str]]:
    """Move every record that belongs to child ``from_id`` over to ``to_id``.

    Returns ``(entity, id, op)`` for the caller's sync change log: ``upsert`` for a record now
    under ``to_id``, ``delete`` for one dropped. Extend here when a new child-owned table appears.
    Measurements all move. Immunizations move too, except a dose the kept child already has
    (one live dose per child and dose code): the duplicate's copy is soft-deleted. Every row
    touched gets a new version.
    """
    out = []
    now = utcnow()
    for row in session.scalars(sa.select(Measurement).where(Measurement.child_id == from_id,
                                                            Measurement.deleted_at.is_(None))).all():
        row.child_id, row.version, row.updated_at = to_id, (row.version or 1) + 1, now
        out.append(("measurement", row.id, "upsert"))
    immunization = _immunization_model()
    if immunization is not None:
        kept_doses = set(session.scalars(sa.select(immunization.dose_code).where(
            immunization.child_id == to_id, immunization.deleted_at.is_(None))))
        for row in session.scalars(sa.select(immunization).where(immunization.child_id == from_id,
                                                                 immunization.deleted_at.is_(None))).all():
            row.version, row.updated_at = (row.version or 1) + 1, now
            if row.dose_code in kept_doses:
                row.deleted_at = now
                out.append(("immunization", row.id, "delete"))
            else:
                row.child_id = to_id
                out.append(("immunization", row.id, "upsert"))
    session.flush()
    return out


def _refresh_dependent_records(child: Child, *, growth: str = "trend", immunizations: bool = True) -> list[str]:
    """Let the measurements/immunizations features recompute what depends on the child
    (``growth="trend"``: the weighing trend N/T/O/B; ``"all"``: z-scores and categories too;
    dose validity). Returns what ran."""
    ran = []
    if growth and _recompute_growth(child, everything=growth == "all"):
        ran.append("growth" if growth == "all" else "trend")
    if immunizations:
        try:
            from ..immunizations import operations as i_ops
        except ImportError:
            i_ops = None
        revalidate = getattr(i_ops, "revalidate_child", None)
        if revalidate is not None:
            revalidate(child.id)
            ran.append("immunizations")
    return ran


def _recompute_growth(child: Child, *, everything: bool) -> bool:
    """Refresh what is stored for ``child``'s measurements: the N/T/O/B trend after a merge,
    everything (z-scores, categories, trend) after a birth-date or sex correction.

    Calls ``posyandu.measurements.operations.recompute_child_trend`` / ``recompute_child``
    (the measurements feature; it notes its own sync changes) when present; returns whether
    it ran."""
    try:
        from ..measurements import operations as m_ops
    except ImportError:
        return False
    recompute = getattr(m_ops, "recompute_child" if everything else "recompute_child_trend", None)
    if recompute is None:
        return False
    recompute(db.session, child.id)
    return True


def merge_children(scope, keep_id, duplicate_id) -> Child:
    """Fold ``duplicate_id`` into ``keep_id`` (puskesmas, dinkes, admin)."""
    if scope.role not in SUPERVISOR_ROLES:
        raise Forbidden("Only puskesmas, dinkes or admin staff can merge records.")
    if str(keep_id) == str(duplicate_id):
        raise _invalid({"duplicate_id": ["A record cannot be merged into itself."]})
    duplicate_id = _as_uuid(duplicate_id, "duplicate_id")
    lock_children(db.session, [_as_uuid(keep_id), duplicate_id])   # both, in one sorted go
    keep = load_child(scope, keep_id, for_update=True)
    duplicate = db.session.scalars(sa.select(Child).where(Child.id == duplicate_id, scope.child_clause())
                                   .with_for_update()).first()
    if duplicate is None:
        raise NotFound("Child not found.", errors={"duplicate_id": ["No such child in your area."]})
    if duplicate.merged_into_id == keep.id:
        return keep  # already merged: a retried request
    if duplicate.merged_into_id is not None:
        raise Conflict("That record was already merged into another one.", extra={"server": server_copy(duplicate)})
    if keep.status != "active":
        raise Conflict("The record to keep is closed; reopen it or merge the other way round.",
                       extra={"server": server_copy(keep)})
    keep_before, duplicate_before = _snapshot(keep), _snapshot(duplicate)
    # 1. fill the kept record's gaps from the duplicate (nothing on the kept record is overwritten)
    for name in _MERGE_FILL:
        if getattr(keep, name) is None and getattr(duplicate, name) is not None:
            setattr(keep, name, getattr(duplicate, name))
    # 2. guardians move over (parents linked to the duplicate now see the kept record)
    keep_phones = {g.phone for g in keep.guardians}
    for guardian in list(duplicate.guardians):
        duplicate.guardians.remove(guardian)
        if guardian.phone not in keep_phones:
            keep.guardians.append(ChildGuardian(phone=guardian.phone, relationship_kind=guardian.relationship_kind,
                                                user_id=guardian.user_id))
            keep_phones.add(guardian.phone)
    db.session.flush()
    # 3. measurements (and later immunizations) move to the kept record
    moved = _reassign_child_records(db.session, duplicate.id, keep.id)
    # 4. records merged earlier into the duplicate now point at the kept one
    db.session.execute(sa.update(Child).where(Child.merged_into_id == duplicate.id)
                       .values(merged_into_id=keep.id), execution_options={"synchronize_session": False})
    # 5. close the duplicate
    duplicate.status, duplicate.closed_reason, duplicate.closed_on = "closed", "merged", utcnow().date()
    duplicate.merged_into_id = keep.id
    _touch(duplicate, scope)
    _touch(keep, scope)
    db.session.flush()
    keep_changes = field_diff(keep_before, _snapshot(keep))
    keep_changes["merged_from"] = [None, str(duplicate.id)]
    keep_changes["records_moved"] = [None, sum(1 for _, _, op in moved if op == "upsert")]
    dropped = [str(record_id) for _, record_id, op in moved if op == "delete"]
    if dropped:
        keep_changes["duplicate_doses_dropped"] = [None, dropped]
    audit("merge", "child", keep.id, changes=keep_changes, posyandu_id=keep.posyandu_id, child_id=keep.id)
    audit("merged_into", "child", duplicate.id, changes=field_diff(duplicate_before, _snapshot(duplicate)),
          posyandu_id=duplicate.posyandu_id, child_id=duplicate.id)
    # 6. sync: the duplicate disappears from phones, its records reappear under the kept child
    _record_child_change(duplicate, duplicate.posyandu_id, "delete")
    _record_child_change(keep)
    for entity, record_id, op in moved:
        if op == "delete" or duplicate.posyandu_id != keep.posyandu_id:
            record_change(db.session, entity=entity, entity_id=record_id, posyandu_id=duplicate.posyandu_id,
                          child_id=duplicate.id, op="delete")
        if op == "upsert":
            record_change(db.session, entity=entity, entity_id=record_id, posyandu_id=keep.posyandu_id,
                          child_id=keep.id, op="upsert")
    # 7. the kept child's weighing trend (N/T/O/B) and dose validity now span both histories
    if moved:
        ran = _refresh_dependent_records(keep)
        if "trend" not in ran:
            log.warning("trend not recomputed after merge: measurements.operations.recompute_child_trend missing",
                        extra={"event": "merge_trend_skipped"})
    _refresh_report_summary([keep.id, duplicate.id])
    return keep


def _refresh_report_summary(child_ids) -> None:
    """The report summary (one row per child per month) follows moves, merges and closures."""
    from ..reports.summary import refresh_child_months
    db.session.flush()
    refresh_child_months(db.session, child_ids)


# --------------------------------------------------------------------------- reads

def _encode_cursor(key: str, child_id) -> str:
    raw = json.dumps([key, str(child_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        key, child_id = json.loads(raw)
        return str(key), uuid.UUID(child_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInput("The cursor is not one this server issued.", errors={"cursor": ["Invalid cursor."]})


def _months_before(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def list_children(scope, filters: dict) -> tuple[list[Child], str | None]:
    """Children in scope, ordered by the name as written (case-insensitive, ``name_sort``) then
    id, keyset-paginated: the cursor holds the last row's (name_sort, id), and both columns
    compare byte-wise on SQLite and PostgreSQL, so pages neither skip nor repeat a child."""
    query = sa.select(Child).where(scope.child_clause())
    if filters.get("posyandu_id") is not None:
        query = query.where(Child.posyandu_id == filters["posyandu_id"])
    status = filters.get("status", "active")
    if status != "all":
        query = query.where(Child.status == status)
    if filters.get("sex") is not None:
        query = query.where(Child.sex == filters["sex"])
    today = utcnow().date()
    if filters.get("age_min_months") is not None:
        query = query.where(Child.birth_date <= _months_before(today, filters["age_min_months"]))
    if filters.get("age_max_months") is not None:
        query = query.where(Child.birth_date > _months_before(today, filters["age_max_months"] + 1))
    if filters.get("has_nik") is not None:
        query = query.where(Child.nik_hmac.isnot(None) if filters["has_nik"] else Child.nik_hmac.is_(None))
    if filters.get("q"):
        for token in name_key(filters["q"]).split():
            query = query.where(Child.name_key.like(f"%{token}%"))
    if filters.get("cursor"):
        key, child_id = _decode_cursor(filters["cursor"])
        query = query.where(sa.or_(Child.name_sort > key, sa.and_(Child.name_sort == key, Child.id > child_id)))
    limit = filters.get("limit", 50)
    rows = db.session.scalars(query.options(selectinload(Child.guardians))
                              .order_by(Child.name_sort, Child.id).limit(limit + 1)).all()
    next_cursor = _encode_cursor(rows[limit - 1].name_sort, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def search_children(scope, *, name: str | None = None, mother_name: str | None = None,
                    birth_date: date | None = None, nik: str | None = None, mother_nik: str | None = None,
                    posyandu_id: int | None = None, include_closed: bool = False, limit: int = 20) -> list[Child]:
    """Tolerant name search and exact NIK search, in scope.

    SQL narrows (scope, status, posyandu, exact NIK/mother-NIK HMAC, birth-date window ±31 days or
    two-letter word prefixes of the name key, capped at 2,000 rows); rapidfuzz ranks the rest.
    Each returned child carries ``_score`` (0–100)."""
    query = sa.select(Child).where(scope.child_clause())
    if not include_closed:
        query = query.where(Child.status == "active")
    if posyandu_id is not None:
        query = query.where(Child.posyandu_id == posyandu_id)
    errors = {}
    for field, raw, column in (("nik", nik, Child.nik_hmac), ("mother_nik", mother_nik, Child.mother_nik_hmac)):
        value = clean_number(raw)
        if value is None:
            continue
        problems = nik_errors(value)
        if problems:
            errors[field] = problems
        else:
            query = query.where(column == crypto.lookup_hmac(value))
    if errors:
        raise _invalid(errors)
    key = name_key(name) if name else ""
    if key:
        if birth_date is not None:
            query = query.where(Child.birth_date.between(birth_date - timedelta(days=31),
                                                         birth_date + timedelta(days=31)))
        else:
            query = query.where(duplicates.name_prefix_clause(key))
    elif birth_date is not None:
        query = query.where(Child.birth_date == birth_date)
    candidates = db.session.scalars(query.options(selectinload(Child.guardians)).order_by(Child.name_key, Child.id)
                                    .limit(duplicates.SEARCH_CANDIDATE_CAP)).all()
    if not key and not mother_name:
        for child in candidates:
            child._score = 100.0
        return candidates[:limit]
    ranked = duplicates.rank_by_name(candidates, key, name_key(mother_name) if mother_name else None)
    out = []
    for child, score in ranked[:limit]:
        child._score = score
        out.append(child)
    return out


def find_duplicates(scope, child_id) -> list[dict]:
    if scope.is_parent:
        raise Forbidden("Parents cannot look for duplicate records.")
    child = load_child(scope, child_id)
    found = {}
    for candidate in duplicates.same_nik_candidates(scope, child) + duplicates.duplicate_candidates(scope, child):
        found.setdefault(candidate["id"], candidate)
    return list(found.values())


def reveal_identifiers(scope, child: Child) -> dict:
    """Identifiers in clear, for puskesmas/dinkes/admin only; the access is audited (no values)."""
    if scope.role not in SUPERVISOR_ROLES:
        raise Forbidden("Only puskesmas, dinkes or admin staff can see identifiers in full.")
    revealed = {"nik": crypto.decrypt(child.nik_encrypted),
                "mother_nik": crypto.decrypt(child.mother_nik_encrypted),
                "kk_number": crypto.decrypt(child.kk_encrypted)}
    audit("reveal_identifiers", "child", child.id,
          changes={"revealed": [None, sorted(k for k, v in revealed.items() if v)]},
          posyandu_id=child.posyandu_id, child_id=child.id)
    return revealed


def transfers(scope, child_id) -> list[ChildTransfer]:
    child = load_child(scope, child_id)
    return db.session.scalars(sa.select(ChildTransfer).where(ChildTransfer.child_id == child.id)
                              .order_by(ChildTransfer.moved_on, ChildTransfer.id)).all()
