"""The kabupaten command-centre feed: aggregates per kecamatan and desa, small counts suppressed.

Cost model (a dashboard polls every minute):

* :func:`data_version` is the whole cost of an unchanged poll: two small indexed queries (the
  highest change-log id, which moves with every committed change of a child, measurement or
  immunization anywhere, and the kabupaten's posyandu directory fingerprint) with the
  kabupaten, today's date (overdue doses count against today), the feed's format version and
  the rule-set versions. While it equals the version the served feed was computed at, the feed
  is not computed again: a matching ``If-None-Match`` answers 304, any other request gets the
  kept body.
* The computed feed is kept in the database (``command_centre_feed``, see ``models.py``),
  shared by every server process: one process computes it (a PostgreSQL advisory lock per
  kabupaten; the others keep serving the stored one) and all serve the same bytes and ETag.
* When the version moved, the feed is recomputed, but at most once per
  ``COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS`` (300) per kabupaten: on a posyandu day, when cadres
  save a visit every few seconds, dashboards see the numbers at most five minutes old instead of
  every worker recomputing every minute.
* A recomputation computes the current month afresh (``glance.area_glance`` by kecamatan and
  desa, with overdue doses and the early warning, the slow parts: 4-6 s for a kabupaten's early
  warning alone) and takes the 12 past months (IDL coverage is the costly part there: one
  statement per month) from the stored feed's past rows while they are younger than
  ``COMMAND_CENTRE_PAST_MONTHS_SECONDS`` (3600): a late entry for a past month shows within the
  hour (a kept feed whose past months are older than that is recomputed even when nothing
  changed).
* In production (``COMMAND_CENTRE_BACKGROUND``) the recomputation runs in a background thread
  while the kept feed is served, so no poll waits for it (a kabupaten's first computation can
  outlast the server's request timeout); see :func:`current_feed`.
* Each computed body gets its own strong ETag (the version plus when and where it was computed),
  so one ETag always means the same bytes.

Disclosure control (``core.disclosure``): every count of 1-4 becomes ``"<5"``; where exactly one
desa of a kecamatan is hidden for a count, the smallest other desa count of that kecamatan is
hidden as ``"withheld"`` (else kecamatan minus the others would give it back); rates and
confidence intervals computed from a hidden count are ``null`` with ``withheld`` naming the
reason. No kabupaten total is published (it would expose a hidden kecamatan the same way).
No names, ids, birth dates or any other personal field: only area codes and names.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from ..charts.cache import etag_for
from ..core import disclosure as dc
from ..db import utcnow
from ..errors import NotFound
from ..extensions import db
from ..regions import codes
from ..regions.models import Posyandu, Region
from ..reports.areas import Area, Month
from ..reports.glance import INDICATORS, area_glance
from ..sync.models import ChangeLog
from .models import CommandCentreFeed

#: Bumped whenever the feed's shape or a definition behind it changes.
FEED_FORMAT_VERSION = "1"
MONTHS = 13
LEVELS = ("kecamatan", "desa")
MIN_RECOMPUTE_SECONDS = 300
PAST_MONTHS_SECONDS = 3600

#: The counts of a glance row (flat key, or (indicator, part)) that are suppressed.
COUNTS = ("registered", "measured", "weighed", "two_t", "bgm", "idl_infants", "idl_ytd", "overdue_doses",
          "children_overdue", "early_warning",
          *((name, part) for name, *_ in INDICATORS for part in ("cases", "n")))


def _get(row: dict, path):
    return row[path[0]][path[1]] if isinstance(path, tuple) else row[path]


def kabupaten_area(code: str) -> Area:
    region = db.session.get(Region, code)
    if region is None or region.level != "kabupaten":
        raise NotFound("No such kabupaten.")
    return Area("kabupaten", region.code, codes.dotted(region.code), region.name)


def _rules_versions() -> str:
    from ..core import quality as cq
    from ..core.growth import early_warning as ew
    from ..core.growth.rules import default_rules
    return f"{default_rules().version}/{cq.default_settings().version}/{ew.default_ews_rules().version}"


def local_today(kabupaten_code: str) -> _dt.date:
    """Today in the kabupaten's time zone (its posyandu's; WIB when it has none)."""
    zone = db.session.scalar(sa.select(Posyandu.timezone).where(Posyandu.kabupaten_code == kabupaten_code)
                             .order_by(Posyandu.id).limit(1)) or "Asia/Jakarta"
    return utcnow().astimezone(ZoneInfo(zone)).date()


def data_version(kabupaten_code: str, today: _dt.date) -> str:
    """A digest of everything the feed depends on, cheap to read (see the module doc)."""
    changes = db.session.scalar(sa.select(sa.func.max(ChangeLog.id)))
    directory = db.session.execute(
        sa.select(sa.func.count(Posyandu.id), sa.func.max(Posyandu.id))
        .where(Posyandu.kabupaten_code == kabupaten_code)).one()
    return etag_for("command-centre", FEED_FORMAT_VERSION, _rules_versions(), kabupaten_code, today.isoformat(),
                    changes or 0, tuple(directory))


@dataclass(frozen=True)
class Feed:
    """A stored feed without its body (a 304 never reads the body)."""
    kabupaten_code: str
    etag: str
    version: str
    computed_at: _dt.datetime
    past_computed_at: _dt.datetime | None


@dataclass(frozen=True)
class PastMonths:
    """The 12 past months' glance rows, what they were computed for, and when."""
    key: str
    rows: list
    computed_at: _dt.datetime


