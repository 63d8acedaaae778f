"""Create, list, rotate and revoke machine clients (the kabupaten command centre).

Who: admin for any kabupaten, dinkes for their own; everyone else 403, a client of another
kabupaten 404. The new key is returned once (create, rotate) and never stored in clear. Every
change is audited (entity ``api_client``: create, rotate, revoke; ``use`` from ``keys.py``).
Rotation replaces the key at once: the old one answers 401 from the next request on.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..audit.log import audit
from ..auth.scope import Scope
from ..db import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..regions.models import Region
from . import keys
from .models import ApiClient

MANAGER_ROLES = ("admin", "dinkes")


def _visible(scope: Scope):
    if scope.role == "admin":
        return sa.true()
    if scope.role == "dinkes" and scope.kabupaten_code:
        return ApiClient.kabupaten_code == scope.kabupaten_code
    return sa.false()


def get_client(scope: Scope, client_id: int) -> ApiClient:
    row = db.session.execute(sa.select(ApiClient).where(ApiClient.id == client_id, _visible(scope))) \
        .scalar_one_or_none()
    if row is None:
        raise NotFound("No such API client.")
    return row


def list_clients(scope: Scope, kabupaten_code: str | None = None) -> list[ApiClient]:
    query = sa.select(ApiClient).where(_visible(scope)).order_by(ApiClient.id)
    if kabupaten_code:
        query = query.where(ApiClient.kabupaten_code == kabupaten_code)
    return list(db.session.execute(query).scalars())


def _set_key(row: ApiClient) -> str:
    key = keys.new_key()
    row.key_hash = keys.key_hash(key)
    row.key_prefix = key[:keys.PREFIX_SHOWN]
    row.key_created_at = utcnow()
    return key


def create_client(scope: Scope, data: dict) -> tuple[ApiClient, str]:
    """A new command-centre client for ``kabupaten_code`` (undotted); returns it and its key."""
    if scope.role not in MANAGER_ROLES:
        raise Forbidden("Your role may not do this.")
    code = data["kabupaten_code"]
    region = db.session.get(Region, code)
    if region is None or region.level != "kabupaten" or (scope.role == "dinkes" and code != scope.kabupaten_code):
        raise InvalidInput("No such kabupaten/kota in your area.",
                           errors={"kabupaten_code": ["Not a kabupaten/kota you manage."]})
    name = data["name"].strip()
    taken = db.session.execute(sa.select(ApiClient.id).where(ApiClient.kabupaten_code == code,
                                                             ApiClient.name == name,
                                                             ApiClient.is_active.is_(True))).first()
    if taken is not None:
        raise Conflict("An active API client of this kabupaten already has this name.",
                       errors={"name": ["Choose another name, or rotate the existing client's key."]})
    row = ApiClient(kind=data.get("kind", "command_centre"), name=name, kabupaten_code=code, is_active=True,
                    created_by_id=scope.user_id or None)
    key = _set_key(row)
    db.session.add(row)
    db.session.flush()
    audit("create", "api_client", row.id,
          changes={"name": [None, name], "kabupaten_code": [None, code], "kind": [None, row.kind],
                   "key_prefix": [None, row.key_prefix]})
    return row, key


def rotate_key(scope: Scope, client_id: int) -> tuple[ApiClient, str]:
    """A new key for an active client; the old key stops working at once."""
    row = get_client(scope, client_id)
    if not row.is_active:
        raise Conflict("This API client was revoked; create a new one.",
                       errors={"client_id": ["A revoked client cannot get a new key."]})
    old_prefix = row.key_prefix
    key = _set_key(row)
    db.session.flush()
    audit("rotate", "api_client", row.id, changes={"key_prefix": [old_prefix, row.key_prefix]})
    return row, key


def revoke_client(scope: Scope, client_id: int) -> ApiClient:
    """Revoke the client: its key answers 401 from now on (idempotent)."""
    row = get_client(scope, client_id)
    if row.is_active:
        row.is_active = False
        row.revoked_at = utcnow()
        db.session.flush()
        audit("revoke", "api_client", row.id, changes={"is_active": [True, False]})
    return row
