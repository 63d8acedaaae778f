"""GET /children, GET /children/{id}, POST /children/search: scope, audiences, reveal, filters."""
from __future__ import annotations


import pytest


from .helpers import (GIRL_NIK, GIRL_NIK_MASKED, KK, MOTHER_NIK, all_audit_text, assert_problem, audit_events,
                      get, new_child, post)

OUTSIDERS_OF_A1 = ["kader_a2", "kader_b1", "kader_c1", "staff_b", "staff_c", "dinkes_lamongan", "parent_2"]
INSIDERS_OF_A1 = ["kader_a1", "staff_a", "dinkes_gresik", "admin", "parent_1"]


@pytest.mark.parametrize("user_name", OUTSIDERS_OF_A1)
def test_get_outside_scope_is_404(client, world, user_name):
    assert_problem(get(client, getattr(world, user_name), f"/{world.child_a1.id}"), 404)


@pytest.mark.parametrize("user_name", INSIDERS_OF_A1)
def test_get_in_scope(client, world, user_name):
    response = get(client, getattr(world, user_name), f"/{world.child_a1.id}")
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Ahmad Fauzi" and response.json["version"] == 1


def test_parent_view_has_no_identifiers_phones_or_address(client, world):
    response = get(client, world.parent_1, f"/{world.child_a1.id}")
    assert set(response.json) == {"id", "posyandu_id", "name", "sex", "birth_date", "birth_weight_kg",
                                  "birth_length_cm", "birth_order", "mother_name", "father_name", "has_kia_book",
                                  "status", "closed_reason", "version"}


def test_get_unknown_id_is_404(client, world):
    assert_problem(get(client, world.admin, "/00000000-0000-4000-8000-000000000000"), 404)


def _child_with_identifiers(client, world):
    body = new_child(world.posyandu_a1, nik=GIRL_NIK, mother_nik=MOTHER_NIK, kk_number=KK)
    assert post(client, world.kader_a1, body=body).status_code == 201
    return body["id"]


def test_staff_see_masked_identifiers_by_default(client, world):
    child_id = _child_with_identifiers(client, world)
    for user in (world.kader_a1, world.staff_a, world.admin):
        response = get(client, user, f"/{child_id}")
        assert response.json["nik_masked"] == GIRL_NIK_MASKED
        assert "nik" not in response.json and GIRL_NIK not in response.get_data(as_text=True)


@pytest.mark.parametrize("user_name", ["staff_a", "dinkes_gresik", "admin"])
def test_supervisors_can_reveal_identifiers_and_it_is_audited(client, world, user_name):
    child_id = _child_with_identifiers(client, world)
    response = get(client, getattr(world, user_name), f"/{child_id}", reveal="nik")
    assert response.status_code == 200
    assert (response.json["nik"], response.json["mother_nik"], response.json["kk_number"]) == (GIRL_NIK, MOTHER_NIK, KK)
    [event] = audit_events(child_id, "reveal_identifiers")
    assert event.user_id == getattr(world, user_name).id
    assert event.changes == {"revealed": [None, ["kk_number", "mother_nik", "nik"]]}
    assert GIRL_NIK not in all_audit_text()


@pytest.mark.parametrize("user_name, status", [("kader_a1", 403), ("parent_1", 403), ("staff_b", 404),
                                               ("dinkes_lamongan", 404)])
def test_reveal_refused(client, world, user_name, status):
    response = get(client, getattr(world, user_name), f"/{world.child_a1.id}", reveal="nik")
    assert_problem(response, status)
    assert audit_events(world.child_a1.id, "reveal_identifiers") == []


def test_reveal_bad_value_is_422(client, world):
    assert_problem(get(client, world.staff_a, f"/{world.child_a1.id}", reveal="everything"), 422, "reveal")


def ids(response):
    return {item["id"] for item in response.json["items"]}


@pytest.mark.parametrize("user_name, expected", [
    ("kader_a1", {"child_a1"}), ("kader_a2", {"child_a2"}), ("staff_a", {"child_a1", "child_a2"}),
    ("staff_b", {"child_b1"}), ("dinkes_gresik", {"child_a1", "child_a2", "child_b1"}),
    ("dinkes_lamongan", {"child_c1"}), ("admin", {"child_a1", "child_a2", "child_b1", "child_c1"}),
    ("parent_1", {"child_a1"}), ("parent_2", {"child_b1"}),
])
def test_list_is_scoped(client, world, user_name, expected):
    response = get(client, getattr(world, user_name))
    assert response.status_code == 200
    assert ids(response) == {str(getattr(world, name).id) for name in expected}


def test_list_for_parents_is_parent_shaped(client, world):
    [item] = get(client, world.parent_1).json["items"]
    assert "guardians" not in item and "nik_masked" not in item and "address" not in item


def test_list_filters(client, world, monkeypatch):
    # fixed "today" for the age filter: 2025-03-15 → child_a1 (born 2024-03-15) is 12 months old,
    # child_a2 (2023-07-01) 20 months, child_b1 (2022-01-20) 37 months.
    from posyandu.children import operations
    from datetime import datetime, timezone
    monkeypatch.setattr(operations, "utcnow", lambda: datetime(2025, 3, 15, 12, tzinfo=timezone.utc))
    user = world.dinkes_gresik
    a1, a2, b1 = (str(world.child_a1.id), str(world.child_a2.id), str(world.child_b1.id))
    assert ids(get(client, user, sex=2)) == {a2}
    assert ids(get(client, user, posyandu_id=world.posyandu_b1.id)) == {b1}
    assert ids(get(client, user, age_min_months=12, age_max_months=12)) == {a1}
    assert ids(get(client, user, age_min_months=13, age_max_months=36)) == {a2}
    assert ids(get(client, user, age_min_months=37)) == {b1}
    assert ids(get(client, user, age_max_months=11)) == set()
    assert ids(get(client, user, q="fauzi")) == {a1}
    assert ids(get(client, user, q="Putri Ayu")) == {a2}
    assert ids(get(client, user, has_nik="true")) == set()
    assert ids(get(client, user, has_nik="false")) == {a1, a2, b1}


