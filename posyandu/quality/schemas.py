"""Data-quality schemas at the edge: the query (area, month or range, language) and the report."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..core.quality import CHECKS, CLASSES
from ..core.register_checks import REGISTER_CHECKS
from ..reports.areas import AREA_LEVELS


class QualityArgs(ma.Schema):
    level = fields.String(validate=validate.OneOf(AREA_LEVELS), metadata={
        "description": "Area level (with `code`). Default: your kabupaten (dinkes), puskesmas "
                       "(puskesmas staff) or only posyandu (kader)."})
    code = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "Region code (dotted `35.25` or undotted), puskesmas or posyandu registry code."})
    month = fields.String(metadata={"description": "One month, YYYY-MM.", "example": "2026-11"})
    from_month = fields.String(data_key="from", metadata={
        "description": "First month of a range (with `to`), YYYY-MM; at most 12 months."})
    to_month = fields.String(data_key="to", metadata={"description": "Last month of a range, YYYY-MM."})
    lang = fields.String(validate=validate.OneOf(("id", "en")), metadata={
        "description": "Language of labels and notes; default: your account's, then Accept-Language, then id."})


class QualityAreaOut(ma.Schema):
    level = fields.String()
    code = fields.String(metadata={"description": "Dotted Kemendagri code or registry code."})
    name = fields.String()


class QualityPeriodOut(ma.Schema):
    from_month = fields.String(data_key="from")
    to_month = fields.String(data_key="to")
    months = fields.Integer()

    @ma.pre_dump
    def _keys(self, data, **kwargs):
        return {"from_month": data["from"], "to_month": data["to"], "months": data["months"]}


class QualityGroupKeyOut(ma.Schema):
    kind = fields.String(metadata={"enum": ["area", "posyandu", "cadre"]})
    id = fields.Raw(allow_none=True, metadata={
        "description": "Posyandu or account id (null for visits whose author is unknown)."})
    code = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    role = fields.String(allow_none=True, metadata={"description": "Role of the account that entered the visits."})


class QualityCheckOut(ma.Schema):
    check = fields.String(metadata={"enum": list(CHECKS)})
    label = fields.String()
    n = fields.Integer(metadata={"description": "Rows this figure rests on."})
    value = fields.Float(allow_none=True, metadata={
        "description": "The figure that is classed: flagged % (0-100), SD, skewness, kurtosis, "
                       "digit preference score, or the p-value of the age/sex ratio test."})
    ratio = fields.Float(allow_none=True, metadata={
        "description": "Age ratio (6-29 : 30-59 months) or sex ratio (boys : girls) observed; null if "
                       "undefined (e.g. no girls)."})
    quality_class = fields.String(allow_none=True, metadata={"enum": list(CLASSES)})
    quality_label = fields.String(allow_none=True)
    points = fields.Integer(allow_none=True, metadata={"description": "SMART penalty points."})
    min_n = fields.Integer(metadata={"description": "Smallest n judged (see docs/data-quality.md)."})
    enough_data = fields.Boolean()


class QualityRegisterOut(ma.Schema):
    check = fields.String(metadata={"enum": list(REGISTER_CHECKS)})
    label = fields.String()
    n = fields.Integer(metadata={"description": "Visits that can show the problem."})
    count = fields.Integer(metadata={"description": "Visits that show it."})
    pct = fields.Float(allow_none=True, metadata={"description": "100 x count / n."})
    min_n = fields.Integer()
    enough_data = fields.Boolean()


class QualityGroupOut(ma.Schema):
    group = fields.Nested(QualityGroupKeyOut)
    rank = fields.Integer(metadata={"description": "1 = look here first."})
    visits = fields.Integer()
    children = fields.Integer()
    whz_n = fields.Integer(metadata={"description": "Visits with a sex, an age and a WHZ (the SMART checks' rows)."})
    score = fields.Integer(allow_none=True, metadata={
        "description": "SMART score: sum of the penalty points (null if a check could not be computed)."})
    quality_class = fields.String(allow_none=True, metadata={"enum": list(CLASSES)})
    quality_label = fields.String(allow_none=True)
    points_judged = fields.Integer(metadata={
        "description": "Penalty points of the checks with enough data (the sort key)."})
    register_max_pct = fields.Float(metadata={
        "description": "Highest rate among the register checks with enough data (second sort key)."})
    too_small = fields.Boolean(metadata={"description": "Some figure rests on too few rows to judge."})
    too_small_checks = fields.List(fields.String())
    size_note = fields.String(allow_none=True)
    checks = fields.List(fields.Nested(QualityCheckOut))
    register = fields.List(fields.Nested(QualityRegisterOut))


class QualityReportOut(ma.Schema):
    area = fields.Nested(QualityAreaOut)
    period = fields.Nested(QualityPeriodOut)
    grouping = fields.String(metadata={"enum": ["posyandu", "cadre"]})
    language = fields.String()
    settings_version = fields.String(metadata={"description": "Version of the data-quality thresholds."})
    total = fields.Nested(QualityGroupOut, metadata={"description": "The whole area."})
    groups = fields.List(fields.Nested(QualityGroupOut), metadata={
        "description": "Sorted: where a supervisor is most needed first."})
