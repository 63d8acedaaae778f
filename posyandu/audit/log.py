"""Writing the audit trail from operations (inside the request's transaction)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
import uuid

import sqlalchemy as sa
from flask import g, has_request_context

from ..db import utcnow
from ..extensions import db
from .models import AuditEvent

#: Fields whose values never enter the audit trail in clear.
SENSITIVE_FIELDS = frozenset({"nik", "mother_nik", "kk_number", "password", "password_hash",
                              "nik_encrypted", "mother_nik_encrypted", "kk_encrypted",
                              "nik_hmac", "mother_nik_hmac", "kk_hmac"})


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def field_diff(before: dict, after: dict) -> dict:
    """``{field: [old, new]}`` for fields that changed; sensitive ones show only that they changed."""
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in SENSITIVE_FIELDS:
            changes[key] = ["***" if old else None, "***" if new else None]
        else:
            changes[key] = [_plain(old), _plain(new)]
    return changes


#: ``inline()``: no RETURNING of the new id, which nobody reads.
_INSERT = sa.insert(AuditEvent.__table__).inline()


def creation_companion(entity: str, changes: dict | None) -> tuple:
    """The ``create`` event of a row inserted by ``concurrent_writes.insert_new``, as one of its
    companions: the same event :func:`audit` writes (the row's ``id``, ``posyandu_id``,
    ``child_id`` and ``created_at`` are read from the inserted row)."""
    from ..concurrent_writes import Constant, Returned
    request = has_request_context()
    return (AuditEvent.__table__, {
        "at": Returned("created_at"), "action": Constant("create"), "entity": Constant(entity),
        "entity_id": Returned("id", as_text=True), "changes": changes or None,
        "posyandu_id": Returned("posyandu_id"), "child_id": Returned("child_id", as_text=True),
        "user_id": g.get("current_user_id") if request else None,
        "request_id": g.get("request_id") if request else None})


def audit(action: str, entity: str, entity_id, *, changes: dict | None = None,
          posyandu_id: int | None = None, child_id=None, user_id: int | None = None) -> None:
    """Append one audit event in the current transaction (a plain INSERT, no ORM object:
    audit rows are written on every change and never edited)."""
    if user_id is None and has_request_context():
        user_id = g.get("current_user_id")
    db.session.execute(_INSERT, {
        "at": utcnow(), "action": action, "entity": entity, "entity_id": str(entity_id),
        "changes": changes or None, "posyandu_id": posyandu_id, "child_id": str(child_id) if child_id else None,
        "user_id": user_id, "request_id": g.get("request_id") if has_request_context() else None})
