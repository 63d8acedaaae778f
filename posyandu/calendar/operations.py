"""Posyandu calendar use cases: exceptions to the monthly rule, sessions in a range, next session.

* ``load_posyandu(scope, posyandu_id) -> Posyandu`` (404 outside the caller's area)
* ``list_exceptions(scope, posyandu_id, start=None, end=None) -> [CalendarException]``
* ``create_exception(scope, posyandu_id, data) -> (CalendarException, created: bool)``
    The same exception again (same kind and dates and times) returns the stored one with
    ``created=False``. A date already covered by another exception, or a target date that is
    already a session day, is ``Conflict`` (409).
* ``delete_exception(scope, posyandu_id, exception_id)``
* ``exceptions_by_posyandu(posyandu_ids, start, end) -> {posyandu_id: [CalendarException]}``
  (one query; what the reminder planner passes to ``posyandu.core.sessions.sessions_between``)
* ``sessions(posyandu, start, end) -> [Session]``, ``next_session(posyandu, on=None) -> Session | None``

Editing: cadres of that posyandu, puskesmas staff of its puskesmas, dinkes of its kabupaten and
admins (``scope.posyandu_clause``); parents may not (403).
"""
from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa

from ..audit.log import audit, field_diff
from ..core import calendar as cal
from ..core import sessions as core_sessions
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..regions.models import Posyandu
from .models import CalendarException

CE = CalendarException
MAX_RANGE_DAYS = 731
#: Exceptions that can affect a window reach this far outside it (a session moved by weeks).
_SLACK = timedelta(days=62)
_COMPARED = ("kind", "original_date", "new_date", "start_time", "end_time")


def _plain(values: dict) -> dict:
    """Times as HH:MM for the audit trail (JSON)."""
    return {k: (v.strftime("%H:%M") if isinstance(v, time) else v) for k, v in values.items()}


def load_posyandu(scope, posyandu_id: int) -> Posyandu:
    row = db.session.execute(sa.select(Posyandu).where(Posyandu.id == posyandu_id,
                                                       scope.posyandu_clause(Posyandu.id))).scalar_one_or_none()
    if row is None:
        raise NotFound("No such posyandu.")
    return row


def exceptions_by_posyandu(posyandu_ids, start: date | None = None, end: date | None = None) -> dict:
    """``{posyandu_id: [CalendarException, ...]}`` touching ``[start, end]`` (all when no range)."""
    ids = sorted(set(posyandu_ids))
    out: dict[int, list] = {pid: [] for pid in ids}
    if not ids:
        return out
    query = sa.select(CalendarException).where(CE.posyandu_id.in_(ids))
    if start is not None and end is not None:
        lo, hi = start - _SLACK, end + _SLACK
        query = query.where(sa.or_(CE.original_date.between(lo, hi), CE.new_date.between(lo, hi)))
    for row in db.session.execute(query.order_by(CE.id)).scalars():
        out[row.posyandu_id].append(row)
    return out


def list_exceptions(scope, posyandu_id: int, start: date | None = None, end: date | None = None):
    if scope.is_parent:
        raise Forbidden("Parents cannot see the calendar exceptions.")
    load_posyandu(scope, posyandu_id)
    query = sa.select(CalendarException).where(CE.posyandu_id == posyandu_id)
    if start is not None:
        query = query.where(sa.func.coalesce(CE.new_date, CE.original_date) >= start)
    if end is not None:
        query = query.where(sa.func.coalesce(CE.original_date, CE.new_date) <= end)
    return db.session.execute(query.order_by(sa.func.coalesce(CE.original_date, CE.new_date), CE.id)).scalars().all()


def sessions(posyandu: Posyandu, start: date, end: date):
    excs = exceptions_by_posyandu([posyandu.id], start, end)[posyandu.id]
    return core_sessions.sessions_for(posyandu, excs, start, end)


def next_session(posyandu: Posyandu, on: date | None = None):
    """The first session on or after ``on`` (default: today in the posyandu's zone)."""
    on = on or cal.local_today(posyandu.timezone)
    excs = exceptions_by_posyandu([posyandu.id], on, on + timedelta(days=core_sessions.LOOKAHEAD_DAYS))[posyandu.id]
    return core_sessions.first_session_on_or_after(posyandu, excs, on)


