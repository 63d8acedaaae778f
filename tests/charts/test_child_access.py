"""Who may fetch a child's charts (staff in scope and the child's own parents; everyone else 404),
bad input (422 naming the field), ETag / If-None-Match (304) and the in-process cache."""
from __future__ import annotations

from datetime import date

import pytest

from posyandu.charts import cache

INSIDERS = ["kader_a1", "staff_a", "dinkes_gresik", "admin", "parent_1"]
# kader of another posyandu, staff of another puskesmas, dinkes of another kabupaten, another family
OUTSIDERS = ["kader_a2", "staff_b", "dinkes_lamongan", "parent_2", "kader_c1", "staff_c"]


def url(child, indicator="weight-for-age", fmt="svg"):
    return f"/api/v1/children/{child.id}/charts/{indicator}.{fmt}"


@pytest.mark.parametrize("who", INSIDERS)
def test_staff_in_scope_and_own_parent_get_the_charts(client, h, world, who):
    headers = h(getattr(world, who))
    response = client.get(url(world.child_a1, "length-for-age", "svg"), headers=headers)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert client.get(f"/api/v1/children/{world.child_a1.id}/charts", headers=headers).status_code == 200


def test_every_indicator_in_both_formats(client, h, world):
    headers = h(world.kader_a1)
    for indicator in ("weight-for-age", "length-for-age", "weight-for-length", "head-circumference-for-age"):
        for fmt in ("svg", "png"):
            response = client.get(url(world.child_a1, indicator, fmt), headers=headers)
            assert response.status_code == 200, (indicator, fmt)
            assert response.mimetype == {"svg": "image/svg+xml", "png": "image/png"}[fmt]
            assert response.headers["Cache-Control"] == "private, no-cache"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "script-src" not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("who", OUTSIDERS)
def test_everyone_else_gets_404(client, h, world, who):
    headers = h(getattr(world, who))
    for fmt in ("svg", "png"):
        response = client.get(url(world.child_a1, fmt=fmt), headers=headers)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/children/{world.child_a1.id}/charts", headers=headers).status_code == 404
    # the same answer as for a child that does not exist
    assert client.get("/api/v1/children/00000000-0000-0000-0000-000000000000/charts/weight-for-age.svg",
                      headers=headers).status_code == 404


def test_unauthenticated_is_401(client, world):
    assert client.get(url(world.child_a1)).status_code == 401


def test_a_moved_child_follows_her_posyandu(client, h, world):
    from posyandu.extensions import db
    world.child_a1.posyandu_id = world.posyandu_b1.id
    db.session.commit()  # releases the test's SAVEPOINT: a 404 below rolls back to here
    assert client.get(url(world.child_a1), headers=h(world.kader_a1)).status_code == 404
    assert client.get(url(world.child_a1), headers=h(world.kader_b1)).status_code == 200
    assert client.get(url(world.child_a1), headers=h(world.parent_1)).status_code == 200


@pytest.mark.parametrize("path,query,field", [
    ("weight-for-weight.svg", {}, "indicator"),
    ("weight-for-age.gif", {}, "format"),
    ("weight-for-age.svg", {"view": "0-12"}, "view"),
    ("weight-for-length.svg", {"view": "0-60"}, "view"),
    ("weight-for-age.svg", {"lang": "fr"}, "lang"),
])
def test_bad_input_is_422_naming_the_field(client, h, world, path, query, field):
    response = client.get(f"/api/v1/children/{world.child_a1.id}/charts/{path}", query_string=query,
                          headers=h(world.kader_a1))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


def test_etag_and_if_none_match(client, h, world, visit):
    headers = h(world.kader_a1)
    first = client.get(url(world.child_a1), headers=headers)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    again = client.get(url(world.child_a1), headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    # another caller in scope sees the same picture (same ETag); another language another one
    assert client.get(url(world.child_a1), headers=h(world.staff_a)).headers["ETag"] == etag
    assert client.get(url(world.child_a1), query_string={"lang": "en"}, headers=headers).headers["ETag"] != etag
    # PNG and SVG differ
    assert client.get(url(world.child_a1, fmt="png"), headers=headers).headers["ETag"] != etag
    # a new measurement changes the picture: the old ETag no longer matches
    visit(world.child_a1, date(2024, 5, 15), weight_kg=5.6)
    changed = client.get(url(world.child_a1), headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # an edit of a stored value too
    record = visit(world.child_a1, date(2024, 6, 15), weight_kg=6.4)
    before = client.get(url(world.child_a1), headers=headers).headers["ETag"]
    patched = client.patch(f"/api/v1/measurements/{record['id']}", json={"weight_kg": 6.5}, headers=headers)
    assert patched.status_code == 200
    assert client.get(url(world.child_a1), headers=headers).headers["ETag"] != before
    # and a delete
    client.delete(f"/api/v1/measurements/{record['id']}", headers=headers)
    assert client.get(url(world.child_a1), headers=headers).headers["ETag"] not in (before, etag)


def test_out_of_scope_never_answers_304(client, h, world):
    etag = client.get(url(world.child_a1), headers=h(world.kader_a1)).headers["ETag"]
    response = client.get(url(world.child_a1), headers={**h(world.kader_a2), "If-None-Match": etag})
    assert response.status_code == 404


def test_repeated_requests_are_served_from_the_cache(client, h, world):
    headers = h(world.kader_a1)
    first = client.get(url(world.child_a1, fmt="png"), headers=headers)
    hits = cache.CHARTS.hits
    second = client.get(url(world.child_a1, fmt="png"), headers=headers)
    assert second.data == first.data
    assert cache.CHARTS.hits == hits + 1


def test_same_data_same_bytes(client, h, world):
    """The SVG is deterministic (no date, stable ids): the ETag really names the bytes."""
    headers = h(world.kader_a1)
    first = client.get(url(world.child_a1), headers=headers).data
    cache.CHARTS.clear()
    assert client.get(url(world.child_a1), headers=headers).data == first


def test_chart_index(client, h, world, visit):
    visit(world.child_a1, date(2024, 5, 15), weight_kg=5.6, length_cm=58.0, measure_method="lying")
    visit(world.child_a1, date(2024, 6, 15), weight_kg=25.0)  # implausible
    response = client.get(f"/api/v1/children/{world.child_a1.id}/charts", headers=h(world.parent_1))
    assert response.status_code == 200
    charts = {c["indicator"]: c for c in response.json["charts"]}
    assert set(charts) == {"weight-for-age", "length-for-age", "weight-for-length"}  # no head circumference yet
    assert charts["weight-for-age"]["points"] == 1 and charts["weight-for-age"]["flagged"] == 1
    assert charts["length-for-age"]["points"] == 1 and charts["weight-for-age"]["view"] == "0-24"
    assert charts["weight-for-age"]["svg"] == f"/api/v1/children/{world.child_a1.id}/charts/weight-for-age.svg"
    visit(world.child_a1, date(2024, 7, 15), weight_kg=7.0, head_circumference_cm=42.0)
    response = client.get(f"/api/v1/children/{world.child_a1.id}/charts", headers=h(world.parent_1))
    assert "head-circumference-for-age" in {c["indicator"] for c in response.json["charts"]}


def test_documented_in_openapi(client):
    spec = client.get("/api/v1/openapi.json").json
    path = spec["paths"]["/api/v1/children/{child_id}/charts/{indicator}.{fmt}"]["get"]
    assert "image/svg+xml" in path["responses"]["200"]["content"]
    assert "304" in path["responses"]
