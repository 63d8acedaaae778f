"""HTTP routes for children (thin: parse, check scope, call operations, dump).

- ``POST   /children``                      create (client UUID; retry → 200, nothing new)
- ``GET    /children``                      list in scope (filters, cursor pagination)
- ``POST   /children/search``               tolerant name search / exact NIK search
- ``GET    /children/{id}``                 detail (``?reveal=nik`` for puskesmas/dinkes/admin, audited)
- ``PATCH  /children/{id}``                 update (``base_version`` → 409 with the server copy)
- ``POST   /children/{id}/move``            move to another posyandu
- ``GET    /children/{id}/transfers``       move history
- ``POST   /children/{id}/close``           close (moved_away, died, aged_out, duplicate_entry)
- ``POST   /children/{id}/reopen``          reopen
- ``GET    /children/{id}/duplicates``      likely duplicates
- ``POST   /children/{id}/merge``           fold a duplicate into this record (puskesmas/dinkes/admin)

Parents read their own children (list/detail, parent-shaped) and nothing else.
"""
from flask import jsonify
from ..blueprint import Blueprint

from ..auth.scope import STAFF_ROLES, SUPERVISOR_ROLES, current_scope, roles_required
from . import operations as ops
from .schemas import (ChildCreateSchema, ChildListQuerySchema, ChildListSchema, ChildSchema, ChildUpdateSchema,
                      ChildWriteSchema, CloseSchema, DetailQuerySchema, DuplicatesSchema, MergeSchema, MoveSchema,
                      ParentChildListSchema, ParentChildSchema, SearchResultSchema, SearchSchema,
                      TransferListSchema)

blp = Blueprint("children", __name__, url_prefix="/children", description="The child registry")


def _with_warnings(child, warnings):
    child._warnings = warnings
    return child


@blp.post("")
@roles_required(*STAFF_ROLES)
@blp.arguments(ChildCreateSchema)
@blp.response(201, ChildWriteSchema)
@blp.alt_response(200, schema=ChildWriteSchema, description="A retried create: the record already exists "
                                                             "with this content; nothing was written.")
@blp.alt_response(409, description="The id is already used with other content (`server` holds the stored copy).")
def create_child(data):
    """Register a child.

    The client generates the UUID ``id``. Posting the same id with the same content again answers
    200 with the stored record and writes nothing. Warnings (NIK inconsistent with the birth
    date/sex/region, possible duplicates in the same desa, missing identifiers) never block.
    """
    child, warnings, created = ops.create_child(current_scope(), data)
    return _with_warnings(child, warnings), (201 if created else 200)


@blp.get("")
@roles_required()
@blp.arguments(ChildListQuerySchema, location="query")
@blp.response(200, ChildListSchema)
def list_children(filters):
    """List children in your area (parents: their own children, parent-shaped).

    Ordered by name; pass ``next_cursor`` back as ``cursor`` for the next page. ``status``
    defaults to ``active``. Age filters use completed months at today's date.
    """
    scope = current_scope()
    children, next_cursor = ops.list_children(scope, filters)
    if scope.is_parent:
        return jsonify(ParentChildListSchema().dump({"items": children, "next_cursor": next_cursor}))
    return {"items": children, "next_cursor": next_cursor}


@blp.post("/search")
@roles_required(*STAFF_ROLES)
@blp.arguments(SearchSchema)
@blp.response(200, SearchResultSchema)
def search_children(criteria):
    """Find children by name (tolerant of spelling: Achmad/Ahmad, Fauzi/Fausi, Oe/U) or NIK.

    A POST so that NIKs and names stay out of URLs and access logs. NIK and mother's NIK match
    exactly; names are ranked by similarity (``score`` 0–100, at least 70).
    """
    return {"items": ops.search_children(current_scope(), **criteria)}


