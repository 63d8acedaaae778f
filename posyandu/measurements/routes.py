"""HTTP routes for measurements (thin: parse, check scope, call operations, dump).

Paths (under ``/api/v1``):

* ``POST   /measurements``                       record a visit (canonical create; child_id in the body)
* ``GET    /measurements?posyandu_id=&month=``   one posyandu's visits in a month (cursor pages)
* ``GET    /measurements/{id}``                  one visit
* ``PATCH  /measurements/{id}``                  correct a visit (optional ``base_version``)
* ``DELETE /measurements/{id}``                  soft delete (optional ``?base_version=``)
* ``GET    /children/{child_id}/growth``         a child's history with z-scores, categories, trend

The blueprint has no url_prefix of its own so that the growth path can live under
``/children``; every route spells its full path.
"""
from __future__ import annotations

from ..blueprint import Blueprint

from ..auth.scope import STAFF_ROLES, current_scope, roles_required
from . import operations as ops
from .assessment import standard_version
from .schemas import (DeleteArgs, GrowthOut, ListArgs, MeasurementCreate, MeasurementOut, MeasurementPage,
                      MeasurementUpdate, measurement_data, parent_measurement_data)

blp = Blueprint("measurements", __name__, url_prefix=None,
                description="Anthropometric measurements with z-scores, Indonesian categories and "
                            "N/T/O/B computed at write time.")

_CONFLICT = "The id exists with other values, the row was deleted, or base_version is stale; " \
            "the body's `server` member holds the server copy."


@blp.route("/measurements", methods=["POST"])
@roles_required(*STAFF_ROLES)
@blp.arguments(MeasurementCreate)
@blp.response(201, MeasurementOut)
@blp.alt_response(200, schema=MeasurementOut, description="A retry: same id and same values; nothing new stored.")
@blp.alt_response(409, description=_CONFLICT)
def create_measurement(data):
    """Record a measurement

    The canonical way to create a measurement (the child is named in the body). The client
    generates ``id``; a retried request with the same id and values answers 200 with the stored
    result and creates nothing. The answer carries the assessment computed by the growth engine
    and stored with the row: z-scores and flags (anthro names), Indonesian categories (codes
    with id/en labels), BGM, N/T/O/B with gain and KBM, 2T, warnings and ``standard_version``.
    Cadres: children of their posyandu; puskesmas staff: their area; dinkes: their kabupaten.
    """
    measurement, created = ops.record_measurement(current_scope(), data)
    return measurement_data(measurement), (201 if created else 200)


@blp.route("/measurements", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(ListArgs, location="query")
@blp.response(200, MeasurementPage)
def list_measurements(args):
    """List one posyandu's measurements in a month

    Ordered by date then id; pass ``next_cursor`` back as ``cursor`` for the next page.
    Filters: ``child_id``, ``trend_status`` (N/T/O/B), ``is_2t``, ``bgm``, ``category``
    (e.g. ``tbu.stunted``), ``include_deleted``. A posyandu outside the caller's area is 404.
    """
    scope = current_scope()
    rows, next_cursor = ops.list_measurements(
        scope, args["posyandu_id"], args["month"], child_id=args.get("child_id"),
        trend_status=args.get("trend_status"), is_2t=args.get("is_2t"), bgm=args.get("bgm"),
        category=args.get("category"), include_deleted=args["include_deleted"], cursor=args.get("cursor"),
        limit=args["limit"])
    return {"items": [measurement_data(m) for m in rows], "next_cursor": next_cursor}


@blp.route("/measurements/<uuid:measurement_id>", methods=["GET"])
@roles_required()
@blp.response(200, MeasurementOut)
def get_measurement(measurement_id):
    """Get one measurement

    Staff see the full record (deleted ones too, with ``deleted_at``); parents see their own
    children's live measurements without bookkeeping fields.
    """
    scope = current_scope()
    measurement = ops.get_measurement(scope, measurement_id)
    return parent_measurement_data(measurement) if scope.is_parent else measurement_data(measurement)


@blp.route("/measurements/<uuid:measurement_id>", methods=["PATCH"])
@roles_required(*STAFF_ROLES)
@blp.arguments(MeasurementUpdate)
@blp.response(200, MeasurementOut)
@blp.alt_response(409, description=_CONFLICT)
def update_measurement(data, measurement_id):
    """Correct a measurement

    Send only the fields to change, and ``base_version`` (the version you edited) to be told
    with 409 and the server copy when someone changed it meanwhile. The assessment is
    recomputed, and so are the child's later N/T/O/B and 2T statuses. Audited.
    """
    base_version = data.pop("base_version", None)
    measurement = ops.update_measurement(current_scope(), measurement_id, data, base_version=base_version)
    return measurement_data(measurement)


@blp.route("/measurements/<uuid:measurement_id>", methods=["DELETE"])
@roles_required(*STAFF_ROLES)
@blp.arguments(DeleteArgs, location="query")
@blp.response(204)
@blp.alt_response(409, description=_CONFLICT)
def delete_measurement(args, measurement_id):
    """Delete a measurement (soft)

    The row is kept with ``deleted_at`` set (nothing a cadre entered is lost) and left out of
    growth histories, lists and reports; the child's later statuses are recomputed. Deleting
    again is a no-op. Audited.
    """
    ops.delete_measurement(current_scope(), measurement_id, base_version=args.get("base_version"))
    return None


@blp.route("/children/<uuid:child_id>/growth", methods=["GET"])
@roles_required()
@blp.response(200, GrowthOut)
def child_growth(child_id):
    """A child's growth history

    Every live measurement, oldest first, with its stored z-scores, categories, N/T/O/B, 2T and
    warnings: the data behind the KMS chart. Parents may read their own children's.
    """
    child, rows = ops.child_growth(current_scope(), child_id)
    return {"child": child, "measurements": [parent_measurement_data(m) for m in rows],
            "standard_version": standard_version()}
