"""HTTP routes for auth (thin: parse, check scope, call operations, dump).

Staff and cadres: ``POST /auth/login`` (username or phone + password). Parents:
``POST /auth/firebase`` (Firebase phone-auth ID token). Both answer an access token
(``JWT_ACCESS_TOKEN_EXPIRES``, ≤ 15 min) and a refresh token (≤ 30 days) that is stored,
rotated by ``POST /auth/refresh`` and revoked by logout, password change, account disable, or
reuse of an already-rotated refresh token (the whole family is revoked).
"""
from __future__ import annotations

from ..blueprint import Blueprint

from ..auth.scope import load_current_user, roles_required
from ..errors import Unauthorized
from . import operations as ops
from .firebase import verify_phone_token
from .ratelimit import (login_account_limit, login_address_limit, mark_failed, password_change_limit,
                        refresh_address_limit)
from .schemas import (FirebaseLoginSchema, LoginSchema, MeSchema, PasswordChangeSchema, RefreshSchema,
                      SignedInSchema, TokenPairSchema)

blp = Blueprint("auth", __name__, url_prefix="/auth", description="Sign-in, tokens and sessions")


def _signed_in(user, pair: ops.TokenPair) -> dict:
    return {**pair.__dict__, "user": ops.describe_user(user)}


@blp.route("/login", methods=["POST"])
@blp.doc(security=[])  # public: no access token
@blp.arguments(LoginSchema)
@blp.response(200, SignedInSchema)
@blp.alt_response(401, description="Wrong login or password, or account disabled (problem+json).")
@blp.alt_response(429, description="Too many failed attempts for this account or address; see Retry-After.")
@login_account_limit
@login_address_limit
def login(body):
    """Sign in with username or phone number and password (staff and cadres)

    The phone may be given as 0812…, 62812… or +62812…. Answers an access token and a refresh
    token. Failed attempts are limited to 5 per 15 minutes per account and 20 per 15 minutes
    per address (429 with Retry-After); successful sign-ins are not counted.
    """
    try:
        user = ops.authenticate(body["login"], body["password"])
    except Unauthorized:
        mark_failed()
        raise
    return _signed_in(user, ops.issue_tokens(user))


@blp.route("/firebase", methods=["POST"])
@blp.doc(security=[])  # public: no access token
@blp.arguments(FirebaseLoginSchema)
@blp.response(200, SignedInSchema)
@blp.alt_response(401, description="The Firebase ID token is invalid, expired, revoked or its user disabled.")
@blp.alt_response(409, description="The phone number belongs to a staff account.")
@blp.alt_response(429, description="Too many failed sign-ins from this address; see Retry-After.")
@login_address_limit
def firebase_login(body):
    """Sign in a parent with a Firebase phone-auth ID token

    The verified phone number finds or creates the parent account and links it to every child
    whose guardian phone staff recorded. A phone with no child yet still signs in and sees no
    children until staff link one (the link is made at the next sign-in).
    """
    try:
        verified = verify_phone_token(body["id_token"])
    except Unauthorized:
        mark_failed()
        raise
    user = ops.parent_from_firebase(verified.uid, verified.phone, verified.name)
    return _signed_in(user, ops.issue_tokens(user))


@blp.route("/refresh", methods=["POST"])
@blp.doc(security=[])  # public: no access token
@blp.arguments(RefreshSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, description="Invalid, expired, revoked or reused refresh token.")
@blp.alt_response(429, description="Too many failed refreshes from this address; see Retry-After.")
@refresh_address_limit
def refresh(body):
    """Exchange a refresh token for a new access/refresh pair (rotation)

    The presented refresh token stops working. Presenting it again revokes every token of its
    family (the new one too) and answers 401: sign in again.
    """
    try:
        pair = ops.rotate(body["refresh_token"])
    except Unauthorized:
        mark_failed()
        raise
    return pair.__dict__


@blp.route("/logout", methods=["POST"])
@blp.doc(security=[])  # public: no access token
@blp.arguments(RefreshSchema)
@blp.response(204)
@blp.alt_response(401, description="Not a refresh token of ours.")
def logout(body):
    """Sign out: revoke the presented refresh token and its whole family

    The access token simply expires (≤ 15 minutes); clients discard it.
    """
    ops.logout(body["refresh_token"])


@blp.route("/password", methods=["POST"])
@blp.arguments(PasswordChangeSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(422, description="Wrong current password or unacceptable new password.")
@blp.alt_response(429, description="Too many wrong current passwords; see Retry-After.")
@password_change_limit
@roles_required("admin", "dinkes", "puskesmas", "kader")
def change_password(body):
    """Change your own password

    Signs out every session: all refresh tokens are revoked and every access token issued
    before the change stops working. Answers a fresh pair for this device.
    """
    user = load_current_user()
    try:
        pair = ops.change_own_password(user, body["current_password"], body["new_password"])
    except ops.WrongCurrentPassword:
        mark_failed()
        raise
    return pair.__dict__


@blp.route("/me", methods=["GET"])
@blp.response(200, MeSchema)
@roles_required()
def me():
    """The signed-in user: role and scope (posyandu with names, puskesmas, kabupaten)"""
    return ops.describe_user(load_current_user())
