"""Administration of machine clients (``/api/v1/api-clients``): admin and dinkes.

admin manages the clients of every kabupaten, dinkes those of their own (another kabupaten's
client is 404); everyone else 403. The key is in the answer of create and rotate only.
"""
from ..auth.scope import current_scope, roles_required
from ..blueprint import Blueprint
from . import operations as ops
from .schemas import ApiClientCreateSchema, ApiClientListSchema, ApiClientQuerySchema, ApiClientSchema, \
    ApiClientWithKeySchema

blp = Blueprint("api_clients", __name__, url_prefix="/api-clients",
                description="Machine clients (the kabupaten command centre) and their API keys")


def _with_key(row, key) -> dict:
    """The client's fields (dumped by the response schema) plus the new key."""
    return {name: getattr(row, name) for name in ApiClientSchema().fields} | {"api_key": key}


@blp.route("", methods=["POST"])
@blp.arguments(ApiClientCreateSchema)
@blp.response(201, ApiClientWithKeySchema)
@blp.alt_response(409, description="An active client of this kabupaten already has this name.")
@roles_required(*ops.MANAGER_ROLES)
def create_client(body):
    """Create a command-centre client and its API key (the key is shown only in this answer)

    admin for any kabupaten, dinkes for their own. The key is stored as a keyed hash only.
    """
    row, key = ops.create_client(current_scope(), body)
    return _with_key(row, key)


@blp.route("", methods=["GET"])
@blp.arguments(ApiClientQuerySchema, location="query")
@blp.response(200, ApiClientListSchema)
@roles_required(*ops.MANAGER_ROLES)
def list_clients(args):
    """List the API clients you manage (never their keys)"""
    return {"items": ops.list_clients(current_scope(), args.get("kabupaten_code"))}


@blp.route("/<int:client_id>", methods=["GET"])
@blp.response(200, ApiClientSchema)
@roles_required(*ops.MANAGER_ROLES)
def get_client(client_id):
    """One API client (404 outside your kabupaten)"""
    return ops.get_client(current_scope(), client_id)


@blp.route("/<int:client_id>/rotate", methods=["POST"])
@blp.response(200, ApiClientWithKeySchema)
@blp.alt_response(409, description="The client was revoked.")
@roles_required(*ops.MANAGER_ROLES)
def rotate_key(client_id):
    """Give the client a new key; the old key stops working at once (shown only in this answer)"""
    row, key = ops.rotate_key(current_scope(), client_id)
    return _with_key(row, key)


@blp.route("/<int:client_id>/revoke", methods=["POST"])
@blp.response(200, ApiClientSchema)
@roles_required(*ops.MANAGER_ROLES)
def revoke_client(client_id):
    """Revoke the client: its key answers 401 from now on (repeating it changes nothing)"""
    return ops.revoke_client(current_scope(), client_id)
