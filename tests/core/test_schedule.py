"""Immunization schedule engine: statuses, dates, validity, cohort and region rules.

Every expected date below is worked out by hand from the domain notes
(immunization-schedule-id.md): calendar months for ages written in months
(clamped to month end), exact day counts for weeks/days.  The arithmetic is in
the comments; none of it was copied from the engine's output.
"""
from __future__ import annotations

from datetime import date

import pytest

from posyandu.core.schedule import (
    DoseStatus,
    InvalidReason,
    RegionSettings,
    StatusReason,
    DoseWarning,
    evaluate_child,
)

D = date
S = DoseStatus


def ev(birth, given, today, region=None):
    return evaluate_child(birth, given, today, region)


# --------------------------------------------------------------------------- on time

# Born 2024-01-31 (leap year).  Kemenkes ages:
#   0d  -> 2024-01-31 (HB0)
#   1m  -> 2024-02-29 (Feb 31 clamps to 29, leap year)      BCG, OPV1
#   2m  -> 2024-03-31                                       DPT-HB-Hib 1, OPV2, PCV1, RV1
#   3m  -> 2024-04-30 (Apr 31 clamps to 30)                 DPT-HB-Hib 2, OPV3, PCV2, RV2
#   4m  -> 2024-05-31                                       DPT-HB-Hib 3, OPV4, IPV1, RV3
#   9m  -> 2024-10-31                                       MR1, IPV2
#   12m -> 2025-01-31                                       PCV3
#   18m -> 2025-07-31                                       DPT-HB-Hib 4, MR2
ON_TIME_2024 = [
    ("HB0", D(2024, 1, 31)),
    ("BCG", D(2024, 2, 29)), ("OPV1", D(2024, 2, 29)),
    ("DPTHBHIB1", D(2024, 3, 31)), ("OPV2", D(2024, 3, 31)), ("PCV1", D(2024, 3, 31)),
    ("RV1", D(2024, 3, 31)),
    ("DPTHBHIB2", D(2024, 4, 30)), ("OPV3", D(2024, 4, 30)), ("PCV2", D(2024, 4, 30)),
    ("RV2", D(2024, 4, 30)),
    ("DPTHBHIB3", D(2024, 5, 31)), ("OPV4", D(2024, 5, 31)), ("IPV1", D(2024, 5, 31)),
    ("RV3", D(2024, 5, 31)),
    ("MR1", D(2024, 10, 31)), ("IPV2", D(2024, 10, 31)),
    ("PCV3", D(2025, 1, 31)),
]


def test_on_time_child_all_given_and_boosters_upcoming():
    child = ev(D(2024, 1, 31), ON_TIME_2024, D(2025, 2, 15))
    given = {c for c, _ in ON_TIME_2024}
    for r in child.doses:
        if r.code in given:
            assert r.status is S.GIVEN, r.code
            assert r.given_on is not None and r.administrations[0].valid
            assert r.administrations[0].reasons == ()
    # Checks on the intervals that make these valid (by hand):
    #   OPV2 2024-03-31 >= OPV1 2024-02-29 + 28 d = 2024-03-28
    #   RV3  2024-05-31 <= 6m29d = 2024-07-31 + 29 d = 2024-08-29
    #   PCV3 2025-01-31 >= 12m (2025-01-31) and >= PCV2 2024-04-30 + 56 d = 2024-06-25
    #   IPV2 2024-10-31 = exactly the minimum age 9m -> valid
    assert child.dose("JE1").status is S.NOT_APPLICABLE
    assert child.dose("JE1").reason == StatusReason.NOT_IN_REGION_PROGRAMME.value
    dpt4 = child.dose("DPTHBHIB4")
    # DPT-HB-Hib 4: 18m = 2025-07-31; programme interval 12m after DPT3 2024-05-31 = 2025-05-31,
    # earlier, so 2025-07-31 wins.  Overdue from 2025-07-31 + 1m = 2025-08-31.
    assert dpt4.status is S.UPCOMING
    assert (dpt4.earliest_date, dpt4.recommended_date) == (D(2025, 7, 31), D(2025, 7, 31))
    assert dpt4.overdue_date == D(2025, 8, 31)
    # 60m - 1d: 2029-01-31 - 1 d = 2029-01-30
    assert dpt4.latest_date == D(2029, 1, 30)
    mr2 = child.dose("MR2")
    # MR2: 18m = 2025-07-31 vs MR1 2024-10-31 + 6m = 2025-04-30 -> 2025-07-31
    assert mr2.recommended_date == D(2025, 7, 31)
    assert child.fhir_status("MR2")[1] == "due"          # upcoming -> FHIR 'due' (will be due)
    assert child.fhir_status("BCG")[1] == "complete"
    assert child.idl.status.value == "complete"
    assert child.idl.completed_on == D(2024, 10, 31)
    assert child.idl_2017.status.value == "complete"
    assert child.ibl.status.value == "in_progress"
    assert child.ibl.missing == ("DPTHBHIB4", "MR2")


