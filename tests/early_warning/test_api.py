"""Early-warning endpoints: the list per area, the counts, one child; scope, bad input, paging.

Histories are stored measurement rows with hand-chosen z-scores; the thresholds are pinned to
``tests/early_warning/rules.py`` so what fires is worked out by hand (see each comment).
"""
from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from posyandu.auth.models import User
from posyandu.auth.scope import Scope
from posyandu.children.models import Child
from posyandu.core.growth import early_warning as ew
from posyandu.db import utcnow
from posyandu.early_warning import operations as ops
from posyandu.extensions import db
from posyandu.measurements.models import Measurement
from posyandu.reports.areas import parse_month, resolve_area
from tests import factories
from tests.early_warning.rules import EXPLICIT
from tests.querycount import statements_during

URL = "/api/v1/early-warnings"
MONTH = "2025-06"
RULES = ew.default_ews_rules().with_values(EXPLICIT)


@pytest.fixture(autouse=True)
def pinned_rules(monkeypatch):
    monkeypatch.setattr(ew, "default_ews_rules", lambda: RULES)


def add(child, on: date, *, haz=None, waz=None, whz=None, weight=None, flen=False, deleted=False) -> Measurement:
    category = None if haz is None or flen else (
        "tbu.severely_stunted" if haz < -3 else "tbu.stunted" if haz < -2 else "tbu.normal")
    row = Measurement(id=uuid.uuid4(), child_id=child.id, posyandu_id=child.posyandu_id, measured_on=on,
                      age_days=(on - child.birth_date).days, age_months=None, weight_kg=weight,
                      zlen=haz, flen=flen if haz is not None else None, zwei=waz, fwei=False if waz is not None else None,
                      zwfl=whz, fwfl=False if whz is not None else None, cat_tbu=category,
                      deleted_at=utcnow() if deleted else None, standard_version="test")
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def histories(world):
    """What is listed for 2025-06 under the pinned rules:

    - posyandu A1: child_a1 (born 2024-03-15): HAZ -0.9 -> -1.3 -> -1.9 (Feb, Apr, Jun) falls 1.0 SD
      in 4 months and ends below -1.5 (haz_decline + haz_near_line); WAZ -0.3 -> -1.2 crosses -1
      by 0.9 (weight_crossing). Bunga: 7.0, 7.0, 6.9 kg in Apr, May, Jun (weight_flat).
      Not listed: Citra (stunted, HAZ -2.3), Dodi (his falling HAZ -6.5 is flagged implausible),
      Eka (near the line but that measurement was deleted).
    - posyandu A2: child_a2 HAZ -1.8 (haz_near_line). B1: child_b1 HAZ -1.7. C1: child_c1 HAZ -1.8.
    """
    w = world
    add(w.child_a1, date(2025, 2, 11), haz=-0.9, waz=-0.3, weight=8.0)
    add(w.child_a1, date(2025, 4, 8), haz=-1.3, waz=-0.6, weight=8.1)
    w.a1_last = add(w.child_a1, date(2025, 6, 10), haz=-1.9, waz=-1.2, weight=8.1)
    w.bunga = factories.child(w.posyandu_a1, "Bunga Lestari", sex=2, birth_date=date(2024, 6, 1))
    for month, kg in ((4, 7.0), (5, 7.0), (6, 6.9)):
        add(w.bunga, date(2025, month, 10), weight=kg)
    w.citra = factories.child(w.posyandu_a1, "Citra Dewi", sex=2, birth_date=date(2024, 1, 5))
    add(w.citra, date(2025, 6, 10), haz=-2.3)
    w.dodi = factories.child(w.posyandu_a1, "Dodi", birth_date=date(2024, 2, 2))
    add(w.dodi, date(2025, 4, 8), haz=-1.0)
    add(w.dodi, date(2025, 6, 10), haz=-6.5, flen=True)
    w.eka = factories.child(w.posyandu_a1, "Eka", birth_date=date(2024, 2, 2))
    add(w.eka, date(2025, 6, 10), haz=-1.8, deleted=True)
    add(w.child_a2, date(2025, 6, 10), haz=-1.8)
    add(w.child_b1, date(2025, 6, 10), haz=-1.7)
    add(w.child_c1, date(2025, 6, 10), haz=-1.8)
    return w


