"""Immunization schemas at the edge: input validation and the response shapes per audience.

Dose codes are the schedule CSV codes (``HB0``, ``BCG``, ``OPV1`` … ``MR2``; case-insensitive on
input, upper-case on output). Dates are ISO 8601. ``given_on`` may not lie in the future of
Indonesia's easternmost zone (WIT, UTC+9); "not before birth" is checked against the child in
the operations.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import marshmallow as ma
from marshmallow import fields, validate

from ..core.schedule import default_schedule, dropouts
from ..schema_fields import RegionCode
from .models import PLACES

_LATEST_TZ = timezone(timedelta(hours=9))


def latest_today():
    return datetime.now(_LATEST_TZ).date()


def dose_codes() -> tuple[str, ...]:
    return tuple(d.code for d in default_schedule().doses)


class DoseCode(fields.String):
    """A schedule dose code; case-insensitive on input."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if text not in default_schedule().by_code:
            raise ma.ValidationError("unknown dose code; use one of " + ", ".join(dose_codes()))
        return text


def _not_future(value):
    if value > latest_today():
        raise ma.ValidationError("must not be in the future")


def _value_fields(required: bool) -> dict:
    return {
        "dose_code": DoseCode(required=required, metadata={
            "description": "Schedule dose code (immunization-schedule-id.csv), e.g. DPTHBHIB1, OPV2, MR1."}),
        "given_on": fields.Date(required=required, validate=_not_future,
                                metadata={"description": "Date the dose was given (local date)."}),
        "lot_number": fields.String(allow_none=True, validate=validate.Length(max=40),
                                    metadata={"description": "Vaccine batch/lot number."}),
        "place": fields.String(validate=validate.OneOf(PLACES), metadata={
            "description": "Where it was given: posyandu (this posyandu), puskesmas, other_facility "
                           "(private practice, hospital…). Default posyandu."}),
        "place_name": fields.String(allow_none=True, validate=validate.Length(max=120),
                                    metadata={"description": "Name of the facility when not this posyandu."}),
        "given_by_user_id": fields.Integer(allow_none=True, metadata={
            "description": "The health worker's user id, when they have an account."}),
        "given_by_name": fields.String(allow_none=True, validate=validate.Length(max=120),
                                       metadata={"description": "Who gave it (e.g. the bidan's name)."}),
        "client_updated_at": fields.AwareDateTime(allow_none=True, default_timezone=timezone.utc,
                                                  metadata={"description": "When the phone last changed it."}),
    }


class ImmunizationCreate(ma.Schema.from_dict({
    "id": fields.UUID(required=True, metadata={"description": "Client-generated UUID (retry-safe)."}),
    **_value_fields(required=True),
}, name="ImmunizationCreateBase")):
    class Meta:
        unknown = ma.RAISE


class ImmunizationSyncCreate(ma.Schema.from_dict({
    "id": fields.UUID(required=True),
    "child_id": fields.UUID(required=True),
    **_value_fields(required=True),
}, name="ImmunizationSyncCreateBase")):
    """The record as pushed through ``/sync/push`` (the child is named in the record)."""

    class Meta:
        unknown = ma.RAISE


class ImmunizationUpdate(ma.Schema.from_dict({
    **_value_fields(required=False),
    "base_version": fields.Integer(allow_none=True, validate=validate.Range(min=1),
                                   metadata={"description": "The version the client edited; 409 with the "
                                                            "server copy when it is no longer current."}),
}, name="ImmunizationUpdateBase")):
    class Meta:
        unknown = ma.RAISE

    @ma.validates_schema
    def _not_null(self, data, **kwargs):
        for name in ("dose_code", "given_on", "place"):
            if name in data and data[name] is None:
                raise ma.ValidationError("may not be null", name)


class DeleteArgs(ma.Schema):
    base_version = fields.Integer(validate=validate.Range(min=1))


