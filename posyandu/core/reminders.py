"""The reminder planner: which child gets which push, about what, and at which instant.

Pure code (no Flask, no SQLAlchemy). The database side (``posyandu/reminders/planning.py``)
loads children, doses, sessions and already-planned reminders set-wise, calls
:func:`plan_child` per child and writes the result. posyandu-operations-id.md §4, §6, §7.

Rules, as implemented (``today`` = the date of ``now`` in the posyandu's zone; the *window* is
the send days ``today … today + horizon_days``):

Immunization (``imm_h3``, ``imm_h0``)
  The child is evaluated once with the schedule engine as of ``today``. A dose is *due at a
  session S* when it is pending (due, overdue or upcoming — never given, missed or not
  applicable), its recommended date is on or before S (it "becomes due on or before the
  session") and it may still be given on S (earliest valid date <= S <= last permitted date,
  i.e. not beyond ``max_age``). Each such dose is anchored to the FIRST session on or after
  ``max(recommended date, today)`` — the next posyandu session on or after the due date, or the
  next upcoming session for a dose already overdue — and only to that one. For a session S with
  due doses the child gets ``imm_h3`` on S − 3 days and ``imm_h0`` on S, both naming all doses
  due at S in one message (``ref_key`` = the dose codes in schedule order joined with ``+``,
  ``ref_date`` = S).

Weighing (``weighing``)
  One per child per session S (``ref_key = "session"``, ``ref_date`` = S), sent the morning of
  S, for children younger than 60 months on S.

Catch-up (``overdue``), for doses overdue with no posyandu session soon enough
  On a day d a dose is *overdue* when its overdue date (recommended + grace, engine) <= d <=
  its last permitted date. An overdue reminder is sent on day d only when the child's posyandu
  has no session from ``today`` up to d + 10 days (:data:`OVERDUE_NO_SESSION_WITHIN_DAYS`: a
  session that close gets its own H-3 within the week; and nothing is planned for after a
  session that has not happened yet, whose records may still come in), naming every overdue dose that has had fewer than
  three overdue reminders (:data:`OVERDUE_MAX_PER_DOSE`). At most one overdue reminder per child
  per 7 days: the first candidate day is ``max(today, last overdue send day + 7)``; later ones in
  the same window follow the same 7-day spacing. ``ref_date`` = the Monday of d's ISO week.
  History = the child's overdue reminders that are not cancelled and whose send instant has
  passed (``send_at <= now``); overdue reminders planned for the future are recomputed.

Send time
  07:00 in the posyandu's IANA zone (:data:`SEND_AT_LOCAL`) on the send day. A reminder whose
  07:00 lies more than :data:`LATE_GRACE` (3 h) before ``now`` is not created; one planned late
  within the grace (e.g. H-0 at 08:30) is sent at ``now``. Never inside the global quiet period
  20:00–06:00 local (§7 says none after 20.00, which also satisfies the issue's 21:00–06:00; an
  instant inside it moves to 06:00). Per device the parent's own quiet hours apply too
  (:func:`delivery_time`): an instant inside ``[quiet_start, quiet_end)`` moves to ``quiet_end``
  (windows may wrap midnight; ``start == end`` means none).

One push per child per day
  Candidates on the same send day are ranked ``imm_h0`` > ``weighing`` > ``imm_h3`` >
  ``overdue`` and only the first is kept (so an H-0 replaces the weighing push of that morning:
  the immunization text names the posyandu and the hour). A day that already has a reminder whose
  send instant has passed (sent or being sent) gets nothing else.

Reconciliation
  Existing reminders that are not cancelled, still in the future (``send_at > now``), with a send
  day in the window, and are no longer wanted (a dose recorded meanwhile, the dose set changed,
  the session moved) are returned in :attr:`ChildPlan.cancel`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from .schedule import DoseStatus, add_months, default_schedule, evaluate_child
from .schedule.data import RegionSettings, ScheduleData

KINDS = ("imm_h3", "imm_h0", "weighing", "overdue")
#: Same-day ranking for "one push per child per day" (first wins).
KIND_PRIORITY = {"imm_h0": 0, "weighing": 1, "imm_h3": 2, "overdue": 3}
SCREENS = {"imm_h3": "immunization_schedule", "imm_h0": "immunization_schedule",
           "overdue": "immunization_schedule", "weighing": "posyandu_day"}

SEND_AT_LOCAL = time(7, 0)
GLOBAL_QUIET_START = time(20, 0)
GLOBAL_QUIET_END = time(6, 0)
LATE_GRACE = timedelta(hours=3)
H3_DAYS = 3
WEIGHING_MAX_AGE_MONTHS = 60
OVERDUE_MIN_GAP_DAYS = 7
OVERDUE_MAX_PER_DOSE = 3
OVERDUE_NO_SESSION_WITHIN_DAYS = 10
#: How far past the window the sessions given to :func:`plan_child` should reach (H-3 of a
#: session 3 days after the window, the no-session test, and the overdue text's next session).
SESSIONS_AHEAD_DAYS = 70

_PENDING = (DoseStatus.DUE, DoseStatus.OVERDUE, DoseStatus.UPCOMING)


@dataclass(frozen=True, slots=True)
class PosyanduInfo:
    id: int
    name: str
    timezone: str
    session_start: time
    #: Session dates (exceptions applied), sorted, from ``today`` to at least
    #: ``today + horizon_days + SESSIONS_AHEAD_DAYS``.
    sessions: tuple[date, ...]
    address: str | None = None
    #: Local start time of a moved or extra session that differs from ``session_start``.
    start_overrides: dict = field(default_factory=dict)

    def start_on(self, day: date) -> time:
        return self.start_overrides.get(day, self.session_start)


@dataclass(frozen=True, slots=True)
class ChildInfo:
    id: object
    birth_date: date
    name: str
    #: Valid, not deleted recorded doses: ``(dose_code, given_on)``.
    doses_given: tuple[tuple[str, date], ...] = ()
    region: RegionSettings | None = None


@dataclass(frozen=True, slots=True)
class ExistingReminder:
    kind: str
    ref_key: str
    ref_date: date
    send_at: datetime
    cancelled: bool = False
    id: int | None = None

    @property
    def key(self) -> tuple[str, str, date]:
        return (self.kind, self.ref_key, self.ref_date)


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    child_id: object
    posyandu_id: int
    kind: str
    ref_key: str
    ref_date: date
    send_at: datetime  # aware UTC
    params: dict

    @property
    def key(self) -> tuple[str, str, date]:
        return (self.kind, self.ref_key, self.ref_date)


@dataclass(slots=True)
class ChildPlan:
    #: Every reminder wanted in the window (existing ones included: the writer inserts with
    #: ON CONFLICT DO NOTHING, so those add nothing).
    wanted: list[PlannedReminder] = field(default_factory=list)
    #: Existing future reminders no longer wanted.
    cancel: list[ExistingReminder] = field(default_factory=list)


# --- time ---------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _in_period(t: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end  # wraps midnight


def _move_out(local: datetime, periods: Sequence[tuple[time, time]]) -> datetime | None:
    for _ in range(6):
        moved = False
        for start, end in periods:
            if _in_period(local.timetz().replace(tzinfo=None), start, end):
                target = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
                if target <= local:
                    target = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=local.tzinfo)
                local, moved = target, True
        if not moved:
            return local
    return None  # the periods leave no allowed time


def move_out_of_quiet(at: datetime, zone: str, quiet_start: time | None = None,
                      quiet_end: time | None = None) -> datetime:
    """``at`` (aware) moved out of the global quiet period and the parent's own one, in UTC.

    An instant inside a period moves to that period's end (the same or the next day). When the
    parent's hours together with the global ones leave no allowed time, only the global rule is
    applied.
    """
    local = at.astimezone(_zone(zone))
    periods = [(GLOBAL_QUIET_START, GLOBAL_QUIET_END)]
    if quiet_start is not None and quiet_end is not None and quiet_start != quiet_end:
        moved = _move_out(local, periods + [(quiet_start, quiet_end)])
        if moved is not None:
            return moved.astimezone(timezone.utc)
    return _move_out(local, periods).astimezone(timezone.utc)


@lru_cache(maxsize=4096)
def nominal_send_at(day: date, zone: str) -> datetime:
    """07:00 local on ``day``, in UTC."""
    return datetime.combine(day, SEND_AT_LOCAL, tzinfo=_zone(zone)).astimezone(timezone.utc)


def reminder_send_at(day: date, zone: str, now: datetime, grace: timedelta = LATE_GRACE) -> datetime | None:
    """When a reminder for ``day`` is sent: 07:00 local, or ``now`` when planned up to ``grace``
    late, out of the global quiet period; None when 07:00 passed more than ``grace`` ago."""
    nominal = nominal_send_at(day, zone)
    if nominal < now - grace:
        return None
    return move_out_of_quiet(max(nominal, now), zone)


def delivery_time(send_at: datetime, zone: str, now: datetime, quiet_start: time | None = None,
                  quiet_end: time | None = None) -> datetime:
    """When one device's delivery is due: never before ``now`` nor inside quiet hours."""
    return move_out_of_quiet(max(send_at, now), zone, quiet_start, quiet_end)


