"""HTTP routes for the posyandu calendar (thin: parse, check scope, call operations, dump).

Paths (under ``/api/v1``):

* ``GET    /posyandu/{id}/calendar?from=&to=``                 sessions in a range, exceptions applied
* ``GET    /posyandu/{id}/calendar/exceptions?from=&to=``      the exceptions
* ``POST   /posyandu/{id}/calendar/exceptions``                add one (moved, cancelled, extra)
* ``DELETE /posyandu/{id}/calendar/exceptions/{exception_id}`` remove one
* ``GET    /children/{child_id}/next-session?on=``             the child's next session and doses due then
"""
from __future__ import annotations

from datetime import timedelta

from ..blueprint import Blueprint

from ..auth.scope import STAFF_ROLES, current_scope, roles_required
from ..core import calendar as cal
from ..core.schedule import add_months
from . import operations as ops
from .schemas import (CalendarExceptionIn, CalendarExceptionList, CalendarExceptionOut, CalendarOut,
                      ChildNextSessionOut, ExceptionRangeArgs, NextSessionArgs, RangeArgs)

blp = Blueprint("calendar", __name__, url_prefix=None,
                description="Posyandu session calendar: the monthly rule plus moved, cancelled and extra sessions.")


def _brief(p) -> dict:
    return {"id": p.id, "name": p.name, "address": p.address}


@blp.route("/posyandu/<int:posyandu_id>/calendar", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(RangeArgs, location="query")
@blp.response(200, CalendarOut)
def calendar(args, posyandu_id):
    """Sessions of a posyandu in a date range

    The monthly rule (``session_rule``) with the exceptions applied: moved sessions appear on
    their new day (``kind: moved``, ``moved_from``), cancelled ones are gone, extra ones are
    added (``kind: extra``). Times are local to the posyandu, labelled WIB/WITA/WIT, with the
    start instant in UTC. Default range: today (at the posyandu) to three months later; at most
    two years.
    """
    posyandu = ops.load_posyandu(current_scope(), posyandu_id)
    start = args.get("start") or cal.local_today(posyandu.timezone)
    end = args.get("end") or add_months(start, 3)
    if end < start:
        end = start
    if (end - start).days > ops.MAX_RANGE_DAYS:
        end = start + timedelta(days=ops.MAX_RANGE_DAYS)
    found = ops.sessions(posyandu, start, end)
    return {"posyandu": _brief(posyandu), "timezone": posyandu.timezone,
            "zone_label": cal.zone_label(posyandu.timezone),
            "session_rule": posyandu.session_rule,
            "description": {lang: cal.describe_rule(posyandu.session_rule, posyandu.session_start,
                                                    posyandu.session_end, posyandu.timezone, language=lang)
                            for lang in ("id", "en")},
            "start": start, "end": end, "sessions": [ops.session_data(s) for s in found]}


@blp.route("/posyandu/<int:posyandu_id>/calendar/exceptions", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(ExceptionRangeArgs, location="query")
@blp.response(200, CalendarExceptionList)
def list_exceptions(args, posyandu_id):
    """A posyandu's calendar exceptions

    Ordered by the day they affect; ``from``/``to`` limit them to a range.
    """
    rows = ops.list_exceptions(current_scope(), posyandu_id, args.get("start"), args.get("end"))
    return {"items": rows}


@blp.route("/posyandu/<int:posyandu_id>/calendar/exceptions", methods=["POST"])
@roles_required(*STAFF_ROLES)
@blp.arguments(CalendarExceptionIn)
@blp.response(201, CalendarExceptionOut)
@blp.alt_response(200, schema=CalendarExceptionOut, description="The same exception already exists; nothing new.")
@blp.alt_response(409, description="That session day already has an exception, or the new day already has a session.")
def create_exception(data, posyandu_id):
    """Move, cancel or add a session

    ``moved`` needs ``original_date`` (a regular session day of the rule) and ``new_date``;
    ``cancelled`` needs ``original_date``; ``extra`` needs ``new_date``. ``start_time``/``end_time``
    override the usual hours for that day. Cadres of the posyandu, puskesmas staff of its
    puskesmas, dinkes of its kabupaten and admins may edit. Sending the same exception again
    answers 200 with the stored one. Audited.
    """
    row, created = ops.create_exception(current_scope(), posyandu_id, data)
    return row, (201 if created else 200)


@blp.route("/posyandu/<int:posyandu_id>/calendar/exceptions/<int:exception_id>", methods=["DELETE"])
@roles_required(*STAFF_ROLES)
@blp.response(204)
def delete_exception(posyandu_id, exception_id):
    """Remove a calendar exception

    The regular session comes back (for a moved or cancelled one). Audited.
    """
    ops.delete_exception(current_scope(), posyandu_id, exception_id)
    return None


@blp.route("/children/<uuid:child_id>/next-session", methods=["GET"])
@roles_required()
@blp.arguments(NextSessionArgs, location="query")
@blp.response(200, ChildNextSessionOut)
def child_next_session(args, child_id):
    """A child's next posyandu session

    The first session of the child's posyandu on or after today (or ``on``), with the doses
    due or overdue for the child on that day. Parents may read their own children's.
    """
    data = ops.child_next_session(current_scope(), child_id, args.get("on"))
    data["posyandu"] = _brief(data["posyandu"])
    return data
