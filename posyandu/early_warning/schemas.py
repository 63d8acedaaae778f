"""Schemas of the early-warning endpoints (query strings in, lists and counts out)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..core.growth.early_warning import INDICES, RULE_CODES
from ..reports.areas import AREA_LEVELS, MONTH_PATTERN

_MONTH = {"description": "Calendar month YYYY-MM (default: this month). Only visits up to its end count.",
          "pattern": MONTH_PATTERN, "example": "2026-11"}


class AreaArgs(ma.Schema):
    level = fields.String(validate=validate.OneOf(AREA_LEVELS), metadata={
        "description": "Area level. With `code`; both omitted: your own area (a cadre's posyandu, the "
                       "puskesmas, the dinkes's kabupaten)."})
    code = fields.String(validate=validate.Length(min=1, max=32), metadata={
        "description": "Area code: Kemendagri code for kabupaten/kecamatan/desa (dotted or undotted), registry "
                       "code for puskesmas and posyandu.", "example": "PY-GRS-001"})
    month = fields.String(metadata=_MONTH)


class ListArgs(AreaArgs):
    rule = fields.String(validate=validate.OneOf(RULE_CODES), metadata={
        "description": "Only children for whom this rule fired."})
    cursor = fields.String(metadata={"description": "`next_cursor` of the previous page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class MonthArgs(ma.Schema):
    month = fields.String(metadata=_MONTH)


class AreaOut(ma.Schema):
    level = fields.String()
    code = fields.String()
    name = fields.String()


class PosyanduOut(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class FlagOut(ma.Schema):
    rule = fields.String(metadata={"description": "Which rule fired.", "enum": list(RULE_CODES)})
    index = fields.String(allow_none=True, metadata={
        "description": "The index it fired on (haz = PB/U or TB/U, waz = BB/U, whz = BB/PB or BB/TB); null for "
                       "weight_flat.", "enum": list(INDICES)})
    measured_on = fields.String(metadata={"description": "The visit the rule fired at (ISO date).",
                                          "format": "date"})
    label = fields.String(metadata={"description": "The rule's name in the caller's language."})
    message = fields.String(metadata={"description": "What happened, with the numbers, in the caller's language."})
    advice = fields.String(metadata={"description": "What to do, in the caller's language."})
    label_id = fields.String()
    label_en = fields.String()
    message_id = fields.String()
    message_en = fields.String()
    advice_id = fields.String()
    advice_en = fields.String()
    values = fields.Dict(metadata={
        "description": "The numbers behind the message: from_z, to_z, from_measured_on, months, points, "
                       "trend_drop_z, months_to_minus_2 (haz_decline); z (haz_near_line); lines_crossed_z "
                       "(weight_crossing); weights_kg, measured_on, change_kg (weight_flat); gap_months "
                       "(gap_drop)."})


class ChildBriefOut(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    sex = fields.Integer(metadata={"description": "1 = laki-laki, 2 = perempuan."})
    birth_date = fields.Date()
    age_months = fields.Integer(metadata={
        "description": "Completed months on the month's last day (today for the current month)."})


class LastMeasurementOut(ma.Schema):
    id = fields.UUID()
    measured_on = fields.Date()
    age_months = fields.Integer(allow_none=True)
    weight_kg = fields.Float(allow_none=True)
    length_cm = fields.Float(allow_none=True)
    measure_method = fields.String(allow_none=True)
    zlen = fields.Float(allow_none=True)
    zwei = fields.Float(allow_none=True)
    zwfl = fields.Float(allow_none=True)
    cat_tbu = fields.String(allow_none=True)
    cat_bbu = fields.String(allow_none=True)
    cat_bbtb = fields.String(allow_none=True)
    trend_status = fields.String(allow_none=True)
    is_2t = fields.Boolean(allow_none=True)


class ItemOut(ma.Schema):
    child = fields.Nested(ChildBriefOut)
    posyandu = fields.Nested(PosyanduOut)
    flags = fields.List(fields.Nested(FlagOut))
    last_measurement = fields.Nested(LastMeasurementOut, metadata={
        "description": "The child's latest visit up to the month's end."})


def _by_rule():
    return fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Children listed per rule (a child can count under several)."})


class ListOut(ma.Schema):
    area = fields.Nested(AreaOut)
    month = fields.String()
    rules_version = fields.String()
    evaluated_through = fields.Date(metadata={"description": "The last day whose visits count."})
    children = fields.Integer(metadata={"description": "Children listed in the whole area (all pages)."})
    by_rule = _by_rule()
    items = fields.List(fields.Nested(ItemOut))
    next_cursor = fields.String(allow_none=True)


class PosyanduCountOut(ma.Schema):
    posyandu = fields.Nested(PosyanduOut)
    children = fields.Integer()
    by_rule = _by_rule()


class CountsOut(ma.Schema):
    area = fields.Nested(AreaOut)
    month = fields.String()
    rules_version = fields.String()
    children = fields.Integer()
    by_rule = _by_rule()
    posyandu = fields.List(fields.Nested(PosyanduCountOut))


class ChildWarningOut(ma.Schema):
    child_id = fields.UUID()
    month = fields.String()
    rules_version = fields.String()
    evaluated_through = fields.Date()
    listed = fields.Boolean(metadata={"description": "On the month's early-warning list."})
    excluded_as_stunted = fields.Boolean(metadata={
        "description": "Not listed because the latest length/height-for-age is already below -2 (the child is on "
                       "the stunting follow-up list instead)."})
    flags = fields.List(fields.Nested(FlagOut))
