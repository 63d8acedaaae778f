"""The child registry as seen by ``/sync/push`` (``posyandu.sync.adapters.Adapter``).

Phones push the REST field names (``ChildCreateSchema`` / ``ChildUpdateSchema``). Server-owned
fields a phone may echo back from ``/sync/pull`` (masked identifiers, status, version, …) are
ignored; status changes go through the close/reopen/move endpoints. Children cannot be deleted
(``delete = None``): close them instead.
"""
from __future__ import annotations

import marshmallow as ma

from ..errors import NotFound
from ..sync.adapters import Adapter
from . import operations as ops
from .schemas import ChildCreateSchema, ChildUpdateSchema

#: Read-only fields of the pulled record; dropped from pushed data.
SERVER_FIELDS = frozenset({"nik_masked", "mother_nik_masked", "kk_masked", "has_nik", "status", "closed_reason",
                           "closed_on", "merged_into_id", "version", "updated_at", "created_at", "guardians_linked"})


def _clean(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in SERVER_FIELDS}


def create(scope, data: dict):
    loaded = ChildCreateSchema().load(_clean(data))
    child, warnings, created = ops.create_child(scope, loaded)
    return child, created, warnings


def update(scope, child_id, data: dict, base_version):
    loaded = ChildUpdateSchema().load(_clean(data))
    loaded.pop("base_version", None)
    return ops.update_child(scope, child_id, loaded, base_version=base_version)


def same_content(scope, child_id, data: dict) -> bool:
    try:
        child = ops.load_child(scope, child_id)
    except NotFound:
        return False
    try:
        loaded = ChildUpdateSchema().load(_clean(data))
    except ma.ValidationError:
        return False
    loaded.pop("base_version", None)
    return ops.same_content(child, loaded)


ADAPTER = Adapter(create=create, update=update, delete=None, same_content=same_content)
