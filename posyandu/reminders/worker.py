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
"""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from typing import Callable

from .dispatcher import BatchReport, Dispatcher

log = logging.getLogger(__name__)

__all__ = ["Worker"]


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
                report = self.dispatcher.dispatch_due(should_stop=self.stop_event.is_set,
                                                      on_batch=self._batch_done)
                self.passes += 1
                self.totals.add(report)
                if report.claimed == 0 or report.paused_until is not None:
                    self.stop_event.wait(self._sleep_seconds(report.paused_until))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("worker %s stopped: %s", self.dispatcher.worker_id, self.totals.summary())
        return self.totals

    def _batch_done(self, report: BatchReport) -> None:
        log.info("worker %s batch: %s", self.dispatcher.worker_id, report.summary())
        if self.on_batch:
            self.on_batch(report)
