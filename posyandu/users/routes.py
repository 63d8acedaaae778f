"""HTTP routes for users (thin: parse, check scope, call operations, dump).

The admin API. Who manages whom is in ``posyandu/users/operations.py``: admin everyone; dinkes
the puskesmas staff and kader of their kabupaten; puskesmas staff the kader of their
puskesmas; kader and parents nobody (403). Accounts outside the caller's area are 404.
"""
from ..blueprint import Blueprint

from ..auth.operations import describe_user
from ..auth.scope import current_scope, roles_required
from . import operations as ops
from .schemas import PasswordResetSchema, UserCreateSchema, UserListSchema, UserQuerySchema, UserSchema, \
    UserUpdateSchema

blp = Blueprint("users", __name__, url_prefix="/users", description="User administration")

MANAGERS = ops.MANAGER_ROLES


def _out(user):
    return describe_user(user, area_posyandu=False)


@blp.route("", methods=["POST"])
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
@blp.alt_response(409, description="Username or phone already used by another account.")
@roles_required(*MANAGERS)
def create_user(body):
    """Create a staff or cadre account

    admin may create admin, dinkes, puskesmas and kader accounts; dinkes puskesmas staff and
    kader in their kabupaten; puskesmas staff kader of their puskesmas. Scope by code:
    `posyandu_codes` (kader), `puskesmas_code` (puskesmas), `kabupaten_code` (dinkes).
    A retried request answers 409 (the username/phone is taken) and creates nothing twice.
    """
    return _out(ops.create_user(current_scope(), body))


@blp.route("", methods=["GET"])
@blp.arguments(UserQuerySchema, location="query")
@blp.response(200, UserListSchema)
@roles_required(*MANAGERS)
def list_users(args):
    """List the accounts you manage (cursor pagination, by id)

    Filters: role, is_active, posyandu, puskesmas, kabupaten (codes), q (username/name).
    """
    return ops.list_users(current_scope(), args)


@blp.route("/<int:user_id>", methods=["GET"])
@blp.response(200, UserSchema)
@roles_required(*MANAGERS)
def get_user(user_id):
    """One account you manage (404 outside your area)"""
    return _out(ops.get_manageable(current_scope(), user_id))


@blp.route("/<int:user_id>", methods=["PATCH"])
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
@blp.alt_response(409, description="Username or phone taken, or a change to your own role/area.")
@roles_required(*MANAGERS)
def update_user(body, user_id):
    """Change name, phone, username, language, role or area of an account you manage

    A role change needs the new role's area (e.g. `puskesmas_code` for puskesmas staff).
    """
    return _out(ops.update_user(current_scope(), user_id, body))


@blp.route("/<int:user_id>/disable", methods=["POST"])
@blp.response(200, UserSchema)
@roles_required(*MANAGERS)
def disable_user(user_id):
    """Disable an account: it cannot sign in, its refresh tokens are revoked and its access
    tokens refused at once"""
    return _out(ops.set_active(current_scope(), user_id, False))


@blp.route("/<int:user_id>/enable", methods=["POST"])
@blp.response(200, UserSchema)
@roles_required(*MANAGERS)
def enable_user(user_id):
    """Enable a disabled account"""
    return _out(ops.set_active(current_scope(), user_id, True))


@blp.route("/<int:user_id>/password", methods=["POST"])
@blp.arguments(PasswordResetSchema)
@blp.response(204)
@roles_required(*MANAGERS)
def reset_password(body, user_id):
    """Set a new password for an account you manage

    Signs the account out everywhere (refresh tokens revoked, earlier access tokens refused).
    """
    ops.reset_password(current_scope(), user_id, body["password"])
