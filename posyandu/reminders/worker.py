"""The long-running dispatch loop behind ``flask reminders worker``.

Each pass drains what is due now (``Dispatcher.dispatch_due``: claim -> send -> record, with
the database work of the neighbouring batches overlapping the FCM calls); when nothing is due
it sleeps ``idle_seconds``; while the whole queue is paused after QUOTA_EXCEEDED it sleeps
until the pause ends (waking every ``12 * idle_seconds`` at most). Sleeping is an
``Event.wait``, so a stop request ends it at once.

SIGTERM / SIGINT ask it to stop: no new batch is claimed, the batches already claimed (the one
in flight, at most one claimed ahead of it) are sent and recorded, so no row is left
``sending``; then ``run`` returns and the command exits 0. A second SIGINT restores the
default handler, so pressing Ctrl-C twice still interrupts at once (the rows' leases then expire
and another worker takes them over).

A database outage (restart, failover) does not end the loop: the pass is abandoned (rows it
had claimed and sent but not recorded stay leased until the lease expires; a resend replaces
the notification, same tag), a WARNING is logged (then at most once a minute), and the loop
retries with a doubling wait (at most 30 s) until the database answers again.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime
from typing import Callable

from ..database_outage import is_database_unavailable, summarise
from .dispatcher import BatchReport, Dispatcher

log = logging.getLogger(__name__)

__all__ = ["Worker"]

OUTAGE_MAX_WAIT_SECONDS = 30.0
OUTAGE_LOG_INTERVAL_SECONDS = 60.0


class Worker:
    def __init__(self, dispatcher: Dispatcher, *, idle_seconds: float | None = None,
                 max_passes: int | None = None,  # dispatch passes, for tests
                 on_batch: Callable[[BatchReport], None] | None = None) -> None:
        self.dispatcher = dispatcher
        self.idle_seconds = (dispatcher.settings.idle_seconds if idle_seconds is None
                             else idle_seconds)
        self.max_passes = max_passes
        self.on_batch = on_batch
        self.stop_event = threading.Event()
        self.totals = BatchReport()
        self.passes = 0
        self.outage_started: float | None = None  # monotonic time of the first failure
        self.outage_logged: float | None = None
        self.outage_failures = 0

    def stop(self, *_: object) -> None:
        self.stop_event.set()

    def _handle_signal(self, signum: int, frame: object) -> None:
        log.info("worker %s: signal %s, finishing the current batch",
                 self.dispatcher.worker_id, signal.Signals(signum).name)
        self.stop_event.set()
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def _sleep_seconds(self, paused_until: datetime | None) -> float:
        if paused_until is None:
            return self.idle_seconds
        remaining = (paused_until - self.dispatcher.clock()).total_seconds()
        return max(0.05, min(remaining, max(self.idle_seconds, 1.0) * 12))

    def run(self, *, install_signals: bool = True) -> BatchReport:
        previous = {}
        if install_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._handle_signal)
        log.info("worker %s started", self.dispatcher.worker_id)
        try:
            while not self.stop_event.is_set():
                if self.max_passes is not None and self.passes >= self.max_passes:
                    break
                # Drain what is due now (pipelined batches); a stop request ends it after the
                # batch in flight has been sent and recorded.
                try:
                    report = self.dispatcher.dispatch_due(should_stop=self.stop_event.is_set,
                                                          on_batch=self._batch_done)
                except Exception as exc:  # noqa: BLE001 - only a database outage is survived
                    if not is_database_unavailable(exc):
                        raise
                    self.stop_event.wait(self._database_down(exc))
                    continue
                if self.outage_started is not None:
                    self._database_back()
                self.passes += 1
                self.totals.add(report)
                if report.claimed == 0 or report.paused_until is not None:
                    self.stop_event.wait(self._sleep_seconds(report.paused_until))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("worker %s stopped: %s", self.dispatcher.worker_id, self.totals.summary())
        return self.totals

    def _database_down(self, exc: BaseException) -> float:
        """Roll the session back, log (first failure, then at most once a minute) and return
        how long to wait: doubling from ``max(idle, 1)`` seconds up to 30 s."""
        try:
            self.dispatcher.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
            pass
        now = time.monotonic()
        self.outage_failures += 1
        wait = min(max(self.idle_seconds, 1.0) * 2 ** (self.outage_failures - 1),
                   OUTAGE_MAX_WAIT_SECONDS)
        if self.outage_started is None:
            self.outage_started = now
        if self.outage_logged is None or now - self.outage_logged >= OUTAGE_LOG_INTERVAL_SECONDS:
            self.outage_logged = now
            log.warning("worker %s: database unavailable (%s); retrying in %.0f s",
                        self.dispatcher.worker_id, summarise(exc), wait,
                        extra={"event": "database_unavailable"})
        return wait

    def _database_back(self) -> None:
        log.warning("worker %s: database reachable again after %.1f s",
                    self.dispatcher.worker_id, time.monotonic() - self.outage_started,
                    extra={"event": "database_reachable"})
        self.outage_started = self.outage_logged = None
        self.outage_failures = 0

    def _batch_done(self, report: BatchReport) -> None:
        log.info("worker %s batch: %s", self.dispatcher.worker_id, report.summary())
        if self.on_batch:
            self.on_batch(report)
