"""Schemas at the edge of the follow-up list (query in, page out)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..core import follow_up as fu
from ..early_warning.schemas import FlagOut
from .export_schemas import ExportAreaOut, ReportArgs
from .follow_up import DEFAULT_LIMIT, MAX_LIMIT

REASON_FILTERS = (*fu.REASON_CODES, *fu.REASON_GROUPS)


class FollowUpArgs(ReportArgs):
    class Meta:
        exclude = ("by",)

    reason = fields.String(validate=validate.OneOf(REASON_FILTERS), metadata={
        "description": "Only children listed for this reason (`stunted`: new or known). Default: every reason."})
    early_warning = fields.Boolean(metadata={
        "description": "Include the early-warning reason. Default: yes for a posyandu, desa or puskesmas; no for a "
                       "kecamatan or kabupaten (evaluating it takes seconds there). `reason=early_warning` "
                       "includes it anyway."})
    cursor = fields.String(validate=validate.Length(max=1000),
                           metadata={"description": "`next_cursor` of the previous page."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


class FollowUpReasonOut(ma.Schema):
    code = fields.String(metadata={"enum": list(fu.REASON_CODES)})
    label = fields.String(metadata={"description": "In the caller's language."})
    label_id = fields.String()
    label_en = fields.String()
    refer = fields.Boolean(metadata={"description": "To refer to the puskesmas (gizi buruk, BGM, 2T)."})


class FollowUpRowReasonOut(FollowUpReasonOut):
    values = fields.Dict(metadata={
        "description": "The numbers behind the reason: severe_wasting/wasted: criteria (whz, muac, oedema), whz, "
                       "muac_cm, oedema, measured_on; stunted_new/stunted_known: haz, severe, measured_on, "
                       "previous_haz, previous_measured_on; underweight: waz, severe, measured_on; bgm: waz, "
                       "weight_kg, measured_on; two_t: weight_kg, gain_g, kbm_g, measured_on; not_weighed, "
                       "not_weighed_2m: last_weighed_on, months_without_weighing; early_warning: rules."})
    flags = fields.List(fields.Nested(FlagOut), metadata={
        "description": "early_warning only: every rule that fired, with its numbers and advice."})


class FollowUpChildOut(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    sex = fields.Integer(metadata={"description": "1 = laki-laki (male), 2 = perempuan (female)."})
    birth_date = fields.Date()
    age_months = fields.Integer(metadata={"description": "Completed months on `as_of`."})
    has_nik = fields.Boolean()
    nik_masked = fields.String(allow_none=True, metadata={"description": "As in the child registry (staff view)."})
    mother_name = fields.String(allow_none=True)


class FollowUpPosyanduLinksOut(ma.Schema):
    immunization_overdue = fields.String()
    immunization_dropouts = fields.String()


class FollowUpPosyanduOut(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    links = fields.Nested(FollowUpPosyanduLinksOut)


class FollowUpCategoryOut(ma.Schema):
    code = fields.String()
    label = fields.String()


class FollowUpMeasurementOut(ma.Schema):
    id = fields.UUID()
    measured_on = fields.Date()
    age_months = fields.Integer(allow_none=True)
    weight_kg = fields.Float(allow_none=True)
    length_cm = fields.Float(allow_none=True)
    measure_method = fields.String(allow_none=True)
    arm_circumference_cm = fields.Float(allow_none=True)
    oedema = fields.Boolean()
    zwei = fields.Float(allow_none=True, metadata={"description": "Null when flagged implausible."})
    zlen = fields.Float(allow_none=True)
    zwfl = fields.Float(allow_none=True)
    weight_implausible = fields.Boolean()
    length_implausible = fields.Boolean()
    bbu = fields.Nested(FollowUpCategoryOut, allow_none=True)
    tbu = fields.Nested(FollowUpCategoryOut, allow_none=True)
    bbtb = fields.Nested(FollowUpCategoryOut, allow_none=True)
    imtu = fields.Nested(FollowUpCategoryOut, allow_none=True)
    lila = fields.Nested(FollowUpCategoryOut, allow_none=True)
    trend_status = fields.String(allow_none=True, metadata={"description": "N, T, O or B."})
    is_2t = fields.Boolean(allow_none=True)
    is_bgm = fields.Boolean(allow_none=True)


class FollowUpChildLinksOut(ma.Schema):
    child = fields.String()
    charts = fields.String()
    weight_chart = fields.String()
    length_chart = fields.String()
    early_warning = fields.String()
    immunization_schedule = fields.String()


class FollowUpItemOut(ma.Schema):
    child = fields.Nested(FollowUpChildOut)
    posyandu = fields.Nested(FollowUpPosyanduOut, metadata={"description": "Where the child was on the month's last day."})
    last_measurement = fields.Nested(FollowUpMeasurementOut, allow_none=True, metadata={
        "description": "The month's record (its last weighing, else its last measurement); when the child was not "
                       "measured this month, her last measurement before it."})
    weighed_this_month = fields.Boolean()
    reasons = fields.List(fields.Nested(FollowUpRowReasonOut))
    links = fields.Nested(FollowUpChildLinksOut)


class FollowUpListLinksOut(ma.Schema):
    immunization_overdue = fields.String(metadata={
        "description": "Overdue doses (for a posyandu area: that posyandu; otherwise your whole scope)."})
    immunization_dropouts = fields.String(metadata={"description": "Dropouts DPT-HB-Hib 1 → 3."})
    immunization_dropouts_mr = fields.String(metadata={"description": "Dropouts DPT-HB-Hib 1 → MR 1."})
    dropout_indicators = fields.String()
    early_warnings = fields.String()
    download_xlsx = fields.String()
    download_csv = fields.String()


class FollowUpPageOut(ma.Schema):
    area = fields.Nested(ExportAreaOut)
    month = fields.String()
    as_of = fields.Date(metadata={"description": "The day ages are given for (month's end, or today)."})
    reason = fields.String(allow_none=True)
    early_warning_included = fields.Boolean()
    reasons = fields.List(fields.Nested(FollowUpReasonOut), metadata={"description": "The catalogue, in list order."})
    items = fields.List(fields.Nested(FollowUpItemOut))
    next_cursor = fields.String(allow_none=True)
    links = fields.Nested(FollowUpListLinksOut)
