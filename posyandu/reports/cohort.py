"""Who a monthly report counts, where, and at what age; and its breakdown rows.

**Target children (S) of a month** (:func:`month_children`), the definition of the report
summary (docs/reports.md): a child of the registry, never a merged or duplicate record (her
history lives on the kept record), registered by the month's end (created by then, or measured
by then), not closed before the month (closed during it still counts), born by the month's end
and under 60 completed months on its first day. Each is placed at the posyandu she belonged to
on the month's last day: the ``from`` posyandu of her first hand-over after that day, else her
current posyandu. So a child who moved during the month is counted once, where she was at the
month's end, and a report of a past month does not move with later hand-overs.

**Ages** are completed calendar months (*bulan penuh*, as ``measurement.age_months``) on the
month's last day, turned into birth-date bounds in Python (:func:`latest_birth_for_age`), so
SQL compares plain dates on both SQLite and PostgreSQL.

**Breakdowns** (:func:`resolve_by`, :func:`groups`, :func:`breakdown_rows`): one row per area
of the level below (every area, also those with nothing to count), with posyandu rows carrying
desa and puskesmas subtotals, and a total.
"""
from __future__ import annotations

import datetime as _dt
from typing import Callable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..children.models import Child, ChildTransfer
from ..core.growth.trend import completed_months
from ..core.schedule import add_months
from ..errors import InvalidInput
from ..measurements.models import Measurement
from .areas import LEVELS_BELOW, Area, Month
from .document import ROW_LEVEL, Column
from .subtotals import DIRECTORY_COLUMNS, GroupLevel, PUSKESMAS_DESA, posyandu_directory, with_subtotals

UNDER_FIVE_MONTHS = 60
#: Closed reasons whose record never counts (the kept record carries the child).
NEVER_COUNTED = ("merged", "duplicate_entry")
_DAY = _dt.timedelta(days=1)


def latest_birth_for_age(on: _dt.date, months: int) -> _dt.date:
    """The latest birth date of a child with at least ``months`` completed months on ``on``
    (``age >= months`` ⇔ ``birth_date <= this``)."""
    birth = add_months(on, -months)
    while completed_months(birth + _DAY, on) >= months:
        birth += _DAY
    while completed_months(birth, on) < months:
        birth -= _DAY
    return birth


def age_in_months_between(birth_column, on: _dt.date, low: int, high: int):
    """SQL: completed age on ``on`` is within ``low..high`` months (inclusive)."""
    return sa.and_(birth_column <= latest_birth_for_age(on, low),
                   birth_column > latest_birth_for_age(on, high + 1))


def first_transfer_after(day: _dt.date):
    """Subquery ``(child_id, from_posyandu_id)`` of each child's first hand-over after ``day``."""
    ranked = (sa.select(ChildTransfer.child_id, ChildTransfer.from_posyandu_id,
                        sa.func.row_number().over(partition_by=ChildTransfer.child_id,
                                                  order_by=(ChildTransfer.moved_on, ChildTransfer.id)).label("rn"))
              .where(ChildTransfer.moved_on > day).subquery("transfers_after"))
    return (sa.select(ranked.c.child_id, ranked.c.from_posyandu_id).where(ranked.c.rn == 1)
            .subquery("first_transfer_after"))


