"""Planning the reminder outbox from the database (the pure rules are in ``core/reminders.py``).

:func:`plan_reminders` ``(session, now, *, horizon_days=7, posyandu_ids=None, progress=False,
batch_size=200) -> PlanSummary``

- ``session``: a SQLAlchemy session (``db.session``); the function executes and flushes but
  never commits (the ``flask reminders plan`` command commits once at the end).
- ``now``: an aware datetime (the planning instant); ``horizon_days``: plan send days
  ``today … today + horizon_days`` (``today`` in each posyandu's zone); ``posyandu_ids``: limit
  to these posyandu (default: every active one); ``progress``: a tqdm bar over children.

Per batch of ``batch_size`` posyandu it runs a fixed handful of queries (never one per child):
calendar exceptions, children under 60 months (active), their valid live doses, kabupaten
programme settings, their already-planned reminders, and guardians' active devices with the
parent's language and quiet hours. Each child is then planned in Python with the pure engines
and the results are written in bulk:

- ``reminder`` rows with ``INSERT … ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite), unique per
  (child, kind, ref_key, ref_date), so planning twice adds nothing;
- wanted rows that had been cancelled are reactivated; future rows no longer wanted (a dose
  recorded meanwhile, a session moved) are cancelled together with their unsent deliveries;
- one ``reminder_delivery`` per (reminder, active device of each linked parent), again
  ``ON CONFLICT DO NOTHING``, rendered in the parent's language (``templates.py``) and due at
  the reminder's instant moved out of the parent's quiet hours (never in the past).

:func:`fan_out_for_user` gives a parent's (new) devices the deliveries of their children's
future reminders; :func:`cancel_device_deliveries` and :func:`refresh_user_deliveries` serve the
devices and preferences endpoints.
"""
from __future__ import annotations

import logging
import sys
import time as _time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..auth.models import User
from ..children.models import Child, ChildGuardian
from ..core import calendar as cal
from ..core import reminders as rules
from ..core.schedule import RegionSettings, add_months
from ..devices.models import Device
from ..regions.models import Posyandu
from .models import Reminder, ReminderDelivery
from .templates import render_message

log = logging.getLogger(__name__)

_UNSENT = ("pending", "retry")


@dataclass
class PlanSummary:
    now: datetime
    horizon_days: int
    posyandu: int = 0
    children: int = 0
    reminders_wanted: int = 0
    reminders_created: int = 0
    reminders_cancelled: int = 0
    reminders_reactivated: int = 0
    deliveries_created: int = 0
    deliveries_cancelled: int = 0
    created_by_kind: Counter = field(default_factory=Counter)
    elapsed_seconds: float = 0.0

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {self.created_by_kind.get(k, 0)}" for k in rules.KINDS)
        return [
            f"Planned at {self.now.isoformat()} for {self.horizon_days} day(s) ahead",
            f"Posyandu: {self.posyandu}; children: {self.children}",
            f"Reminders: {self.reminders_created} new ({kinds}), {self.reminders_wanted} wanted in the window, "
            f"{self.reminders_cancelled} cancelled, {self.reminders_reactivated} reactivated",
            f"Deliveries: {self.deliveries_created} new, {self.deliveries_cancelled} cancelled",
            f"Time: {self.elapsed_seconds:.1f} s",
        ]


@dataclass(frozen=True, slots=True)
class _Recipient:
    user_id: int
    language: str
    quiet_start: object
    quiet_end: object
    device_id: int


# --- dialect helpers ------------------------------------------------------------------------------

def _insert(session, table):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {name!r}")


def _chunks(items: Sequence, size: int = 5000):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- calendar adapter -------------------------------------------------------------------------------

def sessions_for_posyandu(session, posyandu_rows: Sequence[Posyandu], start: date, end: date
                          ) -> dict[int, tuple[tuple[date, ...], dict[date, object]]]:
    """``{posyandu_id: (session dates in [start, end], {date: start time of a moved/extra session
    that differs from the usual one})}``.

    The one adapter between the planner and the calendar feature: the monthly rule with the
    calendar exceptions (moved / cancelled / extra) applied — exceptions of the whole batch in
    one query (``calendar.operations.exceptions_by_posyandu``), dates by
    ``core.sessions.sessions_between``. A posyandu whose rule cannot be parsed gets no sessions.
    """
    from ..calendar.operations import exceptions_by_posyandu
    from ..core import sessions as core_sessions
    exceptions = exceptions_by_posyandu([p.id for p in posyandu_rows], start, end)
    out = {}
    for p in posyandu_rows:
        try:
            found = core_sessions.sessions_for(p, exceptions.get(p.id, ()), start, end)
        except cal.RuleError:
            log.warning("posyandu %s has an invalid session rule; no sessions planned", p.id)
            found = []
        out[p.id] = (tuple(x.date for x in found),
                     {x.date: x.start for x in found if x.start != p.session_start})
    return out


