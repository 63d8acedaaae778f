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


def register_jwt_callbacks(jwt) -> None:
    @jwt.unauthorized_loader
    def _missing(reason):
        return problem_response(401, "Authentication required", slug="unauthorized",
                                detail="Send 'Authorization: Bearer <access token>'.")

    @jwt.invalid_token_loader
    def _invalid(reason):
        return problem_response(401, "Invalid token", slug="invalid-token", detail=reason)

    @jwt.expired_token_loader
    def _expired(header, payload):
        return problem_response(401, "Token expired", slug="token-expired",
                                detail="The access token expired; use the refresh token to get a new one.")

    @jwt.revoked_token_loader
    def _revoked(header, payload):
        return problem_response(401, "Token revoked", slug="token-revoked", detail="Please sign in again.")

    @jwt.needs_fresh_token_loader
    def _stale(header, payload):
        return problem_response(401, "Fresh sign-in required", slug="fresh-token-required")

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
    """A short-lived access token; identity is the user id, the role rides along for clients."""
    return create_access_token(identity=str(user.id),
                               additional_claims={"role": user.role, "pwc": password_stamp(user)})


def refresh_token_for(user, jti: uuid.UUID, family_id: uuid.UUID) -> str:
    """A refresh token whose ``jti``/``fam`` match a stored ``RefreshToken`` row."""
    return create_refresh_token(identity=str(user.id), additional_claims={"jti": str(jti), "fam": str(family_id)})
