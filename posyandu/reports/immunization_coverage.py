"""Immunization coverage of an area for a month: doses, IDL/IBL, dropout, UCI per desa.

Definitions (docs/exports.md; unverified choices in ``data/coverage-rules-id.json``):

- **Who**: the children registered in the area at the month's end, placed at their posyandu of
  that day (:func:`.cohort.month_children`). Doses are the live, *valid* records (the schedule
  engine's validity, stored with each dose) given on or before the month's last day.
- **Targets** (*sasaran*): infants = registered children 0–11 completed months at the month's
  end (basic doses, IDL); baduta = 12–23 months (boosters PCV3, DPT-HB-Hib 4, MR2; IBL).
- **Doses per vaccine and dose**: given this month and from 1 January to the month's end
  (*kumulatif*), counted for the target when given before the target's upper age (basic doses
  before the first birthday, boosters before 24 months), else as catch-up (*kejar*); coverage =
  doses ÷ target, PWS-style (the cumulative line reaches about 100 % in December).
- **IDL / IBL** (immunization-schedule-id.md §3): complete on time = every dose the definition
  requires *for this child* (birth cohort, the kabupaten's programme: JE, cohort start dates;
  PCV first-dose rules) valid before 12 (IDL) or 24 (IBL) months. Counted in the month (and year)
  in which the last required dose was given, against the infant (baduta) target.
- **Dropout** (PWS): (DPT-HB-Hib 1 − DPT-HB-Hib 3) ÷ DPT-HB-Hib 1 and (DPT-HB-Hib 1 − MR1) ÷
  DPT-HB-Hib 1, cumulative target-age doses of the year; negative when more children finished
  than started this year (a sign of data to check, kept as is).
- **UCI per desa**: of the registered children aged 12–23 months (a year's birth cohort just
  past its first birthday), the share with IDL complete on time, against the threshold (80 % by
  default, unverified, ``?uci_threshold=``).

The per-child IDL/IBL status is computed in SQL, not by calling the engine per child: the
requirements are generated from the schedule data the engine uses (completeness components,
cohort start dates per kabupaten, region flags, PCV first-dose rules), and the k-th valid record
of a series is the k-th dose of that series, exactly as the engine matches records. A test
checks the SQL against ``evaluate_child`` on random dose histories.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from ..core.schedule import RegionSettings, add_months, default_schedule
from ..errors import InvalidInput
from ..extensions import db
from ..immunizations.models import Immunization
from ..immunizations.operations import region_settings_for
from ..regions.models import Posyandu
from .areas import Area, Month
from .cohort import (age_in_months_between, breakdown_columns, breakdown_rows, group_keys, groups, month_children,
                     report_settings, resolve_by, roll_up, roll_up_by)
from .subtotals import posyandu_directory
from .coverage import coverage_rules
from .document import ROW_LEVEL, Column, ReportDocument, Table
from .registry import register
from .subtotals import percent

I = Immunization
_DAY = _dt.timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# SQL date arithmetic (same on SQLite and PostgreSQL)
# ---------------------------------------------------------------------------------------------
def _part(name: str, column):
    return sa.cast(sa.extract(name, column), sa.Integer)


def date_key(column):
    """``YYYYMMDD`` as an integer: dates compare like their keys."""
    return _part("year", column) * 10000 + _part("month", column) * 100 + _part("day", column)


def _literal_key(day: _dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def birthday_key(birth_column, years: int):
    """Key of ``birth + years`` with the engine's calendar rule (``add_months``: 29 February
    plus a year that is not a multiple of four is 28 February)."""
    if years % 4 == 0:
        raise ValueError("only ages in whole years that are not multiples of 4 are supported")
    leap_day = sa.and_(_part("month", birth_column) == 2, _part("day", birth_column) == 29)
    return date_key(birth_column) + years * 10000 - sa.case((leap_day, 1), else_=0)


class years_after(sa.sql.functions.FunctionElement):
    """SQL ``date + N years`` with the engine's calendar rule (29 February → 28 February), as a
    date: the cheap per-row form for comparisons with another date column."""
    type = sa.Date()
    inherit_cache = True
    name = "years_after"

    def __init__(self, column, years: int):
        if years % 4 == 0:
            raise ValueError("only ages in whole years that are not multiples of 4 are supported")
        # the number of years is a clause, so it is part of SQLAlchemy's statement cache key
        super().__init__(column, sa.literal_column(str(int(years))))


def _years_after_parts(element, compiler, **kw):
    column, years = list(element.clauses)
    return compiler.process(column, **kw), int(years.name)


@compiles(years_after, "postgresql")
def _years_after_postgresql(element, compiler, **kw):
    column, years = _years_after_parts(element, compiler, **kw)
    return f"CAST(({column} + INTERVAL '{years} years') AS DATE)"


@compiles(years_after, "sqlite")
def _years_after_sqlite(element, compiler, **kw):
    column, years = _years_after_parts(element, compiler, **kw)
    return (f"(CASE WHEN strftime('%m-%d', {column}) = '02-29' THEN date({column}, '+{years} years', "
            f"'-1 day') ELSE date({column}, '+{years} years') END)")


def _whole_years(spec) -> int:
    if spec.days or spec.months % 12:
        raise ValueError(f"age {spec} is not whole years; coverage SQL supports whole years only")
    return spec.months // 12


# ---------------------------------------------------------------------------------------------
# requirements from the schedule data (what the engine's _completeness requires per child)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """A required dose: the ``position``-th (0-based) valid dose of ``series``; required only
    for children born on/after ``born_from`` (None: all), and not when the series' first valid
    dose comes at or after one of ``dropped_from_years`` (PCV first-dose rules)."""
    code: str
    series: str
    position: int
    born_from: _dt.date | None
    dropped_from_years: tuple[int, ...]


@dataclass(frozen=True)
class Requirement:
    key: str                       # IDL2023 / IBL
    deadline_years: int
    slots_by_series: dict          # series -> [Slot] (highest position first)


def requirement(definition: str, region: RegionSettings) -> Requirement:
    sch = default_schedule()
    cdef = sch.completeness[definition]
    codes = list(cdef.components)
    for code, flag in cdef.regional.items():
        if getattr(region, flag) and code not in codes:
            codes.append(code)
    by_series: dict[str, list[Slot]] = {}
    for code in codes:
        flag = sch.region_flags.get(code)
        if flag and not getattr(region, flag):
            continue  # not in this kabupaten's programme
        cohort = sch.cohort_doses.get(code)
        born_from = None
        if cohort is not None:
            overrides = region.cohort_born_from
            born_from = overrides[cohort] if cohort in overrides else sch.cohort_defaults.get(cohort)
        dose = sch.by_code[code]
        dropped = []
        for rule in sch.first_dose_rules.get(dose.series, ()):
            if code in rule.not_required:
                first = sch.series[dose.series][0]
                if first.min_age.approx_days() >= rule.from_age.approx_days():
                    raise ValueError("first-dose rule below the first dose's minimum age is not supported")
                dropped.append(_whole_years(rule.from_age))
        by_series.setdefault(dose.series, []).append(
            Slot(code, dose.series, dose.position, born_from, tuple(dropped)))
    for slots in by_series.values():
        slots.sort(key=lambda s: -s.position)
    return Requirement(definition, _whole_years(cdef.deadline_age), by_series)


def _needed_ranks(requirements) -> dict[str, set[int]]:
    """series -> the ranks (1-based) whose dates the status needs."""
    out: dict[str, set[int]] = {}
    for req in requirements:
        for series, slots in req.slots_by_series.items():
            ranks = out.setdefault(series, set())
            for slot in slots:
                ranks.add(slot.position + 1)
                if slot.dropped_from_years:
                    ranks.add(1)
    return out


def _rank_column(child, series: str, rank: int):
    """The date key (``YYYYMMDD``) of the child's ``rank``-th valid dose of ``series``."""
    return getattr(child.c, _rank_name(series, rank))


