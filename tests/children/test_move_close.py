"""POST /children/{id}/move, /transfers, /close, /reopen."""
from __future__ import annotations

from datetime import date

import pytest

from posyandu.children.models import Child, ChildTransfer
from posyandu.regions.codes import dotted
from posyandu.extensions import db
from tests import factories

from .helpers import add_measurement, assert_problem, audit_events, changes_for, get, post


def move(client, user, child_id, **body):
    return post(client, user, f"/{child_id}/move", body)


def test_puskesmas_moves_within_its_area(client, world):
    m = add_measurement(world.child_a1, date(2024, 9, 10), 7.9)
    response = move(client, world.staff_a, world.child_a1.id, posyandu_id=world.posyandu_a2.id,
                    reason="pindah rumah", moved_on="2025-01-05")
    assert response.status_code == 200, response.json
    assert response.json["posyandu_id"] == world.posyandu_a2.id
    assert response.json["desa_code"] == dotted(world.posyandu_a2.desa_code) and response.json["version"] == 2
    [transfer] = db.session.query(ChildTransfer).filter_by(child_id=world.child_a1.id).all()
    assert (transfer.from_posyandu_id, transfer.to_posyandu_id, transfer.moved_on, transfer.reason) == \
        (world.posyandu_a1.id, world.posyandu_a2.id, date(2025, 1, 5), "pindah rumah")
    a1, a2 = world.posyandu_a1.id, world.posyandu_a2.id
    assert changes_for(world.child_a1.id) == [("child", a1, "delete"), ("child", a2, "upsert")]
    assert changes_for(m.id) == [("measurement", a1, "delete"), ("measurement", a2, "upsert")]
    assert {e.posyandu_id for e in audit_events(world.child_a1.id)} == {a1, a2}
    # the kader of A1 lost it, the kader of A2 has it
    assert get(client, world.kader_a1, f"/{world.child_a1.id}").status_code == 404
    assert get(client, world.kader_a2, f"/{world.child_a1.id}").status_code == 200
    history = get(client, world.staff_a, f"/{world.child_a1.id}/transfers").json["items"]
    assert [(h["from_posyandu_id"], h["to_posyandu_id"]) for h in history] == [(a1, a2)]


def test_kader_needs_both_posyandu(client, world):
    assert_problem(move(client, world.kader_a1, world.child_a1.id, posyandu_id=world.posyandu_a2.id), 404,
                   "posyandu_id")
    kader = factories.user("kader", "kader.dua", posyandu_rows=[world.posyandu_a1, world.posyandu_a2])
    assert move(client, kader, world.child_a1.id, posyandu_id=world.posyandu_a2.id).status_code == 200


def test_puskesmas_may_hand_over_within_its_kabupaten_only(client, world):
    assert_problem(move(client, world.staff_a, world.child_a1.id, posyandu_id=world.posyandu_c1.id), 404,
                   "posyandu_id")
    response = move(client, world.staff_a, world.child_a1.id, posyandu_id=world.posyandu_b1.id)
    assert response.status_code == 200
    assert get(client, world.staff_a, f"/{world.child_a1.id}").status_code == 404
    assert get(client, world.staff_b, f"/{world.child_a1.id}").status_code == 200


def test_dinkes_cannot_move_across_kabupaten_admin_can(client, world):
    assert_problem(move(client, world.dinkes_gresik, world.child_a1.id, posyandu_id=world.posyandu_c1.id), 404)
    assert move(client, world.admin, world.child_a1.id, posyandu_id=world.posyandu_c1.id).status_code == 200


@pytest.mark.parametrize("user_name", ["kader_a2", "kader_b1", "staff_b", "staff_c", "dinkes_lamongan"])
def test_move_of_a_child_outside_scope_is_404(client, world, user_name):
    user = getattr(world, user_name)
    assert_problem(move(client, user, world.child_a1.id, posyandu_id=world.posyandu_a2.id), 404)
    assert db.session.get(Child, world.child_a1.id).posyandu_id == world.posyandu_a1.id


