"""``flask reminders ...``: send the reminder outbox.

``dispatch`` is one pass over what is due now (cron / systemd timer); ``worker`` is the
long-running loop (several may run on several machines: PostgreSQL ``SKIP LOCKED`` splits the
queue). Both send through firebase-admin with the credentials from the environment
(``FIREBASE_CREDENTIALS_JSON`` / ``GOOGLE_APPLICATION_CREDENTIALS`` / ADC) to
``FIREBASE_PROJECT_ID``; ``FCM_ENDPOINT_URL`` (development, tests) aims them at the local fake.
Tuning: ``REMINDER_BATCH_SIZE``, ``REMINDER_LEASE_SECONDS``, ``REMINDER_MAX_ATTEMPTS``,
``REMINDER_RETRY_BASE_SECONDS``, ``REMINDER_RETRY_CAP_SECONDS``, ``REMINDER_RETRY_JITTER``,
``REMINDER_QUOTA_PAUSE_SECONDS``, ``REMINDER_IDLE_SECONDS``, ``REMINDER_FCM_TIMEOUT_SECONDS``
(app config or environment).
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from .dispatcher import DispatchSettings, Dispatcher, build_sender, make_worker_id


@click.group("reminders", help="Reminder outbox: send due push notifications.")
def reminders_group():
    pass


def _dispatcher(dry_run: bool, worker_id: str | None, **overrides) -> Dispatcher:
    settings = DispatchSettings.from_config(current_app.config, **overrides)
    worker_id = worker_id or make_worker_id("cli")
    sender = build_sender(current_app.config, name=f"reminders-{worker_id}", dry_run=dry_run,
                          settings=settings)
    return Dispatcher(db.session, sender, settings, worker_id=worker_id)


_batch_option = click.option("--batch-size", type=click.IntRange(min=1), default=None,
                             help="Deliveries claimed per transaction [REMINDER_BATCH_SIZE, 200].")
_worker_option = click.option("--worker-id", default=None,
                              help="Lease owner name (default host:pid:random).")


@reminders_group.command("dispatch")
@_batch_option
@_worker_option
@click.option("--max-batches", type=click.IntRange(min=1), default=None,
              help="Stop after this many batches (default: until nothing is due).")
@click.option("--dry-run/--no-dry-run", default=None,
              help="FCM validate_only for one batch of due deliveries; writes nothing "
                   "[FCM_DRY_RUN].")
@with_appcontext
def dispatch(batch_size, worker_id, max_batches, dry_run):
    """Send everything due now, once, and print the counts (for cron)."""
    if dry_run is None:
        dry_run = bool(current_app.config.get("FCM_DRY_RUN"))
    dispatcher = _dispatcher(dry_run, worker_id, batch_size=batch_size)
    try:
        if dry_run:
            report = dispatcher.validate_due()
            click.echo("dry run (FCM validate_only, nothing written): " + report.summary())
            return
        report = dispatcher.dispatch_due(max_batches=max_batches)
    finally:
        dispatcher.sender.close()
    click.echo(report.summary())


@reminders_group.command("worker")
@_batch_option
@_worker_option
@click.option("--idle", "idle_seconds", type=click.FloatRange(min=0.01), default=None,
              help="Seconds to sleep when nothing is due [REMINDER_IDLE_SECONDS, 5].")
@click.option("--dry-run", is_flag=True, default=False,
              help="Refused: a dry run writes nothing, so a loop would re-check the same rows. "
                   "Use `flask reminders dispatch --dry-run`.")
@with_appcontext
def worker(batch_size, worker_id, idle_seconds, dry_run):
    """Run the dispatch loop until SIGTERM/SIGINT (finishes the batch in flight, exits 0)."""
    from .worker import Worker
    if dry_run or current_app.config.get("FCM_DRY_RUN"):
        raise click.UsageError("the worker does not do dry runs (FCM_DRY_RUN / --dry-run); "
                               "use `flask reminders dispatch --dry-run`")
    dispatcher = _dispatcher(False, worker_id, batch_size=batch_size, idle_seconds=idle_seconds)
    click.echo(f"worker {dispatcher.worker_id} started", err=True)
    try:
        totals = Worker(dispatcher).run()
    finally:
        dispatcher.sender.close()
    click.echo(f"worker {dispatcher.worker_id} stopped: {totals.summary()}")


# `flask reminders plan` lives with the planner (posyandu/reminders/plan_cli.py).
from .plan_cli import plan as _plan  # noqa: E402

reminders_group.add_command(_plan)
