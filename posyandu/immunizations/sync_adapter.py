"""Immunizations as seen by ``/sync/push`` (``posyandu.sync.adapters.Adapter``).

Phones push the REST field names (``ImmunizationSyncCreate``: the create body plus
``child_id``; ``ImmunizationUpdate`` for edits). Server-owned fields a phone may echo back from
``/sync/pull`` (``posyandu_id``, ``vaccine_code``, ``is_valid``, ``invalid_reason``,
``warnings``, ``version``, ``updated_at``) are ignored; the child of a record cannot be changed
by an edit (a different ``child_id`` is invalid).
"""
from __future__ import annotations

import uuid

import marshmallow as ma

from ..errors import InvalidInput, NotFound
from ..sync.adapters import Adapter
from . import operations as ops
from .schemas import ImmunizationSyncCreate, ImmunizationUpdate

#: Read-only fields of the pulled record; dropped from pushed data.
SERVER_FIELDS = frozenset({"posyandu_id", "vaccine_code", "is_valid", "invalid_reason", "invalid_reasons",
                           "warnings", "version", "updated_at", "created_at", "deleted_at", "names", "program",
                           "created_by_id", "updated_by_id"})


def _clean(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in SERVER_FIELDS}


def create(scope, data: dict):
    loaded = ImmunizationSyncCreate().load(_clean(data))
    row, created, warnings = ops.record_immunization(scope, loaded)
    return row, created, warnings


def _update_data(data: dict, row_child_id=None) -> dict:
    cleaned = _clean(data)
    cleaned.pop("id", None)
    child_id = cleaned.pop("child_id", None)
    if child_id is not None and row_child_id is not None and str(child_id) != str(row_child_id):
        raise InvalidInput("A record cannot move to another child",
                           errors={"child_id": ["cannot be changed; delete and record again"]})
    loaded = ImmunizationUpdate().load(cleaned)
    loaded.pop("base_version", None)
    return loaded


def _uuid(value) -> uuid.UUID:
    """``/sync/push`` hands record ids over as strings."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("No such immunization.") from None


def update(scope, immunization_id, data: dict, base_version):
    immunization_id = _uuid(immunization_id)
    current = ops.get_immunization(scope, immunization_id) if not scope.is_parent else None
    loaded = _update_data(data, current.child_id if current is not None else None)
    return ops.update_immunization(scope, immunization_id, loaded, base_version=base_version)


def delete(scope, immunization_id, base_version):
    return ops.delete_immunization(scope, _uuid(immunization_id), base_version=base_version)


def same_content(scope, immunization_id, data: dict) -> bool:
    try:
        row = ops.get_immunization(scope, uuid.UUID(str(immunization_id)))
    except (NotFound, ValueError, TypeError):
        return False
    if row.deleted_at is not None:
        return False
    try:
        loaded = _update_data(data, row.child_id)
    except (ma.ValidationError, InvalidInput):
        return False
    current = ops._entered(row)
    wanted = dict(current)
    wanted.update({k: v for k, v in loaded.items() if k in ops.ENTERED_FIELDS})
    if "place" not in loaded:
        wanted["place"] = ops._DEFAULTS["place"] if current["place"] is None else current["place"]
    return wanted == current


ADAPTER = Adapter(create=create, update=update, delete=delete, same_content=same_content)