class OnArgs(ma.Schema):
    on = fields.Date(metadata={"description": "Evaluate as of this date (default: today at the child's "
                                              "posyandu)."})


class Names(ma.Schema):
    id = fields.String()
    en = fields.String()


class ImmunizationOut(ma.Schema):
    """Staff view of a recorded dose."""

    id = fields.UUID()
    child_id = fields.UUID()
    posyandu_id = fields.Integer()
    dose_code = fields.String()
    vaccine_code = fields.String(allow_none=True, metadata={"description": "The dose's series, e.g. DPT-HB-Hib."})
    names = fields.Nested(Names, metadata={"description": "Parent-friendly dose name (Bahasa Indonesia / English)."})
    program = fields.String(metadata={"description": "dasar (IM-Dasar) or lanjutan (IM-Baduta)."})
    given_on = fields.Date()
    lot_number = fields.String(allow_none=True)
    place = fields.String()
    place_name = fields.String(allow_none=True)
    given_by_user_id = fields.Integer(allow_none=True)
    given_by_name = fields.String(allow_none=True)
    is_valid = fields.Boolean(metadata={"description": "False: stored as given but it does not count "
                                                      "(too early, interval too short, after the maximum age)."})
    invalid_reasons = fields.List(fields.String(), metadata={
        "description": "too_early, interval_too_short, after_max_age (empty when valid)."})
    invalid_reason = fields.String(allow_none=True, metadata={"description": "The reasons, comma-separated."})
    warnings = fields.List(fields.String(), metadata={
        "description": "Non-blocking remarks: interval_below_programme, recorded_as_other_dose, "
                       "outside_programme, extra_dose, date_after_today, within_early_grace."})
    version = fields.Integer()
    deleted_at = fields.AwareDateTime(allow_none=True)
    client_updated_at = fields.AwareDateTime(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    updated_by_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ParentImmunizationOut(ma.Schema):
    """Parent view: what was given, when and where; no bookkeeping."""

    id = fields.UUID()
    child_id = fields.UUID()
    dose_code = fields.String()
    names = fields.Nested(Names)
    given_on = fields.Date()
    place = fields.String()
    place_name = fields.String(allow_none=True)
    is_valid = fields.Boolean()
    invalid_reasons = fields.List(fields.String())


class ImmunizationListOut(ma.Schema):
    items = fields.List(fields.Nested(ImmunizationOut))


class ParentImmunizationListOut(ma.Schema):
    items = fields.List(fields.Nested(ParentImmunizationOut))


# --- schedule -------------------------------------------------------------------------------

class FhirCode(ma.Schema):
    system = fields.String()
    code = fields.String()


class AdministrationOut(ma.Schema):
    immunization_id = fields.UUID(allow_none=True)
    recorded_code = fields.String()
    given_on = fields.Date()
    valid = fields.Boolean()
    invalid_reasons = fields.List(fields.String())
    warnings = fields.List(fields.String())


class DoseScheduleOut(ma.Schema):
    code = fields.String()
    series = fields.String()
    dose_number = fields.Integer()
    program = fields.String()
    names = fields.Nested(Names)
    status = fields.String(metadata={"enum": ["given", "due", "overdue", "upcoming", "missed", "not_applicable"]})
    reason = fields.String(allow_none=True, metadata={"description": "Why missed / not applicable."})
    fhir_status = fields.Nested(FhirCode, metadata={
        "description": "ImmunizationRecommendation.recommendation.forecastStatus coding."})
    given_on = fields.Date(allow_none=True)
    next_date = fields.Date(allow_none=True, metadata={"description": "Earliest date it may (still) be given."})
    earliest_date = fields.Date(allow_none=True)
    recommended_date = fields.Date(allow_none=True)
    overdue_date = fields.Date(allow_none=True)
    latest_date = fields.Date(allow_none=True, metadata={"description": "Last permitted date (inclusive)."})
    administrations = fields.List(fields.Nested(AdministrationOut))


class CompletenessOut(ma.Schema):
    definition = fields.String()
    status = fields.String(metadata={"enum": ["complete", "complete_late", "in_progress", "incomplete"]})
    deadline = fields.Date(metadata={"description": "Doses must be given before this date."})
    required = fields.List(fields.String())
    missing = fields.List(fields.String())
    late = fields.List(fields.String())
    excluded = fields.List(fields.String())
    completed_on = fields.Date(allow_none=True)


class RegionSettingsOut(ma.Schema):
    kabupaten_code = RegionCode(level="kabupaten", allow_none=True)
    je_programme = fields.Boolean()
    cohort_born_from = fields.Dict(keys=fields.String(), values=fields.Date(allow_none=True))
    source = fields.String(metadata={"enum": ["national", "kabupaten"]})


class ScheduleOut(ma.Schema):
    child_id = fields.UUID()
    birth_date = fields.Date()
    evaluated_on = fields.Date()
    schedule_version = fields.String()
    region = fields.Nested(RegionSettingsOut)
    doses = fields.List(fields.Nested(DoseScheduleOut))
    idl = fields.Nested(CompletenessOut, metadata={"description": "Imunisasi Dasar Lengkap (current, IDL2023)."})
    idl_2017 = fields.Nested(CompletenessOut, metadata={"description": "Classic IDL (2017 definition)."})
    ibl = fields.Nested(CompletenessOut, metadata={"description": "Imunisasi Baduta Lengkap."})
    extra_doses = fields.List(fields.Nested(AdministrationOut))


# --- lists for cadres and puskesmas ---------------------------------------------------------

class ChildBrief(ma.Schema):
    id = fields.UUID()
    name = fields.String()
    sex = fields.Integer()
    birth_date = fields.Date()
    posyandu_id = fields.Integer()
    posyandu_name = fields.String()
    age_months = fields.Integer()


class DoseDueOut(ma.Schema):
    code = fields.String()
    names = fields.Nested(Names)
    status = fields.String()
    earliest_date = fields.Date(allow_none=True)
    recommended_date = fields.Date(allow_none=True)
    overdue_date = fields.Date(allow_none=True)
    latest_date = fields.Date(allow_none=True)


class SessionOut(ma.Schema):
    date = fields.Date()
    start_time = fields.String(metadata={"description": "Local time HH:MM."})
    end_time = fields.String(metadata={"description": "Local time HH:MM."})
    timezone = fields.String()
    zone_label = fields.String(metadata={"enum": ["WIB", "WITA", "WIT"]})
    starts_at = fields.AwareDateTime(metadata={"description": "Start instant (UTC)."})
    ends_at = fields.AwareDateTime()
    kind = fields.String(metadata={"enum": ["regular", "moved", "extra"]})
    moved_from = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)
    display = fields.String(metadata={"description": "Indonesian display, e.g. 'Selasa, 8 Desember 2026 "
                                                     "pukul 08.00 WIB'."})


