"""The portal's browser session: the API's tokens kept in cookies, with CSRF checks on forms.

- Sign-in goes through ``posyandu.auth.operations`` (same accounts, argon2, disabled accounts,
  the shared sign-in rate limits); parents have no password and machine clients no account
  here, so only staff roles (admin, dinkes, puskesmas, kader) get in.
- The access token (15 minutes) and the stored, rotating refresh token live in httpOnly,
  SameSite=Lax cookies (Secure with ``PORTAL_COOKIE_SECURE``, on by default in production).
  The refresh cookie is sent to ``/portal/`` only; a page request with an expired access token
  rotates the refresh token (the same rotation and reuse detection as ``POST /auth/refresh``).
- Every form carries a CSRF token: signed-in forms the access token's own ``csrf`` claim
  (flask-jwt-extended's double submit, compared here against the cookie's token); the sign-in
  form, which has no session yet, a random value also kept in an httpOnly cookie.
- Sign-out revokes the refresh token family and clears the cookies.
"""
from __future__ import annotations

import dataclasses
import hmac
import secrets

from flask import current_app, g, request
from flask_jwt_extended import decode_token, set_access_cookies, set_refresh_cookies, unset_jwt_cookies
from jwt import PyJWTError

from ..auth import operations as ops
from ..auth.scope import STAFF_ROLES, Scope, load_request_user
from ..auth.tokens import password_stamp
from ..errors import Unauthorized
from ..i18n import accept_language, normalise_language
from ..transaction import keep_changes_on_error

LOGIN_CSRF_COOKIE = "portal_login_csrf"
LANGUAGE_COOKIE = "portal_lang"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class CsrfFailure(Exception):
    """A form arrived without the token of this session (another site's form, or a stale page)."""


def _cookie_name(kind: str) -> str:
    return current_app.config.get(f"JWT_{kind.upper()}_COOKIE_NAME", f"{kind}_token_cookie")


def _decode(token: str | None, kind: str, *, allow_expired: bool = False) -> dict | None:
    if not token:
        return None
    try:
        claims = decode_token(token, allow_expired=allow_expired)
    except PyJWTError:
        return None
    except Exception:  # noqa: BLE001 -- flask-jwt-extended's own errors (wrong type, ...)
        return None
    return claims if claims.get("type") == kind else None


# --------------------------------------------------------------------------- language
def portal_language() -> str:
    """The portal's language: the switch (cookie), else the account's, else the browser's, else id."""
    chosen = normalise_language(request.cookies.get(LANGUAGE_COOKIE))
    if chosen:
        return chosen
    user = g.get("request_user")
    if user is not None and normalise_language(user.language):
        return normalise_language(user.language)
    return accept_language(request.headers.get("Accept-Language")) or "id"


# --------------------------------------------------------------------------- signed-in user
def load_session() -> Scope | None:
    """The signed-in staff member's scope from the cookies (rotating the refresh token when the
    access token expired), or None. Sets what ``posyandu.auth.scope`` expects in ``g``, so the
    operations called by portal pages see the same scope as the API would."""
    if "portal_scope" in g:
        return g.portal_scope
    g.portal_scope = None
    access = request.cookies.get(_cookie_name("access"))
    claims = _decode(access, "access")
    g.portal_csrf_claims = claims or _decode(access, "access", allow_expired=True)
    if claims is None:
        refresh = request.cookies.get(_cookie_name("refresh"))
        if not refresh or _decode(refresh, "refresh") is None:
            return None
        try:
            pair = ops.rotate(refresh)
        except Unauthorized:
            g.portal_clear_cookies = True
            return None
        g.portal_new_pair = pair
        keep_changes_on_error()  # the rotation sticks even when this page answers 404
        claims = _decode(pair.access_token, "access")
    user = load_request_user(int(claims["sub"]))
    if user is None or not user.is_active or user.role not in STAFF_ROLES:
        g.portal_clear_cookies = True
        return None
    if "pwc" in claims and password_stamp(user) != claims["pwc"]:
        g.portal_clear_cookies = True
        return None
    language = normalise_language(request.cookies.get(LANGUAGE_COOKIE))
    if language:  # the portal's switch wins over the account's preference for this request
        user = dataclasses.replace(user, language=language)
    g.request_user = user
    g.current_user_id = user.id
    g.current_role = user.role
    g.scope = Scope(user_id=user.id, role=user.role, posyandu_ids=user.posyandu_ids,
                    puskesmas_id=user.puskesmas_id, kabupaten_code=user.kabupaten_code)
    g.portal_scope = g.scope
    return g.scope


def csrf_token() -> str:
    """The token a signed-in form must carry (the access token's ``csrf`` claim)."""
    if g.get("portal_new_pair") is not None:
        return _decode(g.portal_new_pair.access_token, "access").get("csrf", "")
    claims = g.get("portal_csrf_claims") or {}
    return claims.get("csrf", "")


def check_csrf() -> None:
    """Refuse a signed-in form whose token is not this session's (before anything changes)."""
    if request.method not in UNSAFE_METHODS:
        return
    claims = g.get("portal_csrf_claims") or {}
    expected = claims.get("csrf") or ""
    given = request.form.get("csrf_token") or ""
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfFailure()


# --------------------------------------------------------------------------- sign-in form token
def login_form_token() -> str:
    """The sign-in form's token (reused from its cookie, or new; the cookie is set after the request)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token or len(token) < 32:
        token = g.get("portal_login_csrf") or secrets.token_urlsafe(32)
        g.portal_login_csrf = token
    return token


def check_login_form_token() -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    given = request.form.get("csrf_token") or ""
    if not cookie or not given or not hmac.compare_digest(cookie, given):
        raise CsrfFailure()


# --------------------------------------------------------------------------- sign-in / sign-out
def sign_in(login: str, password: str):
    """Check the password like ``POST /auth/login``; only staff roles may use the portal."""
    user = ops.authenticate(login, password)
    if user.role not in STAFF_ROLES:  # parents are refused by authenticate; keep the rule here too
        raise Unauthorized(ops.BAD_CREDENTIALS, slug="invalid-credentials", title="Sign-in failed")
    g.portal_new_pair = ops.issue_tokens(user)
    return user


def sign_out() -> None:
    """Revoke this browser's refresh token family (if any) and clear the cookies."""
    refresh = request.cookies.get(_cookie_name("refresh"))
    if refresh:
        try:
            ops.logout(refresh)
        except Unauthorized:
            pass
    g.portal_clear_cookies = True
    g.portal_new_pair = None


def after_request(response):
    """Write the cookies this request decided on (new tokens, cleared session, sign-in token)."""
    secure = bool(current_app.config.get("JWT_COOKIE_SECURE"))
    if g.get("portal_clear_cookies"):
        unset_jwt_cookies(response)
    pair = g.get("portal_new_pair")
    if pair is not None:
        set_access_cookies(response, pair.access_token)
        set_refresh_cookies(response, pair.refresh_token)
    token = g.get("portal_login_csrf")
    if token:
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Lax", secure=secure,
                            path="/portal/")
    return response


def set_language_cookie(response, language: str):
    secure = bool(current_app.config.get("JWT_COOKIE_SECURE"))
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, httponly=True, samesite="Lax",
                        secure=secure, path="/")
    return response
