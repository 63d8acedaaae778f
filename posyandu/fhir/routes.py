"""``GET /api/v1/fhir/export``: one resource type of an area as streamed NDJSON (admin, dinkes)."""
from __future__ import annotations

import marshmallow as ma
from flask import Response, current_app, stream_with_context
from marshmallow import fields, validate, validates_schema

from ..auth.scope import current_scope, roles_required
from ..blueprint import Blueprint
from ..reports.areas import AREA_LEVELS, resolve_area
from . import export as export_module
from . import mapping, reading

blp = Blueprint("fhir", __name__, url_prefix="/fhir",
                description="SATUSEHAT-compatible FHIR R4 bulk export (admin and dinkes only: contains NIKs)")


class ExportQuerySchema(ma.Schema):
    level = fields.String(required=True, validate=validate.OneOf(AREA_LEVELS),
                          metadata={"description": "Area level: " + ", ".join(AREA_LEVELS)})
    code = fields.String(required=True, validate=validate.Length(min=1, max=32),
                         metadata={"description": "Kemendagri code (dotted or not) or puskesmas/posyandu code"})
    resource_type = fields.String(required=True, data_key="type", validate=validate.OneOf(mapping.RESOURCE_TYPES),
                                  metadata={"description": "One FHIR resource type per request (one Bulk Data file)"})
    since = fields.Date(load_default=None, metadata={"description": "First event date (inclusive)"})
    until = fields.Date(load_default=None, metadata={"description": "Last event date (inclusive)"})

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise ma.ValidationError("Must not be before since.", field_name="until")


@blp.get("/export")
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(responses={"200": {"description": "One resource per line (FHIR Bulk Data NDJSON), streamed",
                            "content": {export_module.NDJSON_MIME: {"schema": {"type": "string"}}}}})
@roles_required("admin", "dinkes")
def export_ndjson(args):
    """Export one resource type of an area as NDJSON (FHIR Bulk Data shape).

    Patients carry NIKs in clear, so only admin and dinkes (within their kabupaten; any other
    area is not found) may export, and every export is audited. Dates are event dates; events
    before 2014-06-03 (rejected by SATUSEHAT) are left out. Timestamps are UTC."""
    scope = current_scope()
    area = resolve_area(scope, args["level"], args["code"])
    resource_type = args["resource_type"]
    selection = reading.Selection(area=area, since=args["since"], until=args["until"])
    ctx = export_module.context_from_config(current_app.config)
    export_module.audit_export(area=area, since=args["since"], until=args["until"], types=[resource_type],
                               via="api")
    body = stream_with_context(export_module.ndjson(resource_type, selection, ctx))
    response = Response(body, mimetype=export_module.NDJSON_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{resource_type}.ndjson"'
    response.headers["Cache-Control"] = "no-store"
    return response