def _rank_name(series: str, rank: int) -> str:
    return "k_" + "".join(ch if ch.isalnum() else "_" for ch in series).lower() + f"_{rank}"


def _birthday_column(child, years: int):
    """The key of the child's birthday ``years`` on (computed once per child)."""
    return getattr(child.c, f"birthday_{years}")


def _slot_applies(slot: Slot, child, end: _dt.date):
    """SQL: ``slot`` is required for the child (cohort; first-dose rules as of ``end``)."""
    conditions = []
    if slot.born_from is not None:
        conditions.append(child.c.birth_date >= slot.born_from)
    for years in slot.dropped_from_years:
        first = _rank_column(child, slot.series, 1)
        limit = _birthday_column(child, years)
        triggered = sa.or_(sa.and_(first.is_not(None), first >= limit),
                           sa.and_(first.is_(None), _literal_key(end) >= limit))
        conditions.append(sa.not_(triggered))
    return sa.and_(sa.true(), *conditions)


def _for_each_series(req: Requirement, child, end: _dt.date, satisfied):
    """SQL: for every series, the highest required slot (if any) meets ``satisfied(key_column)``."""
    parts = []
    for series, slots in req.slots_by_series.items():
        options, none_before = [], []
        for slot in slots:  # highest position first: the first that applies decides
            applies = _slot_applies(slot, child, end)
            options.append(sa.and_(*none_before, applies, satisfied(_rank_column(child, series, slot.position + 1))))
            none_before.append(sa.not_(applies))
        options.append(sa.and_(sa.true(), *none_before))  # nothing required in this series
        parts.append(sa.or_(*options))
    return sa.and_(sa.true(), *parts)


