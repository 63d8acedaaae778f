"""Measurement use cases: record, edit, soft-delete, read, recompute.

Signatures (the sync push endpoint and the children/demo features call these too):

* ``record_measurement(scope, data) -> (Measurement, created: bool)``
    ``data``: a dict as loaded by ``schemas.MeasurementCreate`` (``id``, ``child_id``,
    ``measured_on``, ``weight_kg``, ``length_cm``, ``measure_method``,
    ``head_circumference_cm``, ``arm_circumference_cm``, ``oedema``, ``vitamin_a``,
    ``exclusive_breastfeeding``, ``has_kia_book``, ``notes``, ``client_updated_at``).
    A new row is written with a Core INSERT and returned as a ``StoredMeasurement`` (the
    same attributes as ``Measurement``, not an ORM object). A retry with the same id and the
    same values returns the stored row and ``created=False`` without writing anything; the same id with other values (or a
    deleted row) raises ``Conflict`` with ``extra={"server": <staff view of the row>}``.
* ``update_measurement(scope, measurement_id, data, base_version=None) -> Measurement``
    ``data``: the fields to change (``schemas.MeasurementUpdate`` without ``base_version``).
    ``base_version`` given and not the row's ``version`` -> ``Conflict`` with the server copy.
    Values equal to the stored ones change nothing (no version bump, no audit).
* ``delete_measurement(scope, measurement_id, base_version=None) -> Measurement``
    Soft delete (``deleted_at``); deleting a deleted row is a no-op.
* ``get_measurement(scope, measurement_id) -> Measurement``
* ``list_measurements(scope, posyandu_id, month, *, filters..., cursor=None, limit=50)
  -> (rows, next_cursor)``
* ``child_growth(scope, child_id) -> (child, [Measurement])``
* ``recompute_child_trend(session, child_id) -> list[measurement id]``
    N/T/O/B, 2T, gain/KBM and previous-visit warnings of all the child's live weighings,
    written only where they changed (one executemany UPDATE). Call after moving
    measurements between children (merge); it falls back to ``recompute_child`` when a
    stored age does not match the child's birth date.
* ``recompute_child(session, child_id) -> list[measurement id]``
    Everything (z-scores, categories, trend) for one child; after a birth-date/sex correction.
* ``recompute_all(session, batch_size=500, only_outdated=False, progress=False, commit=False) -> int``
    All stored results (vectorised engine), see :func:`recompute_all`.

Errors: ``InvalidInput`` (422, ``errors`` names the field), ``NotFound`` (404, also for
anything outside the caller's scope), ``Conflict`` (409), ``Forbidden`` (403, parents).
Operations flush and never commit (one transaction per request). Every change is audited
(field diff of the values the cadre entered) and noted in the sync change log; ``version``
goes up on every edit or delete. Computed columns changed as a consequence of another
row's edit (later trend statuses) are noted in the change log but do not bump ``version``:
the cadre's values did not change, so a phone editing them must not get a conflict.
"""
from __future__ import annotations

import base64
import binascii
import json
import sys
import uuid
from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ..audit.log import audit, creation_companion as audit_creation, field_diff
from ..children.models import Child
from ..concurrent_writes import insert_new, lock_children, replay_when_taken
from ..core.growth.trend import month_index
from ..db import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..reports.summary import record_companion, refresh_child_months
from ..sync.changes import creation_companion as change_creation, record_change
from . import assessment
from .models import Measurement
from .schemas import dump_measurement

#: The values a cadre enters; compared for idempotent retries and diffed for the audit.
ENTERED_FIELDS = ("measured_on", "weight_kg", "length_cm", "measure_method", "head_circumference_cm",
                  "arm_circumference_cm", "oedema", "vitamin_a", "exclusive_breastfeeding",
                  "has_kia_book", "notes", "confirm_implausible")
_DEFAULTS = {"oedema": False, "confirm_implausible": False}
#: Entered values that move a visit in its child's history (its trend, or the plausibility
#: judgement of the visits after it).
TREND_INPUTS = frozenset({"measured_on", "weight_kg", "length_cm", "measure_method", "confirm_implausible"})
#: Roles allowed to record bilateral oedema (anthropometry-id.md §4: health workers only).
OEDEMA_ROLES = ("admin", "dinkes", "puskesmas")

M = Measurement
_T = Measurement.__table__
_C = Child.__table__
# Request-path lookups select plain table columns (Core statements: no ORM entity loading).
_CHILD_COLUMNS = (_C.c.id, _C.c.posyandu_id, _C.c.sex, _C.c.birth_date, _C.c.birth_weight_kg)
_HISTORY_COLUMNS = tuple(_T.c[name] for name in dict.fromkeys((
    "id", "child_id", "measured_on", "created_at", "deleted_at", *assessment.HISTORY_INPUTS)))