_STORED = CommandCentreFeed.__table__
_LOCK = threading.Lock()
#: Advisory-lock class of a kabupaten's feed computation (second key: hash of its code).
_LOCK_CLASS = 7320


def clear_cache() -> None:
    """Forget this process's running computations (the stored feeds are rows: tests roll them back)."""
    with _LOCK:
        _RUNNING.clear()


def kept_feed(kabupaten_code: str) -> Feed | None:
    row = db.session.execute(sa.select(_STORED.c.etag, _STORED.c.version, _STORED.c.computed_at,
                                       _STORED.c.past_computed_at)
                             .where(_STORED.c.kabupaten_code == kabupaten_code)).first()
    return None if row is None else Feed(kabupaten_code, row.etag, row.version, row.computed_at,
                                         row.past_computed_at)


def feed_body(feed: Feed) -> tuple[str, bytes]:
    """The stored feed's ETag and body, read together (another process may have stored a newer
    feed since ``feed`` was read: then that one, with its own ETag)."""
    row = db.session.execute(sa.select(_STORED.c.etag, _STORED.c.body)
                             .where(_STORED.c.kabupaten_code == feed.kabupaten_code)).one()
    return row.etag, bytes(row.body)


def _setting(name: str, default: int) -> float:
    value = current_app.config.get(name)
    return float(default if value is None else value)


class FeedPreparing(Exception):
    """No feed is kept yet for the kabupaten and its first computation is still running."""


#: Kabupaten whose feed a background thread is computing (per process).
_RUNNING: dict[str, threading.Event] = {}
WAIT_SECONDS = 20
RETRY_AFTER_SECONDS = 30


