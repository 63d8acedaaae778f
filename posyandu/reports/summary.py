"""Keep ``report_child_month`` (reports/models.py) equal to what the measurements say.

* ``refresh_child_months(session, child_ids, months=None) -> None``
    Recompute the summary rows of these children: of the given months (``Month`` objects or
    month indexes) or, with ``months=None``, of every month. Two set-based statements (DELETE
    the rows, INSERT ... SELECT the month records from ``measurement``), in the caller's
    transaction; with ``added=True`` (a visit was only added) one upsert on the primary key.
    Call it after any write that can change a row: a measurement created (its
    month), edited or deleted (the whole child: later N/T/O/B may change), a child moved,
    merged (both children), closed/reopened, its birth date or sex corrected, z-scores
    recomputed.
* ``record_companion(child_id, month) -> concurrent_writes.Derived``
    The row of a visit dated after all the child's others, written by the measurement's own
    INSERT statement on PostgreSQL (merged with the month's row by rank: no lock, one round
    trip); on SQLite the month's upsert right after it.
* ``rebuild_summary(session, progress=False, batch_children=2000) -> int``
    Empty the table and fill it again for every child, in batches of children (tqdm bar on a
    terminal); returns the rows written.
* ``summary_rows_from_scratch(session) -> list[tuple]``  the rows recomputed without touching
    the table (tests compare the two).

The record of a month: the last live measurement with a weight, by date, then entry time, then
id; without any weight in the month, the last live measurement. (A record whose weight is
implausible keeps its values; its flags and ``weight_implausible`` tell the reports to leave
them out: the nutrition report counts it as excluded, SKDN as weighed without a status.) The child is placed at her
posyandu on the month's last day (the ``from`` posyandu of her first hand-over after that day,
else her current posyandu), and records of merged and duplicate-entry children are left out
(their history lives on the kept record).
"""
from __future__ import annotations

import sys
from functools import lru_cache
from typing import Iterable

import sqlalchemy as sa

from ..children.models import Child, ChildTransfer
from ..concurrent_writes import lock_children
from ..db import utcnow
from ..measurements.models import Measurement
from .models import ReportChildMonth

_M = Measurement.__table__
_C = Child.__table__
_T = ChildTransfer.__table__
_S = ReportChildMonth.__table__
#: Closed reasons whose records never count (same as reports/cohort.py NEVER_COUNTED).
_NEVER_COUNTED = ("merged", "duplicate_entry")
#: The same as SQL constants: ``NOT IN ('merged', 'duplicate_entry')`` written into the statements,
#: not an expanding parameter that SQLAlchemy would re-render into the SQL text on every run
#: (the measurement POST's INSERT and every refresh carry this condition).
_NEVER_COUNTED_SQL = tuple(sa.literal_column("'" + reason + "'") for reason in _NEVER_COUNTED)

#: Columns copied from the record as they are.
_COPIED = ("measured_on", "age_days", "age_months", "oedema", "arm_circumference_cm", "zlen", "flen", "zwei",
           "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "cat_bbu", "cat_tbu", "cat_bbtb", "cat_imtu", "cat_lila",
           "weight_implausible", "length_implausible", "trend_status", "is_2t", "is_bgm",
           "exclusive_breastfeeding")
INSERT_COLUMNS = ("child_id", "month", "posyandu_id", "sex", "birth_date", "measurement_id", "weighed",
                  *_COPIED, "vitamin_a", "has_kia_book", "record_created_at", "updated_at")
#: The columns that come from the month's record (a new visit replaces them only when it ranks higher).
RECORD_COLUMNS = ("measurement_id", "weighed", *_COPIED, "record_created_at")
#: What a recomputation must reproduce (everything but the timestamp).
COMPARED_COLUMNS = INSERT_COLUMNS[:-1]


def month_index(column):
    """SQL: year * 12 + month - 1 of a date column (``areas.Month.index``)."""
    return sa.cast(sa.extract("year", column) * 12 + sa.extract("month", column) - 1, sa.Integer)


def _index(month) -> int:
    return month if isinstance(month, int) else month.index