def local_date(at: datetime, zone: str) -> date:
    return at.astimezone(_zone(zone)).date()


def week_monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


# --- planning -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Candidate:
    kind: str
    ref_key: str
    ref_date: date
    day: date
    doses: tuple[str, ...]
    session: date | None


def _params(child: ChildInfo, posyandu: PosyanduInfo, doses: Sequence[str], session: date | None) -> dict:
    return {
        "child_name": child.name,
        "posyandu_name": posyandu.name,
        "posyandu_address": posyandu.address or "",
        "timezone": posyandu.timezone,
        "session_date": session.isoformat() if session else None,
        "session_start": (posyandu.start_on(session) if session else posyandu.session_start).strftime("%H:%M"),
        "doses": list(doses),
    }


def _may_have_pending(child: ChildInfo, sch: ScheduleData, today: date, until: date) -> bool:
    """False when every dose that could be due by ``until`` and still be given on or after
    ``today`` is already recorded (by code), so the engine cannot find a dose to remind of.

    Sound because the engine's dates of a pending dose are never earlier than the ones from the
    birth date alone (recommended = max(birth + age, previous dose + interval)) and its last
    permitted date is birth + max_age. Saves the evaluation for children who are up to date.
    """
    given = {code.strip().upper() for code, _ in child.doses_given}
    for dose, static in zip(sch.doses, sch.static_dates(child.birth_date)):
        if static.rec_date <= until and static.latest_date >= today and dose.code not in given:
            return True
    return False