class ExpectedChildOut(ma.Schema):
    child = fields.Nested(ChildBrief)
    doses = fields.List(fields.Nested(DoseDueOut), metadata={"description": "Due or overdue on the session date."})
    vaccines_id = fields.String(metadata={"description": "The doses as one Indonesian phrase."})


class PosyanduBrief(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String(allow_none=True)


class NextSessionListOut(ma.Schema):
    posyandu = fields.Nested(PosyanduBrief)
    session = fields.Nested(SessionOut, allow_none=True)
    evaluated_on = fields.Date()
    children = fields.List(fields.Nested(ExpectedChildOut))
    doses_needed = fields.Dict(keys=fields.String(), values=fields.Integer(),
                               metadata={"description": "How many children need each dose (vaccine planning)."})


class ListArgs(ma.Schema):
    posyandu_id = fields.Integer()
    on = fields.Date(metadata={"description": "As of this date (default: today at each child's posyandu)."})
    cursor = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class OverdueArgs(ListArgs):
    dose = DoseCode(metadata={"description": "Only this dose code."})


class OverdueItem(ma.Schema):
    child = fields.Nested(ChildBrief)
    doses = fields.List(fields.Nested(DoseDueOut))


class OverduePage(ma.Schema):
    items = fields.List(fields.Nested(OverdueItem))
    next_cursor = fields.String(allow_none=True)


class _UpperCode(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().upper()


class DropoutArgs(ListArgs):
    indicator = _UpperCode(metadata={"description": "A named dropout indicator (GET "
                                                       "/immunizations/dropout-indicators), e.g. "
                                                       "DPTHBHIB1-DPTHBHIB3 or DPTHBHIB1-MR1; or give from and to."})
    from_dose = DoseCode(data_key="from", metadata={"description": "e.g. DPTHBHIB1 or MR1."})
    to_dose = DoseCode(data_key="to", metadata={"description": "e.g. DPTHBHIB3 or MR2: a later dose of the same "
                                                             "series, or the other dose of a named indicator."})
    include_upcoming = fields.Boolean(load_default=False, metadata={
        "description": "Also list children not yet at the later dose's recommended age."})

    @ma.validates_schema
    def _pair(self, data, **kwargs):
        named = dropouts.indicators()
        if data.get("indicator") is not None:
            if data.get("from_dose") or data.get("to_dose"):
                raise ma.ValidationError("Give either indicator or from and to, not both.", "indicator")
            if data["indicator"] not in named:
                raise ma.ValidationError("Unknown dropout indicator. Use one of: " + ", ".join(named) + ".",
                                         "indicator")
            return
        first, later = data.get("from_dose"), data.get("to_dose")
        if not first and not later:
            raise ma.ValidationError("Give an indicator, or from and to.", "indicator")
        if not first:
            raise ma.ValidationError("Missing data for required field.", "from")
        if not later:
            raise ma.ValidationError("Missing data for required field.", "to")
        if not dropouts.is_valid_pair(first, later):
            raise ma.ValidationError(
                "Must be a later dose of the same series as 'from', or the other dose of a named indicator: "
                + ", ".join(named) + ".", "to")


class DropoutIndicatorOut(ma.Schema):
    code = fields.String(allow_none=True, metadata={"description": "Null for an ad-hoc same-series pair."})
    from_dose = fields.String(data_key="from")
    to_dose = fields.String(data_key="to")
    label = fields.String(metadata={"description": "In the caller's language."})
    label_id = fields.String()
    label_en = fields.String()
    source = fields.String(allow_none=True)


class DropoutItem(ma.Schema):
    child = fields.Nested(ChildBrief)
    from_given_on = fields.Date()
    to_dose = fields.Nested(DoseDueOut)


class DropoutIndicatorList(ma.Schema):
    items = fields.List(fields.Nested(DropoutIndicatorOut))


class DropoutPage(ma.Schema):
    indicator = fields.Nested(DropoutIndicatorOut)
    items = fields.List(fields.Nested(DropoutItem))
    next_cursor = fields.String(allow_none=True)


# --- region settings ------------------------------------------------------------------------

class RegionSettingsIn(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    je_programme = fields.Boolean(required=True, metadata={"description": "The kabupaten runs JE (JE1 at 10 months)."})
    cohort_born_from = fields.Dict(keys=fields.String(), values=fields.Date(allow_none=True), load_default=dict,
                                   metadata={"description": "Cohort key (PCV, RV, IPV2, JE) → first eligible birth "
                                                            "date, or null for no cohort restriction. Keys left "
                                                            "out use the national default."})
    note = fields.String(allow_none=True, validate=validate.Length(max=255))

    @ma.validates("cohort_born_from")
    def _keys(self, value, **kwargs):
        allowed = set(default_schedule().cohort_defaults)
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ma.ValidationError(f"unknown cohort key(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}")
