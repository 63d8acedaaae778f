"""Helpers for the measurement tests: auth headers, posting visits, counting rows."""
from __future__ import annotations

import csv
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.measurements.models import Measurement
from posyandu.sync.models import ChangeLog

from tests import factories

VALIDATION_CSV = Path(__file__).resolve().parent.parent / "data" / "validation_sample.csv"


def validation_row(row_id: str) -> dict:
    with open(VALIDATION_CSV, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["id"] == row_id:
                return row
    raise KeyError(row_id)


def count(model, *where) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def counts() -> tuple[int, int, int]:
    """(measurements, audit events, change-log rows)."""
    return count(Measurement), count(AuditEvent), count(ChangeLog)


@pytest.fixture
def h(app):
    """Authorization header for a user."""
    return factories.headers


@pytest.fixture
def post_visit(client, h, world):
    """POST /measurements for ``child`` (default world.child_a1, born 2024-03-15) as ``user``."""
    def _post(measured_on, weight_kg=None, *, child=None, user=None, mid=None, expect=201, **extra):
        body = {"id": str(mid or uuid.uuid4()), "child_id": str((child or world.child_a1).id),
                "measured_on": measured_on.isoformat() if isinstance(measured_on, date) else measured_on}
        if weight_kg is not None:
            body["weight_kg"] = weight_kg
        body.update(extra)
        response = client.post("/api/v1/measurements", json=body, headers=h(user or world.kader_a1))
        if expect is not None:
            assert response.status_code == expect, response.json
        return response
    return _post

