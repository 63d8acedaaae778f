"""Immunization forecast for one child (Kemenkes routine schedule).

See README.md in this package for the precise definitions of every status.
Pure code: no Flask, no database, no I/O after the data files are loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Iterable, NamedTuple

from .data import DoseDef, RegionSettings, ScheduleData, StaticDates, default_schedule

__all__ = [
    "Administration",
    "ChildSchedule",
    "Completeness",
    "CompletenessStatus",
    "DoseResult",
    "DoseStatus",
    "InvalidReason",
    "StatusReason",
    "DoseWarning",
    "evaluate_child",
]


class DoseStatus(str, Enum):
    GIVEN = "given"                  # a VALID dose is recorded for this slot
    DUE = "due"                      # recommended date <= today < overdue date
    OVERDUE = "overdue"              # today >= recommended date + grace window
    UPCOMING = "upcoming"            # today < recommended date
    MISSED = "missed"                # can no longer be given (maximum age)
    NOT_APPLICABLE = "not_applicable"  # cohort / region / series rule


class InvalidReason(str, Enum):
    """Why a recorded dose does not count (``Administration.reasons``)."""

    BEFORE_BIRTH = "before_birth"
    TOO_EARLY = "too_early"                    # below the minimum age
    INTERVAL_TOO_SHORT = "interval_too_short"  # below the (validity) minimum interval
    AFTER_MAX_AGE = "after_max_age"            # after the last permitted age


class DoseWarning(str, Enum):
    """Non-blocking remarks on a recorded dose."""

    INTERVAL_BELOW_PROGRAMME = "interval_below_programme"  # valid, but < programme interval
    WITHIN_EARLY_GRACE = "within_early_grace"  # counted thanks to early_dose_grace_days
    RECORDED_AS_OTHER_DOSE = "recorded_as_other_dose"  # e.g. recorded OPV3, counts as OPV2
    OUTSIDE_PROGRAMME = "outside_programme"  # valid dose for a not-applicable slot
    EXTRA_DOSE = "extra_dose"               # series already complete
    DATE_AFTER_TODAY = "date_after_today"


class StatusReason(str, Enum):
    """Why a slot is MISSED or NOT_APPLICABLE (``DoseResult.reason``)."""

    MAX_AGE_REACHED = "max_age_reached"
    CANNOT_COMPLETE_BEFORE_MAX_AGE = "cannot_complete_before_max_age"
    PREVIOUS_DOSE_MISSED = "previous_dose_missed"
    BORN_BEFORE_COHORT = "born_before_cohort"
    NOT_IN_REGION_PROGRAMME = "not_in_region_programme"
    # series-rule reasons come from the data file (e.g. "pcv_single_dose_from_24m")


_PENDING = (DoseStatus.DUE, DoseStatus.OVERDUE, DoseStatus.UPCOMING)
_GIVEN, _DUE, _OVERDUE, _UPCOMING, _MISSED, _NA = (
    DoseStatus.GIVEN, DoseStatus.DUE, DoseStatus.OVERDUE, DoseStatus.UPCOMING,
    DoseStatus.MISSED, DoseStatus.NOT_APPLICABLE)
_R_MAX_AGE = StatusReason.MAX_AGE_REACHED.value
_R_CANNOT = StatusReason.CANNOT_COMPLETE_BEFORE_MAX_AGE.value
_R_PREV = StatusReason.PREVIOUS_DOSE_MISSED.value
_R_COHORT = StatusReason.BORN_BEFORE_COHORT.value
_R_REGION = StatusReason.NOT_IN_REGION_PROGRAMME.value


class Administration(NamedTuple):
    """One recorded dose, as evaluated (immutable)."""

    recorded_code: str
    given_on: date
    valid: bool
    counted_as: str | None            # slot it was evaluated against (None for extra doses)
    reasons: tuple[InvalidReason, ...] = ()
    warnings: tuple[DoseWarning, ...] = ()


class DoseResult(NamedTuple):
    """Status and dates of one dose of the schedule for one child (immutable).

    ``earliest_date``/``recommended_date``/``overdue_date``/``latest_date`` are
    None for NOT_APPLICABLE doses.  For GIVEN doses they describe the window
    that applied to the dose.
    """

    dose: DoseDef
    status: DoseStatus
    reason: str | None                # StatusReason value / data-file reason, for MISSED / N/A
    applicable: bool                  # False: cohort, region or series rule excludes it
    given_on: date | None             # date of the valid dose
    administrations: tuple[Administration, ...]  # all records evaluated against this slot
    earliest_date: date | None        # earliest VALID date (min age AND min interval)
    recommended_date: date | None
    overdue_date: date | None         # overdue from this date (recommended + grace)
    latest_date: date | None          # last permitted date (inclusive)

    @property
    def code(self) -> str:
        return self.dose.code

    @property
    def next_date(self) -> date | None:
        """Earliest date the dose may (still) be given; None unless due/overdue/upcoming."""
        return self.earliest_date if self.status in _PENDING else None

    @property
    def invalid_administrations(self) -> tuple[Administration, ...]:
        return tuple(a for a in self.administrations if not a.valid)

    @property
    def warnings(self) -> tuple[DoseWarning, ...]:
        out: list[DoseWarning] = []
        for a in self.administrations:
            if a.valid:
                out.extend(a.warnings)
        return tuple(out)

    def can_be_given_on(self, day: date) -> bool:
        return (self.status in _PENDING and self.earliest_date is not None
                and self.earliest_date <= day <= self.latest_date)

    def name(self, lang: str = "id") -> str:
        return self.dose.name(lang)


class CompletenessStatus(str, Enum):
    COMPLETE = "complete"            # every required dose valid before the deadline
    COMPLETE_LATE = "complete_late"  # every required dose valid, some on/after the deadline
    IN_PROGRESS = "in_progress"      # before the deadline, still achievable on time
    INCOMPLETE = "incomplete"        # deadline passed (or a dose already missed), dose(s) lacking


@dataclass(frozen=True, slots=True)
class Completeness:
    definition: str                  # "IDL2017" | "IDL2023" | "IBL"
    status: CompletenessStatus
    deadline: date                   # doses must be given BEFORE this date (birth + 12m / 24m)
    required: tuple[str, ...]        # dose codes required for this child (cohort/region aware)
    missing: tuple[str, ...]         # required, no valid dose yet
    late: tuple[str, ...]            # valid, but given on/after the deadline
    excluded: tuple[str, ...]        # components not required for this child
    completed_on: date | None        # date of the last required dose, when all are given

    @property
    def is_complete(self) -> bool:
        return self.status in (CompletenessStatus.COMPLETE, CompletenessStatus.COMPLETE_LATE)


@dataclass(frozen=True, slots=True)
class ChildSchedule:
    birth_date: date
    today: date
    region: RegionSettings
    data_version: str
    doses: tuple[DoseResult, ...]            # CSV order
    extra_doses: tuple[Administration, ...]  # doses beyond a complete series
    unrecognized: tuple[tuple[str, date], ...]
    schedule: ScheduleData

    def dose(self, code: str) -> DoseResult:
        return self.doses[self.schedule.by_code[code].index]

    def with_status(self, *statuses: DoseStatus) -> tuple[DoseResult, ...]:
        return tuple(d for d in self.doses if d.status in statuses)

    @property
    def status_by_code(self) -> dict[str, DoseStatus]:
        return {d.dose.code: d.status for d in self.doses}

    def fhir_status(self, code: str) -> tuple[str, str]:
        """(system, code) of the ImmunizationRecommendation forecastStatus for a dose."""
        return self.schedule.fhir_map[self.dose(code).status.value]

    def completeness(self, definition: str = "IDL2023") -> Completeness:
        return _completeness(self, self.schedule.completeness[definition])

    @property
    def idl(self) -> Completeness:
        return self.completeness("IDL2023")

    @property
    def idl_2017(self) -> Completeness:
        return self.completeness("IDL2017")

    @property
    def ibl(self) -> Completeness:
        return self.completeness("IBL")


# --------------------------------------------------------------------------- evaluation


def _intervals(dose: DoseDef, cond_from: tuple[date, ...], on: date):
    """(programme interval, validity interval) for a dose given on ``on``."""
    prog = dose.min_interval
    valid = dose.valid_min_interval or prog
    for c, threshold in zip(dose.conditional_intervals, cond_from):
        if on >= threshold:
            prog, valid = c.min_interval, c.valid_min_interval
    return prog, valid


def _project(dose: DoseDef, cond_from: tuple[date, ...], floor: date, anchor: date | None) -> date:
    """Earliest date >= ``floor`` that respects the (possibly age-conditional) interval."""
    if anchor is None or dose.min_interval is None:
        return floor
    candidate = dose.min_interval.add_to(anchor)
    if candidate < floor:
        candidate = floor
    for c, threshold in zip(dose.conditional_intervals, cond_from):
        if candidate >= threshold:
            alt = c.min_interval.add_to(anchor)
            if alt > candidate:
                candidate = alt
    return candidate


def _check(dose: DoseDef, birth: date, given: date, anchor: date | None,
           st: StaticDates, grace: int):
    reasons: list[InvalidReason] = []
    warnings: list[DoseWarning] = []
    min_date = st.min_date
    if given < birth:
        reasons.append(InvalidReason.BEFORE_BIRTH)
    elif given < min_date:
        if (min_date - given).days <= grace:
            warnings.append(DoseWarning.WITHIN_EARLY_GRACE)
        else:
            reasons.append(InvalidReason.TOO_EARLY)
    if anchor is not None and dose.min_interval is not None:
        prog, valid = _intervals(dose, st.cond_from, given)
        valid_date = valid.add_to(anchor)
        if given < valid_date:
            if (valid_date - given).days <= grace:
                warnings.append(DoseWarning.WITHIN_EARLY_GRACE)
            else:
                reasons.append(InvalidReason.INTERVAL_TOO_SHORT)
        elif given < prog.add_to(anchor):
            warnings.append(DoseWarning.INTERVAL_BELOW_PROGRAMME)
    if given > st.latest_date:
        reasons.append(InvalidReason.AFTER_MAX_AGE)
    return tuple(reasons), tuple(warnings)


def evaluate_child(
    birth_date: date,
    doses_given: Iterable[tuple[str, date]],
    today: date,
    region: RegionSettings | None = None,
    schedule: ScheduleData | None = None,
) -> ChildSchedule:
    """Evaluate every dose of the schedule for one child.

    ``doses_given``: ``(dose_code, date_given)`` pairs, any order; codes are the
    CSV codes (case-insensitive).  Records are matched to doses per SERIES in
    date order (a dose recorded as "OPV3" may count as OPV2 if OPV2 was
    invalid); the recorded code is kept in ``Administration.recorded_code``.
    """
    sch = schedule or default_schedule()
    region = region or sch.national_region()
    static = sch.static_dates(birth_date)
    grace = sch.early_dose_grace_days

    # --- static applicability: cohort and region ---------------------------------
    not_applicable: dict[str, str] = {}
    overrides = region.cohort_born_from
    for code, key in sch.cohort_doses.items():
        born_from = overrides[key] if key in overrides else sch.cohort_defaults.get(key)
        if born_from is not None and birth_date < born_from:
            not_applicable[code] = _R_COHORT
    for code, flag in sch.region_flags.items():
        if not getattr(region, flag) and code not in not_applicable:
            not_applicable[code] = _R_REGION

    # --- group records by series ------------------------------------------------------
    by_series: dict[str, list[tuple[date, str]]] = {}
    unrecognized: list[tuple[str, date]] = []
    by_code = sch.by_code
    for code, given_on in doses_given:
        norm = code.strip().upper() if isinstance(code, str) else code
        d = by_code.get(norm)
        if d is None:
            unrecognized.append((code, given_on))
            continue
        by_series.setdefault(d.series, []).append((given_on, norm))

    results: list[DoseResult | None] = [None] * len(sch.doses)
    extras: list[Administration] = []

    for series_name, slots in sch.series.items():
        records = by_series.get(series_name)
        n = len(slots)
        slot_admins: list[list[Administration]] = [[] for _ in range(n)] if records else []
        valid_on: list[date | None] = [None] * n
        rule_na: dict[str, str] = {}
        rules = sch.first_dose_rules.get(series_name, ())

        def apply_first_dose_rules(first_on: date) -> None:
            for rule in rules:
                if first_on >= rule.from_age.add_to(birth_date):
                    for c in rule.not_required:
                        rule_na[c] = rule.reason
                    return

        # 1. evaluate records against target doses, in date order (CDSi-style)
        if records:
            records.sort()
            i = 0
            last_valid: date | None = None
            for given_on, rec_code in records:
                while i < n and slots[i].code in rule_na:
                    i += 1
                future = (DoseWarning.DATE_AFTER_TODAY,) if given_on > today else ()
                if i >= n:
                    extras.append(Administration(rec_code, given_on, True, None, (),
                                                 (DoseWarning.EXTRA_DOSE,) + future))
                    continue
                slot = slots[i]
                reasons, warns = _check(slot, birth_date, given_on,
                                        last_valid if i else None, static[slot.index], grace)
                if rec_code != slot.code:
                    warns += (DoseWarning.RECORDED_AS_OTHER_DOSE,)
                valid = not reasons
                if valid and slot.code in not_applicable:
                    warns += (DoseWarning.OUTSIDE_PROGRAMME,)
                slot_admins[i].append(
                    Administration(rec_code, given_on, valid, slot.code, reasons, warns + future))
                if valid:
                    valid_on[i] = given_on
                    last_valid = given_on
                    if i == 0 and rules:
                        apply_first_dose_rules(given_on)
                    i += 1

        # 2. first-dose rules when the first dose is still to come
        first = slots[0]
        if rules and valid_on[0] is None and first.code not in not_applicable:
            apply_first_dose_rules(max(today, static[first.index].min_date))

        # 3. status and dates per slot, projecting pending doses forward
        anchor_e: date | None = None   # earliest realistic date of the previous dose
        anchor_r: date | None = None   # recommended date of the previous dose
        prev_missed = False
        for idx, slot in enumerate(slots):
            st = static[slot.index]
            latest = st.latest_date
            if idx:
                earliest = _project(slot, st.cond_from, st.min_date, anchor_e)
                recommended = _project(slot, st.cond_from, st.rec_date, anchor_r)
            else:
                earliest, recommended = st.min_date, st.rec_date
            overdue = (st.overdue_date if recommended == st.rec_date
                       else slot.overdue_after.add_to(recommended))
            na_reason = not_applicable.get(slot.code) or rule_na.get(slot.code)
            given = valid_on[idx]
            reason = None
            if given is not None:
                status = _GIVEN
                anchor_e = anchor_r = given
            elif na_reason is not None:
                status, reason = _NA, na_reason
                earliest = recommended = overdue = latest = None
            else:
                if prev_missed:
                    status, reason = _MISSED, _R_PREV
                elif today > latest:
                    status, reason = _MISSED, _R_MAX_AGE
                elif earliest > latest:
                    status, reason = _MISSED, _R_CANNOT
                elif today >= overdue:
                    status = _OVERDUE
                elif today >= recommended:
                    status = _DUE
                else:
                    status = _UPCOMING
                if status is _MISSED:
                    prev_missed = True
                anchor_e = earliest if earliest > today else today
                anchor_r = recommended if recommended > today else today
            results[slot.index] = DoseResult(
                slot, status, reason, na_reason is None, given,
                tuple(slot_admins[idx]) if records else (),
                earliest, recommended, overdue, latest)

    return ChildSchedule(
        birth_date=birth_date, today=today, region=region, data_version=sch.data_version,
        doses=tuple(results), extra_doses=tuple(extras), unrecognized=tuple(unrecognized),
        schedule=sch,
    )


def _completeness(child: ChildSchedule, cdef) -> Completeness:
    region = child.region
    deadline = cdef.deadline_age.add_to(child.birth_date)
    candidates: list[str] = list(cdef.components)
    for code, flag in cdef.regional.items():
        if getattr(region, flag) and code not in candidates:
            candidates.append(code)
    candidates.sort(key=lambda c: child.schedule.by_code[c].index)
    required, excluded, missing, late = [], [], [], []
    impossible = False
    last: date | None = None
    for code in candidates:
        r = child.dose(code)
        if not r.applicable:
            excluded.append(code)
            continue
        required.append(code)
        if r.given_on is None:
            missing.append(code)
            if r.status is DoseStatus.MISSED or (r.earliest_date and r.earliest_date >= deadline):
                impossible = True
        else:
            if r.given_on >= deadline:
                late.append(code)
            last = r.given_on if last is None or r.given_on > last else last
    if not missing:
        status = CompletenessStatus.COMPLETE_LATE if late else CompletenessStatus.COMPLETE
    elif child.today < deadline and not impossible and not late:
        status = CompletenessStatus.IN_PROGRESS
    else:
        status = CompletenessStatus.INCOMPLETE
    return Completeness(
        definition=cdef.key, status=status, deadline=deadline, required=tuple(required),
        missing=tuple(missing), late=tuple(late), excluded=tuple(excluded),
        completed_on=last if not missing else None,
    )
