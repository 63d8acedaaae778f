"""The SQL IDL/IBL status equals the schedule engine's, child by child, on random dose histories.

The engine (``evaluate_child``) is the reference: for each random child, ``complete`` (on time)
and the completion date (the last required dose) must agree, for the national defaults and for
a kabupaten that runs JE with other cohort start dates.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from posyandu.core.schedule import CompletenessStatus, RegionSettings, add_months, default_schedule, evaluate_child
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from posyandu.immunizations.operations import revalidate_child
from posyandu.reports import immunization_coverage as ic
from posyandu.reports.areas import Area, Month
from tests.reports.coverage_data import dose, kid

MONTH = Month(2025, 3)
END = MONTH.last_day


def random_history(rng: random.Random, birth: date) -> list[tuple[str, date]]:
    """One record per dose code (the database allows one live record per code), near the
    recommended age with jitter: some too early (invalid), some late, some missing."""
    out = []
    careful = rng.random() < 0.6  # on time, with now and then one late or too early dose
    for d in default_schedule().doses:
        if rng.random() < (0.02 if careful else 0.12):
            continue
        jitter = rng.randint(0, 4) if careful and rng.random() < 0.93 else \
            rng.choice((-30, -10, 0, 0, 3, 15, 40, 90, 200))
        given = d.recommended_age.add_to(birth) + timedelta(days=jitter)
        if given >= birth:
            out.append((d.code, given))
    return out


def sql_statuses(area, region):
    child, (idl, ibl) = ic.per_child_status(area, MONTH, region, born_after=date(2000, 1, 1))
    probe = date(2024, 6, 30)
    query = sa.select(child.c.child_id,
                      sa.case((ic.complete_on_time(idl, child, END), 1), else_=0).label("idl"),
                      sa.case((ic.completed_by(idl, child, END, probe), 1), else_=0).label("idl_by_probe"),
                      sa.case((ic.complete_on_time(ibl, child, END), 1), else_=0).label("ibl"),
                      sa.case((ic.completed_by(ibl, child, END, probe), 1), else_=0).label("ibl_by_probe"))
    return {r.child_id: r for r in db.session.execute(query)}, probe


@pytest.mark.parametrize("region", [
    None,
    RegionSettings(kabupaten_code="3525", je_programme=True,
                   cohort_born_from={"RV": date(2022, 11, 1), "PCV": None, "IPV2": date(2023, 6, 1)}),
], ids=["national", "je-and-cohorts"])
def test_sql_status_equals_the_engine(world, region):
    from posyandu.immunizations.models import ImmunizationRegionSetting
    if region is not None:
        db.session.add(ImmunizationRegionSetting(
            kabupaten_code="3525", je_programme=True,
            cohort_born_from={k: (v.isoformat() if v else None) for k, v in region.cohort_born_from.items()}))
        db.session.flush()
    settings = ic.region_settings_for(["3525"])["3525"]
    rng = random.Random(8 if region is None else 9)
    children = []
    for i in range(120):
        birth = END - timedelta(days=rng.randint(200, 1090))
        if rng.random() < 0.05:
            birth = date(2024, 2, 29) if birth.year >= 2024 else date(2023, 3, 1)
        child = kid(world.posyandu_a1, f"Anak {i}", birth_date=birth)
        for code, given in random_history(rng, birth):
            dose(child, code, given)
        revalidate_child(child.id)
        children.append(child)
    area = Area("posyandu", world.posyandu_a1.id, "PY-A1", "Posyandu Melati")
    statuses, probe = sql_statuses(area, settings)

    checked = {"idl": 0, "ibl": 0}
    for child in children:
        records = db.session.execute(sa.select(Immunization.dose_code, Immunization.given_on)
                                     .where(Immunization.child_id == child.id, Immunization.deleted_at.is_(None),
                                            Immunization.given_on <= END)).all()
        schedule = evaluate_child(child.birth_date, [tuple(r) for r in records], END, settings)
        row = statuses[child.id]
        for key, completeness in (("idl", schedule.idl), ("ibl", schedule.ibl)):
            engine_complete = completeness.status is CompletenessStatus.COMPLETE
            assert bool(getattr(row, key)) == engine_complete, (key, child.birth_date, records, completeness)
            if engine_complete:
                checked[key] += 1
                assert bool(getattr(row, f"{key}_by_probe")) == (completeness.completed_on <= probe)
    assert checked["idl"] >= 5 and checked["ibl"] >= 3  # the random histories reach both outcomes


def test_years_after_follows_the_engine_calendar(world):
    from posyandu.children.models import Child
    from posyandu.core.schedule import add_months
    births = [date(2024, 2, 29), date(2023, 2, 28), date(2024, 3, 1), date(2023, 12, 31), date(2025, 1, 31)]
    rows = [kid(world.posyandu_a1, f"T {i}", birth_date=b) for i, b in enumerate(births)]
    for years in (1, 2):
        got = dict(db.session.execute(sa.select(Child.id, ic.years_after(Child.birth_date, years))
                                      .where(Child.id.in_([r.id for r in rows]))).all())
        for r in rows:
            value = got[r.id]
            value = date.fromisoformat(value) if isinstance(value, str) else value
            assert value == add_months(r.birth_date, 12 * years), (r.birth_date, years)