# --- loading ------------------------------------------------------------------------------------

def _region_settings(session, kabupaten_codes: Iterable[str]) -> dict[str, RegionSettings]:
    try:
        from ..immunizations.models import ImmunizationRegionSetting
    except ImportError:  # pragma: no cover
        return {}
    codes = sorted(set(kabupaten_codes))
    if not codes:
        return {}
    out = {}
    for row in session.execute(sa.select(ImmunizationRegionSetting).where(
            ImmunizationRegionSetting.kabupaten_code.in_(codes))).scalars():
        cohorts = {k: (date.fromisoformat(v) if v else None) for k, v in (row.cohort_born_from or {}).items()}
        # cohort keys left out fall back to the national defaults inside the engine
        out[row.kabupaten_code] = RegionSettings(row.kabupaten_code, bool(row.je_programme), cohorts)
    return out


def _doses_by_child(session, child_filter) -> dict:
    """``{child_id: [(dose_code, given_on), ...]}`` of valid, live doses: one row per child
    (``code@date`` pairs aggregated in SQL), so 100,000 children with 1.5 million doses convert
    100,000 ids, not 1.5 million."""
    try:
        from ..immunizations.models import Immunization
    except ImportError:  # pragma: no cover
        return {}
    pair = Immunization.dose_code + "@" + sa.cast(Immunization.given_on, sa.String)
    if session.get_bind().dialect.name == "postgresql":
        joined = sa.func.string_agg(pair, ",")
    else:
        joined = sa.func.group_concat(pair, ",")
    query = (sa.select(Immunization.child_id, joined)
             .where(Immunization.child_id.in_(child_filter), Immunization.deleted_at.is_(None),
                    Immunization.is_valid.is_not(False))
             .group_by(Immunization.child_id))
    out: dict = {}
    parse = date.fromisoformat
    for child_id, text in session.execute(query):
        doses = []
        for item in text.split(","):
            code, _, on = item.partition("@")
            doses.append((code, parse(on[:10])))
        out[child_id] = doses
    return out


def _recipients_by_child(session, child_filter) -> dict:
    query = (sa.select(ChildGuardian.child_id, User.id, User.language, User.quiet_start, User.quiet_end, Device.id)
             .join(User, User.id == ChildGuardian.user_id)
             .join(Device, Device.user_id == User.id)
             .where(ChildGuardian.child_id.in_(child_filter), User.is_active.is_(True), User.role == "parent",
                    Device.retired_at.is_(None))
             .order_by(Device.id))
    out: dict = defaultdict(list)
    seen = set()
    for child_id, user_id, lang, qs, qe, device_id in session.execute(query):
        if (child_id, device_id) in seen:  # two guardian links to the same parent
            continue
        seen.add((child_id, device_id))
        out[child_id].append(_Recipient(user_id, lang or "id", qs, qe, device_id))
    return out


def _existing_by_child(session, child_filter, since: date) -> dict:
    query = (sa.select(Reminder.id, Reminder.child_id, Reminder.kind, Reminder.ref_key, Reminder.ref_date,
                       Reminder.send_at, Reminder.cancelled_at)
             .where(Reminder.child_id.in_(child_filter),
                    sa.or_(Reminder.kind == "overdue", Reminder.ref_date >= since)))
    out: dict = defaultdict(list)
    for rid, child_id, kind, ref_key, ref_date, send_at, cancelled_at in session.execute(query):
        out[child_id].append(rules.ExistingReminder(kind, ref_key, ref_date, send_at, cancelled_at is not None, rid))
    return out


# --- writing ------------------------------------------------------------------------------------

