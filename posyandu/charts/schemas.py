"""Chart query arguments and the chart index (marshmallow at the edge)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..reports.areas import AREA_LEVELS, MONTH_PATTERN
from .labels import LANGUAGES
from .operations import VIEWS

_LANG = fields.String(validate=validate.OneOf(LANGUAGES), metadata={
    "description": "Chart labels in ``id`` (Bahasa Indonesia) or ``en``; default: your account's language, then "
                   "Accept-Language, then ``id``."})


class ChildChartArgs(ma.Schema):
    view = fields.String(load_default="auto", validate=validate.OneOf(VIEWS), metadata={
        "description": "Age range drawn: ``0-24`` or ``24-60`` months (weight-for-length: 0-24 is BB/PB on "
                       "length 45-110 cm, 24-60 is BB/TB on height 65-120 cm), ``0-60`` (age charts only), or "
                       "``auto`` (default): the range of the child's measurements."})
    lang = _LANG


class AreaChartArgs(ma.Schema):
    level = fields.String(validate=validate.OneOf(AREA_LEVELS), metadata={
        "description": "Area level, with ``code``: kabupaten, kecamatan, puskesmas, desa or posyandu. Without "
                       "both: your own area (dinkes: your kabupaten; puskesmas staff: your puskesmas; a kader of "
                       "one posyandu: it)."})
    code = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "Area code: a Kemendagri code dotted or undotted for kabupaten, kecamatan and desa; the "
                       "registry code for puskesmas and posyandu."})
    month = fields.String(metadata={"description": "``YYYY-MM``; default: this month. A future month is a 422.",
                                    "example": "2026-11", "pattern": MONTH_PATTERN})
    lang = _LANG

    @ma.validates_schema
    def _level_and_code(self, data, **kwargs):
        if ("level" in data) != ("code" in data):
            missing = "code" if "level" in data else "level"
            raise ma.ValidationError("level and code go together.", field_name=missing)


class TrendChartArgs(AreaChartArgs):
    months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=60),
                            metadata={"description": "How many months, ending with ``month`` (1-60, default 12)."})


class ChartLinkOut(ma.Schema):
    indicator = fields.String(metadata={"description": "weight-for-age, length-for-age, weight-for-length or "
                                                       "head-circumference-for-age (listed only when measured)."})
    points = fields.Integer(metadata={"description": "Values drawn as connected points."})
    flagged = fields.Integer(metadata={"description": "Implausible values drawn apart (ukur ulang)."})
    view = fields.String(metadata={"description": "The view ``auto`` picks."})
    svg = fields.String()
    png = fields.String()


class ChartIndexOut(ma.Schema):
    child_id = fields.UUID()
    charts = fields.List(fields.Nested(ChartLinkOut))
