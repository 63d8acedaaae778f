"""Reminder delivery counts per posyandu for puskesmas staff (and dinkes, admin, kader).

Three SQL ``GROUP BY`` queries over ``reminder_delivery`` (joined to its reminder for the
period and to its device for retired tokens), all limited by the caller's scope in the query;
Python only reshapes the grouped rows (a handful per posyandu), never the deliveries.

Period: deliveries whose reminder is due to be sent (``Reminder.send_at``) within the days
``from``..``to`` inclusive, days counted in WIB (UTC+7). Every Indonesian zone is UTC+7..+9, so
a reminder planned for 07:00 local (moved out of quiet hours, never before 02:00 local) falls in
its own local day.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from ..auth.scope import Scope
from ..devices.models import Device
from ..errors import NotFound
from ..extensions import db
from ..regions.models import Posyandu
from .models import DELIVERY_STATUSES, Reminder, ReminderDelivery

WIB = timezone(timedelta(hours=7), "WIB")
LAST_ERRORS_PER_POSYANDU = 5


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    start = datetime.combine(date_from, time(0), WIB).astimezone(timezone.utc)
    end = datetime.combine(date_to + timedelta(days=1), time(0), WIB).astimezone(timezone.utc)
    return start, end


def delivery_stats(scope: Scope, date_from: date, date_to: date,
                   posyandu_id: int | None = None) -> dict:
    if posyandu_id is not None and not scope.covers_posyandu(posyandu_id):
        raise NotFound("No such posyandu in your area.")
    start, end = period_bounds(date_from, date_to)
    D, R, Dev = ReminderDelivery, Reminder, Device
    where = [scope.posyandu_clause(D.posyandu_id), R.send_at >= start, R.send_at < end]
    if posyandu_id is not None:
        where.append(D.posyandu_id == posyandu_id)
    base = sa.select().select_from(D).join(R, R.id == D.reminder_id).where(*where)

    by_status = db.session.execute(
        base.add_columns(D.posyandu_id, D.status, sa.func.count().label("n"))
        .group_by(D.posyandu_id, D.status)).all()
    reminders = dict(db.session.execute(
        base.add_columns(D.posyandu_id, sa.func.count(sa.distinct(D.reminder_id)))
        .group_by(D.posyandu_id)).all())
    retired = dict(db.session.execute(
        base.add_columns(D.posyandu_id, sa.func.count(sa.distinct(Dev.id)))
        .join(Dev, Dev.id == D.device_id).where(Dev.retired_at.is_not(None))
        .group_by(D.posyandu_id)).all())
    errors = (base.add_columns(D.posyandu_id, D.last_error.label("error"),
                               sa.func.count().label("n"),
                               sa.func.max(D.updated_at).label("last_at"))
              .where(D.last_error.is_not(None), D.status.in_(("failed", "dead", "retry")))
              .group_by(D.posyandu_id, D.last_error)).subquery()
    ranked = sa.select(errors, sa.func.row_number().over(
        partition_by=errors.c.posyandu_id,
        order_by=(errors.c.last_at.desc(), errors.c.n.desc(), errors.c.error),
    ).label("rank")).subquery()
    last_errors = db.session.execute(
        sa.select(ranked.c.posyandu_id, ranked.c.error, ranked.c.n, ranked.c.last_at)
        .where(ranked.c.rank <= LAST_ERRORS_PER_POSYANDU)
        .order_by(ranked.c.posyandu_id, ranked.c.rank)).all()

    ids = sorted({r.posyandu_id for r in by_status})
    names = dict(db.session.execute(
        sa.select(Posyandu.id, Posyandu.name).where(Posyandu.id.in_(ids))).all()) if ids else {}
    items: dict[int, dict] = {}
    for pid in ids:
        items[pid] = {"posyandu_id": pid, "posyandu_name": names.get(pid), "deliveries": 0,
                      "reminders": reminders.get(pid, 0),
                      "by_status": {s: 0 for s in DELIVERY_STATUSES},
                      "retired_tokens": retired.get(pid, 0), "last_errors": []}
    for r in by_status:
        items[r.posyandu_id]["by_status"][r.status] = r.n
        items[r.posyandu_id]["deliveries"] += r.n
    for r in last_errors:
        if r.posyandu_id in items:
            items[r.posyandu_id]["last_errors"].append(
                {"error": r.error, "count": r.n, "last_at": r.last_at})
    totals = {"deliveries": sum(i["deliveries"] for i in items.values()),
              "reminders": sum(i["reminders"] for i in items.values()),
              "retired_tokens": sum(i["retired_tokens"] for i in items.values()),
              "by_status": {s: sum(i["by_status"][s] for i in items.values())
                            for s in DELIVERY_STATUSES}}
    return {"date_from": date_from, "date_to": date_to, "items": list(items.values()),
            "totals": totals}