def test_list_status_filter(client, world):
    post(client, world.kader_a1, f"/{world.child_a1.id}/close", {"reason": "moved_away"})
    assert ids(get(client, world.kader_a1)) == set()
    assert ids(get(client, world.kader_a1, status="closed")) == {str(world.child_a1.id)}
    assert ids(get(client, world.kader_a1, status="all")) == {str(world.child_a1.id)}


def test_list_cursor_pagination_visits_every_child_once(client, world):
    names = ["Bagus", "Citra", "Dimas", "Eka", "Fajar"]
    for name in names:
        assert post(client, world.kader_a1, body=new_child(world.posyandu_a1, name=name)).status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = get(client, world.kader_a1, **params)
        assert response.status_code == 200
        seen += [item["name"] for item in response.json["items"]]
        cursor, pages = response.json["next_cursor"], pages + 1
        if not cursor:
            break
    assert seen == sorted(names + ["Ahmad Fauzi"]) and pages == 3


def test_list_is_ordered_by_the_name_as_written_case_insensitive(client, world):
    """Not by the spelling-normalised search key ("Zidan" used to sort as "sidan", between
    Satria and Siti; "Chandra" as "khandra"); pages stay gap-free on SQLite and PostgreSQL."""
    names = ["Zidan", "Satria", "Siti", "chandra", "Citra", "ayu", "Ayu Lestari", "Élsa", "Dewi", "Bima"]
    for name in names:
        assert post(client, world.kader_a1, body=new_child(world.posyandu_a1, name=name)).status_code == 201
    expected = ["Ahmad Fauzi", "ayu", "Ayu Lestari", "Bima", "chandra", "Citra", "Dewi", "Élsa", "Satria", "Siti",
                "Zidan"]
    whole = get(client, world.kader_a1, limit=50).json["items"]
    assert [item["name"] for item in whole] == expected
    seen, cursor = [], None
    while True:
        response = get(client, world.kader_a1, **({"limit": 3} | ({"cursor": cursor} if cursor else {})))
        assert response.status_code == 200, response.json
        seen += [item["name"] for item in response.json["items"]]
        cursor = response.json["next_cursor"]
        if not cursor:
            break
    assert seen == expected


@pytest.mark.parametrize("params, field", [
    ({"age_min_months": 24, "age_max_months": 12}, "age_max_months"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"status": "deleted"}, "status"),
    ({"limit": 0}, "limit"),
])
def test_list_bad_input_is_422(client, world, params, field):
    assert_problem(get(client, world.kader_a1, **params), 422, field)


def test_search_by_name_tolerates_spelling(client, world):
    post(client, world.kader_a1, body=new_child(world.posyandu_a1, name="Siti Nurhaliza"))
    for query in ("Achmad Fausi", "ahmad", "Fauzi", "Ahmat Fauzy"):
        response = post(client, world.kader_a1, "/search", {"name": query})
        assert response.status_code == 200, response.json
        names = [item["name"] for item in response.json["items"]]
        assert names and names[0] == "Ahmad Fauzi", (query, names)
        assert response.json["items"][0]["score"] >= 70


def test_search_with_birth_date_window(client, world):
    response = post(client, world.kader_a1, "/search", {"name": "Achmad Fauzi", "birth_date": "2024-03-20"})
    assert [i["name"] for i in response.json["items"]] == ["Ahmad Fauzi"]
    response = post(client, world.kader_a1, "/search", {"name": "Achmad Fauzi", "birth_date": "2023-01-01"})
    assert response.json["items"] == []


def test_search_is_scoped(client, world):
    for user in (world.kader_b1, world.staff_b, world.dinkes_lamongan):
        response = post(client, user, "/search", {"name": "Ahmad Fauzi"})
        assert str(world.child_a1.id) not in ids(response)


def test_search_by_nik_is_exact(client, world):
    child_id = _child_with_identifiers(client, world)
    response = post(client, world.kader_a1, "/search", {"nik": "3525-0155-0324-0001"})
    assert ids(response) == {child_id}
    response = post(client, world.kader_a1, "/search", {"mother_nik": MOTHER_NIK})
    assert ids(response) == {child_id}
    assert ids(post(client, world.kader_a1, "/search", {"nik": "3525015503240002"})) == set()
    assert ids(post(client, world.kader_b1, "/search", {"nik": GIRL_NIK})) == set()
    assert GIRL_NIK not in response.get_data(as_text=True)


@pytest.mark.parametrize("body, field", [({}, "name"), ({"nik": "12345"}, "nik"), ({"name": "x", "limit": 99}, "limit")])
def test_search_bad_input(client, world, body, field):
    assert_problem(post(client, world.kader_a1, "/search", body), 422, field)


def test_parent_cannot_search(client, world):
    assert_problem(post(client, world.parent_1, "/search", {"name": "Ahmad"}), 403)