def complete_on_time(req: Requirement, child, end: _dt.date):
    """SQL: every dose ``req`` requires for the child is valid and given before the deadline."""
    deadline = _birthday_column(child, req.deadline_years)
    return _for_each_series(req, child, end, lambda k: sa.and_(k.is_not(None), k < deadline))


def completed_by(req: Requirement, child, end: _dt.date, day: _dt.date):
    """SQL: every required dose (as of ``end``) was given on or before ``day``."""
    limit = _literal_key(day)
    return _for_each_series(req, child, end, lambda k: sa.and_(k.is_not(None), k <= limit))


def per_child_status(area: Area, month: Month, region: RegionSettings, *, born_after: _dt.date):
    """Subquery: one row per registered child born after ``born_after`` with its posyandu, sex,
    birth date, the keys of the birthdays the rules need and the date keys of the valid doses its
    IDL/IBL status needs (``YYYYMMDD`` integers: the status is integer comparisons)."""
    sch = default_schedule()
    end = month.last_day
    reqs = [requirement("IDL2023", region), requirement("IBL", region)]
    ranks = _needed_ranks(reqs)
    years = {r.deadline_years for r in reqs} | {y for r in reqs for slots in r.slots_by_series.values()
                                               for slot in slots for y in slot.dropped_from_years}
    series_codes = [d.code for s in ranks for d in sch.series[s]]
    series_number = {name: i for i, name in enumerate(sorted(sch.series))}
    series_of = sa.case({d.code: series_number[d.series] for d in sch.doses}, value=I.dose_code)
    registered = month_children(area, month, born_after=born_after, name="registered_imm")
    doses = sa.and_(I.child_id == registered.c.child_id, I.deleted_at.is_(None), I.is_valid.is_(True),
                    I.given_on <= end, I.dose_code.in_(series_codes))
    ranked = (sa.select(registered.c.child_id, registered.c.posyandu_id, registered.c.birth_date, registered.c.sex,
                        series_of.label("series"), date_key(I.given_on).label("given_key"),
                        sa.func.row_number().over(partition_by=(registered.c.child_id, series_of),
                                                  order_by=(I.given_on, I.dose_code)).label("n"))
              .select_from(registered).outerjoin(I, doses)
              .subquery("ranked_doses"))
    rank_columns = [sa.func.max(sa.case((sa.and_(ranked.c.series == series_number[s], ranked.c.n == k),
                                         ranked.c.given_key)))
                    .label(_rank_name(s, k)) for s in sorted(ranks) for k in sorted(ranks[s])]
    per_child = (sa.select(ranked.c.child_id, ranked.c.posyandu_id, ranked.c.birth_date, ranked.c.sex, *rank_columns)
                 .group_by(ranked.c.child_id, ranked.c.posyandu_id, ranked.c.birth_date, ranked.c.sex)
                 .subquery("child_doses"))
    with_birthdays = sa.select(per_child, *[birthday_key(per_child.c.birth_date, y).label(f"birthday_{y}")
                                            for y in sorted(years)]).subquery("child_status")
    return with_birthdays, reqs


# ---------------------------------------------------------------------------------------------
# counts
# ---------------------------------------------------------------------------------------------
def _count(condition):
    return sa.func.sum(sa.case((condition, 1), else_=0))


