"""Schemas of the API-client administration (marshmallow 4)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..schema_fields import RegionCode
from .models import CLIENT_KINDS


class ApiClientCreateSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120),
                         metadata={"description": "Who uses the key, e.g. 'Command centre Gresik, wall display'.",
                                   "example": "Command centre Gresik"})
    kabupaten_code = RegionCode(level="kabupaten", required=True,
                                metadata={"description": "The one kabupaten/kota the key may read"})
    kind = fields.String(load_default="command_centre", validate=validate.OneOf(CLIENT_KINDS))


class ApiClientQuerySchema(ma.Schema):
    kabupaten_code = RegionCode(level="kabupaten", metadata={"description": "Only this kabupaten's clients"})


class ApiClientSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    kabupaten_code = RegionCode(level="kabupaten")
    key_prefix = fields.String(metadata={"description": "The key's first characters (not secret), to tell keys "
                                                        "apart."})
    is_active = fields.Boolean()
    revoked_at = fields.DateTime(allow_none=True)
    key_created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True, metadata={
        "description": "Last use (updated at most once an hour, when the use is audited)."})
    created_at = fields.DateTime()


class ApiClientWithKeySchema(ApiClientSchema):
    api_key = fields.String(metadata={
        "description": "The key. Shown ONLY in this answer: store it now; it cannot be read again.",
        "example": "pgcc_q3JX0cXb0cKQ8Qm2n0r5o1pW4f6v8yZ2aB4dE6gH8jK"})


class ApiClientListSchema(ma.Schema):
    items = fields.List(fields.Nested(ApiClientSchema))
