"""``flask reminders plan``: fill the reminder outbox for the next days (cron, e.g. hourly or
daily before 06:00 WIT = 21:00 UTC). Attached to the ``reminders`` group in ``cli.py``."""
from __future__ import annotations

import sys
from datetime import datetime, timezone

import click
from flask.cli import with_appcontext

from ..db import utcnow
from ..extensions import db
from .planning import plan_reminders


def _parse_now(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO 8601 date-time, e.g. 2026-12-05T00:00:00+00:00",
                                 param_hint="--now") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


@click.command("plan")
@click.option("--now", "now_text", default=None, metavar="ISO",
              help="Plan as if it were this instant (ISO 8601; no offset = UTC). Default: now.")
@click.option("--horizon-days", type=click.IntRange(min=0, max=60), default=7, show_default=True,
              help="Plan the reminders to be sent from today up to this many days ahead.")
@click.option("--posyandu-id", "posyandu_ids", type=int, multiple=True,
              help="Only this posyandu (repeatable). Default: every active posyandu.")
@with_appcontext
def plan(now_text, horizon_days, posyandu_ids):
    """Plan immunization, posyandu-day and catch-up reminders (idempotent), then print a summary."""
    now = _parse_now(now_text)
    summary = plan_reminders(db.session, now, horizon_days=horizon_days,
                             posyandu_ids=list(posyandu_ids) or None, progress=sys.stderr.isatty())
    db.session.commit()
    for line in summary.lines():
        click.echo(line)
