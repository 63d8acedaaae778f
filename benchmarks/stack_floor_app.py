"""The second floor for ``POST /measurements`` in bench_api.py: the floor's database work
(``floor_app.py``: SELECT the child by key, INSERT one row) behind this project's own request
machinery, to split the POST's distance from the floor into what the stack costs and what the
domain work costs.

It is the real app (``posyandu.create_app``, production settings, served by gunicorn like
``wsgi:app``) with one change: the measurement POST's use case (``record_measurement``) is
replaced by the floor's two statements. Everything around it is real and unchanged: the access
token and the per-request account check (one SELECT), rate-limit bookkeeping, the request body
loaded by the ``MeasurementCreate`` schema, the transaction wrapper (replay on deadlock, commit),
the response dumped by ``MeasurementOut``, request logging and metrics. Not here: the child's
write lock, the history read, the growth assessment (z-scores, categories, N/T/O/B, 2T), the
audit event, the sync change-log entry and the report summary row: the domain work the POST
adds on top.

So ``stack floor rps / floor rps`` is what the framework layers every endpoint shares cost, and
``POST rps / stack floor rps`` what the measurement's own work costs. Never deployed: a
measuring instrument only (it stores rows without an assessment).
"""
from __future__ import annotations

import gc

import sqlalchemy as sa

from posyandu import create_app
from posyandu.db import utcnow
from posyandu.errors import NotFound
from posyandu.extensions import db
from posyandu.measurements import operations

_MEASUREMENT = operations.Measurement.__table__
_CHILD = operations.Child.__table__
_POSYANDU_OF_CHILD = sa.select(_CHILD.c.posyandu_id).where(_CHILD.c.id == sa.bindparam("child_id", type_=sa.Uuid))
#: The columns floor_app.py writes.
_FLOOR_COLUMNS = ("id", "child_id", "posyandu_id", "measured_on", "weight_kg", "length_cm", "measure_method", "oedema",
                  "version", "created_at", "updated_at")
_INSERT = sa.insert(_MEASUREMENT).values({name: sa.bindparam(name, type_=_MEASUREMENT.c[name].type)
                                          for name in _FLOOR_COLUMNS})


def floor_record_measurement(scope, data: dict):
    """floor_app.py's work: the child's posyandu by key, one INSERT; answered as the POST does
    (a ``StoredMeasurement`` with every column, the assessment columns empty)."""
    session = db.session
    posyandu_id = session.execute(_POSYANDU_OF_CHILD, {"child_id": data["child_id"]}).scalar()
    if posyandu_id is None:
        raise NotFound("No such child.")
    now = utcnow()
    row = dict.fromkeys(_MEASUREMENT.columns.keys())
    row.update(id=data["id"], child_id=data["child_id"], posyandu_id=posyandu_id, measured_on=data["measured_on"],
               weight_kg=data.get("weight_kg"), length_cm=data.get("length_cm"),
               measure_method=data.get("measure_method"), oedema=False, version=1, created_at=now, updated_at=now,
               warnings=[])
    session.execute(_INSERT, {name: row[name] for name in _FLOOR_COLUMNS})
    return operations.StoredMeasurement(**row), True


operations.record_measurement = floor_record_measurement   # routes.py calls ops.record_measurement
app = create_app()

gc.collect()
gc.freeze()
