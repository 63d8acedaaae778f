"""The audit trail, readable by puskesmas staff (and dinkes, admin) for their area."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from ..blueprint import Blueprint
from marshmallow import fields, validate

from ..auth.scope import current_scope, roles_required
from ..extensions import db
from .models import AuditEvent

blp = Blueprint("audit", __name__, url_prefix="/audit", description="Audit trail (who changed what, when)")


class AuditQuerySchema(ma.Schema):
    entity = fields.String(load_default=None, validate=validate.OneOf(
        ["child", "measurement", "immunization", "user", "posyandu", "puskesmas", "calendar_exception", "device",
         "preferences", "fhir", "report"]))
    entity_id = fields.String(load_default=None)
    child_id = fields.UUID(load_default=None)
    posyandu_id = fields.Integer(load_default=None)
    user_id = fields.Integer(load_default=None)
    since = fields.AwareDateTime(load_default=None)
    before_id = fields.Integer(load_default=None, metadata={"description": "Cursor: the last id of the previous page."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class AuditEventSchema(ma.Schema):
    id = fields.Integer()
    at = fields.DateTime()
    user_id = fields.Integer(allow_none=True)
    action = fields.String()
    entity = fields.String()
    entity_id = fields.String()
    posyandu_id = fields.Integer(allow_none=True)
    child_id = fields.String(allow_none=True)
    changes = fields.Method("_changes", allow_none=True,
                            metadata={"type": "object",
                                      "description": "{field: [old, new]}; personal identifiers masked; "
                                                     "region codes dotted (35.25.01.2001)"})

    def _changes(self, event):
        changes = event["changes"] if isinstance(event, dict) else event.changes
        if not changes:
            return changes
        return {key: [_dotted_value(v) for v in pair] if key in _REGION_CODE_KEYS and isinstance(pair, list) else pair
                for key, pair in changes.items()}


#: Audited fields holding Kemendagri codes (stored undotted; answered dotted like the rest of the API).
_REGION_CODE_KEYS = frozenset({"desa_code", "kabupaten_code", "kecamatan_code", "desa_codes"})


def _dotted_value(value):
    from ..regions.codes import dotted
    if isinstance(value, str) and value.isdigit():
        return dotted(value)
    if isinstance(value, list):
        return [_dotted_value(v) for v in value]
    return value


class AuditPageSchema(ma.Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    next_cursor = fields.Integer(allow_none=True)


@blp.get("")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
@roles_required("admin", "dinkes", "puskesmas")
def list_events(args):
    """Audit events in your area, newest first (cursor: ``before_id``)."""
    scope = current_scope()
    query = sa.select(AuditEvent).where(scope.posyandu_clause(AuditEvent.posyandu_id))
    if scope.role == "admin":
        query = sa.select(AuditEvent)
    for key in ("entity", "entity_id", "posyandu_id", "user_id"):
        if args[key] is not None:
            query = query.where(getattr(AuditEvent, key) == args[key])
    if args["child_id"] is not None:
        query = query.where(AuditEvent.child_id == str(args["child_id"]))
    if args["since"] is not None:
        query = query.where(AuditEvent.at >= args["since"])
    if args["before_id"] is not None:
        query = query.where(AuditEvent.id < args["before_id"])
    rows = db.session.execute(query.order_by(AuditEvent.id.desc()).limit(args["limit"] + 1)).scalars().all()
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    return {"items": rows, "next_cursor": rows[-1].id if more and rows else None}
