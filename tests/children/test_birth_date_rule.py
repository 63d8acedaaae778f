"""A posyandu registers children under five (issue 9 §2): birth dates that make no sense are
refused with a 422 naming ``birth_date`` and the rule, in REST and in sync push (an ``invalid``
receipt). The limit, 59 completed months on the day of registration, is data
(``posyandu/children/data/registration.json``; posyandu-operations-id.md §1, the schedule's
catch-up to < 60 months)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest

from posyandu.children import registration

from .helpers import assert_problem, count_children, new_child, patch, post

API = "/api/v1"
#: The registration day used below (the rule is about the age on that day).
TODAY = date(2026, 12, 6)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(registration, "latest_today", lambda: TODAY)


def test_a_child_born_in_1990_is_refused(client, world):
    before = count_children()
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, birth_date="1990-05-01"))
    assert_problem(response, 422, "birth_date")
    assert "0-59" in response.json["errors"]["birth_date"][0]                       # names the rule
    assert count_children() == before


@pytest.mark.parametrize("birth_date, accepted", [
    ("2021-12-07", True),     # 59 completed months on 2026-12-06
    ("2021-12-06", False),    # 60 completed months: five years old
    ("2026-12-06", True),     # born today
    ("2026-12-07", False),    # tomorrow
])
def test_the_limit_is_under_five_on_the_day_of_registration(client, world, birth_date, accepted):
    response = post(client, world.kader_a1, body=new_child(world.posyandu_a1, birth_date=birth_date))
    if accepted:
        assert response.status_code == 201, response.json
    else:
        assert_problem(response, 422, "birth_date")


def test_a_correction_is_checked_against_the_day_the_child_was_registered(client, world):
    response = patch(client, world.kader_a1, world.child_a1.id, {"birth_date": "1990-05-01"})
    assert_problem(response, 422, "birth_date")
    assert patch(client, world.kader_a1, world.child_a1.id, {"birth_date": "2024-03-16"}).status_code == 200


def test_sync_push_gives_an_invalid_receipt_and_applies_the_rest(client, world):
    from tests.factories import headers
    old = {"entity": "child", "id": str(uuid.uuid4()), "base_version": None,
           "data": {**new_child(world.posyandu_a1, birth_date="1990-05-01"), "name": "Anak Lama"}}
    good = {"entity": "child", "id": str(uuid.uuid4()), "base_version": None,
            "data": {**new_child(world.posyandu_a1, birth_date="2025-05-01"), "name": "Anak Baru"}}
    for record in (old, good):
        record["data"]["id"] = record["id"]
    response = client.post(f"{API}/sync/push", json={"records": [old, good]}, headers=headers(world.kader_a1))
    assert response.status_code == 200, response.json
    first, second = response.json["receipts"]
    assert first["status"] == "invalid" and "birth_date" in first["errors"], first
    assert second["status"] == "applied"


def test_a_record_the_phone_made_while_the_child_was_under_five_is_still_accepted(client, world):
    """Synced after the fifth birthday, recorded before it: the day it was recorded counts."""
    from tests.factories import headers
    record = {"entity": "child", "id": str(uuid.uuid4()), "base_version": None,
              "client_updated_at": "2026-11-30T08:00:00+07:00",
              "data": new_child(world.posyandu_a1, birth_date="2021-12-03")}   # 60 months on 2026-12-03
    record["data"]["id"] = record["id"]
    receipt = client.post(f"{API}/sync/push", json={"records": [record]},
                          headers=headers(world.kader_a1)).json["receipts"][0]
    assert receipt["status"] == "applied", receipt


def test_registration_day_is_never_after_today():
    late = datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert registration.registration_day(late) == TODAY
    assert registration.registration_day(None) == TODAY
    assert registration.registration_day(datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)) == date(2026, 12, 1)
    assert registration.earliest_birth_date(date(2024, 2, 29)) == date(2019, 3, 1)
    assert registration.max_age_months() == 59