def get(client, user, url=URL, **params):
    return client.get(url, query_string=params, headers=factories.headers(user))


def child_ids(body):
    return [item["child"]["id"] for item in body["items"]]


def test_kader_list_for_her_posyandu(client, histories):
    w = histories
    r = get(client, w.kader_a1, level="posyandu", code="PY-A1", month=MONTH)
    assert r.status_code == 200, r.json
    body = r.json
    assert body["area"] == {"level": "posyandu", "code": "PY-A1", "name": "Posyandu Melati"}
    assert body["month"] == MONTH and body["evaluated_through"] == "2025-06-30"
    assert body["rules_version"] == RULES.version
    # most rules fired first: child_a1 (3 rules), then Bunga (1)
    assert child_ids(body) == [str(w.child_a1.id), str(w.bunga.id)]
    assert body["children"] == 2
    assert body["by_rule"] == {"haz_decline": 1, "haz_near_line": 1, "weight_crossing": 1, "weight_flat": 1,
                               "gap_drop": 0}
    first = body["items"][0]
    assert first["child"] == {"id": str(w.child_a1.id), "name": "Ahmad Fauzi", "sex": 1, "birth_date": "2024-03-15",
                              "age_months": 15}
    assert first["posyandu"] == {"id": w.posyandu_a1.id, "code": "PY-A1", "name": "Posyandu Melati"}
    assert [(f["rule"], f["index"]) for f in first["flags"]] == [
        ("haz_decline", "haz"), ("haz_near_line", "haz"), ("weight_crossing", "waz")]
    decline = first["flags"][0]
    assert decline["values"]["from_z"] == -0.9 and decline["values"]["to_z"] == -1.9
    assert decline["message"] == decline["message_id"]  # the kader's account language is Indonesian
    assert decline["message_id"].startswith("PB/U turun dari -0,9 menjadi -1,9 dalam 4 bulan (3 pengukuran)")
    assert decline["message_en"].startswith("Length-for-age fell from -0.9 to -1.9 in 4 months (3 measurements)")
    assert decline["measured_on"] == "2025-06-10" and decline["advice"] == decline["advice_id"]
    assert first["flags"][2]["values"]["lines_crossed_z"] == [-1.0]
    assert first["last_measurement"]["id"] == str(w.a1_last.id)
    assert first["last_measurement"]["measured_on"] == "2025-06-10" and first["last_measurement"]["zlen"] == -1.9
    flat = body["items"][1]["flags"][0]
    assert flat["rule"] == "weight_flat" and flat["values"]["weights_kg"] == [7.0, 7.0, 6.9]
    assert body["next_cursor"] is None


def test_a_kader_gets_her_own_posyandu_by_default(client, histories):
    r = get(client, histories.kader_a1, month=MONTH)
    assert r.status_code == 200 and r.json["area"]["code"] == "PY-A1" and r.json["children"] == 2


def test_larger_areas_for_staff(client, histories):
    w = histories
    r = get(client, w.staff_a, level="puskesmas", code="P3525010101", month=MONTH)
    assert child_ids(r.json) == [str(w.child_a1.id), str(w.bunga.id), str(w.child_a2.id)]
    r = get(client, w.dinkes_gresik, level="kabupaten", code="35.25", month=MONTH)
    assert set(child_ids(r.json)) == {str(w.child_a1.id), str(w.bunga.id), str(w.child_a2.id), str(w.child_b1.id)}
    r = get(client, w.admin, level="kabupaten", code="3524", month=MONTH)
    assert child_ids(r.json) == [str(w.child_c1.id)]
    # an earlier month sees only the visits known then: April has a1's two first visits only
    r = get(client, w.staff_a, level="puskesmas", code="P3525010101", month="2025-04")
    assert child_ids(r.json) == []
    r = get(client, w.staff_a, level="puskesmas", code="P3525010101", month="2025-05")
    assert child_ids(r.json) == []  # Bunga's two weighings are not yet two intervals


@pytest.mark.parametrize("user,level,code", [
    ("kader_a1", "posyandu", "PY-A2"), ("kader_c1", "posyandu", "PY-A1"),
    ("staff_b", "puskesmas", "P3525010101"), ("staff_a", "posyandu", "PY-B1"),
    ("dinkes_lamongan", "kabupaten", "35.25"), ("dinkes_gresik", "posyandu", "PY-C1"),
])
def test_outside_the_scope_is_not_found(client, histories, user, level, code):
    for url in (URL, URL + "/counts"):
        r = get(client, getattr(histories, user), url, level=level, code=code, month=MONTH)
        assert r.status_code == 404, (url, r.json)
        assert r.headers["Content-Type"].startswith("application/problem+json")


