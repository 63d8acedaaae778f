"""User administration: who may manage whom, create, list, update, disable/enable, reset password.

Who manages whom (the target must be inside the manager's area, else it is not found: 404):

- admin: every account (any role; may assign admin, dinkes, puskesmas, kader).
- dinkes (a kabupaten): puskesmas staff whose puskesmas is in the kabupaten, and kader whose
  posyandu are all in the kabupaten; may assign the roles puskesmas and kader there.
- puskesmas staff: kader whose posyandu all belong to their puskesmas; may assign kader only.
- kader and parents: nobody (the whole admin API answers 403).

A kader linked to posyandu in two areas is managed only by someone covering all of them (or
admin), so nobody can edit an account that also works outside their area. Parent accounts are
created by Firebase sign-in only; admin may see, rename and disable/enable them.
Nobody disables, re-roles or re-scopes their own account, or resets their own password here
(``POST /auth/password`` is for that).

Every change is written to the audit trail (entity ``user``); passwords never, phone numbers
only as "changed".
"""
from __future__ import annotations

import base64
import binascii
import json

import sqlalchemy as sa

from ..audit.log import audit, field_diff
from ..auth.models import User, UserPosyandu
from ..concurrent_writes import new_rows, replay_when_taken
from ..auth.operations import check_new_password, describe_user, revoke_all_for_user, set_password
from ..auth.passwords import hash_password
from ..auth.scope import Scope
from ..db import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..regions.models import Posyandu, Puskesmas, Region

#: The CLI acts with full rights.
SYSTEM_SCOPE = Scope(user_id=0, role="admin")

ASSIGNABLE_ROLES = {
    "admin": ("admin", "dinkes", "puskesmas", "kader"),
    "dinkes": ("puskesmas", "kader"),
    "puskesmas": ("kader",),
}
MANAGER_ROLES = tuple(ASSIGNABLE_ROLES)


# --------------------------------------------------------------------------- scope
def manageable_clause(scope: Scope):
    """SQL condition on ``User``: accounts this manager may see and manage."""
    if scope.role == "admin":
        return sa.true()
    if scope.role not in MANAGER_ROLES:
        return sa.false()
    allowed_posyandu = scope.posyandu_select()
    links = sa.select(UserPosyandu.user_id).where(UserPosyandu.user_id == User.id)
    outside = links.where(UserPosyandu.posyandu_id.not_in(allowed_posyandu))
    kader = sa.and_(User.role == "kader", links.exists(), ~outside.exists())
    if scope.role == "dinkes":
        staff = sa.and_(User.role == "puskesmas", User.puskesmas_id.in_(
            sa.select(Puskesmas.id).where(Puskesmas.kabupaten_code == scope.kabupaten_code)))
        return sa.or_(staff, kader)
    return kader


def get_manageable(scope: Scope, user_id: int) -> User:
    user = db.session.execute(
        sa.select(User).where(User.id == user_id, manageable_clause(scope))).scalar_one_or_none()
    if user is None:
        raise NotFound("No such user.")
    return user


def _snapshot(user: User) -> dict:
    return {"username": user.username, "phone": user.phone, "full_name": user.full_name, "role": user.role,
            "is_active": user.is_active, "language": user.language, "puskesmas_id": user.puskesmas_id,
            "kabupaten_code": user.kabupaten_code, "posyandu_ids": sorted(user.posyandu_ids)}


def _diff(before: dict, after: dict) -> dict:
    changes = field_diff(before, after)
    if "phone" in changes:  # personal data: only that it changed
        old, new = changes["phone"]
        changes["phone"] = ["***" if old else None, "***" if new else None]
    return changes


def _audit(action: str, user: User, changes: dict | None = None) -> None:
    ids = user.posyandu_ids
    audit(action, "user", user.id, changes=changes, posyandu_id=ids[0] if len(ids) == 1 else None)


# --------------------------------------------------------------------------- resolving codes
def _resolve_posyandu(scope: Scope, codes: list[str]) -> list[Posyandu]:
    codes = sorted({c.strip() for c in codes})
    rows = db.session.execute(
        sa.select(Posyandu).where(Posyandu.code.in_(codes), scope.posyandu_clause(Posyandu.id))).scalars().all()
    missing = sorted(set(codes) - {r.code for r in rows})
    if missing:
        raise InvalidInput("Unknown posyandu.", errors={"posyandu_codes": [
            f"Unknown posyandu code (or not in your area): {code}" for code in missing]})
    return list(rows)


def _resolve_puskesmas(scope: Scope, code: str) -> Puskesmas:
    query = sa.select(Puskesmas).where(Puskesmas.code == code.strip())
    if scope.role == "dinkes":
        query = query.where(Puskesmas.kabupaten_code == scope.kabupaten_code)
    elif scope.role != "admin":
        query = query.where(sa.false())
    row = db.session.execute(query).scalar_one_or_none()
    if row is None:
        raise InvalidInput("Unknown puskesmas.", errors={"puskesmas_code": [
            "Unknown puskesmas code (or not in your area)."]})
    return row


