"""Hand-built children, measurements, hand-overs and doses for the coverage and export tests.

Every expected number in the tests is worked out by hand from these rows (see each builder's
docstring); nothing is taken from the code under test. Children made here are registered on
their birth date; the world's children (registered today) count in a past month only when
measured by its end.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone

from posyandu.children.models import Child, ChildTransfer
from posyandu.core.growth.trend import completed_months
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from posyandu.measurements.models import Measurement
from tests import factories


def kid(posyandu, name: str, *, birth_date: date, sex: int = 1) -> Child:
    """A child registered on her birth date (so she is a target child from her first month)."""
    row = factories.child(posyandu, name, sex=sex, birth_date=birth_date)
    row.created_at = datetime.combine(birth_date, time(1), tzinfo=timezone.utc)
    db.session.flush()
    return row


def measure(child, on: date, *, posyandu=None, **values) -> Measurement:
    row = Measurement(id=uuid.uuid4(), child_id=child.id, posyandu_id=(posyandu or child).posyandu_id
                      if posyandu is None else posyandu.id, measured_on=on,
                      age_days=(on - child.birth_date).days, age_months=completed_months(child.birth_date, on),
                      **values)
    db.session.add(row)
    db.session.flush()
    return row


def dose(child, code: str, on: date, *, valid: bool = True, deleted: bool = False) -> Immunization:
    from posyandu.core.schedule import default_schedule
    row = Immunization(id=uuid.uuid4(), child_id=child.id, posyandu_id=child.posyandu_id, dose_code=code,
                       vaccine_code=default_schedule().by_code[code].series, given_on=on, is_valid=valid,
                       invalid_reason=None if valid else "too_early")
    if deleted:
        from posyandu.db import utcnow
        row.deleted_at = utcnow()
    db.session.add(row)
    db.session.flush()
    return row


def close(child, reason: str, on: date) -> None:
    child.status, child.closed_reason, child.closed_on = "closed", reason, on
    db.session.flush()


def transfer(child, from_posyandu, to_posyandu, on: date) -> None:
    """A hand-over on ``on``; the child's current posyandu becomes ``to_posyandu``."""
    db.session.add(ChildTransfer(child_id=child.id, from_posyandu_id=from_posyandu.id,
                                 to_posyandu_id=to_posyandu.id, moved_on=on))
    child.posyandu_id = to_posyandu.id
    child.desa_code = to_posyandu.desa_code
    db.session.flush()


def vitamin_a_world(w):
    """August 2026 (a vitamin A month), kabupaten Gresik; ages at 31 Aug 2026 in completed months.

    ============== ======== ========== ======================================= =====================
    child          born      posyandu   status / move                           vitamin A in August
    ============== ======== ========== ======================================= =====================
    child_a1       2024-03-15 A1 (29 m) (world)                                 yes (10 Aug)
    inf1           2026-01-10 A1 (7 m)                                          yes (12 Aug)
    inf2           2026-03-31 A1 (5 m)  0-5 months: in no vitamin A band        —
    child_a2       2023-07-01 A2 (37 m) (world)                                 only in July: no
    died_later     2025-01-01 A2 (19 m) closed 'died' 15 Aug: counted (closed     yes
                                        during the month)
    moved_out      2025-06-01 now B1    A2 → B1 on 5 Sep 2026: at A2 in Aug     yes (measured at A2)
    moved_in       2025-05-01 now A2    B1 → A2 on 20 Aug 2026: at A2           yes (measured at B1)
    child_b1       2022-01-20 B1 (55 m) (world)                                 no
    died           2025-01-01 A2        closed 'died' 31 Jul: not counted      yes
    merged         2025-01-01 A2        closed 'merged' 10 Sep: never counted  yes
    too_old        2021-07-31 A1        60 m on 1 Aug: not counted              yes
    almost_60      2021-08-31 A1        59 m on 1 Aug: counted (S), 60 m on     yes
                                        31 Aug: in no vitamin A band
    unborn         2026-09-01 A1        not counted                             —
    ============== ======== ========== ======================================= =====================

    Expected (6-11 / 12-59, registered → given): A1 1→1 / 1→1; A2 0 / 4→3; B1 0 / 1→0;
    total 1→1 (100 %) / 6→4 (66.7 %); 6-59: 7→5 (71.4 %).
    """
    c = {}
    measure(w.child_a1, date(2026, 8, 10), vitamin_a=True)
    c["inf1"] = kid(w.posyandu_a1, "Bayi Satu", birth_date=date(2026, 1, 10))
    measure(c["inf1"], date(2026, 8, 12), vitamin_a=True)
    c["inf2"] = kid(w.posyandu_a1, "Bayi Dua", sex=2, birth_date=date(2026, 3, 31))
    measure(w.child_a2, date(2026, 7, 30), vitamin_a=True)
    c["died_later"] = kid(w.posyandu_a2, "Anak Tiga", birth_date=date(2025, 1, 1))
    measure(c["died_later"], date(2026, 8, 1), vitamin_a=True)
    close(c["died_later"], "died", date(2026, 8, 15))
    c["moved_out"] = kid(w.posyandu_a2, "Anak Empat", sex=2, birth_date=date(2025, 6, 1))
    measure(c["moved_out"], date(2026, 8, 3), vitamin_a=True)
    transfer(c["moved_out"], w.posyandu_a2, w.posyandu_b1, date(2026, 9, 5))
    c["moved_in"] = kid(w.posyandu_b1, "Anak Lima", birth_date=date(2025, 5, 1))
    measure(c["moved_in"], date(2026, 8, 2), vitamin_a=True)
    transfer(c["moved_in"], w.posyandu_b1, w.posyandu_a2, date(2026, 8, 20))
    measure(w.child_b1, date(2026, 8, 5), vitamin_a=False)
    c["died"] = kid(w.posyandu_a2, "Anak Enam", birth_date=date(2025, 1, 1))
    measure(c["died"], date(2026, 8, 1), vitamin_a=True)
    close(c["died"], "died", date(2026, 7, 31))
    c["merged"] = kid(w.posyandu_a2, "Anak Tujuh", birth_date=date(2025, 1, 1))
    measure(c["merged"], date(2026, 8, 1), vitamin_a=True)
    close(c["merged"], "merged", date(2026, 9, 10))
    c["too_old"] = kid(w.posyandu_a1, "Anak Delapan", birth_date=date(2021, 7, 31))
    measure(c["too_old"], date(2026, 8, 1), vitamin_a=True)
    c["almost_60"] = kid(w.posyandu_a1, "Anak Sepuluh", birth_date=date(2021, 8, 31))
    measure(c["almost_60"], date(2026, 8, 1), vitamin_a=True)
    c["unborn"] = kid(w.posyandu_a1, "Anak Sembilan", birth_date=date(2026, 9, 1))
    return c


