"""flask-jwt-extended, remembering access tokens it has already verified.

A phone sends the same access token with every request for up to 15 minutes, and
flask-jwt-extended parses and verifies it in full each time (four PyJWT parses, about a
tenth of the CPU of a measurement POST). A token string that verified once under this app's
key and settings verifies again until it expires, so its claims are kept in a small LRU per
process and app; on every hit the expiry is checked again (an expired token then takes the
normal path and gets the usual 401). Tokens that failed are never cached; CSRF values and
``allow_expired`` decodes always take the normal path. Revocation checks (password change,
disabled account) run after decoding, on every request, as before.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

from flask import current_app
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config

#: Verified tokens remembered per process and app (a token is ~400 bytes).
MAX_TOKENS = 4096
_EXTENSION_KEY = "posyandu.verified_tokens"
_now = time.time  # tests replace this to move the clock


class CachingJWTManager(JWTManager):
    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if csrf_value is not None or allow_expired:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        cache, lock = current_app.extensions.setdefault(_EXTENSION_KEY, (OrderedDict(), threading.Lock()))
        with lock:
            claims = cache.get(encoded_token)
            if claims is not None:
                exp = claims.get("exp")
                leeway = config.leeway
                leeway = leeway.total_seconds() if hasattr(leeway, "total_seconds") else leeway
                if exp is None or _now() < exp + leeway:
                    cache.move_to_end(encoded_token)
                    return dict(claims)
                del cache[encoded_token]
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        with lock:
            cache[encoded_token] = dict(claims)
            if len(cache) > MAX_TOKENS:
                cache.popitem(last=False)
        return claims
