"""The two entry points agree to the last bit, and bad rows stay contained.

``zscores_one`` (pure Python + numpy.power on a tiny array) and ``compute_zscores``
(vectorised) must give identical numbers -- rounded and unrounded -- for any input,
including extremes and rounding near-ties.  This is a consistency property, not an
accuracy check (accuracy vs anthro is in test_zscores_anthro.py / _boundaries.py).
"""

import math

import numpy as np
import pytest

from posyandu.core.growth import compute_zscores, zscores_one
from posyandu.core.growth.zscores import ALL_KEYS, RAW_COLUMNS, Z_COLUMNS, _round2_vec

INT_KEYS = {"c9mo_flag", "csex", "age_days_rounded"} | {k for k in ALL_KEYS
                                                        if k.startswith("f")}
N_RANDOM = 100_000


def random_visits(n, seed):
    """Random visits mixing typical children, extremes, edges and odd codes."""
    rng = np.random.default_rng(seed)
    pick = rng.random

    def mix(*parts):
        """parts: (probability, array) -> elementwise choice."""
        u = pick(n)
        out = parts[-1][1].astype(object) if parts[-1][1].dtype == object else parts[-1][1].copy()
        acc = 0.0
        chosen = np.zeros(n, dtype=bool)
        for p, arr in parts[:-1]:
            m = (u >= acc) & (u < acc + p) & ~chosen
            out[m] = arr[m]
            chosen |= m
            acc += p
        return out

    age = mix(
        (0.05, np.full(n, np.nan)),
        (0.05, rng.integers(0, 1900, n) + rng.choice([0.0, 0.5, 0.49999999999, 0.25], n)),
        (0.05, rng.choice([0, 90, 90.5, 91, 272, 273.9375, 273.93, 274, 730, 730.5, 731,
                           1825, 1826, 1826.2, 1826.25, 1827, 1856, 1856.5, 1e12, np.inf], n)),
        (1.0, rng.uniform(0, 1860, n)),
    )
    weight = mix(
        (0.05, np.full(n, np.nan)),
        (0.03, rng.choice([0.0, -1.0, 1e-9, 1e6, np.inf], n)),
        (0.15, rng.uniform(0.5, 60, n)),
        (1.0, np.round(rng.normal(11, 3.5, n).clip(1.5, None), 3)),
    )
    lenhei = mix(
        (0.05, np.full(n, np.nan)),
        (0.03, rng.choice([0.0, -5.0, 44.99, 45.0, 65.0, 65.7, 87.0, 109.3, 110.0, 110.05,
                           119.3, 120.0, 120.05, 76.1, 300.0], n)),
        (0.15, np.round(rng.uniform(30, 160, n), 2)),
        (1.0, np.round(rng.normal(85, 14, n).clip(35, None), 1)),
    )
    meas = mix(
        (0.1, np.array([None] * n, dtype=object)),
        (0.05, rng.choice(np.array(["L", "H", " h", 1, 2, ""], dtype=object), n)),
        (1.0, rng.choice(np.array(["l", "h"], dtype=object), n)),
    )
    sex = mix(
        (0.02, np.array([None] * n, dtype=object)),
        (0.05, rng.choice(np.array(["m", "F", "1", "2", 1.0, np.nan], dtype=object), n)),
        (1.0, rng.choice(np.array([1, 2], dtype=object), n)),
    )
    oedema = mix(
        (0.03, rng.choice(np.array(["y", "Y", "1", 1, True], dtype=object), n)),
        (0.05, rng.choice(np.array(["N", "2", None, 2, False], dtype=object), n)),
        (1.0, np.array(["n"] * n, dtype=object)),
    )

    def meas_col(mu, sd, lo):
        return mix((0.1, np.full(n, np.nan)), (0.05, rng.uniform(-1, 3 * mu, n)),
                   (1.0, np.round(rng.normal(mu, sd, n).clip(lo, None), 1)))

    return dict(sex=sex, age_days=age, weight=weight, lenhei=lenhei, measure=meas,
                headc=meas_col(46, 3, 20), armc=meas_col(15, 2, 5),
                triskin=meas_col(9, 3, 1), subskin=meas_col(7, 2.5, 1), oedema=oedema)


ARG_ORDER = ("sex", "age_days", "weight", "lenhei", "measure", "headc", "armc", "triskin",
             "subskin", "oedema")


