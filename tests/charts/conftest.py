"""Chart test helpers: headers, recording visits through the API, LMS rows from the CSV files."""
from __future__ import annotations

import csv
import uuid
from datetime import date
from functools import lru_cache
from pathlib import Path

import pytest

import posyandu
from posyandu.charts import cache
from tests import factories

DATA = Path(posyandu.__file__).resolve().parent / "core" / "growth" / "data"
DAYS_PER_MONTH = 30.4375


@lru_cache(maxsize=None)
def _table(name: str) -> dict:
    with open(DATA / name, newline="") as fh:
        return {(int(r["sex"]), r.get("age") or r.get("length") or r.get("height")): r for r in csv.DictReader(fh)}


def lms(file: str, sex: int, key) -> tuple[float, float, float]:
    """(L, M, S) of a table row as written in the package's CSV file (age in days, or the
    length/height text such as ``"75"`` or ``"90.5"``)."""
    row = _table(file)[(sex, str(key))]
    return float(row["l"]), float(row["m"]), float(row["s"])


def at_z(l, m, s, z):
    """The LMS value at z, worked out with the WHO formula (|z| <= 3)."""
    return m * (1 + l * s * z) ** (1 / l)


@pytest.fixture(autouse=True)
def _empty_chart_cache():
    cache.CHARTS.clear()
    yield
    cache.CHARTS.clear()


@pytest.fixture
def h():
    return factories.headers


@pytest.fixture
def visit(client, world):
    """POST /measurements; returns the stored record (JSON)."""
    def _visit(child, on: date, user=None, **values):
        body = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": on.isoformat(), **values}
        response = client.post("/api/v1/measurements", json=body, headers=factories.headers(user or world.admin))
        assert response.status_code == 201, response.json
        return response.json
    return _visit
