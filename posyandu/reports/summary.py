"""Keep ``report_child_month`` (reports/models.py) equal to what the measurements say.

* ``refresh_child_months(session, child_ids, months=None) -> None``
    Recompute the summary rows of these children: of the given months (``Month`` objects or
    month indexes) or, with ``months=None``, of every month. Two set-based statements (DELETE
    the rows, INSERT ... SELECT the month records from ``measurement``), in the caller's
    transaction. Call it after any write that can change a row: a measurement created (its
    month), edited or deleted (the whole child: later N/T/O/B may change), a child moved,
    merged (both children), closed/reopened, its birth date or sex corrected, z-scores
    recomputed.
* ``rebuild_summary(session, progress=False, batch_children=2000) -> int``
    Empty the table and fill it again for every child, in batches of children (tqdm bar on a
    terminal); returns the rows written.
* ``summary_rows_from_scratch(session) -> list[tuple]``  the rows recomputed without touching
    the table (tests compare the two).

The record of a month: the last live measurement with a weight, by date, then entry time, then
id; without any weight in the month, the last live measurement. The child is placed at her
posyandu on the month's last day (the ``from`` posyandu of her first hand-over after that day,
else her current posyandu), and records of merged and duplicate-entry children are left out
(their history lives on the kept record).
"""
from __future__ import annotations

import sys
from typing import Iterable

import sqlalchemy as sa

from ..children.models import Child, ChildTransfer
from ..db import utcnow
from ..measurements.models import Measurement
from .models import ReportChildMonth

_M = Measurement.__table__
_C = Child.__table__
_T = ChildTransfer.__table__
_S = ReportChildMonth.__table__
#: Closed reasons whose records never count (same as reports/cohort.py NEVER_COUNTED).
_NEVER_COUNTED = ("merged", "duplicate_entry")

#: Columns copied from the record as they are.
_COPIED = ("measured_on", "age_days", "age_months", "oedema", "arm_circumference_cm", "zlen", "flen", "zwei",
           "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "cat_bbu", "cat_tbu", "cat_bbtb", "cat_imtu", "cat_lila",
           "weight_implausible", "length_implausible", "trend_status", "is_2t", "is_bgm",
           "exclusive_breastfeeding")
INSERT_COLUMNS = ("child_id", "month", "posyandu_id", "sex", "birth_date", "measurement_id", "weighed",
                  *_COPIED, "vitamin_a", "has_kia_book", "updated_at")
#: What a recomputation must reproduce (everything but the timestamp).
COMPARED_COLUMNS = INSERT_COLUMNS[:-1]


def month_index(column):
    """SQL: year * 12 + month - 1 of a date column (``areas.Month.index``)."""
    return sa.cast(sa.extract("year", column) * 12 + sa.extract("month", column) - 1, sa.Integer)


def _index(month) -> int:
    return month if isinstance(month, int) else month.index


