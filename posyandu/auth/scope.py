"""Who may see what: tenancy lives in the query.

``current_scope()`` describes the signed-in user; feature code builds queries with
``scope.posyandu_clause(column)`` / ``scope.child_clause()`` so that an object outside the
caller's area is simply not found (404, never 403).

- admin: everything
- dinkes: posyandu of their kabupaten
- puskesmas: posyandu of their puskesmas
- kader: their posyandu (one or more)
- parent: children linked to them, read-only
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps

import sqlalchemy as sa
from flask import g
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from ..errors import Forbidden, Unauthorized
from ..extensions import db

STAFF_ROLES = ("admin", "dinkes", "puskesmas", "kader")
SUPERVISOR_ROLES = ("admin", "dinkes", "puskesmas")


@dataclass(frozen=True)
class Scope:
    user_id: int
    role: str
    posyandu_ids: frozenset[int] = field(default_factory=frozenset)
    puskesmas_id: int | None = None
    kabupaten_code: str | None = None

    @property
    def is_parent(self) -> bool:
        return self.role == "parent"

    @property
    def can_write_children(self) -> bool:
        return self.role in STAFF_ROLES

    def posyandu_select(self):
        """A SELECT of posyandu ids in scope (None for admin = no restriction)."""
        from ..regions.models import Posyandu
        if self.role == "admin":
            return None
        if self.role == "dinkes":
            return sa.select(Posyandu.id).where(Posyandu.kabupaten_code == self.kabupaten_code)
        if self.role == "puskesmas":
            return sa.select(Posyandu.id).where(Posyandu.puskesmas_id == self.puskesmas_id)
        if self.role == "kader":
            return None  # handled by posyandu_clause with the literal id list
        return sa.select(Posyandu.id).where(sa.false())

    def posyandu_clause(self, column):
        """SQL condition limiting ``column`` (a posyandu id column) to this scope."""
        if self.role == "admin":
            return sa.true()
        if self.role == "kader":
            if len(self.posyandu_ids) == 1:  # most cadres: a plain parameter, not an expanding IN
                return column == next(iter(self.posyandu_ids))  # that SQLAlchemy re-renders per run
            return column.in_(sorted(self.posyandu_ids)) if self.posyandu_ids else sa.false()
        if self.role == "parent":
            return sa.false()
        return column.in_(self.posyandu_select())

    def child_clause(self, child_cls=None):
        """SQL condition limiting children to this scope (parents: linked children only)."""
        from ..children.models import Child, ChildGuardian
        child_cls = child_cls or Child
        if self.role == "parent":
            return child_cls.id.in_(sa.select(ChildGuardian.child_id).where(ChildGuardian.user_id == self.user_id))
        return self.posyandu_clause(child_cls.posyandu_id)

    def covers_posyandu(self, posyandu_id: int) -> bool:
        """Python-side check for a single posyandu id (used when a client names a target posyandu)."""
        if self.role == "admin":
            return True
        if self.role == "kader":
            return posyandu_id in self.posyandu_ids
        if self.role == "parent":
            return False
        from ..regions.models import Posyandu
        query = sa.select(Posyandu.id).where(Posyandu.id == posyandu_id,
                                            Posyandu.id.in_(self.posyandu_select()))
        return db.session.execute(query).first() is not None


@dataclass(frozen=True, slots=True)
class RequestUser:
    """What every request needs to know of the signed-in account (no ORM object)."""
    id: int
    role: str
    is_active: bool
    password_changed_at: object
    puskesmas_id: int | None
    kabupaten_code: str | None
    posyandu_ids: frozenset[int]
    language: str | None = None


_REQUEST_USER_QUERY = None


def _request_user_query():
    global _REQUEST_USER_QUERY
    if _REQUEST_USER_QUERY is None:
        from .models import User, UserPosyandu
        users, links = User.__table__, UserPosyandu.__table__
        _REQUEST_USER_QUERY = (
            sa.select(users.c.id, users.c.role, users.c.is_active, users.c.password_changed_at,
                      users.c.puskesmas_id, users.c.kabupaten_code, users.c.language, links.c.posyandu_id)
            .select_from(users.outerjoin(links, links.c.user_id == users.c.id))
            .where(users.c.id == sa.bindparam("user_id")))
    return _REQUEST_USER_QUERY


def load_request_user(user_id: int) -> RequestUser | None:
    """The signed-in account and its posyandu links: one plain query per request (cached in
    ``g``), since every request checks that the account is still active and its password
    unchanged. Features that change the account use :func:`load_current_user` (ORM)."""
    cached = g.get("_request_user")
    if cached is not None and cached.id == user_id:
        return cached
    rows = db.session.execute(_request_user_query(), {"user_id": user_id}).all()
    if not rows:
        return None
    first = rows[0]
    user = RequestUser(id=first.id, role=first.role, is_active=first.is_active,
                       password_changed_at=first.password_changed_at, puskesmas_id=first.puskesmas_id,
                       kabupaten_code=first.kabupaten_code, language=first.language,
                       posyandu_ids=frozenset(r.posyandu_id for r in rows if r.posyandu_id is not None))
    g._request_user = user
    return user


def request_user() -> RequestUser:
    """Verify the access token and check the (still active) account, once per request."""
    user = g.get("request_user")
    if user is not None:
        return user
    verify_jwt_in_request()
    claims = get_jwt()
    user = load_request_user(int(claims["sub"]))
    if user is None or not user.is_active:
        raise Unauthorized("This account is disabled or no longer exists.")
    if user.password_changed_at is not None and claims.get("iat", 0) < int(user.password_changed_at.timestamp()):
        raise Unauthorized("The password was changed; please sign in again.")
    g.request_user = user
    g.current_user_id = user.id
    g.current_role = user.role
    return user


def load_current_user():
    """The signed-in :class:`~posyandu.auth.models.User` (ORM) for features that read or
    change the account itself (devices, preferences, password, /me); checked as above."""
    from .models import User
    if "current_user" in g:
        return g.current_user
    user = db.session.get(User, request_user().id)
    if user is None:
        raise Unauthorized("This account is disabled or no longer exists.")
    g.current_user = user
    return user


def current_scope() -> Scope:
    if "scope" in g:
        return g.scope
    user = request_user()
    g.scope = Scope(user_id=user.id, role=user.role, posyandu_ids=user.posyandu_ids,
                    puskesmas_id=user.puskesmas_id, kabupaten_code=user.kabupaten_code)
    return g.scope


def roles_required(*roles: str):
    """Require a signed-in user with one of ``roles`` (any role when none given)."""
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            scope = current_scope()
            if roles and scope.role not in roles:
                raise Forbidden("Your role may not do this.")
            return fn(*args, **kwargs)
        return wrapper
    return decorator
