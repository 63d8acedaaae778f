"""Offline sync for the Android app: push a batch of edits, pull changes since a cursor."""
from __future__ import annotations

import json
from collections import Counter

import marshmallow as ma
from flask import current_app
from ..blueprint import Blueprint

from ..auth.scope import current_scope, roles_required
from .. import metrics
from ..errors import flatten_messages
from ..i18n import current_language, localize_receipt
from . import pull as pull_ops
from . import push as push_ops
from .schemas import (PullQuerySchema, PullResponseSchema, PushRecordSchema, PushRequestSchema,
                      PushResponseSchema)

blp = Blueprint("sync", __name__, url_prefix="/sync", description="Offline sync (push/pull) for the Android app")


@blp.post("/push")
@blp.arguments(PushRequestSchema)
@blp.response(200, PushResponseSchema)
@roles_required("admin", "dinkes", "puskesmas", "kader")
def push(body):
    """Apply up to 1,000 offline records; one receipt per record, in the order sent.

    A record that fails validation gets an ``invalid`` receipt and does not stop the others.
    Sending the same batch again changes nothing and returns the same receipts as ``duplicate``.
    """
    scope = current_scope()
    envelope_errors: dict = {}
    record_schema = PushRecordSchema()
    loaded: list[dict | None] = []
    for i, raw in enumerate(body["records"]):
        try:
            loaded.append(record_schema.load(raw))
        except ma.ValidationError as exc:
            loaded.append(None)
            envelope_errors[i] = flatten_messages(exc.messages)
    valid = [(i, item) for i, item in enumerate(loaded) if item is not None]
    receipts_valid = push_ops.push(scope, [
        {**item, "id": str(item["id"]),
         "client_updated_at": item["client_updated_at"].isoformat() if item["client_updated_at"] else None}
        for _, item in valid])
    receipts: list[dict] = [None] * len(loaded)  # type: ignore[list-item]
    for (i, _), receipt in zip(valid, receipts_valid):
        receipt["index"] = i
        receipts[i] = receipt
    for i, errors in envelope_errors.items():
        raw = body["records"][i]
        receipts[i] = {"index": i, "entity": raw.get("entity"), "id": raw.get("id") if isinstance(raw.get("id"), str) else None,
                       "status": "invalid", "errors": errors}
    metrics.note_sync_push(receipts)
    language = current_language()
    receipts = [localize_receipt(r, language) for r in receipts]
    return {"receipts": receipts, "summary": dict(Counter(r["status"] for r in receipts))}


@blp.get("/pull")
@blp.arguments(PullQuerySchema, location="query")
@blp.response(200, PullResponseSchema)
@roles_required()
def pull(args):
    """Every change in your scope since ``since``, oldest first, paginated.

    Start with no cursor to rebuild a phone's whole posyandu; keep the returned ``cursor`` and
    call again while ``has_more`` is true. Deleted records and records that moved out of your
    scope come as tombstones (``op: delete``).
    """
    page = pull_ops.pull(current_scope(), args["since"], args["limit"])
    metrics.note_sync_pull(page["changes"])
    # Thousands of plain records: encode them directly rather than through the response schema
    # (which documents the shape) — the pull of a whole posyandu is the heaviest read we serve.
    return current_app.response_class(json.dumps(page, separators=(",", ":")), mimetype="application/json")

