"""API keys of machine clients: made, hashed and checked here.

A key is ``pgcc_`` + 43 URL-safe characters from ``secrets.token_urlsafe(32)`` (256 random
bits). It is shown once, when it is made; the database keeps only
``HMAC-SHA256(API_KEY_HMAC_SECRET, key)``. A fast keyed hash is right for such keys (unlike
passwords, which need a slow hash because people choose guessable ones): nobody can guess 256
random bits, so slowing each guess down buys nothing, and the lookup is one indexed equality on
the hash (the check costs microseconds on every poll). The HMAC secret (``API_KEY_HMAC_SECRET``,
else ``SECRET_KEY``) lives outside the database, so a stolen database dump alone does not even
allow an offline check of a guessed key. Changing that secret invalidates every key.

The key travels as ``Authorization: Bearer pgcc_…`` or ``X-API-Key: pgcc_…``. Staff JWTs never
start with ``pgcc_`` (they start with ``eyJ``), so the two never mix: the staff endpoints verify
a JWT and refuse a key as an invalid token, and the key endpoints refuse a JWT.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, request

from ..db import utcnow
from ..errors import Forbidden, Unauthorized
from ..extensions import db

KEY_PREFIX = "pgcc_"
PREFIX_SHOWN = 12
#: A key's use is written to the audit trail at most this often per client (each poll would
#: otherwise add a row a minute); ``last_used_at`` moves at the same time.
USE_AUDIT_INTERVAL = timedelta(hours=1)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    secret = current_app.config.get("API_KEY_HMAC_SECRET") or current_app.config.get("SECRET_KEY") or ""
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def presented_key() -> str | None:
    """The API key of this request (``X-API-Key``, else a Bearer value that is a key)."""
    header = request.headers.get("X-API-Key", "").strip()
    if header:
        return header
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip().startswith(KEY_PREFIX):
        return auth[7:].strip()
    return None


def limiter_key() -> str:
    """Rate-limit bucket: the presented key (as a short keyed hash: no key in Redis), else the
    address."""
    from flask_limiter.util import get_remote_address
    key = presented_key()
    return "api-key:" + key_hash(key)[:24] if key else "addr:" + (get_remote_address() or "unknown")


@dataclass(frozen=True, slots=True)
class RequestClient:
    id: int
    kind: str
    kabupaten_code: str


def require_client(kind: str) -> RequestClient:
    """The machine client of this request, checked (401 without a valid, active key; 403 for a
    staff or parent sign-in, which this endpoint does not take)."""
    from ..auth.ratelimit import mark_failed
    from .models import ApiClient
    client = g.get("api_client")
    if client is not None:
        return client
    key = presented_key()
    if key is None:
        if request.headers.get("Authorization"):
            from ..auth.scope import request_user
            request_user()   # an invalid or expired token: 401 from the JWT checks
            raise Forbidden("This endpoint is for command-centre API keys, not for signed-in users.")
        mark_failed()
        raise Unauthorized("Send the API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.")
    row = db.session.execute(sa.select(ApiClient).where(ApiClient.key_hash == key_hash(key))).scalar_one_or_none()
    if row is None or not row.is_active or row.kind != kind:
        mark_failed()
        raise Unauthorized("This API key is not valid (unknown, revoked or replaced by a new one).")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= USE_AUDIT_INTERVAL:
        from ..audit.log import audit
        row.last_used_at = now
        audit("use", "api_client", row.id, changes={"endpoint": request.path})
        db.session.flush()
    client = RequestClient(row.id, row.kind, row.kabupaten_code)
    g.api_client = client
    return client
