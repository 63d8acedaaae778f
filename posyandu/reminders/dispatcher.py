"""The reminder dispatcher: claim due deliveries, send them through FCM, record each result.

The outbox (``ReminderDelivery``) is the queue; nothing else coordinates the workers
(design.md "Reminders pipeline", notes/firebase.md §4). One batch is three steps, and no
database transaction is open while we talk to FCM:

1. **claim** (one short transaction): mark up to ``batch_size`` due rows ``sending`` with a
   lease (``lease_until``, ``leased_by`` = this worker, ``attempts + 1``). Due = ``pending`` /
   ``retry`` whose ``next_attempt_at`` has come, or ``sending`` whose lease expired (a crashed or
   killed worker), taken in that order (expired leases, retries, first attempts; one
   ``UPDATE ... WHERE id IN (SELECT ... ORDER BY next_attempt_at LIMIT n FOR UPDATE SKIP
   LOCKED) RETURNING`` per class, so each walks the claim index in order). PostgreSQL: SKIP
   LOCKED lets N workers split the queue without waiting on each other; SQLite (the embedded
   default, one worker) runs the same statements without it. In the same transaction, claimed
   rows whose device is retired or whose reminder is cancelled become ``cancelled`` (not
   sent), and rows that exhausted their attempts by lease expiries alone become ``dead``. Nothing is claimed
   while ``QueueState.paused_until`` (a quota back-off of the whole queue) is in the future.
2. **send**: ``FcmSender.send`` (``send_each`` in chunks of <= 100). Every push carries the
   Android ``tag`` / ``collapse_key`` ``rem-{reminder_id}``: the one duplicate window (FCM
   accepted, we crashed before recording, the lease expired and another worker sent again)
   replaces the notification on the phone instead of showing it twice.
3. **record** (one short transaction, one executemany): each row is updated only while this
   worker still holds its lease (``leased_by`` = us and ``status = 'sending'``), so a worker
   whose lease expired and was taken over cannot overwrite the new owner's result.

   =============  ==========================================================================
   sent           ``sent``, ``fcm_name`` (FCM message name), ``sent_at``
   token_invalid  ``failed``; the device is retired (``retired_at``, ``retired_reason``)
   retry          ``retry`` at ``now + min(base * 2**(attempts-1), cap) * (1 +- jitter)``;
                  ``dead`` once ``attempts >= max_attempts``
   quota          the whole queue pauses (``QueueState.paused_until``); the row goes back to
                  ``retry`` at the end of the pause and the attempt is not counted
   failed         ``failed`` (bad payload, APNs auth, ...: retrying would not help)
   =============  ==========================================================================

Times are taken from the worker's clock (``utcnow``, injectable for tests) and bound as
parameters, so SQLite and PostgreSQL compare the same values; leases are minutes long, far
above the skew of NTP-synchronised machines.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..db import UTCDateTime, utcnow
from ..devices.models import Device
from ..notifications.fcm import FcmSender, Push, PushResult, PushStatus
from .models import QueueState, Reminder, ReminderDelivery

log = logging.getLogger(__name__)

__all__ = ["DispatchSettings", "Dispatcher", "Claimed", "ClaimResult", "BatchReport",
           "retry_delay", "claim_statement", "CLAIM_CLASSES", "make_worker_id", "build_sender"]

_T = ReminderDelivery.__table__
_DEV = Device.__table__
_REM = Reminder.__table__
_QS = QueueState.__table__
QUEUE_STATE_ID = 1
_ERROR_MAX = 300


@dataclass(frozen=True)
class DispatchSettings:
    """Knobs of the dispatcher. ``from_config`` reads ``REMINDER_<NAME>`` (upper case) from the
    Flask config, then from the environment, else the default below."""

    #: How long a claim stays ours. Must exceed the time to send one batch (with the SDK's own
    #: retries: ~7 s per chunk of 100 in the worst case, plus ``http_timeout``).
    lease_seconds: float = 180.0
    #: Rows claimed per transaction (sent in ``send_each`` chunks of <= 100).
    batch_size: int = 200
    #: After this many attempts a retryable failure becomes ``dead``.
    max_attempts: int = 8
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    #: Relative jitter: the delay is multiplied by uniform(1 - jitter, 1 + jitter).
    retry_jitter: float = 0.2
    #: Minimum pause of the whole queue after QUOTA_EXCEEDED (FCM's Retry-After wins if longer).
    quota_pause_seconds: float = 60.0
    #: Worker loop: sleep this long when nothing is due.
    idle_seconds: float = 5.0
    #: FCM HTTP timeout per request (firebase_admin ``httpTimeout``).
    fcm_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_attempts < 1 or self.lease_seconds <= 0:
            raise ValueError("batch_size, max_attempts and lease_seconds must be positive")
        if not 0 <= self.retry_jitter < 1:
            raise ValueError("retry_jitter must be in [0, 1)")

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None,
                    **overrides: Any) -> "DispatchSettings":
        config = config or {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = f"REMINDER_{f.name.upper()}"
            raw = config.get(key, os.environ.get(key))
            if raw is not None and raw != "":
                values[f.name] = type(f.default)(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def retry_delay(attempts: int, settings: DispatchSettings,
                rng: random.Random | None = None) -> float:
    """Seconds until the next try after ``attempts`` failed attempts (attempts >= 1):
    ``min(base * 2**(attempts-1), cap) * uniform(1 - jitter, 1 + jitter)``."""
    exponent = max(0, min(attempts - 1, 60))
    delay = min(settings.retry_base_seconds * (2 ** exponent), settings.retry_cap_seconds)
    if settings.retry_jitter:
        delay *= (rng or random).uniform(1 - settings.retry_jitter, 1 + settings.retry_jitter)
    return delay


def make_worker_id(prefix: str = "w") -> str:
    return f"{prefix}:{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:64]


def build_sender(config: Mapping[str, Any], *, name: str, dry_run: bool = False,
                 settings: DispatchSettings | None = None) -> FcmSender:
    """An ``FcmSender`` from the app config: ``FIREBASE_PROJECT_ID``, ``FCM_ENDPOINT_URL``
    (development/tests: the local fake) and the credentials from the environment."""
    settings = settings or DispatchSettings.from_config(config)
    return FcmSender(name, config["FIREBASE_PROJECT_ID"], http_timeout=settings.fcm_timeout_seconds,
                     endpoint_url=config.get("FCM_ENDPOINT_URL") or None, dry_run=dry_run)


# --------------------------------------------------------------------------- claim SQL
#: What is due, in claim order: rows of crashed/killed workers (lease expired), then retries,
#: then first attempts. One statement per class: each is an equality on ``status`` plus a range
#: on ``next_attempt_at``, so PostgreSQL walks ``ix_reminder_delivery_claim (status,
#: next_attempt_at)`` in order and stops after ``LIMIT`` rows. The single ``status IN (...) OR
#: ...`` form cannot use the index for the ORDER BY: it sorts every due row on every claim
#: (a sequential scan + sort of 100,000 rows per batch in the benchmark).
CLAIM_CLASSES = ("expired", "retry", "pending")


def _due_condition(table, now, claim_class: str | None = None):
    expired = sa.and_(table.c.status == "sending", table.c.lease_until < now)
    if claim_class == "expired":
        return expired
    if claim_class in ("retry", "pending"):
        return sa.and_(table.c.status == claim_class, table.c.next_attempt_at <= now)
    return sa.or_(sa.and_(table.c.status.in_(("pending", "retry")), table.c.next_attempt_at <= now),
                  expired)


def claim_statement(*, now: datetime, lease_until: datetime, worker_id: str, limit: int,
                    claim_class: str | None = None, skip_locked: bool = True):
    """``UPDATE reminder_delivery SET status='sending', lease_until=:lease_until,
    leased_by=:worker, attempts=attempts+1 WHERE id IN (SELECT id FROM reminder_delivery WHERE
    <due> ORDER BY next_attempt_at LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING ...``.

    ``claim_class`` (one of :data:`CLAIM_CLASSES`) narrows ``<due>`` to one index range; None
    is the whole due condition in one statement. SQLAlchemy renders no ``FOR UPDATE`` on
    SQLite (one writer at a time anyway)."""
    due = _T.alias("due")
    candidates = (sa.select(due.c.id).where(_due_condition(due, now, claim_class))
                  .order_by(due.c.next_attempt_at).limit(limit))
    if skip_locked:
        candidates = candidates.with_for_update(skip_locked=True)
    return (sa.update(_T)
            .where(_T.c.id.in_(candidates.scalar_subquery()))
            .values(status="sending", lease_until=lease_until, leased_by=worker_id,
                    attempts=_T.c.attempts + 1, updated_at=now)
            .returning(_T.c.id, _T.c.reminder_id, _T.c.device_id, _T.c.attempts, _T.c.message))


# --------------------------------------------------------------------------- data
@dataclass
class Claimed:
    id: int
    reminder_id: int
    device_id: int
    attempts: int
    message: dict
    token: str | None = None
    device_kind: str = "fcm_token"
    device_retired: bool = False
    reminder_cancelled: bool = False

    def to_push(self) -> Push:
        msg = self.message or {}
        data = {str(k): str(v) for k, v in (msg.get("data") or {}).items() if v is not None}
        target = {"fid": self.token} if self.device_kind == "fid" else {"token": self.token}
        return Push(reminder_id=self.reminder_id, title=str(msg.get("title", "")),
                    body=str(msg.get("body", "")), data=data, **target)


@dataclass
class ClaimResult:
    rows: list[Claimed] = field(default_factory=list)  #: to send now
    cancelled: int = 0
    dead: int = 0
    paused_until: datetime | None = None  #: set when the queue is paused (nothing claimed)

    @property
    def claimed(self) -> int:
        return len(self.rows) + self.cancelled + self.dead


@dataclass
class BatchReport:
    claimed: int = 0
    counts: Counter = field(default_factory=Counter)
    paused_until: datetime | None = None

    def add(self, other: "BatchReport") -> None:
        self.claimed += other.claimed
        self.counts.update(other.counts)
        if other.paused_until is not None:
            self.paused_until = other.paused_until

    def summary(self) -> str:
        keys = ["sent", "failed", "retry", "dead", "cancelled", "quota", "tokens_retired",
                "lease_lost"]
        if "validated" in self.counts:
            keys.insert(0, "validated")
        parts = [f"claimed={self.claimed}"] + [f"{k}={self.counts.get(k, 0)}" for k in keys]
        if self.paused_until is not None:
            parts.append(f"paused_until={self.paused_until.isoformat(timespec='seconds')}")
        return " ".join(parts)


def _error_text(result: PushResult) -> str:
    text = f"{result.error_code or result.status.value}: {result.error or ''}".strip()
    return text[:_ERROR_MAX]


# --------------------------------------------------------------------------- dispatcher
class Dispatcher:
    """One worker's view of the queue. Not thread-safe: one per thread/process, each with its
    own ``session`` (a SQLAlchemy Session; it is committed after the claim and after the
    record steps, and left without an open transaction while sending)."""

    def __init__(self, session, sender: FcmSender, settings: DispatchSettings | None = None, *,
                 worker_id: str | None = None, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None) -> None:
        self.session = session
        self.sender = sender
        self.settings = settings or DispatchSettings()
        self.worker_id = worker_id or make_worker_id()
        self.clock = clock
        self.rng = rng or random.Random()

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # ------------------------------------------------------------------ queue state
    def paused_until(self, now: datetime | None = None) -> datetime | None:
        """The end of the queue-wide quota pause, or None when the queue runs."""
        now = now or self.clock()
        value = self.session.execute(
            sa.select(_QS.c.paused_until).where(_QS.c.id == QUEUE_STATE_ID)).scalar()
        return value if value is not None and value > now else None

    def _pause_queue(self, until: datetime, reason: str) -> None:
        """Push ``paused_until`` forward (never backward) in one upsert statement."""
        insert = postgresql.insert if self._postgres else sqlite.insert
        stmt = insert(_QS).values(id=QUEUE_STATE_ID, paused_until=until, reason=reason[:120])
        stmt = stmt.on_conflict_do_update(
            index_elements=[_QS.c.id],
            set_={"paused_until": stmt.excluded.paused_until, "reason": stmt.excluded.reason},
            where=sa.or_(_QS.c.paused_until.is_(None),
                         _QS.c.paused_until < stmt.excluded.paused_until))
        self.session.execute(stmt)

    # ------------------------------------------------------------------ 1. claim
    def claim(self, limit: int | None = None) -> ClaimResult:
        s = self.session
        now = self.clock()
        limit = limit or self.settings.batch_size
        try:
            paused = self.paused_until(now)
            if paused is not None:
                s.commit()  # read only; commit (not rollback) keeps a shared session's work
                return ClaimResult(paused_until=paused)
            rows: list = []
            for claim_class in CLAIM_CLASSES:
                rows += s.execute(claim_statement(
                    now=now, lease_until=now + timedelta(seconds=self.settings.lease_seconds),
                    worker_id=self.worker_id, limit=limit - len(rows), claim_class=claim_class,
                    skip_locked=self._postgres)).all()
                if len(rows) >= limit:
                    break
            if not rows:
                s.commit()
                return ClaimResult()
            claimed = {r.id: Claimed(r.id, r.reminder_id, r.device_id, r.attempts, r.message)
                       for r in rows}
            info = s.execute(
                sa.select(_T.c.id, _DEV.c.token, _DEV.c.kind, _DEV.c.retired_at,
                          _REM.c.cancelled_at)
                .select_from(_T.join(_DEV, _DEV.c.id == _T.c.device_id)
                             .join(_REM, _REM.c.id == _T.c.reminder_id))
                .where(_T.c.id.in_(list(claimed)))).all()
            for r in info:
                c = claimed[r.id]
                c.token, c.device_kind = r.token, r.kind
                c.device_retired = r.retired_at is not None
                c.reminder_cancelled = r.cancelled_at is not None
            result = ClaimResult()
            finish: list[dict] = []
            for c in sorted(claimed.values(), key=lambda c: c.id):
                if c.reminder_cancelled or c.device_retired:
                    # Not attempted: give the attempt back.
                    finish.append(self._row(c, "cancelled", attempts=c.attempts - 1,
                                            error="reminder cancelled" if c.reminder_cancelled
                                            else "device retired"))
                    result.cancelled += 1
                elif c.attempts > self.settings.max_attempts:
                    # Claimed again and again by workers that never recorded (crash loop).
                    finish.append(self._row(c, "dead", error="LEASE_EXPIRED: no result recorded "
                                            f"after {c.attempts - 1} claims"))
                    result.dead += 1
                else:
                    result.rows.append(c)
            if finish:
                self._write(finish, now)
            s.commit()
            return result
        except BaseException:
            s.rollback()
            raise

    # ------------------------------------------------------------------ 2. send
    def send(self, rows: Sequence[Claimed], *, dry_run: bool | None = None) -> list[PushResult]:
        return self.sender.send([c.to_push() for c in rows], dry_run=dry_run)

    # ------------------------------------------------------------------ 3. record
    @staticmethod
    def _row(c: Claimed, status: str, *, attempts: int | None = None, error: str | None = None,
             fcm_name: str | None = None, sent_at: datetime | None = None,
             next_attempt_at: datetime | None = None) -> dict:
        return {"b_id": c.id, "b_status": status,
                "b_attempts": c.attempts if attempts is None else attempts,
                "b_error": error, "b_fcm_name": fcm_name, "b_sent_at": sent_at,
                "b_next": next_attempt_at}

    def _write(self, params: list[dict], now: datetime) -> int:
        """One executemany: finish rows we still hold (leased_by = us, status = sending)."""
        stmt = (sa.update(_T)
                .where(_T.c.id == sa.bindparam("b_id"), _T.c.leased_by == self.worker_id,
                       _T.c.status == "sending")
                .values(status=sa.bindparam("b_status"),
                        attempts=sa.bindparam("b_attempts"),
                        last_error=sa.bindparam("b_error"),
                        fcm_name=sa.func.coalesce(sa.bindparam("b_fcm_name", type_=sa.String),
                                                  _T.c.fcm_name),
                        sent_at=sa.func.coalesce(sa.bindparam("b_sent_at", type_=UTCDateTime()),
                                                 _T.c.sent_at),
                        next_attempt_at=sa.func.coalesce(
                            sa.bindparam("b_next", type_=UTCDateTime()), _T.c.next_attempt_at),
                        lease_until=None, updated_at=now))
        result = self.session.execute(stmt, params)
        count = result.rowcount
        return count if count is not None and count >= 0 else len(params)

    def record(self, rows: Sequence[Claimed], results: Sequence[PushResult]) -> Counter:
        """Write the results back in one short transaction; returns counts per outcome."""
        assert len(rows) == len(results)
        s = self.session
        now = self.clock()
        counts: Counter = Counter()
        params: list[dict] = []
        retire: dict[int, str] = {}
        quota = [r for r in results if r.status is PushStatus.QUOTA]
        pause_until = None
        if quota:
            wait = max([self.settings.quota_pause_seconds]
                       + [r.retry_after for r in quota if r.retry_after])
            pause_until = now + timedelta(seconds=wait)
        for c, r in zip(rows, results):
            if r.status is PushStatus.SENT:
                params.append(self._row(c, "sent", fcm_name=r.message_name, sent_at=now))
                counts["sent"] += 1
            elif r.status is PushStatus.TOKEN_INVALID:
                params.append(self._row(c, "failed", error=_error_text(r)))
                retire[c.device_id] = (r.error_code or "invalid_token").lower()[:40]
                counts["failed"] += 1
            elif r.status is PushStatus.QUOTA:
                # Not this row's fault: the attempt is given back and the row waits for the
                # queue to resume (spread over a little jitter so workers do not stampede).
                spread = self.rng.uniform(
                    0, self.settings.retry_jitter * self.settings.quota_pause_seconds)
                params.append(self._row(c, "retry", attempts=c.attempts - 1, error=_error_text(r),
                                        next_attempt_at=pause_until + timedelta(seconds=spread)))
                counts["quota"] += 1
            elif r.status is PushStatus.RETRY:
                if c.attempts >= self.settings.max_attempts:
                    params.append(self._row(c, "dead", error=_error_text(r)))
                    counts["dead"] += 1
                else:
                    delay = retry_delay(c.attempts, self.settings, self.rng)
                    params.append(self._row(c, "retry", error=_error_text(r),
                                            next_attempt_at=now + timedelta(seconds=delay)))
                    counts["retry"] += 1
            else:
                params.append(self._row(c, "failed", error=_error_text(r)))
                counts["failed"] += 1
        try:
            written = self._write(params, now) if params else 0
            if written < len(params):
                counts["lease_lost"] += len(params) - written
                log.warning("worker %s lost the lease of %d deliveries before recording them",
                            self.worker_id, len(params) - written)
            if retire:
                # FCM says the token is dead, whoever holds the delivery: retire it (once).
                res = s.execute(
                    sa.update(_DEV)
                    .where(_DEV.c.id == sa.bindparam("b_device"), _DEV.c.retired_at.is_(None))
                    .values(retired_at=now, retired_reason=sa.bindparam("b_reason")),
                    [{"b_device": d, "b_reason": reason} for d, reason in retire.items()])
                counts["tokens_retired"] += max(res.rowcount or 0, 0)
            if pause_until is not None:
                self._pause_queue(pause_until,
                                  f"QUOTA_EXCEEDED at {now.isoformat(timespec='seconds')}")
            s.commit()
        except BaseException:
            s.rollback()
            raise
        return counts

    # ------------------------------------------------------------------ loops
    def run_once(self, limit: int | None = None) -> BatchReport:
        """Claim, send, record one batch (sequentially)."""
        claim = self.claim(limit)
        report = self._claim_report(claim)
        if claim.rows:
            try:
                results = self.send(claim.rows)
            except BaseException:
                # Never leave a half-done batch leased: hand the rows back for a quick retry.
                self._release(claim.rows)
                raise
            report.counts.update(self.record(claim.rows, results))
            if any(r.status is PushStatus.QUOTA for r in results):
                report.paused_until = self.paused_until()
        return report

    @staticmethod
    def _claim_report(claim: ClaimResult) -> BatchReport:
        report = BatchReport(claimed=claim.claimed, paused_until=claim.paused_until)
        if claim.cancelled:
            report.counts["cancelled"] += claim.cancelled
        if claim.dead:
            report.counts["dead"] += claim.dead
        return report

    def _release(self, rows: Sequence[Claimed], *, error: str = "RELEASED: worker error",
                 next_attempt_at: datetime | None = None) -> None:
        """Hand claimed but unsent rows back (attempt not counted)."""
        now = self.clock()
        try:
            self._write([self._row(c, "retry", attempts=c.attempts - 1, error=error,
                                   next_attempt_at=next_attempt_at or now) for c in rows], now)
            self.session.commit()
        except Exception:  # the lease will expire anyway
            self.session.rollback()
            log.exception("could not release %d claimed deliveries", len(rows))

    def dispatch_due(self, *, max_batches: int | None = None,
                     should_stop: Callable[[], bool] = lambda: False,
                     on_batch: Callable[[BatchReport], None] | None = None,
                     pipeline: bool = True) -> BatchReport:
        """Batches until nothing is due now, the queue pauses, ``should_stop()`` or
        ``max_batches``; returns the totals (``on_batch`` gets each recorded batch).

        ``pipeline``: while batch k is sent (``FcmSender.send`` on a helper thread; it needs no
        database), this thread records batch k-1 and claims batch k+1, so the database round
        trips (~10 % of a batch's time when done in turn) hide behind FCM's. The session is only
        ever used from the calling thread. A stop request stops claiming; the batch in flight
        is still sent and recorded. After QUOTA_EXCEEDED the batch claimed ahead is handed back
        unsent (``retry`` at the end of the pause, attempt not counted).
        """
        total = BatchReport()
        batches = 0

        def more() -> bool:
            return not should_stop() and (max_batches is None or batches < max_batches)

        def recorded(rows, results) -> None:
            report = BatchReport(claimed=len(rows))
            report.counts.update(self.record(rows, results))
            total.counts.update(report.counts)
            if on_batch:
                on_batch(report)

        if not pipeline:
            while more():
                report = self.run_once()
                batches += 1
                total.add(report)
                if on_batch and report.claimed:
                    on_batch(report)
                if report.claimed == 0 or report.paused_until is not None:
                    break
            return total

        if not more():
            return total
        claim = self.claim()
        batches += 1
        total.add(self._claim_report(claim))
        previous: tuple | None = None  # (rows, results): sent, not yet recorded
        in_flight: ClaimResult | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="fcm-send") as pool:
            try:
                while claim.rows:
                    in_flight, claim = claim, ClaimResult()
                    future = pool.submit(self.send, in_flight.rows)
                    try:
                        if previous is not None:
                            recorded(*previous)
                            previous = None
                        if more():
                            claim = self.claim()
                            batches += 1
                            total.add(self._claim_report(claim))
                    except BaseException:
                        wait([future])  # the database failed while sending: let the send finish,
                        in_flight = None  # leave its rows leased (sent, not recorded)
                        raise
                    results = future.result()
                    previous, in_flight = (in_flight.rows, results), None
                    if any(r.status is PushStatus.QUOTA for r in results):
                        recorded(*previous)
                        previous = None
                        total.paused_until = self.paused_until()
                        if claim.rows:
                            self._release(claim.rows,
                                          error="QUOTA_EXCEEDED: not attempted, queue paused",
                                          next_attempt_at=total.paused_until)
                            total.counts["quota"] += len(claim.rows)
                        claim = ClaimResult()
                if previous is not None:
                    recorded(*previous)
                    previous = None
            except BaseException:
                # Hand back what was claimed and not sent; what was sent and not recorded stays
                # leased (its lease expires; a resend replaces the notification: same tag).
                for unsent in (in_flight, claim):
                    if unsent is not None and unsent.rows:
                        self._release(unsent.rows)
                raise
        if claim.paused_until is not None:
            total.paused_until = claim.paused_until
        return total

    # ------------------------------------------------------------------ dry run
    def validate_due(self, limit: int | None = None) -> BatchReport:
        """Dry run: FCM ``validate_only`` for up to ``limit`` due rows. Writes nothing (no claim,
        no result, no retirement), so it can run next to real workers."""
        s = self.session
        now = self.clock()
        try:
            rows = s.execute(
                sa.select(_T.c.id, _T.c.reminder_id, _T.c.device_id, _T.c.attempts, _T.c.message,
                          _DEV.c.token, _DEV.c.kind, _DEV.c.retired_at, _REM.c.cancelled_at)
                .select_from(_T.join(_DEV, _DEV.c.id == _T.c.device_id)
                             .join(_REM, _REM.c.id == _T.c.reminder_id))
                .where(_due_condition(_T, now))
                .order_by(_T.c.next_attempt_at).limit(limit or self.settings.batch_size)).all()
            s.commit()  # read only
        except BaseException:
            s.rollback()
            raise
        report = BatchReport(claimed=0)
        todo = []
        for r in rows:
            if r.retired_at is not None or r.cancelled_at is not None:
                report.counts["cancelled"] += 1
            else:
                todo.append(Claimed(r.id, r.reminder_id, r.device_id, r.attempts, r.message,
                                    r.token, r.kind))
        for result in (self.send(todo, dry_run=True) if todo else []):
            key = {"sent": "validated", "token_invalid": "failed"}.get(result.status.value,
                                                                       result.status.value)
            report.counts[key] += 1
        return report

