"""PATCH / DELETE: later N/T/O/B statuses follow corrections; versions, conflicts, audit, sync log.

child_a1 is born 2024-03-15; KBM reading B (growth-velocity-id.md §3.2): 7 months 400 g, 9 months 300 g.
"""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.measurements import operations
from posyandu.measurements.models import Measurement
from posyandu.sync.models import ChangeLog

from tests.measurements.conftest import count, counts


def _series(post_visit):
    """Sep B, Oct N (+400 >= 400), Nov T (+200 < 400), Dec T+2T (+200 < 300)."""
    ids = {}
    for key, measured_on, kg in (("sep", date(2024, 9, 15), 7.5), ("oct", date(2024, 10, 15), 7.9),
                                 ("nov", date(2024, 11, 14), 8.1), ("dec", date(2024, 12, 16), 8.3)):
        ids[key] = post_visit(measured_on, kg).json["id"]
    return ids


def _trend(client, h, user, mid):
    response = client.get(f"/api/v1/measurements/{mid}", headers=h(user))
    assert response.status_code == 200, response.json
    t = response.json["assessment"]["trend"]
    return t["status"], t["gain_g"], t["kbm_g"], t["is_2t"]


def test_editing_a_middle_weighing_recomputes_later_statuses(client, h, world, post_visit):
    ids = _series(post_visit)
    assert _trend(client, h, world.kader_a1, ids["dec"]) == ("T", 200, 300, True)
    response = client.patch(f"/api/v1/measurements/{ids['nov']}", headers=h(world.kader_a1),
                            json={"weight_kg": 8.4, "base_version": 1})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["version"] == 2 and body["weight_kg"] == 8.4
    # November: 8.4 - 7.9 = +500 g >= 400 -> N; December: 8.3 - 8.4 = -100 g < 300 -> T, not 2T (Nov is N)
    assert (body["assessment"]["trend"]["status"], body["assessment"]["trend"]["gain_g"]) == ("N", 500)
    assert _trend(client, h, world.kader_a1, ids["dec"]) == ("T", -100, 300, False)
    dec = client.get(f"/api/v1/measurements/{ids['dec']}", headers=h(world.kader_a1)).json
    codes = [w["code"] for w in dec["assessment"]["warnings"]]
    assert "weight_not_gained" in codes and "weight_not_gained_2t" not in codes
    assert dec["version"] == 1  # a derived status change is not an edit of the cadre's values
    # audited with the field diff, and December's new status is in the sync change log
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "update",
                                                           AuditEvent.entity_id == ids["nov"])).scalar_one()
    assert event.changes == {"weight_kg": [8.1, 8.4]}
    assert count(ChangeLog, ChangeLog.entity_id == uuid.UUID(ids["dec"])) == 2


def test_moving_a_weighing_to_another_month(client, h, world, post_visit):
    ids = _series(post_visit)
    # November's weighing was really on 2 January 2025: December loses its reference month -> O
    response = client.patch(f"/api/v1/measurements/{ids['nov']}", headers=h(world.kader_a1),
                            json={"measured_on": "2025-01-02"})
    assert response.status_code == 200, response.json
    assert _trend(client, h, world.kader_a1, ids["dec"])[0] == "O"
    # January (9 months): 8.1 - 8.3 = -200 g -> T
    assert _trend(client, h, world.kader_a1, ids["nov"]) == ("T", -200, 300, False)


def test_deleting_recomputes_and_keeps_the_row(client, h, world, post_visit):
    ids = _series(post_visit)
    before = count(AuditEvent)
    response = client.delete(f"/api/v1/measurements/{ids['nov']}", headers=h(world.kader_a1))
    assert response.status_code == 204
    # no November weighing any more: December is O (weighed before, not last month)
    assert _trend(client, h, world.kader_a1, ids["dec"]) == ("O", None, None, False)
    row = db.session.get(Measurement, uuid.UUID(ids["nov"]))
    db.session.refresh(row)
    assert row.deleted_at is not None and row.weight_kg == 8.1 and row.version == 2
    assert count(AuditEvent) == before + 1
    assert db.session.execute(sa.select(ChangeLog.op).where(ChangeLog.entity_id == row.id)
                              .order_by(ChangeLog.id.desc()).limit(1)).scalar_one() == "delete"
    growth = client.get(f"/api/v1/children/{world.child_a1.id}/growth", headers=h(world.kader_a1)).json
    assert [m["id"] for m in growth["measurements"]] == [ids["sep"], ids["oct"], ids["dec"]]
    # deleting again changes nothing; a retried create of a deleted id is a conflict
    assert client.delete(f"/api/v1/measurements/{ids['nov']}", headers=h(world.kader_a1)).status_code == 204
    assert count(AuditEvent) == before + 1
    retry = client.post("/api/v1/measurements", headers=h(world.kader_a1), json={
        "id": ids["nov"], "child_id": str(world.child_a1.id), "measured_on": "2024-11-14", "weight_kg": 8.1})
    assert retry.status_code == 409 and retry.json["server"]["deleted_at"]


