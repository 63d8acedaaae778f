"""A phone's measurement record as the operations take it (shared by ``sync_adapter``, the
per-record path, and ``sync_batch``, the set-based one, so both read a record the same way).

Phones push the REST field names (``MeasurementCreate`` for new records, ``MeasurementUpdate``
for edits). Computed and server-owned fields a phone may echo back from ``/sync/pull``
(z-scores, categories, trend, ``version``, …) are ignored: the server always recomputes them.
"""
from __future__ import annotations

import marshmallow as ma

from ..errors import InvalidInput
from . import operations as ops
from .schemas import MeasurementUpdate

#: The only fields a phone sends; everything else in a pulled record is computed by the server.
CLIENT_FIELDS = frozenset({"id", "child_id", "client_updated_at", *ops.ENTERED_FIELDS})


def clean(data: dict) -> dict:
    return {k: v for k, v in data.items() if k in CLIENT_FIELDS}


def update_data(data: dict, row_child_id) -> dict:
    """The loaded edit of a stored row (``InvalidInput`` when it would move to another child)."""
    cleaned = clean(data)
    cleaned.pop("id", None)
    child_id = cleaned.pop("child_id", None)
    if child_id is not None and str(child_id) != str(row_child_id):
        raise InvalidInput("A measurement cannot move to another child.",
                           errors={"child_id": ["cannot be changed; delete it and record it again"]})
    loaded = MeasurementUpdate().load(cleaned)
    loaded.pop("base_version", None)
    return loaded


def row_has_content(row, data: dict) -> bool:
    """Does the live ``row`` (object or mapping) already hold the entered values in ``data``?"""
    if ops._get(row, "deleted_at") is not None:
        return False
    try:
        loaded = update_data(data, ops._get(row, "child_id"))
    except (ma.ValidationError, InvalidInput):
        return False
    current = ops._entered(row)
    wanted = dict(current)
    wanted.update({k: v for k, v in loaded.items() if k in ops.ENTERED_FIELDS})
    return wanted == current