def region_of(area: Area) -> RegionSettings:
    kabupaten = db.session.scalar(sa.select(Posyandu.kabupaten_code).where(area.posyandu_condition()).limit(1))
    code = kabupaten or (str(area.key)[:4] if area.level in ("kabupaten", "kecamatan", "desa") else None)
    return region_settings_for([code])[code] if code else default_schedule().national_region()


COMPLETENESS_SUMS = ("infants", "idl_month", "idl_ytd", "baduta", "ibl_month", "ibl_ytd", "uci_assessed",
                     "uci_complete")


def completeness_counts(area: Area, month: Month, region: RegionSettings) -> dict:
    """``{(posyandu_id, sex): {infants, idl_month, idl_ytd, baduta, ibl_month, ibl_ytd,
    uci_assessed, uci_complete}}`` in one statement."""
    rules = coverage_rules()
    end = month.last_day
    year_start = _dt.date(month.year, 1, 1)
    child, (idl, ibl) = per_child_status(area, month, region, born_after=add_months(year_start, -24) - _DAY)
    infant = rules["cohorts"]["infant"]
    baduta = rules["cohorts"]["baduta"]
    assessed = rules["uci_assessed_age_months"]
    idl_done = complete_on_time(idl, child, end)
    ibl_done = complete_on_time(ibl, child, end)
    columns = [
        _count(age_in_months_between(child.c.birth_date, end, infant["min"], infant["max"])).label("infants"),
        _count(sa.and_(idl_done, sa.not_(completed_by(idl, child, end, month.first_day - _DAY)))).label("idl_month"),
        _count(sa.and_(idl_done, sa.not_(completed_by(idl, child, end, year_start - _DAY)))).label("idl_ytd"),
        _count(age_in_months_between(child.c.birth_date, end, baduta["min"], baduta["max"])).label("baduta"),
        _count(sa.and_(ibl_done, sa.not_(completed_by(ibl, child, end, month.first_day - _DAY)))).label("ibl_month"),
        _count(sa.and_(ibl_done, sa.not_(completed_by(ibl, child, end, year_start - _DAY)))).label("ibl_ytd"),
        _count(age_in_months_between(child.c.birth_date, end, assessed["min"], assessed["max"])).label("uci_assessed"),
        _count(sa.and_(idl_done, age_in_months_between(child.c.birth_date, end, assessed["min"], assessed["max"]))
               ).label("uci_complete"),
    ]
    query = (sa.select(child.c.posyandu_id, child.c.sex, *columns)
             .group_by(child.c.posyandu_id, child.c.sex))
    return {(r["posyandu_id"], r["sex"]): {k: int(v or 0) for k, v in r.items() if k not in ("posyandu_id", "sex")}
            for r in db.session.execute(query).mappings()}


def dose_counts(area: Area, month: Month) -> dict:
    """``{(posyandu_id, dose_code): {given_month, given_ytd, catch_up_ytd}}``: valid doses given
    this year up to the month's end to registered children, target age vs catch-up."""
    sch = default_schedule()
    rules = coverage_rules()["target_age"]
    registered = month_children(area, month, name="registered_doses")
    target_age = sa.or_(*[
        sa.and_(I.dose_code.in_([d.code for d in sch.doses if d.program == name]),
                I.given_on < years_after(registered.c.birth_date, _whole_years_months(rule["before_months"])))
        for name, rule in rules.items() if name in ("dasar", "lanjutan")])
    query = (sa.select(registered.c.posyandu_id, I.dose_code,
                       _count(sa.and_(target_age, I.given_on >= month.first_day)).label("given_month"),
                       _count(target_age).label("given_ytd"),
                       _count(sa.not_(target_age)).label("catch_up_ytd"))
             .select_from(registered)
             .join(I, I.child_id == registered.c.child_id)
             .where(I.deleted_at.is_(None), I.is_valid.is_(True), I.given_on >= _dt.date(month.year, 1, 1),
                    I.given_on <= month.last_day)
             .group_by(registered.c.posyandu_id, I.dose_code))
    return {(r["posyandu_id"], r["dose_code"]): {"given_month": int(r["given_month"] or 0),
                                         "given_ytd": int(r["given_ytd"] or 0),
                                         "catch_up_ytd": int(r["catch_up_ytd"] or 0)}
            for r in db.session.execute(query).mappings()}


