"""Posyandu sessions with times: the monthly rule plus calendar exceptions, set-wise.

Pure code (no Flask, no SQLAlchemy); builds on :mod:`posyandu.core.calendar` (dates only) and
adds what a reminder or a cadre's list needs: start/end times (an exception may override them),
the zone and its WIB/WITA/WIT label, the start instant in UTC, and where a session came from.

Inputs are duck-typed so ORM rows work directly:

- a posyandu: ``id``, ``session_rule``, ``session_start``, ``session_end``, ``timezone``;
- an exception: ``kind`` ("moved" | "cancelled" | "extra"), ``on`` (the regular date affected,
  or the extra session's date), ``moved_to`` (for "moved"), and optionally ``start_time``,
  ``end_time``, ``note`` (``posyandu.calendar.models.CalendarException`` has all of these;
  :class:`posyandu.core.calendar.SessionException` works too, without time overrides).

The reminder planner calls :func:`sessions_between` once for many posyandu::

    sessions = sessions_between(posyandu_rows, exceptions_by_posyandu, start, end)
    sessions[posyandu_id]  # -> [Session, ...] sorted by date

and :func:`first_session_on_or_after` to anchor an immunization reminder to "the next posyandu
session on or after the due date" (posyandu-operations-id.md §7).
"""
from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, Mapping

from . import calendar as cal

#: How far :func:`first_session_on_or_after` looks ahead (a moved session can skip a month).
LOOKAHEAD_DAYS = 400


@dataclass(frozen=True)
class Session:
    posyandu_id: int | None
    date: date
    start: time
    end: time
    zone: str
    #: "regular", "moved" (a regular session moved here) or "extra".
    kind: str = "regular"
    #: For a moved session: the regular date it replaces.
    moved_from: date | None = None
    note: str | None = None

    @property
    def zone_label(self) -> str:
        return cal.zone_label(self.zone)

    @property
    def starts_at(self) -> datetime:
        """Start instant, timezone-aware UTC."""
        return cal.session_start_utc(self.date, self.start, self.zone)

    @property
    def ends_at(self) -> datetime:
        return cal.session_start_utc(self.date, self.end, self.zone)

    def display_id(self) -> str:
        """``Selasa, 8 Desember 2026 pukul 08.00 WIB``."""
        return cal.format_session_id(self.date, self.start, self.zone)


def _month_end(d: date) -> date:
    return date(d.year, d.month, _calendar.monthrange(d.year, d.month)[1])


def sessions_for(posyandu, exceptions: Iterable = (), start: date | None = None,
                 end: date | None = None) -> list[Session]:
    """One posyandu's sessions with ``start <= date <= end``, exceptions applied, by date.

    A regular session moved INTO the window from a month outside it is included; one moved OUT
    of the window is not. When two exceptions produce the same date the later one in
    ``exceptions`` decides the times.
    """
    if start is None or end is None:
        raise ValueError("start and end are required")
    if end < start:
        return []
    exceptions = tuple(exceptions)
    dates = cal.sessions_between(posyandu.session_rule, start, end, exceptions)
    produced: dict[date, object] = {}
    for exc in exceptions:
        if exc.kind == "moved" and getattr(exc, "moved_to", None) is not None:
            produced[exc.moved_to] = exc
        elif exc.kind == "extra":
            produced[exc.on] = exc
    out = []
    for d in dates:
        exc = produced.get(d)
        if exc is None:
            out.append(Session(posyandu.id, d, posyandu.session_start, posyandu.session_end, posyandu.timezone))
            continue
        out.append(Session(
            posyandu.id, d,
            getattr(exc, "start_time", None) or posyandu.session_start,
            getattr(exc, "end_time", None) or posyandu.session_end,
            posyandu.timezone, kind=exc.kind,
            moved_from=exc.on if exc.kind == "moved" else None,
            note=getattr(exc, "note", None)))
    return out


def sessions_between(posyandu_rows: Iterable, exceptions_by_posyandu: Mapping[int, Iterable],
                     start: date, end: date) -> dict[int, list[Session]]:
    """Sessions of many posyandu in ``[start, end]``: ``{posyandu_id: [Session, ...]}``.

    ``exceptions_by_posyandu`` maps a posyandu id to its exceptions (missing = none). Every
    posyandu of ``posyandu_rows`` gets a key, possibly with an empty list.
    """
    return {p.id: sessions_for(p, exceptions_by_posyandu.get(p.id, ()), start, end) for p in posyandu_rows}


def first_session_on_or_after(posyandu, exceptions: Iterable, day: date,
                              lookahead_days: int = LOOKAHEAD_DAYS) -> Session | None:
    """The first session on or after ``day`` (``None`` if exceptions cancel all within the
    look-ahead). Used for "the next session" (``day`` = local today) and for anchoring a
    dose's reminder to the first session on or after its due date."""
    exceptions = tuple(exceptions)
    # look month by month first (the common case), then the whole window
    for end in (_month_end(day), _month_end(day + timedelta(days=40)), day + timedelta(days=lookahead_days)):
        found = sessions_for(posyandu, exceptions, day, end)
        if found:
            return found[0]
    return None
