"""``GET /api/v1/feeds/command-centre``: the kabupaten command centre's feed (API key only).

Thin: check the key, answer 304 when ``If-None-Match`` matches the ETag of the feed to serve
(no aggregate is computed while the data version has not moved), else send that feed. See ``operations.py`` for the cost
model and the disclosure rules, docs/command-centre.md for integrators.
"""
from __future__ import annotations

from flask import Response, current_app, request

from ..apiclients import keys
from ..auth.ratelimit import _address_key, _failed
from ..blueprint import Blueprint
from ..errors import problem_response
from ..extensions import limiter
from . import operations as ops
from .schemas import FeedSchema

blp = Blueprint("feeds", __name__, url_prefix="/feeds",
                description="Machine-readable aggregate feeds for kabupaten systems (API key, not a sign-in).")

DEFAULT_RATE_LIMIT = "30 per minute"
#: Failed key checks per address (as for sign-ins).
FAILED_KEY_LIMIT = "20 per 15 minutes"
CACHE_CONTROL = "private, max-age=60"


def _rate_limit() -> str:
    return current_app.config.get("COMMAND_CENTRE_RATE_LIMIT") or DEFAULT_RATE_LIMIT


_EXAMPLE = {
    "kabupaten": {"level": "kabupaten", "code": "35.25", "name": "Kabupaten Gresik"},
    "generated_at": "2026-12-06T04:00:00+00:00", "current_month": "2026-12",
    "months": ["2025-12", "...", "2026-12"],
    "suppression": {"threshold": 5, "marker": "<5", "complementary_marker": "withheld"},
    "slow_indicators_months": ["2026-12"],
    "areas": [{
        "level": "desa", "code": "35.25.01.2001", "name": "Giri", "kecamatan_code": "35.25.01",
        "months": [{
            "month": "2026-12", "registered": 84, "measured": 61, "weighed": 60,
            "ds": {"pct": 71.4, "withheld": None},
            "stunting": {"cases": 12, "n": 60, "pct": 20.0, "ci_low": 11.7, "ci_high": 32.1, "withheld": None},
            "wasting": {"cases": "<5", "n": 59, "pct": None, "ci_low": None, "ci_high": None,
                        "withheld": "small_count"},
            "underweight": {"cases": 7, "n": 60, "pct": 11.7, "ci_low": 5.6, "ci_high": 22.8, "withheld": None},
            "two_t": "<5", "bgm": 0,
            "idl": {"infants": 17, "complete": 15, "pct": 88.2, "withheld": None},
            "overdue_doses": 23, "children_overdue": 9, "early_warning": 6,
            "quality_class": "good", "last_update": "2026-12-05T09:12:44+00:00"}]}]}


@blp.route("/command-centre", methods=["GET"])
@blp.response(200, FeedSchema, example=_EXAMPLE, headers={
    "ETag": {"description": "Strong validator of this feed; send it back in If-None-Match.",
             "schema": {"type": "string"}},
    "Cache-Control": {"description": "private, max-age=60", "schema": {"type": "string"}}})
@blp.alt_response(304, description="`If-None-Match` matched: nothing changed since (no body, computed nothing).")
@blp.alt_response(401, description="No API key, or an unknown, revoked or replaced one.")
@blp.alt_response(403, description="A staff or parent sign-in token: this endpoint takes an API key only.")
@blp.alt_response(503, description="The kabupaten's first feed is still being computed (after a server start); "
                                   "retry after Retry-After seconds.")
@blp.alt_response(429, description="Too many requests for this key (or failed keys from this address); "
                                   "see Retry-After.")
@blp.doc(security=[{"apiKeyHeader": []}, {"apiKeyBearer": []}])
@limiter.limit(_rate_limit, key_func=keys.limiter_key, scope="command-centre-feed")
@limiter.limit(FAILED_KEY_LIMIT, key_func=_address_key, deduct_when=_failed, scope="api-key-address")
def command_centre_feed():
    """Aggregates of the key's kabupaten per kecamatan and desa, current month and the 12 before

    For a command-centre dashboard (docs/command-centre.md). Authenticate with the API key
    (`Authorization: Bearer <key>` or `X-API-Key: <key>`); the key reads its own kabupaten only.
    Per area (Kemendagri codes, dotted) and month: children registered (S), measured, weighed
    (D), D/S, stunting/wasting/underweight prevalence with 95% CI (WHO anthro's method), 2T,
    BGM, IDL coverage (cumulative this year), overdue doses and early-warning count (current
    month only), data-quality class and last update. Aggregates only: counts of 1-4 are `"<5"`,
    a count hidden to protect another desa's `"<5"` is `"withheld"`, and rates computed from a
    hidden count are null with `withheld` giving the reason.

    Poll with `If-None-Match: <ETag>`: an unchanged feed answers `304 Not Modified` without
    computing anything. `Cache-Control: private, max-age=60`.
    """
    client = keys.require_client("command_centre")
    try:
        feed = ops.current_feed(client.kabupaten_code, ops.local_today(client.kabupaten_code))
    except ops.FeedPreparing:
        return problem_response(503, "Service unavailable", slug="feed-preparing",
                                detail="The feed is being prepared; please try again in 30 seconds.",
                                headers={"Retry-After": str(ops.RETRY_AFTER_SECONDS)})
    headers = {"ETag": feed.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization, X-API-Key"}
    if request.if_none_match and request.if_none_match.contains(feed.etag.strip('"')):
        return Response(status=304, headers=headers)
    headers["ETag"], body = ops.feed_body(feed)
    return Response(body, mimetype="application/json", headers=headers)
