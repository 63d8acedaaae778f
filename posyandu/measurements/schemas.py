"""Measurement schemas at the edge: input validation and the response shapes per audience.

Plausibility ranges (generous on purpose: they only stop typing errors such as 95 kg for
9.5 kg; the growth engine's z-score flags catch the implausible-but-possible values and ask
for a re-measurement):

* weight 0.5-60 kg and length/height 35-150 cm: a little wider than the fixed limits WHO
  anthro applied before version 1.1.0 (weight 0.9-58 kg, length/height 38-150 cm; see
  /work/shared/who-growth-standards/RULES.md §4 "Consequences"), which anthro 1.1.0 dropped in
  favour of the z-score flags.
* head circumference 20-65 cm and LiLA 5-35 cm: PosyanduGo's own limits, well outside the
  WHO 0-5-year tables' -5/+5 SD lines (head circumference about 28-57 cm, MUAC about 9-23 cm).

Dates are ISO 8601. ``measured_on`` may not lie in the future of Indonesia's easternmost time
zone (WIT, UTC+9); "not before birth" is checked against the child in the operations.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import marshmallow as ma
from marshmallow import fields, validate

from ..i18n import localize_warning
from ..schema_fields import MONTH_PATTERN
from . import assessment

WEIGHT_RANGE_KG = (0.5, 60.0)
LENGTH_RANGE_CM = (35.0, 150.0)
HEAD_RANGE_CM = (20.0, 65.0)
ARM_RANGE_CM = (5.0, 35.0)
MEASURE_METHODS = ("lying", "standing")
MEASURED_FIELDS = ("weight_kg", "length_cm", "head_circumference_cm", "arm_circumference_cm")

#: UTC+9 (WIT): the latest "today" anywhere in Indonesia.
_LATEST_TZ = timezone(timedelta(hours=9))


def latest_today():
    return datetime.now(_LATEST_TZ).date()


def _range(lo, hi, unit):
    return validate.Range(min=lo, max=hi, error=f"must be between {lo:g} and {hi:g} {unit}")


def _not_future(value):
    if value > latest_today():
        raise ma.ValidationError("must not be in the future")


def _value_fields(required_date: bool) -> dict:
    return {
        "measured_on": fields.Date(required=required_date, validate=_not_future,
                                   metadata={"description": "Date of the visit (local date at the posyandu)."}),
        "weight_kg": fields.Float(allow_none=True, validate=_range(*WEIGHT_RANGE_KG, "kg"),
                                  metadata={"description": "Weight in kg (BB)."}),
        "length_cm": fields.Float(allow_none=True, validate=_range(*LENGTH_RANGE_CM, "cm"),
                                  metadata={"description": "Length (lying, PB) or height (standing, TB) in cm, "
                                                           "as measured: the 0.7 cm adjustment is computed."}),
        "measure_method": fields.String(allow_none=True, validate=validate.OneOf(MEASURE_METHODS),
                                        metadata={"description": "How length/height was measured (cara ukur): "
                                                                 "'lying' (telentang) or 'standing' (berdiri). "
                                                                 "Required with length_cm."}),
        "head_circumference_cm": fields.Float(allow_none=True, validate=_range(*HEAD_RANGE_CM, "cm"),
                                              metadata={"description": "Head circumference (LK) in cm."}),
        "arm_circumference_cm": fields.Float(allow_none=True, validate=_range(*ARM_RANGE_CM, "cm"),
                                             metadata={"description": "Mid-upper arm circumference (LiLA) in cm."}),
        "oedema": fields.Boolean(metadata={"description": "Bilateral pitting oedema; only a health worker "
                                                         "(puskesmas/dinkes) may record true."}),
        "vitamin_a": fields.Boolean(allow_none=True,
                                    metadata={"description": "Vitamin A capsule given (6-59 months only; a "
                                                             "warning outside February/August)."}),
        "exclusive_breastfeeding": fields.Boolean(allow_none=True,
                                                  metadata={"description": "ASI eksklusif so far (0-5 months only)."}),
        "has_kia_book": fields.Boolean(allow_none=True, metadata={"description": "Buku KIA brought (K in SKDN)."}),
        "notes": fields.String(allow_none=True, validate=validate.Length(max=500)),
        "confirm_implausible": fields.Boolean(metadata={"description": (
            "The cadre weighed/measured again and the value stands. A weight or length outside the "
            "previous-visit checks (weight change > 1.5 kg/month, length 1 cm lower) is stored either "
            "way but decides nothing (no N/T/O/B, 2T, BGM or category) until it is corrected or "
            "confirmed; a value WHO flags as biologically implausible never counts, confirmed or not. "
            "Default false.")}),
        "client_updated_at": fields.AwareDateTime(allow_none=True, default_timezone=timezone.utc,
                                                  metadata={"description": "When the phone last changed it."}),
    }


def _check_values(data: dict, partial: bool) -> None:
    errors = {}
    if data.get("length_cm") is not None and not data.get("measure_method"):
        if not partial or "measure_method" in data:
            errors["measure_method"] = ["required when length_cm is given"]
    if not partial and all(data.get(f) is None for f in MEASURED_FIELDS):
        errors["weight_kg"] = ["at least one of weight_kg, length_cm, head_circumference_cm, "
                               "arm_circumference_cm is required"]
    if errors:
        raise ma.ValidationError(errors)


MeasurementCreateSchema = ma.Schema.from_dict({
    "id": fields.UUID(required=True, metadata={"description": "Client-generated UUID (retry-safe)."}),
    "child_id": fields.UUID(required=True),
    **_value_fields(required_date=True),
}, name="MeasurementCreate")


class MeasurementCreate(MeasurementCreateSchema):
    class Meta:
        unknown = ma.RAISE

    @ma.validates_schema
    def _values(self, data, **kwargs):
        _check_values(data, partial=False)


class MeasurementUpdate(ma.Schema.from_dict({
    **_value_fields(required_date=False),
    "base_version": fields.Integer(allow_none=True, validate=validate.Range(min=1),
                                   metadata={"description": "The version the client edited; 409 with the "
                                                            "server copy when it is no longer current."}),
}, name="MeasurementUpdateBase")):
    class Meta:
        unknown = ma.RAISE

    @ma.validates_schema
    def _values(self, data, **kwargs):
        _check_values(data, partial=True)


def _known_category(code: str) -> None:
    known = assessment.labels()["categories"]
    if code not in known:
        raise ma.ValidationError("Unknown category code. Use one of: " + ", ".join(sorted(known)) + ".")


class DeleteArgs(ma.Schema):
    base_version = fields.Integer(validate=validate.Range(min=1))


class ListArgs(ma.Schema):
    posyandu_id = fields.Integer(required=True)
    month = fields.String(required=True, validate=validate.Regexp(MONTH_PATTERN,
                                                                 error="must be YYYY-MM"),
                          metadata={"description": "Calendar month of the visits, YYYY-MM."})
    child_id = fields.UUID()
    trend_status = fields.String(validate=validate.OneOf(("N", "T", "O", "B")))
    is_2t = fields.Boolean()
    bgm = fields.Boolean()
    category = fields.String(validate=lambda code: _known_category(code),
                             metadata={"description": "A category code, e.g. tbu.stunted or bbtb.wasted "
                                                      "(codes of the rule set: " + ", ".join(
                                                          sorted(assessment.labels()["categories"])) + ")."})
    include_deleted = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(metadata={"description": "next_cursor from the previous page."})


# ---------------------------------------------------------------------------------------
# responses
# ---------------------------------------------------------------------------------------
class WarningOut(ma.Schema):
    code = fields.String()
    message = fields.String(metadata={"description": "In the caller's language (label_id or label_en)."})
    label_id = fields.String()
    label_en = fields.String()
    kind = fields.String(metadata={"description": "remeasure | referral | check"})
    refer = fields.Boolean()
    priority = fields.Integer()
    detail = fields.Dict(allow_none=True)


class CategoryOut(ma.Schema):
    index_label_id = fields.String(metadata={"description": "e.g. PB/U or TB/U"})
    index_label_en = fields.String()
    z = fields.Float(allow_none=True)
    implausible = fields.Boolean(allow_none=True, metadata={
        "description": "z flagged by WHO, or a value it uses is implausible: no category, measure again"})
    code = fields.String(allow_none=True, metadata={"description": "Stable category code, null = not assessed"})
    label_id = fields.String(allow_none=True)
    label_en = fields.String(allow_none=True)


class TrendOut(ma.Schema):
    status = fields.String(allow_none=True, metadata={"description": "N, T, O, B (growth-velocity-id.md §2)"})
    label_id = fields.String(allow_none=True)
    label_en = fields.String(allow_none=True)
    is_2t = fields.Boolean(allow_none=True)
    gain_g = fields.Integer(allow_none=True)
    kbm_g = fields.Integer(allow_none=True)


class AssessmentOut(ma.Schema):
    age_days = fields.Integer(allow_none=True)
    age_months = fields.Integer(allow_none=True)
    clenhei = fields.Float(allow_none=True, metadata={"description": "Length/height after the 0.7 cm adjustment"})
    cbmi = fields.Float(allow_none=True)
    zscores = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                          metadata={"description": "anthro columns zlen, zwei, zwfl, zbmi, zhc, zac (2 dp)"})
    flags = fields.Dict(keys=fields.String(), values=fields.Boolean(allow_none=True),
                        metadata={"description": "anthro flags flen, fwei, ... (true = implausible)"})
    categories = fields.Dict(keys=fields.String(), values=fields.Nested(CategoryOut),
                             metadata={"description": "bbu, tbu, bbtb, imtu, lku, lila"})
    bgm = fields.Boolean(allow_none=True, metadata={"description": "Below the KMS red line"})
    above_orange = fields.Boolean(allow_none=True)
    weight_implausible = fields.Boolean(allow_none=True, metadata={"description": (
        "The weight is implausible (WHO flag, or a change since the last usable weighing beyond the "
        "check, unconfirmed): stored, to weigh again, and it decides no status, BGM or category.")})
    length_implausible = fields.Boolean(allow_none=True, metadata={"description": (
        "The length/height is implausible (WHO flag, or lower than the last usable one beyond the "
        "tolerance, unconfirmed): stored, to measure again, and it decides no category.")})
    trend = fields.Nested(TrendOut)
    warnings = fields.List(fields.Nested(WarningOut))
    standard_version = fields.String(allow_none=True)
    computed_at = fields.AwareDateTime(allow_none=True)


class ParentMeasurementOut(ma.Schema):
    """What a parent sees: the values and their assessment, no bookkeeping."""
    id = fields.UUID()
    measured_on = fields.Date()
    weight_kg = fields.Float(allow_none=True)
    length_cm = fields.Float(allow_none=True)
    measure_method = fields.String(allow_none=True)
    head_circumference_cm = fields.Float(allow_none=True)
    arm_circumference_cm = fields.Float(allow_none=True)
    vitamin_a = fields.Boolean(allow_none=True)
    exclusive_breastfeeding = fields.Boolean(allow_none=True)
    assessment = fields.Nested(AssessmentOut)


class MeasurementOut(ParentMeasurementOut):
    """Cadre / puskesmas / dinkes view."""
    child_id = fields.UUID()
    posyandu_id = fields.Integer()
    oedema = fields.Boolean()
    has_kia_book = fields.Boolean(allow_none=True)
    notes = fields.String(allow_none=True)
    confirm_implausible = fields.Boolean()
    version = fields.Integer()
    deleted_at = fields.AwareDateTime(allow_none=True)
    client_updated_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    created_by_id = fields.Integer(allow_none=True)
    updated_by_id = fields.Integer(allow_none=True)


class MeasurementPage(ma.Schema):
    items = fields.List(fields.Nested(MeasurementOut))
    next_cursor = fields.String(allow_none=True)


class GrowthChildOut(ma.Schema):
    id = fields.UUID()
    sex = fields.Integer(metadata={"description": "1 = male, 2 = female"})
    birth_date = fields.Date()
    birth_weight_kg = fields.Float(allow_none=True)


class GrowthOut(ma.Schema):
    child = fields.Nested(GrowthChildOut)
    measurements = fields.List(fields.Nested(ParentMeasurementOut),
                               metadata={"description": "Oldest first; deleted ones left out"})
    standard_version = fields.String(metadata={"description": "Version the server computes with now"})


# ---------------------------------------------------------------------------------------
# row -> response dict (reads the stored columns only; nothing is recomputed here)
# ---------------------------------------------------------------------------------------
_INDEX_Z = {"bbu": ("zwei", "fwei"), "tbu": ("zlen", "flen"), "bbtb": ("zwfl", "fwfl"),
            "imtu": ("zbmi", "fbmi"), "lku": ("zhc", "fhc"), "lila": ("zac", "fac")}
#: The entered values each index uses (its category is withheld while one is implausible).
_INDEX_VALUES = {"bbu": ("weight",), "tbu": ("length",), "bbtb": ("weight", "length"),
                 "imtu": ("weight", "length"), "lku": (), "lila": ()}


def assessment_dict(m) -> dict:
    lab = assessment.labels()
    cats = {}
    for key, column in assessment.CATEGORY_COLUMNS.items():
        rule = lab["rules"][key]
        if rule.label_lying is not None and m.age_days is not None:
            index_label = rule.label_lying if m.age_days < lab["split_age_days"] else rule.label_standing
        else:
            index_label = (rule.label_id, rule.label_en)
        code = getattr(m, column)
        label = lab["categories"].get(code, (None, None)) if code else (None, None)
        z_col, f_col = _INDEX_Z[key]
        implausible = getattr(m, f_col)
        if any(getattr(m, f"{value}_implausible", None) for value in _INDEX_VALUES[key]):
            implausible = True
        cats[key] = {"index_label_id": index_label[0], "index_label_en": index_label[1],
                     "z": getattr(m, z_col), "implausible": implausible,
                     "code": code, "label_id": label[0], "label_en": label[1]}
    status_label = lab["trend"].get(m.trend_status, (None, None)) if m.trend_status else (None, None)
    return {
        "age_days": m.age_days, "age_months": m.age_months, "clenhei": m.clenhei, "cbmi": m.cbmi,
        "zscores": {c: getattr(m, c) for c in assessment.Z_COLUMNS},
        "flags": {c: getattr(m, c) for c in assessment.FLAG_COLUMNS},
        "categories": cats, "bgm": m.is_bgm, "above_orange": m.above_orange,
        "weight_implausible": m.weight_implausible, "length_implausible": m.length_implausible,
        "trend": {"status": m.trend_status, "label_id": status_label[0], "label_en": status_label[1],
                  "is_2t": m.is_2t, "gain_g": m.gain_g, "kbm_g": m.kbm_g},
        "warnings": [localize_warning(w) for w in m.warnings or ()], "standard_version": m.standard_version, "computed_at": m.computed_at,
    }


_OUT = MeasurementOut()
_PARENT_OUT = ParentMeasurementOut()


def measurement_data(m) -> dict:
    """Staff view of one row, not yet dumped (for ``@blp.response(..., MeasurementOut)``)."""
    return _as_dict(m, _OUT.fields)


def parent_measurement_data(m) -> dict:
    return _as_dict(m, _PARENT_OUT.fields)


def _as_dict(m, names) -> dict:
    data = {name: getattr(m, name) for name in names if name != "assessment"}
    data["assessment"] = assessment_dict(m)
    return data


def dump_measurement(m) -> dict:
    """Staff view of one row as JSON-ready data."""
    return _OUT.dump(_as_dict(m, _OUT.fields))


def dump_parent_measurement(m) -> dict:
    return _PARENT_OUT.dump(_as_dict(m, _PARENT_OUT.fields))
