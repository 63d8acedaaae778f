"""The cadre's next-session list and the puskesmas overdue and dropout lists.

Session days worked by hand: posyandu A1 meets on the second Tuesday (nth_weekday:2:TUE).
March 2025 starts on a Saturday (Tuesdays 4, 11 → 11 March); April 2025 starts on a Tuesday
(1, 8 → 8 April); May 2025 starts on a Thursday (6, 13 → 13 May). 09.00 WIB = 02.00 UTC.
Doses: immunization-schedule-id.md §2 (calendar months), overdue one month after the
recommended date (engine default, posyandu/core/schedule/README.md). The merged vaccine phrase
is the one posyandu-operations-id.md §7 gives.
"""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from posyandu.children.models import Child
from posyandu.extensions import db

from tests import factories

H = factories.headers


def _exception(client, world, user=None, **body):
    response = client.post(f"/api/v1/posyandu/{world.posyandu_a1.id}/calendar/exceptions", json=body,
                           headers=H(user or world.kader_a1))
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def a1_children(world, baby, give):
    """baby (2025-01-10: HB0, BCG, OPV1), plus children who must not be listed."""
    give(baby, "HB0", date(2025, 1, 10))
    give(baby, "BCG", date(2025, 2, 10))
    give(baby, "OPV1", date(2025, 2, 10))
    closed = factories.child(world.posyandu_a1, "Anak Pindah", birth_date=date(2024, 12, 1))
    db.session.execute(sa.update(Child).where(Child.id == closed.id).values(status="closed",
                                                                            closed_reason="moved_away"))
    five = factories.child(world.posyandu_a1, "Anak Lima Tahun", birth_date=date(2020, 3, 1))  # 60 months on 1 Mar
    almost = factories.child(world.posyandu_a1, "Anak Hampir Lima", birth_date=date(2020, 3, 20))
    db.session.commit()
    return {"baby": baby, "closed": closed, "five": five, "almost": almost}


def test_next_session_with_a_moved_and_a_cancelled_session(client, world, a1_children):
    _exception(client, world, kind="moved", original_date="2025-03-11", new_date="2025-03-13",
               start_time="09:00", end_time="12:00", note="Bidan ke pelatihan")
    _exception(client, world, user=world.staff_a, kind="cancelled", original_date="2025-04-08", note="Libur")
    url = f"/api/v1/posyandu/{world.posyandu_a1.id}/next-session"
    response = client.get(url + "?on=2025-03-01", headers=H(world.kader_a1))
    assert response.status_code == 200, response.json
    body = response.json
    session = body["session"]
    assert session["date"] == "2025-03-13" and session["kind"] == "moved" and session["moved_from"] == "2025-03-11"
    assert session["start_time"] == "09:00" and session["end_time"] == "12:00"
    assert session["zone_label"] == "WIB" and session["starts_at"] == "2025-03-13T02:00:00+00:00"
    assert session["display"] == "Kamis, 13 Maret 2025 pukul 09.00 WIB"
    assert body["evaluated_on"] == "2025-03-13"
    listed = {c["child"]["id"]: c for c in body["children"]}
    baby = a1_children["baby"]
    assert set(listed) == {str(world.child_a1.id), str(baby.id), str(a1_children["almost"].id)}
    mine = listed[str(baby.id)]
    assert [d["code"] for d in mine["doses"]] == ["DPTHBHIB1", "OPV2", "PCV1", "RV1"]
    assert all(d["status"] == "due" for d in mine["doses"])
    assert mine["vaccines_id"] == "DPT-HB-Hib 1, Polio tetes 2, PCV 1 dan Rotavirus 1"
    assert mine["child"]["age_months"] == 2
    assert body["doses_needed"]["RV1"] == 1  # the other children are past the RV cohort or age
    # after the moved session: April's is cancelled, so the next one is 13 May, the usual hours
    body = client.get(url + "?on=2025-03-14", headers=H(world.staff_a)).json
    assert body["session"]["date"] == "2025-05-13" and body["session"]["kind"] == "regular"
    assert body["session"]["start_time"] == "08:00" and body["session"]["starts_at"] == "2025-05-13T01:00:00+00:00"
    mine = {c["child"]["id"]: c for c in body["children"]}[str(baby.id)]
    dpt1 = next(d for d in mine["doses"] if d["code"] == "DPTHBHIB1")
    assert dpt1["status"] == "overdue" and dpt1["overdue_date"] == "2025-04-10"


@pytest.mark.parametrize("who,status", [("kader_a2", 404), ("staff_b", 404), ("dinkes_lamongan", 404),
                                        ("parent_1", 403)])
def test_next_session_list_wrong_tenant(client, world, who, status):
    response = client.get(f"/api/v1/posyandu/{world.posyandu_a1.id}/next-session?on=2025-03-01",
                          headers=H(getattr(world, who)))
    assert response.status_code == status


def test_next_session_list_bad_input(client, world):
    response = client.get(f"/api/v1/posyandu/{world.posyandu_a1.id}/next-session?on=yesterday",
                          headers=H(world.kader_a1))
    assert response.status_code == 422 and "on" in response.json["errors"]


