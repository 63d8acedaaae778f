"""The set-based push path for measurements (``measurements.sync_batch``) against the per-record path.

The per-record path (``sync.push._apply_one`` through the REST operations) is the reference:
the same batch is applied by each path to its own copy of the same data, and the stored rows,
receipts, audit events and change-log entries must be the same. Trend values in the
several-visits test are the hand-worked ones of tests/measurements/test_create.py
(``test_monthly_trend_b_n_t_2t_o``; KBM reading B, growth-velocity-id.md §2.1/§3).
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import date
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from posyandu.i18n import translate as in_language

from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from posyandu.measurements import sync_adapter
from posyandu.measurements.models import Measurement
from posyandu.sync.models import ChangeLog
from tests import factories
from tests.factories import headers
from tests.querycount import statements_during

#: Set by the engine (not comparable across two runs) or per-record bookkeeping.
VOLATILE = ("created_at", "updated_at", "computed_at", "deleted_at")


def push(client, user, records):
    response = client.post("/api/v1/sync/push", json={"records": records}, headers=headers(user))
    assert response.status_code == 200, response.json
    return response.json["receipts"]


@pytest.fixture
def per_record(monkeypatch):
    """Switch the measurement adapter's batch path off (the reference behaviour)."""
    def _off():
        monkeypatch.setattr(sync_adapter.ADAPTER, "apply_batch", None)
    return _off


def post(client, user, child, measured_on, weight, **extra):
    body = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": measured_on.isoformat(),
            "weight_kg": weight, **extra}
    response = client.post("/api/v1/measurements", json=body, headers=headers(user))
    assert response.status_code == 201, response.json
    return response.json


def make_copy(client, world):
    """One copy of the data: children P (4 visits), Q (none), R (3 visits), all born 2024-03-15."""
    kader = world.kader_a1
    p = factories.child(world.posyandu_a1, "Anak P")
    q = factories.child(world.posyandu_a1, "Anak Q", sex=2)
    r = factories.child(world.posyandu_a1, "Anak R")
    db.session.commit()
    hist_p = [post(client, kader, p, d, w)["id"] for d, w in
              ((date(2024, 9, 15), 7.5), (date(2024, 10, 15), 7.9), (date(2024, 11, 14), 8.1),
               (date(2025, 1, 16), 8.6))]
    hist_r = [post(client, kader, r, d, w, length_cm=l, measure_method="lying")["id"] for d, w, l in
              ((date(2024, 11, 20), 8.0, 70.0), (date(2024, 12, 18), 8.4, 71.5), (date(2025, 1, 20), 8.7, 72.4))]
    return {"P": str(p.id), "Q": str(q.id), "R": str(r.id), "hp": hist_p, "hr": hist_r,
            "new": [str(uuid.uuid4()) for _ in range(20)]}


