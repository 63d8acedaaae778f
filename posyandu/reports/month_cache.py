"""The nutrition report added up from per-posyandu month counts (PostgreSQL).

A kabupaten's nutrition report counts ~100,000 month records, ~40 counts each: one statement over
``report_child_month`` takes ~100 ms on a 2-core server however it is written (the benchmark's
hand-written floor), and the report must answer in less. So the counts are kept per month,
posyandu, sex and age group (``report_month_counts``, about 8 rows per posyandu and month), and a
report adds up those rows (~12,000 for a kabupaten) after recomputing the posyandu whose data
changed since their counts were taken.

**When counts are stale.** Triggers (migration 0012) append to ``report_dirty`` the posyandu and
month of every changed summary row (its old and new placement), and the posyandu with month NULL
(every month) of every changed child or hand-over and of a month record of a child registered
after that month (her first visit decides from which month she is a target child), each with the
writing transaction's id. ``report_month_cached`` holds, per month and posyandu, the snapshot
(``pg_current_snapshot()``) taken before its counts were computed. A posyandu's month is fresh
when it has a snapshot and every dirty row of it (that month, or NULL) was written by a
transaction visible in that snapshot, i.e. committed before the counts were taken: a write that
commits while counts are being computed is not visible in the snapshot taken before them, so it
makes them stale again, whatever the order of commits. Nothing is added to the measurement
POST's own statements; the triggers cost it one small insert.

**Recomputing** (:func:`_recompute`) takes a transaction-scoped advisory lock per posyandu
(sorted: no deadlock between two reports) and a ROW EXCLUSIVE lock on ``report_month_cached``
(``flask reports rebuild-summary`` takes EXCLUSIVE to empty it) *before* the snapshot, computes
the counts with ``nutrition.posyandu_rows`` (the same statements as the direct path), replaces
the posyandu's rows and snapshot, and deletes the dirty rows of those posyandu that every cached
snapshot of theirs already covers (under the lock, so no other recomputation of them is running).
The rows are written in the report request's transaction and committed with it.

``usable()`` is false on SQLite, with ``REPORT_MONTH_CACHE = False``, or when the report's counts
differ from the stored columns (``models.CACHED_KEYS``: the growth rules gained a category) —
then ``nutrition.direct_counts`` answers. Tests compare both paths after random writes.
"""
from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ..db import utcnow
from ..extensions import db
from ..regions.models import Posyandu
from .areas import Area, Month, PosyanduSet, group_column
from .cohort import grouping_sets_statement, run_grouping_sets
from .models import CACHED_KEYS
from .models import report_dirty as D
from .models import report_month_cached as C
from .models import report_month_counts as R

#: Advisory-lock class of the per-posyandu recomputation locks (reports/summary.py uses 7310).
LOCK_CLASS = 7311
#: The dirty row's transaction was visible in (committed before) the cached snapshot, and is
#: not this one (a transaction sees its own writes whatever a snapshot says: counts stored
#: earlier in it do not cover a change it made later).
_COVERED = ("(pg_visible_in_snapshot(report_dirty.txid::xid8, report_month_cached.snapshot::pg_snapshot)"
            " AND report_dirty.txid::xid8 IS DISTINCT FROM pg_current_xact_id_if_assigned())")
_NOT_COVERED = sa.literal_column("NOT " + _COVERED, sa.Boolean)


_COPY = ("COPY report_month_counts (month, posyandu_id, sex, age_group, " + ", ".join(CACHED_KEYS)
         + ") FROM STDIN")


def usable(keys: tuple) -> bool:
    """PostgreSQL, not switched off, and the report's counts ``keys`` are the stored columns."""
    return (db.session.get_bind().dialect.name == "postgresql"
            and current_app.config.get("REPORT_MONTH_CACHE", True) and tuple(keys) == CACHED_KEYS)


def stale_posyandu(area: Area, month: Month) -> list[int]:
    """The area's posyandu whose counts of ``month`` are missing or older than a change."""
    changed = (sa.select(sa.literal(1))
               .where(D.c.posyandu_id == Posyandu.id, sa.or_(D.c.month == month.index, D.c.month.is_(None)),
                      _NOT_COVERED)
               .exists())
    query = (sa.select(Posyandu.id)
             .outerjoin(C, sa.and_(C.c.month == month.index, C.c.posyandu_id == Posyandu.id))
             .where(area.posyandu_condition(), sa.or_(C.c.posyandu_id.is_(None), changed))
             .order_by(Posyandu.id))
    return list(db.session.execute(query).scalars())