#: ``scope.child_clause`` takes anything with ``id`` and ``posyandu_id`` columns.
_CHILD_TABLE_COLUMNS = SimpleNamespace(id=_C.c.id, posyandu_id=_C.c.posyandu_id)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _require_writer(scope) -> None:
    if scope.is_parent or not scope.can_write_children:
        raise Forbidden("Parents can read their children's growth but not change it.")


def _check_against_child(scope, values: dict, child, *, oedema_changed: bool = True) -> None:
    """Checks that need the child (age) or the caller (role); 422 naming the field."""
    errors: dict[str, list[str]] = {}
    measured_on: date = values["measured_on"]
    if measured_on < child.birth_date:
        errors["measured_on"] = ["must not be before the child's birth date"]
    else:
        _, months = assessment.age_of(child, measured_on)
        lo, hi = assessment.VITAMIN_A_AGE_MONTHS
        if values.get("vitamin_a") and not (lo <= months <= hi):
            errors["vitamin_a"] = [f"vitamin A capsules are given at {lo}-{hi} months; the child is {months}"]
        if values.get("exclusive_breastfeeding") is not None and \
                months > assessment.EXCLUSIVE_BREASTFEEDING_MAX_AGE_MONTHS:
            errors["exclusive_breastfeeding"] = ["recorded for children under 6 months only"]
    if oedema_changed and values.get("oedema") and scope.role not in OEDEMA_ROLES:
        errors["oedema"] = ["only a health worker (puskesmas or dinkes) may record oedema"]
    if errors:
        raise InvalidInput("Some fields are invalid: " + ", ".join(sorted(errors)), errors=errors)


def _get(obj, name):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def _entered(obj) -> dict:
    if isinstance(obj, dict):
        return {f: obj.get(f, _DEFAULTS.get(f)) for f in ENTERED_FIELDS}
    return {f: getattr(obj, f) for f in ENTERED_FIELDS}


def _history(rows) -> list[dict]:
    return [dict(r._mapping) for r in rows]


_UPDATE_HISTORY = (sa.update(_T).where(_T.c.id == sa.bindparam("b_id"))
                   .values({c: sa.bindparam("b_" + c) for c in (*assessment.HISTORY_COLUMNS, "computed_at")}))


def _bulk_trend_update(session: Session, changes: list[dict], now) -> None:
    """One executemany UPDATE of the history columns (trend, plausibility, withheld visit
    values, warnings; ``assessment.HISTORY_COLUMNS``); refresh loaded objects."""
    if not changes:
        return
    session.execute(_UPDATE_HISTORY, [{"b_id": ch["id"], "b_computed_at": now,
                                       **{"b_" + c: ch[c] for c in assessment.HISTORY_COLUMNS}} for ch in changes])
    for ch in changes:
        obj = session.identity_map.get(identity_key(Measurement, ch["id"]))
        if obj is not None:
            session.expire(obj)


def _note_changes(session: Session, child, ids, op: str = "upsert") -> None:
    for mid in ids:
        record_change(session, entity="measurement", entity_id=mid, posyandu_id=child.posyandu_id,
                      child_id=child.id, op=op)


def _conflict(m: Measurement, detail: str):
    return Conflict(detail, extra={"server": dump_measurement(m)})


# ---------------------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------------------
class StoredMeasurement(SimpleNamespace):
    """A measurement just written by :func:`record_measurement` (a Core INSERT, no ORM object):
    every column of :class:`Measurement` as an attribute, with the values stored."""


#: What a new visit needs of each earlier one: its place in the visit order, weight and length.
_RECENT_COLUMNS = ("id", "measured_on", "weight_kg", "clenhei", "created_at", "deleted_at", "weight_implausible",
                   "length_implausible")
#: Columns that are NULL when left out of an INSERT. A new row's None values for these are
#: left out: the INSERT then has few enough parameters (at most 50) for psycopg to cache its
#: conversion and have PostgreSQL prepare it, instead of parsing ~60 parameters every time.
_NULL_WHEN_OMITTED = frozenset(c.key for c in _T.columns
                               if c.nullable and c.default is None and c.server_default is None)

_CHILD_AND_RECENT: dict = {}