def test_back_dated_visit_updates_later_statuses(client, h, world, post_visit):
    sep = post_visit(date(2024, 9, 15), 7.5).json["id"]
    nov = post_visit(date(2024, 11, 14), 8.1).json["id"]
    assert _trend(client, h, world.kader_a1, nov)[0] == "O"
    post_visit(date(2024, 10, 15), 7.9)  # entered late (offline phone)
    assert _trend(client, h, world.kader_a1, nov) == ("T", 200, 400, False)
    assert _trend(client, h, world.kader_a1, sep)[0] == "B"


def test_stale_base_version_is_409_with_server_copy(client, h, world, post_visit):
    mid = post_visit(date(2024, 9, 15), 7.5).json["id"]
    ok = client.patch(f"/api/v1/measurements/{mid}", headers=h(world.kader_a1), json={"weight_kg": 7.6, "base_version": 1})
    assert ok.status_code == 200 and ok.json["version"] == 2
    before = counts()
    stale = client.patch(f"/api/v1/measurements/{mid}", headers=h(world.kader_a1),
                         json={"weight_kg": 7.7, "base_version": 1})
    assert stale.status_code == 409
    assert stale.mimetype == "application/problem+json"
    assert stale.json["server"]["version"] == 2 and stale.json["server"]["weight_kg"] == 7.6
    stale_delete = client.delete(f"/api/v1/measurements/{mid}?base_version=1", headers=h(world.kader_a1))
    assert stale_delete.status_code == 409
    assert counts() == before
    assert db.session.get(Measurement, uuid.UUID(mid)).deleted_at is None


def test_same_values_patch_changes_nothing(client, h, world, post_visit):
    mid = post_visit(date(2024, 9, 15), 7.5).json["id"]
    before = counts()
    same = client.patch(f"/api/v1/measurements/{mid}", headers=h(world.kader_a1), json={"weight_kg": 7.5})
    assert same.status_code == 200 and same.json["version"] == 1
    assert counts() == before


def test_bad_patch_is_422_and_changes_nothing(client, h, world, post_visit):
    mid = post_visit(date(2024, 9, 15), 7.5, length_cm=66.0, measure_method="lying").json["id"]
    for body, field in (({"weight_kg": -1}, "weight_kg"), ({"measure_method": "kneeling"}, "measure_method"),
                        ({"measured_on": "2024-01-01"}, "measured_on"), ({"child_id": str(uuid.uuid4())}, "child_id"),
                        ({"weight_kg": None, "length_cm": None}, "weight_kg")):
        response = client.patch(f"/api/v1/measurements/{mid}", headers=h(world.kader_a1), json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], (body, response.json)
    row = db.session.get(Measurement, uuid.UUID(mid))
    db.session.refresh(row)
    assert (row.weight_kg, row.measured_on, row.version) == (7.5, date(2024, 9, 15), 1)


def test_recompute_child_trend_after_merge(client, h, world, post_visit):
    """What the children feature does after a merge: move rows, then recompute the survivor."""
    sep = post_visit(date(2024, 9, 15), 7.5).json["id"]
    oct_dup = post_visit(date(2024, 10, 15), 7.9, child=world.child_a2, user=world.kader_a2).json["id"]
    db.session.execute(sa.update(Measurement).where(Measurement.id == uuid.UUID(oct_dup))
                       .values(child_id=world.child_a1.id))
    changed = operations.recompute_child_trend(db.session, world.child_a1.id)
    assert changed == [uuid.UUID(oct_dup)]
    db.session.commit()
    assert _trend(client, h, world.kader_a1, oct_dup) == ("N", 400, 400, False)
    assert operations.recompute_child_trend(db.session, world.child_a1.id) == []  # nothing left to change
    assert _trend(client, h, world.kader_a1, sep)[0] == "B"
