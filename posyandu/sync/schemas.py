"""Edge schemas of the sync protocol (documented in the README for the Android developers)."""
import marshmallow as ma
from marshmallow import fields, validate

from .push import MAX_BATCH


class PushRecordSchema(ma.Schema):
    entity = fields.String(required=True, validate=validate.OneOf(["child", "measurement", "immunization"]))
    op = fields.String(load_default="upsert", validate=validate.OneOf(["upsert", "delete"]))
    id = fields.UUID(required=True, metadata={"description": "The record's client-generated UUID."})
    base_version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                                  metadata={"description": "Server version the edit started from; "
                                                           "null for a record created on the phone."})
    client_updated_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                             metadata={"description": "Edit time on the phone (ISO 8601 with offset)."})
    data = fields.Dict(load_default=dict, metadata={"description": "The record's fields, as in the REST API."})


class PushRequestSchema(ma.Schema):
    device_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    records = fields.List(fields.Dict(), required=True,
                          validate=validate.Length(min=1, max=MAX_BATCH,
                                                   error=f"A batch holds 1 to {MAX_BATCH} records."))


class ReceiptSchema(ma.Schema):
    index = fields.Integer()
    entity = fields.String(allow_none=True, metadata={
        "description": "The record's entity as sent; null when the record named none (then invalid)."})
    id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "applied | duplicate | conflict | invalid"})
    version = fields.Integer(allow_none=True)
    record = fields.Dict(allow_none=True)
    errors = fields.Dict(allow_none=True)
    warnings = fields.List(fields.Raw(), allow_none=True)
    detail = fields.String(allow_none=True)


class PushResponseSchema(ma.Schema):
    receipts = fields.List(fields.Nested(ReceiptSchema))
    summary = fields.Dict()


class PullQuerySchema(ma.Schema):
    since = fields.String(load_default=None, allow_none=True,
                          metadata={"description": "Opaque cursor from the previous pull; empty for a first pull."})
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=5000))


class ChangeSchema(ma.Schema):
    entity = fields.String()
    id = fields.String()
    op = fields.String(metadata={"description": "upsert | delete (tombstone: deleted or moved out of scope)"})
    version = fields.Integer(allow_none=True)
    seq = fields.Integer(allow_none=True)
    record = fields.Dict(allow_none=True)


class PullResponseSchema(ma.Schema):
    changes = fields.List(fields.Nested(ChangeSchema))
    cursor = fields.String()
    has_more = fields.Boolean()
    position = fields.Integer()
