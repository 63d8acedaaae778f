"""The history columns of a child's visits from a month on, computed from a window of the
history (``assessment.trend_values(..., since=...)``), equal those of a replay of the whole
history: on generated histories with implausible weights and lengths, confirmed values, gaps,
several visits in a month and missing lengths, for a visit added, edited or deleted anywhere.

The window is what ``sync_batch._recent_histories`` reads: the rows from two months before the
change's month on, and before that the latest row, the latest usable weighing and the latest
usable length. The reference is the whole-history replay the batch path used before."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from posyandu.measurements import assessment
from posyandu.measurements.operations import _first_of_month_before

BIRTH = date(2021, 3, 17)


def _child(rng):
    return SimpleNamespace(id=uuid.uuid4(), sex=rng.choice((1, 2)), birth_date=BIRTH,
                           birth_weight_kg=rng.choice((None, 3.1)))


def _raw_visit(rng, day: date, weight: float, length: float) -> dict:
    roll = rng.random()
    if roll < 0.08:
        weight *= rng.choice((0.55, 1.6))      # a slip of the scale (implausible jump)
    elif roll < 0.12:
        length -= rng.uniform(2, 5)            # a length lower than before
    return {"id": uuid.uuid4(), "measured_on": day, "weight_kg": round(weight, 1) if rng.random() > 0.03 else None,
            "length_cm": round(length, 1) if rng.random() > 0.25 else None,
            "measure_method": "lying" if (day - BIRTH).days < 731 else "standing",
            "head_circumference_cm": None, "arm_circumference_cm": None, "oedema": False,
            "vitamin_a": None, "confirm_implausible": rng.random() < 0.04,
            "created_at": datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.random() * 1e6)}


def _stored(child, raws) -> dict:
    """Rows as the database holds them: visit values, then the whole-history trend."""
    rows = {r["id"]: {**r, **assessment.visit_values(child, r)} for r in raws}
    for mid, values in assessment.trend_values(child, list(rows.values())).items():
        rows[mid].update(values)
    return rows


def _history(rng, child) -> list[dict]:
    day, weight, length, raws = BIRTH + timedelta(days=rng.randint(20, 60)), 4.5, 55.0, []
    while day < date(2026, 2, 1):
        weight += rng.uniform(-0.3, 0.6)
        length += rng.uniform(0.2, 1.5)
        raws.append(_raw_visit(rng, day, weight, length))
        day += timedelta(days=rng.choice((7, 20, 30, 31, 33, 45, 62, 95)))
    return raws


def _window(child, rows, changed_on: date) -> list[dict]:
    """The rows sync_batch._recent_histories reads for a change on ``changed_on``."""
    since = _first_of_month_before(changed_on, 2)
    latest = lambda r: (r["measured_on"], r["created_at"])  # noqa: E731
    before = sorted((r for r in rows if r["measured_on"] < since), key=latest)
    picked = {r["id"]: r for r in rows if r["measured_on"] >= since}
    anchors = [before[-1:],
               [r for r in before if r["weight_kg"] and r["weight_kg"] > 0 and r["measured_on"] >= child.birth_date
                and not r["weight_implausible"]][-1:],
               [r for r in before if r["clenhei"] is not None and not r["length_implausible"]][-1:]]
    for part in anchors:
        picked.update({r["id"]: r for r in part})
    return list(picked.values())


def _check(child, rows: dict, changed_on: date) -> int:
    full = assessment.trend_values(child, list(rows.values()))
    since = changed_on.replace(day=1)
    window = assessment.trend_values(child, _window(child, list(rows.values()), changed_on), since=since)
    assert set(window) == {mid for mid, r in rows.items() if r["measured_on"] >= since}
    for mid, values in window.items():
        assert values == full[mid], (rows[mid]["measured_on"], {k: (v, full[mid][k]) for k, v in values.items()
                                                                 if v != full[mid][k]})
    return len(window)


@pytest.mark.parametrize("seed", range(40))
def test_a_window_gives_the_whole_history_values(seed):
    rng = random.Random(seed)
    child = _child(rng)
    rows = _stored(child, _history(rng, child))
    days = sorted(r["measured_on"] for r in rows.values())
    checked = 0
    for _ in range(6):
        kind = rng.choice(("add", "edit", "delete"))
        if kind == "add":
            day = rng.choice(days) + timedelta(days=rng.randint(-20, 20))
            prev = max((r for r in rows.values() if r["measured_on"] <= day and r["weight_kg"]),
                       key=lambda r: r["measured_on"], default=None)
            raw = _raw_visit(rng, day, (prev["weight_kg"] if prev else 5.0) + 0.2,
                             (prev["length_cm"] or 60.0) + 0.5 if prev else 60.0)
            rows[raw["id"]] = {**raw, **assessment.visit_values(child, raw)}
            changed_on = day
        else:
            mid = rng.choice(list(rows))
            changed_on = rows[mid]["measured_on"]
            if kind == "delete":
                del rows[mid]
            else:
                row = rows[mid]
                row["weight_kg"] = round((row["weight_kg"] or 8.0) * rng.choice((0.9, 1.1, 1.7)), 1)
                row.update(assessment.visit_values(child, row))
        checked += _check(child, rows, changed_on)
        # the change is stored (the whole replay), as the batch writes it
        for mid, values in assessment.trend_values(child, list(rows.values())).items():
            rows[mid].update(values)
    assert checked > 0
