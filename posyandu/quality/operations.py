"""Data-quality report of an area for a month or a range of months, per posyandu and per cadre.

One SQL statement fetches the needed columns of the area's visits in the period, with each
visit's previous visit (``LAG`` over the child's visits) for the register checks; numpy does
the rest (:mod:`posyandu.core.quality` for the SMART checks on the stored z-scores,
:mod:`posyandu.core.register_checks` for what only a register can see). Two small lookups
label the groups (posyandu names and time zones, cadre names).

Sorting (where to send a supervisor first): the penalty points of the SMART checks that have
enough data (``points_judged``), then the highest rate among the register checks that have
enough data, then the number of visits. A check on too few rows cannot push a group up.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from ..auth.models import User
from ..children.models import Child
from ..core import quality as cq
from ..core import register_checks as rc
from ..core.growth.rules import default_rules
from ..errors import InvalidInput
from ..extensions import db
from ..measurements.models import Measurement
from ..regions.models import Posyandu
from ..reports.areas import Area, Month, area_from_args, parse_month

#: Longest period one report covers (months).
MAX_MONTHS = 12
#: How far before the period a child's previous visit is looked for (months); an older one is
#: not compared (bounds the rows the window function reads).
PREVIOUS_VISIT_LOOKBACK_MONTHS = 12
GROUPINGS = ("posyandu", "cadre")
UNKNOWN_CADRE = -1


# --------------------------------------------------------------------------- arguments
@dataclass(frozen=True)
class Period:
    first: Month
    last: Month

    @property
    def text(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}..{self.last}"

    def as_dict(self) -> dict:
        return {"from": str(self.first), "to": str(self.last),
                "months": self.last.index - self.first.index + 1}


def resolve_period(args: dict) -> Period:
    """``month`` alone, or ``from`` and ``to`` (at most :data:`MAX_MONTHS` months)."""
    month, start, end = args.get("month"), args.get("from_month"), args.get("to_month")
    if month is not None:
        if start is not None or end is not None:
            raise InvalidInput("Give either a month or a range (from, to), not both.",
                               errors={"month": ["Not together with from/to."]})
        m = parse_month(month, field="month")
        return Period(m, m)
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise InvalidInput("Give a month, or a range with both from and to.",
                           errors={missing: ["Missing: give month=YYYY-MM or both from and to."]})
    first, last = parse_month(start, field="from"), parse_month(end, field="to")
    if last.index < first.index:
        raise InvalidInput("The range ends before it starts.",
                           errors={"to": ["Must not be before 'from'."]})
    if last.index - first.index + 1 > MAX_MONTHS:
        raise InvalidInput(f"At most {MAX_MONTHS} months per report.",
                           errors={"from": [f"The range may cover at most {MAX_MONTHS} months."]})
    return Period(first, last)


# --------------------------------------------------------------------------- data
_M = Measurement.__table__
_FLAG_COLUMNS = ("flen", "fwei", "fwfl", "fbmi", "fhc", "fac")
_Z_COLUMNS = ("zlen", "zwei", "zwfl", "zbmi", "zhc", "zac")


def _epoch_seconds(column, dialect: str):
    """A timestamp as seconds since 1970 (UTC) computed by the database: one float column
    instead of a datetime object per row."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", column), sa.Float)
    return (sa.func.julianday(column) - 2440587.5) * 86400.0  # SQLite stores UTC text


