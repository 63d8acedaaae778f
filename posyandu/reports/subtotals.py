"""Posyandu rows with desa and puskesmas subtotals (issue 8 §4), for any report.

Two pieces:

- :func:`posyandu_directory` — the posyandu of an area with their puskesmas, desa and kecamatan
  (codes dotted, names), one query, in report order (puskesmas, desa, posyandu). A report joins
  its per-posyandu counts to it, so a posyandu with nothing to count still gets its row of zeros.
- :func:`with_subtotals` — one streaming pass over rows already in that order: after each desa
  (within its puskesmas) a desa subtotal row, after each puskesmas a puskesmas subtotal row, and
  a grand total at the end. Additive columns are summed; derived columns (percentages, ratios)
  are recomputed from the sums by the report's own ``derive`` function — never summed or
  averaged. Every row gets ``ROW_LEVEL`` so renderers can style subtotals and CSV readers can
  filter them out.

A desa served by two puskesmas appears under each of them with its own subtotal (the subtotal is
"desa within the puskesmas"); the grand total counts each posyandu once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import sqlalchemy as sa

from ..extensions import db
from ..regions import codes
from ..regions.models import Posyandu, Puskesmas, Region
from .document import ROW_LEVEL, Column

#: The label columns every posyandu-level table can carry (first = what the row names).
DIRECTORY_COLUMNS = (
    Column("puskesmas_code", "Kode puskesmas", "Health centre code"),
    Column("puskesmas_name", "Puskesmas", "Health centre"),
    Column("desa_code", "Kode desa/kelurahan", "Village code"),
    Column("desa_name", "Desa/kelurahan", "Village"),
    Column("posyandu_code", "Kode posyandu", "Posyandu code"),
    Column("posyandu_name", "Posyandu", "Posyandu"),
)


_POSYANDU, _PUSKESMAS, _REGION = Posyandu.__table__, Puskesmas.__table__, Region.__table__
#: The keys of a directory row, in select order (``desa_key`` and ``kecamatan_key`` follow).
_DIRECTORY_KEYS = ("posyandu_id", "posyandu_code", "posyandu_name", "desa_code", "desa_name", "kecamatan_code",
                   "kecamatan_name", "puskesmas_id", "puskesmas_code", "puskesmas_name")


def _directory_query():
    desa, kecamatan = _REGION.alias("desa"), _REGION.alias("kecamatan")
    p, k = _POSYANDU.c, _PUSKESMAS.c
    return (sa.select(p.id, p.code, p.name, p.desa_code, desa.c.name, kecamatan.c.code, kecamatan.c.name,
                      k.id, k.code, k.name)
            .select_from(_POSYANDU.join(_PUSKESMAS, k.id == p.puskesmas_id)
                         .join(desa, desa.c.code == p.desa_code)
                         .outerjoin(kecamatan, kecamatan.c.code == desa.c.parent_code))
            .order_by(k.name, k.code, desa.c.name, p.desa_code, p.name, p.code))


#: Every posyandu with its puskesmas, desa and kecamatan, in report order (an area's condition is added).
_DIRECTORY = _directory_query()


def posyandu_directory(area) -> list[dict]:
    """``[{posyandu_id, posyandu_code, posyandu_name, desa_key, desa_code, desa_name,
    kecamatan_key, kecamatan_code, kecamatan_name, puskesmas_id, puskesmas_code, puskesmas_name}]``
    for the area's posyandu, ordered puskesmas › desa › posyandu (by name, then code). ``*_code``
    are dotted for people; ``*_key`` are what ``areas.group_column`` yields. One Core query of
    table columns read as plain tuples: a kabupaten's 1,500 rows through the ORM's loading as
    mappings took a third of its nutrition report's time."""
    rows = db.session.execute(_DIRECTORY.where(area.posyandu_condition(_POSYANDU.c))).all()
    out = []
    dotted: dict = {}  # a kabupaten's 1,500 posyandu share ~350 desa and 18 kecamatan codes
    for r in rows:
        row = dict(zip(_DIRECTORY_KEYS, r))
        row["desa_key"] = row["desa_code"]
        row["kecamatan_key"] = row["desa_code"][:6]
        for key, code in (("desa_code", row["desa_key"]), ("kecamatan_code", row["kecamatan_key"])):
            row[key] = dotted.get(code) or dotted.setdefault(code, codes.dotted(code))
        out.append(row)
    return out


