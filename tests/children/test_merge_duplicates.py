"""GET /children/{id}/duplicates and POST /children/{id}/merge."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from posyandu.children.models import Child, ChildGuardian
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from posyandu.measurements.models import Measurement

from .helpers import (GIRL_NIK, add_measurement, assert_problem, audit_events, changes_for, get, new_child, post)


def make_duplicate(client, world, **overrides):
    """The same boy as world.child_a1, registered again by the cadre with another spelling."""
    fields = {"name": "Achmad Fauzi", "sex": 1, "mother_name": "Siti Aminah",
              "guardians": [{"phone": "0812 5555 0001", "relationship": "father"}], **overrides}
    body = new_child(world.posyandu_a1, **fields)
    response = post(client, world.kader_a1, body=body)
    assert response.status_code == 201, response.json
    return db.session.get(Child, uuid.UUID(body["id"]))


def test_duplicates_endpoint(client, world):
    dup = make_duplicate(client, world)
    response = get(client, world.kader_a1, f"/{world.child_a1.id}/duplicates")
    assert response.status_code == 200
    [candidate] = response.json["candidates"]
    assert candidate["id"] == str(dup.id) and candidate["name"] == "Achmad Fauzi"
    assert {"same_birth_date", "same_mother_name", "similar_name"} <= set(candidate["reasons"])
    assert 85 <= candidate["score"] <= 100


def test_duplicates_by_nik(client, world):
    a = post(client, world.kader_a1, body=new_child(world.posyandu_a1, nik=GIRL_NIK)).json["id"]
    b = post(client, world.kader_a1, body=new_child(world.posyandu_a1, nik=GIRL_NIK, name="Sri Wahyuni",
                                                    mother_name="Lastri")).json["id"]
    [candidate] = get(client, world.kader_a1, f"/{a}/duplicates").json["candidates"]
    assert candidate["id"] == b and candidate["reasons"] == ["same_nik"]


@pytest.mark.parametrize("user_name", ["kader_a2", "kader_b1", "staff_b", "dinkes_lamongan"])
def test_duplicates_outside_scope_is_404(client, world, user_name):
    assert_problem(get(client, getattr(world, user_name), f"/{world.child_a1.id}/duplicates"), 404)


def test_parent_cannot_list_duplicates(client, world):
    assert_problem(get(client, world.parent_1, f"/{world.child_a1.id}/duplicates"), 403)


def merge(client, user, keep_id, duplicate_id):
    return post(client, user, f"/{keep_id}/merge", {"duplicate_id": str(duplicate_id)})


def test_merge_moves_everything_to_the_kept_record(client, world, monkeypatch):
    dup = make_duplicate(client, world, nik="3525011503240004", birth_weight_kg=3.2)
    keep = world.child_a1
    m_keep = add_measurement(keep, date(2024, 4, 15), 4.6)
    m_dup1 = add_measurement(dup, date(2024, 5, 15), 5.5)
    m_dup2 = add_measurement(dup, date(2024, 6, 15), 6.2)
    hb0_keep = Immunization(id=uuid.uuid4(), child_id=keep.id, posyandu_id=keep.posyandu_id, dose_code="HB0",
                            given_on=date(2024, 3, 15))
    hb0_dup = Immunization(id=uuid.uuid4(), child_id=dup.id, posyandu_id=dup.posyandu_id, dose_code="HB0",
                           given_on=date(2024, 3, 15))
    bcg_dup = Immunization(id=uuid.uuid4(), child_id=dup.id, posyandu_id=dup.posyandu_id, dose_code="BCG",
                           given_on=date(2024, 4, 15))
    db.session.add_all([hb0_keep, hb0_dup, bcg_dup])
    db.session.flush()
    from posyandu.measurements import operations as m_ops
    calls = []
    real = m_ops.recompute_child_trend
    monkeypatch.setattr(m_ops, "recompute_child_trend", lambda session, child_id: calls.append(child_id)
                        or real(session, child_id))

    response = merge(client, world.staff_a, keep.id, dup.id)
    assert response.status_code == 200, response.json
    assert response.json["id"] == str(keep.id) and response.json["version"] == 2
    # gaps filled from the duplicate, nothing overwritten
    assert response.json["nik_masked"] == "3525********0004" and response.json["birth_weight_kg"] == 3.2
    assert response.json["name"] == "Ahmad Fauzi"
    assert {g["phone"] for g in response.json["guardians"]} == {"+6281311111111", "+6281255550001"}
    assert calls == [keep.id]

    children = {m.id: m.child_id for m in db.session.scalars(sa.select(Measurement))}
    assert children[m_keep.id] == children[m_dup1.id] == children[m_dup2.id] == keep.id
    db.session.expire_all()
    assert db.session.get(Measurement, m_dup1.id).version == 2
    assert db.session.get(Immunization, bcg_dup.id).child_id == keep.id
    assert db.session.get(Immunization, hb0_dup.id).deleted_at is not None     # the kept child has HB0
    duplicate = db.session.get(Child, dup.id)
    assert (duplicate.status, duplicate.closed_reason, duplicate.merged_into_id, duplicate.version) == \
        ("closed", "merged", keep.id, 2)
    assert db.session.scalars(sa.select(ChildGuardian).where(ChildGuardian.child_id == dup.id)).all() == []

    a1 = world.posyandu_a1.id
    assert changes_for(dup.id)[-1] == ("child", a1, "delete")
    assert changes_for(keep.id) == [("child", a1, "upsert")]
    assert changes_for(m_dup1.id) == [("measurement", a1, "upsert")]
    assert changes_for(hb0_dup.id)[-1] == ("immunization", a1, "delete")
    [event] = audit_events(keep.id, "merge")
    assert event.changes["merged_from"] == [None, str(dup.id)] and event.changes["records_moved"] == [None, 3]
    assert event.changes["nik"] == [None, "***"]
    assert audit_events(dup.id, "merged_into")

    # the merged record cannot be reopened, edited or merged elsewhere; a retried merge is a no-op
    assert_problem(post(client, world.staff_a, f"/{dup.id}/reopen", {}), 409)
    again = merge(client, world.staff_a, keep.id, dup.id)
    assert again.status_code == 200 and again.json["version"] == 2


def test_merge_across_posyandu_sends_tombstones_to_the_old_one(client, world):
    dup = world.child_a2
    m = add_measurement(dup, date(2024, 1, 1), 8.0)
    response = merge(client, world.staff_a, world.child_a1.id, dup.id)
    assert response.status_code == 200
    assert changes_for(m.id) == [("measurement", world.posyandu_a2.id, "delete"),
                                 ("measurement", world.posyandu_a1.id, "upsert")]


def test_parent_of_the_duplicate_sees_the_kept_child(client, world):
    dup = make_duplicate(client, world, guardians=[{"phone": "+6281322222222"}])
    assert merge(client, world.staff_a, world.child_a1.id, dup.id).status_code == 200
    assert get(client, world.parent_2, f"/{world.child_a1.id}").status_code == 200
    assert_problem(get(client, world.parent_2, f"/{dup.id}"), 404)


def test_kader_cannot_merge(client, world):
    dup = make_duplicate(client, world)
    assert_problem(merge(client, world.kader_a1, world.child_a1.id, dup.id), 403)
    assert db.session.get(Child, dup.id).status == "active"


def test_parent_cannot_merge(client, world):
    assert_problem(merge(client, world.parent_1, world.child_a1.id, world.child_a2.id), 403)


@pytest.mark.parametrize("user_name", ["staff_b", "staff_c", "dinkes_lamongan"])
def test_merge_outside_scope_is_404(client, world, user_name, ):
    dup = make_duplicate(client, world)
    assert_problem(merge(client, getattr(world, user_name), world.child_a1.id, dup.id), 404)
    assert db.session.get(Child, dup.id).status == "active"


def test_merge_with_a_duplicate_outside_scope_is_404(client, world):
    assert_problem(merge(client, world.staff_a, world.child_a1.id, world.child_b1.id), 404, "duplicate_id")
    assert db.session.get(Child, world.child_b1.id).status == "active"


@pytest.mark.parametrize("body, field", [({}, "duplicate_id"), ({"duplicate_id": "nope"}, "duplicate_id")])
def test_bad_merge_is_422(client, world, body, field):
    assert_problem(post(client, world.staff_a, f"/{world.child_a1.id}/merge", body), 422, field)


def test_merge_into_itself_is_422(client, world):
    assert_problem(merge(client, world.staff_a, world.child_a1.id, world.child_a1.id), 422, "duplicate_id")
    assert db.session.get(Child, world.child_a1.id).version == 1