def month_children(area: Area, month: Month, *, born_after: _dt.date | None = None, name: str = "registered",
                   columns: Sequence = ()):
    """Subquery ``(child_id, posyandu_id, birth_date, sex, *columns)``: the target children (S)
    of ``area`` in ``month``, placed at their posyandu of the month's last day (see module doc).
    ``born_after`` narrows to younger children (an index-friendly bound); ``columns`` are more
    ``child`` columns to carry (SKDN's KMS flag), so callers need not join ``child`` again.

    Index-friendly (``ix_child_posyandu_birth``, migration 0009, covers every column read): the
    child's own posyandu is in the area, or she was handed over after the month (the few whose
    posyandu of the month differs), before the exact placement; "measured by the month's end" is
    her first live measurement's date, looked up per child only when she was created after the
    month (an EXISTS here let PostgreSQL plan a hash of every measurement)."""
    start, end = month.first_day, month.last_day
    moved = first_transfer_after(end)
    posyandu_then = sa.func.coalesce(moved.c.from_posyandu_id, Child.posyandu_id)
    oldest = latest_birth_for_age(start, UNDER_FIVE_MONTHS)  # 60 months on the 1st: no longer S
    lower = max(oldest, born_after) if born_after else oldest
    next_month = _dt.datetime.combine(month.shift(1).first_day, _dt.time(0), tzinfo=_dt.timezone.utc)
    first_measured = (sa.select(sa.func.min(Measurement.measured_on))
                      .where(Measurement.child_id == Child.id, Measurement.deleted_at.is_(None))
                      .correlate(Child).scalar_subquery())
    area_ids = area.posyandu_ids()
    moved_after = sa.select(ChildTransfer.child_id).where(ChildTransfer.moved_on > end)
    return (sa.select(Child.id.label("child_id"), posyandu_then.label("posyandu_id"), Child.birth_date, Child.sex,
                      *columns)
            .outerjoin(moved, moved.c.child_id == Child.id)
            .where(Child.birth_date <= end, Child.birth_date > lower,
                   Child.merged_into_id.is_(None),
                   sa.func.coalesce(Child.closed_reason, "").not_in(NEVER_COUNTED),
                   sa.or_(Child.status == "active", Child.closed_on.is_(None), Child.closed_on >= start),
                   sa.or_(Child.created_at < next_month, first_measured <= end),
                   sa.or_(Child.posyandu_id.in_(area_ids), Child.id.in_(moved_after)),
                   posyandu_then.in_(area_ids))
            .subquery(name))


def latest_measurements(where, order, columns, name: str):
    """Subquery: per child, the one measurement meeting ``where(m)`` that comes last by
    ``order(m)`` (a tuple of columns), with ``columns(m)``. An anti-join ("no later one"), not
    ``row_number() = 1``: PostgreSQL estimates the latter at a handful of rows and then joins
    it to 100,000 children by nested loop (minutes instead of a second)."""
    first, later = aliased(Measurement), aliased(Measurement)
    newer = sa.exists().where(later.child_id == first.child_id, where(later),
                              sa.tuple_(*order(later)) > sa.tuple_(*order(first)))
    return sa.select(*columns(first)).where(where(first), sa.not_(newer)).subquery(name)


def grouping_sets(keys: dict, sets: Sequence[tuple[str, ...]], columns: Sequence, *, select_from=None,
                  where=None) -> list[tuple[int, dict]]:
    """One aggregate over several groupings at once: ``[(set index, row)]``, a row per group of
    each set in ``sets`` (tuples of names of ``keys``, ``{name: expression}``), key columns
    outside the row's set None. ``columns`` are labelled counts (additive): they are computed
    once per combination of all keys (the per-row expressions run once), and those few thousand
    partial counts are summed per set -- PostgreSQL: ``GROUP BY GROUPING SETS`` in the same
    statement; other dialects: a ``UNION ALL`` of the sets over the same partial counts."""
    from ..extensions import db
    return run_grouping_sets(grouping_sets_statement(keys, sets, columns, db.session.get_bind().dialect.name,
                                                     select_from=select_from, where=where))


def grouping_sets_statement(keys: dict, sets: Sequence[tuple[str, ...]], columns: Sequence, dialect: str, *,
                            select_from=None, where=None) -> tuple:
    """The statement :func:`grouping_sets` runs and how to read its rows, to build once and run
    with :func:`run_grouping_sets` (a report's ~40 sums make building it cost more than running
    it on stored counts); ``where`` may hold bind parameters."""
    names = list(dict.fromkeys(n for s in sets for n in s))
    inner = sa.select(*(keys[n].label(n) for n in names), *columns)
    if select_from is not None:
        inner = inner.select_from(select_from)
    if where is not None:
        inner = inner.where(where)
    part = inner.group_by(*(keys[n] for n in names)).subquery("partial_counts")
    sums = [sa.func.sum(part.c[c.name]).label(c.name) for c in columns]

    if dialect == "postgresql":
        # GROUPING(a, b, ...): a bit per key, set when the key is NOT grouped in the row's set
        masks = {sum(1 << (len(names) - 1 - j) for j, n in enumerate(names) if n not in s): i
                 for i, s in enumerate(sets)}
        query = (sa.select(sa.func.grouping(*(part.c[n] for n in names)).label("grouping_set"),
                           *(part.c[n] for n in names), *sums)
                 .group_by(sa.func.grouping_sets(*(sa.tuple_(*(part.c[n] for n in s)) for s in sets))))
        return query, masks
    parts = [sa.select(sa.literal(i, sa.Integer).label("grouping_set"),
                       *((part.c[n] if n in s else sa.null()).label(n) for n in names), *sums)
             .group_by(*(part.c[n] for n in s)) for i, s in enumerate(sets)]
    return (sa.union_all(*parts) if len(parts) > 1 else parts[0]), None


