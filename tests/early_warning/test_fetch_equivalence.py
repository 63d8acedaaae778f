"""The column-wise history fetch of ``evaluate`` gives exactly what the row-wise one did.

The reference below is the former ``evaluate`` (every column of every row through Python
tuples, then ``core.growth.early_warning.build_columns``); both run on the same generated
histories (random z-scores around the rules' cut-offs, missing values, WHO flags, implausible
weights/lengths, deleted visits, closed children, children at other posyandu) for several months.
"""
from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from posyandu.children.models import Child
from posyandu.core.growth import early_warning as ew
from posyandu.db import utcnow
from posyandu.early_warning import operations as ops
from posyandu.extensions import db
from posyandu.measurements.models import Measurement as M
from posyandu.reports.areas import Month
from tests import factories

_STUNTED = ("tbu.stunted", "tbu.severely_stunted")


def reference_evaluate(child_condition, month: Month, rules=None):
    """The former row-wise fetch (kept here only as the reference)."""
    rules = rules or ew.default_ews_rules()
    first, last = ops._window(month, rules)
    weight_bad = sa.func.coalesce(M.weight_implausible, sa.false())
    length_bad = sa.func.coalesce(M.length_implausible, sa.false())
    query = (sa.select(M.child_id, Child.posyandu_id, Child.birth_date, M.id, M.measured_on, M.age_days,
                       M.weight_kg, M.clenhei, M.zlen,
                       sa.or_(sa.func.coalesce(M.flen, sa.false()), length_bad).label("flen"), M.zwei,
                       sa.or_(sa.func.coalesce(M.fwei, sa.false()), weight_bad).label("fwei"), M.zwfl,
                       sa.or_(sa.func.coalesce(M.fwfl, sa.false()), weight_bad, length_bad).label("fwfl"),
                       M.cat_tbu)
             .join(Child, Child.id == M.child_id)
             .where(child_condition, Child.status == "active", M.deleted_at.is_(None),
                    M.measured_on >= first, M.measured_on <= last)
             .order_by(M.child_id, M.measured_on, M.created_at, M.id))
    rows = db.session.execute(query).all()
    (child_id, posyandu_id, birth_date, measurement_id, measured_on, age_days, weight_kg, clenhei,
     zlen, flen, zwei, fwei, zwfl, fwfl, cat_tbu) = zip(*rows)
    stunted = [c in _STUNTED if c is not None else None for c in cat_tbu]
    cols, keys, _order = ew.build_columns(
        child_id, list(measured_on), list(age_days), list(weight_kg), list(clenhei), list(zlen), list(zwei),
        list(zwfl), list(flen), list(fwei), list(fwfl), stunted, presorted=True)
    first_row = np.flatnonzero(np.r_[True, cols.child[1:] != cols.child[:-1]])
    results = ew.evaluate_rows(cols, rules)
    flags = ew.flags_for_month(cols, results, month.index, rules, len(keys))
    return keys, ops._objects(posyandu_id)[first_row], ops._objects(birth_date)[first_row], \
        ops._objects(measurement_id), cols, flags


def _maybe(rng, value, p_missing=0.15):
    return None if rng.random() < p_missing else value


@pytest.fixture
def generated(world):
    """~120 children with 1-14 visits each over 2024-2025."""
    rng = random.Random(11)
    posts = [world.posyandu_a1, world.posyandu_a2, world.posyandu_b1]
    rows = []
    for i in range(120):
        birth = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 800))
        kid = factories.child(posts[i % 3], f"Anak {i}", sex=1 + i % 2, birth_date=birth)
        if i % 17 == 0:
            kid.status = "closed"
        haz, waz, whz = rng.gauss(-1.3, 0.8), rng.gauss(-0.8, 0.8), rng.gauss(-0.4, 0.9)
        day = max(birth, date(2024, 1, 1))
        for _ in range(rng.randrange(1, 15)):
            day += timedelta(days=rng.randrange(5, 70))
            if day > date(2025, 12, 31):
                break
            haz += rng.gauss(-0.1, 0.3)
            waz += rng.gauss(-0.05, 0.3)
            whz += rng.gauss(0, 0.3)
            z_len = _maybe(rng, round(haz, 2), 0.3)
            category = None if z_len is None else (
                "tbu.severely_stunted" if z_len < -3 else "tbu.stunted" if z_len < -2 else "tbu.normal")
            rows.append(M(id=uuid.uuid4(), child_id=kid.id, posyandu_id=kid.posyandu_id, measured_on=day,
                          age_days=_maybe(rng, (day - birth).days, 0.05),
                          weight_kg=_maybe(rng, round(8 + rng.random() * 6, 1), 0.05),
                          clenhei=_maybe(rng, round(70 + rng.random() * 20, 1), 0.3), zlen=z_len,
                          flen=None if z_len is None else rng.random() < 0.05,
                          zwei=_maybe(rng, round(waz, 2)), fwei=rng.choice([None, False, False, True]),
                          zwfl=_maybe(rng, round(whz, 2)), fwfl=rng.choice([None, False, False, True]),
                          weight_implausible=rng.choice([None, False, False, False, True]),
                          length_implausible=rng.choice([None, False, False, False, True]),
                          cat_tbu=category, standard_version="test",
                          deleted_at=utcnow() if rng.random() < 0.05 else None))
    db.session.add_all(rows)
    db.session.flush()
    return world


@pytest.mark.parametrize("month", [Month(2024, 6), Month(2025, 1), Month(2025, 6), Month(2025, 12)])
def test_the_column_wise_fetch_gives_the_row_wise_result(generated, month):
    w = generated
    condition = Child.posyandu_id.in_([w.posyandu_a1.id, w.posyandu_a2.id, w.posyandu_b1.id])
    keys, posyandu_ids, birth_dates, measurement_ids, cols, flags = reference_evaluate(condition, month)
    found = ops.evaluate(condition, month)
    assert len(keys) > 50 and flags.listed.sum() > 0  # the data exercise the rules
    assert list(found.child_ids) == list(keys)
    assert list(found.posyandu_ids) == list(posyandu_ids)
    assert list(found.birth_dates) == list(birth_dates)
    for name in ("child", "day", "age_days", "weight_kg", "clenhei", "haz", "waz", "whz", "flen", "fwei", "fwfl",
                 "haz_stunted"):
        np.testing.assert_array_equal(getattr(found.cols, name), getattr(cols, name), err_msg=name)
    for name in ("anchor_row", "fired", "excluded", "last_row", "listed"):
        np.testing.assert_array_equal(getattr(found.flags, name), getattr(flags, name), err_msg=name)
    # the measurement the list shows for each child (her last row) is the same one
    assert [found.measurement_ids[r] for r in found.flags.last_row] == [measurement_ids[r] for r in flags.last_row]