def _first_of_month_before(day: date, months: int) -> date:
    index = month_index(day) - months
    return date(index // 12, index % 12 + 1, 1)


def _recent_rows_query():
    """The child's live rows from ``:since`` on, its latest live row before ``:since`` (the
    previous visit), its latest usable weighing before ``:since`` (B or O, and the weight the
    plausibility check compares with), its latest usable length before ``:since``, and row
    ``:mid`` wherever it is (a retry). Each part is a small index range scan, however long the
    child's history; ``LIMIT`` parts are wrapped so that SQLite accepts them in a UNION."""
    cid = sa.bindparam("child_id", type_=sa.Uuid)
    since = sa.bindparam("since", type_=sa.Date)
    cols = [_T.c[name] for name in _RECENT_COLUMNS]
    live = sa.and_(_T.c.child_id == cid, _T.c.deleted_at.is_(None))
    latest = (_T.c.measured_on.desc(), _T.c.created_at.desc())
    birth = sa.select(_C.c.birth_date).where(_C.c.id == cid).scalar_subquery()
    parts = [
        sa.select(*cols).where(live, _T.c.measured_on >= since),
        sa.select(*cols).where(live, _T.c.measured_on < since).order_by(*latest).limit(1),
        sa.select(*cols).where(live, _T.c.measured_on < since, usable_weighing(birth)).order_by(*latest).limit(1),
        sa.select(*cols).where(live, _T.c.measured_on < since, USABLE_LENGTH).order_by(*latest).limit(1),
        sa.select(*cols).where(_T.c.id == sa.bindparam("mid", type_=sa.Uuid)),
    ]
    wrapped = [parts[0]] + [sa.select(*q.subquery().c) for q in parts[1:]]
    return sa.union_all(*wrapped).subquery("recent")


def _usable(implausible_column):
    return sa.or_(implausible_column.is_(None), implausible_column.is_(False))


def usable_weighing(birth_date):
    """A row whose weight the trend and the next plausibility check use (``birth_date``: the
    child's, a column or scalar subquery)."""
    return sa.and_(_T.c.weight_kg > 0, _T.c.measured_on >= birth_date, _usable(_T.c.weight_implausible))


#: A row whose length the next plausibility check compares with.
USABLE_LENGTH = sa.and_(_T.c.clenhei.is_not(None), _usable(_T.c.length_implausible))


def _child_and_recent(scope, child_id, mid, measured_on: date):
    """The child (in scope) and, in the same statement, what recording a visit on
    ``measured_on`` needs of its history: live rows from the first day of month m-2 on
    (every later row too, so a back-dated entry is noticed), the latest live row before that,
    the latest usable weighing before that (see ``trend.deciding_weighings``), and a row with
    id ``mid`` wherever it is (a retry). Returns ``(child, rows)`` with rows de-duplicated;
    ``NotFound`` when the child is not in scope. Built once per scope, bound per call."""
    query = _CHILD_AND_RECENT.get(scope)
    if query is None:
        if len(_CHILD_AND_RECENT) > 1024:
            _CHILD_AND_RECENT.clear()
        recent = _recent_rows_query()
        query = _CHILD_AND_RECENT[scope] = (
            sa.select(*_CHILD_COLUMNS, *recent.c)
            .select_from(_C.outerjoin(recent, sa.true()))
            .where(_C.c.id == sa.bindparam("child_id", type_=sa.Uuid), scope.child_clause(_CHILD_TABLE_COLUMNS)))
    found = db.session.execute(query, {"child_id": child_id, "mid": mid,
                                       "since": _first_of_month_before(measured_on, 2)}).all()
    if not found:  # named on the field that holds it (a sync receipt shows the field)
        raise NotFound("No such child.", errors={"child_id": ["No such child."]})
    n = len(_CHILD_COLUMNS)
    child = _ChildInfo(*found[0][:n])
    rows: dict = {}
    for r in found:
        if r[n] is not None and r[n] not in rows:
            rows[r[n]] = dict(zip(_RECENT_COLUMNS, r[n:]))
    return child, list(rows.values())


@replay_when_taken
def record_measurement(scope, data: dict) -> tuple[Measurement, bool]:
    _require_writer(scope)
    session = db.session
    mid, child_id = data["id"], data["child_id"]
    lock_children(session, [child_id])   # before reading the visits this one is judged against
    child, rows = _child_and_recent(scope, child_id, mid, data["measured_on"])
    if any(r["id"] == mid for r in rows):
        existing = session.get(Measurement, mid)
        if existing.deleted_at is None and existing.child_id == child_id \
                and _entered(existing) == _entered(data):
            return existing, False
        if existing.child_id != child_id and not _visible(scope, mid):
            # another area's row: say the id is taken, show nothing of it
            raise Conflict("This id is already used by another record; generate a new id.")
        raise _conflict(existing, "A measurement with this id exists with different values"
                        if existing.deleted_at is None else "This measurement was deleted")
    values = _entered(data)
    _check_against_child(scope, values, child)
    back_dated = any(r["measured_on"] >= values["measured_on"] for r in rows)
    # A visit after every other one needs only the recent rows; a back-dated one changes the
    # statuses of later visits, so it takes the whole history (a rare, slower path).
    history = _live_history(session, child.id) if back_dated else rows

    now = utcnow()
    row = {"id": mid, "child_id": child_id, "posyandu_id": child.posyandu_id, "version": 1,
           "client_updated_at": data.get("client_updated_at"), "created_by_id": scope.user_id,
           "updated_by_id": scope.user_id, "created_at": now, "updated_at": now, "computed_at": now,
           "deleted_at": None, **values}
    computed = assessment.assess_visit(child, row, history)
    row.update(computed)
    # a Core INSERT (no unit of work for one plain row), the first write of this operation: a
    # concurrent request that committed the same id meanwhile makes it KeyTaken and the
    # operation is replayed as a retry (posyandu/concurrent_writes.py). Its audit event and
    # change-log entry go in with it (on PostgreSQL in the same statement: one round trip).
    # A visit after all others is also merged into its month's report summary row by the same
    # statement (reports.summary.record_companion); a back-dated one recomputes the child below.
    day = values["measured_on"]
    summary = () if back_dated else (record_companion(child_id, day.year * 12 + day.month - 1),)
    insert_new(session, _T, {k: v for k, v in row.items() if v is not None or k not in _NULL_WHEN_OMITTED},
               companions=(audit_creation("measurement", field_diff({}, {k: v for k, v in values.items()
                                                                      if v is not None})),
                           change_creation("measurement"), *summary))
    changed_ids = []
    if back_dated:  # later statuses may change
        rows_now = history + [{"id": mid, "measured_on": row["measured_on"], "created_at": now,
                               **{c: row[c] for c in assessment.HISTORY_INPUTS}}]
        changes = [ch for ch in assessment.trend_updates(child, rows_now) if ch["id"] != mid]
        _bulk_trend_update(session, changes, now)
        changed_ids = [ch["id"] for ch in changes]
    _note_changes(session, child, changed_ids)
    if back_dated:  # the report summary: later months may change too
        refresh_child_months(session, [child_id])
    session.flush()
    return StoredMeasurement(**row), True


# ---------------------------------------------------------------------------------------
# read
# ---------------------------------------------------------------------------------------
def _load_for_write(scope, measurement_id):
    """The row to edit or delete, read fresh after its child's write lock
    (``concurrent_writes.lock_children``) and locked itself (``FOR UPDATE``; SQLite has one
    writer anyway): a concurrent edit commits first and this one then checks ``base_version``
    against it, instead of both passing the check and the later one overwriting the other; the
    child's other visits it recomputes are read after every other write of the child."""
    child_id = db.session.scalar(sa.select(M.child_id).where(M.id == measurement_id))
    if child_id is not None:
        lock_children(db.session, [child_id])
    row = db.session.execute(
        sa.select(Measurement, Child.posyandu_id, Child.sex, Child.birth_date, Child.birth_weight_kg)
        .join(Child, Child.id == M.child_id)
        .where(M.id == measurement_id, scope.child_clause())
        .with_for_update(of=_T).execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound("No such measurement.")
    m = row[0]
    child = _ChildInfo(m.child_id, row.posyandu_id, row.sex, row.birth_date, row.birth_weight_kg)
    return m, child


class _ChildInfo:
    __slots__ = ("id", "posyandu_id", "sex", "birth_date", "birth_weight_kg")

    def __init__(self, id, posyandu_id, sex, birth_date, birth_weight_kg):
        self.id, self.posyandu_id, self.sex = id, posyandu_id, sex
        self.birth_date, self.birth_weight_kg = birth_date, birth_weight_kg


def _visible(scope, measurement_id) -> bool:
    try:
        get_measurement(scope, measurement_id)
    except NotFound:
        return False
    return True


def get_measurement(scope, measurement_id) -> Measurement:
    """A measurement of a child in scope (the child's current posyandu decides: after a move or
    a merge the old area no longer sees it, as ``/sync/pull`` tombstones it). Parents: their
    children's live measurements only."""
    query = sa.select(Measurement).join(Child, Child.id == M.child_id).where(M.id == measurement_id)
    if scope.is_parent:
        query = query.where(scope.child_clause(), M.deleted_at.is_(None))
    else:
        query = query.where(scope.child_clause())
    m = db.session.execute(query).scalar_one_or_none()
    if m is None:
        raise NotFound("No such measurement.")
    return m


def child_growth(scope, child_id):
    """The child (in scope; parents: linked children) and its live measurements, oldest first."""
    child = db.session.execute(sa.select(Child).where(Child.id == child_id, scope.child_clause())).scalar_one_or_none()
    if child is None:
        raise NotFound("No such child.")
    rows = db.session.execute(
        sa.select(Measurement).where(M.child_id == child_id, M.deleted_at.is_(None))
        .order_by(M.measured_on, M.created_at)).scalars().all()
    return child, rows


def encode_cursor(measured_on: date, mid: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{measured_on.isoformat()}|{mid}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        d, i = raw.split("|")
        return date.fromisoformat(d), uuid.UUID(i)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("Invalid cursor", errors={"cursor": ["not a cursor returned by this endpoint"]})


def list_measurements(scope, posyandu_id: int, month: str, *, child_id=None, trend_status=None, is_2t=None,
                      bgm=None, category=None, include_deleted=False, cursor=None, limit=50):
    """Measurements taken at ``posyandu_id`` in calendar month ``month`` (YYYY-MM), ordered by
    date then id, keyset-paginated. Returns ``(rows, next_cursor)``."""
    if not scope.covers_posyandu(posyandu_id):
        raise NotFound("No such posyandu.")
    year, mon = (int(p) for p in month.split("-"))
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    query = (sa.select(Measurement).join(Child, Child.id == M.child_id)
             .where(M.posyandu_id == posyandu_id, M.measured_on >= start, M.measured_on < end, scope.child_clause()))
    if not include_deleted:
        query = query.where(M.deleted_at.is_(None))
    if child_id is not None:
        query = query.where(M.child_id == child_id)
    if trend_status is not None:
        query = query.where(M.trend_status == trend_status)
    if is_2t is not None:
        query = query.where(M.is_2t.is_(True) if is_2t else sa.or_(M.is_2t.is_(False), M.is_2t.is_(None)))
    if bgm is not None:
        query = query.where(M.is_bgm.is_(True) if bgm else sa.or_(M.is_bgm.is_(False), M.is_bgm.is_(None)))
    if category is not None:
        index = category.split(".", 1)[0]
        column = assessment.CATEGORY_COLUMNS.get(index)
        if column is None:
            known = ", ".join(sorted(assessment.labels()["categories"]))
            raise InvalidInput("Some fields are invalid: category",
                               errors={"category": [f"Unknown category code. Use one of: {known}."]})
        query = query.where(getattr(M, column) == category)
    if cursor:
        after_date, after_id = decode_cursor(cursor)
        query = query.where(sa.or_(M.measured_on > after_date, sa.and_(M.measured_on == after_date, M.id > after_id)))
    rows = db.session.execute(query.order_by(M.measured_on, M.id).limit(limit + 1)).scalars().all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].measured_on, rows[-1].id)
    return rows, next_cursor


# ---------------------------------------------------------------------------------------
# update / delete
# ---------------------------------------------------------------------------------------
def _check_version(m: Measurement, base_version) -> None:
    if base_version is not None and base_version != m.version:
        raise _conflict(m, f"The measurement changed on the server (version {m.version}, you edited "
                           f"version {base_version})")


def _live_history(session: Session, child_id, exclude_id=None) -> list[dict]:
    query = sa.select(*_HISTORY_COLUMNS).where(_T.c.child_id == child_id, _T.c.deleted_at.is_(None))
    if exclude_id is not None:
        query = query.where(_T.c.id != exclude_id)
    return _history(session.execute(query).all())


def _edited_values(before: dict, data: dict) -> tuple[dict, dict]:
    """The entered values after applying ``data`` to ``before`` and their field diff;
    ``InvalidInput`` (422) when the edited visit would not be a valid one."""
    after = dict(before)
    after.update({k: v for k, v in data.items() if k in ENTERED_FIELDS})
    if after.get("oedema") is None:
        after["oedema"] = False
    errors = {}
    if after["length_cm"] is not None and not after["measure_method"]:
        errors["measure_method"] = ["required when length_cm is given"]
    if all(after[f] is None for f in ("weight_kg", "length_cm", "head_circumference_cm", "arm_circumference_cm")):
        errors["weight_kg"] = ["at least one measured value must remain"]
    if errors:
        raise InvalidInput("Some fields are invalid: " + ", ".join(sorted(errors)), errors=errors)
    return after, field_diff(before, after)


def _check_edit(scope, after: dict, changes: dict, child) -> None:
    """The rules an edit that changes something must pass (caller's role, the child's age)."""
    if "oedema" in changes and scope.role not in OEDEMA_ROLES:
        raise InvalidInput("Some fields are invalid: oedema",
                           errors={"oedema": ["only a health worker (puskesmas or dinkes) may record oedema"]})
    _check_against_child(scope, after, child, oedema_changed=False)


def update_measurement(scope, measurement_id, data: dict, base_version=None) -> Measurement:
    _require_writer(scope)
    session = db.session
    m, child = _load_for_write(scope, measurement_id)
    if m.deleted_at is not None:
        raise _conflict(m, "This measurement was deleted")
    _check_version(m, base_version)
    after, changes = _edited_values(_entered(m), data)
    if not changes:
        return m
    _check_edit(scope, after, changes, child)

    now = utcnow()
    for key, value in after.items():
        if key in changes:
            setattr(m, key, value)
    if "client_updated_at" in data:
        m.client_updated_at = data["client_updated_at"]
    m.version += 1
    m.updated_by_id = scope.user_id
    m.updated_at = now
    others = _live_history(session, child.id, exclude_id=m.id)
    computed = assessment.assess_visit(child, m, others)
    for column, value in computed.items():
        setattr(m, column, value)
    m.computed_at = now
    changed_ids = []
    if others and TREND_INPUTS & set(changes):
        rows_now = others + [{"id": m.id, "measured_on": m.measured_on, "created_at": m.created_at,
                              **{c: getattr(m, c) for c in assessment.HISTORY_INPUTS}}]
        trend_changes = [ch for ch in assessment.trend_updates(child, rows_now) if ch["id"] != m.id]
        session.flush()
        _bulk_trend_update(session, trend_changes, now)
        changed_ids = [ch["id"] for ch in trend_changes]
    audit("update", "measurement", m.id, changes=changes, posyandu_id=child.posyandu_id, child_id=child.id)
    _note_changes(session, child, [m.id, *changed_ids])
    session.flush()
    refresh_child_months(session, [child.id])
    return m


def delete_measurement(scope, measurement_id, base_version=None) -> Measurement:
    _require_writer(scope)
    session = db.session
    m, child = _load_for_write(scope, measurement_id)
    if m.deleted_at is not None:
        return m
    _check_version(m, base_version)
    now = utcnow()
    m.deleted_at = now
    m.version += 1
    m.updated_by_id = scope.user_id
    m.updated_at = now
    session.flush()
    audit("delete", "measurement", m.id, changes={"deleted_at": [None, now.isoformat()]},
          posyandu_id=child.posyandu_id, child_id=child.id)
    _note_changes(session, child, [m.id], op="delete")
    changes = assessment.trend_updates(child, _live_history(session, child.id))
    _bulk_trend_update(session, changes, now)
    _note_changes(session, child, [ch["id"] for ch in changes])
    session.flush()
    refresh_child_months(session, [child.id])
    return m


# ---------------------------------------------------------------------------------------
# recompute
# ---------------------------------------------------------------------------------------
def recompute_child_trend(session: Session, child_id) -> list:
    """Recompute N/T/O/B, 2T, gain, KBM and previous-visit warnings for every live weighing of
    one child (two queries, one executemany UPDATE of the rows that changed). Returns the ids
    of the rows that changed; they are noted in the sync change log (no version bump).

    If a stored age no longer matches the child's birth date (a merge brought in rows of a
    record with another birth date, or the birth date was corrected) it falls back to
    :func:`recompute_child`, which also refreshes z-scores and categories.
    """
    child = session.execute(sa.select(*_CHILD_COLUMNS).where(_C.c.id == child_id)).first()
    if child is None:
        raise NotFound("No such child.")
    stale = session.execute(
        sa.select(M.measured_on, M.age_days).where(M.child_id == child_id, M.deleted_at.is_(None))).all()
    if any(age != (measured_on - child.birth_date).days for measured_on, age in stale):
        return recompute_child(session, child_id)
    changes = assessment.trend_updates(child, _live_history(session, child_id))
    _bulk_trend_update(session, changes, utcnow())
    ids = [ch["id"] for ch in changes]
    _note_changes(session, child, ids)
    session.flush()
    refresh_child_months(session, [child_id])
    return ids


def recompute_child(session: Session, child_id) -> list:
    """Recompute everything stored for one child's measurements (z-scores, categories, trend,
    warnings) with the vectorised engine; call after changing a child's birth date or sex, or
    after a merge. Writes the rows whose values changed (one executemany UPDATE), notes them in
    the sync change log and returns their ids."""
    child = session.execute(sa.select(*_CHILD_COLUMNS).where(_C.c.id == child_id)).first()
    if child is None:
        raise NotFound("No such child.")
    stored_columns = [getattr(M, c).label("stored_" + c) for c in assessment.COMPUTED_COLUMNS
                      if c not in ("trend_status", "is_2t", "gain_g", "kbm_g", "warnings")]
    rows = [dict(r._mapping) for r in session.execute(
        sa.select(*_RAW_COLUMNS, *stored_columns).join(Child, Child.id == M.child_id)
        .where(M.child_id == child_id).order_by(M.measured_on, M.created_at)).all()]
    results = assessment.assess_batch(rows)
    changed = [r for row, r in zip(rows, results)
               if any((row["stored_" + c] if "stored_" + c in row else row[c]) != r[c]
                      for c in assessment.COMPUTED_COLUMNS)]
    _write_results(session, changed, utcnow())
    ids = [r["id"] for r in changed]
    _note_changes(session, child, ids)
    session.flush()
    refresh_child_months(session, [child_id])
    return ids


_UPDATE_ALL = (sa.update(_T).where(_T.c.id == sa.bindparam("b_id"))
               .values({c: sa.bindparam("b_" + c) for c in (*assessment.COMPUTED_COLUMNS, "computed_at")}))


def _write_results(session: Session, results: list[dict], now) -> None:
    """One executemany UPDATE of every computed column; refresh loaded objects."""
    if not results:
        return
    session.execute(_UPDATE_ALL, [{"b_id": r["id"], "b_computed_at": now,
                                   **{"b_" + c: r[c] for c in assessment.COMPUTED_COLUMNS}} for r in results])
    _expire_loaded(session, (r["id"] for r in results))


def _expire_loaded(session: Session, ids) -> None:
    if not session.identity_map:
        return
    for mid in ids:
        obj = session.identity_map.get(identity_key(Measurement, mid))
        if obj is not None:
            session.expire(obj)


def _pg_type(column: sa.Column) -> str:
    """PostgreSQL type of a computed column in the recompute staging table."""
    if column.name == "warnings":
        return "text"  # JSON text; cast to jsonb in the UPDATE
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.SmallInteger):
        return "int2"
    if isinstance(kind, sa.Integer):
        return "int4"
    if isinstance(kind, sa.Float):
        return "float8"
    if isinstance(kind, sa.String):
        return "text"
    raise TypeError(f"no staging type for measurement.{column.name}")