def breastfeeding_world(w):
    """August 2026; answers to 'exclusively breastfed?' (age at the visit, completed months).

    - e_inf2 (A1, born 31 Mar 2026; 5 m at 31 Aug): 5 Aug (4 m) yes, 20 Aug (4 m) no → asked, not exclusive.
    - e_inf3 (A1, born 10 May 2026; 3 m): 11 Aug (3 m) yes → asked, exclusive.
    - e_inf4 (A2, born 15 Feb 2026, turned 6 m on 15 Aug): 20 Mar (1 m) yes, 16 Jul (5 m) yes, 14 Aug
      (5 m) yes → asked and exclusive in A2; turned 6, graduated.
    - e_inf5 (A2, born 1 Feb 2026, turned 6 m on 1 Aug): 5 Apr (2 m) yes only → turned 6, not graduated
      (no answer at 5 months).
    - e_inf6 (B1, born 20 Feb 2026, turned 6 m on 20 Aug): 25 May (3 m) no, 25 Jul (5 m) yes → turned 6,
      not graduated (a 'no').
    - e_inf1 (A1, born 10 Jan 2026; turned 6 in July): 12 Aug (7 m) yes → too old to be asked.

    Expected: A1 registered 0-5 = 2, asked 2, exclusive 1; A2 asked 1, exclusive 1, turned 6 = 2,
    graduated 1; B1 turned 6 = 1, graduated 0. Total: registered 0-5 = 2, asked 3, exclusive 2
    (66.7 %), turned 6 = 3, graduated 1 (33.3 %).
    """
    c = {}
    c["e_inf2"] = kid(w.posyandu_a1, "Bayi A", sex=2, birth_date=date(2026, 3, 31))
    measure(c["e_inf2"], date(2026, 8, 5), exclusive_breastfeeding=True)
    measure(c["e_inf2"], date(2026, 8, 20), exclusive_breastfeeding=False)
    c["e_inf3"] = kid(w.posyandu_a1, "Bayi B", birth_date=date(2026, 5, 10))
    measure(c["e_inf3"], date(2026, 8, 11), exclusive_breastfeeding=True)
    c["e_inf4"] = kid(w.posyandu_a2, "Bayi C", sex=2, birth_date=date(2026, 2, 15))
    for on in (date(2026, 3, 20), date(2026, 7, 16), date(2026, 8, 14)):
        measure(c["e_inf4"], on, exclusive_breastfeeding=True)
    c["e_inf5"] = kid(w.posyandu_a2, "Bayi D", birth_date=date(2026, 2, 1))
    measure(c["e_inf5"], date(2026, 4, 5), exclusive_breastfeeding=True)
    c["e_inf6"] = kid(w.posyandu_b1, "Bayi E", birth_date=date(2026, 2, 20))
    measure(c["e_inf6"], date(2026, 5, 25), exclusive_breastfeeding=False)
    measure(c["e_inf6"], date(2026, 7, 25), exclusive_breastfeeding=True)
    c["e_inf1"] = kid(w.posyandu_a1, "Bayi F", birth_date=date(2026, 1, 10))
    measure(c["e_inf1"], date(2026, 8, 12), exclusive_breastfeeding=True)
    return c