def test_parents_have_no_area_lists(client, histories):
    for url in (URL, URL + "/counts"):
        r = get(client, histories.parent_1, url, level="posyandu", code="PY-A1", month=MONTH)
        assert r.status_code == 403


AREA = {"level": "posyandu", "code": "PY-A1"}


@pytest.mark.parametrize("params,field", [
    ({**AREA, "month": "2025-13"}, "month"), ({**AREA, "month": "2099-01"}, "month"),
    ({**AREA, "month": "juni"}, "month"), ({"level": "posyandu"}, "code"), ({"code": "PY-A1"}, "level"),
    ({"level": "rt", "code": "1"}, "level"), ({**AREA, "cursor": "not-a-cursor"}, "cursor"),
    ({**AREA, "rule": "stunted"}, "rule"), ({**AREA, "limit": 0}, "limit"),
])
def test_bad_input_is_422_naming_the_field(client, histories, params, field):
    r = get(client, histories.kader_a1, **params)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json
    assert r.headers["Content-Type"].startswith("application/problem+json")


def test_an_admin_must_name_the_area(client, histories):
    r = get(client, histories.admin, month=MONTH)
    assert r.status_code == 422 and "level" in r.json["errors"]
    r = get(client, histories.admin, URL + "/counts", month=MONTH)
    assert r.status_code == 422 and "level" in r.json["errors"]


