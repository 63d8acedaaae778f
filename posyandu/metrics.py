"""Prometheus metrics at ``GET /metrics`` (prometheus_client), for the kabupaten's ops team.

Off unless ``METRICS_TOKEN`` and/or ``METRICS_ALLOWED_NETWORKS`` is set: then the request hook
is installed and ``/metrics`` answers those who pass every configured check (bearer token,
client address in one of the networks); everyone else gets the same 404 as an unknown path.

What is measured:

- ``posyandu_http_request_duration_seconds{method,route,status}`` (histogram): every API
  request, by the route *template* (``/api/v1/children/<uuid:child_id>``, never a raw path, so
  no id leaks and the series stay few); ``_count`` by ``status`` gives the errors per endpoint.
- ``posyandu_sync_push_records_total{entity,result}`` and
  ``posyandu_sync_pull_changes_total{entity,op}`` (counters): what phones sent and received.
- ``posyandu_database_unavailable_total`` (counter): requests answered 503 during an outage.
- At scrape time, from the database (one indexed query per family): the reminder outbox
  ``posyandu_reminder_queue{status}`` (pending, retry, sending), ``posyandu_reminder_due``,
  ``posyandu_reminder_oldest_due_seconds``, ``posyandu_reminder_deliveries_failed{status}``
  (failed, dead: running totals), ``posyandu_reminder_queue_paused`` (quota back-off), and
  ``posyandu_database_up``.

gunicorn runs several worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (see
``deploy/gunicorn.conf.py``), prometheus_client keeps each worker's values in memory-mapped
files there and a scrape answered by any worker adds them up. On the request path the cost is
one dict lookup and one histogram observation (``benchmarks/bench_metrics.py``).
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections import Counter as Tally

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Histogram, disable_created_metrics, generate_latest)
from prometheus_client.core import GaugeMetricFamily

from .config import ConfigError

EXTENSION_KEY = "posyandu.metrics"
disable_created_metrics()  # no *_created series: they double the output and nobody graphs them

#: Seconds; the measurement POST takes a few ms, a first pull or a report up to seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

REQUEST_SECONDS = Histogram(
    "posyandu_http_request_duration_seconds",
    "API request latency by method, route template and HTTP status.",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS)
SYNC_PUSH_RECORDS = Counter(
    "posyandu_sync_push_records_total",
    "Records received by POST /sync/push, by entity and receipt (applied, duplicate, conflict, invalid).",
    ["entity", "result"])
SYNC_PULL_CHANGES = Counter(
    "posyandu_sync_pull_changes_total",
    "Changes sent by GET /sync/pull, by entity and op (upsert, delete).", ["entity", "op"])
DATABASE_UNAVAILABLE = Counter(
    "posyandu_database_unavailable_total",
    "Requests answered 503 because the database was unreachable.")

blp = Blueprint("metrics", __name__)


class Settings:
    def __init__(self, token: str | None, networks: list) -> None:
        self.token = token
        self.networks = networks


def parse_networks(raw: str | None) -> list:
    """``"127.0.0.1/32, 10.20.0.0/16"`` -> networks; a bad entry stops the start-up."""
    networks = []
    for part in (raw or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"METRICS_ALLOWED_NETWORKS: {part!r} is not an address or network") from None
    return networks


def init_app(app: Flask) -> None:
    """Register ``/metrics`` (always: unconfigured it is a 404) and, when configured, the
    request hook."""
    token = app.config.get("METRICS_TOKEN") or None
    networks = parse_networks(app.config.get("METRICS_ALLOWED_NETWORKS"))
    app.register_blueprint(blp)
    from .database_outage import refusal_listeners
    if note_database_unavailable not in refusal_listeners:
        refusal_listeners.append(note_database_unavailable)
    if not token and not networks:
        return
    app.extensions[EXTENSION_KEY] = Settings(token, networks)
    children: dict[tuple, object] = {}  # (method, route, status) -> histogram child

    @app.after_request
    def _observe(response):
        started = g.get("request_started")  # set by logging_setup's before_request
        rule = request.url_rule
        if started is None or (rule is not None and rule.endpoint == "metrics.metrics"):
            return response
        key = (request.method, rule.rule if rule is not None else "<unmatched>", response.status_code)
        child = children.get(key)
        if child is None:
            method = key[0] if key[0] in _METHODS else "other"
            child = children[key] = REQUEST_SECONDS.labels(method, key[1], str(key[2]))
        child.observe(time.perf_counter() - started)
        return response


def enabled() -> bool:
    return EXTENSION_KEY in current_app.extensions


def note_sync_push(receipts) -> None:
    if not enabled():
        return
    for (entity, result), n in Tally((r.get("entity") or "unknown", r.get("status") or "unknown")
                                     for r in receipts).items():
        SYNC_PUSH_RECORDS.labels(str(entity), str(result)).inc(n)


def note_sync_pull(changes) -> None:
    if not enabled() or not changes:
        return
    for (entity, op), n in Tally((c["entity"], c["op"]) for c in changes).items():
        SYNC_PULL_CHANGES.labels(entity, op).inc(n)


def note_database_unavailable() -> None:
    try:
        if enabled():
            DATABASE_UNAVAILABLE.inc()
    except RuntimeError:  # outside an application context
        pass


# ------------------------------------------------------------------ the endpoint
def _allowed(settings: Settings) -> bool:
    if settings.token:
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            return False
    if settings.networks:
        try:
            address = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return False
        if not any(address in network for network in settings.networks):
            return False
    return True


@blp.get("/metrics")
def metrics():
    """Prometheus text format; 404 unless configured and the caller passes every check."""
    settings = current_app.extensions.get(EXTENSION_KEY)
    if settings is None or not _allowed(settings):
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    database_registry = CollectorRegistry(auto_describe=False)
    database_registry.register(DatabaseCollector())
    body = generate_latest(process_registry) + generate_latest(database_registry)
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class DatabaseCollector:
    """The reminder outbox as gauges, read at scrape time (the same for every worker)."""

    def collect(self):
        from .database_outage import is_database_unavailable, summarise
        from .extensions import db
        up = GaugeMetricFamily("posyandu_database_up", "1 when the database answered this scrape.")
        try:
            families = list(_outbox_families(db.session))
        except Exception as exc:  # noqa: BLE001 - a scrape must still answer
            db.session.rollback()
            if not is_database_unavailable(exc):
                current_app.logger.warning("metrics: outbox query failed: %s", summarise(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _outbox_families(session):
    import sqlalchemy as sa

    from .db import utcnow
    from .reminders.models import QueueState, ReminderDelivery as D

    now = utcnow()
    counts = dict(session.execute(
        sa.select(D.status, sa.func.count()).where(
            D.status.in_(("pending", "retry", "sending", "failed", "dead")))
        .group_by(D.status)).all())
    due_filter = sa.or_(sa.and_(D.status.in_(("pending", "retry")), D.next_attempt_at <= now),
                        sa.and_(D.status == "sending", D.lease_until <= now))
    due, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(D.next_attempt_at)).where(due_filter)).one()
    paused_until = session.scalar(sa.select(sa.func.max(QueueState.paused_until)))

    queue = GaugeMetricFamily("posyandu_reminder_queue",
                              "Reminder deliveries waiting or in flight, by status.", labels=["status"])
    for status in ("pending", "retry", "sending"):
        queue.add_metric([status], counts.get(status, 0))
    yield queue
    yield GaugeMetricFamily("posyandu_reminder_due", "Deliveries due now (a growing number: "
                            "workers are not keeping up or not running).", value=due or 0)
    yield GaugeMetricFamily("posyandu_reminder_oldest_due_seconds",
                            "How long the oldest due delivery has waited.",
                            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    failed = GaugeMetricFamily("posyandu_reminder_deliveries_failed",
                               "Deliveries that gave up (failed: not retryable; dead: out of "
                               "attempts), running totals.", labels=["status"])
    for status in ("failed", "dead"):
        failed.add_metric([status], counts.get(status, 0))
    yield failed
    yield GaugeMetricFamily("posyandu_reminder_queue_paused",
                            "1 while FCM quota back-off pauses the whole queue.",
                            value=1 if paused_until is not None and paused_until > now else 0)