def test_newborn_projection_dates_month_end():
    # Born 2024-01-31, only HB0 given, today 2024-02-01.
    child = ev(D(2024, 1, 31), [("HB0", D(2024, 1, 31))], D(2024, 2, 1))
    bcg = child.dose("BCG")
    # BCG: recommended 1m = 2024-02-29; min age 0d = 2024-01-31;
    # latest 12m - 1d = 2025-01-31 - 1 d = 2025-01-30; overdue 2024-02-29 + 1m = 2024-03-29
    assert (bcg.earliest_date, bcg.recommended_date, bcg.latest_date) == (
        D(2024, 1, 31), D(2024, 2, 29), D(2025, 1, 30))
    assert bcg.overdue_date == D(2024, 3, 29)
    assert bcg.status is S.UPCOMING and bcg.can_be_given_on(D(2024, 2, 1))
    dpt1 = child.dose("DPTHBHIB1")
    # 6 weeks: 2024-01-31 + 42 d = 2024-03-13 (29 d to Feb 29, +13); 2 months: 2024-03-31
    assert (dpt1.earliest_date, dpt1.recommended_date) == (D(2024, 3, 13), D(2024, 3, 31))
    dpt2 = child.dose("DPTHBHIB2")
    # DPT2: min 10w = 2024-01-31 + 70 d = 2024-04-10; DPT1 earliest + 4w = 2024-03-13 + 28 = 04-10
    # recommended: max(3m = 2024-04-30, DPT1 recommended 03-31 + 28 d = 04-28) = 2024-04-30
    assert (dpt2.earliest_date, dpt2.recommended_date) == (D(2024, 4, 10), D(2024, 4, 30))
    rv1 = child.dose("RV1")
    # RV1 < 5 months: 2024-06-30 - 1 d = 2024-06-29; RV2/RV3 by 6m29d: 2024-07-31 + 29 d = 08-29
    assert rv1.latest_date == D(2024, 6, 29)
    assert child.dose("RV3").latest_date == D(2024, 8, 29)
    je = child.dose("JE1")
    assert je.earliest_date is None and je.next_date is None


def test_non_leap_month_end():
    # Born 2023-01-31: 1m -> 2023-02-28; 2m -> 2023-03-31; 6w = +42 d -> 2023-03-14
    # (28 d to Feb 28, +14); PCV2 latest 24m - 1d = 2025-01-31 - 1 d = 2025-01-30.
    child = ev(D(2023, 1, 31), [], D(2023, 2, 1))
    assert child.dose("BCG").recommended_date == D(2023, 2, 28)
    assert child.dose("PCV1").recommended_date == D(2023, 3, 31)
    assert child.dose("PCV1").earliest_date == D(2023, 3, 14)
    assert child.dose("PCV2").latest_date == D(2025, 1, 30)


def test_born_on_leap_day():
    # Born 2024-02-29: 9m -> 2024-11-29; 12m -> 2025-02-28 (clamped), so BCG latest
    # (12m - 1d) = 2025-02-27 and the IDL deadline (first birthday) = 2025-02-28.
    child = ev(D(2024, 2, 29), [], D(2024, 3, 1))
    assert child.dose("MR1").recommended_date == D(2024, 11, 29)
    assert child.dose("BCG").latest_date == D(2025, 2, 27)
    assert child.idl.deadline == D(2025, 2, 28)


# --------------------------------------------------------------------------- due / overdue

@pytest.mark.parametrize("today,expected", [
    (D(2024, 3, 12), S.UPCOMING),  # before 6 weeks (2024-03-13): cannot be given yet
    (D(2024, 3, 30), S.UPCOMING),  # may be given (>= 6w), recommended date 2024-03-31 not reached
    (D(2024, 3, 31), S.DUE),       # recommended date 2m
    (D(2024, 4, 29), S.DUE),       # last day before 2024-03-31 + 1m = 2024-04-30
    (D(2024, 4, 30), S.OVERDUE),   # grace window over
])
def test_due_overdue_boundaries(today, expected):
    child = ev(D(2024, 1, 31), [("HB0", D(2024, 1, 31))], today)
    dpt1 = child.dose("DPTHBHIB1")
    assert dpt1.status is expected
    assert dpt1.can_be_given_on(today) is (today >= D(2024, 3, 13))
    if expected is S.OVERDUE:
        assert child.fhir_status("DPTHBHIB1")[1] == "overdue"