def mixed_batch(c, world):
    """New (in order, back-dated, out of date order), edits, deletes, duplicates, conflicts, invalid."""
    n = c["new"]

    def create(i, child, measured_on, weight, **extra):
        return {"entity": "measurement", "id": n[i], "base_version": None,
                "client_updated_at": "2026-11-02T09:00:00+07:00",
                "data": {"child_id": child, "measured_on": measured_on, "weight_kg": weight, **extra}}

    def edit(mid, base_version, **data):
        return {"entity": "measurement", "id": mid, "base_version": base_version, "data": data}

    return [
        create(0, c["Q"], "2024-09-15", 7.5, length_cm=66.0, measure_method="lying"),   # new child history
        create(1, c["Q"], "2024-10-15", 7.9),                                           # in date order
        create(2, c["P"], "2024-12-16", 8.3),               # back-dated: P's 2025-01-16 visit changes
        create(3, c["R"], "2024-10-21", 7.6, length_cm=69.0, measure_method="lying"),   # back-dated
        edit(c["hp"][1], 1, weight_kg=8.0),                 # P edited after the new visit above
        edit(c["hp"][0], 1, notes="timbangan baru"),        # values that do not move the trend
        edit(c["hr"][0], 5, weight_kg=8.1),                 # stale base_version, other values: conflict
        {"entity": "measurement", "id": c["hp"][2], "base_version": None,             # a retried create
         "data": {"child_id": c["P"], "measured_on": "2024-11-14", "weight_kg": 8.1}},
        {"entity": "measurement", "id": c["hr"][1], "base_version": None,             # same id, other values
         "data": {"child_id": c["R"], "measured_on": "2024-12-18", "weight_kg": 9.9}},
        create(4, c["Q"], "2024-12-01", -3),                                            # invalid value
        create(5, str(world.child_b1.id), "2024-12-01", 9.0),                           # out of scope
        create(6, c["Q"], "2024-07-20", 6.0, vitamin_a=True),                           # 4 months: no capsule
        create(7, c["Q"], "2024-11-15", 8.0, oedema=True),                              # kader may not
        create(8, c["Q"], "2099-01-01", 8.0),                                           # future
        {"entity": "measurement", "op": "delete", "id": c["hp"][3], "base_version": 1},
        {"entity": "measurement", "op": "delete", "id": n[9], "base_version": 1},       # no such row
        edit(c["hr"][2], 7, weight_kg=8.7),                 # stale but the same values: duplicate
        create(10, c["R"], "2025-02-19", 9.0),              # after R's history
        create(11, c["Q"], "2024-08-15", 7.0),              # Q out of date order (before n[0])
        create(12, c["P"], "2025-02-17", 8.9, vitamin_a=True),  # February: no warning
    ]


def translate(value, mapping: dict):
    text = json.dumps(value, sort_keys=True, default=str)
    for old, new in mapping.items():
        text = text.replace(old, new)
    return json.loads(text)


def stored(c) -> list[dict]:
    rows = db.session.execute(sa.select(Measurement.__table__).where(
        Measurement.child_id.in_([uuid.UUID(c[k]) for k in ("P", "Q", "R")]))).mappings().all()
    out = []
    for row in rows:
        row = dict(row)
        row["deleted"] = row["deleted_at"] is not None
        out.append({k: v for k, v in row.items() if k not in VOLATILE})
    return out


def by_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["id"])


def audit_trail(c) -> list:
    events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.changes)
                                .where(AuditEvent.child_id.in_([c[k] for k in ("P", "Q", "R")]),
                                       AuditEvent.entity == "measurement").order_by(AuditEvent.id)).all()
    return [(a, e, {k: v for k, v in (ch or {}).items() if k != "deleted_at"}) for a, e, ch in events]


def change_log(c, after: int = 0) -> list:
    """(entity id, op) of the change-log rows of this copy's children written after row ``after``."""
    return [(str(e), op) for e, op in db.session.execute(
        sa.select(ChangeLog.entity_id, ChangeLog.op).where(
            ChangeLog.child_id.in_([uuid.UUID(c[k]) for k in ("P", "Q", "R")]),
            ChangeLog.entity == "measurement", ChangeLog.id > after).order_by(ChangeLog.id)).all()]


def last_change() -> int:
    return db.session.scalar(sa.select(sa.func.max(ChangeLog.id))) or 0


def comparable(receipts):
    out = []
    for r in receipts:
        r = dict(r)
        if r.get("record"):
            r["record"] = {k: v for k, v in r["record"].items() if k != "updated_at"}
        out.append(r)
    return out


def mapping_between(a, b) -> dict:
    pairs = {b[k]: a[k] for k in ("P", "Q", "R")}
    for key in ("hp", "hr", "new"):
        pairs.update(zip(b[key], a[key]))
    return pairs


