"""Demo immunizations: most demo children up to date, a few overdue, two dropouts.

Each child's doses are simulated with the schedule engine itself, session by session: HB0 at
the birth facility, then at every posyandu session the child attends, each dose the engine says
is due or overdue (and may validly be given that day) is given. So the doses respect minimum
ages, intervals, maximum ages and cohorts (RV, PCV, IPV2 by birth date; JE only where the
kabupaten runs it), and ``/immunizations/overdue`` and ``/dropouts`` show realistic lists:

* most children attend about nine sessions in ten: up to date, now and then one dose due;
* about one in twelve stops coming for vaccines at some age between 5 and 14 months: overdue;
* two dropouts: one got DPT-HB-Hib 1 (with OPV2, PCV1, RV1) and nothing after (DPT-HB-Hib 1→3
  and 1→MR 1), one finished the 4-month doses but never came for MR 1 (DPT-HB-Hib 1→MR 1).

Idempotent: immunization ids are derived from the child and dose; a child that already has any
dose recorded is left alone (so ``make run`` twice adds nothing, and a demo database loaded
before immunizations existed gets them once). Inserted set-wise, noted in the sync change log,
then validated with the same function the API uses (``revalidate_child``).
"""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from ..core import calendar as cal
from ..extensions import db

#: Share of children who stop coming for vaccines at some age (overdue for the later doses).
LATE_SHARE = 0.08
#: Chance of attending a given session (the rest of the schedule catches up at the next one).
ATTENDANCE = 0.9
#: The doses the first dropout got at two months; she never came back for vaccines.
_FIRST_VISIT_ONLY = {"HB0", "BCG", "OPV1", "DPTHBHIB1", "OPV2", "PCV1", "RV1"}
#: The demo parent's children (demo/data.py: children 0 and 3) always follow the routine plan.
PARENT_CHILD_INDEXES = (0, 3)


def _session_days(rule: str, birth: date, today: date) -> list[date]:
    days, year, month = [], birth.year, birth.month
    while (year, month) <= (today.year, today.month):
        days += [d for d in cal.sessions_in_month(rule, year, month) if birth < d <= today]
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def _simulate(birth: date, rule: str, today: date, region, rng: random.Random, plan: str) -> list[tuple[str, date, str]]:
    """``[(dose_code, given_on, place)]`` for one child following ``plan``: ``routine``,
    ``late`` (stops at a random age), ``dropout_dpt`` or ``dropout_mr``."""
    from ..core.schedule import DoseStatus, evaluate_child

    given: list[tuple[str, date]] = [("HB0", birth)]   # at the birth facility, before discharge
    places = {"HB0": "other_facility"}
    stop_at = birth + timedelta(days=rng.randint(150, 430)) if plan == "late" else None
    for day in _session_days(rule, birth, today):
        if stop_at is not None and day >= stop_at:
            break
        if plan == "routine" and rng.random() > ATTENDANCE:
            continue
        schedule = evaluate_child(birth, given, day, region)
        for result in schedule.doses:
            if result.status not in (DoseStatus.DUE, DoseStatus.OVERDUE):
                continue
            if result.earliest_date is None or result.earliest_date > day:
                continue
            code = result.code
            if plan == "dropout_dpt" and code not in _FIRST_VISIT_ONLY:
                continue
            if plan == "dropout_mr" and code in ("MR1", "MR2"):
                continue
            given.append((code, day))
            places[code] = "posyandu"
    return [(code, on, places[code]) for code, on in given]