def test_overdue_list_paginates_and_filters(client, world, baby, give):
    protected = factories.child(world.posyandu_a1, "Sudah DPT", birth_date=date(2025, 1, 10))
    young = factories.child(world.posyandu_a1, "Bayi Maret", birth_date=date(2025, 3, 1))  # DPT1 due, not overdue
    db.session.commit()
    give(protected, "DPTHBHIB1", date(2025, 3, 10))
    url = f"/api/v1/immunizations/overdue?on=2025-05-01&dose=DPTHBHIB1&posyandu_id={world.posyandu_a1.id}"
    first = client.get(url + "&limit=1", headers=H(world.staff_a))
    assert first.status_code == 200, first.json
    assert [i["child"]["id"] for i in first.json["items"]] == [str(world.child_a1.id)]  # born 2024-03-15
    item = first.json["items"][0]
    assert item["doses"] == [{"code": "DPTHBHIB1", "names": {"id": "DPT-HB-Hib 1", "en": "DPT-HB-Hib 1"},
                              "status": "overdue", "earliest_date": "2024-04-26", "recommended_date": "2024-05-15",
                              "overdue_date": "2024-06-15", "latest_date": "2029-03-14"}]
    assert first.json["next_cursor"]
    second = client.get(url + "&limit=1&cursor=" + first.json["next_cursor"], headers=H(world.staff_a)).json
    assert [i["child"]["id"] for i in second["items"]] == [str(baby.id)]
    assert second["next_cursor"] is None
    listed = {i["child"]["id"] for i in client.get(url, headers=H(world.kader_a1)).json["items"]}
    assert str(protected.id) not in listed and str(young.id) not in listed
    # the whole area: child_a2 of posyandu A2 too; other areas see none of these
    area = {i["child"]["id"] for i in client.get("/api/v1/immunizations/overdue?on=2025-05-01&dose=DPTHBHIB1",
                                                 headers=H(world.staff_a)).json["items"]}
    assert area == {str(world.child_a1.id), str(baby.id), str(world.child_a2.id)}
    for who in ("staff_b", "dinkes_lamongan", "kader_a2"):
        seen = {i["child"]["id"] for i in client.get("/api/v1/immunizations/overdue?on=2025-05-01",
                                                     headers=H(getattr(world, who))).json["items"]}
        assert not seen & {str(world.child_a1.id), str(baby.id)}, who
        assert client.get(url, headers=H(getattr(world, who))).status_code == 404, who
    assert client.get(url, headers=H(world.parent_1)).status_code == 403


@pytest.mark.parametrize("query,field", [("dose=XYZ", "dose"), ("limit=0", "limit"), ("cursor=nonsense", "cursor"),
                                         ("on=2025-02-30", "on")])
def test_overdue_list_bad_input(client, world, query, field):
    response = client.get("/api/v1/immunizations/overdue?" + query, headers=H(world.staff_a))
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_dropout_lists(client, world, give):
    a1 = world.posyandu_a1
    dropper = factories.child(a1, "Putus DPT", birth_date=date(2025, 1, 10))
    complete = factories.child(a1, "Lengkap DPT", birth_date=date(2025, 1, 10))
    never = factories.child(a1, "Belum DPT", birth_date=date(2025, 1, 10))
    young = factories.child(a1, "Masih Muda", birth_date=date(2025, 6, 1))
    mr_dropper = factories.child(a1, "Putus MR", birth_date=date(2023, 1, 10))
    mr_complete = factories.child(a1, "Lengkap MR", birth_date=date(2023, 1, 10))
    db.session.commit()
    give(dropper, "DPTHBHIB1", date(2025, 3, 10))
    for code, day in (("DPTHBHIB1", date(2025, 3, 10)), ("DPTHBHIB2", date(2025, 4, 10)),
                      ("DPTHBHIB3", date(2025, 5, 10))):
        give(complete, code, day)
    give(young, "DPTHBHIB1", date(2025, 8, 1))  # DPT-HB-Hib 3 is recommended at 4 months: 2025-10-01
    give(mr_dropper, "MR1", date(2023, 10, 10))
    give(mr_complete, "MR1", date(2023, 10, 10))
    give(mr_complete, "MR2", date(2024, 7, 10))
    url = "/api/v1/immunizations/dropouts?on=2025-09-01&from=DPTHBHIB1&to=DPTHBHIB3"
    response = client.get(url, headers=H(world.staff_a))
    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert [i["child"]["id"] for i in items] == [str(dropper.id)]
    assert items[0]["from_given_on"] == "2025-03-10" and items[0]["to_dose"]["code"] == "DPTHBHIB3"
    with_young = client.get(url + "&include_upcoming=true", headers=H(world.staff_a)).json["items"]
    assert {i["child"]["id"] for i in with_young} == {str(dropper.id), str(young.id)}
    mr = client.get("/api/v1/immunizations/dropouts?on=2025-09-01&from=MR1&to=MR2",
                    headers=H(world.dinkes_gresik)).json["items"]
    assert [i["child"]["id"] for i in mr] == [str(mr_dropper.id)]
    # MR2: 18 months (2024-07-10) and 6 months after MR1 (2024-04-10) -> overdue from 2024-08-10
    assert mr[0]["to_dose"]["status"] == "overdue" and mr[0]["to_dose"]["recommended_date"] == "2024-07-10"
    assert never.id not in {i["child"]["id"] for i in items}
    for who in ("staff_b", "dinkes_lamongan", "kader_a2"):
        seen = client.get(url, headers=H(getattr(world, who))).json["items"]
        assert seen == [], who
        assert client.get(url + f"&posyandu_id={a1.id}", headers=H(getattr(world, who))).status_code == 404
    assert client.get(url, headers=H(world.parent_1)).status_code == 403