def run_grouping_sets(statement: tuple, params: dict | None = None) -> list[tuple[int, dict]]:
    """``[(set index, row)]`` of a :func:`grouping_sets_statement`."""
    from ..extensions import db
    query, masks = statement
    rows = db.session.execute(query, params or {}).mappings()
    if masks is not None:
        return [(masks[row["grouping_set"]], row) for row in rows]
    return [(int(row["grouping_set"]), row) for row in rows]


# ---------------------------------------------------------------------------------------------
# breakdowns
# ---------------------------------------------------------------------------------------------
def resolve_by(area: Area, by: str | None) -> str:
    """The breakdown level: ``by`` when it is a level below the area, the first one by default;
    a posyandu area is its own single row."""
    allowed = LEVELS_BELOW.get(area.level, ())
    if not allowed:
        if by not in (None, "", "posyandu"):
            raise InvalidInput("A posyandu report has no breakdown.", errors={"by": ["A posyandu has no level below."]})
        return "posyandu"
    if by in (None, ""):
        return allowed[0]
    if by not in allowed:
        raise InvalidInput(f"Cannot break a {area.level} down by {by!r}.",
                           errors={"by": [f"Must be one of: {', '.join(allowed)}."]})
    return by


_KEY_OF_LEVEL = {"posyandu": "posyandu_id", "puskesmas": "puskesmas_id", "desa": "desa_key",
                 "kecamatan": "kecamatan_key"}
_CODE_NAME_OF_LEVEL = {"puskesmas": ("puskesmas_code", "puskesmas_name"), "desa": ("desa_code", "desa_name"),
                       "kecamatan": ("kecamatan_code", "kecamatan_name")}
_LEVEL_NAMES = {"puskesmas": ("Puskesmas", "Health centre"), "desa": ("Desa/kelurahan", "Village"),
                "kecamatan": ("Kecamatan", "District"), "posyandu": ("Posyandu", "Posyandu")}


#: PostgreSQL ``work_mem`` for the report queries of a transaction (sorts of ~1,000,000 dose
#: rows for a kabupaten stay in memory instead of spilling to disk).
REPORT_WORK_MEM = "64MB"


#: Planner costs for the reports that read a whole month of the summary in one aggregate
#: (``report_settings(parallel=True)``): PostgreSQL's defaults (1000 and 0.1) kept the nutrition
#: report's two statements just below parallel plans that the benchmark's hand-written floor
#: statement gets by default; with two workers a kabupaten's report took 198 ms instead of 218
#: (100,000 children; benchmarks/bench_reports.py). Not for every report: SKDN and the trend
#: were no faster.
PARALLEL_COSTS = {"parallel_setup_cost": "100", "parallel_tuple_cost": "0.01"}


def report_settings(parallel: bool = False) -> None:
    """Session settings for the report queries of this transaction (``SET LOCAL``: they end
    with it). PostgreSQL: no JIT — the generated IDL/IBL expressions are large, and compiling
    them with LLVM took minutes where running them takes seconds (100,000 children) — a
    larger ``work_mem`` for the sorts of a whole kabupaten, and a plan made for each
    execution's values: psycopg prepares a statement on its fifth run, and PostgreSQL's generic
    plan for it (made without the month and area) made the kabupaten nutrition report 60 %
    slower from about the tenth request of a worker on (measured: 260 ms -> 415 ms, 100,000
    children)."""
    from ..extensions import db
    if db.session.get_bind().dialect.name == "postgresql":
        settings = {"jit": "off", "work_mem": REPORT_WORK_MEM, "plan_cache_mode": "force_custom_plan",
                    **(PARALLEL_COSTS if parallel else {})}
        names = list(settings)
        db.session.execute(sa.text("SELECT " + ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(names)))),
                           {**{f"n{i}": n for i, n in enumerate(names)}, **{f"v{i}": settings[n] for i, n in enumerate(names)}})