def test_bulk_gives_the_same_rows_receipts_audit_and_change_log_as_per_record(client, world, per_record):
    reference, bulk = make_copy(client, world), make_copy(client, world)
    logged_before = last_change()

    bulk_receipts = push(client, world.kader_a1, mixed_batch(bulk, world))
    per_record()
    reference_receipts = push(client, world.kader_a1, mixed_batch(reference, world))

    to_reference = mapping_between(reference, bulk)
    assert [r["status"] for r in bulk_receipts] == [
        "applied", "applied", "applied", "applied", "applied", "applied", "conflict", "duplicate", "conflict",
        "invalid", "invalid", "invalid", "invalid", "invalid", "applied", "invalid", "duplicate", "applied",
        "applied", "applied"]
    assert translate(comparable(bulk_receipts), to_reference) == translate(comparable(reference_receipts), {})
    assert by_id(translate(stored(bulk), to_reference)) == by_id(translate(stored(reference), {}))
    assert translate(audit_trail(bulk), to_reference) == translate(audit_trail(reference), {})
    new_bulk, new_reference = change_log(bulk, logged_before), change_log(reference, logged_before)
    # the same records noted with the same last op (the per-record path notes a record again when
    # a later record of the batch changes or deletes it; a pull keeps the last one)
    assert dict(translate(new_bulk, to_reference)) == dict(translate(new_reference, {}))
    assert len(new_bulk) == len(set(new_bulk))  # one row per changed record
    applied = {(r["id"], "delete" if i == 14 else "upsert") for i, r in enumerate(bulk_receipts)
               if r["status"] == "applied"}
    assert applied <= set(map(tuple, new_bulk))
    # the back-dated visit of P changed the stored status of P's later visit; the edit of P's
    # October visit (7.9 -> 8.0 kg) changed November's gain
    assert (bulk_receipts[2]["record"]["trend_status"], bulk_receipts[4]["record"]["weight_kg"]) == ("T", 8.0)

    # the whole batch again: nothing new, on both paths the same answers
    counts = (db.session.scalar(sa.select(sa.func.count()).select_from(Measurement)),
              db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))
    sa_receipts = push(client, world.kader_a1, mixed_batch(reference, world))
    assert sa_receipts[0]["status"] == "duplicate" and sa_receipts[14]["status"] == "duplicate"
    assert (db.session.scalar(sa.select(sa.func.count()).select_from(Measurement)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))[0] == counts[0]


def test_retried_batch_is_all_duplicates_on_both_paths(client, world, per_record):
    reference, bulk = make_copy(client, world), make_copy(client, world)
    first = push(client, world.kader_a1, mixed_batch(bulk, world))
    again_bulk = push(client, world.kader_a1, mixed_batch(bulk, world))
    per_record()
    push(client, world.kader_a1, mixed_batch(reference, world))
    again_reference = push(client, world.kader_a1, mixed_batch(reference, world))
    to_reference = mapping_between(reference, bulk)
    assert translate(comparable(again_bulk), to_reference) == translate(comparable(again_reference), {})
    assert "applied" not in [r["status"] for r in again_bulk]
    assert [r["status"] for r in again_bulk if r["status"] != "invalid"].count("duplicate") == \
        [r["status"] for r in first].count("applied") + [r["status"] for r in first].count("duplicate")


def test_several_visits_of_one_child_in_one_batch_as_if_posted_one_by_one(client, world):
    """child_a1 (born 2024-03-15): the visits of test_monthly_trend_b_n_t_2t_o sent in one batch,
    shuffled; stored values and receipts as posting them one by one in date order gives."""
    visits = [
        # (date, kg, status, gain_g, kbm_g, 2T) worked out by hand (KBM reading B)
        (date(2024, 9, 15), 7.5, "B", None, None, None),
        (date(2024, 10, 15), 7.9, "N", 400, 400, False),
        (date(2024, 11, 14), 8.1, "T", 200, 400, False),
        (date(2024, 12, 16), 8.3, "T", 200, 300, True),
        (date(2025, 2, 17), 8.9, "O", None, None, False),
        (date(2025, 3, 17), 8.9, "T", 0, 200, False),
    ]
    ids = [str(uuid.uuid4()) for _ in visits]
    records = [{"entity": "measurement", "id": mid, "base_version": None,
                "data": {"child_id": str(world.child_a1.id), "measured_on": d.isoformat(), "weight_kg": kg}}
               for mid, (d, kg, *_rest) in zip(ids, visits)]
    order = list(range(len(records)))
    random.Random(7).shuffle(order)
    receipts = push(client, world.kader_a1, [records[i] for i in order])
    assert all(r["status"] == "applied" for r in receipts)
    for mid, (d, kg, status, gain, kbm, is_2t) in zip(ids, visits):
        row = db.session.get(Measurement, uuid.UUID(mid))
        db.session.refresh(row)
        assert (row.trend_status, row.gain_g, row.kbm_g, bool(row.is_2t)) == (status, gain, kbm, bool(is_2t)), d
    # the last visit's warning: T after T-less-than-KBM runs: 2T is not reached (O broke the chain)
    last = db.session.get(Measurement, uuid.UUID(ids[-1]))
    assert "weight_not_gained" in [w["code"] for w in last.warnings]

    # in date order, the receipts are the stored rows (no later record of the batch changed them)
    other = factories.child(world.posyandu_a1, "Anak Kembar")
    db.session.commit()
    in_order = [{**r, "id": str(uuid.uuid4()), "data": {**r["data"], "child_id": str(other.id)}} for r in records]
    receipts = push(client, world.kader_a1, in_order)
    for receipt in receipts:
        row = db.session.get(Measurement, uuid.UUID(receipt["id"]))
        db.session.refresh(row)
        assert receipt["record"]["trend_status"] == row.trend_status
        assert receipt["record"]["warnings"] == row.warnings


