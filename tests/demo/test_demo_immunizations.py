"""The demo's immunizations (issue 9 §3): most children up to date, a few overdue, dropouts in
both named indicators; every dose valid by the schedule engine; ``flask demo load`` twice adds
nothing. Before, the demo had no immunizations and every child was overdue for everything."""
from __future__ import annotations

import sqlalchemy as sa

from posyandu.auth.models import User
from posyandu.children.models import Child
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization

from tests.factories import headers

API = "/api/v1"


def test_demo_children_are_mostly_up_to_date_with_a_few_overdue_and_dropouts(app, runner, client):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    children = db.session.scalar(sa.select(sa.func.count()).select_from(Child))
    doses = db.session.scalar(sa.select(sa.func.count()).select_from(Immunization))
    assert doses > children * 5
    # every dose the demo gives is one the schedule engine accepts (minimum ages, intervals, cohorts)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Immunization)
                             .where(Immunization.is_valid.is_(False))) == 0
    # everyone got HB0 at the birth facility, on the birth date
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Immunization.child_id)))
                             .where(Immunization.dose_code == "HB0")) == children

    admin = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
    overdue = client.get(f"{API}/immunizations/overdue", query_string={"limit": 500},
                         headers=headers(admin)).json["items"]
    assert 1 <= len(overdue) <= children // 4          # a few, not everyone
    for indicator in ("DPTHBHIB1-DPTHBHIB3", "DPTHBHIB1-MR1"):
        page = client.get(f"{API}/immunizations/dropouts", query_string={"indicator": indicator},
                          headers=headers(admin)).json
        assert 1 <= len(page["items"]) <= children // 4, indicator

    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0 and "immunizations: 0 created" in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Immunization)) == doses
