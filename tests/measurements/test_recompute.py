"""``recompute_all`` (batched, vectorised) stores exactly what the per-request path stores."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from posyandu.extensions import db
from posyandu.measurements import assessment, operations
from posyandu.measurements.models import Measurement
from tests import factories
from tests.measurements.conftest import validation_row

COLUMNS = assessment.COMPUTED_COLUMNS
FROZEN_WHEN_DELETED = (*assessment.TREND_COLUMNS, "warnings")
MARK = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _stored():
    db.session.expire_all()
    rows = db.session.execute(sa.select(Measurement)).scalars().all()
    return {m.id: {c: getattr(m, c) for c in COLUMNS} for m in rows}, {m.id: m for m in rows}


def _record_history(world, post_visit, client, h):
    """Visits through POST /measurements (record_measurement), one back-dated, one deleted."""
    a1 = {}
    # child_a1, born 2024-03-15 (boy): the N/T/O/B chain worked out by hand below
    for day, kg in ((date(2024, 9, 15), 7.5), (date(2024, 10, 15), 7.9), (date(2024, 11, 14), 8.1),
                    (date(2024, 12, 16), 8.2), (date(2025, 1, 15), 8.6)):
        a1[day] = uuid.UUID(post_visit(day, kg, length_cm=68.0 + day.month % 12 * 0.8,
                                       measure_method="lying").json["id"])
    # back-dated: an earlier weighing in December, entered last
    a1[date(2024, 12, 2)] = uuid.UUID(post_visit(date(2024, 12, 2), 8.0).json["id"])
    # child_a2, born 2023-07-01 (girl): LiLA, vitamin A outside Feb/Aug, oedema (health worker)
    post_visit(date(2024, 10, 5), 9.1, child=world.child_a2, user=world.kader_a2, length_cm=79.0,
               measure_method="lying", arm_circumference_cm=12.2, vitamin_a=True)
    post_visit(date(2024, 11, 6), 9.0, child=world.child_a2, user=world.staff_a, oedema=True)
    post_visit(date(2024, 12, 4), 9.4, child=world.child_a2, user=world.kader_a2, head_circumference_cm=45.5)
    # child_b1, born 2022-01-20: a length-only visit, then a length that went down by 3 cm
    post_visit(date(2024, 11, 20), None, child=world.child_b1, user=world.kader_b1, length_cm=92.0,
               measure_method="standing")
    post_visit(date(2024, 12, 20), 12.9, child=world.child_b1, user=world.kader_b1, length_cm=89.0,
               measure_method="standing")
    post_visit(date(2025, 1, 21), 13.0, child=world.child_b1, user=world.kader_b1)
    # child_c1, born 2024-09-09 (girl)
    post_visit(date(2024, 10, 10), 4.4, child=world.child_c1, user=world.kader_c1, length_cm=54.0,
               measure_method="lying")
    post_visit(date(2024, 11, 11), 5.3, child=world.child_c1, user=world.kader_c1)
    deleted = a1[date(2024, 11, 14)]
    assert client.delete(f"/api/v1/measurements/{deleted}", headers=h(world.kader_a1)).status_code == 204
    return a1, deleted


def _blank(deleted_ids):
    """Forget every computed value (deleted rows keep their frozen trend and its warnings)."""
    db.session.execute(sa.update(Measurement).where(Measurement.id.not_in(deleted_ids))
                       .values({c: None for c in COLUMNS}))
    db.session.execute(sa.update(Measurement).where(Measurement.id.in_(deleted_ids))
                       .values({c: None for c in COLUMNS if c not in FROZEN_WHEN_DELETED}))
    db.session.flush()


def test_recompute_all_in_small_batches_matches_the_request_path(world, post_visit, client, h, monkeypatch):
    a1, deleted = _record_history(world, post_visit, client, h)
    expected, _ = _stored()
    assert len(expected) == 14

    # the request path itself, checked by hand (growth-velocity-id.md §2.1, KBM reading B)
    by_day = {day: expected[mid] for day, mid in a1.items()}
    assert [(by_day[d]["trend_status"], by_day[d]["gain_g"], by_day[d]["kbm_g"]) for d in sorted(by_day)] == [
        ("B", None, None),   # 2024-09-15, first weighing
        ("N", 400, 400),     # 2024-10-15, 7 months: +400 g >= 400
        ("T", 200, 400),     # 2024-11-14 (deleted later; frozen): +200 g < 400
        ("O", None, None),   # 2024-12-02: November deleted, no weighing in the previous month
        ("O", None, None),   # 2024-12-16: same month, same rule; the month's counting weighing
        ("N", 400, 300),     # 2025-01-15, 10 months: +400 g >= 300
    ]

    _blank([deleted])
    batches = []
    real = assessment.assess_columns

    def spy(cols):
        batches.append(list(cols["child_id"]))
        return real(cols)

    monkeypatch.setattr(assessment, "assess_columns", spy)
    assert operations.recompute_all(db.session, batch_size=2) == 14

    # the four children went through several batches, each child whole in exactly one batch
    assert len(batches) >= 3
    seen = [cid for batch in batches for cid in set(batch)]
    assert sorted(seen) == sorted({world.child_a1.id, world.child_a2.id, world.child_b1.id, world.child_c1.id})
    restored, rows = _stored()
    counts = {cid: sum(1 for m in rows.values() if m.child_id == cid) for cid in seen}
    assert all(batch.count(cid) == counts[cid] for batch in batches for cid in set(batch))

    assert restored.keys() == expected.keys()
    for mid, values in expected.items():
        for c in COLUMNS:
            assert restored[mid][c] == values[c], (mid, c, restored[mid][c], values[c])
    assert all(v["standard_version"] == assessment.standard_version() for v in restored.values())


def test_recompute_all_only_outdated_touches_only_outdated_children(world, post_visit, client, h):
    _record_history(world, post_visit, client, h)
    expected, rows = _stored()
    b1_rows = [mid for mid, m in rows.items() if m.child_id == world.child_b1.id]
    assert len(b1_rows) == 3
    db.session.execute(sa.update(Measurement).values(computed_at=MARK))
    # one row of child_b1 from an older standard, with a lost z-score
    db.session.execute(sa.update(Measurement).where(Measurement.id == b1_rows[1])
                       .values(standard_version="old", zwei=None, cat_bbu=None))
    db.session.flush()

    assert operations.recompute_all(db.session, batch_size=1, only_outdated=True) == 3  # all of b1's rows

    restored, rows = _stored()
    touched = {mid for mid, m in rows.items() if m.computed_at != MARK}
    assert touched == set(b1_rows)
    assert restored == expected  # the lost values are back, nothing else changed
    # nothing outdated any more: a second pass writes nothing
    assert operations.recompute_all(db.session, batch_size=1, only_outdated=True) == 0


def test_correcting_a_childs_sex_refreshes_stored_z_scores(client, world, h, post_visit):
    """A child entered as a boy who is a girl: after the PATCH her stored visit carries the
    girl's z-scores of WHO anthro's validation row 1 (girl, 1,668 days, all measurements)."""
    row = validation_row("1")
    measured_on = date(2025, 6, 10)
    child = factories.child(world.posyandu_a1, "Anak Salah Kelamin", sex=1,
                            birth_date=measured_on - timedelta(days=int(row["age_days"])))
    visit = post_visit(measured_on, float(row["weight"]), child=child, length_cm=float(row["lenhei"]),
                       measure_method="standing", head_circumference_cm=float(row["headc"]),
                       arm_circumference_cm=float(row["armc"])).json
    assert visit["assessment"]["zscores"]["zwei"] != float(row["zwei"])  # computed for a boy
    response = client.patch(f"/api/v1/children/{child.id}", json={"sex": 2}, headers=h(world.kader_a1))
    assert response.status_code == 200, response.json
    stored = client.get(f"/api/v1/measurements/{visit['id']}", headers=h(world.kader_a1)).json
    for key in ("zlen", "zwei", "zwfl", "zbmi", "zhc", "zac"):
        assert stored["assessment"]["zscores"][key] == float(row[key]), key