def load_immunizations(summary, user_ids: dict[str, int], today: date, *, seed, namespace: uuid.UUID,
                       n_children: int) -> None:
    """Give the demo children their doses (see the module docstring); appends a summary line.
    ``seed``, ``namespace`` and ``n_children`` are demo/data.py's (passed in: no import circle)."""
    from ..children.models import Child
    from ..core.schedule import default_schedule
    from ..immunizations import operations as ops
    from ..immunizations.models import Immunization
    from ..regions.models import Posyandu
    from ..sync.changes import record_change

    child_ids = [uuid.uuid5(namespace, f"child-{i}") for i in range(n_children)]
    have_doses = set(db.session.scalars(sa.select(Immunization.child_id).where(
        Immunization.child_id.in_(child_ids)).distinct()))
    children = db.session.execute(
        sa.select(Child.id, Child.birth_date, Child.posyandu_id, Posyandu.session_rule, Posyandu.kabupaten_code)
        .join(Posyandu, Posyandu.id == Child.posyandu_id)
        .where(Child.id.in_(child_ids), Child.status == "active")).all()
    order = {cid: i for i, cid in enumerate(child_ids)}
    children = sorted((c for c in children if c.id not in have_doses), key=lambda c: order[c.id])
    if not children:
        summary.lines.append(f"  immunizations: 0 created, {len(have_doses)} children already had theirs")
        return
    regions = ops.region_settings_for({c.kabupaten_code for c in children})
    series = {d.code: d.series for d in default_schedule().doses}
    bidan = user_ids.get("bidan.kebomas")
    now = datetime.now(timezone.utc)
    parents_children = set(child_ids[i] for i in PARENT_CHILD_INDEXES)
    plans = _plans(children, today, parents_children)
    rows = []
    for child in children:
        rng = random.Random(f"{seed}-{child.id}-immunizations")
        for code, on, place in _simulate(child.birth_date, child.session_rule, today,
                                         regions[child.kabupaten_code], rng, plans[child.id]):
            rows.append({"id": uuid.uuid5(namespace, f"{child.id}-dose-{code}"), "child_id": child.id,
                         "posyandu_id": child.posyandu_id, "dose_code": code, "vaccine_code": series[code],
                         "given_on": on, "place": place, "place_name": "RS/Puskesmas tempat lahir"
                         if place == "other_facility" else None, "given_by_user_id": None,
                         "given_by_name": "Bidan Kebomas" if place == "posyandu" else None,
                         "is_valid": True, "version": 1, "created_by_id": bidan, "updated_by_id": bidan,
                         "created_at": now, "updated_at": now})
    for start in range(0, len(rows), 1000):
        db.session.execute(sa.insert(Immunization), rows[start:start + 1000])
    for row in rows:
        record_change(db.session, entity="immunization", entity_id=row["id"], posyandu_id=row["posyandu_id"],
                      child_id=row["child_id"])
    db.session.flush()
    for child in children:   # validity and warnings exactly as the API computes them
        ops.revalidate_child(child.id, exclude_from_changes={row["id"] for row in rows})
    counts = {plan: sum(1 for c in children if plans[c.id] == plan) for plan in set(plans.values())}
    summary.lines.append(
        f"  immunizations: {len(rows)} doses for {len(children)} children ({counts.get('routine', 0)} routine, "
        f"{counts.get('late', 0)} stopped coming, {counts.get('dropout_dpt', 0) + counts.get('dropout_mr', 0)} "
        "dropouts)")


def _plans(children, today: date, routine_only: set) -> dict:
    """Who follows which plan: the two dropouts are the first children old enough to show them
    (10 months or more), one in twelve of the rest stops coming, everyone else (and the demo
    parent's two children, whose app shows the reminders) is routine."""
    plans, dropouts = {}, iter(("dropout_dpt", "dropout_mr"))
    pending = next(dropouts)
    for child in children:
        rng = random.Random(f"plan-{child.id}")
        months = (today.year - child.birth_date.year) * 12 + today.month - child.birth_date.month
        if child.id in routine_only:
            plans[child.id] = "routine"
        elif pending is not None and 10 <= months <= 48:
            plans[child.id] = pending
            pending = next(dropouts, None)
        elif months >= 6 and rng.random() < LATE_SHARE:
            plans[child.id] = "late"
        else:
            plans[child.id] = "routine"
    return plans