def test_parent_cannot_move(client, world):
    assert_problem(move(client, world.parent_1, world.child_a1.id, posyandu_id=world.posyandu_a2.id), 403)


@pytest.mark.parametrize("body, field", [
    ({"posyandu_id": "A1"}, "posyandu_id"),
    ({"posyandu_id": None}, "posyandu_id"),
    ({"moved_on": "2999-01-01"}, "moved_on"),
    ({"moved_on": "2020-01-01"}, "moved_on"),           # before the birth date
    ({"desa_code": "123"}, "desa_code"),
])
def test_bad_move_is_422_and_changes_nothing(client, world, body, field):
    response = post(client, world.staff_a, f"/{world.child_a1.id}/move", {"posyandu_id": world.posyandu_a2.id, **body})
    assert_problem(response, 422, field)
    child = db.session.get(Child, world.child_a1.id)
    assert (child.posyandu_id, child.version) == (world.posyandu_a1.id, 1)
    assert db.session.query(ChildTransfer).count() == 0


def test_move_to_the_same_posyandu_is_422(client, world):
    assert_problem(move(client, world.staff_a, world.child_a1.id, posyandu_id=world.posyandu_a1.id), 422,
                   "posyandu_id")


def test_close_and_reopen(client, world):
    response = post(client, world.kader_a1, f"/{world.child_a1.id}/close", {"reason": "died", "closed_on": "2025-02-01"})
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["closed_reason"], response.json["closed_on"], response.json["version"]) \
        == ("closed", "died", "2025-02-01", 2)
    again = post(client, world.kader_a1, f"/{world.child_a1.id}/close", {"reason": "died", "closed_on": "2025-02-01"})
    assert again.status_code == 200 and again.json["version"] == 2               # a retry
    assert_problem(post(client, world.kader_a1, f"/{world.child_a1.id}/close", {"reason": "moved_away"}), 409)
    assert_problem(move(client, world.staff_a, world.child_a1.id, posyandu_id=world.posyandu_a2.id), 409)
    response = post(client, world.kader_a1, f"/{world.child_a1.id}/reopen", {})
    assert response.status_code == 200
    assert (response.json["status"], response.json["closed_reason"], response.json["version"]) == ("active", None, 3)
    assert [e.action for e in audit_events(world.child_a1.id)] == ["close", "reopen"]
    # close and reopen: one upsert each; the retry and the refused requests wrote nothing
    assert [op for _, _, op in changes_for(world.child_a1.id)] == ["upsert", "upsert"]


@pytest.mark.parametrize("body, field", [({"reason": "merged"}, "reason"), ({}, "reason"),
                                         ({"reason": "died", "closed_on": "2999-01-01"}, "closed_on")])
def test_bad_close_is_422(client, world, body, field):
    assert_problem(post(client, world.kader_a1, f"/{world.child_a1.id}/close", body), 422, field)
    assert db.session.get(Child, world.child_a1.id).status == "active"


@pytest.mark.parametrize("path", ["close", "reopen", "transfers"])
@pytest.mark.parametrize("user_name", ["kader_a2", "staff_b", "dinkes_lamongan"])
def test_close_reopen_transfers_outside_scope_are_404(client, world, path, user_name):
    user = getattr(world, user_name)
    if path == "transfers":
        response = get(client, user, f"/{world.child_a1.id}/transfers")
    else:
        response = post(client, user, f"/{world.child_a1.id}/{path}", {"reason": "died"} if path == "close" else {})
    assert_problem(response, 404)


@pytest.mark.parametrize("path", ["close", "reopen", "transfers"])
def test_parent_cannot_close_reopen_or_see_transfers(client, world, path):
    if path == "transfers":
        response = get(client, world.parent_1, f"/{world.child_a1.id}/transfers")
    else:
        response = post(client, world.parent_1, f"/{world.child_a1.id}/{path}", {"reason": "died"})
    assert_problem(response, 403)