def assert_paths_agree(kw, n):
    vec = compute_zscores(**kw)
    assert set(vec) == set(ALL_KEYS)
    cols = [np.asarray(kw[k]).tolist() for k in ARG_ORDER]
    ones = [zscores_one(*args) for args in zip(*cols)]
    assert len(ones) == n
    for key in ALL_KEYS:
        got = [o[key] for o in ones]
        if key in ("cmeasure", "error"):
            assert got == list(vec[key]), key
            continue
        types = set(map(type, got)) - {type(None)}
        assert types <= ({int} if key in INT_KEYS else {float}), (key, types)
        assert not any(v != v for v in got if v is not None), key  # NA is None, never NaN
        a = np.array(got, dtype=np.float64)  # None -> NaN
        b = vec[key]
        both_nan = np.isnan(a) & np.isnan(b)
        same_bits = a.view(np.int64) == b.view(np.int64)
        bad = np.flatnonzero(~(both_nan | same_bits))
        assert bad.size == 0, (key, [(i, a[i], b[i]) for i in bad[:10]])


def test_scalar_equals_vectorised_on_random_visits():
    n = N_RANDOM
    kw = random_visits(n, seed=20240601)
    assert_paths_agree(kw, n)


def test_random_visits_cover_the_interesting_cases():
    kw = random_visits(N_RANDOM, seed=20240601)
    res = compute_zscores(**kw)
    z = np.concatenate([res[k] for k in Z_COLUMNS])
    raw = np.concatenate([res[k] for k in RAW_COLUMNS])
    assert np.isinf(z).any()  # lenhei 0
    assert ((np.abs(raw) > 3) & (np.abs(raw) < 50)).sum() > 10_000  # restricted branch
    t = raw[np.isfinite(raw)] * 100
    assert (np.abs(np.abs(t - np.rint(t)) - 0.5) < 1e-3).sum() > 100  # close to a tie
    assert (res["c9mo_flag"] == 1).sum() > 100
    assert sum(e is not None for e in res["error"]) == 0  # only valid codes here
    assert np.isnan(res["age_days_rounded"]).sum() > 1000


def test_numpy_power_is_elementwise_deterministic():
    """The scalar path relies on this: numpy.power gives the same bits for an element
    whatever the array length, position or stride (unlike math.pow, which may differ)."""
    rng = np.random.default_rng(7)
    x = rng.uniform(0.2, 5, 50_000)
    y = rng.uniform(-1.2, 1.2, 50_000)
    ref = np.power(x, y)
    for k in (1, 2, 3, 6, 7, 9):
        got = np.concatenate([np.power(np.array(x[i:i + k].tolist()),
                                       np.array(y[i:i + k].tolist()))
                              for i in range(0, 3000, k)])
        assert np.array_equal(got, ref[:len(got)])
    assert np.array_equal(np.power(np.repeat(x, 2)[::2], np.repeat(y, 2)[::2]), ref)


def test_round2_vectorised_equals_python_round_near_ties():
    base = np.arange(-100000, 100000, 7) / 100.0 + 0.005
    vals = [base, np.nextafter(base, np.inf), np.nextafter(base, -np.inf),
            base + 1e-9, base - 1e-9, base * 1.0000000000000002,
            np.array([0.125, -0.125, 2.675, 1.005, 1e7 + 0.005, 1e9 + 0.125, 1e300, -1e300,
                      np.inf, -np.inf, np.nan, 0.0, -0.0, 5e-324])]
    x = np.concatenate(vals)
    got = _round2_vec(x)
    exp = np.array([round(v, 2) for v in x.tolist()])
    same = (got == exp) | (np.isnan(got) & np.isnan(exp))
    assert same.all(), x[~same][:10]


# --------------------------------------------------------------- containment of bad rows
def _sample_batch():
    kw = random_visits(400, seed=99)
    for k in ("sex", "measure", "oedema"):
        kw[k] = np.asarray(kw[k], dtype=object)
    return kw


def _insert(kw, pos, **row):
    out = {}
    for k, v in kw.items():
        v = np.asarray(v)
        ins = np.array([row.get(k)], dtype=v.dtype if v.dtype == object else float)
        if ins.dtype != object and row.get(k) is None:
            ins = np.array([np.nan])
        out[k] = np.concatenate([v[:pos], ins, v[pos:]])
    return out


