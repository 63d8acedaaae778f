"""The audit trail is readable by puskesmas staff (and dinkes, admin) for their area only."""
from __future__ import annotations

import uuid

from tests.factories import headers

NIK = "3525015503240001"  # girl born 15-03-2024, registered in Gresik (day 15 + 40)


def create_child(client, world):
    child_id = str(uuid.uuid4())
    response = client.post("/api/v1/children", headers=headers(world.kader_a1), json={
        "id": child_id, "posyandu_id": world.posyandu_a1.id, "name": "Aisyah Putri", "sex": 2,
        "birth_date": "2024-03-15", "nik": NIK, "mother_name": "Nur Hidayah"})
    assert response.status_code == 201, response.json
    patched = client.patch(f"/api/v1/children/{child_id}", headers=headers(world.kader_a1),
                           json={"name": "Aisyah Putri Ramadhani", "base_version": 1})
    assert patched.status_code == 200, patched.json
    return child_id


def events(client, user, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"/api/v1/audit?{query}", headers=headers(user))


def test_staff_of_the_area_read_who_changed_what(client, world):
    child_id = create_child(client, world)
    response = events(client, world.staff_a, child_id=child_id)
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert {e["action"] for e in items} >= {"create", "update"}
    update = next(e for e in items if e["action"] == "update")
    assert update["user_id"] == world.kader_a1.id
    assert update["changes"]["name"] == ["Aisyah Putri", "Aisyah Putri Ramadhani"]
    assert NIK not in response.get_data(as_text=True)  # identifiers never in clear
    for user in (world.dinkes_gresik, world.admin):
        assert {e["entity_id"] for e in events(client, user, child_id=child_id).json["items"]} == {child_id}


def test_other_areas_see_nothing_and_cadres_and_parents_are_refused(client, world):
    child_id = create_child(client, world)
    for user in (world.staff_b, world.staff_c, world.dinkes_lamongan):
        response = events(client, user, child_id=child_id)
        assert response.status_code == 200
        assert response.json["items"] == [], user.username
    for user in (world.kader_a1, world.parent_1):
        response = events(client, user)
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"


def test_cursor_pagination_and_bad_filters(client, world):
    create_child(client, world)
    first = events(client, world.staff_a, limit=1).json
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = events(client, world.staff_a, limit=1, before_id=first["next_cursor"]).json
    assert second["items"][0]["id"] < first["items"][0]["id"]
    bad = events(client, world.staff_a, entity="spaceship", limit=0)
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"entity", "limit"}