def test_several_visits_match_posting_them_one_by_one(client, world):
    """The same visits: one batch on one child, one POST each in date order on its twin."""
    one, twin = (factories.child(world.posyandu_a1, name) for name in ("Anak Satu", "Anak Dua"))
    db.session.commit()
    visits = [("2024-09-15", 7.5, 66.0), ("2024-10-15", 7.9, 67.4), ("2024-10-15", 7.8, 67.5),
              ("2024-11-14", 7.6, 66.1), ("2025-01-20", 8.4, 70.0)]
    batch = [{"entity": "measurement", "id": str(uuid.uuid4()), "base_version": None,
              "data": {"child_id": str(one.id), "measured_on": d, "weight_kg": kg, "length_cm": cm,
                       "measure_method": "lying"}} for d, kg, cm in visits]
    receipts = push(client, world.kader_a1, batch)
    posted = [post(client, world.kader_a1, twin, date.fromisoformat(d), kg, length_cm=cm, measure_method="lying")
              for d, kg, cm in visits]
    for receipt, single in zip(receipts, posted):
        record, a = receipt["record"], single["assessment"]
        assert record["trend_status"] == a["trend"]["status"] and record["gain_g"] == a["trend"]["gain_g"]
        assert record["is_2t"] == a["trend"]["is_2t"] and record["kbm_g"] == a["trend"]["kbm_g"]
        # the REST answer adds each warning's message in the caller's language; the record is as stored
        assert record["warnings"] == [{k: v for k, v in w.items() if k != "message"} for w in a["warnings"]]
        assert {k: record[k] for k in ("zwei", "zlen", "zwfl", "cat_bbu", "cat_tbu", "age_days")} == {
            "zwei": a["zscores"]["zwei"], "zlen": a["zscores"]["zlen"], "zwfl": a["zscores"]["zwfl"],
            "cat_bbu": a["categories"]["bbu"]["code"], "cat_tbu": a["categories"]["tbu"]["code"],
            "age_days": a["age_days"]}
    assert [w["code"] for w in receipts[3]["record"]["warnings"]] == [w["code"] for w in posted[3]["assessment"]["warnings"]]
    assert "length_decreased" in [w["code"] for w in receipts[3]["record"]["warnings"]]  # 67.5 -> 66.1 cm