def current_feed(kabupaten_code: str, today: _dt.date) -> Feed:
    """The feed to serve now: the kept one while the data version has not moved (or moved less
    than ``COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS`` ago), else a new one.

    With ``COMMAND_CENTRE_BACKGROUND`` (production) a new feed is computed in a background
    thread while the kept one is still served (stale while it is recomputed), so no request waits
    for a computation that can take longer than the server's request timeout at kabupaten scale.
    With nothing kept yet, the request waits up to :data:`WAIT_SECONDS` and then raises
    :class:`FeedPreparing` (the route answers 503 with Retry-After). Without it (tests, CLI) the
    feed is computed in the request."""
    version = data_version(kabupaten_code, today)
    now = utcnow()
    kept = kept_feed(kabupaten_code)
    past_fresh = kept is not None and (kept.past_computed_at is None or (
        now - kept.past_computed_at).total_seconds() < _setting("COMMAND_CENTRE_PAST_MONTHS_SECONDS",
                                                                PAST_MONTHS_SECONDS))
    if past_fresh and (kept.version == version or (now - kept.computed_at).total_seconds()
                       < _setting("COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS", MIN_RECOMPUTE_SECONDS)):
        return kept
    if not current_app.config.get("COMMAND_CENTRE_BACKGROUND"):
        feed = _compute(kabupaten_code, today, version) or kept_feed(kabupaten_code)
        if feed is None:   # another process is computing the first one
            raise FeedPreparing()
        return feed
    if kept is None:
        # End this request's transaction (the key check and its audit row) before the computing
        # thread starts and this one waits: on SQLite every transaction holds the write lock
        # (BEGIN IMMEDIATE, posyandu/db.py), so the thread could not even start its reads.
        db.session.commit()
    done = _start_background(kabupaten_code, today, version)
    if kept is not None:
        return kept
    deadline = time.monotonic() + WAIT_SECONDS
    done.wait(WAIT_SECONDS)
    while True:   # the thread stored it, or found another process computing it: look again
        kept = kept_feed(kabupaten_code)
        db.session.commit()   # a fresh snapshot for the next look
        if kept is not None:
            return kept
        if time.monotonic() >= deadline:
            raise FeedPreparing()
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def _computation_lock(kabupaten_code: str) -> bool:
    """Take the kabupaten's computation lock for this transaction (PostgreSQL; SQLite has one
    writer anyway); False while another process computes it."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(
        _LOCK_CLASS, sa.func.hashtext(kabupaten_code)))))


def _compute(kabupaten_code: str, today: _dt.date, version: str) -> Feed | None:
    """Compute and store the kabupaten's feed; None when another process is computing it."""
    if not _computation_lock(kabupaten_code):
        return None
    document, past = build_feed(kabupaten_code, today)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    now = utcnow()
    values = {"version": version, "etag": etag_for(version, time.time_ns(), os.getpid(), threading.get_ident()),
              "body": body, "computed_at": now}
    if past is not None:
        values.update(past_key=past.key, past_computed_at=past.computed_at,
                      past_rows=json.dumps(past.rows, default=_json_default, separators=(",", ":")).encode())
    if db.session.execute(sa.update(_STORED).where(_STORED.c.kabupaten_code == kabupaten_code)
                          .values(values)).rowcount == 0:
        db.session.execute(sa.insert(_STORED).values(kabupaten_code=kabupaten_code, **values))
    return Feed(kabupaten_code, values["etag"], version, now, values.get("past_computed_at"))


def _json_default(value):
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} in a feed row")


def _start_background(kabupaten_code: str, today: _dt.date, version: str) -> threading.Event:
    """Start computing the kabupaten's feed in a thread (one at a time per kabupaten)."""
    with _LOCK:
        running = _RUNNING.get(kabupaten_code)
        if running is not None:
            return running
        done = _RUNNING[kabupaten_code] = threading.Event()
    app = current_app._get_current_object()

    def work():
        try:
            with app.app_context():
                try:
                    _compute(kabupaten_code, today, version)
                    db.session.commit()
                except Exception:   # noqa: BLE001 - logged; the next poll tries again
                    db.session.rollback()
                    app.logger.exception("command-centre feed computation failed (kabupaten %s)", kabupaten_code)
                finally:
                    db.session.remove()
        finally:
            with _LOCK:
                _RUNNING.pop(kabupaten_code, None)
            done.set()

    threading.Thread(target=work, name=f"feed-{kabupaten_code}", daemon=True).start()
    return done


def _past_months(area: Area, months: list[Month], today: _dt.date) -> PastMonths:
    """The glance rows of the past months: the stored feed's while they are younger than
    ``COMMAND_CENTRE_PAST_MONTHS_SECONDS`` and were computed for the same kabupaten, months,
    rules and posyandu directory; else computed now."""
    directory = db.session.execute(
        sa.select(sa.func.count(Posyandu.id), sa.func.max(Posyandu.id))
        .where(Posyandu.kabupaten_code == area.key)).one()
    key = etag_for(area.key, str(months[0]), str(months[-1]), FEED_FORMAT_VERSION, _rules_versions(),
                   tuple(directory)).strip('"')
    now = utcnow()
    stored = db.session.execute(sa.select(_STORED.c.past_key, _STORED.c.past_rows, _STORED.c.past_computed_at)
                                .where(_STORED.c.kabupaten_code == area.key)).first()
    if stored is not None and stored.past_key == key and stored.past_computed_at is not None and \
            (now - stored.past_computed_at).total_seconds() < _setting("COMMAND_CENTRE_PAST_MONTHS_SECONDS",
                                                                       PAST_MONTHS_SECONDS):
        return PastMonths(key, json.loads(bytes(stored.past_rows)), stored.past_computed_at)
    return PastMonths(key, area_glance(area, months, LEVELS, slow_months=[], today=today), now)