def on_schedule(child, codes, *, overrides=None) -> None:
    """Doses ``codes`` at their recommended ages (``overrides``: {code: date}); validity then
    set by the schedule engine, as the API does."""
    from posyandu.core.schedule import default_schedule
    from posyandu.immunizations.operations import revalidate_child
    sch = default_schedule()
    for code in codes:
        dose(child, code, (overrides or {}).get(code) or sch.by_code[code].recommended_age.add_to(child.birth_date))
    revalidate_child(child.id)


IDL_CODES = ("HB0", "BCG", "OPV1", "OPV2", "OPV3", "OPV4", "DPTHBHIB1", "DPTHBHIB2", "DPTHBHIB3", "PCV1", "PCV2",
             "RV1", "RV2", "RV3", "IPV1", "IPV2", "MR1")


def immunization_world(w):
    """November 2026, kabupaten Gresik, national programme settings (PCV and IPV2 cohorts from
    2022, RV from 16 May 2023, no JE). Ages at 30 Nov 2026 in completed months; doses at their
    recommended ages unless said.

    - I1 (A1, born 10 Dec 2025, 11 m, infant): the 17 IDL doses; the last (MR1, IPV2) at 9 m =
      10 Sep 2026 → IDL this year, not this month. HB0 fell in 2025; the 16 others in 2026.
    - I2 (A1, born 20 Jan 2026, 10 m, infant): the 17 IDL doses, MR1 and IPV2 late on 5 Nov 2026
      (still before 12 m) → IDL this month. All 17 in 2026; MR1 and IPV2 this month.
    - I3 (A2, born 5 Mar 2026, 8 m, infant): DPT-HB-Hib 1 on 10 May, 2 on 10 Jun, 3 on 12 Nov 2026
      (this month); an MR1 on 20 Nov 2026 at 8 m 15 d: too early, invalid, not counted.
    - I4 (A2, born 15 Jan 2025, 22 m, baduta, UCI-assessed): the IDL doses on time in 2025; PCV3 at
      12 m (15 Jan 2026), DPT-HB-Hib 4 and MR2 at 18 m (15 Jul 2026) → IBL this year; IDL complete.
    - I5 (B1, born 1 Jun 2025, 17 m, baduta, UCI-assessed): only DPT-HB-Hib 1 on 1 Aug 2025 → IDL
      incomplete.
    - I6 (A1, born 20 Nov 2024, 24 m: neither target nor UCI): DPT-HB-Hib 1-3 in 2025, DPT-HB-Hib 4 at
      18 m (20 May 2026, a booster before 24 m: target), MR1 on 1 Feb 2026 at 14 m (catch-up).
    The world's own children were registered today (December) and never measured: not targets.
    """
    c = {}
    c["I1"] = kid(w.posyandu_a1, "Imun Satu", birth_date=date(2025, 12, 10))
    on_schedule(c["I1"], IDL_CODES)
    c["I2"] = kid(w.posyandu_a1, "Imun Dua", sex=2, birth_date=date(2026, 1, 20))
    on_schedule(c["I2"], IDL_CODES, overrides={"MR1": date(2026, 11, 5), "IPV2": date(2026, 11, 5)})
    c["I3"] = kid(w.posyandu_a2, "Imun Tiga", birth_date=date(2026, 3, 5))
    on_schedule(c["I3"], ("DPTHBHIB1", "DPTHBHIB2", "DPTHBHIB3", "MR1"),
                overrides={"DPTHBHIB1": date(2026, 5, 10), "DPTHBHIB2": date(2026, 6, 10),
                           "DPTHBHIB3": date(2026, 11, 12), "MR1": date(2026, 11, 20)})
    c["I4"] = kid(w.posyandu_a2, "Imun Empat", sex=2, birth_date=date(2025, 1, 15))
    on_schedule(c["I4"], IDL_CODES + ("PCV3", "DPTHBHIB4", "MR2"))
    c["I5"] = kid(w.posyandu_b1, "Imun Lima", birth_date=date(2025, 6, 1))
    on_schedule(c["I5"], ("DPTHBHIB1",), overrides={"DPTHBHIB1": date(2025, 8, 1)})
    c["I6"] = kid(w.posyandu_a1, "Imun Enam", birth_date=date(2024, 11, 20))
    on_schedule(c["I6"], ("DPTHBHIB1", "DPTHBHIB2", "DPTHBHIB3", "DPTHBHIB4", "MR1"),
                overrides={"MR1": date(2026, 2, 1)})
    return c