def _recompute(ids: list[int], month: Month, compute) -> None:
    """Replace the counts of ``month`` for posyandu ``ids`` (see module doc) with
    ``compute(area, month)`` (``nutrition.posyandu_rows``)."""
    session = db.session
    session.execute(sa.text("SELECT pg_advisory_xact_lock(:cls, p) FROM unnest(CAST(:ids AS int[])) AS p ORDER BY p"),
                    {"cls": LOCK_CLASS, "ids": ids})
    session.execute(sa.text("LOCK TABLE report_month_cached IN ROW EXCLUSIVE MODE"))
    snapshot = session.execute(sa.text("SELECT pg_current_snapshot()::text")).scalar_one()
    rows = compute(PosyanduSet(ids), month)
    session.execute(sa.delete(R).where(R.c.month == month.index, R.c.posyandu_id.in_(ids)))
    if rows:  # COPY: a whole kabupaten is ~12,000 rows of 47 columns
        with session.connection().connection.driver_connection.cursor() as cursor:
            with cursor.copy(_COPY) as copy:
                for (pid, sex, age), v in rows.items():
                    copy.write_row((month.index, pid, sex, age, *(v[k] for k in CACHED_KEYS)))
    upsert = pg_insert(C).values([{"month": month.index, "posyandu_id": pid, "snapshot": snapshot, "computed_at": utcnow()}
                               for pid in ids])
    session.execute(upsert.on_conflict_do_update(
        index_elements=[C.c.month, C.c.posyandu_id],
        set_={"snapshot": upsert.excluded.snapshot, "computed_at": upsert.excluded.computed_at}))
    # dirty rows every cached snapshot of their posyandu (and month) already covers say nothing more
    uncovered = (sa.select(sa.literal(1))
                 .where(C.c.posyandu_id == D.c.posyandu_id, sa.or_(D.c.month.is_(None), C.c.month == D.c.month),
                        _NOT_COVERED)
                 .exists())
    session.execute(sa.delete(D).where(D.c.posyandu_id.in_(ids), sa.not_(uncovered)))


@lru_cache(maxsize=None)
def _sums_statement(by: str, level: str) -> tuple:
    """The stored counts of a month summed per ``by`` group and per sex and age group, for an
    area at ``level`` (binds ``month`` and ``area_key``): built once, since building its ~40 sums
    cost more than running it."""
    group = Posyandu.id if by == "posyandu" else group_column(by, Posyandu)
    sums = [sa.func.sum(R.c[k]).label(k) for k in CACHED_KEYS]
    where = sa.and_(R.c.month == sa.bindparam("month", type_=sa.Integer),
                    group_column(level, Posyandu) == sa.bindparam("area_key"))
    return grouping_sets_statement({"area": group, "sex": R.c.sex, "age_group": R.c.age_group},
                                   (("area",), ("sex", "age_group")), sums, "postgresql",
                                   select_from=R.join(Posyandu, Posyandu.id == R.c.posyandu_id), where=where)


def counts(area: Area, month: Month, by: str, keys: tuple, compute) -> tuple[dict, dict]:
    """``nutrition.nutrition_counts`` from the stored counts, stale posyandu recomputed first
    with ``compute(area, month) -> {(posyandu_id, sex, age_group): {key: n}}``; every ``keys``
    present in each result dict."""
    stale = stale_posyandu(area, month)
    if stale:
        _recompute(stale, month, compute)
    per_group: dict = {}
    per_sex_age: dict = {}
    rows = run_grouping_sets(_sums_statement(by, area.level), {"month": month.index, "area_key": area.key})
    for index, row in rows:
        out = (per_group.setdefault(row["area"], dict.fromkeys(keys, 0)) if index == 0
               else per_sex_age.setdefault((int(row["sex"]), row["age_group"]), dict.fromkeys(keys, 0)))
        for k in CACHED_KEYS:
            out[k] = int(row[k] or 0)
    return per_group, per_sex_age


def clear(session) -> None:
    """Forget every stored count (after the summary was rebuilt behind the triggers' back);
    waits for running recomputations and keeps new ones out until the caller commits."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(sa.text("LOCK TABLE report_month_cached IN EXCLUSIVE MODE"))
    for table in (R, C, D):
        session.execute(sa.delete(table))