def test_dropout_dpt_hb_hib_1_to_mr_1(client, world, give):
    """The indicator a puskesmas reports next to DPT-HB-Hib 1→3 (was 422: "must be a later dose
    of the same series"). MR1 is recommended at 9 months (immunization-schedule-id.md §2)."""
    a1 = world.posyandu_a1
    no_mr = factories.child(a1, "Tanpa MR", birth_date=date(2024, 10, 10))     # 9 months on 2025-07-10
    with_mr = factories.child(a1, "Dengan MR", birth_date=date(2024, 10, 10))
    not_yet = factories.child(a1, "Belum 9 Bulan", birth_date=date(2025, 2, 10))  # 9 months on 2025-11-10
    db.session.commit()
    for child in (no_mr, with_mr):
        give(child, "DPTHBHIB1", date(2024, 12, 10))
    give(not_yet, "DPTHBHIB1", date(2025, 4, 10))
    give(with_mr, "MR1", date(2025, 7, 15))
    expected = [str(no_mr.id)]
    for query in ("from=DPTHBHIB1&to=MR1", "indicator=DPTHBHIB1-MR1", "indicator=dpthbhib1-mr1"):
        response = client.get(f"/api/v1/immunizations/dropouts?on=2025-09-01&{query}", headers=H(world.staff_a))
        assert response.status_code == 200, (query, response.json)
        assert [i["child"]["id"] for i in response.json["items"]] == expected, query
        assert response.json["indicator"]["code"] == "DPTHBHIB1-MR1"
        assert response.json["indicator"]["from"] == "DPTHBHIB1" and response.json["indicator"]["to"] == "MR1"
        assert response.json["items"][0]["to_dose"]["code"] == "MR1"
    upcoming = client.get("/api/v1/immunizations/dropouts?on=2025-09-01&indicator=DPTHBHIB1-MR1"
                          "&include_upcoming=true", headers=H(world.staff_a)).json["items"]
    assert {i["child"]["id"] for i in upcoming} == {str(no_mr.id), str(not_yet.id)}
    # the same-series pair still works without a name, and says so
    adhoc = client.get("/api/v1/immunizations/dropouts?on=2025-09-01&from=DPTHBHIB2&to=DPTHBHIB3",
                       headers=H(world.staff_a))
    assert adhoc.status_code == 200 and adhoc.json["indicator"]["code"] is None
    for who in ("staff_b", "dinkes_lamongan", "kader_a2"):
        assert client.get("/api/v1/immunizations/dropouts?indicator=DPTHBHIB1-MR1",
                          headers=H(getattr(world, who))).json["items"] == [], who


def test_dropout_indicators_are_listed_with_labels(client, world):
    response = client.get("/api/v1/immunizations/dropout-indicators", headers=H(world.kader_a1))
    assert response.status_code == 200, response.json
    pairs = {(i["code"], i["from"], i["to"]) for i in response.json["items"]}
    assert {("DPTHBHIB1-DPTHBHIB3", "DPTHBHIB1", "DPTHBHIB3"), ("DPTHBHIB1-MR1", "DPTHBHIB1", "MR1")} <= pairs
    first = response.json["items"][0]
    assert first["label"] == first["label_id"] and first["source"]
    english = client.get("/api/v1/immunizations/dropout-indicators", headers=H(world.kader_a1)
                         | {"Accept-Language": "en"}).json["items"][0]
    assert english["label"] == first["label_id"]   # the account's preference (id) wins over the header
    assert client.get("/api/v1/immunizations/dropout-indicators", headers=H(world.parent_1)).status_code == 403


@pytest.mark.parametrize("query,field", [("from=DPTHBHIB3&to=DPTHBHIB1", "to"), ("from=MR1&to=DPTHBHIB3", "to"),
                                         ("to=MR2", "from"), ("from=MR1&to=MR9", "to"),
                                         ("indicator=DPTHBHIB1-OPV9", "indicator"), ("", "indicator"),
                                         ("indicator=DPTHBHIB1-MR1&from=MR1&to=MR2", "indicator")])
def test_dropout_bad_pairs_are_422(client, world, query, field):
    response = client.get("/api/v1/immunizations/dropouts?" + query, headers=H(world.staff_a))
    assert response.status_code == 422
    assert field in response.json["errors"]
