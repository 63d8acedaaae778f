"""Calendar schemas: exceptions in and out, range arguments, sessions.

Times are local wall-clock times in the posyandu's zone (``HH:MM``; ``HH.MM`` accepted).
"""
from __future__ import annotations

from datetime import time

import marshmallow as ma
from marshmallow import fields, validate

from ..immunizations.schemas import DoseDueOut, PosyanduBrief, SessionOut
from ..core import calendar as cal
from .models import EXCEPTION_KINDS
from .operations import MAX_RANGE_DAYS


class LocalTime(fields.Field):
    """A local wall-clock time: ``08:00`` (``08.00`` also accepted); dumped as ``HH:MM``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value.hour:02d}:{value.minute:02d}"

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ma.ValidationError("Use HH:MM, e.g. 08:00.")
        try:
            return cal.parse_local_time(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class CalendarExceptionIn(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    kind = fields.String(required=True, validate=validate.OneOf(EXCEPTION_KINDS), metadata={
        "description": "moved: the session of original_date takes place on new_date; cancelled: no session on "
                       "original_date; extra: an additional session on new_date."})
    original_date = fields.Date(allow_none=True, metadata={"description": "The regular session day affected "
                                                                          "(moved, cancelled)."})
    new_date = fields.Date(allow_none=True, metadata={"description": "The new or extra session day."})
    start_time = LocalTime(allow_none=True, metadata={"description": "Override of the usual start (local HH:MM)."})
    end_time = LocalTime(allow_none=True, metadata={"description": "Override of the usual end (local HH:MM)."})
    note = fields.String(allow_none=True, validate=validate.Length(max=255),
                         metadata={"description": "E.g. 'Libur Natal', 'Ramadan'."})

    @ma.validates_schema
    def _shape(self, data, **kwargs):
        kind = data.get("kind")
        errors: dict[str, list[str]] = {}
        original, new = data.get("original_date"), data.get("new_date")
        if kind in ("moved", "cancelled") and original is None:
            errors["original_date"] = [f"required for a {kind} session"]
        if kind in ("moved", "extra") and new is None:
            errors["new_date"] = [f"required for a {kind} session"]
        if kind == "cancelled" and new is not None:
            errors["new_date"] = ["must be empty for a cancelled session"]
        if kind == "extra" and original is not None:
            errors["original_date"] = ["must be empty for an extra session"]
        if kind == "moved" and original is not None and new is not None and original == new:
            errors["new_date"] = ["must differ from original_date"]
        if kind == "cancelled" and (data.get("start_time") or data.get("end_time")):
            errors["start_time"] = ["a cancelled session has no times"]
        start, end = data.get("start_time"), data.get("end_time")
        if isinstance(start, time) and isinstance(end, time) and not start < end:
            errors["end_time"] = ["the session must end after it starts"]
        if errors:
            raise ma.ValidationError(errors)


class CalendarExceptionOut(ma.Schema):
    id = fields.Integer()
    posyandu_id = fields.Integer()
    kind = fields.String()
    original_date = fields.Date(allow_none=True)
    new_date = fields.Date(allow_none=True)
    start_time = LocalTime(allow_none=True)
    end_time = LocalTime(allow_none=True)
    note = fields.String(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()


class CalendarExceptionList(ma.Schema):
    items = fields.List(fields.Nested(CalendarExceptionOut))


class RangeArgs(ma.Schema):
    start = fields.Date(data_key="from", metadata={"description": "First day (default: today at the posyandu)."})
    end = fields.Date(data_key="to", metadata={"description": "Last day, inclusive (default: from + 3 months)."})

    @ma.validates_schema
    def _range(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise ma.ValidationError("must not be before 'from'", "to")
            if (end - start).days > MAX_RANGE_DAYS:
                raise ma.ValidationError(f"at most {MAX_RANGE_DAYS} days after 'from'", "to")


class ExceptionRangeArgs(RangeArgs):
    pass


class CalendarOut(ma.Schema):
    posyandu = fields.Nested(PosyanduBrief)
    timezone = fields.String()
    zone_label = fields.String(metadata={"enum": ["WIB", "WITA", "WIT"]})
    session_rule = fields.String()
    description = fields.Dict(keys=fields.String(), values=fields.String(),
                              metadata={"description": "The rule in words, id and en."})
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    sessions = fields.List(fields.Nested(SessionOut))


class NextSessionArgs(ma.Schema):
    on = fields.Date(metadata={"description": "First session on or after this date (default: today at the "
                                              "posyandu)."})


class ChildNextSessionOut(ma.Schema):
    child_id = fields.UUID()
    posyandu = fields.Nested(PosyanduBrief)
    session = fields.Nested(SessionOut, allow_none=True)
    doses = fields.List(fields.Nested(DoseDueOut), metadata={"description": "Doses due or overdue on that day."})
    vaccines_id = fields.String(metadata={"description": "The doses as one Indonesian phrase."})
