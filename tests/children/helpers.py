"""Shared bits for the child-registry tests."""
from __future__ import annotations

import json
import uuid
from datetime import date

import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.children.models import Child
from posyandu.extensions import db
from posyandu.measurements.models import Measurement
from posyandu.sync.models import ChangeLog
from tests.factories import headers

API = "/api/v1/children"
#: reporting-id.md §6: a girl born 15 March 2024, NIK issued in Kebomas, Gresik (35 25 01):
#: day 15 + 40 = 55, month 03, year 24, serial 0001.
GIRL_NIK = "3525015503240001"
GIRL_NIK_MASKED = "3525********0001"
#: A woman born 15 March 1995 (day 55), issued in Kebomas.
MOTHER_NIK = "3525015503950003"
#: A man born 15 March 1990 (day 15).
MAN_NIK = "3525011503900002"
KK = "3525011203200007"


def new_child(posyandu, **overrides) -> dict:
    data = {"id": str(uuid.uuid4()), "posyandu_id": posyandu.id, "name": "Aisyah Putri", "sex": 2,
            "birth_date": "2024-03-15", "mother_name": "Nur Hidayah"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def post(client, user, path="", body=None):
    return client.post(API + path, json=body, headers=headers(user))


def get(client, user, path="", **params):
    return client.get(API + path, query_string=params, headers=headers(user))


def patch(client, user, child_id, body):
    return client.patch(f"{API}/{child_id}", json=body, headers=headers(user))


def count_children() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Child))


def audit_events(child_id, action=None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(AuditEvent.entity == "child", AuditEvent.entity_id == str(child_id))
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query.order_by(AuditEvent.id)).all()


def all_audit_text() -> str:
    return json.dumps([e.changes for e in db.session.scalars(sa.select(AuditEvent))], default=str)


def changes_for(entity_id) -> list[tuple[str, int, str]]:
    rows = db.session.execute(sa.select(ChangeLog.entity, ChangeLog.posyandu_id, ChangeLog.op)
                              .where(ChangeLog.entity_id == uuid.UUID(str(entity_id)))
                              .order_by(ChangeLog.id)).all()
    return [tuple(r) for r in rows]


def add_measurement(child, measured_on: date, weight: float) -> Measurement:
    row = Measurement(id=uuid.uuid4(), child_id=child.id if hasattr(child, "id") else uuid.UUID(child),
                      posyandu_id=child.posyandu_id, measured_on=measured_on, weight_kg=weight)
    db.session.add(row)
    db.session.flush()
    return row


def assert_problem(response, status: int, field: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    if field:
        assert field in (response.json.get("errors") or {}), response.json
