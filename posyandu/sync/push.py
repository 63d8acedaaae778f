"""``POST /sync/push``: apply a phone's offline edits, each record on its own.

Every record runs in its own SAVEPOINT, so one bad record never rejects the batch, and gets a
receipt (an entity whose adapter has ``apply_batch`` -- measurements -- decides all its records
of the batch in Python first and writes them with a few set-based statements, with the same
receipts; it falls back to this per-record path when it declines the batch):

- ``applied``: created or updated; carries the new server version and the stored record
  (for measurements: the computed assessment).
- ``duplicate``: the same UUID with the same content is already on the server (a retried
  batch): nothing changes and the same record comes back.
- ``conflict``: the server copy changed since ``base_version`` (or the UUID exists with other
  content): nothing is overwritten; the server copy comes back for the phone to resolve.
- ``invalid``: field errors, as ``{field: [messages]}``.

The per-entity work is done by the same operations the REST endpoints use, so validation,
assessment, audit and change-log entries are identical whichever way a record arrives.
"""
from __future__ import annotations

import uuid

import marshmallow as ma
import sqlalchemy as sa

from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, flatten_messages
from ..extensions import db
from .adapters import registered
from .pull import record_by_id

MAX_BATCH = 1000
#: Children before the records that refer to them, whatever order the phone sent.
ENTITY_ORDER = {"child": 0, "measurement": 1, "immunization": 2}


def _receipt(index: int, entity: str, record_id, status: str, **extra) -> dict:
    receipt = {"index": index, "entity": entity, "id": str(record_id) if record_id else None, "status": status}
    receipt.update({k: v for k, v in extra.items() if v is not None})
    return receipt


def push(scope, records: list[dict]) -> list[dict]:
    if scope.is_parent:
        raise Forbidden("Parents cannot push records.")
    registry = registered()  # the entities' adapters (posyandu/sync/adapters.py)
    order = sorted(range(len(records)), key=lambda i: (ENTITY_ORDER.get(records[i].get("entity"), 9), i))
    receipts: dict[int, dict] = {}
    batched: set[str] = set()
    for index in order:
        if index in receipts:
            continue
        entity = records[index].get("entity")
        adapter = registry.get(entity)
        if adapter is not None and adapter.apply_batch is not None and entity not in batched:
            batched.add(entity)
            indexes = [i for i in order if records[i].get("entity") == entity]
            results = adapter.apply_batch(scope, [_prepared(records[i]) for i in indexes])
            if results is not None:
                for i, result in zip(indexes, results):
                    result = dict(result)
                    receipts[i] = _receipt(i, entity, records[i].get("id"), result.pop("status"), **result)
                continue
        receipts[index] = _apply_one(scope, registry, index, records[index])
    return [receipts[i] for i in range(len(records))]


def _prepared(item: dict) -> dict:
    data = dict(item.get("data") or {})
    data["id"] = item.get("id")
    if item.get("client_updated_at"):
        data.setdefault("client_updated_at", item["client_updated_at"])
    return {"id": item.get("id"), "op": item.get("op", "upsert"), "base_version": item.get("base_version"),
            "data": data}


def _apply_one(scope, registry, index: int, item: dict) -> dict:
    entity = item.get("entity")
    record_id = item.get("id")
    adapter = registry.get(entity)
    if adapter is None:
        return _receipt(index, entity, record_id, "invalid",
                        errors={"entity": [f"Unknown entity; expected one of {sorted(registry)}."]})
    prepared = _prepared(item)
    op, base_version, data = prepared["op"], prepared["base_version"], prepared["data"]
    if op == "delete" and _is_deleted(scope, entity, record_id):
        return _receipt(index, entity, record_id, "duplicate")
    savepoint = db.session.begin_nested()
    try:
        if op == "delete":
            if adapter.delete is None:
                raise InvalidInput(errors={"op": [f"{entity} records cannot be deleted; close them instead."]})
            row = adapter.delete(scope, record_id, base_version)
            status, warnings = "applied", None
        elif base_version is None:
            row, created, warnings = adapter.create(scope, data)
            status = "applied" if created else "duplicate"
        else:
            row, warnings = adapter.update(scope, record_id, data, base_version)
            status = "applied"
        savepoint.commit()
    except Conflict as conflict:
        savepoint.rollback()
        if op != "delete" and adapter.same_content(scope, record_id, data):
            return _receipt(index, entity, record_id, "duplicate", **_current(entity, record_id))
        # the server copy only where the operation showed one (never another area's record)
        shown = _current(entity, record_id) if "server" in conflict.extra else {}
        return _receipt(index, entity, record_id, "conflict", detail=conflict.detail, **shown)
    except NotFound as missing:
        savepoint.rollback()
        return _receipt(index, entity, record_id, "invalid", errors=missing.errors or {"id": [missing.detail]})
    except Problem as invalid:  # InvalidInput, Forbidden, …
        savepoint.rollback()
        return _receipt(index, entity, record_id, "invalid",
                        errors=invalid.errors or {"_schema": [invalid.detail or invalid.title]})
    except ma.ValidationError as invalid:
        savepoint.rollback()
        return _receipt(index, entity, record_id, "invalid", errors=flatten_messages(invalid.messages))
    current = _current(entity, row.id)
    return _receipt(index, entity, row.id, status, warnings=warnings or None, **current)


def _current(entity: str, record_id) -> dict:
    try:
        record = record_by_id(entity, uuid.UUID(str(record_id)))
    except (ValueError, TypeError):
        return {}
    if record is None:
        return {}
    return {"version": record.get("version"), "record": record}


def _is_deleted(scope, entity: str, record_id) -> bool:
    """Already deleted (a retried delete): exists with its soft-delete mark set, for a child in
    the caller's scope (anyone else's record is not found, deleted or not)."""
    try:
        rid = uuid.UUID(str(record_id))
    except (ValueError, TypeError):
        return False
    if record_by_id(entity, rid) is not None:
        return False
    deleted = record_by_id(entity, rid, include_deleted=True)
    if deleted is None:
        return False
    from ..children.models import Child  # only measurements and immunizations are deleted
    return db.session.execute(sa.select(Child.id).where(
        Child.id == uuid.UUID(deleted["child_id"]), scope.child_clause())).first() is not None
