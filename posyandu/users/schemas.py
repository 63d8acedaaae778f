"""Schemas of the user administration API (marshmallow 4)."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields, validate

from ..auth.models import ROLES
from ..auth.phones import InvalidPhone, normalise_phone
from ..auth.schemas import KabupatenRefSchema, PosyanduRefSchema, PuskesmasRefSchema
from ..schema_fields import RegionCode

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class PhoneField(fields.String):
    """An Indonesian phone number in any common format, loaded as E.164 (+62…)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_phone(text)
        except InvalidPhone:
            raise ma.ValidationError("Not a valid phone number (e.g. 0812-3456-7890 or +6281234567890).")


class UsernameField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if not USERNAME_RE.match(text) or not re.search(r"[a-z]", text):
            raise ma.ValidationError("3–64 characters: letters, digits, '.', '_' or '-', starting with a letter "
                                     "or digit and containing at least one letter.")
        return text


_CODE = validate.Length(min=1, max=32)


class UserCreateSchema(ma.Schema):
    username = UsernameField(allow_none=True, load_default=None)
    phone = PhoneField(allow_none=True, load_default=None)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.String(required=True, validate=validate.OneOf(("admin", "dinkes", "puskesmas", "kader")),
                         metadata={"description": "Parents are created by signing in with the app."})
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    posyandu_codes = fields.List(fields.String(validate=_CODE), load_default=list,
                                 metadata={"description": "kader: the posyandu they work at (one or more)."})
    puskesmas_code = fields.String(allow_none=True, load_default=None, validate=_CODE,
                                   metadata={"description": "puskesmas staff: their puskesmas."})
    kabupaten_code = RegionCode(level="kabupaten", allow_none=True, load_default=None,
                                metadata={"description": "dinkes: their kabupaten/kota"})
    language = fields.String(load_default="id", validate=validate.OneOf(("id", "en")))

    @ma.validates_schema
    def _login_name(self, data, **kwargs):
        if not data.get("username") and not data.get("phone"):
            raise ma.ValidationError("Give a username or a phone number (or both).", "username")


class UserUpdateSchema(ma.Schema):
    username = UsernameField(allow_none=True)
    phone = PhoneField(allow_none=True)
    full_name = fields.String(validate=validate.Length(min=1, max=120))
    role = fields.String(validate=validate.OneOf(("admin", "dinkes", "puskesmas", "kader")))
    posyandu_codes = fields.List(fields.String(validate=_CODE))
    puskesmas_code = fields.String(allow_none=True, validate=_CODE)
    kabupaten_code = RegionCode(level="kabupaten", allow_none=True)
    language = fields.String(validate=validate.OneOf(("id", "en")))


class PasswordResetSchema(ma.Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class UserQuerySchema(ma.Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()
    posyandu = fields.String(validate=_CODE, metadata={"description": "Posyandu code: its kader."})
    puskesmas = fields.String(validate=_CODE,
                              metadata={"description": "Puskesmas code: its staff and the kader of its posyandu."})
    kabupaten = RegionCode(level="kabupaten",
                           metadata={"description": "Kabupaten/kota: its dinkes, puskesmas staff and kader"})
    q = fields.String(validate=validate.Length(min=1, max=120),
                      metadata={"description": "Part of the username or full name (case-insensitive)."})
    cursor = fields.String(load_default=None, metadata={"description": "`next_cursor` of the previous page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class UserSchema(ma.Schema):
    id = fields.Integer()
    username = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    full_name = fields.String()
    role = fields.String()
    is_active = fields.Boolean()
    language = fields.String()
    posyandu = fields.List(fields.Nested(PosyanduRefSchema))
    puskesmas = fields.Nested(PuskesmasRefSchema, allow_none=True)
    kabupaten = fields.Nested(KabupatenRefSchema, allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UserListSchema(ma.Schema):
    items = fields.List(fields.Nested(UserSchema))
    next_cursor = fields.String(allow_none=True)