@blp.get("/<uuid:child_id>")
@roles_required()
@blp.arguments(DetailQuerySchema, location="query")
@blp.response(200, ChildSchema)
def get_child(args, child_id):
    """One child. Staff see identifiers masked (``nik_masked`` …).

    ``?reveal=nik`` adds ``nik``, ``mother_nik`` and ``kk_number`` in clear for puskesmas, dinkes
    and admin staff (kader and parents: 403); every reveal is written to the audit trail.
    Parents get the parent view (no identifiers, phones or address).
    """
    scope = current_scope()
    child = ops.load_child(scope, child_id)
    if scope.is_parent:
        if args.get("reveal"):
            raise ops.Forbidden("Identifiers cannot be revealed to parents.")
        return jsonify(ParentChildSchema().dump(child))
    if args.get("reveal") == "nik":
        child._revealed = ops.reveal_identifiers(scope, child)
    return child


@blp.patch("/<uuid:child_id>")
@roles_required(*STAFF_ROLES)
@blp.arguments(ChildUpdateSchema)
@blp.response(200, ChildWriteSchema)
@blp.alt_response(409, description="`base_version` is stale; `server` holds the current record.")
def update_child(data, child_id):
    """Change some fields of a child; ``guardians`` replaces the list when sent.

    Send ``base_version`` (the version you edited): if the server copy changed since, the answer
    is 409 with the server copy under ``server`` and nothing is overwritten.
    """
    base_version = data.pop("base_version", None)
    child, warnings = ops.update_child(current_scope(), child_id, data, base_version=base_version)
    return _with_warnings(child, warnings)


@blp.post("/<uuid:child_id>/move")
@roles_required(*STAFF_ROLES)
@blp.arguments(MoveSchema)
@blp.response(200, ChildSchema)
def move_child(data, child_id):
    """Move a child to another posyandu (history kept in ``/transfers``).

    Kader, dinkes, admin: both posyandu in scope. Puskesmas staff may also hand a child over to a
    posyandu of another puskesmas in their kabupaten. Phones of the old posyandu receive a
    tombstone, those of the new one the child and its measurements.
    """
    return ops.move_child(current_scope(), child_id, data["posyandu_id"], reason=data.get("reason"),
                          moved_on=data.get("moved_on"), desa_code=data.get("desa_code"))


@blp.get("/<uuid:child_id>/transfers")
@roles_required(*STAFF_ROLES)
@blp.response(200, TransferListSchema)
def child_transfers(child_id):
    """The child's moves between posyandu, oldest first."""
    return {"items": ops.transfers(current_scope(), child_id)}


@blp.post("/<uuid:child_id>/close")
@roles_required(*STAFF_ROLES)
@blp.arguments(CloseSchema)
@blp.response(200, ChildSchema)
def close_child(data, child_id):
    """Close a record: moved_away, died, aged_out or duplicate_entry (merges close with ``merged``)."""
    return ops.close_child(current_scope(), child_id, data["reason"], data.get("closed_on"))


@blp.post("/<uuid:child_id>/reopen")
@roles_required(*STAFF_ROLES)
@blp.response(200, ChildSchema)
def reopen_child(child_id):
    """Reopen a closed record (not a merged one)."""
    return ops.reopen_child(current_scope(), child_id)


@blp.get("/<uuid:child_id>/duplicates")
@roles_required(*STAFF_ROLES)
@blp.response(200, DuplicatesSchema)
def child_duplicates(child_id):
    """Records in your area that look like this child (same desa, birth date within 7 days, similar
    name and mother's name; or the same NIK)."""
    return {"candidates": ops.find_duplicates(current_scope(), child_id)}


@blp.post("/<uuid:child_id>/merge")
@roles_required(*SUPERVISOR_ROLES)
@blp.arguments(MergeSchema)
@blp.response(200, ChildSchema)
def merge_child(data, child_id):
    """Fold ``duplicate_id`` into this record (puskesmas, dinkes, admin; kader 403).

    Measurements move here, guardians are merged, empty fields are filled from the duplicate
    (nothing here is overwritten), the duplicate is closed as ``merged`` with ``merged_into_id``.
    """
    return ops.merge_children(current_scope(), child_id, data["duplicate_id"])
