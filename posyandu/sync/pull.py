"""``GET /sync/pull``: everything in the caller's scope since a cursor.

Two phases, one opaque cursor:

1. **Snapshot** (a new phone, ``since`` empty): the current rows in scope, entity by entity,
   keyset-paginated by id, all stamped with the change-log position ``S`` read at the start.
2. **Changes** (``seq > S``): the change log in sequence order. Within a page the last change per
   record wins; a record that is deleted, or whose current row is no longer in the caller's scope
   (moved away), goes out as a tombstone.

The change-log sequence is assigned at commit time (``posyandu.sync.changes``), so a cursor never
skips a committed change. Rows are serialised straight from column tuples (no ORM objects, no
marshmallow) because a first pull of a 200-child posyandu is ~12,000 records.
"""
from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, time

import sqlalchemy as sa

from ..errors import InvalidInput
from ..extensions import db
from .changes import sequence_pending
from .models import ChangeLog, SyncCounter

PAGE_DEFAULT = 1000
PAGE_MAX = 5000


def _entities():
    """(name, model, columns to send, soft-delete column or None), in snapshot order."""
    from ..children.models import Child
    from ..measurements.models import Measurement
    entities = [("child", Child, CHILD_FIELDS, None), ("measurement", Measurement, MEASUREMENT_FIELDS, "deleted_at")]
    try:
        from ..immunizations.models import Immunization
    except ImportError:
        return entities
    entities.append(("immunization", Immunization, IMMUNIZATION_FIELDS, "deleted_at"))
    return entities


CHILD_FIELDS = ("id", "posyandu_id", "name", "sex", "birth_date", "birth_weight_kg", "birth_length_cm",
                "birth_order", "nik_masked", "mother_name", "mother_nik_masked", "father_name", "kk_masked",
                "address", "rt", "rw", "desa_code", "has_kia_book", "status", "closed_reason", "closed_on",
                "merged_into_id", "version", "updated_at")
MEASUREMENT_FIELDS = ("id", "child_id", "posyandu_id", "measured_on", "weight_kg", "length_cm", "measure_method",
                      "head_circumference_cm", "arm_circumference_cm", "oedema", "vitamin_a",
                      "exclusive_breastfeeding", "has_kia_book", "notes", "confirm_implausible", "age_days", "age_months", "clenhei",
                      "cbmi", "zlen", "flen", "zwei", "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "zhc", "fhc", "zac",
                      "fac", "cat_bbu", "cat_tbu", "cat_bbtb", "cat_imtu", "cat_lila", "cat_lk", "is_bgm",
                      "above_orange", "weight_implausible", "length_implausible", "trend_status", "is_2t", "gain_g",
                      "kbm_g", "warnings", "standard_version",
                      "version", "updated_at")
IMMUNIZATION_FIELDS = ("id", "child_id", "posyandu_id", "vaccine_code", "dose_code", "given_on", "lot_number",
                       "place", "place_name", "given_by_name", "is_valid", "invalid_reason", "warnings",
                       "version", "updated_at")


#: What a parent's phone does not get (as the REST parent views): identifiers, address, notes,
#: lot numbers and who gave a dose.
_PARENT_HIDDEN = frozenset({"nik_masked", "mother_nik_masked", "kk_masked", "address", "rt", "rw", "desa_code",
                            "notes", "oedema", "lot_number", "given_by_name", "place_name"})


def _fields_for(scope, fields):
    return tuple(f for f in fields if f not in _PARENT_HIDDEN) if scope.is_parent else fields