_PG_STAGING_TYPES = ("uuid", *(_pg_type(_T.c[c]) for c in assessment.COMPUTED_COLUMNS))
#: Session-local staging table of one batch: created if missing and emptied per batch (after a
#: commit the pool may hand out another connection), dropped at the end on the current one.
_PG_STAGING = ("CREATE TEMP TABLE IF NOT EXISTS measurement_recompute (id uuid, "
               + ", ".join(f"{c} {t}" for c, t in zip(assessment.COMPUTED_COLUMNS, _PG_STAGING_TYPES[1:]))
               + ")")
_PG_COPY = "COPY measurement_recompute (id, " + ", ".join(assessment.COMPUTED_COLUMNS) + ") FROM STDIN (FORMAT BINARY)"
_PG_UPDATE = ("UPDATE measurement AS m SET "
              + ", ".join(f"{c} = v.{c}" + ("::jsonb" if c == "warnings" else "") for c in assessment.COMPUTED_COLUMNS)
              + ", computed_at = %s FROM measurement_recompute AS v WHERE m.id = v.id")


def _write_columns(session: Session, columns: dict[str, list], now) -> None:
    """Write :func:`assessment.assess_columns` output (every computed column of every row).

    PostgreSQL with psycopg: binary COPY into a temporary staging table, then ONE
    ``UPDATE measurement ... FROM`` it (the planner sees the staging table's real size and
    probes the primary key). Other databases (SQLite): one executemany UPDATE."""
    ids = columns["id"]
    if not ids:
        return
    connection = session.connection()
    if _uses_psycopg(connection):
        dumps = json.dumps
        warnings = ["[]" if w == [] else None if w is None else dumps(w) for w in columns["warnings"]]
        values = [warnings if c == "warnings" else columns[c] for c in assessment.COMPUTED_COLUMNS]
        with connection.connection.driver_connection.cursor() as cursor:
            # one round trip; the table may be missing on this pooled connection (after a commit)
            cursor.execute(_PG_STAGING + "; TRUNCATE measurement_recompute")
            with cursor.copy(_PG_COPY) as copy:
                copy.set_types(_PG_STAGING_TYPES)
                for row in zip(ids, *values):
                    copy.write_row(row)
            cursor.execute(_PG_UPDATE, (now,))
    else:
        keys = ("b_id", *("b_" + c for c in assessment.COMPUTED_COLUMNS))
        session.execute(_UPDATE_ALL, [{"b_computed_at": now, **dict(zip(keys, values))} for values in
                                      zip(ids, *(columns[c] for c in assessment.COMPUTED_COLUMNS))])
    _expire_loaded(session, ids)