def _regular(posyandu: Posyandu, day: date) -> bool:
    return cal.regular_session(posyandu.session_rule, day.year, day.month) == day


def create_exception(scope, posyandu_id: int, data: dict):
    if scope.is_parent:
        raise Forbidden("Parents cannot change the posyandu calendar.")
    posyandu = load_posyandu(scope, posyandu_id)
    values = {k: data.get(k) for k in (*_COMPARED, "note")}
    kind = values["kind"]
    existing = db.session.execute(sa.select(CalendarException).where(CE.posyandu_id == posyandu_id)).scalars().all()
    for row in existing:
        if all(getattr(row, k) == values[k] for k in _COMPARED):
            return row, False  # a retry (or the same change entered twice)
    if kind in ("moved", "cancelled"):
        if not _regular(posyandu, values["original_date"]):
            regular = cal.regular_session(posyandu.session_rule, values["original_date"].year,
                                          values["original_date"].month)
            raise InvalidInput("original_date is not a regular session day",
                               errors={"original_date": [f"not a regular session day of this posyandu "
                                                         f"(that month's is {regular.isoformat()})"]})
        for row in existing:
            if row.kind in ("moved", "cancelled") and row.original_date == values["original_date"]:
                raise Conflict(f"The session of {values['original_date'].isoformat()} is already {row.kind}; "
                               "delete that exception first.", extra={"exception_id": row.id})
    if kind in ("moved", "extra"):
        target = values["new_date"]
        window = sessions(posyandu, target, target)
        if window:
            raise Conflict(f"There is already a session on {target.isoformat()}.",
                           errors={"new_date": ["already a session day"]})
    row = CalendarException(posyandu_id=posyandu_id, created_by_id=scope.user_id, **values)
    db.session.add(row)
    db.session.flush()
    audit("create", "calendar_exception", row.id,
          changes=field_diff({}, _plain({k: v for k, v in values.items() if v is not None})),
          posyandu_id=posyandu_id)
    return row, True


def delete_exception(scope, posyandu_id: int, exception_id: int) -> None:
    if scope.is_parent:
        raise Forbidden("Parents cannot change the posyandu calendar.")
    load_posyandu(scope, posyandu_id)
    row = db.session.execute(sa.select(CalendarException).where(CE.id == exception_id,
                                                                CE.posyandu_id == posyandu_id)).scalar_one_or_none()
    if row is None:
        raise NotFound("No such calendar exception.")
    before = {k: getattr(row, k) for k in (*_COMPARED, "note")}
    db.session.delete(row)
    db.session.flush()
    audit("delete", "calendar_exception", exception_id, changes=field_diff(_plain(before), {}),
          posyandu_id=posyandu_id)


def child_next_session(scope, child_id, on: date | None = None) -> dict:
    """The child's (in scope; parents: their own) next session and the doses due then."""
    from ..core.schedule import join_vaccine_names
    from ..immunizations import operations as imm
    child = imm.load_child(scope, child_id)
    posyandu = db.session.get(Posyandu, child.posyandu_id)
    session = next_session(posyandu, on)
    day = session.date if session else (on or cal.local_today(posyandu.timezone))
    due = imm.doses_due_for_child(child, posyandu, day)
    return {"child_id": child.id, "posyandu": posyandu, "session": session_data(session),
            "doses": [imm.dose_due_data(r) for r in due], "vaccines_id": join_vaccine_names([r.code for r in due])}


def session_data(session) -> dict:
    if session is None:
        return None
    return {"date": session.date, "start_time": f"{session.start.hour:02d}:{session.start.minute:02d}",
            "end_time": f"{session.end.hour:02d}:{session.end.minute:02d}", "timezone": session.zone,
            "zone_label": session.zone_label, "starts_at": session.starts_at, "ends_at": session.ends_at,
            "kind": session.kind, "moved_from": session.moved_from, "note": session.note,
            "display": session.display_id()}
