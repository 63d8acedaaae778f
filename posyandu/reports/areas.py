"""Report areas: which posyandu a report covers, checked against the caller's scope.

A report is for an *area* at one of five levels, two hierarchies sharing the posyandu at the
bottom: administrative (kabupaten › kecamatan › desa › posyandu) and health service
(kabupaten › puskesmas › posyandu). Every report-like feature (reports, data quality, early
warning, charts, portal, command-centre feed) resolves its area here, so the scope rule is
written once:

- admin: any area;
- dinkes: any area inside their kabupaten;
- puskesmas staff: their puskesmas, its posyandu, a desa of its working area, and any other
  area whose posyandu are all theirs;
- kader: her posyandu, and any larger area whose posyandu are all hers (rare);
- parents: no area.

An area that does not exist or lies outside the caller's scope is a 404 (existence never leaks).

Codes: regions by their Kemendagri code (dotted ``35.25.01`` or undotted ``352501`` on input,
dotted on output), puskesmas and posyandu by their registry ``code``. The compact form
``level:code`` (``kabupaten:35.25``, ``posyandu:PY-GRS-001``) is what the CLI takes.
"""
from __future__ import annotations

import calendar as _calendar
import datetime as _dt
import re
from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..regions import codes
from ..regions.models import Posyandu, Puskesmas, PuskesmasDesa, Region
from ..schema_fields import MONTH_PATTERN  # also imported from here by the schemas

AREA_LEVELS = ("kabupaten", "kecamatan", "puskesmas", "desa", "posyandu")
#: The breakdowns a report may ask for below each level (first = default).
LEVELS_BELOW = {
    "kabupaten": ("kecamatan", "puskesmas", "desa", "posyandu"),
    "kecamatan": ("desa", "puskesmas", "posyandu"),
    "puskesmas": ("posyandu", "desa"),
    "desa": ("posyandu",),
    "posyandu": (),
}
_REGION_LEVELS = {"kabupaten", "kecamatan", "desa"}


@dataclass(frozen=True)
class Area:
    """One resolved area. ``key`` is what the SQL filters on (undotted region code or integer
    id); ``code`` is what people read and send back (dotted region code or registry code)."""
    level: str
    key: str | int
    code: str
    name: str

    def posyandu_condition(self, posyandu=Posyandu):
        """SQL condition selecting the posyandu (rows of ``posyandu``, the table or an alias)
        that belong to this area."""
        return group_column(self.level, posyandu) == self.key

    def posyandu_ids(self):
        """A SELECT of the ids of this area's posyandu (for ``column.in_(...)``)."""
        return sa.select(Posyandu.id).where(self.posyandu_condition())

    def as_dict(self) -> dict:
        return {"level": self.level, "code": self.code, "name": self.name}


class PosyanduSet:
    """Some posyandu by id, standing in for an :class:`Area` where only ``posyandu_ids()`` is
    read (``cohort.month_children``, ``nutrition.month_records_where``): a slice of an area read
    by index, or the posyandu whose stored counts are recomputed."""

    def __init__(self, ids):
        self.ids = list(ids)

    def posyandu_ids(self):
        return sa.select(Posyandu.id).where(Posyandu.id.in_(self.ids))


def group_column(level: str, posyandu=Posyandu):
    """The posyandu column (or expression) that identifies its area at ``level``: group a
    report by it to break it down by that level."""
    if level == "posyandu":
        return posyandu.id
    if level == "puskesmas":
        return posyandu.puskesmas_id
    if level == "desa":
        return posyandu.desa_code
    if level == "kecamatan":
        return sa.func.substr(posyandu.desa_code, 1, 6)
    if level == "kabupaten":
        return posyandu.kabupaten_code
    raise ValueError(f"unknown area level {level!r}")


def parse_area(text: str) -> tuple[str, str]:
    """``"kabupaten:35.25"`` → ``("kabupaten", "35.25")`` (the CLI's ``--area``)."""
    level, sep, code = (text or "").partition(":")
    level = level.strip().lower()
    if not sep or level not in AREA_LEVELS or not code.strip():
        raise InvalidInput("An area is written level:code, e.g. kabupaten:35.25 or posyandu:PY-GRS-001.",
                           errors={"area": [f"Use one of {', '.join(AREA_LEVELS)} followed by ':' and a code."]})
    return level, code.strip()


def resolve_area(scope, level: str, code: str) -> Area:
    """The area ``level``/``code`` if it exists and lies inside ``scope``; else 404."""
    if level not in AREA_LEVELS:
        raise InvalidInput(f"Unknown area level {level!r}.",
                           errors={"level": [f"Must be one of: {', '.join(AREA_LEVELS)}."]})
    if scope.role == "parent":
        raise NotFound("No such area.")
    area = _lookup(level, code)
    if area is None or not _in_scope(scope, area):
        raise NotFound("No such area.")
    return area


def default_area(scope) -> Area | None:
    """The area a user most likely means when they name none: the dinkes's kabupaten, the
    puskesmas, the kader's only posyandu (None for admins, kader of several posyandu, parents)."""
    if scope.role == "dinkes" and scope.kabupaten_code:
        return _lookup("kabupaten", scope.kabupaten_code)
    if scope.role == "puskesmas" and scope.puskesmas_id is not None:
        row = db.session.get(Puskesmas, scope.puskesmas_id)
        return Area("puskesmas", row.id, row.code, row.name) if row else None
    if scope.role == "kader" and len(scope.posyandu_ids) == 1:
        row = db.session.get(Posyandu, next(iter(scope.posyandu_ids)))
        return Area("posyandu", row.id, row.code, row.name) if row else None
    return None