_RAW_COLUMNS = (M.id, M.child_id, M.measured_on, M.weight_kg, M.length_cm, M.measure_method,
                M.head_circumference_cm, M.arm_circumference_cm, M.oedema, M.vitamin_a, M.deleted_at,
                M.created_at, M.trend_status, M.is_2t, M.gain_g, M.kbm_g, M.warnings,
                Child.sex, Child.birth_date, Child.birth_weight_kg, M.confirm_implausible)
#: Recompute reads: stored trend columns and warnings only matter for soft-deleted rows.
_BATCH_COLUMNS = (*_RAW_COLUMNS[:12],
                  *(sa.case((M.deleted_at.is_not(None), column)).label(column.key) for column in _RAW_COLUMNS[12:17]),
                  *_RAW_COLUMNS[17:])


def _fetch_columns(session: Session, query, params: dict, compiled_cache: dict | None) -> dict[str, list]:
    """Run ``query`` with bound ``params``; return the result column-wise (``{label: [values]}``).

    PostgreSQL with psycopg: through the driver cursor (psycopg already returns UUIDs, aware
    datetimes and decoded JSON; the ORM result layer would only add per-row overhead), the
    statement compiled once per :func:`recompute_all` call when ``compiled_cache`` is given.
    Other databases: the ordinary SQLAlchemy result."""
    connection = session.connection()
    if _uses_psycopg(connection):
        compiled = None if compiled_cache is None else compiled_cache.get(connection.dialect)
        if compiled is None:
            compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
            if compiled_cache is not None:
                compiled_cache[connection.dialect] = compiled
        with connection.connection.driver_connection.cursor() as cursor:
            cursor.execute(str(compiled), {**compiled.params, **params})
            keys = [d.name for d in cursor.description]
            rows = cursor.fetchall()
    else:
        result = session.execute(query, params)
        keys, rows = list(result.keys()), result.all()
    if not rows:
        return {k: [] for k in keys}
    return dict(zip(keys, map(list, zip(*rows))))