def _whole_years_months(months: int) -> int:
    if months % 12:
        raise ValueError("target ages must be whole years")
    return months // 12


# ---------------------------------------------------------------------------------------------
# the document
# ---------------------------------------------------------------------------------------------
DOSE_COLUMNS = [
    Column("dose", "Kode dosis", "Dose code"),
    Column("name", "Imunisasi", "Vaccine (programme name)"),
    Column("program", "Program", "Programme"),
    Column("target", "Sasaran", "Target"),
    Column("target_size", "Jumlah sasaran", "Target size", "int"),
    Column("given_month", "Diberikan bulan ini", "Given this month", "int"),
    Column("coverage_month", "Cakupan bulan ini (%)", "Coverage this month (%)", "pct"),
    Column("given_ytd", "Diberikan kumulatif Jan s.d. bulan ini", "Given cumulatively this year", "int"),
    Column("coverage_ytd", "Cakupan kumulatif (%)", "Cumulative coverage (%)", "pct"),
    Column("catch_up_ytd", "Imunisasi kejar kumulatif (di luar umur sasaran)",
           "Catch-up doses this year (beyond the target age)", "int"),
]

COMPLETENESS_COLUMNS = [
    Column("infants", "Sasaran bayi (0-11 bulan)", "Infants (0-11 months)", "int"),
    Column("idl_month", "IDL bulan ini", "Complete basic immunization (IDL) this month", "int"),
    Column("idl_ytd", "IDL kumulatif", "IDL cumulatively this year", "int"),
    Column("idl_ytd_pct", "Cakupan IDL kumulatif (%)", "IDL cumulative coverage (%)", "pct"),
    Column("baduta", "Sasaran baduta (12-23 bulan)", "Children 12-23 months", "int"),
    Column("ibl_month", "IBL bulan ini", "Complete under-2 boosters (IBL) this month", "int"),
    Column("ibl_ytd", "IBL kumulatif", "IBL cumulatively this year", "int"),
    Column("ibl_ytd_pct", "Cakupan IBL kumulatif (%)", "IBL cumulative coverage (%)", "pct"),
    Column("dpt1_ytd", "DPT-HB-Hib 1 kumulatif", "DPT-HB-Hib 1 this year", "int"),
    Column("dpt3_ytd", "DPT-HB-Hib 3 kumulatif", "DPT-HB-Hib 3 this year", "int"),
    Column("mr1_ytd", "MR1 kumulatif", "MR1 this year", "int"),
    Column("dropout_dpt1_dpt3", "Drop out DPT-HB-Hib 1-3 (%)", "Dropout DPT-HB-Hib 1 to 3 (%)", "pct"),
    Column("dropout_dpt1_mr1", "Drop out DPT-HB-Hib 1-MR1 (%)", "Dropout DPT-HB-Hib 1 to MR1 (%)", "pct"),
]
COMPLETENESS_SUMS_ALL = COMPLETENESS_SUMS + ("dpt1_ytd", "dpt3_ytd", "mr1_ytd")

UCI_COLUMNS = [
    Column("uci_assessed", "Anak 12-23 bulan", "Children 12-23 months", "int"),
    Column("uci_complete", "IDL lengkap sebelum umur 1 tahun", "IDL complete before the first birthday", "int"),
    Column("uci_pct", "IDL (%)", "IDL (%)", "pct"),
    Column("uci_threshold", "Batas UCI (%)", "UCI threshold (%)", "pct"),
    Column("uci", "Desa UCI", "UCI village", "bool"),
]


def dropout(first, later) -> float | None:
    """PWS dropout rate: (first − later) ÷ first × 100 (None without a first dose)."""
    if not first:
        return None
    return round(100.0 * (first - (later or 0)) / first, 1)


def _derive_completeness(row: dict) -> None:
    row["idl_ytd_pct"] = percent(row.get("idl_ytd"), row.get("infants"))
    row["ibl_ytd_pct"] = percent(row.get("ibl_ytd"), row.get("baduta"))
    row["dropout_dpt1_dpt3"] = dropout(row.get("dpt1_ytd"), row.get("dpt3_ytd"))
    row["dropout_dpt1_mr1"] = dropout(row.get("dpt1_ytd"), row.get("mr1_ytd"))


