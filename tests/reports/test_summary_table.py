"""The report summary (``report_child_month``) is maintained at write time: after any sequence of
writes over HTTP (measurement create/edit/delete, sync push, child move, merge, close/reopen,
birth-date/sex/KIA corrections, z-score recomputation) it equals a recomputation from scratch."""
from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import pytest

from posyandu.concurrent_writes import CHILD_LOCK_BUCKETS, CHILD_LOCK_CLASS
from posyandu.extensions import db
from posyandu.reports import summary
from tests import factories
from tests.factories import headers

API = "/api/v1"


def _check():
    db.session.flush()
    stored = summary.summary_rows(db.session)
    fresh = summary.summary_rows_from_scratch(db.session)
    assert stored == fresh


class Driver:
    def __init__(self, client, world, seed):
        self.client, self.w, self.rng = client, world, random.Random(seed)
        self.posyandu = [world.posyandu_a1, world.posyandu_a2, world.posyandu_b1]
        self.children = [factories.child(self.rng.choice(self.posyandu), f"Anak {i}", sex=1 + i % 2,
                                         birth_date=date(2024, 1, 1) + timedelta(days=self.rng.randrange(500)),
                                         mother_name=f"Ibu {i}") for i in range(6)]
        db.session.commit()
        self.measurements: list[str] = []

    def call(self, method, url, **kw):
        response = getattr(self.client, method)(API + url, headers=headers(self.w.admin), **kw)
        assert response.status_code < 500, response.get_json()
        return response

    def day(self):
        return date(2025, 6, 1) + timedelta(days=self.rng.randrange(520))

    def values(self):
        v = {"weight_kg": round(self.rng.uniform(7, 13), 1)}
        if self.rng.random() < 0.6:
            v.update(length_cm=round(self.rng.uniform(70, 95), 1) if self.rng.random() < 0.9 else 50.0,
                     measure_method="lying")
        if self.rng.random() < 0.2:
            v["vitamin_a"] = True
        if self.rng.random() < 0.3:
            v["has_kia_book"] = self.rng.random() < 0.7
        if self.rng.random() < 0.1:
            v["oedema"] = True
        if self.rng.random() < 0.1:
            del v["weight_kg"]
            v.setdefault("length_cm", 80.0)
            v.setdefault("measure_method", "lying")
        return v

    def create(self):
        child = self.rng.choice(self.children)
        body = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": self.day().isoformat(),
                **self.values()}
        if self.call("post", "/measurements", json=body).status_code == 201:
            self.measurements.append(body["id"])

    def edit(self):
        if self.measurements:
            mid = self.rng.choice(self.measurements)
            data = {"weight_kg": round(self.rng.uniform(7, 13), 1)} if self.rng.random() < 0.5 \
                else {"measured_on": self.day().isoformat()}
            self.call("patch", f"/measurements/{mid}", json=data)

    def delete(self):
        if self.measurements:
            mid = self.rng.choice(self.measurements)
            self.call("delete", f"/measurements/{mid}")

    def push(self):
        child = self.rng.choice(self.children)
        records = []
        for _ in range(3):
            mid = str(uuid.uuid4())
            records.append({"entity": "measurement", "id": mid, "base_version": None,
                            "data": {"child_id": str(child.id), "measured_on": self.day().isoformat(),
                                     **self.values()}})
            self.measurements.append(mid)
        if self.measurements[:-3] and self.rng.random() < 0.5:
            records.append({"entity": "measurement", "op": "delete", "id": self.rng.choice(self.measurements[:-3]),
                            "base_version": None})
        if self.measurements[:-3] and self.rng.random() < 0.5:  # an edit moving a visit to another day
            mid = self.rng.choice(self.measurements[:-3])
            stored = self.call("get", f"/measurements/{mid}")
            if stored.status_code == 200 and not stored.get_json().get("deleted_at"):
                records.append({"entity": "measurement", "id": mid, "base_version": stored.get_json()["version"],
                                "data": {"measured_on": self.day().isoformat(),
                                         "weight_kg": round(self.rng.uniform(7, 13), 1)}})
        self.call("post", "/sync/push", json={"records": records})

    def move(self):
        child = self.rng.choice(self.children)
        target = self.rng.choice([p for p in self.posyandu if p.id != child.posyandu_id])
        self.call("post", f"/children/{child.id}/move",
                  json={"posyandu_id": target.id, "moved_on": self.day().isoformat()})

    def merge(self):
        keep, duplicate = self.rng.sample(self.children, 2)
        self.call("post", f"/children/{keep.id}/merge", json={"duplicate_id": str(duplicate.id)})

    def close_reopen(self):
        child = self.rng.choice(self.children)
        if self.rng.random() < 0.5:
            self.call("post", f"/children/{child.id}/close",
                      json={"reason": "duplicate_entry", "closed_on": "2026-01-15"})
        else:
            self.call("post", f"/children/{child.id}/reopen")

    def correct_child(self):
        child = self.rng.choice(self.children)
        choice = self.rng.random()
        data = ({"birth_date": (child.birth_date - timedelta(days=self.rng.randrange(1, 40))).isoformat()}
                if choice < 0.4 else {"sex": 3 - child.sex} if choice < 0.7
                else {"has_kia_book": self.rng.random() < 0.5})
        self.call("patch", f"/children/{child.id}", json=data)

    def recompute(self):
        from posyandu.measurements.operations import recompute_all
        recompute_all(db.session)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_the_summary_equal_to_a_recomputation(client, world, seed):
    d = Driver(client, world, seed)
    steps = ([d.create] * 8 + [d.edit] * 3 + [d.delete] * 2 + [d.push] * 2 + [d.move] * 2 + [d.merge, d.close_reopen]
             + [d.correct_child] * 2 + [d.recompute])
    for _ in range(12):
        d.create()
    _check()
    for i in range(60):
        d.rng.choice(steps)()
        if i % 10 == 9:
            _check()
    _check()
    assert summary.summary_rows(db.session), "the sequence left rows to compare"


def test_rebuild_command(runner, client, world):
    d = Driver(client, world, 7)
    for _ in range(10):
        d.create()
    db.session.commit()
    before = summary.summary_rows(db.session)
    from posyandu.reports.models import ReportChildMonth
    db.session.query(ReportChildMonth).delete()
    db.session.commit()
    result = runner.invoke(args=["reports", "rebuild-summary"])
    assert result.exit_code == 0, result.output
    assert summary.summary_rows(db.session) == before and before


@pytest.mark.postgres_only
def test_refreshing_many_children_in_one_transaction_holds_a_bounded_number_of_locks(client, world):
    """A recompute or demo load refreshes every child in one transaction: one advisory lock per
    child would overflow PostgreSQL's shared lock table (~6,400 entries by default; seen as "out
    of shared memory" at 30,000 children). The locks are per bucket of children instead."""
    import sqlalchemy as sa
    ids = [uuid.uuid4() for _ in range(5000)]
    summary.refresh_child_months(db.session, ids)
    held = db.session.execute(sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :cls "
        "AND pid = pg_backend_pid()"), {"cls": CHILD_LOCK_CLASS}).scalar_one()
    assert 0 < held <= CHILD_LOCK_BUCKETS
