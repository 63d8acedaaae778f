"""The command-centre feed document (for the OpenAPI: the route sends prepared JSON bytes)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

_COUNT = {"description": "A count: an integer, \"<5\" (1 to 4 children), \"withheld\" (5 or more, hidden so "
                         "that a \"<5\" of another desa of the same kecamatan cannot be worked out), or null "
                         "(not computed for this month).",
          "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["<5", "withheld"]}],
          "nullable": True, "example": 42}
_WITHHELD = {"description": "Why the rate is null: small_count (computed from a hidden count), no_data "
                            "(denominator 0) or not_computed; null when the rate is given.",
             "enum": ["small_count", "no_data", "not_computed", None], "nullable": True}


def Count():
    return fields.Raw(allow_none=True, metadata=dict(_COUNT))


class RateSchema(ma.Schema):
    pct = fields.Float(allow_none=True, metadata={"description": "Percent, 1 decimal."})
    withheld = fields.String(allow_none=True, metadata=dict(_WITHHELD))


class PrevalenceSchema(ma.Schema):
    cases = Count()
    n = Count()
    pct = fields.Float(allow_none=True, metadata={"description": "Prevalence (%), WHO anthro's estimate"})
    ci_low = fields.Float(allow_none=True, metadata={"description": "95% CI, lower limit (%), logit method"})
    ci_high = fields.Float(allow_none=True, metadata={"description": "95% CI, upper limit (%)"})
    withheld = fields.String(allow_none=True, metadata=dict(_WITHHELD))


class IdlSchema(ma.Schema):
    infants = Count()
    complete = Count()
    pct = fields.Float(allow_none=True, metadata={"description": "IDL coverage, cumulative this year (%)"})
    withheld = fields.String(allow_none=True, metadata=dict(_WITHHELD))


class FeedMonthSchema(ma.Schema):
    month = fields.String(metadata={"example": "2026-12"})
    registered = Count()
    measured = Count()
    weighed = Count()
    ds = fields.Nested(RateSchema, metadata={"description": "D/S: children weighed / registered (%)"})
    stunting = fields.Nested(PrevalenceSchema, metadata={"description": "Length/height-for-age < -2 SD"})
    wasting = fields.Nested(PrevalenceSchema, metadata={"description": "Weight-for-length/height < -2 SD "
                                                                      "(or oedema)"})
    underweight = fields.Nested(PrevalenceSchema, metadata={"description": "Weight-for-age < -2 SD (or oedema)"})
    two_t = Count()
    bgm = Count()
    idl = fields.Nested(IdlSchema)
    overdue_doses = Count()
    children_overdue = Count()
    early_warning = Count()
    quality_class = fields.String(allow_none=True, metadata={
        "description": "SMART data-quality class of the month's visits (excellent, good, acceptable, "
                       "problematic); null when the checks cannot be classed (too few visits)."})
    last_update = fields.DateTime(allow_none=True, metadata={
        "description": "When a measurement of this month in the area was last entered, changed or deleted."})


class FeedAreaSchema(ma.Schema):
    level = fields.String(metadata={"enum": ["kecamatan", "desa"]})
    code = fields.String(metadata={"description": "Kemendagri code, dotted", "example": "35.25.01.2001"})
    name = fields.String()
    kecamatan_code = fields.String(allow_none=True, metadata={"description": "A desa's kecamatan (dotted)"})
    months = fields.List(fields.Nested(FeedMonthSchema), metadata={"description": "Oldest first, 13 months."})


class KabupatenSchema(ma.Schema):
    level = fields.String()
    code = fields.String(metadata={"example": "35.25"})
    name = fields.String()


class SuppressionSchema(ma.Schema):
    threshold = fields.Integer(metadata={"example": 5})
    marker = fields.String(metadata={"example": "<5"})
    complementary_marker = fields.String(metadata={"example": "withheld"})


class FeedSchema(ma.Schema):
    kabupaten = fields.Nested(KabupatenSchema)
    generated_at = fields.DateTime()
    current_month = fields.String()
    months = fields.List(fields.String())
    suppression = fields.Nested(SuppressionSchema)
    slow_indicators_months = fields.List(fields.String(), metadata={
        "description": "Months for which overdue doses and the early-warning count are computed (the current "
                       "month); null in the others."})
    areas = fields.List(fields.Nested(FeedAreaSchema))
