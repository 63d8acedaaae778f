"""JWT plumbing: error responses as problem+json, and the claims we put in access tokens."""
from __future__ import annotations

from flask_jwt_extended import create_access_token

from ..errors import problem_response


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


def access_token_for(user) -> str:
    """A short-lived access token; identity is the user id, the role rides along for clients."""
    return create_access_token(identity=str(user.id), additional_claims={"role": user.role})
