"""``flask growth recompute`` restores the stored results with the vectorised engine."""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from posyandu.extensions import db
from posyandu.measurements import assessment, operations
from posyandu.measurements.models import Measurement

COLUMNS = assessment.COMPUTED_COLUMNS


def _snapshot():
    db.session.expire_all()
    rows = db.session.execute(sa.select(Measurement).order_by(Measurement.id)).scalars().all()
    return {m.id: {c: getattr(m, c) for c in COLUMNS} for m in rows}


def _make_history(world, post_visit):
    ids = [post_visit(d, kg, length_cm=cm, measure_method="lying", arm_circumference_cm=13.0).json["id"]
           for d, kg, cm in ((date(2024, 9, 15), 7.5, 66.0), (date(2024, 10, 15), 7.9, 67.5),
                             (date(2024, 11, 14), 8.1, 69.0), (date(2024, 12, 16), 8.3, 70.1))]
    post_visit(date(2024, 12, 20), 11.2, child=world.child_b1, user=world.kader_b1, length_cm=86.0,
               measure_method="standing", vitamin_a=False)
    post_visit(date(2025, 1, 20), 11.0, child=world.child_b1, user=world.kader_b1)
    post_visit(date(2024, 11, 2), 8.0, child=world.child_a2, user=world.kader_a2, oedema=False)
    return ids


def test_recompute_restores_blanked_columns_and_sets_version(runner, world, post_visit, client, h):
    ids = _make_history(world, post_visit)
    # one soft-deleted row: it is recomputed too, and keeps its frozen trend
    assert client.delete(f"/api/v1/measurements/{ids[2]}", headers=h(world.kader_a1)).status_code == 204
    expected = _snapshot()
    assert len(expected) == 7
    blank = {c: None for c in COLUMNS}
    db.session.execute(sa.update(Measurement).values(**blank))
    db.session.commit()
    assert all(v is None for row in _snapshot().values() for v in row.values())

    result = runner.invoke(args=["growth", "recompute", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "recomputed 7 measurements" in result.output
    restored = _snapshot()
    for mid, values in expected.items():
        for c in COLUMNS:
            if c in (*assessment.TREND_COLUMNS, "warnings") and mid == uuid.UUID(ids[2]):
                continue  # a deleted row's trend (and its T warning) is frozen, not rebuilt from nothing
            assert restored[mid][c] == values[c], (mid, c)
        assert restored[mid]["standard_version"] == assessment.standard_version()


def test_only_outdated_touches_only_outdated_children(runner, world, post_visit):
    _make_history(world, post_visit)
    db.session.execute(sa.update(Measurement).where(Measurement.child_id == world.child_b1.id)
                       .values(standard_version="old", zwei=None, cat_bbu=None))
    db.session.commit()
    before = db.session.execute(sa.select(Measurement.id, Measurement.computed_at)
                                .where(Measurement.child_id != world.child_b1.id)).all()
    result = runner.invoke(args=["growth", "recompute", "--only-outdated"])
    assert result.exit_code == 0, result.output
    assert "recomputed 2 measurements" in result.output
    db.session.expire_all()
    after = dict(db.session.execute(sa.select(Measurement.id, Measurement.computed_at)
                                    .where(Measurement.child_id != world.child_b1.id)).all())
    assert all(after[mid] == at for mid, at in before)  # up-to-date rows untouched
    b1 = db.session.execute(sa.select(Measurement).where(Measurement.child_id == world.child_b1.id)).scalars().all()
    assert all(m.standard_version == assessment.standard_version() and m.zwei is not None
               and m.cat_bbu is not None for m in b1)


def test_recompute_all_as_a_function_for_bulk_loads(world):
    """The demo loader inserts raw rows in bulk, then calls recompute_all."""
    rows = [Measurement(id=uuid.uuid4(), child_id=world.child_a1.id, posyandu_id=world.posyandu_a1.id,
                        measured_on=d, weight_kg=kg, oedema=False, version=1)
            for d, kg in ((date(2024, 9, 15), 7.5), (date(2024, 10, 15), 7.9), (date(2024, 11, 14), 8.1))]
    db.session.add_all(rows)
    db.session.flush()
    assert operations.recompute_all(db.session, batch_size=100) == 3
    db.session.expire_all()
    statuses = [db.session.get(Measurement, m.id).trend_status for m in rows]
    assert statuses == ["B", "N", "T"]  # +400 g >= 400 at 7 months; +200 g < 400 at 7 months
