"""Helpers for the data-quality API tests: visits stored with chosen assessment values.

The visits are inserted as rows with their stored z-scores and flags given by the test (the
report reads stored values and never recomputes them), so every expected figure can be worked
out by hand from those values.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest

from posyandu.extensions import db
from posyandu.measurements.models import Measurement

from tests import factories

WIB = timezone(timedelta(hours=7))


def store_visit(child, on: date, *, by=None, weight=9.0, length=75.0, method="lying", zwfl=0.0,
                fwfl=None, age_days=None, clenhei=None, created_at=None, posyandu=None,
                flags=(), deleted=False) -> Measurement:
    """One stored visit. ``fwfl`` defaults to WHO's rule on ``zwfl`` (|z| > 5); ``flags``
    sets other indicators' flags (e.g. ``("fwei",)``); ``created_at`` defaults to 10:00 WIB
    on the session day."""
    row = Measurement(
        id=uuid.uuid4(), child_id=child.id,
        posyandu_id=child.posyandu_id if posyandu is None else posyandu.id, measured_on=on,
        weight_kg=weight, length_cm=length,
        measure_method=method, age_days=(on - child.birth_date).days if age_days is None else age_days,
        clenhei=length if clenhei is None else clenhei, zwfl=zwfl,
        fwfl=(None if zwfl is None else abs(zwfl) > 5) if fwfl is None else fwfl,
        zwei=0.0 if weight is not None else None, fwei=False,
        created_by_id=by.id if by is not None else None,
        created_at=created_at or datetime.combine(on, time(10, 0), WIB).astimezone(timezone.utc),
        deleted_at=datetime.now(timezone.utc) if deleted else None, version=1)
    for f in flags:
        setattr(row, f, True)
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def visit():
    return store_visit


@pytest.fixture
def kid(world):
    """A new child of a posyandu (default A1), born 2025-01-01 unless told."""
    counter = iter(range(10_000))

    def _kid(posyandu=None, *, sex=1, birth_date=date(2025, 1, 1)):
        return factories.child(posyandu or world.posyandu_a1, f"Anak {next(counter)}", sex=sex,
                               birth_date=birth_date, mother_name="Ibu")
    return _kid


@pytest.fixture
def get(client):
    def _get(path, user, expect=200, headers=None, **params):
        response = client.get(f"/api/v1/quality/{path}", query_string=params,
                              headers={**factories.headers(user), **(headers or {})})
        assert response.status_code == expect, (response.status_code, response.get_data(as_text=True)[:500])
        return response
    return _get