@dataclass(frozen=True)
class GroupLevel:
    """One subtotal level: rows are grouped on ``key``; the subtotal row keeps the ``keep``
    columns (the group's codes and names) of the group's first row and leaves the finer ones
    empty; its ``ROW_LEVEL`` (``level``) tells renderers it is a subtotal."""
    level: str
    key: str
    keep: tuple[str, ...]


#: Posyandu rows › desa subtotal › puskesmas subtotal (the order of posyandu_directory).
PUSKESMAS_DESA = (
    GroupLevel("puskesmas", "puskesmas_code", ("puskesmas_code", "puskesmas_name")),
    GroupLevel("desa", "desa_code", ("puskesmas_code", "puskesmas_name", "desa_code", "desa_name")),
)


def with_subtotals(rows: Iterable[dict], *, sum_keys: Sequence[str], levels: Sequence[GroupLevel] = PUSKESMAS_DESA,
                   derive: Callable[[dict], None] | None = None, row_level: str = "posyandu",
                   total: bool = True, total_keep: dict | None = None) -> Iterator[dict]:
    """Yield ``rows`` (sorted by the levels' keys, outermost first; each gets ``ROW_LEVEL`` =
    ``row_level`` unless set) with a subtotal row after each group and a grand total
    (``ROW_LEVEL`` ``"total"``). ``derive(row)`` fills derived columns in place from the additive
    ``sum_keys``; it is applied to subtotal and total rows (data rows must already have them).
    ``None`` counts as 0 in sums. One pass, constant memory: rows may be a generator."""
    levels = list(levels)
    sums_per_level: list = [None] * len(levels)  # running sums of the open group at each level
    firsts: list = [None] * len(levels)          # first row of the open group at each level
    grand = dict.fromkeys(sum_keys, 0)
    any_row = False

    def subtotal(i: int) -> dict:
        lvl = levels[i]
        out = {k: firsts[i].get(k) for k in lvl.keep}
        out.update(sums_per_level[i])
        out[ROW_LEVEL] = lvl.level
        if derive is not None:
            derive(out)
        return out

    for row in rows:
        changed_at = None
        for i, lvl in enumerate(levels):
            if firsts[i] is not None and row.get(lvl.key) != firsts[i].get(lvl.key):
                changed_at = i
                break
        if changed_at is not None:  # close the groups that ended, innermost first
            for i in range(len(levels) - 1, changed_at - 1, -1):
                if firsts[i] is not None:
                    yield subtotal(i)
                    firsts[i] = None
        for i in range(len(levels)):
            if firsts[i] is None:
                firsts[i] = row
                sums_per_level[i] = dict.fromkeys(sum_keys, 0)
            sums = sums_per_level[i]
            for k in sum_keys:
                sums[k] += row.get(k) or 0
        for k in sum_keys:
            grand[k] += row.get(k) or 0
        any_row = True
        row.setdefault(ROW_LEVEL, row_level)
        yield row
    for i in range(len(levels) - 1, -1, -1):
        if firsts[i] is not None:
            yield subtotal(i)
    if total and any_row:
        out = dict(total_keep or {})
        out.update(grand)
        out[ROW_LEVEL] = "total"
        if derive is not None:
            derive(out)
        yield out


def percent(numerator, denominator, decimals: int = 1) -> float | None:
    """``numerator ÷ denominator × 100`` rounded to ``decimals`` (None when the denominator is 0)."""
    if not denominator:
        return None
    return round(100.0 * (numerator or 0) / denominator, decimals)
