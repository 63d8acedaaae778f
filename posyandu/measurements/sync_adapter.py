"""Measurements as seen by ``/sync/push`` (``posyandu.sync.push.Adapter``).

Phones push the REST field names (``MeasurementCreate`` for new records, ``MeasurementUpdate``
for edits). Computed and server-owned fields a phone may echo back from ``/sync/pull``
(z-scores, categories, trend, ``version``, …) are ignored: the server always recomputes them.
"""
from __future__ import annotations

import uuid

import marshmallow as ma

from ..errors import InvalidInput, NotFound
from ..sync.push import Adapter
from . import operations as ops
from .schemas import MeasurementCreate, MeasurementUpdate

#: The only fields a phone sends; everything else in a pulled record is computed by the server.
CLIENT_FIELDS = frozenset({"id", "child_id", "client_updated_at", *ops.ENTERED_FIELDS})


def _clean(data: dict) -> dict:
    return {k: v for k, v in data.items() if k in CLIENT_FIELDS}


def create(scope, data: dict):
    measurement, created = ops.record_measurement(scope, MeasurementCreate().load(_clean(data)))
    return measurement, created, list(measurement.warnings or []) if created else None


def _update_data(data: dict, row_child_id) -> dict:
    cleaned = _clean(data)
    cleaned.pop("id", None)
    child_id = cleaned.pop("child_id", None)
    if child_id is not None and str(child_id) != str(row_child_id):
        raise InvalidInput("A measurement cannot move to another child.",
                           errors={"child_id": ["cannot be changed; delete it and record it again"]})
    loaded = MeasurementUpdate().load(cleaned)
    loaded.pop("base_version", None)
    return loaded


def update(scope, measurement_id, data: dict, base_version):
    current = ops.get_measurement(scope, uuid.UUID(str(measurement_id)))
    measurement = ops.update_measurement(scope, current.id, _update_data(data, current.child_id),
                                         base_version=base_version)
    return measurement, list(measurement.warnings or [])


def delete(scope, measurement_id, base_version):
    return ops.delete_measurement(scope, uuid.UUID(str(measurement_id)), base_version=base_version)


def same_content(scope, measurement_id, data: dict) -> bool:
    try:
        row = ops.get_measurement(scope, uuid.UUID(str(measurement_id)))
    except (NotFound, ValueError, TypeError):
        return False
    return row_has_content(row, data)


def row_has_content(row, data: dict) -> bool:
    """Does the live ``row`` (object or mapping) already hold the entered values in ``data``?"""
    if ops._get(row, "deleted_at") is not None:
        return False
    try:
        loaded = _update_data(data, ops._get(row, "child_id"))
    except (ma.ValidationError, InvalidInput):
        return False
    current = ops._entered(row)
    wanted = dict(current)
    wanted.update({k: v for k, v in loaded.items() if k in ops.ENTERED_FIELDS})
    return wanted == current


def apply_batch(scope, items):
    from .sync_batch import apply_batch as _apply_batch
    return _apply_batch(scope, items)


ADAPTER = Adapter(create=create, update=update, delete=delete, same_content=same_content, apply_batch=apply_batch)
