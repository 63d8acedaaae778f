"""Helpers for the immunization tests: a baby in posyandu A1, recording doses, counting rows.

Dates are worked by hand from immunization-schedule-id.md §2 (recommended / minimum ages,
intervals; months are calendar months) and the engine's documented defaults
(posyandu/core/schedule/README.md: a dose becomes overdue one month after its recommended date).
"""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from posyandu.sync.models import ChangeLog

from tests import factories

BABY_BIRTH = date(2025, 1, 10)


def count(model, *where) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def counts() -> tuple[int, int, int]:
    """(immunizations, audit events, change-log rows)."""
    return count(Immunization), count(AuditEvent), count(ChangeLog)


@pytest.fixture
def baby(world):
    """A boy born 2025-01-10 at posyandu A1 (Gresik, WIB), linked to parent_1."""
    child = factories.child(world.posyandu_a1, "Bayi Uji", birth_date=BABY_BIRTH)
    db.session.commit()  # releases the test's SAVEPOINT only: survives a request answering >= 400
    return child


@pytest.fixture
def give(client, world):
    """POST a dose for ``child`` as ``user`` (default kader_a1); asserts the status."""
    def _give(child, dose_code, given_on, *, user=None, iid=None, expect=201, **extra):
        body = {"id": str(iid or uuid.uuid4()), "dose_code": dose_code,
                "given_on": given_on.isoformat() if isinstance(given_on, date) else given_on}
        body.update(extra)
        response = client.post(f"/api/v1/children/{child.id}/immunizations", json=body,
                               headers=factories.headers(user or world.kader_a1))
        if expect is not None:
            assert response.status_code == expect, response.json
        return response
    return _give