def plan_child(child: ChildInfo, posyandu: PosyanduInfo, now: datetime, *, horizon_days: int = 7,
               existing: Iterable[ExistingReminder] = (), schedule: ScheduleData | None = None,
               grace: timedelta = LATE_GRACE) -> ChildPlan:
    """The reminders one child should have in the window (see the module docstring)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = posyandu.timezone
    today = local_date(now, zone)
    last_day = today + timedelta(days=horizon_days)
    existing = [e for e in existing if not e.cancelled]
    sessions = posyandu.sessions

    pending = []
    sch = schedule or default_schedule()
    if (add_months(child.birth_date, WEIGHING_MAX_AGE_MONTHS) > today
            and _may_have_pending(child, sch, today, last_day + timedelta(days=H3_DAYS))):
        evaluated = evaluate_child(child.birth_date, child.doses_given, today, region=child.region, schedule=sch)
        pending = [d for d in evaluated.doses
                   if d.status in _PENDING and d.recommended_date is not None
                   and d.earliest_date is not None and d.latest_date is not None]

    candidates: list[_Candidate] = []
    # --- immunization H-3 / H-0 and weighing, per session in reach of the window
    covered: set[str] = set()
    for s in sessions:
        if s < today:
            continue
        if s > last_day + timedelta(days=H3_DAYS):
            break
        due_here = [d for d in pending if d.code not in covered and d.recommended_date <= s
                    and d.earliest_date <= s <= d.latest_date]
        if due_here:
            codes = tuple(d.code for d in due_here)  # engine order = schedule order
            covered.update(codes)
            key = "+".join(codes)
            for kind, day in (("imm_h3", s - timedelta(days=H3_DAYS)), ("imm_h0", s)):
                if today <= day <= last_day:
                    candidates.append(_Candidate(kind, key, s, day, codes, s))
        if s <= last_day and add_months(child.birth_date, WEIGHING_MAX_AGE_MONTHS) > s:
            candidates.append(_Candidate("weighing", "session", s, s, (), s))

    # --- catch-up (overdue)
    overdue_pending = [d for d in pending if d.overdue_date is not None]
    if overdue_pending:
        history = [e for e in existing if e.kind == "overdue" and e.send_at <= now]
        counts = Counter(code for e in history for code in e.ref_key.split("+"))
        last_sent = max((local_date(e.send_at, zone) for e in history), default=None)
        day = today if last_sent is None else max(today, last_sent + timedelta(days=OVERDUE_MIN_GAP_DAYS))
        upcoming = next((s for s in sessions if s >= today), None)
        while day <= last_day:
            # the next session from TODAY: never plan a catch-up push for after a session that
            # has not happened yet (its records may still come in)
            session_soon = upcoming is not None and upcoming <= day + timedelta(days=OVERDUE_NO_SESSION_WITHIN_DAYS)
            codes = () if session_soon else tuple(
                d.code for d in overdue_pending
                if d.overdue_date <= day and d.earliest_date <= day <= d.latest_date
                and counts[d.code] < OVERDUE_MAX_PER_DOSE)
            if codes and reminder_send_at(day, zone, now, grace) is not None:
                next_s = next((s for s in sessions if s >= day), None)
                candidates.append(_Candidate("overdue", "+".join(codes), week_monday(day), day, codes, next_s))
                counts.update(codes)
                day += timedelta(days=OVERDUE_MIN_GAP_DAYS)
            else:
                day += timedelta(days=1)

    # --- one push per child per day; late/grace; existing locked days
    locked: dict[date, set] = {}
    for e in existing:
        if e.send_at <= now:
            locked.setdefault(local_date(e.send_at, zone), set()).add(e.key)
    plan = ChildPlan()
    taken: set[date] = set()
    for c in sorted(candidates, key=lambda c: (c.day, KIND_PRIORITY[c.kind])):
        if c.day in taken:
            continue
        key = (c.kind, c.ref_key, c.ref_date)
        if c.day in locked and key not in locked[c.day]:
            continue
        send_at = reminder_send_at(c.day, zone, now, grace)
        if send_at is None:
            continue
        taken.add(c.day)
        plan.wanted.append(PlannedReminder(child.id, posyandu.id, c.kind, c.ref_key, c.ref_date, send_at,
                                           _params(child, posyandu, c.doses, c.session)))

    wanted_keys = {p.key for p in plan.wanted}
    for e in existing:
        if e.send_at > now and e.key not in wanted_keys and today <= local_date(e.send_at, zone) <= last_day:
            plan.cancel.append(e)
    return plan