def _uses_psycopg(connection) -> bool:
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def _outdated(version: str):
    return sa.or_(M.standard_version.is_(None), M.standard_version != version)


def recompute_all(session: Session, batch_size: int = 500, only_outdated: bool = False,
                  progress: bool = False, commit: bool = False) -> int:
    """Recompute every stored result with the vectorised engine; returns the rows written.

    Streams through the children by keyset pagination on ``child.id`` (its primary key):
    each batch is the next run of whole children holding about ``batch_size`` measurements
    (a child is never split, so its trend is computed over all its weighings in one pass; the
    number of children per batch follows the rows per child seen so far). Per batch: one
    query for the children, one for their rows (joined to the child; a range of the
    ``child_id`` index, or the picked ids with ``only_outdated``), ``assessment.assess_columns`` (numpy, column-wise), one write
    (PostgreSQL: binary COPY into a temporary staging table and one ``UPDATE ... FROM`` it;
    SQLite: one executemany UPDATE). The cost is linear in the table. ``only_outdated``
    takes only children with a row whose ``standard_version`` is not the current one (or
    empty), and recomputes all their rows; on PostgreSQL it first runs ``ANALYZE measurement``
    so the EXISTS walks the child key order instead of scanning the table per batch.
    ``progress`` shows a tqdm bar when stderr is a terminal. ``commit`` commits after each
    batch (the CLI does; callers inside a larger transaction, e.g. demo loading, leave it off
    and commit themselves).

    Sync: no change-log entries are written (a standard change would rewrite every row for
    every phone); phones get the new values with their next full refresh or edit.
    """
    version = assessment.standard_version()
    other = _T.alias("outdated_row")
    has_outdated = sa.select(other.c.id).where(
        other.c.child_id == _C.c.id,
        sa.or_(other.c.standard_version.is_(None), other.c.standard_version != version)).correlate(_C).exists()
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm
        total_query = sa.select(sa.func.count()).select_from(_T)
        if only_outdated:
            total_query = total_query.where(_T.c.child_id.in_(
                sa.select(_T.c.child_id).where(_outdated(version)).distinct()))
        bar = tqdm(total=session.execute(total_query).scalar_one(), unit="rows", desc="growth recompute",
                   file=sys.stderr)
    # children per batch: from the average rows per child, then from the rows seen
    n_rows = session.execute(sa.select(sa.func.count()).select_from(_T)).scalar_one()
    n_children = session.execute(sa.select(sa.func.count()).select_from(_C)).scalar_one()
    per_child = n_rows / n_children if n_children and n_rows else 1.0
    # the rows of the children picked: all children -> a range of the child_id index (they are
    # contiguous in child.id); only_outdated -> the picked ids
    batch_rows = (sa.select(*_BATCH_COLUMNS).join(Child, Child.id == M.child_id)
                  .order_by(M.child_id, M.measured_on, M.created_at, M.id))
    rows_in_range = batch_rows.where(
        M.child_id.between(sa.bindparam("lo", type_=sa.Uuid), sa.bindparam("hi", type_=sa.Uuid)))
    compiled: dict = {}
    if only_outdated and _uses_psycopg(session.connection()):
        # Fresh statistics for the EXISTS: after a bulk load (or a standard change) the planner
        # would otherwise expect ~no outdated rows and hash-join a full scan into every batch.
        session.execute(sa.text("ANALYZE measurement"))
    seen_children = seen_rows = 0
    written = 0
    last_child = None
    try:
        while True:
            take = max(1, min(round(batch_size / max(per_child, 1e-3)), 10 * batch_size))
            pick = sa.select(_C.c.id).order_by(_C.c.id).limit(take)
            if last_child is not None:
                pick = pick.where(_C.c.id > last_child)
            if only_outdated:
                pick = pick.where(has_outdated)
            children = session.execute(pick).scalars().all()
            if not children:
                break
            if only_outdated:
                raw = _fetch_columns(session, batch_rows.where(M.child_id.in_(children)), {}, None)
            else:
                raw = _fetch_columns(session, rows_in_range, {"lo": children[0], "hi": children[-1]}, compiled)
            n = len(raw["id"])
            last_child = children[-1]
            seen_children += len(children)
            seen_rows += n
            per_child = seen_rows / seen_children if seen_rows else per_child / 2
            if not n:
                continue
            _write_columns(session, assessment.assess_columns(raw), utcnow())
            refresh_child_months(session, children)
            written += n
            if commit:
                session.commit()
            if bar is not None:
                bar.update(n)
    finally:
        if bar is not None:
            bar.close()
    if written and _uses_psycopg(session.connection()):
        session.execute(sa.text("DROP TABLE IF EXISTS pg_temp.measurement_recompute"))
        if commit:
            session.commit()
    session.flush()
    return written
