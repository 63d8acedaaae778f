"""API shapes for regions, puskesmas and posyandu (English field names, ISO 8601 dates,
region codes in dotted form, session times as local ``HH:MM`` in the posyandu's zone)."""
from __future__ import annotations

from datetime import time

import marshmallow as ma
from marshmallow import fields, validate

from ..core import calendar as cal
from ..schema_fields import RegionCode
from .models import REGION_LEVELS


class LocalTime(fields.Field):
    """A local wall-clock time: ``08:00`` (``08.00`` also accepted); dumped as ``HH:MM``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{value.hour:02d}:{value.minute:02d}"

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ma.ValidationError("Use HH:MM, e.g. 08:00.")
        try:
            return cal.parse_local_time(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


#: The shared field (posyandu/schema_fields.py); the old name kept for this package's schemas.
DottedCode = RegionCode


def _validate_rule(value: str) -> None:
    try:
        cal.parse_rule(value)
    except cal.RuleError as exc:
        raise ma.ValidationError(str(exc)) from None


# --- query strings ----------------------------------------------------------------------------

class RegionsPageArgs(ma.Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200),
                           metadata={"description": "Page size (1–200)."})
    cursor = fields.String(load_default=None, metadata={"description": "`next_cursor` of the previous page."})


class RegionListArgs(RegionsPageArgs):
    level = fields.String(load_default=None, validate=validate.OneOf(REGION_LEVELS))
    parent = fields.String(load_default=None, metadata={"description": "Parent code, dotted or undotted."})
    q = fields.String(load_default=None, validate=validate.Length(max=120),
                      metadata={"description": "Case-insensitive part of the name."})


class PuskesmasListArgs(RegionsPageArgs):
    kabupaten = fields.String(load_default=None, metadata={"description": "Kabupaten/kota code."})
    q = fields.String(load_default=None, validate=validate.Length(max=120))


class PosyanduListArgs(RegionsPageArgs):
    puskesmas_id = fields.Integer(load_default=None)
    desa = fields.String(load_default=None, metadata={"description": "Desa/kelurahan code."})
    kecamatan = fields.String(load_default=None, metadata={"description": "Kecamatan code."})
    kabupaten = fields.String(load_default=None, metadata={"description": "Kabupaten/kota code."})
    q = fields.String(load_default=None, validate=validate.Length(max=120))
    active = fields.Boolean(load_default=None)


# --- regions ----------------------------------------------------------------------------------

class RegionSchema(ma.Schema):
    code = DottedCode(metadata={"description": "Kemendagri code, dotted (35.25.01.2001)."})
    level = fields.String(metadata={"enum": list(REGION_LEVELS)})
    name = fields.String()
    parent_code = DottedCode(allow_none=True)
    bps_code = fields.String(allow_none=True, metadata={"description": "BPS code (a different numbering)."})


class RegionDetailSchema(RegionSchema):
    ancestors = fields.List(fields.Nested(RegionSchema), metadata={"description": "Provinsi first."})


class RegionPageSchema(ma.Schema):
    items = fields.List(fields.Nested(RegionSchema))
    next_cursor = fields.String(allow_none=True)


# --- puskesmas --------------------------------------------------------------------------------

class PuskesmasBriefSchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class PuskesmasSchema(PuskesmasBriefSchema):
    kecamatan_code = DottedCode()
    kabupaten_code = DottedCode()


class PuskesmasDetailSchema(PuskesmasSchema):
    desa_codes = fields.List(DottedCode(), metadata={"description": "Desa in the working area today."})


class PuskesmasPageSchema(ma.Schema):
    items = fields.List(fields.Nested(PuskesmasSchema))
    next_cursor = fields.String(allow_none=True)


# --- posyandu ---------------------------------------------------------------------------------

class NextSessionSchema(ma.Schema):
    date = fields.Date()
    starts_at = fields.DateTime(metadata={"description": "Start instant in UTC."})
    display = fields.String(metadata={"description": "e.g. 'Selasa, 8 Desember 2026 pukul 08.00 WIB'."})


class ScheduleDescriptionSchema(ma.Schema):
    id = fields.String(metadata={"description": "Bahasa Indonesia, e.g. 'Setiap Selasa kedua, 08.00–11.00 WIB'."})
    en = fields.String(metadata={"description": "English, e.g. 'Every second Tuesday, 08:00–11:00 WIB'."})


class PosyanduSchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    desa_code = DottedCode()
    desa_name = fields.Function(lambda p: p.desa.name if p.desa else None)
    kabupaten_code = DottedCode()
    puskesmas = fields.Nested(PuskesmasBriefSchema)
    timezone = fields.String(metadata={"description": "IANA zone, e.g. Asia/Jakarta."})
    timezone_label = fields.Function(lambda p: cal.zone_label(p.timezone), metadata={"enum": ["WIB", "WITA", "WIT"]})
    timezone_overridden = fields.Boolean()
    session_rule = fields.String(metadata={"description": "nth_weekday:N:DOW or day_of_month:D."})
    session_start = LocalTime(metadata={"description": "Local time HH:MM."})
    session_end = LocalTime(metadata={"description": "Local time HH:MM."})
    schedule_description = fields.Method("_describe")
    next_session = fields.Method("_next_session", allow_none=True)
    is_active = fields.Boolean()

    def _describe(self, p):
        return {language: cal.describe_rule(p.session_rule, p.session_start, p.session_end, p.timezone,
                                            language=language) for language in ("id", "en")}

    def _next_session(self, p):
        today = cal.local_today(p.timezone)
        on = cal.next_session(p.session_rule, today, inclusive=True)
        if on is None:
            return None
        return NextSessionSchema().dump({
            "date": on, "starts_at": cal.session_start_utc(on, p.session_start, p.timezone),
            "display": cal.format_session_id(on, p.session_start, p.timezone)})


class PosyanduPageSchema(ma.Schema):
    items = fields.List(fields.Nested(PosyanduSchema))
    next_cursor = fields.String(allow_none=True)


class PosyanduUpdateSchema(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    session_rule = fields.String(validate=_validate_rule,
                                 metadata={"description": "nth_weekday:N:DOW (N 1–4 or -1) or day_of_month:D."})
    session_start = LocalTime()
    session_end = LocalTime()
    timezone = fields.String(allow_none=True, validate=validate.OneOf(cal.INDONESIAN_ZONES),
                             metadata={"description": "Override the zone; null = derive from the province."})

    @ma.validates_schema
    def _times(self, data, **kwargs):
        start, end = data.get("session_start"), data.get("session_end")
        if isinstance(start, time) and isinstance(end, time) and not start < end:
            raise ma.ValidationError("The session must end after it starts.", "session_end")


class PosyanduCreateSchema(PosyanduUpdateSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    desa_code = fields.String(required=True, metadata={"description": "Desa/kelurahan code, dotted or undotted."})
    puskesmas_id = fields.Integer(required=True)
