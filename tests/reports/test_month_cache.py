"""The nutrition report from stored per-posyandu month counts (``reports.month_cache``,
PostgreSQL) equals the direct computation from the summary rows after any sequence of writes
over HTTP: measurement create/edit/delete, sync push (creates, deletes, edits moving a visit),
child move, merge, close/reopen, birth-date/sex/KIA corrections, z-score recomputation. The
triggers of migration 0012 must mark every posyandu and month these writes change.

These tests run inside one transaction (the suite's rollback fixture), where counts never cover
the transaction's own changes; tests/concurrency has the same checks across real commits, where
each trigger's marks alone decide."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from posyandu.extensions import db
from posyandu.reports import month_cache, nutrition
from posyandu.reports.areas import Month, _lookup
from posyandu.reports.models import report_month_cached
from tests.reports.test_summary_table import Driver

pytestmark = pytest.mark.postgres_only

#: Months inside the Driver's visit window (2025-06 .. 2026-11) and one before it.
MONTHS = [Month(2025, 5), Month(2025, 8), Month(2025, 12), Month(2026, 3), Month(2026, 7), Month(2026, 11)]


def _areas(world):
    # two areas of one level and breakdown: the stored counts' statement is built once per
    # breakdown and level and binds the area (month_cache._sums_statement)
    return [(_lookup("kabupaten", "35.25"), "kecamatan"), (_lookup("kabupaten", "35.25"), "posyandu"),
            (_lookup("puskesmas", world.puskesmas_a.code), "posyandu"),
            (_lookup("puskesmas", world.puskesmas_b.code), "posyandu"),
            (_lookup("posyandu", world.posyandu_a1.code), "posyandu"),
            (_lookup("posyandu", world.posyandu_b1.code), "posyandu")]


def _compare(world):
    db.session.flush()
    for area, by in _areas(world):
        for month in MONTHS:
            assert nutrition.nutrition_counts(area, month, by) == nutrition.direct_counts(area, month, by), (area, month, by)


def test_the_cache_is_used_on_postgresql(client, world):
    assert month_cache.usable(nutrition.count_keys())


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_stored_counts_equal_the_direct_computation_after_random_writes(client, world, seed):
    d = Driver(client, world, seed)
    # half registered before their visits (as usual: a visit then marks only its own month
    # stale), half registered today with their earlier visits entered late (a first visit then
    # decides from which month the child counts in S: every month of the posyandu is stale)
    from posyandu.children.models import Child
    db.session.execute(sa.update(Child).where(Child.id.in_([c.id for c in d.children[::2]]))
                       .values(created_at=datetime(2024, 12, 1, tzinfo=timezone.utc)))
    db.session.commit()
    steps = ([d.create] * 8 + [d.edit] * 3 + [d.delete] * 2 + [d.push] * 2 + [d.move] * 2 + [d.merge, d.close_reopen]
             + [d.correct_child] * 2 + [d.recompute])
    for _ in range(12):
        d.create()
    _compare(world)
    for i in range(48):
        d.rng.choice(steps)()
        if i % 4 == 3:
            _compare(world)
    _compare(world)
    assert db.session.execute(sa.select(sa.func.count()).select_from(report_month_cached)).scalar_one()
