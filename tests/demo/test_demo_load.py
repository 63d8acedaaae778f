"""``flask demo load``: Kabupaten Gresik demo data, idempotent, with plausible children."""
from datetime import date

import sqlalchemy as sa

from posyandu.auth.models import User
from posyandu.auth.passwords import verify_password
from posyandu.children.models import Child, ChildGuardian
from posyandu.core import calendar as cal
from posyandu.core.growth import zscores_one
from posyandu.extensions import db
from posyandu.measurements.models import Measurement
from posyandu.regions.models import Posyandu, Puskesmas, PuskesmasDesa, Region

MODELS = (Region, Puskesmas, PuskesmasDesa, Posyandu, User, Child, ChildGuardian, Measurement)


def _counts():
    return {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in MODELS}


def test_demo_load_twice_gives_the_same_counts(app, runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    counts = _counts()
    assert counts["Posyandu"] == 3 and counts["Puskesmas"] == 1
    assert 30 <= counts["Child"] <= 60
    assert counts["Measurement"] > counts["Child"] * 5
    assert "admin-demo-123" in first.output and "kader.melati" in first.output

    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert _counts() == counts
    assert "children: 0 created" in second.output


def test_demo_content_is_plausible(app, runner):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    today = date.today()
    # regions: Gresik under Jawa Timur
    assert db.session.get(Region, "3525").parent_code == "35"
    # three posyandu with three different rules, all WIB
    rules = {p.session_rule for p in db.session.scalars(sa.select(Posyandu))}
    assert len(rules) == 3
    assert {p.timezone for p in db.session.scalars(sa.select(Posyandu))} == {"Asia/Jakarta"}
    # a user of every role; staff logins work with the printed passwords
    roles = set(db.session.scalars(sa.select(User.role)))
    assert roles == {"admin", "dinkes", "puskesmas", "kader", "parent"}
    admin = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
    assert verify_password(admin.password_hash, "admin-demo-123")
    parent = db.session.scalars(sa.select(User).where(User.role == "parent")).one()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChildGuardian).where(
        ChildGuardian.user_id == parent.id)) == 2

    children = {c.id: c for c in db.session.scalars(sa.select(Child))}
    for child in children.values():
        months = (today.year - child.birth_date.year) * 12 + today.month - child.birth_date.month
        assert 0 <= months <= 60 and child.birth_date <= today
        assert child.mother_name and child.sex in (1, 2)
    assert {c.sex for c in children.values()} == {1, 2}

    posyandu = {p.id: p for p in db.session.scalars(sa.select(Posyandu))}
    rows = list(db.session.scalars(sa.select(Measurement)))
    for m in rows:
        child = children[m.child_id]
        assert child.birth_date < m.measured_on <= today
        # weighed on the posyandu's session day
        assert m.measured_on in cal.sessions_in_month(posyandu[m.posyandu_id].session_rule,
                                                      m.measured_on.year, m.measured_on.month)
        if m.length_cm is not None:
            # lying (recumbent length) before the second birthday, standing height from it
            second_birthday = date(child.birth_date.year + 2, child.birth_date.month,
                                   min(child.birth_date.day, 28) if child.birth_date.month == 2 else child.birth_date.day)
            assert m.measure_method == ("lying" if m.measured_on < second_birthday else "standing")
        assert 1.5 <= m.weight_kg <= 30
    # some months missed: at least one child older than 6 months has a gap
    by_child = {}
    for m in rows:
        by_child.setdefault(m.child_id, []).append(m.measured_on)
    gaps = 0
    for dates in by_child.values():
        dates.sort()
        gaps += sum(1 for a, b in zip(dates, dates[1:]) if (b.year * 12 + b.month) - (a.year * 12 + a.month) > 1)
    assert gaps > 0
    # reports must show something: stunted (length/height-for-age < -2 SD) and wasted
    # (weight-for-length/height < -2 SD) children, judged by the WHO engine
    stunted, wasted, normal = set(), set(), set()
    for m in rows:
        if m.length_cm is None:
            continue
        child = children[m.child_id]
        z = zscores_one(child.sex, (m.measured_on - child.birth_date).days, weight=m.weight_kg,
                        lenhei=m.length_cm, measure="l" if m.measure_method == "lying" else "h")
        if z["zlen"] is not None and z["zlen"] < -2:
            stunted.add(child.id)
        if z["zwfl"] is not None and z["zwfl"] < -2:
            wasted.add(child.id)
        if z["zlen"] is not None and -2 <= z["zlen"] <= 2:
            normal.add(child.id)
    assert len(stunted) >= 3 and len(wasted) >= 2
    assert len(normal) > len(children) / 2