def group_keys(directory: list[dict], by: str) -> dict:
    """``{posyandu_id: key of its area at level by}`` (keys as ``areas.group_column`` yields)."""
    return {r["posyandu_id"]: r[_KEY_OF_LEVEL[by]] for r in directory}


def roll_up(counts: dict, keys: dict, sum_keys) -> dict:
    """Sum ``{(posyandu_id, *rest): {column: n}}`` into ``{keys[posyandu_id]: {column: n}}``:
    reports count once per posyandu (and sex) in SQL and add up the few thousand rows here for
    every breakdown they show."""
    out: dict = {}
    for (posyandu_id, *_rest), values in counts.items():
        bucket = out.setdefault(keys.get(posyandu_id), dict.fromkeys(sum_keys, 0))
        for k in sum_keys:
            bucket[k] += values.get(k, 0) or 0
    return out


def roll_up_by(counts: dict, position: int, sum_keys) -> dict:
    """Sum ``{(posyandu_id, sex, ...): {...}}`` over everything but the key part at ``position``."""
    out: dict = {}
    for key, values in counts.items():
        bucket = out.setdefault(key[position], dict.fromkeys(sum_keys, 0))
        for k in sum_keys:
            bucket[k] += values.get(k, 0) or 0
    return out


def groups(area: Area, by: str, directory: list[dict] | None = None) -> list[dict]:
    """The areas of level ``by`` inside ``area``, in report order, each ``{"key": <what
    areas.group_column yields>, ...label columns}``. One query (the posyandu directory)."""
    directory = posyandu_directory(area) if directory is None else directory
    if by == "posyandu":
        return [{"key": r["posyandu_id"], **{c.key: r[c.key] for c in DIRECTORY_COLUMNS}} for r in directory]
    key_name = _KEY_OF_LEVEL[by]
    code_name, name_name = _CODE_NAME_OF_LEVEL[by]
    seen: dict = {}
    for r in directory:
        seen.setdefault(r[key_name], {"key": r[key_name], "code": r[code_name], "name": r[name_name]})
    return sorted(seen.values(), key=lambda g: (g["name"] or "", g["code"] or ""))


def breakdown_columns(by: str) -> list[Column]:
    """The label columns of a breakdown table by ``by``."""
    if by == "posyandu":
        return list(DIRECTORY_COLUMNS)
    name_id, name_en = _LEVEL_NAMES[by]
    return [Column("code", f"Kode {name_id.lower()}", f"{name_en} code"), Column("name", name_id, name_en)]


def breakdown_rows(area: Area, by: str, group_list: Sequence[dict], counts: dict, *, sum_keys: Sequence[str],
                   derive: Callable[[dict], None]) -> Iterator[dict]:
    """One row per group (zeros where ``counts`` has no entry for its key), ``derive`` applied;
    posyandu rows get desa and puskesmas subtotals (those above the area's own level); a total
    row at the end unless the area is a single posyandu."""
    def rows():
        for g in group_list:
            row = {k: v for k, v in g.items() if k != "key"}
            row.update(dict.fromkeys(sum_keys, 0))
            row.update(counts.get(g["key"], {}))
            derive(row)
            row[ROW_LEVEL] = by
            yield row

    if area.level == "posyandu":
        return rows()
    levels: Sequence[GroupLevel] = ()
    if by == "posyandu":
        levels = {"kabupaten": PUSKESMAS_DESA, "kecamatan": PUSKESMAS_DESA,
                  "puskesmas": PUSKESMAS_DESA[1:]}.get(area.level, ())
    return with_subtotals(rows(), sum_keys=sum_keys, levels=levels, derive=derive, row_level=by)
