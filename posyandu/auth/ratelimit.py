"""Rate limits on sign-in: only FAILED attempts count.

Rules (Flask-Limiter, storage ``RATELIMIT_STORAGE_URI``: memory by default, Redis in production
so every worker shares the counters):

- per account: 5 failed password sign-ins per 15 minutes per account (API and web portal together) (username and phone in any
  format share one counter; unknown names are counted by their normalised form);
- per address: 20 failed sign-ins per 15 minutes per client IP (password and Firebase);
- per address: 30 failed refreshes per 15 minutes per client IP;
- per account: 5 wrong current passwords on ``POST /auth/password`` per 15 minutes.

A limit is *tested* before every attempt (so once exhausted, even the right password gets 429
until the window moves on) but *deducted* only when the view flagged the attempt as failed
(``mark_failed``). Successful sign-ins cost nothing, so an account is never blocked by other
accounts' failures (unless they come from the same address and exhaust the address limit).
The 429 is problem+json with ``Retry-After`` (seconds), see ``errors.Api.handle_http_exception``.

Behind a reverse proxy, ``get_remote_address`` sees the proxy unless ``PROXY_FIX_X_FOR`` is set
to the number of trusted proxies (werkzeug ProxyFix, see ``config.wrap_for_proxy``).
"""
from __future__ import annotations

import hashlib
import hmac
import itertools

import jwt as pyjwt
from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter
from .operations import find_by_login
from .phones import InvalidPhone, looks_like_phone, normalise_phone

LOGIN_ACCOUNT_LIMIT = "5 per 15 minutes"
LOGIN_ADDRESS_LIMIT = "20 per 15 minutes"
REFRESH_ADDRESS_LIMIT = "30 per 15 minutes"
PASSWORD_CHANGE_LIMIT = "5 per 15 minutes"


def check_decorated_routes_only(app, limiter) -> bool:
    """Take Flask-Limiter's before_request check off ``app`` when nothing needs it.

    That hook only enforces application, default, meta and blueprint limits; the limits of a
    decorated view (all of ours: the sign-in routes above, the command-centre feed) are checked
    by the decorator itself. With none of the former configured the hook resolves "no limits"
    on every request, ~2 % of a measurement POST's CPU. Call after every blueprint is registered;
    returns whether the hook was removed (it stays whenever any such limit exists)."""
    manager = limiter.limit_manager
    if (manager.application_limits or manager.default_limits or getattr(manager, "_blueprint_limits", True)
            or list(itertools.chain(*getattr(limiter, "_meta_limits", [[None]])))):
        return False
    hooks = app.before_request_funcs.get(None, [])
    check = limiter._check_request_limit
    if check not in hooks:
        return False
    hooks.remove(check)
    return True


def mark_failed() -> None:
    """Flag this request as a failed credential check (it is then deducted from the limits)."""
    g.auth_attempt_failed = True


def _failed(response) -> bool:
    return bool(g.get("auth_attempt_failed"))


def account_key_for(identifier: str | None) -> str:
    """A key for an identifier with no account: normalised (the phone in E.164), then keyed-
    hashed, so neither the limiter's storage (Redis) nor its log line holds a phone or name."""
    text = (identifier or "").strip()
    normalised = "name:" + text.lower()[:128]
    if looks_like_phone(text):
        try:
            normalised = "phone:" + normalise_phone(text)
        except InvalidPhone:
            pass
    secret = (current_app.config.get("SECRET_KEY") or "").encode()
    return "h:" + hmac.new(secret, normalised.encode(), hashlib.sha256).hexdigest()[:32]


def _login_account_key() -> str:
    """The account the attempt is for: its user id when it exists (so the username and the phone
    in any format share one counter), else the normalised identifier."""
    body = request.get_json(silent=True)
    identifier = body.get("login") if isinstance(body, dict) else request.form.get("login")
    identifier = identifier if isinstance(identifier, str) else ""
    user = find_by_login(identifier) if identifier.strip() else None
    return "login-account:" + (f"user:{user.id}" if user is not None else account_key_for(identifier))


def _address_key() -> str:
    return "addr:" + (get_remote_address() or "unknown")


def _password_change_key() -> str:
    """The (unverified) subject of the bearer token. Deduction only happens after the token
    was verified and the current password was wrong, so a forged subject cannot count."""
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    if not token:  # the web portal keeps the access token in its cookie
        token = request.cookies.get(current_app.config.get("JWT_ACCESS_COOKIE_NAME", "access_token_cookie"), "")
    try:
        sub = pyjwt.decode(token, options={"verify_signature": False}).get("sub")
    except pyjwt.PyJWTError:
        sub = None
    return f"password-change:{sub}"


#: Shared limits: the API's sign-in and the web portal's sign-in form count against one budget.
login_account_limit = limiter.shared_limit(LOGIN_ACCOUNT_LIMIT, key_func=_login_account_key,
                                           deduct_when=_failed, scope="login-account", methods=["POST"])
login_address_limit = limiter.shared_limit(LOGIN_ADDRESS_LIMIT, scope="sign-in-address", key_func=_address_key,
                                           deduct_when=_failed, methods=["POST"])
refresh_address_limit = limiter.limit(REFRESH_ADDRESS_LIMIT, key_func=_address_key, deduct_when=_failed,
                                      scope="refresh-address", methods=["POST"])
password_change_limit = limiter.limit(PASSWORD_CHANGE_LIMIT, key_func=_password_change_key,
                                      deduct_when=_failed, scope="password-change", methods=["POST"])