def _visits_query(area: Area, period: Period, dialect: str):
    """The one statement: the area's live visits in the period with their previous visit."""
    first_day, last_day = period.first.first_day, period.last.last_day
    lookback = period.first.shift(-PREVIOUS_VISIT_LOOKBACK_MONTHS).first_day
    live = _M.c.deleted_at.is_(None)
    in_area = _M.c.posyandu_id.in_(area.posyandu_ids())
    children = sa.select(_M.c.child_id).where(live, in_area, _M.c.measured_on >= first_day,
                                              _M.c.measured_on <= last_day)
    window = {"partition_by": _M.c.child_id, "order_by": (_M.c.measured_on, _M.c.created_at, _M.c.id)}
    any_flag = sa.case((sa.or_(*(_M.c[f].is_(True) for f in _FLAG_COLUMNS)), 1), else_=0)
    has_z = sa.case((sa.or_(*(_M.c[z].is_not(None) for z in _Z_COLUMNS)), 1), else_=0)
    history = (
        sa.select(
            _M.c.child_id, _M.c.posyandu_id, _M.c.created_by_id, _M.c.measured_on,
            _epoch_seconds(_M.c.created_at, dialect).label("created_ts"), _M.c.weight_kg,
            _M.c.length_cm,
            sa.case((_M.c.measure_method.is_(None), 1), else_=0).label("measure_missing"),
            _M.c.age_days, _M.c.clenhei, _M.c.zwfl,
            sa.case((_M.c.fwfl.is_(True), 1.0), (_M.c.fwfl.is_(False), 0.0)).label("fwfl"),
            any_flag.label("any_flag"), has_z.label("has_z"),
            sa.func.lag(_M.c.measured_on).over(**window).label("prev_measured_on"),
            sa.func.lag(_M.c.clenhei).over(**window).label("prev_clenhei"),
            sa.func.lag(_M.c.weight_kg).over(**window).label("prev_weight"),
        )
        .where(live, _M.c.child_id.in_(children), _M.c.measured_on >= lookback,
               _M.c.measured_on <= last_day)
        .subquery("history"))
    child = Child.__table__
    h = history.c
    return (sa.select(sa.cast(h.child_id, sa.String).label("child_id"), h.posyandu_id,
                      h.created_by_id, h.measured_on, h.created_ts,
                      h.weight_kg, h.length_cm, h.measure_missing, h.age_days, h.clenhei, h.zwfl,
                      h.fwfl, h.any_flag, h.has_z, h.prev_measured_on, h.prev_clenhei,
                      h.prev_weight, child.c.sex)
            .select_from(history.join(child, child.c.id == h.child_id))
            .where(h.posyandu_id.in_(area.posyandu_ids()), h.measured_on >= first_day))


_COLUMN_NAMES = ("child_id", "posyandu_id", "created_by_id", "measured_on", "created_ts",
                 "weight_kg", "length_cm", "measure_missing", "age_days", "clenhei", "zwfl",
                 "fwfl", "any_flag", "has_z", "prev_measured_on", "prev_clenhei", "prev_weight",
                 "sex")


def fetch_visits(area: Area, period: Period) -> dict[str, np.ndarray]:
    """The visits as numpy columns (transposed once; no per-row Python code)."""
    dialect = db.session.get_bind().dialect.name
    rows = db.session.connection().execute(_visits_query(area, period, dialect)).all()
    raw = dict(zip(_COLUMN_NAMES, zip(*rows))) if rows else {k: () for k in _COLUMN_NAMES}
    floats = ("weight_kg", "length_cm", "age_days", "clenhei", "zwfl", "fwfl", "prev_clenhei",
              "prev_weight", "sex", "created_ts")
    cols: dict[str, np.ndarray] = {k: np.array(raw[k], dtype=float) for k in floats}
    for k in ("measure_missing", "any_flag", "has_z"):
        cols[k] = np.array(raw[k], dtype=np.int8).astype(bool)
    cols["posyandu_id"] = np.array(raw["posyandu_id"], dtype=np.int64)
    cols["created_by_id"] = np.nan_to_num(np.array(raw["created_by_id"], dtype=float),
                                          nan=UNKNOWN_CADRE).astype(np.int64)
    cols["measured_on"] = np.array(raw["measured_on"], dtype="datetime64[D]")
    cols["prev_measured_on"] = np.array(raw["prev_measured_on"], dtype="datetime64[D]")
    cols["child_key"] = (np.unique(np.array(raw["child_id"], dtype=str), return_inverse=True)[1]
                         .reshape(-1) if rows else np.array([], dtype=np.int64))
    return cols


def posyandu_rows(area: Area) -> list:
    """The area's posyandu (id, code, name, timezone), by code."""
    p = Posyandu.__table__
    return db.session.execute(sa.select(p.c.id, p.c.code, p.c.name, p.c.timezone)
                              .where(area.posyandu_condition()).order_by(p.c.code)).all()


def cadre_rows(user_ids) -> dict[int, tuple]:
    """{user id: (full name, role)} for the accounts that entered the visits."""
    ids = sorted({int(i) for i in user_ids if i != UNKNOWN_CADRE})
    if not ids:
        return {}
    u = User.__table__
    rows = db.session.execute(sa.select(u.c.id, u.c.full_name, u.c.role).where(u.c.id.in_(ids))).all()
    return {r.id: (r.full_name, r.role) for r in rows}