def test_hb0_overdue_after_24h_and_missed_after_7_days():
    birth = D(2024, 3, 1)
    assert ev(birth, [], D(2024, 3, 1)).dose("HB0").status is S.DUE
    # overdue_after for HB0 is 1 day: overdue from 2024-03-02
    assert ev(birth, [], D(2024, 3, 2)).dose("HB0").status is S.OVERDUE
    # max 7 d inclusive: 2024-03-08 is the last permitted day
    assert ev(birth, [], D(2024, 3, 8)).dose("HB0").status is S.OVERDUE
    missed = ev(birth, [], D(2024, 3, 9)).dose("HB0")
    assert missed.status is S.MISSED and missed.reason == "max_age_reached"
    # HB0 given on day 8 is recorded but invalid (after maximum age)
    child = ev(birth, [("HB0", D(2024, 3, 9))], D(2024, 3, 10))
    hb0 = child.dose("HB0")
    assert hb0.status is S.MISSED and hb0.given_on is None
    assert hb0.administrations[0].reasons == (InvalidReason.AFTER_MAX_AGE,)
    # IDL can no longer be complete on time
    assert child.idl.status.value == "incomplete" and "HB0" in child.idl.missing
    assert child.fhir_status("HB0") == ("urn:posyandugo:immunization-forecast-status", "aged-out")


def test_bcg_at_12_months_is_missed():
    # Born 2024-01-15: BCG allowed to < 12 months, last day 2025-01-15 - 1 d = 2025-01-14.
    birth = D(2024, 1, 15)
    ok = ev(birth, [("BCG", D(2025, 1, 14))], D(2025, 2, 1)).dose("BCG")
    assert ok.status is S.GIVEN
    late = ev(birth, [("BCG", D(2025, 1, 15))], D(2025, 2, 1)).dose("BCG")
    assert late.status is S.MISSED
    assert late.administrations[0].reasons == (InvalidReason.AFTER_MAX_AGE,)
    assert ev(birth, [], D(2025, 1, 15)).dose("BCG").status is S.MISSED


# --------------------------------------------------------------------------- invalid doses

def test_too_early_dose_is_recorded_invalid_and_due_again():
    # Born 2024-01-31; 6 weeks = 2024-03-13, so DPT-HB-Hib 1 on 2024-03-12 is one day early.
    birth = D(2024, 1, 31)
    child = ev(birth, [("DPTHBHIB1", D(2024, 3, 12))], D(2024, 4, 5))
    dpt1 = child.dose("DPTHBHIB1")
    assert dpt1.given_on is None
    (adm,) = dpt1.administrations
    assert (adm.valid, adm.reasons) == (False, (InvalidReason.TOO_EARLY,))
    assert adm.counted_as == "DPTHBHIB1"
    # First dose of a series has no interval: earliest is the minimum age again (2024-03-13);
    # recommended 2024-03-31 <= today 2024-04-05 < overdue 2024-04-30 -> due
    assert dpt1.status is S.DUE
    assert dpt1.earliest_date == D(2024, 3, 13)
    # DPT2 projected from today (DPT1 still to give): 2024-04-05 + 28 d = 2024-05-03
    assert child.dose("DPTHBHIB2").earliest_date == D(2024, 5, 3)
    assert child.dose("DPTHBHIB2").status is S.UPCOMING


def test_interval_too_short_counts_from_last_valid_dose():
    # Born 2024-01-31.  DPT1 2024-03-31 (valid).  DPT2 2024-04-20: min age 10w = 2024-04-10 ok,
    # but 2024-03-31 + 28 d = 2024-04-28 -> 8 days short -> invalid.
    birth = D(2024, 1, 31)
    given = [("DPTHBHIB1", D(2024, 3, 31)), ("DPTHBHIB2", D(2024, 4, 20))]
    child = ev(birth, given, D(2024, 5, 1))
    dpt2 = child.dose("DPTHBHIB2")
    assert dpt2.administrations[0].reasons == (InvalidReason.INTERVAL_TOO_SHORT,)
    # Next valid date counts from the last VALID dose (DPT1), not from the invalid one:
    # 2024-04-28 (CDC practice would give 2024-04-20 + 28 d = 2024-05-18).
    assert dpt2.earliest_date == D(2024, 4, 28)
    # recommended max(3m = 2024-04-30, 2024-04-28) = 2024-04-30 <= today 2024-05-01
    assert dpt2.recommended_date == D(2024, 4, 30)
    assert dpt2.status is S.DUE
    # DPT3: 14w = 2024-01-31 + 98 d = 2024-05-08; from today 2024-05-01 + 28 d = 2024-05-29
    assert child.dose("DPTHBHIB3").earliest_date == D(2024, 5, 29)