def _delivery_rows(reminders: Iterable[tuple], recipients_by_child: dict, now: datetime,
                   zones: dict[int, str]) -> list[dict]:
    """``reminders``: (id, child_id, posyandu_id, kind, params, send_at)."""
    rows = []
    for rid, child_id, posyandu_id, kind, params, send_at in reminders:
        recipients = recipients_by_child.get(child_id)
        if not recipients:
            continue
        zone = zones[posyandu_id]
        rendered: dict[str, dict] = {}
        for r in recipients:
            message = rendered.get(r.language)
            if message is None:
                message = rendered[r.language] = render_message(
                    kind=kind, params=params, lang=r.language, reminder_id=rid, child_id=child_id,
                    posyandu_id=posyandu_id)
            rows.append({
                "reminder_id": rid, "device_id": r.device_id, "user_id": r.user_id, "posyandu_id": posyandu_id,
                "status": "pending", "message": message, "attempts": 0,
                "next_attempt_at": rules.delivery_time(send_at, zone, now, r.quiet_start, r.quiet_end),
                "created_at": now, "updated_at": now,
            })
    return rows


def _insert_deliveries(session, rows: list[dict]) -> int:
    created = 0
    table = ReminderDelivery.__table__
    for chunk in _chunks(rows):
        stmt = _insert(session, table).on_conflict_do_nothing(
            index_elements=["reminder_id", "device_id"]).returning(table.c.id)
        created += len(session.execute(stmt, chunk).all())
    return created


def cancel_reminders(session, reminder_ids: Sequence[int], now: datetime) -> int:
    """Cancel reminders and their unsent deliveries; returns the number of deliveries cancelled."""
    cancelled = 0
    for chunk in _chunks(list(reminder_ids), 1000):
        session.execute(sa.update(Reminder).where(Reminder.id.in_(chunk)).values(cancelled_at=now)
                        .execution_options(synchronize_session=False))
        result = session.execute(
            sa.update(ReminderDelivery)
            .where(ReminderDelivery.reminder_id.in_(chunk), ReminderDelivery.status.in_(_UNSENT))
            .values(status="cancelled", updated_at=now).execution_options(synchronize_session=False))
        cancelled += result.rowcount or 0
    return cancelled


# --- the planner --------------------------------------------------------------------------------

