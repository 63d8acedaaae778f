"""Measurements as seen by ``/sync/push`` (``posyandu.sync.adapters.Adapter``).

How a phone's record maps to the operations' data is ``sync_records`` (shared with the
set-based ``sync_batch``); this module wires the per-record operations and the batch path.
"""
from __future__ import annotations

import uuid

from ..errors import NotFound
from ..sync.adapters import Adapter
from . import operations as ops
from .schemas import MeasurementCreate
from .sync_batch import apply_batch
from .sync_records import clean, row_has_content, update_data


def create(scope, data: dict):
    measurement, created = ops.record_measurement(scope, MeasurementCreate().load(clean(data)))
    return measurement, created, list(measurement.warnings or []) if created else None


def update(scope, measurement_id, data: dict, base_version):
    current = ops.get_measurement(scope, uuid.UUID(str(measurement_id)))
    measurement = ops.update_measurement(scope, current.id, update_data(data, current.child_id),
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


ADAPTER = Adapter(create=create, update=update, delete=delete, same_content=same_content, apply_batch=apply_batch)