def test_invalid_then_repeat_recorded_under_next_code_counts_for_the_open_dose():
    # Same child; the repeat is recorded as "DPTHBHIB3" on 2024-05-10 (>= 2024-04-28):
    # it fills the open DPT2 slot, with a warning, and DPT3 stays open.
    birth = D(2024, 1, 31)
    given = [("DPTHBHIB1", D(2024, 3, 31)), ("DPTHBHIB2", D(2024, 4, 20)),
             ("dpthbhib3", D(2024, 5, 10))]
    child = ev(birth, given, D(2024, 5, 12))
    dpt2 = child.dose("DPTHBHIB2")
    assert dpt2.status is S.GIVEN and dpt2.given_on == D(2024, 5, 10)
    assert DoseWarning.RECORDED_AS_OTHER_DOSE in dpt2.warnings
    assert len(dpt2.invalid_administrations) == 1
    # DPT3: max(14w = 2024-05-08, 2024-05-10 + 28 d = 2024-06-07) = 2024-06-07
    assert child.dose("DPTHBHIB3").earliest_date == D(2024, 6, 7)


def test_too_early_and_interval_both_reported():
    # OPV1 2024-02-29; OPV2 2024-03-10: before 6w (2024-03-13) AND before 2024-02-29 + 28 d = 03-28
    child = ev(D(2024, 1, 31), [("OPV1", D(2024, 2, 29)), ("OPV2", D(2024, 3, 10))],
               D(2024, 3, 11))
    reasons = child.dose("OPV2").administrations[0].reasons
    assert set(reasons) == {InvalidReason.TOO_EARLY, InvalidReason.INTERVAL_TOO_SHORT}
    assert child.dose("OPV2").earliest_date == D(2024, 3, 28)


def test_dose_before_birth_is_invalid():
    child = ev(D(2024, 1, 31), [("HB0", D(2024, 1, 30))], D(2024, 2, 1))
    assert child.dose("HB0").administrations[0].reasons == (InvalidReason.BEFORE_BIRTH,)


# --------------------------------------------------------------------------- late / catch-up

def test_catch_up_after_late_first_dose():
    # Born 2024-01-31, first DPT-HB-Hib at 7 months (2024-08-31); today 2024-09-10.
    birth = D(2024, 1, 31)
    child = ev(birth, [("DPTHBHIB1", D(2024, 8, 31))], D(2024, 9, 10))
    dpt2 = child.dose("DPTHBHIB2")
    # DPT2: 2024-08-31 + 28 d = 2024-09-28 (>= 10 w); recommended max(2024-04-30, 09-28) = 09-28
    assert (dpt2.earliest_date, dpt2.recommended_date) == (D(2024, 9, 28), D(2024, 9, 28))
    assert dpt2.status is S.UPCOMING
    # DPT3: 2024-09-28 + 28 d = 2024-10-26
    assert child.dose("DPTHBHIB3").earliest_date == D(2024, 10, 26)
    # DPT4 projected: DPT3 recommended 2024-10-26 + 12m = 2025-10-26 (> 18m = 2025-07-31)
    assert child.dose("DPTHBHIB4").recommended_date == D(2025, 10, 26)


def test_series_not_restarted_after_long_gap():
    # OPV1 at 1m, nothing for a year: OPV2 is simply overdue (not OPV1 again).
    birth = D(2023, 6, 10)
    child = ev(birth, [("OPV1", D(2023, 7, 10))], D(2024, 7, 1))
    assert child.dose("OPV1").status is S.GIVEN
    assert child.dose("OPV2").status is S.OVERDUE
    # OPV3 from today: 2024-07-01 + 28 d = 2024-07-29
    assert child.dose("OPV3").earliest_date == D(2024, 7, 29)


def test_dpt4_between_who_and_programme_interval_is_valid_with_warning():
    # Born 2023-01-10, DPT3 late at 2023-12-10.  DPT4 on 2024-07-10 (18m):
    # programme 12m after DPT3 = 2024-12-10 (not met), WHO floor 6m = 2024-06-10 (met).
    birth = D(2023, 1, 10)
    base = [("DPTHBHIB1", D(2023, 3, 10)), ("DPTHBHIB2", D(2023, 4, 10))]
    child = ev(birth, base + [("DPTHBHIB3", D(2023, 12, 10)), ("DPTHBHIB4", D(2024, 7, 10))],
               D(2024, 7, 11))
    dpt4 = child.dose("DPTHBHIB4")
    assert dpt4.status is S.GIVEN
    assert dpt4.warnings == (DoseWarning.INTERVAL_BELOW_PROGRAMME,)
    # Below the WHO floor: DPT3 2024-02-10 + 6m = 2024-08-10 > 2024-07-10 -> invalid
    child = ev(birth, base + [("DPTHBHIB3", D(2024, 2, 10)), ("DPTHBHIB4", D(2024, 7, 10))],
               D(2024, 7, 11))
    dpt4 = child.dose("DPTHBHIB4")
    assert dpt4.administrations[0].reasons == (InvalidReason.INTERVAL_TOO_SHORT,)
    # scheduling uses the programme value: 2024-02-10 + 12m = 2025-02-10
    assert dpt4.earliest_date == D(2025, 2, 10)