def plan_reminders(session, now: datetime, *, horizon_days: int = 7, posyandu_ids: Iterable[int] | None = None,
                   progress: bool = False, batch_size: int = 200) -> PlanSummary:
    """Plan every reminder due in the next ``horizon_days`` days (see the module docstring)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(timezone.utc)
    started = _time.perf_counter()
    summary = PlanSummary(now=now, horizon_days=horizon_days)
    query = sa.select(Posyandu).where(Posyandu.is_active.is_(True)).order_by(Posyandu.id)
    if posyandu_ids is not None:
        query = query.where(Posyandu.id.in_(list(posyandu_ids)))
    posyandu_rows = session.execute(query).scalars().all()
    summary.posyandu = len(posyandu_rows)

    # the UTC date minus one day is on or before "today" in every Indonesian zone
    first_day = now.date() - timedelta(days=1)
    birth_cutoff = add_months(first_day, -rules.WEIGHING_MAX_AGE_MONTHS)
    bar = None
    if progress:
        from tqdm import tqdm
        count = sa.select(sa.func.count()).select_from(Child).where(
            Child.posyandu_id.in_(sa.select(Posyandu.id).where(Posyandu.is_active.is_(True))),
            Child.status == "active", Child.birth_date > birth_cutoff)
        if posyandu_ids is not None:
            count = count.where(Child.posyandu_id.in_([p.id for p in posyandu_rows]))
        total = session.execute(count).scalar_one()
        bar = tqdm(total=total, unit="child", desc="Planning reminders", file=sys.stderr)
    try:
        for start in range(0, len(posyandu_rows), batch_size):
            batch = posyandu_rows[start:start + batch_size]
            n = _plan_batch(session, batch, now, horizon_days, first_day, birth_cutoff, summary)
            if bar is not None:
                bar.update(n)
    finally:
        if bar is not None:
            bar.close()
    session.flush()
    summary.elapsed_seconds = _time.perf_counter() - started
    return summary


def _plan_batch(session, batch: Sequence[Posyandu], now: datetime, horizon_days: int, first_day: date,
                birth_cutoff: date, summary: PlanSummary) -> int:
    ids = [p.id for p in batch]
    last_day = first_day + timedelta(days=horizon_days + 2)
    sessions = sessions_for_posyandu(session, batch, first_day,
                                     last_day + timedelta(days=rules.SESSIONS_AHEAD_DAYS))
    infos = {p.id: rules.PosyanduInfo(p.id, p.name, p.timezone, p.session_start, sessions[p.id][0], p.address,
                                      sessions[p.id][1]) for p in batch}
    zones = {p.id: p.timezone for p in batch}
    children = session.execute(
        sa.select(Child.id, Child.posyandu_id, Child.name, Child.birth_date)
        .where(Child.posyandu_id.in_(ids), Child.status == "active", Child.birth_date > birth_cutoff)).all()
    if not children:
        return 0
    child_filter = (sa.select(Child.id).where(Child.posyandu_id.in_(ids), Child.status == "active",
                                              Child.birth_date > birth_cutoff))
    doses = _doses_by_child(session, child_filter)
    regions = _region_settings(session, (p.kabupaten_code for p in batch))
    existing = _existing_by_child(session, child_filter, first_day - timedelta(days=14))
    recipients = _recipients_by_child(session, child_filter)
    kabupaten = {p.id: p.kabupaten_code for p in batch}

    wanted: list[rules.PlannedReminder] = []
    to_cancel: list[int] = []
    to_reactivate: list[tuple[int, rules.PlannedReminder]] = []
    known: dict[tuple, int] = {}  # (child_id, kind, ref_key, ref_date) -> id of a live row
    for child_id, posyandu_id, name, birth_date in children:
        child_existing = existing.get(child_id, ())
        info = rules.ChildInfo(child_id, birth_date, name, tuple(doses.get(child_id, ())),
                               regions.get(kabupaten[posyandu_id]))
        plan = rules.plan_child(info, infos[posyandu_id], now, horizon_days=horizon_days, existing=child_existing)
        by_key = {e.key: e for e in child_existing}
        for p in plan.wanted:
            e = by_key.get(p.key)
            if e is None:
                wanted.append(p)
            elif e.cancelled:
                to_reactivate.append((e.id, p))
            else:
                known[(child_id,) + p.key] = e.id
        to_cancel.extend(e.id for e in plan.cancel)
        summary.reminders_wanted += len(plan.wanted)
    summary.children += len(children)

    # --- reminders: insert new ones, reactivate, cancel
    fan_out: list[tuple] = []
    table = Reminder.__table__
    for chunk in _chunks(wanted):
        rows = [{"child_id": p.child_id, "posyandu_id": p.posyandu_id, "kind": p.kind, "ref_key": p.ref_key,
                 "ref_date": p.ref_date, "send_at": p.send_at, "params": p.params, "created_at": now}
                for p in chunk]
        stmt = _insert(session, table).on_conflict_do_nothing(
            index_elements=["child_id", "kind", "ref_key", "ref_date"]).returning(
            table.c.id, table.c.child_id, table.c.kind, table.c.ref_key, table.c.ref_date)
        by_key = {(p.child_id, p.kind, p.ref_key, p.ref_date): p for p in chunk}
        for rid, child_id, kind, ref_key, ref_date in session.execute(stmt, rows):
            p = by_key[(child_id, kind, ref_key, ref_date)]
            fan_out.append((rid, p.child_id, p.posyandu_id, p.kind, p.params, p.send_at))
            summary.created_by_kind[kind] += 1
            summary.reminders_created += 1
    for rid, p in to_reactivate:
        session.execute(sa.update(Reminder).where(Reminder.id == rid).values(
            cancelled_at=None, send_at=p.send_at, params=p.params, posyandu_id=p.posyandu_id)
            .execution_options(synchronize_session=False))
        session.execute(sa.delete(ReminderDelivery).where(ReminderDelivery.reminder_id == rid,
                                                          ReminderDelivery.status == "cancelled")
                        .execution_options(synchronize_session=False))
        fan_out.append((rid, p.child_id, p.posyandu_id, p.kind, p.params, p.send_at))
        summary.reminders_reactivated += 1
    if to_cancel:
        summary.deliveries_cancelled += cancel_reminders(session, to_cancel, now)
        summary.reminders_cancelled += len(to_cancel)

    # --- deliveries: new reminders, and live ones missing a device (a phone or a parent link
    # added since they were planned); existing (reminder, device) pairs are read in one query
    if known:
        live = {rid: key[0] for key, rid in known.items() if key[0] in recipients}
        have: dict[int, set] = defaultdict(set)
        if live:
            pairs = sa.select(ReminderDelivery.reminder_id, ReminderDelivery.device_id).where(
                ReminderDelivery.reminder_id.in_(
                    sa.select(Reminder.id).where(Reminder.child_id.in_(child_filter),
                                                 Reminder.send_at >= now - rules.LATE_GRACE)))
            for rid, device_id in session.execute(pairs):
                have[rid].add(device_id)
        todo = [rid for rid, child_id in live.items()
                if any(r.device_id not in have[rid] for r in recipients[child_id])]
        for chunk in _chunks(todo, 1000):
            for rid, child_id, posyandu_id, kind, params, send_at in session.execute(
                    sa.select(Reminder.id, Reminder.child_id, Reminder.posyandu_id, Reminder.kind, Reminder.params,
                              Reminder.send_at).where(Reminder.id.in_(chunk))):
                fan_out.append((rid, child_id, posyandu_id, kind, params, send_at))
    for p in batch:
        zones.setdefault(p.id, p.timezone)
    missing_zones = {f[2] for f in fan_out} - set(zones)
    if missing_zones:
        zones.update(dict(session.execute(sa.select(Posyandu.id, Posyandu.timezone)
                                          .where(Posyandu.id.in_(missing_zones))).all()))
    summary.deliveries_created += _insert_deliveries(session, _delivery_rows(fan_out, recipients, now, zones))
    return len(children)


# --- per-user helpers (devices and preferences endpoints) ---------------------------------------

def _user_future_reminders(session, user_id: int, now: datetime):
    return session.execute(
        sa.select(Reminder.id, Reminder.child_id, Reminder.posyandu_id, Reminder.kind, Reminder.params,
                  Reminder.send_at)
        .where(Reminder.child_id.in_(sa.select(ChildGuardian.child_id).where(ChildGuardian.user_id == user_id)),
               Reminder.cancelled_at.is_(None), Reminder.send_at >= now)).all()


def fan_out_for_user(session, user: User, now: datetime, device_ids: Sequence[int] | None = None) -> int:
    """Deliveries of the parent's children's future reminders to their active devices
    (``device_ids`` to limit to some); returns how many were created."""
    reminders = _user_future_reminders(session, user.id, now)
    if not reminders:
        return 0
    query = sa.select(Device.id).where(Device.user_id == user.id, Device.retired_at.is_(None))
    if device_ids is not None:
        query = query.where(Device.id.in_(list(device_ids)))
    devices = session.execute(query).scalars().all()
    if not devices:
        return 0
    recipients = [_Recipient(user.id, user.language or "id", user.quiet_start, user.quiet_end, d) for d in devices]
    by_child = {r[1]: recipients for r in reminders}
    zones = dict(session.execute(sa.select(Posyandu.id, Posyandu.timezone).where(
        Posyandu.id.in_({r[2] for r in reminders}))).all())
    return _insert_deliveries(session, _delivery_rows(reminders, by_child, now, zones))


def cancel_device_deliveries(session, device_id: int, now: datetime, *, except_user_id: int | None = None) -> int:
    """Cancel a device's unsent deliveries (all, or only those for users other than
    ``except_user_id`` when a phone changes hands)."""
    stmt = (sa.update(ReminderDelivery)
            .where(ReminderDelivery.device_id == device_id, ReminderDelivery.status.in_(_UNSENT))
            .values(status="cancelled", updated_at=now).execution_options(synchronize_session=False))
    if except_user_id is not None:
        stmt = stmt.where(ReminderDelivery.user_id != except_user_id)
    return session.execute(stmt).rowcount or 0


def refresh_user_deliveries(session, user: User, now: datetime) -> int:
    """After a language or quiet-hours change: re-render and re-time the parent's deliveries that
    were not tried yet (pending, no attempt). Returns how many were updated."""
    rows = session.execute(
        sa.select(ReminderDelivery.id, Reminder.id, Reminder.child_id, Reminder.posyandu_id, Reminder.kind,
                  Reminder.params, Reminder.send_at, Posyandu.timezone)
        .join(Reminder, Reminder.id == ReminderDelivery.reminder_id)
        .join(Posyandu, Posyandu.id == Reminder.posyandu_id)
        .where(ReminderDelivery.user_id == user.id, ReminderDelivery.status == "pending",
               ReminderDelivery.attempts == 0, Reminder.cancelled_at.is_(None))).all()
    updates = []
    for did, rid, child_id, posyandu_id, kind, params, send_at, zone in rows:
        updates.append({
            "b_id": did,
            "message": render_message(kind=kind, params=params, lang=user.language or "id", reminder_id=rid,
                                      child_id=child_id, posyandu_id=posyandu_id),
            "next_attempt_at": rules.delivery_time(send_at, zone, now, user.quiet_start, user.quiet_end),
            "updated_at": now,
        })
    if updates:
        t = ReminderDelivery.__table__
        session.execute(sa.update(t).where(t.c.id == sa.bindparam("b_id")).values(
            message=sa.bindparam("message"), next_attempt_at=sa.bindparam("next_attempt_at"),
            updated_at=sa.bindparam("updated_at")), updates)
    return len(updates)
