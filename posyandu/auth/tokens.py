"""JWT plumbing: error responses as problem+json, and the claims we put in tokens.

Access tokens (``JWT_ACCESS_TOKEN_EXPIRES``, 15 minutes or less) are not stored. They carry
``role`` (for clients) and ``pwc``, the user's password stamp at issue time: a password change
or reset changes the stamp, so every earlier access token is refused at once, even one issued
in the same second (``iat`` has whole-second precision only; ``scope.request_user`` also
keeps its ``iat`` check).

Refresh tokens (``JWT_REFRESH_TOKEN_EXPIRES``, 30 days or less) are stored in ``RefreshToken``
by ``jti`` with their ``fam`` (family); see ``operations``.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask_jwt_extended import create_access_token, create_refresh_token

from ..errors import problem_response

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def password_stamp(user) -> int:
    """Microseconds since the epoch of the last password change (0: never changed)."""
    changed = user.password_changed_at
    if changed is None:
        return 0
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=timezone.utc)
    delta = changed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


#: flask-jwt-extended's reason for a token of the wrong kind (a refresh token sent as the access
#: token, or the reverse); its other reasons are PyJWT's parser texts, never shown to users.
_REFRESH_SENT_AS_ACCESS = "Only non-refresh tokens are allowed"
_ACCESS_SENT_AS_REFRESH = "Only refresh tokens are allowed"


def register_jwt_callbacks(jwt) -> None:
    """Token problems in product words (never the library's text: "Not enough segments",
    "Signature verification failed", ...), translated like every other message."""

    @jwt.unauthorized_loader
    def _missing(reason):
        return problem_response(401, "Sign-in required", slug="unauthorized",
                                detail="Sign in first, then send the access token as "
                                       "'Authorization: Bearer <access token>'.")

    @jwt.invalid_token_loader
    def _invalid(reason):
        if reason == _REFRESH_SENT_AS_ACCESS:
            return problem_response(401, "Wrong token", slug="wrong-token-type",
                                    detail="This is the refresh token. Send the access token here; use the "
                                           "refresh token only to get a new access token (POST /auth/refresh).")
        if reason == _ACCESS_SENT_AS_REFRESH:
            return problem_response(401, "Wrong token", slug="wrong-token-type",
                                    detail="Send the refresh token here, not the access token.")
        return problem_response(401, "Invalid sign-in", slug="invalid-token",
                                detail="The sign-in is not valid (the token is damaged or was not issued by "
                                       "this server). Please sign in again.")

    @jwt.expired_token_loader
    def _expired(header, payload):
        if payload.get("type") == "refresh":
            detail = "The sign-in expired. Please sign in again."
        else:
            detail = "The sign-in expired. Get a new access token with the refresh token, or sign in again."
        return problem_response(401, "Sign-in expired", slug="token-expired", detail=detail)

    @jwt.revoked_token_loader
    def _revoked(header, payload):
        return problem_response(401, "Signed out", slug="token-revoked",
                                detail="This sign-in is no longer valid (the password was changed or the "
                                       "session ended). Please sign in again.")

    @jwt.needs_fresh_token_loader
    def _stale(header, payload):
        return problem_response(401, "Fresh sign-in required", slug="fresh-token-required",
                                detail="Please sign in again to do this.")

    @jwt.token_in_blocklist_loader
    def _password_changed_since(header, payload) -> bool:
        """An access token issued before the latest password change/reset is revoked."""
        if payload.get("type") != "access" or "pwc" not in payload:
            return False
        from .scope import load_request_user
        try:
            user = load_request_user(int(payload["sub"]))
        except (TypeError, ValueError):
            return True
        return user is None or password_stamp(user) != payload["pwc"]


def access_token_for(user) -> str:
    """A short-lived access token; identity is the user id, the role rides along for clients and
    the language for error messages of requests that fail before the account is loaded."""
    return create_access_token(identity=str(user.id),
                               additional_claims={"role": user.role, "pwc": password_stamp(user),
                                                  "lang": user.language or "id"})


def refresh_token_for(user, jti: uuid.UUID, family_id: uuid.UUID) -> str:
    """A refresh token whose ``jti``/``fam`` match a stored ``RefreshToken`` row."""
    return create_refresh_token(identity=str(user.id), additional_claims={"jti": str(jti), "fam": str(family_id)})