def _resolve_kabupaten(code: str) -> Region:
    from ..regions.codes import CodeError, normalise
    try:
        code = normalise(code)
    except CodeError:
        code = None
    row = db.session.get(Region, code) if code else None
    if row is None or row.level != "kabupaten":
        raise InvalidInput("Unknown kabupaten.", errors={"kabupaten_code": ["Unknown kabupaten code."]})
    return row


def _check_role(scope: Scope, role: str) -> None:
    if role not in ASSIGNABLE_ROLES.get(scope.role, ()):
        raise InvalidInput("You may not give this role.", errors={"role": [
            f"Your role may assign only: {', '.join(ASSIGNABLE_ROLES.get(scope.role, ()))}."]})


def _check_unique(username: str | None, phone: str | None, exclude_id: int | None = None) -> None:
    errors = {}
    for field, column, value in (("username", User.username, username), ("phone", User.phone, phone)):
        if value is None:
            continue
        query = sa.select(User.id).where(column == value)
        if exclude_id is not None:
            query = query.where(User.id != exclude_id)
        if db.session.execute(query).first() is not None:
            errors[field] = [f"Another account already uses this {field.replace('_', ' ')}."]
    if errors:
        raise Conflict("Username or phone number already in use.", errors=errors)


def _apply_scope(scope: Scope, user: User, role: str, data: dict, *, creating: bool) -> None:
    """Set the scope columns for ``role`` from ``data`` (codes), clearing those the role does
    not use; raise 422 naming the missing/unknown field."""
    def given(key):
        return key in data and data[key] not in (None, [])

    if role == "kader":
        if given("posyandu_codes"):
            wanted = {r.id for r in _resolve_posyandu(scope, data["posyandu_codes"])}
            kept = [link for link in user.posyandu_links if link.posyandu_id in wanted]
            have = {link.posyandu_id for link in kept}
            user.posyandu_links = kept + [UserPosyandu(posyandu_id=pid) for pid in sorted(wanted - have)]
        elif creating or not user.posyandu_links or "posyandu_codes" in data:
            raise InvalidInput("A kader needs at least one posyandu.",
                               errors={"posyandu_codes": ["Give at least one posyandu code."]})
    else:
        user.posyandu_links = []
    if role == "puskesmas":
        if given("puskesmas_code"):
            user.puskesmas_id = _resolve_puskesmas(scope, data["puskesmas_code"]).id
        elif user.puskesmas_id is None or "puskesmas_code" in data:
            raise InvalidInput("Puskesmas staff need a puskesmas.",
                               errors={"puskesmas_code": ["Give the puskesmas code."]})
    else:
        user.puskesmas_id = None
    if role == "dinkes":
        if given("kabupaten_code"):
            user.kabupaten_code = _resolve_kabupaten(data["kabupaten_code"]).code
        elif user.kabupaten_code is None or "kabupaten_code" in data:
            raise InvalidInput("Dinkes accounts need a kabupaten.",
                               errors={"kabupaten_code": ["Give the kabupaten code."]})
    else:
        user.kabupaten_code = None
    # Scope fields that the role does not use are an input mistake, not silently ignored.
    unused = {"kader": ("puskesmas_code", "kabupaten_code"), "puskesmas": ("posyandu_codes", "kabupaten_code"),
              "dinkes": ("posyandu_codes", "puskesmas_code"),
              "admin": ("posyandu_codes", "puskesmas_code", "kabupaten_code")}[role]
    errors = {key: [f"Not used for the role {role}."] for key in unused if given(key)}
    if errors:
        raise InvalidInput("Some scope fields do not fit the role.", errors=errors)


# --------------------------------------------------------------------------- use cases
def require_manager(scope: Scope) -> None:
    if scope.role not in MANAGER_ROLES:
        raise Forbidden("Your role may not manage accounts.")


@replay_when_taken
def create_user(scope: Scope, data: dict) -> User:
    require_manager(scope)
    role = data["role"]
    _check_role(scope, role)
    check_new_password(data["password"], "password")
    user = User(username=data.get("username"), phone=data.get("phone"), full_name=data["full_name"].strip(),
                role=role, language=data.get("language") or "id", is_active=True)
    _apply_scope(scope, user, role, data, creating=True)
    check_new_password(data["password"], "password", user)
    _check_unique(user.username, user.phone)
    user.password_hash = hash_password(data["password"])
    with new_rows(db.session):  # the same username or phone taken meanwhile: replayed, a 409
        db.session.add(user)
    _audit("create", user, _diff({}, _snapshot(user)))
    return user