def _json_value(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def encode_cursor(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict:
    if not cursor:
        return {"phase": "snapshot"}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if state.get("phase") == "changes":
            int(state["seq"])
        elif state.get("phase") == "snapshot":
            int(state["at"])
        else:
            raise ValueError
        return state
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise InvalidInput("The cursor is not one this server issued.", errors={"since": ["Invalid cursor."]})


def _scope_filter(scope, model):
    """Rows of ``model`` visible to the caller. Measurements and immunizations follow their
    child: the posyandu a child belongs to now sees the child's whole history, wherever it was
    measured."""
    from ..children.models import Child, ChildGuardian
    if scope.is_parent:
        linked = sa.select(ChildGuardian.child_id).where(ChildGuardian.user_id == scope.user_id)
        column = model.id if model is Child else model.child_id
        return column.in_(linked)
    if model is Child:
        return scope.posyandu_clause(Child.posyandu_id)
    return model.child_id.in_(sa.select(Child.id).where(scope.posyandu_clause(Child.posyandu_id)))


def _change_log_scope(scope):
    if scope.is_parent:
        from ..children.models import ChildGuardian
        return ChangeLog.child_id.in_(sa.select(ChildGuardian.child_id).where(ChildGuardian.user_id == scope.user_id))
    return scope.posyandu_clause(ChangeLog.posyandu_id)


_PLANS: dict[tuple, tuple[list, list]] = {}


#: Region code columns: answered in the dotted Kemendagri form (35.25.01.2001), as everywhere in the API.
_REGION_CODE_FIELDS = frozenset({"desa_code"})


def _plan(model, fields) -> tuple[list, list]:
    """The SELECT columns for ``fields`` and, per column, the function turning its value into JSON
    (None where nothing is needed) — decided once per entity and backend, not per value.

    On PostgreSQL, UUID and DATE columns are cast to text by the server (canonical UUID and ISO
    8601 text), which is several times cheaper than building Python UUID/date objects and
    formatting them again for ~10,000 records of a first pull.
    """
    dialect = db.session.get_bind().dialect.name
    key = (model.__tablename__, fields, dialect)
    if key not in _PLANS:
        columns, converters = [], []
        for name in fields:
            column = getattr(model, name)
            column_type = getattr(column.type, "impl_instance", column.type)  # TypeDecorator → its impl
            try:
                python_type = column_type.python_type
            except (NotImplementedError, AttributeError):
                python_type = None
            if name in _REGION_CODE_FIELDS:
                columns.append(column)
                converters.append(_dotted)
            elif dialect == "postgresql" and (python_type is uuid.UUID or python_type is date):
                columns.append(sa.cast(column, sa.Text).label(name))
                converters.append(None)
            elif python_type is uuid.UUID:
                columns.append(column)
                converters.append(str)
            elif python_type in (date, datetime, time):
                columns.append(column)
                converters.append(_isoformat)
            else:
                columns.append(column)
                converters.append(None)
        _PLANS[key] = (columns, converters)
    return _PLANS[key]


def _isoformat(value):
    return value.isoformat()


def _dotted(code: str) -> str:
    from ..regions.codes import dotted
    return dotted(code)


def _serialise_rows(entity: str, fields, rows, model) -> list[dict]:
    converters = [(i, fn) for i, fn in enumerate(_plan(model, fields)[1]) if fn is not None]
    out = []
    for row in rows:
        values = list(row)
        for i, fn in converters:
            value = values[i]
            if value is not None:
                values[i] = fn(value)
        record = dict(zip(fields, values))
        out.append({"entity": entity, "id": record["id"], "op": "upsert", "version": record.get("version"),
                    "record": record})
    return out


def current_position() -> int:
    return db.session.execute(sa.select(SyncCounter.value).where(SyncCounter.id == 1)).scalar_one()


def pull(scope, since: str | None, limit: int = PAGE_DEFAULT) -> dict:
    limit = max(1, min(int(limit or PAGE_DEFAULT), PAGE_MAX))
    state = decode_cursor(since)
    # Number what writers committed since the last pull, and commit at once: that releases the
    # counter lock and makes the numbers visible before we read (see posyandu.sync.changes).
    sequence_pending(db.session)
    db.session.commit()
    if state["phase"] == "snapshot":
        return _pull_snapshot(scope, state, limit)
    return _pull_changes(scope, int(state["seq"]), limit)


def _pull_snapshot(scope, state: dict, limit: int) -> dict:
    at = int(state["at"]) if "at" in state else current_position()
    entities = _entities()
    names = [e[0] for e in entities]
    index = names.index(state["entity"]) if state.get("entity") in names else 0
    after_id = uuid.UUID(state["after"]) if state.get("after") else None
    changes: list[dict] = []
    while index < len(entities):
        remaining = limit - len(changes)
        if remaining <= 0:
            break
        name, model, fields, deleted_column = entities[index]
        fields = _fields_for(scope, fields)
        columns = _plan(model, fields)[0]
        query = sa.select(*columns).where(_scope_filter(scope, model)).order_by(model.id).limit(remaining)
        if deleted_column:
            query = query.where(getattr(model, deleted_column).is_(None))
        if after_id is not None:
            query = query.where(model.id > after_id)
        rows = db.session.execute(query).all()
        changes.extend(_serialise_rows(name, fields, rows, model))
        if len(rows) < remaining:
            index, after_id = index + 1, None
        else:
            after_id = uuid.UUID(str(rows[-1][0]))
    if index >= len(entities):
        next_state = {"phase": "changes", "seq": at}
        has_more = _changes_exist(scope, at)
    else:
        next_state = {"phase": "snapshot", "at": at, "entity": entities[index][0],
                      "after": str(after_id) if after_id else None}
        has_more = True
    return {"changes": changes, "cursor": encode_cursor(next_state), "has_more": has_more, "position": at}


def _changes_exist(scope, seq: int) -> bool:
    query = sa.select(ChangeLog.seq).where(ChangeLog.seq > seq, _change_log_scope(scope)).limit(1)
    return db.session.execute(query).first() is not None


def _pull_changes(scope, since_seq: int, limit: int) -> dict:
    log_rows = db.session.execute(
        sa.select(ChangeLog.seq, ChangeLog.entity, ChangeLog.entity_id, ChangeLog.op)
        .where(ChangeLog.seq > since_seq, _change_log_scope(scope))
        .order_by(ChangeLog.seq).limit(limit + 1)
    ).all()
    has_more = len(log_rows) > limit
    log_rows = log_rows[:limit]
    if not log_rows:
        return {"changes": [], "cursor": encode_cursor({"phase": "changes", "seq": since_seq}),
                "has_more": False, "position": since_seq}
    last_seq = log_rows[-1].seq
    latest: dict[tuple[str, uuid.UUID], tuple[int, str]] = {}
    for seq, entity, entity_id, op in log_rows:
        latest[(entity, entity_id)] = (seq, op)
    wanted: dict[str, list[uuid.UUID]] = {}
    for (entity, entity_id), (_, op) in latest.items():
        if op == "upsert":
            wanted.setdefault(entity, []).append(entity_id)
    current: dict[tuple[str, uuid.UUID], dict] = {}
    for name, model, fields, deleted_column in _entities():
        ids = wanted.get(name)
        if not ids:
            continue
        fields = _fields_for(scope, fields)
        columns = _plan(model, fields)[0]
        query = sa.select(*columns).where(model.id.in_(ids), _scope_filter(scope, model))
        if deleted_column:
            query = query.where(getattr(model, deleted_column).is_(None))
        for item in _serialise_rows(name, fields, db.session.execute(query).all(), model):
            current[(name, uuid.UUID(item["id"]))] = item
    changes = []
    for (entity, entity_id), (seq, op) in sorted(latest.items(), key=lambda kv: kv[1][0]):
        item = current.get((entity, entity_id)) if op == "upsert" else None
        if item is None:  # deleted, or no longer in the caller's scope: a tombstone
            item = {"entity": entity, "id": str(entity_id), "op": "delete", "version": None, "record": None}
        item["seq"] = seq
        changes.append(item)
    return {"changes": changes, "cursor": encode_cursor({"phase": "changes", "seq": last_seq}),
            "has_more": has_more, "position": last_seq}


def record_by_id(entity: str, record_id: uuid.UUID, include_deleted: bool = False) -> dict | None:
    """The sync representation of one record (unscoped: callers have already checked access)."""
    for name, model, fields, deleted_column in _entities():
        if name != entity:
            continue
        query = sa.select(*_plan(model, fields)[0]).where(model.id == record_id)
        if deleted_column and not include_deleted:
            query = query.where(getattr(model, deleted_column).is_(None))
        row = db.session.execute(query).first()
        return _serialise_rows(name, fields, [row], model)[0]["record"] if row else None
    return None


def records_by_ids(entity: str, ids) -> dict[uuid.UUID, dict]:
    """Sync representations of several live records of one entity, in one query (unscoped)."""
    if not ids:
        return {}
    for name, model, fields, deleted_column in _entities():
        if name != entity:
            continue
        query = sa.select(*_plan(model, fields)[0]).where(model.id.in_(list(ids)))
        if deleted_column:
            query = query.where(getattr(model, deleted_column).is_(None))
        return {uuid.UUID(item["id"]): item["record"]
                for item in _serialise_rows(name, fields, db.session.execute(query).all(), model)}
    return {}