def _iso(value):
    return value.isoformat() if isinstance(value, (_dt.datetime, _dt.date)) else value


def _hidden_map(rows: list[dict]) -> dict:
    """``{(level, code, month, path): marker}`` for every count not to publish as a number."""
    hidden: dict = {}
    kecamatan = {(r["code"], r["month"]): r for r in rows if r["level"] == "kecamatan"}
    desa_by_parent: dict = {}
    for r in rows:
        if r["level"] == "desa":
            desa_by_parent.setdefault((r["parent_code"], r["month"]), []).append(r)
    for path in COUNTS:
        for (code, month), k in kecamatan.items():
            parent = _get(k, path)
            if dc.is_small(parent):
                hidden[("kecamatan", code, month, path)] = dc.SMALL
            children = {d["code"]: _get(d, path) for d in desa_by_parent.get((code, month), [])}
            for child, marker in dc.hidden_cells(parent, children).items():
                hidden[("desa", child, month, path)] = marker
        for (parent_code, month), desa_rows in desa_by_parent.items():
            if (parent_code, month) in kecamatan:
                continue   # a desa with no kecamatan row (not expected): primary suppression only
            for d in desa_rows:
                if dc.is_small(_get(d, path)):
                    hidden[("desa", d["code"], month, path)] = dc.SMALL
    return hidden


def _publish_row(row: dict, hidden: dict) -> dict:
    def count(path):
        return dc.publish(_get(row, path), hidden.get((row["level"], row["code"], row["month"], path)))

    out = {"month": row["month"]}
    for key in ("registered", "measured", "weighed"):
        out[key] = count(key)
    reason = dc.rate_reason(out["registered"], out["weighed"])
    out["ds"] = {"pct": None if reason else row["ds_pct"], "withheld": reason}
    for name, *_ in INDICATORS:
        est = row[name]
        cases, n = count((name, "cases")), count((name, "n"))
        reason = dc.rate_reason(n, cases, out["measured"])
        out[name] = {"cases": cases, "n": n, **{k: None if reason else est[k] for k in ("pct", "ci_low", "ci_high")},
                     "withheld": reason}
    for key in ("two_t", "bgm"):
        out[key] = count(key)
    infants, complete = count("idl_infants"), count("idl_ytd")
    reason = dc.rate_reason(infants, complete)
    out["idl"] = {"infants": infants, "complete": complete, "pct": None if reason else row["idl_coverage_pct"],
                  "withheld": reason}
    for key in ("overdue_doses", "children_overdue", "early_warning"):
        out[key] = count(key)
    out["quality_class"] = row["quality_class"]
    out["last_update"] = _iso(row["last_update"])
    return out


def build_feed(kabupaten_code: str, today: _dt.date) -> tuple[dict, PastMonths]:
    """The feed document (see ``schemas.FeedSchema``) and its past months' rows."""
    area = kabupaten_area(kabupaten_code)
    current = Month(today.year, today.month)
    past = [current.shift(-k) for k in range(MONTHS - 1, 0, -1)]
    past_months = _past_months(area, past, today)
    rows = past_months.rows + area_glance(area, [current], LEVELS, slow_months=[current], today=today)
    hidden = _hidden_map(rows)
    areas: dict = {}
    for r in rows:
        entry = areas.get((r["level"], r["code"]))
        if entry is None:
            entry = areas[(r["level"], r["code"])] = {
                "level": r["level"], "code": r["code"], "name": r["name"],
                "kecamatan_code": r["parent_code"], "months": []}
        entry["months"].append(_publish_row(r, hidden))
    ordered = sorted(areas.values(), key=lambda a: LEVELS.index(a["level"]))   # stable: report order kept
    return {"kabupaten": area.as_dict() | {"level": "kabupaten"}, "generated_at": utcnow().isoformat(),
            "current_month": str(current), "months": [str(m) for m in past + [current]],
            "suppression": {"threshold": dc.THRESHOLD, "marker": dc.SMALL, "complementary_marker": dc.WITHHELD},
            "slow_indicators_months": [str(current)],
            "areas": ordered}, past_months