def _month_range(index: int):
    from .areas import Month
    m = Month(index // 12, index % 12 + 1)
    return sa.and_(_M.c.measured_on >= m.first_day, _M.c.measured_on <= m.last_day)


def _records(where, now):
    """SELECT of the summary rows for the measurements matching ``where`` (columns in
    ``INSERT_COLUMNS`` order)."""
    month = month_index(_M.c.measured_on)
    part = (_M.c.child_id, month)
    flag = lambda column: sa.case((column.is_(True), 1), else_=0)  # noqa: E731
    ranked = (sa.select(
        month.label("month"), _M.c.child_id, _M.c.id.label("measurement_id"),
        _M.c.weight_kg.is_not(None).label("weighed"), *(_M.c[c] for c in _COPIED),
        sa.func.row_number().over(partition_by=part, order_by=(
            sa.case((_M.c.weight_kg.is_(None), 1), else_=0), _M.c.measured_on.desc(), _M.c.created_at.desc(),
            _M.c.id.desc())).label("rank"),
        sa.func.max(flag(_M.c.vitamin_a)).over(partition_by=part).label("vita"),
        sa.func.max(flag(_M.c.has_kia_book)).over(partition_by=part).label("kia"))
        .where(_M.c.deleted_at.is_(None), where).subquery("ranked"))
    moved = (sa.select(_T.c.from_posyandu_id)
             .where(_T.c.child_id == ranked.c.child_id, month_index(_T.c.moved_on) > ranked.c.month)
             .order_by(_T.c.moved_on, _T.c.id).limit(1).correlate(ranked).scalar_subquery())
    return (sa.select(
        ranked.c.child_id, ranked.c.month, sa.func.coalesce(moved, _C.c.posyandu_id), _C.c.sex, _C.c.birth_date,
        ranked.c.measurement_id, ranked.c.weighed, *(ranked.c[c] for c in _COPIED),
        ranked.c.vita == 1, sa.or_(ranked.c.kia == 1, _C.c.has_kia_book.is_(True)),
        sa.literal(now, ReportChildMonth.updated_at.type))
        .select_from(ranked.join(_C, _C.c.id == ranked.c.child_id))
        .where(ranked.c.rank == 1, _C.c.merged_into_id.is_(None),
               sa.func.coalesce(_C.c.closed_reason, "").not_in(_NEVER_COUNTED)))


def refresh_child_months(session, child_ids: Iterable, months: Iterable | None = None) -> None:
    """Recompute the summary rows of ``child_ids`` (of ``months``, or of every month)."""
    ids = list(dict.fromkeys(child_ids))
    if not ids:
        return
    indexes = None if months is None else sorted({_index(m) for m in months})
    where_s = [_S.c.child_id.in_(ids)]
    where_m = [_M.c.child_id.in_(ids)]
    if indexes is not None:
        if not indexes:
            return
        where_s.append(_S.c.month.in_(indexes))
        where_m.append(sa.or_(*(_month_range(i) for i in indexes)))
    session.execute(sa.delete(_S).where(*where_s))
    session.execute(sa.insert(_S).from_select(list(INSERT_COLUMNS), _records(sa.and_(*where_m), utcnow())))


def summary_rows_from_scratch(session) -> list[tuple]:
    """Every summary row recomputed from the measurements (``COMPARED_COLUMNS``), sorted."""
    query = _records(sa.true(), utcnow()).subquery("fresh")
    rows = session.execute(sa.select(*(query.c[i] for i in range(len(COMPARED_COLUMNS))))).all()
    return sorted(tuple(r) for r in rows)


def summary_rows(session) -> list[tuple]:
    """The stored summary rows (``COMPARED_COLUMNS``), sorted."""
    return sorted(tuple(r) for r in session.execute(sa.select(*(_S.c[c] for c in COMPARED_COLUMNS))).all())


def rebuild_summary(session, progress: bool = False, batch_children: int = 2000) -> int:
    """Empty the summary and refill it child batch by child batch (keyset on ``child.id``)."""
    session.execute(sa.delete(_S))
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=session.execute(sa.select(sa.func.count()).select_from(_C)).scalar_one(),
                   unit="children", desc="report summary", file=sys.stderr)
    last = None
    now = utcnow()
    try:
        while True:
            pick = sa.select(_C.c.id).order_by(_C.c.id).limit(batch_children)
            if last is not None:
                pick = pick.where(_C.c.id > last)
            ids = session.execute(pick).scalars().all()
            if not ids:
                break
            session.execute(sa.insert(_S).from_select(
                list(INSERT_COLUMNS), _records(_M.c.child_id.between(ids[0], ids[-1]), now)))
            last = ids[-1]
            if bar is not None:
                bar.update(len(ids))
    finally:
        if bar is not None:
            bar.close()
    return session.execute(sa.select(sa.func.count()).select_from(_S)).scalar_one()