def _uci_deriver(threshold: float):
    def derive(row: dict) -> None:
        row["uci_pct"] = percent(row.get("uci_complete"), row.get("uci_assessed"))
        row["uci_threshold"] = threshold
        row["uci"] = None if row["uci_pct"] is None else row["uci_pct"] >= threshold
    return derive


def parse_threshold(value) -> float:
    default = float(coverage_rules()["uci_threshold_pct"]["value"])
    if value in (None, ""):
        return default
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        threshold = -1.0
    if not 0 < threshold <= 100:
        raise InvalidInput("The UCI threshold is a percentage.",
                           errors={"uci_threshold": ["Must be a number above 0 and at most 100."]})
    return threshold


@register("immunization-coverage", title_id="Cakupan imunisasi", title_en="Immunization coverage",
          options=("by", "uci_threshold"),
          description_en="Doses per vaccine and dose this month and this year against the infant/baduta targets, "
                         "IDL and IBL, dropout DPT-HB-Hib 1-3 and 1-MR1, UCI per desa.")
def immunization_coverage_document(scope, area: Area, month: Month, options: dict) -> ReportDocument:
    by = resolve_by(area, options.get("by"))
    threshold = parse_threshold(options.get("uci_threshold"))
    report_settings()
    region = region_of(area)
    sch = default_schedule()
    directory = posyandu_directory(area)

    per_posyandu_sex = completeness_counts(area, month, region)
    doses = dose_counts(area, month)
    for (posyandu_id, code), values in doses.items():
        key = {"DPTHBHIB1": "dpt1_ytd", "DPTHBHIB3": "dpt3_ytd", "MR1": "mr1_ytd"}.get(code)
        if key:  # the dropout inputs join the completeness counts at the posyandu grain
            bucket = per_posyandu_sex.setdefault((posyandu_id, 0), {})
            bucket[key] = bucket.get(key, 0) + values["given_ytd"]
    completeness = roll_up(per_posyandu_sex, group_keys(directory, by), COMPLETENESS_SUMS_ALL)

    group_list = groups(area, by, directory)
    label_columns = breakdown_columns(by)
    completeness_rows = list(breakdown_rows(area, by, group_list, completeness, sum_keys=COMPLETENESS_SUMS_ALL,
                                            derive=_derive_completeness))
    totals = completeness_rows[-1] if completeness_rows else {}

    dose_totals: dict[str, dict] = {}
    for (_posyandu, code), values in doses.items():
        bucket = dose_totals.setdefault(code, dict.fromkeys(("given_month", "given_ytd", "catch_up_ytd"), 0))
        for k, v in values.items():
            bucket[k] += v
    dose_rows = []
    for dose in sch.doses:
        if dose.code in sch.region_flags and not getattr(region, sch.region_flags[dose.code]):
            continue  # not in this kabupaten's programme (JE)
        target = "bayi" if dose.program == "dasar" else "baduta"
        size = totals.get("infants" if target == "bayi" else "baduta", 0) or 0
        values = dose_totals.get(dose.code, {})
        row = {"dose": dose.code, "name": dose.name_id, "program": dose.program, "target": target,
               "target_size": size, "given_month": values.get("given_month", 0),
               "given_ytd": values.get("given_ytd", 0), "catch_up_ytd": values.get("catch_up_ytd", 0)}
        row["coverage_month"] = percent(row["given_month"], size)
        row["coverage_ytd"] = percent(row["given_ytd"], size)
        dose_rows.append(row)

    uci_rows = _uci_rows(area, directory, roll_up(per_posyandu_sex, group_keys(directory, "desa"),
                                                  COMPLETENESS_SUMS), threshold)
    sex_rows = _sex_rows(roll_up_by(per_posyandu_sex, 1, COMPLETENESS_SUMS))

    counted = [r for r in uci_rows if r.get(ROW_LEVEL) == "desa" and r.get("uci") is not None]
    uci_desa = sum(1 for r in counted if r["uci"])
    uci_note_id = f"Desa UCI: {uci_desa} dari {len(counted)} desa/kelurahan dengan anak 12-23 bulan " \
                  f"(batas {threshold:g}%)."
    uci_note_en = f"UCI villages: {uci_desa} of {len(counted)} villages with children 12-23 months " \
                  f"(threshold {threshold:g}%)."
    common_id = ("Sasaran = anak terdaftar pada akhir bulan (umur bulan penuh); hanya dosis yang sah "
                 "(validitas jadwal) yang dihitung.")
    common_en = ("Targets = children registered at the month's end (completed months); only valid doses "
                 "(schedule validity) count.")
    tables = [
        Table("doses", "Dosis per imunisasi", "Doses per vaccine", DOSE_COLUMNS, dose_rows,
              notes_id=[common_id, "Dosis dasar dihitung untuk sasaran bila diberikan sebelum umur 1 tahun, "
                                   "dosis lanjutan (baduta) sebelum umur 2 tahun; selebihnya imunisasi kejar."],
              notes_en=[common_en, "Basic doses count for the target when given before the first birthday, "
                                   "boosters before 24 months; later doses are catch-up."]),
        Table("completeness", "IDL, IBL dan drop out", "IDL, IBL and dropout", label_columns + COMPLETENESS_COLUMNS,
              completeness_rows,
              notes_id=[common_id, "IDL/IBL: semua dosis yang wajib bagi anak itu (kohort lahir, program "
                                   "kabupaten) sah sebelum umur 1/2 tahun, dihitung pada bulan dosis terakhir."],
              notes_en=[common_en, "IDL/IBL: every dose required for that child (birth cohort, the kabupaten's "
                                   "programme) valid before 1/2 years of age, counted in the month of the last dose."]),
        Table("uci", "UCI desa", "UCI by village", breakdown_columns("desa") + UCI_COLUMNS, uci_rows,
              notes_id=[uci_note_id, "UCI: bagian anak 12-23 bulan dengan IDL lengkap sebelum umur 1 tahun."],
              notes_en=[uci_note_en, "UCI: share of children 12-23 months with IDL complete before their first "
                                     "birthday."]),
        Table("by_sex", "Menurut jenis kelamin", "By sex",
              [Column("sex", "Jenis kelamin (L/P)", "Sex (L = male, P = female)")]
              + [c for c in COMPLETENESS_COLUMNS if c.key in ("infants", "idl_ytd", "idl_ytd_pct", "baduta",
                                                                 "ibl_ytd", "ibl_ytd_pct")]
              + [c for c in UCI_COLUMNS if c.key in ("uci_assessed", "uci_complete", "uci_pct")],
              sex_rows),
    ]
    return ReportDocument(kind="immunization-coverage", title_id="Cakupan imunisasi",
                          title_en="Immunization coverage", area=area.as_dict(), period=str(month), tables=tables)