def test_mr2_interval_warning_and_floor():
    # Born 2023-01-01: 18m = 2024-07-01.  MR1 late on 2024-06-10.
    birth = D(2023, 1, 1)
    mr1 = ("MR1", D(2024, 6, 10))
    # MR2 2024-07-10: >= 2024-06-10 + 28 d = 2024-07-08 (WHO), < + 6m = 2024-12-10 (programme)
    child = ev(birth, [mr1, ("MR2", D(2024, 7, 10))], D(2024, 7, 11))
    assert child.dose("MR2").status is S.GIVEN
    assert child.dose("MR2").warnings == (DoseWarning.INTERVAL_BELOW_PROGRAMME,)
    # MR2 2024-07-05: min age ok (>= 2024-07-01) but < 2024-07-08 -> invalid
    child = ev(birth, [mr1, ("MR2", D(2024, 7, 5))], D(2024, 7, 6))
    assert child.dose("MR2").administrations[0].reasons == (InvalidReason.INTERVAL_TOO_SHORT,)
    # Scheduled with the programme interval: max(2024-07-01, 2024-12-10) = 2024-12-10
    child = ev(birth, [mr1], D(2024, 6, 11))
    assert child.dose("MR2").recommended_date == D(2024, 12, 10)


# --------------------------------------------------------------------------- rotavirus

def test_rotavirus_max_ages():
    # Born 2024-01-10 (RV cohort).  RV1 last day: 5m - 1d = 2024-06-10 - 1 d = 2024-06-09.
    # RV2/RV3 last day: 6m29d = 2024-07-10 + 29 d = 2024-08-08.
    birth = D(2024, 1, 10)
    child = ev(birth, [], D(2024, 6, 10))
    assert child.dose("RV1").status is S.MISSED
    assert child.dose("RV1").reason == "max_age_reached"
    assert child.dose("RV2").status is S.MISSED
    assert child.dose("RV2").reason == "previous_dose_missed"
    assert child.dose("RV3").reason == "previous_dose_missed"

    # RV1 on its last day: RV2 2024-06-09 + 28 = 2024-07-07, RV3 07-07 + 28 = 2024-08-04 <= 08-08
    child = ev(birth, [("RV1", D(2024, 6, 9))], D(2024, 6, 10))
    assert child.dose("RV1").status is S.GIVEN
    rv2, rv3 = child.dose("RV2"), child.dose("RV3")
    assert (rv2.status, rv2.earliest_date, rv2.latest_date) == (S.UPCOMING, D(2024, 7, 7),
                                                                D(2024, 8, 8))
    assert (rv3.status, rv3.earliest_date) == (S.UPCOMING, D(2024, 8, 4))

    # RV2 late on 2024-07-20: RV3 earliest 2024-07-20 + 28 = 2024-08-17 > 2024-08-08
    child = ev(birth, [("RV1", D(2024, 6, 9)), ("RV2", D(2024, 7, 20))], D(2024, 7, 25))
    rv3 = child.dose("RV3")
    assert rv3.status is S.MISSED and rv3.reason == "cannot_complete_before_max_age"

    # RV3 given after 6m29d (2024-08-09) is invalid
    given = [("RV1", D(2024, 3, 10)), ("RV2", D(2024, 4, 10)), ("RV3", D(2024, 8, 9))]
    rv3 = ev(birth, given, D(2024, 8, 20)).dose("RV3")
    assert rv3.status is S.MISSED
    assert rv3.administrations[0].reasons == (InvalidReason.AFTER_MAX_AGE,)


def test_rotavirus_cohort_born_15_vs_16_may_2023():
    before = ev(D(2023, 5, 15), [], D(2023, 7, 20))
    for code in ("RV1", "RV2", "RV3"):
        assert before.dose(code).status is S.NOT_APPLICABLE
        assert before.dose(code).reason == "born_before_cohort"
    assert before.fhir_status("RV1")[1] == "not-applicable"
    after = ev(D(2023, 5, 16), [], D(2023, 7, 20))
    # 2m = 2023-07-16 <= today 2023-07-20 -> due
    assert after.dose("RV1").status is S.DUE
    assert after.dose("RV1").recommended_date == D(2023, 7, 16)


def test_rotavirus_pilot_kabupaten_override():
    pilot = RegionSettings(kabupaten_code="0000", cohort_born_from={"RV": D(2022, 8, 1)})
    child = ev(D(2023, 5, 15), [], D(2023, 7, 20), pilot)
    assert child.dose("RV1").applicable and child.dose("RV1").status is S.DUE


