"""The kabupaten command-centre feed: aggregates per kecamatan and desa, small counts suppressed.

Cost model (a dashboard polls every minute):

* :func:`feed_etag` is the whole cost of an unchanged poll: two small indexed queries (the
  highest change-log id, which moves with every committed change of a child, measurement or
  immunization anywhere, and the kabupaten's posyandu directory fingerprint) hashed with the
  kabupaten, the current month, today's date (overdue doses count against today), the feed's
  format version and the rule-set versions. A matching ``If-None-Match`` answers 304 from
  that alone.
* A changed ETag computes the feed once per worker process (:func:`feed_body`, kept in a small
  LRU by ETag, so every dashboard of the kabupaten shares it) with ``glance.area_glance`` for
  13 months by kecamatan and desa; overdue doses and the early warning (the slow parts,
  4-6 s a month for a kabupaten for the early warning alone) for the current month only.

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
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..charts.cache import LRU, etag_for
from ..core import disclosure as dc
from ..db import utcnow
from ..errors import NotFound
from ..extensions import db
from ..regions import codes
from ..regions.models import Posyandu, Region
from ..reports.areas import Area, Month
from ..reports.glance import INDICATORS, area_glance
from ..sync.models import ChangeLog

#: Bumped whenever the feed's shape or a definition behind it changes.
FEED_FORMAT_VERSION = "1"
MONTHS = 13
LEVELS = ("kecamatan", "desa")
#: Feed bodies by ETag, per worker process (a kabupaten's body is some 100 kB).
BODIES = LRU(max_entries=16)

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


def feed_etag(kabupaten_code: str, today: _dt.date) -> str:
    """The strong ETag of the feed as it would be computed now (cheap: see the module doc)."""
    changes = db.session.scalar(sa.select(sa.func.max(ChangeLog.id)))
    directory = db.session.execute(
        sa.select(sa.func.count(Posyandu.id), sa.func.max(Posyandu.id))
        .where(Posyandu.kabupaten_code == kabupaten_code)).one()
    return etag_for("command-centre", FEED_FORMAT_VERSION, _rules_versions(), kabupaten_code, today.isoformat(),
                    changes or 0, tuple(directory))


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


def build_feed(kabupaten_code: str, today: _dt.date) -> dict:
    """The feed document (see ``schemas.FeedSchema``)."""
    area = kabupaten_area(kabupaten_code)
    current = Month(today.year, today.month)
    months = [current.shift(-k) for k in range(MONTHS - 1, -1, -1)]
    rows = area_glance(area, months, LEVELS, slow_months=[current], today=today)
    hidden = _hidden_map(rows)
    areas: dict = {}
    for r in rows:
        entry = areas.get((r["level"], r["code"]))
        if entry is None:
            entry = areas[(r["level"], r["code"])] = {
                "level": r["level"], "code": r["code"], "name": r["name"],
                "kecamatan_code": r["parent_code"], "months": []}
        entry["months"].append(_publish_row(r, hidden))
    return {"kabupaten": area.as_dict() | {"level": "kabupaten"}, "generated_at": utcnow().isoformat(),
            "current_month": str(current), "months": [str(m) for m in months],
            "suppression": {"threshold": dc.THRESHOLD, "marker": dc.SMALL, "complementary_marker": dc.WITHHELD},
            "slow_indicators_months": [str(current)],
            "areas": list(areas.values())}


def feed_body(kabupaten_code: str, today: _dt.date, etag: str) -> bytes:
    """The JSON body for ``etag``: from this process's cache, else computed and kept."""
    body = BODIES.get(etag)
    if body is None:
        body = json.dumps(build_feed(kabupaten_code, today), ensure_ascii=False, separators=(",", ":")).encode()
        BODIES.put(etag, body)
    return body