def _uci_rows(area: Area, directory: list[dict], counts: dict, threshold: float) -> list[dict]:
    derive = _uci_deriver(threshold)
    desa_groups = groups(area, "desa", directory)
    rows = []
    total = {"uci_assessed": 0, "uci_complete": 0}
    for g in desa_groups:
        values = counts.get(g["key"], {})
        row = {"code": g["code"], "name": g["name"], "uci_assessed": values.get("uci_assessed", 0),
               "uci_complete": values.get("uci_complete", 0), ROW_LEVEL: "desa"}
        derive(row)
        rows.append(row)
        total["uci_assessed"] += row["uci_assessed"]
        total["uci_complete"] += row["uci_complete"]
    if len(rows) > 1:
        total[ROW_LEVEL] = "total"
        derive(total)
        total["uci"] = None  # UCI is a village status; the total says how many villages reach it
        rows.append(total)
    return rows


def _sex_rows(counts: dict) -> list[dict]:
    keys = ("infants", "idl_ytd", "baduta", "ibl_ytd", "uci_assessed", "uci_complete")
    rows, total = [], dict.fromkeys(keys, 0)
    for sex, letter in ((1, "L"), (2, "P")):
        values = counts.get(sex, {})
        row = {"sex": letter, **{k: values.get(k, 0) for k in keys}, ROW_LEVEL: "sex"}
        for k in keys:
            total[k] += row[k]
        rows.append(row)
    total[ROW_LEVEL] = "total"
    rows.append(total)
    for row in rows:
        row["idl_ytd_pct"] = percent(row["idl_ytd"], row["infants"])
        row["ibl_ytd_pct"] = percent(row["ibl_ytd"], row["baduta"])
        row["uci_pct"] = percent(row["uci_complete"], row["uci_assessed"])
    return rows