def test_cursor_pages(client, histories):
    w = histories
    seen, cursor, pages = [], None, 0
    while True:
        params = {"level": "puskesmas", "code": "P3525010101", "month": MONTH, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        body = get(client, w.staff_a, **params).json
        seen += child_ids(body)
        pages += 1
        assert body["children"] == 3
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [str(w.child_a1.id), str(w.bunga.id), str(w.child_a2.id)]


def test_rule_filter(client, histories):
    body = get(client, histories.staff_a, level="puskesmas", code="P3525010101", month=MONTH,
               rule="weight_flat").json
    assert child_ids(body) == [str(histories.bunga.id)]
    assert body["children"] == 3  # the counts stay the area's


def test_english_for_an_english_account(client, histories):
    db.session.execute(sa.update(User).where(User.id == histories.staff_a.id).values(language="en"))
    item = get(client, histories.staff_a, level="posyandu", code="PY-A1", month=MONTH).json["items"][0]
    assert item["flags"][0]["message"] == item["flags"][0]["message_en"]
    assert item["flags"][0]["label"] == "Length/height-for-age falling"


def test_an_edit_changes_the_list_at_once(client, histories):
    w = histories
    r = client.delete(f"/api/v1/measurements/{w.a1_last.id}", headers=factories.headers(w.kader_a1))
    assert r.status_code == 204
    body = get(client, w.kader_a1, level="posyandu", code="PY-A1", month=MONTH).json
    # without June, a1's April visit is the latest: -0.9 -> -1.3 is a fall of 0.4 only, above -1.5
    assert child_ids(body) == [str(w.bunga.id)]


def test_a_moved_child_is_listed_where_she_is_now(client, histories):
    w = histories
    db.session.execute(sa.update(Child).where(Child.id == w.child_a1.id).values(posyandu_id=w.posyandu_a2.id))
    body = get(client, w.staff_a, level="puskesmas", code="P3525010101", month=MONTH).json
    assert [item["posyandu"]["code"] for item in body["items"]] == ["PY-A1", "PY-A2", "PY-A2"]
    assert child_ids(body)[1] == str(w.child_a1.id)


def test_counts_per_posyandu(client, histories):
    w = histories
    r = get(client, w.staff_a, URL + "/counts", level="puskesmas", code="P3525010101", month=MONTH)
    assert r.status_code == 200
    body = r.json
    assert body["children"] == 3
    assert [(p["posyandu"]["code"], p["children"]) for p in body["posyandu"]] == [("PY-A1", 2), ("PY-A2", 1)]
    assert body["posyandu"][0]["by_rule"]["weight_flat"] == 1
    assert body["by_rule"]["haz_near_line"] == 2
    empty = get(client, w.staff_a, URL + "/counts", level="puskesmas", code="P3525010101", month="2025-01").json
    assert empty["children"] == 0 and [p["children"] for p in empty["posyandu"]] == [0, 0]


def test_count_by_posyandu_for_other_features(histories):
    w = histories
    admin = Scope(user_id=w.admin.id, role="admin")
    area = resolve_area(admin, "kabupaten", "35.25")
    assert ops.count_by_posyandu(area, parse_month(MONTH)) == {w.posyandu_a1.id: 2, w.posyandu_a2.id: 1,
                                                               w.posyandu_b1.id: 1}
    staff_b = Scope(user_id=w.staff_b.id, role="puskesmas", puskesmas_id=w.puskesmas_b.id)
    assert ops.count_by_posyandu(staff_b, MONTH) == {w.posyandu_b1.id: 1}
    assert ops.count_by_posyandu(admin, "2025-01") == {}


def test_the_list_costs_the_same_few_queries_for_any_page(app, client, histories):
    w = histories

    def run(limit):
        return statements_during(app, lambda: get(client, w.dinkes_gresik, level="kabupaten", code="35.25",
                                                  month=MONTH, limit=limit))
    one, all_ = run(1), run(50)
    assert len(one) == len(all_) <= 10


# --- one child --------------------------------------------------------------------------------------
def child_url(child):
    return f"/api/v1/children/{child.id}/early-warning"


def test_a_parent_sees_her_own_child(client, histories):
    w = histories
    r = get(client, w.parent_1, child_url(w.child_a1), month=MONTH)
    assert r.status_code == 200, r.json
    body = r.json
    assert body["listed"] is True and body["excluded_as_stunted"] is False
    assert [f["rule"] for f in body["flags"]] == ["haz_decline", "haz_near_line", "weight_crossing"]
    assert body["child_id"] == str(w.child_a1.id) and body["month"] == MONTH


def test_one_child_for_staff_and_a_stunted_child(client, histories):
    w = histories
    body = get(client, w.staff_a, child_url(w.citra), month=MONTH).json
    assert body["listed"] is False and body["excluded_as_stunted"] is True and body["flags"] == []
    body = get(client, w.kader_a1, child_url(w.dodi), month=MONTH).json
    assert body["listed"] is False and body["excluded_as_stunted"] is False


@pytest.mark.parametrize("user", ["parent_2", "kader_b1", "kader_a2", "staff_b", "dinkes_lamongan"])
def test_one_child_outside_the_scope_is_not_found(client, histories, user):
    r = get(client, getattr(histories, user), child_url(histories.child_a1), month=MONTH)
    assert r.status_code == 404


def test_one_child_bad_input(client, histories):
    r = get(client, histories.parent_1, child_url(histories.child_a1), month="2025-6")
    assert r.status_code == 422 and "month" in r.json["errors"]
    r = client.get(f"/api/v1/children/{uuid.uuid4()}/early-warning", headers=factories.headers(histories.admin))
    assert r.status_code == 404


def test_everything_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/early-warnings", "/api/v1/early-warnings/counts",
                 "/api/v1/children/{child_id}/early-warning"):
        assert "get" in spec["paths"][path], path
    params = {p["name"] for p in spec["paths"]["/api/v1/early-warnings"]["get"]["parameters"]}
    assert {"level", "code", "month", "rule", "cursor", "limit"} <= params


def test_a_weight_the_plausibility_rules_exclude_fires_no_rule(client, histories):
    """Issue 9 §2: a value judged implausible (here by the previous-visit check, unconfirmed;
    docs/implausible-values.md) decides no early warning, like a WHO-flagged one. Bunga's June
    weighing is the third of her flat weights: without it she has too few to fire weight_flat."""
    w = histories
    june = db.session.execute(sa.select(Measurement).where(
        Measurement.child_id == w.bunga.id, Measurement.measured_on == date(2025, 6, 10))).scalar_one()
    june.weight_implausible = True
    db.session.flush()
    r = get(client, w.kader_a1, level="posyandu", code="PY-A1", month=MONTH)
    assert r.status_code == 200, r.json
    assert child_ids(r.json) == [str(w.child_a1.id)] and r.json["by_rule"]["weight_flat"] == 0
