"""The same record sent twice at the same moment (a phone retrying while its first request is
still running, or two phones): the pair answers exactly as a request and its sequential retry do.

Real concurrency on PostgreSQL: two threads, each with its own test client (own app context,
own session, own connection and transaction), released together by a barrier, ``ROUNDS`` times
per endpoint. The world lives in a private database of this module (tests/concurrency/conftest.py),
so the real commits never meet the rolled-back tests of the session database.

Expected answers are the documented sequential ones (docs/concurrency.md): create 201 + retry
200 with the stored record (sync: ``applied`` + ``duplicate``); same id with other content 201 +
409 (sync: ``applied`` + ``conflict``); and exactly one row, one audit event and one change-log
entry per record.
"""
from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.children.models import Child
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from posyandu.measurements.models import Measurement
from posyandu.sync.models import ChangeLog

from tests import factories

pytestmark = [pytest.mark.real_commits, pytest.mark.postgres_only]

ROUNDS = 16


def together(app, *requests):
    """Send the requests ``(method, url, json, headers)`` at the same moment, one thread each;
    returns the responses ``(status, json)`` in the order given."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def send(i, method, url, body, headers):
        client = app.test_client()
        barrier.wait()
        try:
            response = client.open(url, method=method, json=body, headers=headers)
            results[i] = (response.status_code, response.get_json())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = (599, repr(exc))

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results), "a request did not finish"
    return results


def new_child_row(app, posyandu_id: int, birth_date=date(2025, 1, 10)) -> uuid.UUID:
    from posyandu.regions.models import Posyandu
    with app.app_context():
        child = factories.child(db.session.get(Posyandu, posyandu_id), "Anak Balapan", birth_date=birth_date)
        db.session.commit()
        return child.id


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def trail(app, entity: str, entity_id) -> tuple[int, int]:
    """(audit events, change-log rows) of one record."""
    return (count(app, AuditEvent, AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id)),
            count(app, ChangeLog, ChangeLog.entity == entity, ChangeLog.entity_id == uuid.UUID(str(entity_id))))


def statuses(results) -> list[int]:
    return sorted(status for status, _ in results)


# --------------------------------------------------------------------------- REST creates
def test_measurement_posted_twice_at_once_is_201_and_200(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        body = {"id": str(uuid.uuid4()), "child_id": str(ids["child_a1"]), "measured_on": "2025-06-10",
                "weight_kg": 9.1, "length_cm": 74.0, "measure_method": "lying"}
        results = together(app, *[("POST", "/api/v1/measurements", body, tokens["kader_a1"])] * 2)
        assert statuses(results) == [200, 201], results
        assert results[0][1] == results[1][1]  # the stored record, both times
        assert count(app, Measurement, Measurement.id == uuid.UUID(body["id"])) == 1
        assert trail(app, "measurement", body["id"]) == (1, 1)


def test_measurement_same_id_other_values_at_once_is_201_and_409(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        mid = str(uuid.uuid4())
        bodies = [{"id": mid, "child_id": str(ids["child_a1"]), "measured_on": "2025-07-10", "weight_kg": w}
                  for w in (9.2, 9.3)]
        results = together(app, *[("POST", "/api/v1/measurements", b, tokens["kader_a1"]) for b in bodies])
        assert statuses(results) == [201, 409], results
        [loser] = [body for status, body in results if status == 409]
        [winner] = [body for status, body in results if status == 201]
        assert loser["server"]["weight_kg"] == winner["weight_kg"]
        assert count(app, Measurement, Measurement.id == uuid.UUID(mid)) == 1


def test_immunization_posted_twice_at_once_is_201_and_200(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        child_id = new_child_row(app, ids["posyandu_a1"])
        body = {"id": str(uuid.uuid4()), "dose_code": "BCG", "given_on": "2025-02-01"}
        url = f"/api/v1/children/{child_id}/immunizations"
        results = together(app, *[("POST", url, body, tokens["kader_a1"])] * 2)
        assert statuses(results) == [200, 201], results
        assert results[0][1] == results[1][1]
        assert count(app, Immunization, Immunization.child_id == child_id) == 1
        assert trail(app, "immunization", body["id"]) == (1, 1)


def test_immunization_same_id_other_values_at_once_is_201_and_409(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        child_id = new_child_row(app, ids["posyandu_a1"])
        iid = str(uuid.uuid4())
        bodies = [{"id": iid, "dose_code": "BCG", "given_on": "2025-02-01", "lot_number": lot} for lot in ("A", "B")]
        url = f"/api/v1/children/{child_id}/immunizations"
        results = together(app, *[("POST", url, b, tokens["kader_a1"]) for b in bodies])
        assert statuses(results) == [201, 409], results
        assert count(app, Immunization, Immunization.child_id == child_id) == 1


def test_same_dose_under_two_ids_at_once_is_201_and_409_duplicate_dose(race):
    """Two phones record the same dose for a child (two ids): sequentially the second is a 409
    ``duplicate-dose`` naming ``dose_code``; at the same moment too."""
    app, tokens, ids = race
    for _ in range(ROUNDS):
        child_id = new_child_row(app, ids["posyandu_a1"])
        url = f"/api/v1/children/{child_id}/immunizations"
        bodies = [{"id": str(uuid.uuid4()), "dose_code": "BCG", "given_on": "2025-02-01"} for _ in range(2)]
        results = together(app, *[("POST", url, b, tokens["kader_a1"]) for b in bodies])
        assert statuses(results) == [201, 409], results
        [loser] = [body for status, body in results if status == 409]
        assert "dose_code" in loser["errors"]
        assert count(app, Immunization, Immunization.child_id == child_id) == 1


def test_child_created_twice_at_once_is_201_and_200(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        body = {"id": str(uuid.uuid4()), "posyandu_id": ids["posyandu_a1"], "name": "Aisyah Putri", "sex": 2,
                "birth_date": "2024-03-15", "mother_name": "Nur Hidayah"}
        results = together(app, *[("POST", "/api/v1/children", body, tokens["kader_a1"])] * 2)
        assert statuses(results) == [200, 201], results
        assert count(app, Child, Child.id == uuid.UUID(body["id"])) == 1
        assert trail(app, "child", body["id"]) == (1, 1)


def test_child_same_id_other_content_at_once_is_201_and_409(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        cid = str(uuid.uuid4())
        bodies = [{"id": cid, "posyandu_id": ids["posyandu_a1"], "name": name, "sex": 2,
                   "birth_date": "2024-03-15", "mother_name": "Nur Hidayah"} for name in ("Aisyah", "Aisyah Putri")]
        results = together(app, *[("POST", "/api/v1/children", b, tokens["kader_a1"]) for b in bodies])
        assert statuses(results) == [201, 409], results
        assert count(app, Child, Child.id == uuid.UUID(cid)) == 1


# --------------------------------------------------------------------------- sync push
PUSH = "/api/v1/sync/push"


def receipts(results) -> list[str]:
    assert [status for status, _ in results] == [200] * len(results), results
    return sorted(body["receipts"][0]["status"] for _, body in results)


def test_immunization_pushed_twice_at_once_is_applied_and_duplicate(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        child_id = new_child_row(app, ids["posyandu_a1"])
        record = {"entity": "immunization", "id": str(uuid.uuid4()),
                  "data": {"child_id": str(child_id), "dose_code": "BCG", "given_on": "2025-02-01"}}
        results = together(app, *[("POST", PUSH, {"records": [record]}, tokens["kader_a1"])] * 2)
        assert receipts(results) == ["applied", "duplicate"], results
        assert results[0][1]["receipts"][0]["record"] == results[1][1]["receipts"][0]["record"]
        assert count(app, Immunization, Immunization.child_id == child_id) == 1
        assert trail(app, "immunization", record["id"]) == (1, 1)


def test_measurement_pushed_twice_at_once_is_applied_and_duplicate(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        record = {"entity": "measurement", "id": str(uuid.uuid4()),
                  "data": {"child_id": str(ids["child_a1"]), "measured_on": "2025-08-11", "weight_kg": 9.6}}
        results = together(app, *[("POST", PUSH, {"records": [record]}, tokens["kader_a1"])] * 2)
        assert receipts(results) == ["applied", "duplicate"], results
        assert count(app, Measurement, Measurement.id == uuid.UUID(record["id"])) == 1
        assert trail(app, "measurement", record["id"]) == (1, 1)


def test_child_pushed_twice_at_once_is_applied_and_duplicate(race):
    app, tokens, ids = race
    for _ in range(ROUNDS):
        record = {"entity": "child", "id": str(uuid.uuid4()),
                  "data": {"posyandu_id": ids["posyandu_a1"], "name": "Nadia Putri", "sex": 2,
                           "birth_date": "2025-05-02", "mother_name": "Sri Wahyuni"}}
        results = together(app, *[("POST", PUSH, {"records": [record]}, tokens["kader_a1"])] * 2)
        assert receipts(results) == ["applied", "duplicate"], results
        assert count(app, Child, Child.id == uuid.UUID(record["id"])) == 1


def test_a_batch_holding_a_record_another_request_is_inserting(race):
    """A phone pushes a batch (a new child, three visits, two doses) while a second phone posts
    one of those visits and one of those doses by REST: every record is stored once, the batch
    answers one receipt per record (the raced ones ``applied`` or ``duplicate``), the REST pair
    201 or 200, and nothing is a 5xx."""
    app, tokens, ids = race
    for _ in range(ROUNDS):
        child_id = str(uuid.uuid4())
        m = [str(uuid.uuid4()) for _ in range(3)]
        i = [str(uuid.uuid4()) for _ in range(2)]
        visits = [{"child_id": child_id, "measured_on": day, "weight_kg": w}
                  for day, w in (("2025-06-02", 5.1), ("2025-07-07", 5.9), ("2025-08-04", 6.6))]
        doses = [{"child_id": child_id, "dose_code": code, "given_on": "2025-07-07"} for code in ("OPV1", "DPTHBHIB1")]
        # the child exists before the race (the REST requests need it)
        setup = app.test_client().post("/api/v1/children", headers=tokens["kader_a1"], json={
            "id": child_id, "posyandu_id": ids["posyandu_a1"], "name": "Rafa", "sex": 1,
            "birth_date": "2025-05-05", "mother_name": "Lia"})
        assert setup.status_code == 201, setup.json
        batch = [{"entity": "measurement", "id": mid, "data": v} for mid, v in zip(m, visits)] + \
                [{"entity": "immunization", "id": iid, "data": d} for iid, d in zip(i, doses)]
        rest_visit = {"id": m[1], **visits[1]}
        rest_dose = {k: v for k, v in {"id": i[1], **doses[1]}.items() if k != "child_id"}
        results = together(app, ("POST", PUSH, {"records": batch}, tokens["kader_a1"]),
                           ("POST", "/api/v1/measurements", rest_visit, tokens["staff_a"]),
                           ("POST", f"/api/v1/children/{child_id}/immunizations", rest_dose, tokens["staff_a"]))
        (push_status, push_body), (visit_status, _), (dose_status, _) = results
        assert push_status == 200, results
        assert visit_status in (200, 201) and dose_status in (200, 201), results
        got = {r["id"]: r["status"] for r in push_body["receipts"]}
        assert set(got) == set(m + i)
        assert all(status == "applied" for rid, status in got.items() if rid not in (m[1], i[1])), got
        # exactly one of each raced pair created the record
        assert sorted([got[m[1]], {201: "applied", 200: "duplicate"}[visit_status]]) == ["applied", "duplicate"]
        assert sorted([got[i[1]], {201: "applied", 200: "duplicate"}[dose_status]]) == ["applied", "duplicate"]
        cid = uuid.UUID(child_id)
        assert count(app, Measurement, Measurement.child_id == cid) == 3
        assert count(app, Immunization, Immunization.child_id == cid) == 2
        for rid in m + i:  # created once (later change-log rows: a trend changed by an earlier visit)
            assert trail(app, "measurement" if rid in m else "immunization", rid)[0] == 1


# --------------------------------------------------------------------------- natural keys
NATURAL_ROUNDS = 8


def test_posyandu_created_twice_at_once_is_201_and_200(race):
    app, tokens, ids = race
    for n in range(NATURAL_ROUNDS):
        body = {"code": f"PY-RACE-{n}", "name": "Posyandu Dahlia", "desa_code": "35.25.01.2002",
                "puskesmas_id": ids["puskesmas_a"], "session_rule": "day_of_month:10",
                "session_start": "08:00", "session_end": "11:00"}
        results = together(app, *[("POST", "/api/v1/posyandu", body, tokens["staff_a"])] * 2)
        assert statuses(results) == [200, 201], results
        assert results[0][1]["id"] == results[1][1]["id"]


def test_account_created_twice_at_once_is_201_and_409(race):
    """Sequentially the second create of a username is a 409 naming the field; at once too."""
    app, tokens, _ = race
    for n in range(NATURAL_ROUNDS):
        body = {"username": f"kader.race{n}", "full_name": "Ibu Kader", "role": "kader",
                "posyandu_codes": ["PY-A1"], "password": "Sandi-Kader-Baru-77"}
        results = together(app, *[("POST", "/api/v1/users", body, tokens["admin"])] * 2)
        assert statuses(results) == [201, 409], results
        [loser] = [body for status, body in results if status == 409]
        assert "username" in loser["errors"]


def test_device_registered_twice_at_once_is_201_and_200(race):
    app, tokens, _ = race
    for n in range(NATURAL_ROUNDS):
        body = {"token": f"fcm-token-race-{n:04d}-{uuid.uuid4().hex}", "kind": "fcm_token", "platform": "android"}
        results = together(app, *[("POST", "/api/v1/devices", body, tokens["parent_1"])] * 2)
        assert statuses(results) == [200, 201], results
        assert results[0][1]["id"] == results[1][1]["id"]


def test_region_settings_put_twice_at_once_are_both_200(race):
    app, tokens, _ = race
    for n in range(NATURAL_ROUNDS):
        with app.app_context():
            from posyandu.immunizations.models import ImmunizationRegionSetting
            db.session.execute(sa.delete(ImmunizationRegionSetting))
            db.session.commit()
        body = {"je_programme": bool(n % 2)}
        results = together(app, *[("PUT", "/api/v1/immunizations/region-settings/3525", body, tokens["admin"])] * 2)
        assert statuses(results) == [200, 200], results


def test_simultaneous_visits_of_one_child_keep_the_report_summary_right(race):
    """Two phones record visits of the same child at the same moment (one of them back-dated,
    which recomputes the child's whole summary by DELETE + INSERT): both succeed, and the report
    summary equals a recomputation from scratch (a stale or duplicate row failed here before the
    per-child lock in reports/summary.py)."""
    from posyandu.reports.summary import summary_rows, summary_rows_from_scratch

    app, tokens, ids = race
    for round_ in range(ROUNDS):
        child_id = new_child_row(app, ids["posyandu_a1"], birth_date=date(2025, 1, 10))
        day = 10 + round_ % 15
        later = {"id": str(uuid.uuid4()), "child_id": str(child_id), "measured_on": f"2026-03-{day:02d}",
                 "weight_kg": 8.9, "length_cm": 72.0, "measure_method": "lying"}
        earlier = {"id": str(uuid.uuid4()), "child_id": str(child_id), "measured_on": f"2026-03-{day - 5:02d}",
                   "weight_kg": 8.7, "length_cm": 71.5, "measure_method": "lying"}
        first = {**later, "id": str(uuid.uuid4()), "measured_on": "2026-02-10", "weight_kg": 8.5}
        results = together(app, ("POST", "/api/v1/measurements", first, tokens["kader_a1"]),
                           ("POST", "/api/v1/measurements", later, tokens["kader_a1"]))
        assert statuses(results) == [201, 201], results
        results = together(app, ("POST", "/api/v1/measurements", earlier, tokens["kader_a1"]),
                           ("POST", "/api/v1/measurements", {**later, "id": str(uuid.uuid4()),
                                                             "measured_on": f"2026-04-{day:02d}"},
                            tokens["kader_a1"]))
        assert statuses(results) == [201, 201], results
    with app.app_context():
        assert summary_rows(db.session) == summary_rows_from_scratch(db.session)


def test_visits_merged_into_one_summary_row_at_once_match_a_recomputation(race):
    """The measurement POST merges its visit into the month's summary row inside its own INSERT
    statement, without a lock (reports.summary.record_companion): four phones recording the same
    child's month at once (with and without a weight, vitamin A on one) while a fifth request
    corrects an earlier visit (a full recomputation of the child) must still leave the rows a
    recomputation from scratch gives, whatever order the transactions commit in."""
    from posyandu.reports.summary import summary_rows, summary_rows_from_scratch

    app, tokens, ids = race
    for round_ in range(ROUNDS // 2):
        child_id = new_child_row(app, ids["posyandu_a1"], birth_date=date(2025, 1, 10))
        base = {"child_id": str(child_id), "length_cm": 72.0, "measure_method": "lying"}
        old = {**base, "id": str(uuid.uuid4()), "measured_on": "2026-02-03", "weight_kg": 8.4}
        client = app.test_client()
        assert client.post("/api/v1/measurements", json=old, headers=tokens["kader_a1"]).status_code == 201
        posts = [{**base, "id": str(uuid.uuid4()), "measured_on": f"2026-03-{10 + (k + round_) % 3:02d}",
                  "weight_kg": None if k == 1 else 8.6 + k / 10, "vitamin_a": k == 2} for k in range(4)]
        requests = [("POST", "/api/v1/measurements", body, tokens["kader_a1"]) for body in posts]
        requests.append(("PATCH", f"/api/v1/measurements/{old['id']}", {"weight_kg": 8.3}, tokens["kader_a1"]))
        results = together(app, *requests)
        assert [status for status, _ in results] == [201, 201, 201, 201, 200], results
        with app.app_context():
            assert summary_rows(db.session) == summary_rows_from_scratch(db.session)


def test_nutrition_reports_read_while_visits_are_recorded_stay_right(race):
    """The nutrition report adds up per-posyandu counts stored by earlier reports
    (reports.month_cache): reports requested while phones record visits (each request its own
    transaction, committing in any order) must leave counts equal to a direct computation; a
    report after them recomputes nothing, and a new visit makes exactly its posyandu stale."""
    from posyandu.reports import month_cache, nutrition
    from posyandu.reports.areas import Month, _lookup

    app, tokens, ids = race
    report = "/api/v1/reports/nutrition-status?level=kabupaten&code=35.25&month=2026-03&by=posyandu"
    for round_ in range(ROUNDS // 2):
        child_id = new_child_row(app, ids["posyandu_a1"], birth_date=date(2025, 1, 10))
        visits = [{"id": str(uuid.uuid4()), "child_id": str(child_id), "measured_on": f"2026-03-{10 + k:02d}",
                   "weight_kg": 8.4 + k / 10, "length_cm": 71.0 + k, "measure_method": "lying"} for k in range(3)]
        results = together(app, *(("POST", "/api/v1/measurements", body, tokens["kader_a1"]) for body in visits),
                           ("GET", report, None, tokens["admin"]), ("GET", report, None, tokens["admin"]))
        assert sorted(status for status, _ in results) == [200, 200, 201, 201, 201], results
    with app.app_context():
        area = _lookup("kabupaten", "35.25")
        for month in (Month(2026, 2), Month(2026, 3)):
            assert nutrition.nutrition_counts(area, month, "posyandu") == nutrition.direct_counts(area, month, "posyandu")
        db.session.commit()
        assert month_cache.stale_posyandu(area, Month(2026, 3)) == []
    client = app.test_client()
    body = {"id": str(uuid.uuid4()), "child_id": str(child_id), "measured_on": "2026-03-25", "weight_kg": 8.9,
            "length_cm": 74.0, "measure_method": "lying"}
    assert client.post("/api/v1/measurements", json=body, headers=tokens["kader_a1"]).status_code == 201
    with app.app_context():
        assert month_cache.stale_posyandu(_lookup("kabupaten", "35.25"), Month(2026, 3)) == [ids["posyandu_a1"]]
        db.session.rollback()


def test_stored_nutrition_counts_follow_each_kind_of_write(race):
    """Across real commits only the triggers' marks tell the stored counts (reports.month_cache)
    they are stale. After each kind of write, the kabupaten's counts of three months read
    through the cache equal a direct computation: a late-entered first visit of a child
    registered today (she then counts in S of later months where she has no record), an edit
    moving a visit to another month, a delete, a sex correction (S per sex, every month), a
    hand-over to another posyandu (both posyandu, every month after it)."""
    from posyandu.reports import month_cache, nutrition
    from posyandu.reports.areas import Month, _lookup

    app, tokens, ids = race
    months = (Month(2026, 1), Month(2026, 3), Month(2026, 5))

    def check():
        with app.app_context():
            area = _lookup("kabupaten", "35.25")
            for month in months:
                assert nutrition.nutrition_counts(area, month, "posyandu") == nutrition.direct_counts(area, month, "posyandu")
            db.session.commit()  # keep the counts: the next write must make them stale by itself

    client = app.test_client()
    kader, admin = tokens["kader_a1"], tokens["admin"]
    child_id = new_child_row(app, ids["posyandu_a1"], birth_date=date(2025, 6, 1))
    check()
    visit = {"id": str(uuid.uuid4()), "child_id": str(child_id), "measured_on": "2026-01-15", "weight_kg": 8.1,
             "length_cm": 70.0, "measure_method": "lying"}
    assert client.post("/api/v1/measurements", json=visit, headers=kader).status_code == 201
    check()
    later = {**visit, "id": str(uuid.uuid4()), "measured_on": "2026-03-12", "weight_kg": 8.6, "length_cm": 72.5}
    assert client.post("/api/v1/measurements", json=later, headers=kader).status_code == 201
    check()
    assert client.patch(f"/api/v1/measurements/{later['id']}", json={"measured_on": "2026-05-02"},
                        headers=kader).status_code == 200
    check()
    # a child registered long ago (her records mark only their own months) with one January
    # visit: correcting her sex changes S per sex in March, where she has no record
    old_child = new_child_row(app, ids["posyandu_a1"], birth_date=date(2025, 2, 1))
    with app.app_context():
        from posyandu.children.models import Child
        db.session.execute(sa.update(Child).where(Child.id == old_child)
                           .values(created_at=datetime(2025, 3, 1, tzinfo=timezone.utc)))
        db.session.commit()
    first = {**visit, "id": str(uuid.uuid4()), "child_id": str(old_child), "measured_on": "2026-01-20"}
    assert client.post("/api/v1/measurements", json=first, headers=kader).status_code == 201
    check()
    assert client.patch(f"/api/v1/children/{old_child}", json={"sex": 1}, headers=admin).status_code == 200
    check()
    assert client.patch(f"/api/v1/children/{child_id}", json={"sex": 1}, headers=admin).status_code == 200
    check()
    assert client.delete(f"/api/v1/measurements/{visit['id']}", headers=kader).status_code == 204
    check()
    with app.app_context():
        from posyandu.regions.models import Posyandu
        other = db.session.scalars(sa.select(Posyandu.id).where(Posyandu.id != ids["posyandu_a1"],
                                                                Posyandu.kabupaten_code == "3525")).first()
    moved = client.post(f"/api/v1/children/{child_id}/move", json={"posyandu_id": other, "moved_on": "2026-02-10"},
                        headers=admin)
    assert moved.status_code in (200, 201), moved.get_json()
    check()
