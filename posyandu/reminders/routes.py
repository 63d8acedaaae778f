"""Reminders API (``/api/v1/reminders``)."""
from __future__ import annotations

from datetime import datetime, timedelta

import marshmallow as ma
from ..blueprint import Blueprint
from marshmallow import fields, validate

from ..auth.scope import current_scope, roles_required
from . import stats
from .models import DELIVERY_STATUSES

blp = Blueprint("reminders", __name__, url_prefix="/reminders",
                description="Push reminders to parents: delivery counts and failures")

MAX_STATS_DAYS = 366
DEFAULT_STATS_DAYS = 30


# ---------------------------------------------------------------- delivery stats
class StatsQuerySchema(ma.Schema):
    date_from = fields.Date(data_key="from", load_default=None,
                            metadata={"description": "First day (WIB); default: 30 days "
                                                     "before `to`."})
    date_to = fields.Date(data_key="to", load_default=None,
                          metadata={"description": "Last day (WIB, inclusive), default: today."})
    posyandu_id = fields.Integer(load_default=None, validate=validate.Range(min=1))

    @ma.post_load
    def _defaults(self, data, **kwargs):
        if data["date_to"] is None:
            data["date_to"] = datetime.now(stats.WIB).date()
        if data["date_from"] is None:
            data["date_from"] = data["date_to"] - timedelta(days=DEFAULT_STATS_DAYS)
        if data["date_from"] > data["date_to"]:
            raise ma.ValidationError("must not be before `from`", field_name="to")
        if (data["date_to"] - data["date_from"]).days >= MAX_STATS_DAYS:
            raise ma.ValidationError(f"the period is limited to {MAX_STATS_DAYS} days",
                                     field_name="to")
        return data


class LastErrorSchema(ma.Schema):
    error = fields.String(metadata={"description": "FCM error code and message, "
                                                   "e.g. `UNREGISTERED: ...`"})
    count = fields.Integer()
    last_at = fields.DateTime()


class PosyanduStatsSchema(ma.Schema):
    posyandu_id = fields.Integer()
    posyandu_name = fields.String(allow_none=True)
    reminders = fields.Integer(metadata={"description": "Reminders with at least one delivery."})
    deliveries = fields.Integer(metadata={"description": "One per reminder and parent's device."})
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(),
                            metadata={"description": "Deliveries per status: "
                                                     + ", ".join(DELIVERY_STATUSES)})
    retired_tokens = fields.Integer(metadata={"description": "Devices FCM rejected (retired)."})
    last_errors = fields.List(fields.Nested(LastErrorSchema))


class TotalsSchema(ma.Schema):
    reminders = fields.Integer()
    deliveries = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    retired_tokens = fields.Integer()


class StatsSchema(ma.Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    items = fields.List(fields.Nested(PosyanduStatsSchema))
    totals = fields.Nested(TotalsSchema)


@blp.get("/stats")
@blp.arguments(StatsQuerySchema, location="query")
@blp.response(200, StatsSchema)
@roles_required("admin", "dinkes", "puskesmas", "kader")
def delivery_stats(args):
    """Reminder deliveries per posyandu and status, with the latest errors.

    For the posyandu in your area (kader: your posyandu; puskesmas: its posyandu; dinkes: the
    kabupaten). Counts deliveries (one per reminder and device) whose reminder is due to be sent
    between `from` and `to` (days in WIB, inclusive), grouped by posyandu and status, plus the
    number of retired device tokens and the five most recent error messages per posyandu.
    A `posyandu_id` outside your area is not found (404). Parents may not use this (403).
    """
    return stats.delivery_stats(current_scope(), args["date_from"], args["date_to"],
                                args["posyandu_id"])