def test_dose_given_outside_programme_cohort_is_kept():
    # Private-practice RV for a child born before the cohort: valid history, flagged.
    child = ev(D(2023, 5, 15), [("RV1", D(2023, 7, 15))], D(2023, 7, 20))
    rv1 = child.dose("RV1")
    assert rv1.status is S.GIVEN and not rv1.applicable
    assert DoseWarning.OUTSIDE_PROGRAMME in rv1.warnings


# --------------------------------------------------------------------------- PCV

def test_pcv_cohort_uses_data_default_and_override():
    from posyandu.core.schedule import default_schedule

    start = default_schedule().cohort_defaults["PCV"]
    day_before = date.fromordinal(start.toordinal() - 1)
    assert ev(day_before, [], start).dose("PCV1").status is S.NOT_APPLICABLE
    assert ev(start, [], start).dose("PCV1").applicable
    # a pilot area (e.g. NTB, 2017-2019) configured with an earlier cohort
    ntb = RegionSettings(kabupaten_code="52xx", cohort_born_from={"PCV": D(2018, 1, 1)})
    assert ev(D(2019, 3, 1), [], D(2019, 5, 1), ntb).dose("PCV1").applicable


def test_pcv_first_dose_at_12_to_23_months():
    # Born 2023-01-15, no PCV, today 2024-03-01 (13 months).
    birth = D(2023, 1, 15)
    child = ev(birth, [], D(2024, 3, 1))
    assert child.dose("PCV1").status is S.OVERDUE
    pcv3 = child.dose("PCV3")
    assert pcv3.status is S.NOT_APPLICABLE and pcv3.reason == "pcv_two_doses_from_12m"
    # PCV2: from today 2024-03-01: +4w = 2024-03-29 is >= 12m (2024-01-15), so 8 weeks apply:
    # 2024-03-01 + 56 d = 2024-04-26 (30 d to 03-31, +26).  Before 24m: 2025-01-15 - 1 d.
    pcv2 = child.dose("PCV2")
    assert (pcv2.earliest_date, pcv2.latest_date) == (D(2024, 4, 26), D(2025, 1, 14))

    # PCV1 given 2024-03-01; PCV2 after 31 days is too short (needs 8 w), after 56 d is valid.
    short = ev(birth, [("PCV1", D(2024, 3, 1)), ("PCV2", D(2024, 4, 1))], D(2024, 4, 2))
    assert short.dose("PCV2").administrations[0].reasons == (InvalidReason.INTERVAL_TOO_SHORT,)
    ok = ev(birth, [("PCV1", D(2024, 3, 1)), ("PCV2", D(2024, 4, 26))], D(2024, 4, 27))
    assert ok.dose("PCV2").status is S.GIVEN
    assert ok.dose("PCV3").status is S.NOT_APPLICABLE
    # IBL for this child does not need PCV3
    assert "PCV3" in ok.ibl.excluded and ok.ibl.required == ("DPTHBHIB4", "MR2")


def test_pcv_never_vaccinated_from_24_months_single_dose():
    # Born 2022-02-10 (PCV cohort), today 2024-03-01 (24 months reached on 2024-02-10).
    birth = D(2022, 2, 10)
    child = ev(birth, [], D(2024, 3, 1))
    assert child.dose("PCV1").status is S.OVERDUE
    # latest for PCV1: < 60 months = 2027-02-10 - 1 d = 2027-02-09
    assert child.dose("PCV1").latest_date == D(2027, 2, 9)
    for code in ("PCV2", "PCV3"):
        assert child.dose(code).status is S.NOT_APPLICABLE
        assert child.dose(code).reason == "pcv_single_dose_from_24m"
    done = ev(birth, [("PCV1", D(2024, 3, 1)), ("PCV2", D(2024, 5, 1))], D(2024, 5, 2))
    assert done.dose("PCV1").status is S.GIVEN
    assert done.dose("PCV2").status is S.NOT_APPLICABLE
    assert [a.warnings for a in done.extra_doses] == [(DoseWarning.EXTRA_DOSE,)]


