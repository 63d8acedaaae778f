"""Who may see and change measurements: out of scope is 404 on every endpoint; parents read only."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.measurements.conftest import counts

OUTSIDERS = ["kader_a2", "staff_b", "dinkes_lamongan", "parent_2"]  # none of them covers child_a1


@pytest.fixture
def visit(post_visit):
    return post_visit(date(2024, 9, 15), 7.5).json


@pytest.mark.parametrize("who", ["kader_a2", "staff_b", "dinkes_lamongan"])
def test_outsider_cannot_record(client, h, world, who):
    before = counts()
    response = client.post("/api/v1/measurements", headers=h(getattr(world, who)), json={
        "id": str(uuid.uuid4()), "child_id": str(world.child_a1.id), "measured_on": "2024-09-15", "weight_kg": 7.5})
    assert response.status_code == 404
    assert counts() == before


@pytest.mark.parametrize("who", ["kader_a1", "staff_a", "dinkes_gresik", "admin"])
def test_insiders_can_record(client, h, world, who, post_visit):
    post_visit(date(2024, 9, 15), 7.5, user=getattr(world, who))


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsider_cannot_read_edit_or_delete(client, h, world, visit, who):
    headers = h(getattr(world, who))
    mid = visit["id"]
    assert client.get(f"/api/v1/measurements/{mid}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/children/{world.child_a1.id}/growth", headers=headers).status_code == 404
    before = counts()
    if who != "parent_2":
        assert client.patch(f"/api/v1/measurements/{mid}", headers=headers, json={"weight_kg": 8.0}).status_code == 404
        assert client.delete(f"/api/v1/measurements/{mid}", headers=headers).status_code == 404
        listing = client.get(f"/api/v1/measurements?posyandu_id={world.posyandu_a1.id}&month=2024-09",
                             headers=headers)
        assert listing.status_code == 404
    assert counts() == before


def test_parent_reads_own_child_but_cannot_write(client, h, world, visit):
    headers = h(world.parent_1)
    growth = client.get(f"/api/v1/children/{world.child_a1.id}/growth", headers=headers)
    assert growth.status_code == 200
    [m] = growth.json["measurements"]
    assert m["id"] == visit["id"] and m["assessment"]["trend"]["status"] == "B"
    assert "notes" not in m and "created_by_id" not in m  # the parent view
    one = client.get(f"/api/v1/measurements/{visit['id']}", headers=headers)
    assert one.status_code == 200 and "version" not in one.json
    # another family's child
    assert client.get(f"/api/v1/children/{world.child_b1.id}/growth", headers=headers).status_code == 404
    before = counts()
    assert client.post("/api/v1/measurements", headers=headers, json={
        "id": str(uuid.uuid4()), "child_id": str(world.child_a1.id), "measured_on": "2024-10-15",
        "weight_kg": 7.9}).status_code == 403
    assert client.patch(f"/api/v1/measurements/{visit['id']}", headers=headers,
                        json={"weight_kg": 8.0}).status_code == 403
    assert client.delete(f"/api/v1/measurements/{visit['id']}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/measurements?posyandu_id={world.posyandu_a1.id}&month=2024-09",
                      headers=headers).status_code == 403
    assert counts() == before


def test_unauthenticated_is_401(client, world, visit):
    assert client.get(f"/api/v1/measurements/{visit['id']}").status_code == 401
    assert client.get(f"/api/v1/children/{world.child_a1.id}/growth").status_code == 401


def test_list_pages_and_filters(client, h, world, post_visit):
    other_children = []
    from tests import factories
    from posyandu.extensions import db
    for i in range(4):
        other_children.append(factories.child(world.posyandu_a1, f"Anak {i}", birth_date=date(2024, 3, 15)))
    db.session.commit()
    ids = set()
    for i, child in enumerate(other_children):
        ids.add(post_visit(date(2024, 9, 10 + i), 7.0, child=child).json["id"])
    post_visit(date(2024, 8, 30), 7.0)                               # other month
    post_visit(date(2024, 9, 12), 7.0, child=world.child_a2, user=world.kader_a2)  # other posyandu
    headers = h(world.staff_a)
    seen, cursor = [], None
    while True:
        url = f"/api/v1/measurements?posyandu_id={world.posyandu_a1.id}&month=2024-09&limit=3"
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert response.status_code == 200, response.json
        seen += [m["id"] for m in response.json["items"]]
        cursor = response.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 4 and set(seen) == ids
    filtered = client.get(f"/api/v1/measurements?posyandu_id={world.posyandu_a1.id}&month=2024-09&trend_status=N",
                          headers=headers)
    assert filtered.json["items"] == []  # all four are first weighings (B)
    bad = client.get(f"/api/v1/measurements?posyandu_id={world.posyandu_a1.id}&month=2024-13", headers=headers)
    assert bad.status_code == 422 and "month" in bad.json["errors"]
    bad_cursor = client.get(f"/api/v1/measurements?posyandu_id={world.posyandu_a1.id}&month=2024-09&cursor=zzz",
                            headers=headers)
    assert bad_cursor.status_code == 422 and "cursor" in bad_cursor.json["errors"]


def test_reusing_another_areas_measurement_id_shows_nothing_of_it(client, h, world, visit):
    """A kader of another posyandu whose phone (or a forger) sends the id of child_a1's visit
    for her own child: 409, the id is taken, and neither the POST nor a sync push shows the
    other area's row."""
    before = counts()
    body = {"id": visit["id"], "child_id": str(world.child_b1.id), "measured_on": "2024-09-15", "weight_kg": 9.0}
    response = client.post("/api/v1/measurements", headers=h(world.kader_b1), json=body)
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert "server" not in response.json and "7.5" not in response.get_data(as_text=True)
    data = {k: v for k, v in body.items() if k != "id"}
    pushed = client.post("/api/v1/sync/push", headers=h(world.kader_b1), json={"records": [
        {"entity": "measurement", "id": visit["id"], "base_version": None,
         "client_updated_at": "2024-09-15T09:00:00+07:00", "data": data}]})
    assert pushed.status_code == 200, pushed.json
    receipt = pushed.json["receipts"][0]
    assert receipt["status"] == "conflict" and "record" not in receipt, receipt
    assert counts() == before


def test_reusing_an_id_within_the_area_still_returns_the_server_copy(client, h, world, visit):
    from tests import factories
    sibling = factories.child(world.posyandu_a1, "Adik", birth_date=date(2024, 3, 15))
    response = client.post("/api/v1/measurements", headers=h(world.kader_a1), json={
        "id": visit["id"], "child_id": str(sibling.id), "measured_on": "2024-09-15", "weight_kg": 9.0})
    assert response.status_code == 409
    assert response.json["server"]["child_id"] == str(world.child_a1.id)
