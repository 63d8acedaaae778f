"""Report areas: resolution by level and code, and the scope rule for each role."""
from __future__ import annotations

import datetime as dt

import pytest

from posyandu.auth.scope import Scope
from posyandu.errors import InvalidInput, NotFound
from posyandu.reports.areas import Month, parse_area, parse_month, resolve_area


def scope_of(user) -> Scope:
    return Scope(user_id=user.id, role=user.role,
                 posyandu_ids=frozenset(link.posyandu_id for link in getattr(user, "posyandu_links", [])),
                 puskesmas_id=user.puskesmas_id, kabupaten_code=user.kabupaten_code)


def kader_scope(user, *posyandu_rows) -> Scope:
    return Scope(user_id=user.id, role="kader", posyandu_ids=frozenset(p.id for p in posyandu_rows))


def ids_of(area):
    from posyandu.extensions import db
    return set(db.session.scalars(area.posyandu_ids()))


def test_levels_resolve_to_their_posyandu(world):
    admin = scope_of(world.admin)
    assert ids_of(resolve_area(admin, "kabupaten", "35.25")) == {
        world.posyandu_a1.id, world.posyandu_a2.id, world.posyandu_b1.id}
    assert ids_of(resolve_area(admin, "kecamatan", "352501")) == {world.posyandu_a1.id, world.posyandu_a2.id}
    assert ids_of(resolve_area(admin, "desa", "35.25.02.2001")) == {world.posyandu_b1.id}
    assert ids_of(resolve_area(admin, "puskesmas", "P3525010101")) == {world.posyandu_a1.id, world.posyandu_a2.id}
    area = resolve_area(admin, "posyandu", "PY-C1")
    assert ids_of(area) == {world.posyandu_c1.id}
    assert area.as_dict() == {"level": "posyandu", "code": "PY-C1", "name": "Posyandu Kenanga"}
    assert resolve_area(admin, "kecamatan", "352501").code == "35.25.01"


@pytest.mark.parametrize("level,code", [("kabupaten", "35.99"), ("desa", "3525"), ("posyandu", "nope"),
                                        ("puskesmas", "x" * 40), ("kecamatan", "abc")])
def test_unknown_or_malformed_area_is_not_found(world, level, code):
    with pytest.raises(NotFound):
        resolve_area(scope_of(world.admin), level, code)


def test_scope_per_role(world):
    dinkes = scope_of(world.dinkes_gresik)
    assert resolve_area(dinkes, "kabupaten", "3525").name == "Kabupaten Gresik"
    assert resolve_area(dinkes, "posyandu", "PY-B1")
    for level, code in [("kabupaten", "3524"), ("posyandu", "PY-C1"), ("puskesmas", "P3524010101")]:
        with pytest.raises(NotFound):
            resolve_area(dinkes, level, code)

    staff_a = scope_of(world.staff_a)
    assert resolve_area(staff_a, "puskesmas", "P3525010101")
    assert resolve_area(staff_a, "desa", "3525012002")
    assert resolve_area(staff_a, "kecamatan", "352501")  # all its posyandu are puskesmas A's
    for level, code in [("puskesmas", "P3525020101"), ("kabupaten", "3525"), ("posyandu", "PY-B1"),
                        ("desa", "3525022001")]:
        with pytest.raises(NotFound):
            resolve_area(staff_a, level, code)

    kader = kader_scope(world.kader_a1, world.posyandu_a1)
    assert resolve_area(kader, "posyandu", "PY-A1")
    assert resolve_area(kader, "desa", "3525012001")  # her posyandu is the desa's only one
    for level, code in [("posyandu", "PY-A2"), ("puskesmas", "P3525010101"), ("kecamatan", "352501")]:
        with pytest.raises(NotFound):
            resolve_area(kader, level, code)

    parent = Scope(user_id=world.parent_1.id, role="parent")
    with pytest.raises(NotFound):
        resolve_area(parent, "posyandu", "PY-A1")


def test_parse_area():
    assert parse_area("kabupaten:35.25") == ("kabupaten", "35.25")
    assert parse_area("posyandu:PY-GRS-001") == ("posyandu", "PY-GRS-001")
    for bad in ("35.25", "rt:1", "kabupaten:", ""):
        with pytest.raises(InvalidInput):
            parse_area(bad)


def test_parse_month():
    today = dt.date(2026, 12, 6)
    month = parse_month("2026-02", today=today)
    assert (month.first_day, month.last_day) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert str(month.shift(-3)) == "2025-11" and str(month.shift(11)) == "2027-01"
    assert parse_month("2026-12", today=today) == Month(2026, 12)
    for bad in ("2027-01", "0000-01", "1999-12", "2026-13", "2026-1", "26-01", None):
        with pytest.raises(InvalidInput) as excinfo:
            parse_month(bad, today=today)
        assert "month" in excinfo.value.errors