def test_pcv2_interval_depends_on_age_at_pcv2():
    # Born 2023-01-15: 12m = 2024-01-15.  PCV1 on 2023-12-01 (10.5 months).
    # 4 weeks: 2023-12-01 + 28 = 2023-12-29; 8 weeks: 2023-12-01 + 56 = 2024-01-26.
    birth = D(2023, 1, 15)
    pcv1 = ("PCV1", D(2023, 12, 1))
    # PCV2 on 2024-01-10: still < 12m, >= 4 weeks -> valid
    ok = ev(birth, [pcv1, ("PCV2", D(2024, 1, 10))], D(2024, 1, 11))
    assert ok.dose("PCV2").status is S.GIVEN
    # PCV2 on 2024-01-16: >= 12m, only 46 days -> needs 8 weeks -> invalid
    r = ev(birth, [pcv1, ("PCV2", D(2024, 1, 16))], D(2024, 1, 17)).dose("PCV2")
    assert r.administrations[0].reasons == (InvalidReason.INTERVAL_TOO_SHORT,)
    # Projection: PCV1 2023-12-01 -> PCV2 earliest 2023-12-29 (still < 12m)
    assert ev(birth, [pcv1], D(2023, 12, 20)).dose("PCV2").earliest_date == D(2023, 12, 29)
    # PCV1 2023-12-25 -> 4 weeks would be 2024-01-22 (>= 12m) -> 8 weeks:
    # 2023-12-25 + 56 d = 2024-02-19 (7 d to Jan 1, 31 to Feb 1, +18)
    late = ev(birth, [("PCV1", D(2023, 12, 25))], D(2023, 12, 26))
    assert late.dose("PCV2").earliest_date == D(2024, 2, 19)
    # PCV1 was < 12m, so the booster PCV3 is still required
    assert late.dose("PCV3").applicable


def test_pcv3_after_late_pcv2_leap_year():
    # Born 2023-01-15; PCV1 2023-11-15 (10m), PCV2 2024-01-20 (66 d later, >= 8 w).
    # PCV3: max(12m = 2024-01-15, 2024-01-20 + 56 d) ; 2024-01-20 + 11 = 01-31, +29 = 02-29
    # (leap), +16 = 2024-03-16.
    given = [("PCV1", D(2023, 11, 15)), ("PCV2", D(2024, 1, 20))]
    child = ev(D(2023, 1, 15), given, D(2024, 1, 21))
    assert child.dose("PCV2").status is S.GIVEN
    assert child.dose("PCV3").earliest_date == D(2024, 3, 16)
    assert child.dose("PCV3").recommended_date == D(2024, 3, 16)


# --------------------------------------------------------------------------- region (JE)

def test_je_only_in_configured_kabupaten():
    birth = D(2024, 1, 31)
    national = ev(birth, [], D(2024, 2, 1))
    assert national.dose("JE1").status is S.NOT_APPLICABLE
    assert "JE1" not in national.idl.required
    je_region = RegionSettings(kabupaten_code="5171", je_programme=True)
    child = ev(birth, [], D(2024, 2, 1), je_region)
    je = child.dose("JE1")
    # 10m: 2024-11-31 does not exist -> 2024-11-30
    assert (je.status, je.recommended_date) == (S.UPCOMING, D(2024, 11, 30))
    assert "JE1" in child.idl.required and len(child.idl.required) == 18
    assert "JE1" not in child.idl_2017.required


# --------------------------------------------------------------------------- IDL / IBL

def _classic(birth_plus):
    """The 11 classic IDL doses on the given dates."""
    return [("HB0", birth_plus["0d"]), ("BCG", birth_plus["1m"]), ("OPV1", birth_plus["1m"]),
            ("DPTHBHIB1", birth_plus["2m"]), ("OPV2", birth_plus["2m"]),
            ("DPTHBHIB2", birth_plus["3m"]), ("OPV3", birth_plus["3m"]),
            ("DPTHBHIB3", birth_plus["4m"]), ("OPV4", birth_plus["4m"]),
            ("IPV1", birth_plus["4m"]), ("MR1", birth_plus["9m"])]


# Born 2023-06-01: 1m 07-01, 2m 08-01, 3m 09-01, 4m 10-01, 9m 2024-03-01, 12m 2024-06-01
B23 = {"0d": D(2023, 6, 1), "1m": D(2023, 7, 1), "2m": D(2023, 8, 1), "3m": D(2023, 9, 1),
       "4m": D(2023, 10, 1), "9m": D(2024, 3, 1)}
NEW_2023 = [("PCV1", D(2023, 8, 1)), ("RV1", D(2023, 8, 1)), ("PCV2", D(2023, 9, 1)),
            ("RV2", D(2023, 9, 1)), ("RV3", D(2023, 10, 1)), ("IPV2", D(2024, 3, 1))]


def test_idl_current_17_doses_complete():
    child = ev(D(2023, 6, 1), _classic(B23) + NEW_2023, D(2024, 6, 15))
    assert len(child.idl.required) == 17
    assert child.idl.status.value == "complete" and child.idl.missing == ()
    assert child.idl_2017.status.value == "complete" and len(child.idl_2017.required) == 11