def _month_bounds(index: int):
    from .areas import Month
    m = Month(index // 12, index % 12 + 1)
    return m.first_day, m.last_day


def _records(where, now):
    """SELECT of the summary rows for the measurements matching ``where`` (columns in
    ``INSERT_COLUMNS`` order)."""
    month = month_index(_M.c.measured_on)
    part = (_M.c.child_id, month)
    flag = lambda column: sa.case((column.is_(True), 1), else_=0)  # noqa: E731
    ranked = (sa.select(
        month.label("month"), _M.c.child_id, _M.c.id.label("measurement_id"),
        _M.c.weight_kg.is_not(None).label("weighed"), *(_M.c[c] for c in _COPIED),
        _M.c.created_at.label("record_created_at"),
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
        ranked.c.vita == 1, sa.or_(ranked.c.kia == 1, _C.c.has_kia_book.is_(True)), ranked.c.record_created_at,
        now if isinstance(now, sa.BindParameter) else sa.literal(now, ReportChildMonth.updated_at.type))
        .select_from(ranked.join(_C, _C.c.id == ranked.c.child_id))
        .where(ranked.c.rank == 1, _C.c.merged_into_id.is_(None),
               sa.func.coalesce(_C.c.closed_reason, "").not_in(_NEVER_COUNTED_SQL)))


def _merge_set(excluded) -> dict:
    """ON CONFLICT DO UPDATE of a summary row with a candidate row (``excluded``): the record
    columns of whichever record ranks higher (weighed, date, entry time, id: the order of
    :func:`_records`), vitamin A and the KIA book of either, the placement of the candidate.
    Merging is commutative, so two writes of one child give the same row in either order."""
    wins = (sa.tuple_(excluded.weighed, excluded.measured_on, excluded.record_created_at, excluded.measurement_id)
            > sa.tuple_(_S.c.weighed, _S.c.measured_on, _S.c.record_created_at, _S.c.measurement_id))
    out = {c: sa.case((wins, excluded[c]), else_=_S.c[c]) for c in RECORD_COLUMNS}
    out.update(vitamin_a=sa.or_(_S.c.vitamin_a, excluded.vitamin_a),
               has_kia_book=sa.or_(_S.c.has_kia_book, excluded.has_kia_book),
               posyandu_id=excluded.posyandu_id, sex=excluded.sex, birth_date=excluded.birth_date,
               updated_at=excluded.updated_at)
    return out


def _merging_insert(select):
    """PostgreSQL ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` merging into an existing row."""
    from sqlalchemy.dialects.postgresql import insert
    statement = insert(_S).from_select(list(INSERT_COLUMNS), select)
    return statement.on_conflict_do_update(index_elements=[_S.c.child_id, _S.c.month],
                                           set_=_merge_set(statement.excluded))


def _record_from_new_row(new):
    """The summary row of a just-inserted measurement (``new``: a CTE of its RETURNING), as if it
    were its month's record; :func:`_merge_set` then keeps whichever record ranks higher."""
    month = month_index(new.c.measured_on)
    moved = (sa.select(_T.c.from_posyandu_id)
             .where(_T.c.child_id == new.c.child_id, month_index(_T.c.moved_on) > month)
             .order_by(_T.c.moved_on, _T.c.id).limit(1).scalar_subquery())
    return (sa.select(
        new.c.child_id, month, sa.func.coalesce(moved, _C.c.posyandu_id), _C.c.sex, _C.c.birth_date,
        new.c.id, new.c.weight_kg.is_not(None), *(new.c[c] for c in _COPIED),
        new.c.vitamin_a.is_(True), sa.or_(new.c.has_kia_book.is_(True), _C.c.has_kia_book.is_(True)),
        new.c.created_at, new.c.updated_at)
        .select_from(new.join(_C, _C.c.id == new.c.child_id))
        .where(_C.c.merged_into_id.is_(None), sa.func.coalesce(_C.c.closed_reason, "").not_in(_NEVER_COUNTED_SQL)))


#: What :func:`record_companion`'s statement reads of the new measurement row.
NEW_ROW_COLUMNS = ("id", "child_id", "measured_on", "weight_kg", *_COPIED, "vitamin_a", "has_kia_book",
                   "created_at", "updated_at")


def record_companion(child_id, month: int):
    """The summary row of a measurement being inserted by ``concurrent_writes.insert_new``, as
    one of its companions: on PostgreSQL merged into the child's month in the same statement
    (one round trip, no re-ranking of the month, no lock: :func:`_merge_set` is order-free);
    on SQLite (one writer at a time) the month recomputed right after the insert.

    Only for a visit dated after every other live visit of the child: one that is not may
    change later months too (:func:`refresh_child_months` of every month)."""
    from ..concurrent_writes import Derived

    def fallback(session):
        refresh_child_months(session, [child_id], [month], added=True)
    return Derived(key="report_child_month", needs=NEW_ROW_COLUMNS,
                   build=lambda new: _merging_insert(_record_from_new_row(new)), fallback=fallback)


_NOW = sa.bindparam("now", type_=ReportChildMonth.updated_at.type)
_IDS = sa.bindparam("ids", expanding=True, type_=sa.Uuid)
_MONTHS = sa.bindparam("months", expanding=True, type_=sa.Integer)


@lru_cache(maxsize=None)
def _statements(kind: str, dialect: str):
    """Statements built once (building the INSERT ... SELECT costs more than running it):
    ``"upsert"`` one child and month (bind ``cid``, ``first``, ``last``, ``now``); ``"months"``
    children and months (``ids``, ``months``); ``"all"`` every month of the children (``ids``)."""
    if kind == "upsert":
        where = sa.and_(_M.c.child_id == sa.bindparam("cid", type_=sa.Uuid),
                        _M.c.measured_on >= sa.bindparam("first", type_=sa.Date),
                        _M.c.measured_on <= sa.bindparam("last", type_=sa.Date))
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(_S).from_select(list(INSERT_COLUMNS), _records(where, _NOW))
        return (statement.on_conflict_do_update(
            index_elements=[_S.c.child_id, _S.c.month],
            set_={c: statement.excluded[c] for c in INSERT_COLUMNS if c not in ("child_id", "month")}),)
    # PostgreSQL: the recomputed rows merge into a row that a measurement POST inserted
    # meanwhile (record_companion takes no lock; its uncommitted row is not deleted above)
    insert = (_merging_insert if dialect == "postgresql"
              else lambda select: sa.insert(_S).from_select(list(INSERT_COLUMNS), select))
    if kind == "months":
        return (sa.delete(_S).where(_S.c.child_id.in_(_IDS), _S.c.month.in_(_MONTHS)),
                insert(_records(sa.and_(_M.c.child_id.in_(_IDS), month_index(_M.c.measured_on).in_(_MONTHS)),
                                _NOW)))
    return (sa.delete(_S).where(_S.c.child_id.in_(_IDS)), insert(_records(_M.c.child_id.in_(_IDS), _NOW)))


def refresh_child_months(session, child_ids: Iterable, months: Iterable | None = None, *,
                         added: bool = False) -> None:
    """Recompute the summary rows of ``child_ids`` (of ``months``, or of every month).

    ``added=True`` (a measurement was only added, so no row of these months can disappear):
    one INSERT ... SELECT ... ON CONFLICT DO UPDATE on the primary key instead of DELETE +
    INSERT (on SQLite the measurement POST's path; on PostgreSQL the POST merges its row in its own
    INSERT statement instead: :func:`record_companion`)."""
    ids = list(dict.fromkeys(child_ids))
    if not ids:
        return
    indexes = None if months is None else sorted({_index(m) for m in months})
    if indexes is not None and not indexes:
        return
    now = utcnow()
    dialect = session.get_bind().dialect.name
    # the children's write lock (usually already held by the write that refreshes): a refresh
    # that started before another write of the child committed would store a month without that
    # write's visit, or its DELETE + INSERT would meet the other's freshly inserted row
    lock_children(session, ids)
    if added and indexes is not None and dialect in ("postgresql", "sqlite"):
        (statement,) = _statements("upsert", dialect)
        for cid in ids:
            for index in indexes:
                first, last = _month_bounds(index)
                session.execute(statement, {"cid": cid, "first": first, "last": last, "now": now})
        return
    if indexes is None:
        delete, insert = _statements("all", dialect)
        params = {"ids": ids, "now": now}
    else:
        delete, insert = _statements("months", dialect)
        params = {"ids": ids, "months": indexes, "now": now}
    session.execute(delete, params)
    session.execute(insert, params)


def summary_rows_from_scratch(session) -> list[tuple]:
    """Every summary row recomputed from the measurements (``COMPARED_COLUMNS``), sorted."""
    query = _records(sa.true(), utcnow()).subquery("fresh")
    rows = session.execute(sa.select(*(query.c[i] for i in range(len(COMPARED_COLUMNS))))).all()
    return sorted(tuple(r) for r in rows)


def summary_rows(session) -> list[tuple]:
    """The stored summary rows (``COMPARED_COLUMNS``), sorted."""
    return sorted(tuple(r) for r in session.execute(sa.select(*(_S.c[c] for c in COMPARED_COLUMNS))).all())


def rebuild_summary(session, progress: bool = False, batch_children: int = 2000) -> int:
    """Empty the summary and refill it child batch by child batch (keyset on ``child.id``).
    On PostgreSQL without the report triggers (millions of rows), and the nutrition report's
    per-posyandu counts are emptied instead (``month_cache.clear``, in this transaction)."""
    from . import month_cache
    if session.get_bind().dialect.name == "postgresql":
        month_cache.clear(session)
        session.execute(sa.text("SELECT set_config('posyandu.skip_report_dirty', 'on', true)"))
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
