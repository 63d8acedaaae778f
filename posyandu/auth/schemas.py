"""Request/response schemas of the sign-in API (marshmallow 4)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..schema_fields import RegionCode


class LoginSchema(ma.Schema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=128),
                          metadata={"description": "Username, or phone number in any common Indonesian "
                                                   "format (0812…, 62812…, +62 812…)."})
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class RefreshSchema(ma.Schema):
    refresh_token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=4096))


class FirebaseLoginSchema(ma.Schema):
    id_token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=8192),
                             metadata={"description": "The Firebase ID token from phone-number sign-in."})


class PasswordChangeSchema(ma.Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class TokenPairSchema(ma.Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String(metadata={"description": "Always 'Bearer'."})
    access_expires_in = fields.Integer(metadata={"description": "Seconds until the access token expires."})
    refresh_expires_in = fields.Integer(metadata={"description": "Seconds until the refresh token expires."})


class PosyanduRefSchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class PuskesmasRefSchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class KabupatenRefSchema(ma.Schema):
    code = RegionCode(level="kabupaten")
    name = fields.String()


class MeSchema(ma.Schema):
    id = fields.Integer()
    username = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    full_name = fields.String()
    role = fields.String()
    language = fields.String()
    posyandu = fields.List(fields.Nested(PosyanduRefSchema),
                           metadata={"description": "Posyandu the user works in (kader: linked; puskesmas: "
                                                    "of the puskesmas; dinkes: empty, see kabupaten)."})
    puskesmas = fields.Nested(PuskesmasRefSchema, allow_none=True)
    kabupaten = fields.Nested(KabupatenRefSchema, allow_none=True)
    children_count = fields.Integer(allow_none=True,
                                    metadata={"description": "Parents: number of children linked to them."})


class SignedInSchema(TokenPairSchema):
    user = fields.Nested(MeSchema)