def _assert_rows_unchanged(ref, got, pos):
    for key in ALL_KEYS:
        a = ref[key]
        b = np.concatenate([got[key][:pos], got[key][pos + 1:]])
        if a.dtype == object:
            assert list(a) == list(b), key
        else:
            assert np.array_equal(a, b, equal_nan=True), key


@pytest.mark.parametrize("bad_row, code", [
    (dict(sex=1, age_days=-3.0, weight=8.0, lenhei=70.0, measure="l"), "negative_age"),
    (dict(sex="x", age_days=300.0, weight=8.0, lenhei=70.0, measure="l"), "invalid_sex"),
    (dict(sex=3, age_days=300.0, weight=8.0), "invalid_sex"),
    (dict(sex=1, age_days=300.0, weight=8.0, lenhei=70.0, measure="standing"),
     "invalid_measure"),
    (dict(sex=2, age_days=300.0, weight=8.0, oedema="maybe"), "invalid_oedema"),
])
def test_bad_row_in_the_middle_of_a_batch(bad_row, code):
    kw = _sample_batch()
    ref = compute_zscores(**kw)
    pos = 200
    res = compute_zscores(**_insert(kw, pos, **bad_row))
    _assert_rows_unchanged(ref, res, pos)
    assert res["error"][pos] == code
    for key in ALL_KEYS:
        if key == "error":
            continue
        v = res[key][pos]
        assert v is None or math.isnan(v), key
    one = zscores_one(**bad_row)
    assert one["error"] == code
    assert all(one[k] is None for k in ALL_KEYS if k != "error")


def test_non_numeric_value_is_a_row_error():
    kw = _sample_batch()
    ref = compute_zscores(**kw)
    weights = list(kw["weight"])
    weights[10] = "heavy"
    kw2 = dict(kw, weight=np.array(weights, dtype=object))
    res = compute_zscores(**kw2)
    assert res["error"][10] == "invalid_weight"
    others = np.arange(len(weights)) != 10
    for key in RAW_COLUMNS:
        assert np.array_equal(ref[key][others], res[key][others], equal_nan=True)
    assert zscores_one(1, 100, "heavy")["error"] == "invalid_weight"


def test_first_error_in_argument_order_wins():
    assert zscores_one("x", -1, "a")["error"] == "invalid_sex"
    assert zscores_one(1, -1, "a", measure="q")["error"] == "negative_age"
    assert zscores_one(1, 10, 5.0, measure="q", oedema="q")["error"] == "invalid_measure"


def test_scalars_broadcast_and_none_means_missing():
    res = compute_zscores(1, [100, 200, 300], 8.0, lenhei=None, measure="l")
    assert res["zwei"].shape == (3,)
    assert np.isnan(res["zlen"]).all() and not np.isnan(res["zwei"]).any()
    for i, age in enumerate((100, 200, 300)):
        one = zscores_one(1, age, 8.0, measure="l")
        assert one["zwei"] == res["zwei"][i] and one["zwei_raw"] == res["zwei_raw"][i]
    with pytest.raises(ValueError):
        compute_zscores([1, 2], [100, 200, 300])


def test_empty_batch():
    res = compute_zscores(np.array([], dtype=float), np.array([], dtype=float))
    assert all(len(v) == 0 for v in res.values())


# --------------------------------------------------------------- missing_reasons (optional API)
def test_missing_reasons():
    from posyandu.core.growth import missing_reasons

    r = missing_reasons(1, 100, 5.0, 60.0, "l")
    assert r["zwei"] is None and r["zlen"] is None and r["zwfl"] is None
    assert r["zhc"] == "headc_missing" and r["zac"] == "armc_missing"
    assert missing_reasons(1, 60, 5.0, 60.0, "l", armc=12.0)["zac"] == "age_under_91_days"
    r = missing_reasons(1, None, 5.0, 60.0, "l", oedema="y")
    assert r["zwei"] == "age_missing" and r["zwfl"] == "oedema"
    assert missing_reasons(None, 100, 5.0)["zwei"] == "sex_missing"
    assert set(missing_reasons(1, -1, 5.0).values()) == {"negative_age"}
    assert missing_reasons(1, 1826.25, 15.0)["zwei"] == "age_60_months_or_more"
    assert missing_reasons(1, 800, 12.0, 130.0, "h")["zwfl"] == "lenhei_out_of_range"
    assert missing_reasons(1, 800, 0.0, 85.0, "h")["zwei"] == "weight_not_positive"
    assert missing_reasons(1, 800, -1.0, 85.0, "h")["zwfl"] == "not_computable"
