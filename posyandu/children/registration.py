"""Which birth dates make sense for a posyandu (data: ``data/registration.json``).

A posyandu registers balita: children under five (0-59 completed months, the same age at which
the immunization schedule's catch-up ends). A birth date in the future (of Indonesia's
easternmost zone, WIT) or one that makes the child older than that on the day of registration
is refused with a 422 naming ``birth_date`` and the rule.
"""
from __future__ import annotations

import calendar
import json
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources

from ..core.growth.trend import completed_months, month_index

#: UTC+9 (WIT): the latest "today" anywhere in Indonesia.
_LATEST_TZ = timezone(timedelta(hours=9))


@lru_cache(maxsize=1)
def max_age_months() -> int:
    data = json.loads(resources.files(__package__).joinpath("data/registration.json").read_text(encoding="utf-8"))
    return int(data["max_age_months"]["value"])


def latest_today() -> date:
    return datetime.now(_LATEST_TZ).date()


def earliest_birth_date(registered_on: date) -> date:
    """The earliest birth date of a child registered on ``registered_on`` (completed months at
    most :func:`max_age_months`)."""
    index = month_index(registered_on) - (max_age_months() + 1)
    year, month = divmod(index, 12)
    month += 1
    # born after this day -> fewer than max+1 completed months
    day = min(registered_on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=1)


def registration_day(client_updated_at: datetime | None = None) -> date:
    """The day a child is registered: when the phone recorded it (a record synced later), else
    today; never later than today."""
    today = latest_today()
    if client_updated_at is None:
        return today
    recorded = client_updated_at.astimezone(_LATEST_TZ).date() if client_updated_at.tzinfo else client_updated_at.date()
    return min(recorded, today)


def birth_date_errors(birth_date: date | None, registered_on: date) -> list[str]:
    """Why ``birth_date`` cannot be registered on ``registered_on`` (empty: it can)."""
    if birth_date is None:
        return []
    if birth_date > latest_today():
        return ["The birth date cannot be in the future."]
    months = completed_months(birth_date, registered_on)
    if months > max_age_months():
        return [f"A posyandu registers children under five (0-{max_age_months()} months): with this birth "
                f"date the child was {months} months old on {registered_on.isoformat()}. Birth dates from "
                f"{earliest_birth_date(registered_on).isoformat()} on are accepted."]
    return []