def update_user(scope: Scope, user_id: int, data: dict) -> User:
    require_manager(scope)
    user = get_manageable(scope, user_id)
    before = _snapshot(user)
    scope_keys = {"role", "posyandu_codes", "puskesmas_code", "kabupaten_code"}
    if user.role == "parent":
        bad = sorted((scope_keys | {"username", "phone"}) & set(data))
        if bad:
            raise InvalidInput("Parent accounts: only the name and language can be changed.",
                               errors={key: ["Cannot be changed for a parent account."] for key in bad})
    elif scope_keys & set(data):
        if user.id == scope.user_id:
            raise Conflict("You cannot change your own role or area.")
        role = data.get("role", user.role)
        _check_role(scope, role)
        user.role = role
        _apply_scope(scope, user, role, data, creating=False)
    if "username" in data or "phone" in data:
        username = data["username"] if "username" in data else user.username
        phone = data["phone"] if "phone" in data else user.phone
        if not username and not phone:
            raise InvalidInput("Keep a username or a phone number.",
                               errors={"username": ["A staff account needs a username or a phone number."]})
        _check_unique(username, phone, exclude_id=user.id)
        user.username, user.phone = username, phone
    if "full_name" in data:
        user.full_name = data["full_name"].strip()
    if "language" in data:
        user.language = data["language"]
    db.session.flush()
    changes = _diff(before, _snapshot(user))
    if changes:
        user.updated_at = utcnow()
        _audit("update", user, changes)
    return user


def set_active(scope: Scope, user_id: int, active: bool) -> User:
    """Disable (every refresh token revoked; access tokens are refused by ``scope``) or enable."""
    require_manager(scope)
    user = get_manageable(scope, user_id)
    if user.id == scope.user_id:
        raise Conflict("You cannot disable or enable your own account.")
    if user.is_active != active:
        user.is_active = active
        if not active:
            revoke_all_for_user(user.id, "account_disabled")
        db.session.flush()
        _audit("enable" if active else "disable", user, {"is_active": [not active, active]})
    return user


def reset_password(scope: Scope, user_id: int, password: str) -> User:
    require_manager(scope)
    user = get_manageable(scope, user_id)
    if user.id == scope.user_id:
        raise Conflict("Change your own password with POST /auth/password.")
    if user.role == "parent":
        raise Conflict("Parents sign in with their phone number; they have no password.")
    set_password(user, password, field="password")
    _audit("password_reset", user, {"password": ["***", "***"]})
    return user


# --------------------------------------------------------------------------- listing
def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))["after"]
        if not isinstance(value, int):
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput("The cursor is not valid; start again without it.",
                           errors={"cursor": ["Not a cursor returned by this list."]}) from None


def list_users(scope: Scope, args: dict) -> dict:
    require_manager(scope)
    query = sa.select(User).where(manageable_clause(scope))
    if "role" in args:
        query = query.where(User.role == args["role"])
    if "is_active" in args:
        query = query.where(User.is_active.is_(args["is_active"]))
    if "posyandu" in args:
        query = query.where(User.id.in_(
            sa.select(UserPosyandu.user_id).join(Posyandu, Posyandu.id == UserPosyandu.posyandu_id)
            .where(Posyandu.code == args["posyandu"])))
    if "puskesmas" in args:
        pusk = sa.select(Puskesmas.id).where(Puskesmas.code == args["puskesmas"])
        query = query.where(sa.or_(
            User.puskesmas_id.in_(pusk),
            User.id.in_(sa.select(UserPosyandu.user_id).join(Posyandu, Posyandu.id == UserPosyandu.posyandu_id)
                        .where(Posyandu.puskesmas_id.in_(pusk)))))
    if "kabupaten" in args:
        code = args["kabupaten"]
        query = query.where(sa.or_(
            User.kabupaten_code == code,
            User.puskesmas_id.in_(sa.select(Puskesmas.id).where(Puskesmas.kabupaten_code == code)),
            User.id.in_(sa.select(UserPosyandu.user_id).join(Posyandu, Posyandu.id == UserPosyandu.posyandu_id)
                        .where(Posyandu.kabupaten_code == code))))
    if args.get("q"):
        pattern = "%" + args["q"].lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(sa.func.lower(User.username).like(pattern, escape="\\"),
                                   sa.func.lower(User.full_name).like(pattern, escape="\\")))
    after = _decode_cursor(args.get("cursor"))
    if after is not None:
        query = query.where(User.id > after)
    limit = args.get("limit", 50)
    rows = db.session.execute(query.order_by(User.id).limit(limit + 1)).scalars().all()
    page = rows[:limit]
    return {"items": [describe_user(u, area_posyandu=False) for u in page],
            "next_cursor": _encode_cursor(page[-1].id) if len(rows) > limit else None}