def test_mixed_batch_new_duplicate_conflict_invalid_out_of_scope(client, world):
    existing = post(client, world.kader_a1, world.child_a1, date(2024, 9, 15), 7.5)
    new_id = str(uuid.uuid4())
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Measurement))
    receipts = push(client, world.kader_a1, [
        {"entity": "measurement", "id": new_id,
         "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-10-15", "weight_kg": 7.9}},
        {"entity": "measurement", "id": existing["id"],
         "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-09-15", "weight_kg": 7.5}},
        {"entity": "measurement", "id": existing["id"], "base_version": 1, "data": {"weight_kg": 7.5}},
        {"entity": "measurement", "id": str(uuid.uuid4()),
         "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-03-01", "weight_kg": 3.0}},
        {"entity": "measurement", "id": str(uuid.uuid4()),
         "data": {"child_id": str(world.child_b1.id), "measured_on": "2024-10-15", "weight_kg": 9.0}},
    ])
    # the same id twice in one batch: applied one by one (the per-record path)
    assert [r["status"] for r in receipts] == ["applied", "duplicate", "applied", "invalid", "invalid"]
    receipts = push(client, world.kader_a1, [
        {"entity": "measurement", "id": str(uuid.uuid4()),
         "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-11-14", "weight_kg": 8.1}},
        {"entity": "measurement", "id": existing["id"],
         "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-09-15", "weight_kg": 7.5}},
        {"entity": "measurement", "id": new_id,
         "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-10-15", "weight_kg": 8.2}},
        {"entity": "measurement", "id": str(uuid.uuid4()),
         "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-03-01", "weight_kg": 3.0}},
        {"entity": "measurement", "id": str(uuid.uuid4()),
         "data": {"child_id": str(world.child_b1.id), "measured_on": "2024-10-15", "weight_kg": 9.0}},
        {"entity": "measurement", "id": str(uuid.uuid4()),
         "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-12-16"}},
    ])
    assert [r["status"] for r in receipts] == ["applied", "duplicate", "conflict", "invalid", "invalid", "invalid"]
    assert receipts[0]["record"]["trend_status"] == "T" and receipts[0]["version"] == 1
    assert receipts[1]["record"]["id"] == existing["id"] and receipts[1]["version"] == 1
    # answered in the kader's language (Bahasa Indonesia)
    assert receipts[2]["record"]["weight_kg"] == 7.9 and receipts[2]["detail"] == in_language(
        "A measurement with this id exists with different values", "id")
    assert receipts[3]["errors"] == {"measured_on": [in_language("must not be before the child's birth date", "id")]}
    assert receipts[4]["errors"] == {"child_id": [in_language("No such child.", "id")]}
    assert "weight_kg" in receipts[5]["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Measurement)) == before + 2


def test_statements_do_not_grow_with_the_batch(app, client, world):
    children = [factories.child(world.posyandu_a1, f"Anak {i}") for i in range(12)]
    db.session.commit()
    children = [SimpleNamespace(id=c.id) for c in children]  # no lazy loads in the count
    for child in children:  # a history to load and a back-dated visit to rewrite it
        post(client, world.kader_a1, child, date(2024, 10, 15), 7.9)

    def batch(kids, measured_on):
        return [{"entity": "measurement", "id": str(uuid.uuid4()),
                 "data": {"child_id": str(c.id), "measured_on": measured_on, "weight_kg": 7.5}} for c in kids] + [
                {"entity": "measurement", "id": str(uuid.uuid4()),
                 "data": {"child_id": str(c.id), "measured_on": "2024-11-14", "weight_kg": 8.1}} for c in kids]

    small = statements_during(app, lambda: push(client, world.kader_a1, batch(children[:2], "2024-09-15")))
    large = statements_during(app, lambda: push(client, world.kader_a1, batch(children[2:], "2024-09-15")))
    assert len(small) == len(large), (small, large)
    assert len(large) <= 15, large   # incl. the children's write lock (concurrent_writes.lock_children)


def long_copy(client, world, seed=11):
    """Three children born 2023-01-10 with 30 monthly visits each (some weights and lengths
    implausible), posted one by one; returns their ids and visit ids."""
    rng = random.Random(seed)
    kader = world.kader_a1
    kids = [factories.child(world.posyandu_a1, f"Anak Panjang {i}", birth_date=date(2023, 1, 10)) for i in range(3)]
    db.session.commit()
    visits = {}
    for kid in kids:
        weight, length, ids = 4.2, 54.0, []
        for month in range(30):
            weight += rng.uniform(-0.2, 0.5)
            length += rng.uniform(0.3, 1.4)
            day = date(2023 + (month + 1) // 12, (month + 1) % 12 + 1, rng.randint(5, 25))
            w = round(weight * (1.7 if rng.random() < 0.07 else 1), 1)        # now and then a slip
            cm = round(length - (4 if rng.random() < 0.07 else 0), 1)
            ids.append(post(client, kader, kid, day, w, length_cm=cm,
                            measure_method="lying" if month < 23 else "standing")["id"])
        visits[str(kid.id)] = ids
    return {"kids": [str(k.id) for k in kids], "visits": visits, "new": [str(uuid.uuid4()) for _ in range(4)]}


def long_batch(c):
    a, b, k = c["kids"]
    new = c["new"]
    edit_id, delete_id = c["visits"][k][8], c["visits"][k][24]
    return [
        {"entity": "measurement", "id": new[0], "data": {"child_id": a, "measured_on": "2025-08-20", "weight_kg": 13.1}},
        {"entity": "measurement", "id": new[1], "data": {"child_id": b, "measured_on": "2024-06-28", "weight_kg": 10.2}},
        {"entity": "measurement", "id": edit_id, "base_version": 1,
         "data": {"measured_on": "2023-10-01", "weight_kg": 8.8}},
        {"entity": "measurement", "op": "delete", "id": delete_id, "base_version": 1},
        {"entity": "measurement", "id": new[2], "data": {"child_id": k, "measured_on": "2025-08-21", "weight_kg": 12.9}},
    ]


def test_long_histories_bulk_equals_per_record(client, world, per_record):
    """Visits appended, back-dated, moved and deleted in 30-visit histories: the batch reads a
    window of each history (sync_batch._recent_histories) and gives exactly the per-record path's
    stored rows and receipts (which read and replay whole histories)."""
    reference, bulk = long_copy(client, world), long_copy(client, world)
    mapping = dict(zip(bulk["kids"], reference["kids"]))
    mapping.update(zip(bulk["new"], reference["new"]))
    for kid in bulk["kids"]:
        mapping.update(zip(bulk["visits"][kid], reference["visits"][mapping[kid]]))

    def rows(c):
        found = db.session.execute(sa.select(Measurement.__table__).where(
            Measurement.child_id.in_([uuid.UUID(k) for k in c["kids"]]))).mappings().all()
        return [{k: v for k, v in dict(r).items() if k not in VOLATILE} | {"deleted": r["deleted_at"] is not None}
                for r in found]

    bulk_receipts = push(client, world.kader_a1, long_batch(bulk))
    per_record()
    reference_receipts = push(client, world.kader_a1, long_batch(reference))
    assert [r["status"] for r in bulk_receipts] == ["applied"] * 5
    assert translate(comparable(bulk_receipts), mapping) == translate(comparable(reference_receipts), {})
    assert by_id(translate(rows(bulk), mapping)) == by_id(translate(rows(reference), {}))


def test_the_window_read_is_the_rows_a_replay_needs(client, world):
    """``sync_batch._recent_histories`` (one SQL statement per window) selects exactly the rows of
    tests/measurements/test_trend_window.py's reference window, for a change at every visit date
    of three 30-visit histories with implausible values; and the visits from that month on
    computed from it equal a whole-history replay."""
    from posyandu.measurements import assessment, operations
    from posyandu.measurements.sync_batch import _recent_histories
    from tests.measurements.test_trend_window import _window

    c = long_copy(client, world, seed=5)
    checked = 0
    for kid in c["kids"]:
        child = operations._ChildInfo(*db.session.execute(sa.select(*operations._CHILD_COLUMNS).where(
            operations._C.c.id == uuid.UUID(kid))).one())
        stored = [dict(r._mapping) for r in db.session.execute(sa.select(*operations._HISTORY_COLUMNS).where(
            Measurement.child_id == child.id, Measurement.deleted_at.is_(None))).all()]
        full = assessment.trend_values(child, stored)
        for day in sorted({r["measured_on"] for r in stored}):
            read = _recent_histories(db.session, {child.id: day})[child.id]
            assert sorted(r["id"] for r in read) == sorted(r["id"] for r in _window(child, stored, day)), day
            since = day.replace(day=1)
            part = assessment.trend_values(child, read, since=since)
            assert part == {mid: full[mid] for mid in part}
            checked += len(part)
    assert checked > 90
