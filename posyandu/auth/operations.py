"""Sign-in use cases: password sign-in, token pairs, rotation, revocation, password change,
Firebase (parent) sign-in. Operations flush, never commit (``posyandu/transaction.py``).

Logging: user ids and outcomes only, never the login name, phone number, password or tokens.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_jwt_extended import decode_token
from jwt import PyJWTError

from ..db import utcnow
from ..errors import Conflict, InvalidInput, Unauthorized
from ..extensions import db
from ..transaction import keep_changes_on_error
from .models import RefreshToken, User
from .passwords import hash_password, needs_rehash, verify_password
from .phones import InvalidPhone, looks_like_phone, normalise_phone
from .tokens import access_token_for, refresh_token_for

log = logging.getLogger(__name__)

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
BAD_CREDENTIALS = "Wrong username/phone number or password."


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_in: int
    refresh_expires_in: int
    token_type: str = "Bearer"


def check_new_password(password: str, field: str = "password", user: User | None = None) -> None:
    """Password policy: 8–128 characters, not only digits, not the username/phone."""
    problems = []
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"Use at least {PASSWORD_MIN_LENGTH} characters.")
    elif len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"Use at most {PASSWORD_MAX_LENGTH} characters.")
    elif password.isdigit():
        problems.append("Use letters as well as digits.")
    elif user is not None and password.lower() in {(user.username or "").lower(), (user.phone or "")}:
        problems.append("Do not use your username or phone number as the password.")
    if problems:
        raise InvalidInput("The password is not acceptable.", errors={field: problems})


def find_by_login(identifier: str) -> User | None:
    """A user by username (case-insensitive) or by phone number in any common format."""
    text = (identifier or "").strip()
    if looks_like_phone(text):
        try:
            phone = normalise_phone(text)
        except InvalidPhone:
            return None
        return db.session.execute(sa.select(User).where(User.phone == phone)).scalar_one_or_none()
    return db.session.execute(sa.select(User).where(User.username == text.lower())).scalar_one_or_none()


def authenticate(identifier: str, password: str) -> User:
    """Check a staff/cadre password; raise ``Unauthorized`` (same message for every failure
    except a disabled account whose password was right). Rehashes outdated argon2 hashes."""
    user = find_by_login(identifier)
    # Always run one argon2 verification, so timing does not reveal which accounts exist.
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or user.role == "parent":
        log.info("sign-in failed", extra={"event": "auth.login_failed",
                                          "user_id": user.id if user else None})
        raise Unauthorized(BAD_CREDENTIALS, slug="invalid-credentials", title="Sign-in failed")
    if not user.is_active:
        log.info("sign-in refused: account disabled", extra={"event": "auth.login_disabled", "user_id": user.id})
        raise Unauthorized("This account is disabled.", slug="account-disabled",
                           title="Account disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.flush()
    log.info("signed in", extra={"event": "auth.login", "user_id": user.id, "role": user.role})
    return user


def issue_tokens(user: User, family_id: uuid.UUID | None = None) -> TokenPair:
    """A new access token and a new stored refresh token (new family unless given)."""
    jti = uuid.uuid4()
    family_id = family_id or uuid.uuid4()
    refresh = refresh_token_for(user, jti, family_id)
    claims = decode_token(refresh)
    db.session.add(RefreshToken(
        jti=jti, user_id=user.id, family_id=family_id,
        issued_at=datetime.fromtimestamp(claims["iat"], timezone.utc),
        expires_at=datetime.fromtimestamp(claims["exp"], timezone.utc),
        user_agent=((request.headers.get("User-Agent") or "")[:200] or None) if has_request_context() else None))
    db.session.flush()
    return TokenPair(access_token=access_token_for(user), refresh_token=refresh,
                     access_expires_in=int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
                     refresh_expires_in=int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()))


def _decode_refresh(token: str, *, allow_expired: bool = False) -> dict:
    try:
        claims = decode_token(token, allow_expired=allow_expired)
    except PyJWTError:
        raise Unauthorized("The refresh token is invalid or expired; please sign in again.",
                           slug="invalid-refresh-token", title="Invalid refresh token")
    if claims.get("type") != "refresh" or "fam" not in claims:
        raise Unauthorized("This is not a refresh token.", slug="invalid-refresh-token",
                           title="Invalid refresh token")
    try:
        claims["_jti"] = uuid.UUID(claims["jti"])
        claims["_fam"] = uuid.UUID(claims["fam"])
    except (KeyError, ValueError):
        raise Unauthorized("The refresh token is invalid.", slug="invalid-refresh-token",
                           title="Invalid refresh token")
    return claims


def revoke_family(family_id: uuid.UUID, reason: str) -> int:
    now = utcnow()
    result = db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False))
    return result.rowcount


def revoke_all_for_user(user_id: int, reason: str) -> int:
    now = utcnow()
    result = db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False))
    return result.rowcount


def rotate(refresh_token: str) -> TokenPair:
    """Exchange a refresh token for a new pair. The old token is marked rotated; presenting a
    rotated token again is treated as theft: the whole family is revoked (kept despite the 401)."""
    claims = _decode_refresh(refresh_token)
    jti, family = claims["_jti"], claims["_fam"]
    now = utcnow()
    # Atomic claim of the token: only one request can rotate it (no SELECT-then-UPDATE race).
    claimed = db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.jti == jti, RefreshToken.rotated_at.is_(None), RefreshToken.revoked_at.is_(None),
               RefreshToken.expires_at > now)
        .values(rotated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        row = db.session.get(RefreshToken, jti)
        if row is not None and row.rotated_at is not None and row.revoked_at is None:
            revoke_family(row.family_id, "reuse_detected")
            keep_changes_on_error()
            log.warning("refresh token reuse: family revoked",
                        extra={"event": "auth.refresh_reuse", "user_id": row.user_id})
            raise Unauthorized("This refresh token was already used; every session started with it has been "
                               "signed out. Please sign in again.", slug="refresh-token-reused",
                               title="Refresh token reused")
        raise Unauthorized("The refresh token was revoked or expired; please sign in again.",
                           slug="invalid-refresh-token", title="Invalid refresh token")
    row = db.session.get(RefreshToken, jti)
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        revoke_all_for_user(row.user_id, "account_disabled")
        keep_changes_on_error()
        raise Unauthorized("This account is disabled.", slug="account-disabled",
                           title="Account disabled")
    pair = issue_tokens(user, family_id=family)
    log.info("tokens refreshed", extra={"event": "auth.refresh", "user_id": user.id})
    return pair


def logout(refresh_token: str) -> None:
    """Revoke the presented refresh token's whole family (this device's session)."""
    claims = _decode_refresh(refresh_token, allow_expired=True)
    row = db.session.get(RefreshToken, claims["_jti"])
    if row is None:
        raise Unauthorized("Unknown refresh token.", slug="invalid-refresh-token", title="Invalid refresh token")
    revoke_family(row.family_id, "logout")
    log.info("signed out", extra={"event": "auth.logout", "user_id": row.user_id})


def set_password(user: User, new_password: str, *, field: str = "new_password") -> None:
    """Store a new password: every refresh token is revoked and every earlier access token
    stops working (the password stamp in access tokens changes)."""
    check_new_password(new_password, field, user)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    revoke_all_for_user(user.id, "password_changed")
    db.session.flush()


class WrongCurrentPassword(InvalidInput):
    """The current password given to a password change is wrong (the route counts it against
    the rate limit; operations know nothing of limits)."""


def change_own_password(user: User, current_password: str, new_password: str) -> TokenPair:
    if not verify_password(user.password_hash, current_password):
        raise WrongCurrentPassword("The current password is wrong.",
                           errors={"current_password": ["The current password is wrong."]})
    if current_password == new_password:
        raise InvalidInput("Choose a different password.",
                           errors={"new_password": ["The new password must differ from the current one."]})
    set_password(user, new_password)
    log.info("password changed", extra={"event": "auth.password_changed", "user_id": user.id})
    return issue_tokens(user)


# --------------------------------------------------------------------------- parents (Firebase)
def parent_from_firebase(uid: str, phone: str, display_name: str | None = None) -> User:
    """Find or create the parent account for a verified Firebase phone sign-in and link it to
    the children whose guardian phone staff recorded (``ChildGuardian.user_id``).

    A phone with no child linked yet still gets an account (it sees no children until staff
    add the phone to a child; the link is made at the next sign-in).
    A phone that belongs to a staff/cadre account is refused (409): staff sign in with a
    password, and one phone number is one account.
    """
    from ..children.models import ChildGuardian

    user = db.session.execute(sa.select(User).where(User.firebase_uid == uid)).scalar_one_or_none()
    by_phone = db.session.execute(sa.select(User).where(User.phone == phone)).scalar_one_or_none()
    if user is None:
        user = by_phone
    elif by_phone is not None and by_phone.id != user.id:
        # The Firebase account changed its number to one another account holds.
        raise Conflict("This phone number belongs to another account.")
    if user is not None and user.role != "parent":
        raise Conflict("This phone number belongs to a staff account: sign in with username and password.")
    if user is not None and not user.is_active:
        raise Unauthorized("This account is disabled.", slug="account-disabled",
                           title="Account disabled")
    if user is None:
        user = User(role="parent", phone=phone, full_name=(display_name or "")[:120], firebase_uid=uid,
                    password_hash=None, is_active=True)
        db.session.add(user)
        db.session.flush()
        log.info("parent account created", extra={"event": "auth.parent_created", "user_id": user.id})
    else:
        user.firebase_uid = uid
        user.phone = phone
    db.session.execute(
        sa.update(ChildGuardian)
        .where(ChildGuardian.phone == phone, ChildGuardian.user_id.is_(None))
        .values(user_id=user.id)
        .execution_options(synchronize_session=False))
    db.session.flush()
    log.info("parent signed in", extra={"event": "auth.firebase_login", "user_id": user.id})
    return user


# --------------------------------------------------------------------------- describing a user
def describe_user(user: User, *, area_posyandu: bool = True) -> dict:
    """The user with role and scope: posyandu (with names), puskesmas, kabupaten.
    ``area_posyandu``: for puskesmas staff also list the posyandu of their puskesmas."""
    from ..children.models import ChildGuardian
    from ..regions.models import Posyandu, Puskesmas, Region

    posyandu_rows: list = []
    puskesmas = None
    kabupaten_code = user.kabupaten_code
    if user.role == "kader" and user.posyandu_ids:
        posyandu_rows = db.session.execute(
            sa.select(Posyandu).where(Posyandu.id.in_(user.posyandu_ids)).order_by(Posyandu.code)).scalars().all()
        if len({p.puskesmas_id for p in posyandu_rows}) == 1:
            puskesmas = db.session.get(Puskesmas, posyandu_rows[0].puskesmas_id)
        if len({p.kabupaten_code for p in posyandu_rows}) == 1:
            kabupaten_code = posyandu_rows[0].kabupaten_code
    elif user.role == "puskesmas" and user.puskesmas_id:
        puskesmas = db.session.get(Puskesmas, user.puskesmas_id)
        if area_posyandu:
            posyandu_rows = db.session.execute(
                sa.select(Posyandu).where(Posyandu.puskesmas_id == user.puskesmas_id).order_by(Posyandu.code)
            ).scalars().all()
        kabupaten_code = puskesmas.kabupaten_code if puskesmas else None
    kabupaten = db.session.get(Region, kabupaten_code) if kabupaten_code else None
    children_count = None
    if user.role == "parent":
        children_count = db.session.execute(
            sa.select(sa.func.count(sa.distinct(ChildGuardian.child_id))).where(ChildGuardian.user_id == user.id)
        ).scalar_one()
    return {
        "id": user.id, "username": user.username, "phone": user.phone, "full_name": user.full_name,
        "role": user.role, "language": user.language, "is_active": user.is_active,
        "created_at": user.created_at, "updated_at": user.updated_at,
        "posyandu": [{"id": p.id, "code": p.code, "name": p.name} for p in posyandu_rows],
        "puskesmas": {"id": puskesmas.id, "code": puskesmas.code, "name": puskesmas.name} if puskesmas else None,
        "kabupaten": {"code": kabupaten.code, "name": kabupaten.name} if kabupaten else None,
        "children_count": children_count,
    }