def test_idl_complete_late():
    # MR1 on 2024-06-10, after the first birthday (2024-06-01)
    given = [g for g in _classic(B23) + NEW_2023 if g[0] != "MR1"] + [("MR1", D(2024, 6, 10))]
    child = ev(D(2023, 6, 1), given, D(2024, 6, 15))
    assert child.idl.status.value == "complete_late"
    assert child.idl.late == ("MR1",)
    assert child.idl.completed_on == D(2024, 6, 10)
    assert child.idl_2017.status.value == "complete_late"


def test_idl_missing_rotavirus_only_affects_current_definition():
    given = [g for g in _classic(B23) + NEW_2023 if not g[0].startswith("RV")]
    child = ev(D(2023, 6, 1), given, D(2024, 6, 15))
    assert child.idl.status.value == "incomplete"
    assert child.idl.missing == ("RV1", "RV2", "RV3")
    assert child.idl_2017.status.value == "complete"


def test_idl_in_progress_vs_already_impossible():
    # 5-month-old in the RV cohort, on schedule so far: in progress.
    on_time = [g for g in _classic(B23) + NEW_2023 if g[1] <= D(2023, 10, 1)]
    child = ev(D(2023, 6, 1), on_time, D(2023, 11, 1))
    assert child.idl.status.value == "in_progress"
    assert child.idl.missing == ("MR1", "IPV2")
    # Same child without RV at 7 months: RV1 is past < 5 months -> cannot be complete any more.
    no_rv = [g for g in on_time if not g[0].startswith("RV")]
    child = ev(D(2023, 6, 1), no_rv, D(2024, 1, 2))
    assert child.idl.status.value == "incomplete"


def test_idl_per_cohort_before_rotavirus():
    # Born 2023-05-15: before the RV cohort, after the PCV / IPV2 default cohorts (2022-01-01).
    # 1m 06-15, 2m 07-15, 3m 08-15, 4m 09-15, 9m 2024-02-15
    b = {"0d": D(2023, 5, 15), "1m": D(2023, 6, 15), "2m": D(2023, 7, 15),
         "3m": D(2023, 8, 15), "4m": D(2023, 9, 15), "9m": D(2024, 2, 15)}
    given = _classic(b) + [("PCV1", b["2m"]), ("PCV2", b["3m"]), ("IPV2", b["9m"])]
    child = ev(D(2023, 5, 15), given, D(2024, 6, 1))
    assert child.idl.status.value == "complete"
    assert len(child.idl.required) == 14
    assert child.idl.excluded == ("RV1", "RV2", "RV3")


def test_idl_per_cohort_before_pcv_and_ipv2():
    # Born 2021-06-01, before the default PCV and IPV2 cohorts: current IDL = the classic 11.
    b = {"0d": D(2021, 6, 1), "1m": D(2021, 7, 1), "2m": D(2021, 8, 1), "3m": D(2021, 9, 1),
         "4m": D(2021, 10, 1), "9m": D(2022, 3, 1)}
    child = ev(D(2021, 6, 1), _classic(b), D(2022, 6, 1))
    assert child.idl.required == child.idl_2017.required
    assert child.idl.status.value == "complete"


def test_ibl_complete_and_incomplete():
    # Born 2023-06-01: 12m = 2024-06-01, 18m = 2024-12-01, 24m = 2025-06-01 (IBL deadline).
    base = _classic(B23) + NEW_2023
    boosters = [("PCV3", D(2024, 6, 1)), ("DPTHBHIB4", D(2024, 12, 1)), ("MR2", D(2024, 12, 1))]
    child = ev(D(2023, 6, 1), base + boosters, D(2025, 1, 1))
    assert child.ibl.deadline == D(2025, 6, 1)
    assert child.ibl.status.value == "complete"
    assert child.ibl.required == ("PCV3", "DPTHBHIB4", "MR2")
    child = ev(D(2023, 6, 1), base + boosters[:2], D(2025, 6, 2))
    assert child.ibl.status.value == "incomplete" and child.ibl.missing == ("MR2",)


# --------------------------------------------------------------------------- misc

def test_unrecognized_codes_are_reported_not_fatal():
    child = ev(D(2024, 1, 31), [("XYZ", D(2024, 2, 1)), ("bcg", D(2024, 2, 1))], D(2024, 2, 2))
    assert child.unrecognized == (("XYZ", D(2024, 2, 1)),)
    assert child.dose("BCG").status is S.GIVEN


def test_future_dated_dose_is_flagged():
    child = ev(D(2024, 1, 31), [("BCG", D(2024, 2, 10))], D(2024, 2, 2))
    assert DoseWarning.DATE_AFTER_TODAY in child.dose("BCG").warnings


def test_every_dose_has_a_status_and_version():
    child = ev(D(2024, 1, 31), [], D(2024, 2, 1))
    assert len(child.doses) == 21
    assert child.data_version.startswith("id-kemenkes-")
    assert all(isinstance(d.status, DoseStatus) for d in child.doses)