def area_from_args(scope, args: dict) -> Area:
    """The area a request names with ``level`` + ``code`` (checked by :func:`resolve_area`), or
    the caller's default area when it names none. One rule for every report-like endpoint:
    parents have no area (404); an admin (or a kader of several posyandu) must name one (422 on
    both fields); ``level`` without ``code`` or the reverse is a 422 naming the missing one."""
    if scope.is_parent:
        raise NotFound("No such area.")
    level, code = args.get("level"), args.get("code")
    if level is None and code is None:
        area = default_area(scope)
        if area is None:
            raise InvalidInput("Name the area: level and code.",
                               errors={"level": ["Required: you have no single default area."],
                                       "code": ["Required: you have no single default area."]})
        return area
    if level is None or code is None:
        missing = "level" if level is None else "code"
        raise InvalidInput("Give both level and code.", errors={missing: ["Required with the other."]})
    return resolve_area(scope, level, code)


def month_from_args(args: dict) -> "Month":
    """``month`` (``YYYY-MM``, a future one is a 422) or this month."""
    return parse_month(args["month"]) if args.get("month") is not None else current_month()


def _lookup(level: str, code: str) -> Area | None:
    if level in _REGION_LEVELS:
        try:
            undotted = codes.validate(code, level=level)
        except codes.CodeError:
            return None
        region = db.session.get(Region, undotted)
        return Area(level, region.code, codes.dotted(region.code), region.name) if region else None
    model = Puskesmas if level == "puskesmas" else Posyandu
    if not isinstance(code, str) or not code.strip() or len(code) > 32:
        return None
    row = db.session.scalars(sa.select(model).where(model.code == code.strip())).first()
    return Area(level, row.id, row.code, row.name) if row else None


def _in_scope(scope, area: Area) -> bool:
    if scope.role == "admin":
        return True
    if scope.role == "dinkes":
        return _kabupaten_of(area) == scope.kabupaten_code
    if scope.role == "puskesmas":
        if area.level == "puskesmas":
            return area.key == scope.puskesmas_id
        if area.level == "desa":
            in_working_area = db.session.execute(sa.select(PuskesmasDesa.id).where(
                PuskesmasDesa.puskesmas_id == scope.puskesmas_id,
                PuskesmasDesa.desa_code == area.key)).first() is not None
            if in_working_area and not _has_posyandu_outside(scope, area):
                return True
    return _all_posyandu_in_scope(scope, area)


def _kabupaten_of(area: Area) -> str | None:
    if area.level in _REGION_LEVELS:
        return area.key[:4]
    model = Puskesmas if area.level == "puskesmas" else Posyandu
    return db.session.scalar(sa.select(model.kabupaten_code).where(model.id == area.key))


def _has_posyandu_outside(scope, area: Area) -> bool:
    outside = sa.select(Posyandu.id).where(area.posyandu_condition(),
                                           sa.not_(scope.posyandu_clause(Posyandu.id)))
    return db.session.execute(outside.limit(1)).first() is not None


def _all_posyandu_in_scope(scope, area: Area) -> bool:
    """Non-empty, and no posyandu of the area outside the scope."""
    inside = db.session.execute(sa.select(Posyandu.id).where(area.posyandu_condition()).limit(1)).first()
    return inside is not None and not _has_posyandu_outside(scope, area)


# --- months ---------------------------------------------------------------------------------

_MONTH = re.compile(MONTH_PATTERN)
#: Months before this are refused: no posyandu record system predates it.
EARLIEST_YEAR = 2000
#: Indonesia's easternmost zone (WIT, UTC+9) starts a new month first.
_WIT = _dt.timezone(_dt.timedelta(hours=9))


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def first_day(self) -> _dt.date:
        return _dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> _dt.date:
        return _dt.date(self.year, self.month, _calendar.monthrange(self.year, self.month)[1])

    @property
    def index(self) -> int:
        """Months since year 0, for arithmetic (same as ``core.growth.trend.month_index``)."""
        return self.year * 12 + self.month - 1

    def shift(self, months: int) -> "Month":
        index = self.index + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def current_month(today: _dt.date | None = None) -> Month:
    today = today or _dt.datetime.now(_WIT).date()
    return Month(today.year, today.month)


def parse_month(text: str, *, field: str = "month", today: _dt.date | None = None) -> Month:
    """``"2026-11"`` → Month; a malformed month, one before 2000 or one in the future is a 422
    naming ``field``."""
    if not isinstance(text, str) or not _MONTH.match(text):
        raise InvalidInput("A month is written YYYY-MM, e.g. 2026-11.",
                           errors={field: ["Must be a month written YYYY-MM, e.g. 2026-11."]})
    month = Month(int(text[:4]), int(text[5:7]))
    if month.year < EARLIEST_YEAR:
        raise InvalidInput(f"{text} is too early.", errors={field: [f"Must be {EARLIEST_YEAR}-01 or later."]})
    if month.index > current_month(today).index:
        raise InvalidInput(f"{text} has not happened yet.",
                           errors={field: [f"Must not be in the future (latest: {current_month(today)})."]})
    return month