def _utc_offsets(posyandu) -> tuple[np.ndarray, np.ndarray]:
    """Sorted posyandu ids and their UTC offsets in seconds (Indonesia keeps no summer time)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    pairs = sorted((r.id, int(now.astimezone(ZoneInfo(r.timezone)).utcoffset().total_seconds()))
                   for r in posyandu)
    ids = np.array([p[0] for p in pairs], dtype=np.int64)
    return ids, np.array([p[1] for p in pairs], dtype=float)


def entered_days(cols: dict, posyandu) -> np.ndarray:
    """The local date (posyandu's zone) each visit reached the server."""
    ids, offsets = _utc_offsets(posyandu)
    if len(cols["created_ts"]) == 0:
        return np.array([], dtype="datetime64[D]")
    pos = np.clip(np.searchsorted(ids, cols["posyandu_id"]), 0, max(len(ids) - 1, 0))
    offset = offsets[pos] if len(ids) else np.zeros(len(cols["created_ts"]))
    return np.floor((cols["created_ts"] + offset) / 86400.0).astype(np.int64).astype("datetime64[D]")


def register_visit_checks(cols: dict, posyandu, settings) -> dict:
    return rc.visit_checks(
        clenhei=cols["clenhei"], prev_clenhei=cols["prev_clenhei"], weight=cols["weight_kg"],
        prev_weight=cols["prev_weight"], measured_on=cols["measured_on"],
        prev_measured_on=cols["prev_measured_on"], length_cm=cols["length_cm"],
        measure_missing=cols["measure_missing"], has_z=cols["has_z"], any_flag=cols["any_flag"],
        entered_day=entered_days(cols, posyandu),
        length_tolerance_cm=default_rules().length_decrease_tolerance_cm,
        late_entry_days=settings.late_entry_days)


# --------------------------------------------------------------------------- the report
@dataclass
class GroupResult:
    kind: str                       # "posyandu", "cadre" or "area"
    key: dict                       # id, code, name (and role for cadres)
    visits: int
    children: int
    quality: cq.GroupQuality
    register: dict                  # {check: RegisterResult}

    @property
    def register_max_pct(self) -> float:
        pcts = [r.pct for r in self.register.values() if r.enough_data and r.pct is not None]
        return max(pcts, default=0.0)

    def sort_key(self):
        return (-self.quality.points_judged, -self.register_max_pct, -self.visits,
                str(self.key.get("code") or self.key.get("name") or ""), self.key.get("id") or 0)

    def as_dict(self, language: str = "id") -> dict:
        en = language == "en"
        q = self.quality
        small_checks = list(q.too_small) + [k for k, r in self.register.items() if not r.enough_data]
        return {
            "group": dict(self.key, kind=self.kind),
            "visits": self.visits, "children": self.children, "whz_n": q.whz_n,
            "score": q.score, "quality_class": q.quality,
            "quality_label": cq.CLASS_LABELS[q.quality][1 if en else 0] if q.quality else None,
            "points_judged": q.points_judged,
            "register_max_pct": self.register_max_pct,
            "too_small": bool(small_checks),
            "too_small_checks": small_checks,
            "size_note": size_note(self, language),
            "checks": [q.checks[k].as_dict(language) for k in cq.CHECKS],
            "register": [self.register[k].as_dict(language) for k in rc.REGISTER_CHECKS],
        }


def size_note(group: GroupResult, language: str = "id") -> str | None:
    """Says in words which figures rest on too few rows (None when all are judged)."""
    en = language == "en"
    if group.visits == 0:
        return "No visits in this period." if en else "Tidak ada kunjungan pada periode ini."
    parts = [f"{cq.CHECK_LABELS[k][1 if en else 0]} (n={group.quality.checks[k].n} < "
             f"{group.quality.checks[k].min_n})" for k in group.quality.too_small]
    parts += [f"{rc.REGISTER_LABELS[k][1 if en else 0]} (n={r.n} < {r.min_n})"
              for k, r in group.register.items() if not r.enough_data]
    if not parts:
        return None
    head = ("Too few rows to judge (shown, but do not act on them): " if en else
            "Data terlalu sedikit untuk dinilai (ditampilkan, tetapi jangan dijadikan dasar "
            "tindakan): ")
    return head + "; ".join(parts)


def _children_per_group(group_index: np.ndarray, child_key: np.ndarray, n_groups: int) -> np.ndarray:
    if len(group_index) == 0:
        return np.zeros(n_groups, dtype=np.int64)
    pairs = np.unique(group_index.astype(np.int64) * (int(child_key.max()) + 1) + child_key)
    return np.bincount(pairs // (int(child_key.max()) + 1), minlength=n_groups)


def _grouped(cols: dict, keys: np.ndarray, checks: dict, settings) -> tuple[list, dict]:
    """The distinct keys (sorted) and, per key, its SMART result, register results, visits
    and children."""
    uniq, inv = np.unique(keys, return_inverse=True)
    inv = inv.reshape(-1)
    smart = cq.assess_groups(keys, whz=cols["zwfl"], flag=cols["fwfl"], sex=cols["sex"],
                             age_days=cols["age_days"], weight=cols["weight_kg"],
                             lenhei=cols["length_cm"], settings=settings, total=None)
    register = rc.summarise(inv, len(uniq), checks, min_n=settings.register_min_n)
    visits = np.bincount(inv, minlength=len(uniq))
    children = _children_per_group(inv, cols["child_key"], len(uniq))
    by_key = {k: (smart[k], register[i], int(visits[i]), int(children[i]))
              for i, k in enumerate(uniq.tolist())}
    return uniq.tolist(), by_key


def _empty_group_quality(settings) -> cq.GroupQuality:
    e = np.array([], dtype=float)
    return cq.assess(whz=e, flag=e, sex=e, age_days=e, weight=e, lenhei=e, settings=settings)


@dataclass
class QualityReport:
    area: Area
    period: Period
    settings_version: str
    total: GroupResult
    groups: dict  # grouping -> sorted list of GroupResult

    def as_dict(self, grouping: str, language: str = "id") -> dict:
        rows = []
        for rank, g in enumerate(self.groups[grouping], start=1):
            d = g.as_dict(language)
            d["rank"] = rank
            rows.append(d)
        return {"area": self.area.as_dict(), "period": self.period.as_dict(), "grouping": grouping,
                "language": language, "settings_version": self.settings_version,
                "total": self.total.as_dict(language), "groups": rows}


def quality_report(scope, args: dict, groupings=GROUPINGS) -> QualityReport:
    """The report for the caller's area and period, grouped by each of ``groupings``."""
    area = area_from_args(scope, args)
    period = resolve_period(args)
    settings = cq.default_settings()
    posyandu = posyandu_rows(area)
    cols = fetch_visits(area, period)
    checks = register_visit_checks(cols, posyandu, settings)
    n = len(cols["zwfl"])

    total_q = cq.assess(whz=cols["zwfl"], flag=cols["fwfl"], sex=cols["sex"],
                        age_days=cols["age_days"], weight=cols["weight_kg"],
                        lenhei=cols["length_cm"], settings=settings)
    total = GroupResult("area", area.as_dict(), n, int(len(np.unique(cols["child_key"]))), total_q,
                        rc.summarise_all(checks, min_n=settings.register_min_n))
    groups: dict[str, list[GroupResult]] = {}
    if "posyandu" in groupings:
        _, by_key = _grouped(cols, cols["posyandu_id"], checks, settings)
        empty_register = {k: rc.RegisterResult(k, 0, 0, settings.register_min_n)
                          for k in rc.REGISTER_CHECKS}
        out = []
        for p in posyandu:
            smart, register, visits, children = by_key.get(
                p.id, (None, empty_register, 0, 0))
            out.append(GroupResult("posyandu", {"id": p.id, "code": p.code, "name": p.name}, visits,
                                   children, smart or _empty_group_quality(settings), register))
        groups["posyandu"] = sorted(out, key=GroupResult.sort_key)
    if "cadre" in groupings:
        keys, by_key = _grouped(cols, cols["created_by_id"], checks, settings)
        names = cadre_rows(keys)
        out = []
        for k in keys:
            smart, register, visits, children = by_key[k]
            name, role = names.get(k, (None, None))
            key = {"id": None if k == UNKNOWN_CADRE else k, "code": None, "name": name, "role": role}
            out.append(GroupResult("cadre", key, visits, children, smart, register))
        groups["cadre"] = sorted(out, key=GroupResult.sort_key)
    return QualityReport(area, period, settings.version, total, groups)
