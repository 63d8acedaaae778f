"""Edge schemas for parents' devices and notification preferences.

Devices: the FCM registration token or the Firebase Installation ID (``kind``) of one
installation of the parent app. The full token is never answered back (``token_tail``: its
last 8 characters, enough for the app to recognise its own entry).
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..core.calendar import parse_local_time

DEVICE_KINDS = ("fcm_token", "fid")
PLATFORMS = ("android", "ios", "web")
LANGUAGES = ("id", "en")


class LocalTime(fields.Field):
    """A local time of day, ``HH:MM`` (``HH.MM`` accepted), answered as ``HH:MM``."""

    default_error_messages = {"invalid": "Use HH:MM (or HH.MM), e.g. 21:00."}

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value.hour:02d}:{value.minute:02d}"

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            parsed = parse_local_time(value)
        except ValueError:
            raise self.make_error("invalid") from None
        return parsed.replace(second=0)


class DeviceCreateSchema(ma.Schema):
    token = fields.String(required=True, validate=validate.Length(min=8, max=512),
                          metadata={"description": "FCM registration token, or the Firebase Installation ID "
                                                   "when kind is 'fid'."})
    kind = fields.String(load_default="fcm_token", validate=validate.OneOf(DEVICE_KINDS))
    platform = fields.String(load_default="android", validate=validate.OneOf(PLATFORMS))
    app_version = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))

    @ma.pre_load
    def _strip(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("token"), str):
            data = {**data, "token": data["token"].strip()}
        return data


class DeviceRefreshSchema(DeviceCreateSchema):
    """The rotated token; ``kind``/``platform``/``app_version`` default to the old device's."""

    kind = fields.String(validate=validate.OneOf(DEVICE_KINDS))
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    app_version = fields.String(allow_none=True, validate=validate.Length(max=32))


class DeviceSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String()
    platform = fields.String()
    app_version = fields.String(allow_none=True)
    token_tail = fields.Function(lambda d: d.token[-8:])
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime()


class DeviceListSchema(ma.Schema):
    items = fields.List(fields.Nested(DeviceSchema))


class PreferencesSchema(ma.Schema):
    language = fields.String(validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "Language of push messages: 'id' (Bahasa Indonesia) "
                                                      "or 'en'."})
    quiet_start = LocalTime(allow_none=True, metadata={"description": "Start of the parent's quiet hours "
                                                                     "(local time of the child's posyandu)."})
    quiet_end = LocalTime(allow_none=True, metadata={"description": "End of the quiet hours; a push due inside "
                                                                   "them is sent at this time."})


class PreferencesUpdateSchema(PreferencesSchema):
    @ma.validates_schema
    def _pair(self, data, **kwargs):
        has_start, has_end = "quiet_start" in data, "quiet_end" in data
        if has_start != has_end:
            missing = "quiet_end" if has_start else "quiet_start"
            raise ma.ValidationError("Send quiet_start and quiet_end together (both null to remove).",
                                     field_name=missing)
        if has_start and (data["quiet_start"] is None) != (data["quiet_end"] is None):
            raise ma.ValidationError("quiet_start and quiet_end are both set or both null.",
                                     field_name="quiet_end")
        if has_start and data["quiet_start"] is not None and data["quiet_start"] == data["quiet_end"]:
            raise ma.ValidationError("quiet_end must differ from quiet_start.", field_name="quiet_end")
