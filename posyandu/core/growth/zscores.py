"""WHO growth z-scores exactly as ``anthro::anthro_zscores`` (anthro 1.1.0, R) computes them.

Two entry points give bit-identical numbers:

* :func:`compute_zscores` -- vectorised over arrays (reports, imports);
* :func:`zscores_one` -- one visit, pure Python on preloaded tables (API requests).

Every rule follows /work/shared/who-growth-standards/RULES.md sections 1-5; the comments cite
the section.  Why two paths agree to the last bit: both use IEEE +, -, *, / in the same order,
and every power goes through ``numpy.power`` on float64 arrays (the scalar path batches a
visit's powers into one small array).  ``math.pow`` is *not* used: where numpy dispatches
``power`` to SIMD code (e.g. SVML on AVX-512) it differs from libm in the last bit for ~5%
of inputs, which would make the rounded z differ near ties.  numpy's ``power`` on arrays is
elementwise-deterministic regardless of length, position and stride (checked in tests).

Rounding (RULES.md s.3): anthro's ``round(z, 2)`` equals Python's ``round(z, 2)``.  The scalar
path calls it directly; the vectorised path uses ``rint(z*100)/100`` (the same double away
from a tie) and re-rounds with Python's ``round`` the elements within 1e-6 of a tie, and any
huge or infinite value.

Where we differ from anthro on purpose (anthro would stop the *whole* call instead):

* negative age -> that row gets ``error="negative_age"`` and every output missing;
* an unknown sex/measure/oedema code or a non-numeric number -> ``error="invalid_sex"``,
  ``"invalid_measure"``, ``"invalid_oedema"``, ``"invalid_age"``, ``"invalid_weight"``, ...;
  the first problem in argument order is reported;
* codes are trimmed and lower-cased before checking, blank strings are NA (see ``codes.py``).
"""

from __future__ import annotations

import math

import numpy as np

from . import codes as _codes
from .tables import AGE_MAX_DAY, AGE_ROWS, AGE_TABLES, WFH, WFL

__all__ = [
    "compute_zscores",
    "zscores_one",
    "missing_reasons",
    "OUTPUT_COLUMNS",
    "RAW_COLUMNS",
    "Z_COLUMNS",
    "FLAG_COLUMNS",
    "ALL_KEYS",
]

DAYS_PER_MONTH = 30.4375  # ANTHRO_DAYS_OF_MONTH
_INT_MAX = 2147483647.0  # as.integer() gives NA beyond this (age_to_days, RULES.md s.1)

#: anthro's output columns, in anthro's order (RULES.md s.5)
OUTPUT_COLUMNS = (
    "clenhei", "cmeasure", "c9mo_flag", "cbmi", "csex",
    "zlen", "flen", "zwei", "fwei", "zwfl", "fwfl", "zbmi", "fbmi",
    "zhc", "fhc", "zac", "fac", "zts", "fts", "zss", "fss",
)
_IND = ("len", "wei", "wfl", "bmi", "hc", "ac", "ts", "ss")
Z_COLUMNS = tuple("z" + k for k in _IND)
FLAG_COLUMNS = tuple("f" + k for k in _IND)
RAW_COLUMNS = tuple("z" + k + "_raw" for k in _IND)
ALL_KEYS = OUTPUT_COLUMNS + RAW_COLUMNS + ("age_days_rounded", "error")

# flag thresholds on the ROUNDED z, strict (RULES.md s.3): (low, high)
_FLAG = {
    "len": (-6.0, 6.0), "wei": (-6.0, 5.0), "wfl": (-5.0, 5.0), "bmi": (-5.0, 5.0),
    "hc": (-5.0, 5.0), "ac": (-5.0, 5.0), "ts": (-5.0, 5.0), "ss": (-5.0, 5.0),
}
# age-based indicators: (table, restricted formula?, oedema=y gives NA?) -- RULES.md s.3
_AGE_IND = {
    "len": (AGE_TABLES["len"], False, False),
    "wei": (AGE_TABLES["wei"], True, True),
    "bmi": (AGE_TABLES["bmi"], True, True),
    "hc": (AGE_TABLES["hc"], False, False),
    "ac": (AGE_TABLES["ac"], True, False),
    "ts": (AGE_TABLES["ts"], True, False),
    "ss": (AGE_TABLES["ss"], True, False),
}
_NUM_FIELDS = ("age", "weight", "lenhei", "headc", "armc", "triskin", "subskin")
_CM_OBJ = np.array([None, "l", "h"], dtype=object)


# --------------------------------------------------------------------------- rounding
def _round2_vec(z: np.ndarray) -> np.ndarray:
    """``round(z, 2)`` as Python/R do it (RULES.md s.3), vectorised; NaN stays NaN."""
    with np.errstate(invalid="ignore", over="ignore"):
        t = z * 100.0
        r = np.rint(t)
        out = r / 100.0
        near_tie = np.abs(np.abs(t - r) - 0.5) < 1e-6
    fix = near_tie | (np.abs(t) >= 1e8)  # NaN compares False; +-Inf is re-rounded (stays Inf)
    if fix.any():
        idx = np.flatnonzero(fix)
        out[idx] = [round(v, 2) for v in z[idx].tolist()]
    return out


def _flag_vec(zr: np.ndarray, lo: float, hi: float) -> np.ndarray:
    f = ((zr < lo) | (zr > hi)).astype(np.float64)
    f[np.isnan(zr)] = np.nan
    return f


# --------------------------------------------------------------------------- inputs
def _column(x, n: int) -> np.ndarray | None:
    if x is None:
        return None
    a = np.asarray(x)
    if a.ndim == 0 or (a.size == 1 and n != 1):
        return np.broadcast_to(a.reshape(()), (n,))
    return a.reshape(-1)


def _length(*args) -> int:
    n = 1
    seen = False
    for x in args:
        if x is None or isinstance(x, (str, bytes)) or np.ndim(x) == 0:
            continue
        m = len(x)
        if seen and m != n and m != 1:
            raise ValueError(f"inputs have different lengths ({n} and {m})")
        if not seen or n == 1:
            n = m
        seen = True
    return n


# --------------------------------------------------------------------------- vectorised
def compute_zscores(sex, age_days, weight=None, lenhei=None, measure=None, headc=None,
                    armc=None, triskin=None, subskin=None, oedema=None) -> dict[str, np.ndarray]:
    """anthro's ``anthro_zscores(..., is_age_in_month = FALSE)`` for many visits at once.

    Arguments are equal-length array-likes or scalars (broadcast); ``None`` means all NA.
    Units: age in days (may be fractional), weight kg, lenhei/headc/armc cm, skinfolds mm.
    ``sex``: 1/2/"1"/"2"/m/f/M/F; ``measure``: l/h/L/H (or 1/2); ``oedema``: y/Y/1 yes,
    n/N/2/NA no (see ``codes.py``).

    Returns a dict of 1-D arrays of length n:

    * anthro's columns (``OUTPUT_COLUMNS``): z-scores rounded to 2 decimals as float64 with NaN
      for NA; flags, ``c9mo_flag`` and ``csex`` as float64 0/1 (1/2) with NaN for NA;
      ``cmeasure`` as an object array of ``"l"``/``"h"``/``None``; ``clenhei``/``cbmi`` unrounded;
    * ``zlen_raw`` ... ``zss_raw``: the z-scores before rounding (the Indonesian classification
      compares these);
    * ``age_days_rounded``: anthro's rounded age in days (float64, NaN if NA);
    * ``error``: object array, ``None`` or a reason code for rows anthro would have refused
      (``"negative_age"``, ``"invalid_sex"``, ...); such rows have every other output NA.
    """
    n = _length(sex, age_days, weight, lenhei, measure, headc, armc, triskin, subskin, oedema)
    with np.errstate(all="ignore"):
        return _compute(n, sex, age_days, weight, lenhei, measure, headc, armc, triskin,
                        subskin, oedema)


def _compute(n, sex, age_days, weight, lenhei, measure, headc, armc, triskin, subskin, oedema):
    err = np.full(n, None, dtype=object)
    has_err = np.zeros(n, dtype=bool)

    def set_err(mask, code):
        if mask is not None and mask.any():
            new = mask & ~has_err
            err[new] = code
            has_err[:] |= new

    # -- codes (RULES.md s.1)
    # the first problem in argument order wins
    sx = _column(sex, n)
    sc = (np.zeros(n, dtype=np.int8) if sx is None
          else _codes.classify_array(sx, _codes.SEX_CODES, _codes.SEX_NA))
    set_err(sc == _codes.BAD, "invalid_sex")
    nums, bads = {}, {}
    for name, x in zip(_NUM_FIELDS, (age_days, weight, lenhei, headc, armc, triskin, subskin)):
        col = _column(x, n)
        if col is None:
            nums[name], bads[name] = np.full(n, np.nan), None
        else:
            nums[name], bads[name] = _codes.to_float_array(col)
    ms = _column(measure, n)
    mc = (np.zeros(n, dtype=np.int8) if ms is None
          else _codes.classify_array(ms, _codes.MEASURE_CODES, _codes.MEASURE_NA).copy())
    oe = _column(oedema, n)
    oc = (np.zeros(n, dtype=np.int8) if oe is None
          else _codes.classify_array(oe, _codes.OEDEMA_CODES, _codes.OEDEMA_NA))
    set_err(bads["age"], "invalid_age")
    set_err(nums["age"] < 0, "negative_age")  # RULES.md s.1: anthro stops; we blank the row
    set_err(bads["weight"], "invalid_weight")
    set_err(bads["lenhei"], "invalid_lenhei")
    set_err(mc == _codes.BAD, "invalid_measure")
    for name in _NUM_FIELDS[3:]:
        set_err(bads[name], f"invalid_{name}")
    set_err(oc == _codes.BAD, "invalid_oedema")
    oed = oc == 1
    any_err = bool(has_err.any())

    age = nums["age"]
    weight_v = nums["weight"]
    lenhei_v = nums["lenhei"]

    # sex as 1.0/2.0/NaN; rows with an error are treated as sex NA so every z is NA
    csex = np.where(sc == 1, 1.0, np.where(sc == 2, 2.0, np.nan))
    if any_err:
        csex[has_err] = np.nan
        age = np.where(has_err, np.nan, age)
    sex_ok = ~np.isnan(csex)

    # -- age (RULES.md s.1): round half up; months unrounded
    fl = np.floor(age)
    ar = fl + ((age - fl) >= 0.5)
    ar[ar > _INT_MAX] = np.nan  # as.integer() overflow -> NA (Inf included)
    months = age / DAYS_PER_MONTH
    has_age = ~np.isnan(ar)

    # -- height under 9 months (RULES.md s.1) and +-0.7 cm (s.2)
    mc[mc == _codes.BAD] = 0
    c9 = (mc == 2) & (months < 9.0)
    mc[c9] = 0
    add = has_age & (ar < 731) & (mc == 2)
    sub = has_age & (ar >= 731) & (mc == 1)
    clenhei = np.where(add, lenhei_v + 0.7, np.where(sub, lenhei_v - 0.7, lenhei_v))
    t = clenhei / 100.0
    cbmi = weight_v / (t * t)  # R: (x)^2 is x*x

    # -- age-indexed indicators (RULES.md s.3)
    vb = sex_ok & has_age & (ar <= 1856) & (months < 60.0) & (ar <= AGE_MAX_DAY)
    all_vb = bool(vb.all())
    idx = ((csex - 1.0) * AGE_ROWS + ar)
    idx = (idx if all_vb else np.where(vb, idx, 0.0)).astype(np.intp)

    out = {}
    ys = {"len": clenhei, "wei": weight_v, "bmi": cbmi, "hc": nums["headc"],
          "ac": nums["armc"], "ts": nums["triskin"], "ss": nums["subskin"]}
    raw = {}
    for key, (tab, restricted, oedema_na) in _AGE_IND.items():
        y = ys[key]
        mask = vb & (y > 0)
        if tab.first_day > 0:
            mask &= ar >= tab.first_day
        if oedema_na:
            mask &= ~oed
        raw[key] = _age_z_vec(tab, restricted, y, idx, mask)

    raw["wfl"] = _wfl_vec(n, csex, sex_ok, ar, has_age, months, mc, clenhei, weight_v, oed)

    # -- rounding and flags (RULES.md s.3)
    for key in _IND:
        zr = _round2_vec(raw[key])
        lo, hi = _FLAG[key]
        out["z" + key] = zr
        out["f" + key] = _flag_vec(zr, lo, hi)

    res = {
        "clenhei": clenhei,
        "cmeasure": _CM_OBJ[mc],
        "c9mo_flag": c9.astype(np.float64),
        "cbmi": cbmi,
        "csex": csex,
    }
    for key in _IND:
        res["z" + key] = out["z" + key]
        res["f" + key] = out["f" + key]
    for key in _IND:
        res["z" + key + "_raw"] = raw[key]
    res["age_days_rounded"] = ar
    if any_err:  # RULES.md s.1: anthro refuses these; we blank the row
        for k in ("clenhei", "c9mo_flag", "cbmi"):
            res[k][has_err] = np.nan
        res["cmeasure"][has_err] = None
    res["error"] = err
    return res


def _age_z_vec(tab, restricted, y, idx, mask):
    """Plain or restricted LMS z on the rows in ``mask`` (RULES.md s.3); NaN elsewhere."""
    n = y.shape[0]
    if mask.all():
        yy, ii = y, idx
        sel = None
    else:
        sel = np.flatnonzero(mask)
        yy, ii = y[sel], idx[sel]
    if tab.l_is_one:  # R: ((y/m)^1 - 1)/(s*1) == (y/m - 1)/s exactly
        z = (yy / tab.m[ii] - 1.0) / tab.s[ii]
    else:
        z = (np.power(yy / tab.m[ii], tab.l[ii]) - 1.0) / tab.sl[ii]
    if restricted:
        _restrict_age(tab, z, yy, ii)
    if sel is None:
        return z
    full = np.full(n, np.nan)
    full[sel] = z
    return full


def _restrict_age(tab, z, yy, ii):
    j = np.flatnonzero(z > 3.0)
    if j.size:
        k = ii[j]
        z[j] = 3.0 + (yy[j] - tab.sd3pos[k]) / tab.sd23pos[k]
    j = np.flatnonzero(z < -3.0)
    if j.size:
        k = ii[j]
        z[j] = -3.0 + (yy[j] - tab.sd3neg[k]) / tab.sd23neg[k]


_WF_L = np.concatenate([WFL.l, WFH.l])
_WF_M = np.concatenate([WFL.m, WFH.m])
_WF_S = np.concatenate([WFL.s, WFH.s])
_WFH_OFF = 2 * WFL.n


def _wfl_vec(n, csex, sex_ok, ar, has_age, months, mc, clenhei, weight, oed):
    """Weight-for-length/height (RULES.md s.4): table by age, else measure, else 87 cm."""
    no_age = ~has_age
    use_l = (has_age & (ar < 731)) | (no_age & (mc == 1)) | (no_age & (mc == 0) & (clenhei < 87))
    use_h = (has_age & (ar >= 731)) | (no_age & (mc == 2)) | (no_age & (mc == 0) & (clenhei >= 87))
    valid = sex_ok & ((use_l & (clenhei >= WFL.lo_cm) & (clenhei <= WFL.hi_cm))
                      | (use_h & (clenhei >= WFH.lo_cm) & (clenhei <= WFH.hi_cm)))
    valid &= ~oed
    valid &= no_age | (ar <= 1856)
    valid &= np.isnan(months) | (months < 60.0)  # NA age keeps zwfl (R's z[NA] <- NA no-op)
    z = np.full(n, np.nan)
    sel = np.flatnonzero(valid)
    if sel.size == 0:
        return z
    c = clenhei[sel]
    w = weight[sel]
    isl = use_l[sel]
    sx = csex[sel]
    t10 = c * 10.0
    klo = np.trunc(t10)
    kup = np.trunc(t10 + 1.0)
    diff = (c - klo / 10.0) / 0.1
    n_t = np.where(isl, WFL.n, WFH.n)
    k0 = np.where(isl, WFL.k0, WFH.k0)
    base = np.where(isl, 0, _WFH_OFF) + (sx.astype(np.intp) - 1) * n_t - k0
    ilo = base + klo.astype(np.intp)
    up_ok = kup - k0 < n_t
    iup = np.where(up_ok, base + kup.astype(np.intp), ilo)
    interp = diff > 0.0
    ll, ml, sl = _WF_L[ilo], _WF_M[ilo], _WF_S[ilo]
    lu, mu, su = _WF_L[iup], _WF_M[iup], _WF_S[iup]
    L = np.where(interp, ll + diff * (lu - ll), ll)
    M = np.where(interp, ml + diff * (mu - ml), ml)
    S = np.where(interp, sl + diff * (su - sl), sl)
    bad_up = interp & ~up_ok  # upper row missing in R's join -> NA (cannot happen when valid)
    if bad_up.any():
        L[bad_up] = np.nan
    zz = (np.power(w / M, L) - 1.0) / (S * L)
    hi = np.flatnonzero(zz > 3.0)
    if hi.size:
        Lh, Mh, Sh = L[hi], M[hi], S[hi]
        inv = 1.0 / Lh
        ls = Lh * Sh
        p = np.power(np.concatenate([1.0 + ls * 3.0, 1.0 + ls * 2.0]), np.concatenate([inv, inv]))
        sd3 = Mh * p[: hi.size]
        sd2 = Mh * p[hi.size:]
        zz[hi] = 3.0 + (w[hi] - sd3) / (sd3 - sd2)
    lo = np.flatnonzero(zz < -3.0)
    if lo.size:
        Lh, Mh, Sh = L[lo], M[lo], S[lo]
        inv = 1.0 / Lh
        ls = Lh * Sh
        p = np.power(np.concatenate([1.0 + ls * -3.0, 1.0 + ls * -2.0]),
                     np.concatenate([inv, inv]))
        sd3n = Mh * p[: lo.size]
        sd2n = Mh * p[lo.size:]
        zz[lo] = -3.0 + (w[lo] - sd3n) / (sd2n - sd3n)
    z[sel] = zz
    return z


# --------------------------------------------------------------------------- scalar
_NAN = math.nan
_INF = math.inf
_AGE_PY = [(k, tab.py["l"], tab.py["m"], tab.py["s"], tab.py["sl"], tab.py["sd3pos"],
            tab.py["sd23pos"], tab.py["sd3neg"], tab.py["sd23neg"], tab.first_day,
            tab.l_is_one, restricted, oedema_na)
           for k, (tab, restricted, oedema_na) in _AGE_IND.items()]
_WFL_PY = (WFL.py["l"], WFL.py["m"], WFL.py["s"], WFL.n, WFL.k0, WFL.lo_cm, WFL.hi_cm)
_WFH_PY = (WFH.py["l"], WFH.py["m"], WFH.py["s"], WFH.n, WFH.k0, WFH.lo_cm, WFH.hi_cm)
_np_array = np.array
_np_power = np.power
_F64 = np.float64
_classify = _codes.classify
_to_float = _codes.to_float
_BAD = _codes.BAD


def _pow(bases: list, exps: list) -> list:
    """Elementwise ``numpy.power`` -- the same implementation the vectorised path uses."""
    return _np_power(_np_array(bases, dtype=_F64), _np_array(exps, dtype=_F64)).tolist()


_OUT_SPEC = tuple((k, "z" + k, "f" + k) + _FLAG[k] for k in _IND)
_RAW_SPEC = tuple((k, "z" + k + "_raw") for k in _IND)


def _error_result(code: str) -> dict:
    d = dict.fromkeys(ALL_KEYS)
    d["error"] = code
    return d


def _num1(v, name: str, err):
    try:
        return _to_float(v), err
    except ValueError:
        return _NAN, err or f"invalid_{name}"


def zscores_one(sex, age_days, weight=None, lenhei=None, measure=None, headc=None,
                armc=None, triskin=None, subskin=None, oedema=None) -> dict:
    """One visit; same rules and bit-identical numbers as :func:`compute_zscores`.

    Returns a dict with the keys of :data:`ALL_KEYS`: floats (``inf`` possible for
    zbmi/cbmi), flags/``c9mo_flag``/``csex``/``age_days_rounded`` as ints, ``cmeasure`` as
    ``"l"``/``"h"``, and ``None`` wherever the vectorised result is NaN/None.
    """
    # -- codes (RULES.md s.1); first problem in argument order wins
    err = None
    sc = 0 if sex is None else _classify(sex, _codes.SEX_CODES, 0)
    if sc == _BAD:
        err = "invalid_sex"
    age, err = _num1(age_days, "age", err)
    if err is None and age < 0.0:
        err = "negative_age"
    w, err = _num1(weight, "weight", err)
    lh, err = _num1(lenhei, "lenhei", err)
    mc = 0 if measure is None else _classify(measure, _codes.MEASURE_CODES, 0)
    if mc == _BAD and err is None:
        err = "invalid_measure"
    hc, err = _num1(headc, "headc", err)
    ac, err = _num1(armc, "armc", err)
    ts, err = _num1(triskin, "triskin", err)
    ss, err = _num1(subskin, "subskin", err)
    oc = 0 if oedema is None else _classify(oedema, _codes.OEDEMA_CODES, 0)
    if oc == _BAD and err is None:
        err = "invalid_oedema"
    if err is not None:
        return _error_result(err)
    oed = oc == 1

    # -- age (RULES.md s.1)
    if age == age and age not in (_INF, -_INF):
        fl = float(math.floor(age))
        ar = fl + (1.0 if age - fl >= 0.5 else 0.0)
        if ar > _INT_MAX:
            ar = _NAN
    else:
        ar = _NAN
    months = age / DAYS_PER_MONTH
    has_age = ar == ar

    # -- 9 months (s.1) and +-0.7 cm (s.2)
    c9 = mc == 2 and months < 9.0
    if c9:
        mc = 0
    clh = lh
    if has_age:
        if ar < 731.0:
            if mc == 2:
                clh = lh + 0.7
        elif mc == 1:
            clh = lh - 0.7
    t = clh / 100.0
    d = t * t
    if d != 0.0:
        cbmi = w / d
    else:  # IEEE x/0, which Python refuses to do
        cbmi = _NAN if (w == 0.0 or w != w) else math.copysign(_INF, w)

    csex = float(sc) if sc else _NAN
    sex_ok = sc != 0

    # -- age-indexed indicators (RULES.md s.3)
    raw = {}
    pb, pe, pk = [], [], []  # power bases, exponents, (key, row) waiting for the power
    vb = sex_ok and has_age and ar <= 1856.0 and months < 60.0 and ar <= AGE_MAX_DAY
    if vb:
        i = int((csex - 1.0) * AGE_ROWS + ar)
        ys = (clh, w, cbmi, hc, ac, ts, ss)
        for j, row in enumerate(_AGE_PY):
            y = ys[j]
            if y > 0.0 and ar >= row[9] and not (row[12] and oed):
                m = row[2][i]
                if row[10]:  # L == 1
                    raw[row[0]] = (y / m - 1.0) / row[3][i]
                else:
                    pb.append(y / m)
                    pe.append(row[1][i])
                    pk.append(j)
            else:
                raw[row[0]] = _NAN
    else:
        for row in _AGE_PY:
            raw[row[0]] = _NAN

    # -- weight-for-length/height (RULES.md s.4)
    wfl = None
    if sex_ok and clh == clh and not oed:
        if has_age:
            tb = _WFL_PY if ar < 731.0 else _WFH_PY
        elif mc == 1:
            tb = _WFL_PY
        elif mc == 2:
            tb = _WFH_PY
        else:
            tb = _WFL_PY if clh < 87.0 else _WFH_PY
        if (tb[5] <= clh <= tb[6] and (not has_age or ar <= 1856.0)
                and (months != months or months < 60.0)):
            t10 = clh * 10.0
            klo = float(math.trunc(t10))
            kup = float(math.trunc(t10 + 1.0))
            diff = (clh - klo / 10.0) / 0.1
            n_t, k0 = tb[3], tb[4]
            base = (int(csex) - 1) * n_t - k0
            ilo = base + int(klo)
            tl, tm, ts_ = tb[0], tb[1], tb[2]
            if diff > 0.0:
                if kup - k0 < n_t:
                    iup = base + int(kup)
                    L = tl[ilo] + diff * (tl[iup] - tl[ilo])
                    M = tm[ilo] + diff * (tm[iup] - tm[ilo])
                    S = ts_[ilo] + diff * (ts_[iup] - ts_[ilo])
                else:
                    L, M, S = _NAN, tm[ilo], ts_[ilo]
            else:
                L, M, S = tl[ilo], tm[ilo], ts_[ilo]
            wfl = (L, M, S)
            pb.append(w / M)
            pe.append(L)

    if pb:
        if wfl is not None and not (pb[-1] > 0.0):  # 0^L or (neg)^L: quiet, as in the vector path
            with np.errstate(all="ignore"):
                p = _pow(pb, pe)
        else:
            p = _pow(pb, pe)
        for q, j in enumerate(pk):
            row = _AGE_PY[j]
            y = ys[j]
            z = (p[q] - 1.0) / row[4][i]
            if row[11]:  # restricted (RULES.md s.3)
                if z > 3.0:
                    z = 3.0 + (y - row[5][i]) / row[6][i]
                if z < -3.0:
                    z = -3.0 + (y - row[7][i]) / row[8][i]
            raw[row[0]] = z
    if wfl is None:
        raw["wfl"] = _NAN
    else:
        L, M, S = wfl
        z = (p[-1] - 1.0) / (S * L)
        if z > 3.0:
            inv = 1.0 / L
            ls = L * S
            p3, p2 = _pow([1.0 + ls * 3.0, 1.0 + ls * 2.0], [inv, inv])
            sd3 = M * p3
            z = 3.0 + (w - sd3) / (sd3 - M * p2)
        if z < -3.0:
            inv = 1.0 / L
            ls = L * S
            p3, p2 = _pow([1.0 + ls * -3.0, 1.0 + ls * -2.0], [inv, inv])
            sd3n = M * p3
            z = -3.0 + (w - sd3n) / (M * p2 - sd3n)
        raw["wfl"] = z

    # -- output (RULES.md s.3 rounding/flags, s.5 columns)
    res = {
        "clenhei": clh if clh == clh else None,
        "cmeasure": "l" if mc == 1 else ("h" if mc == 2 else None),
        "c9mo_flag": 1 if c9 else 0,
        "cbmi": cbmi if cbmi == cbmi else None,
        "csex": sc if sex_ok else None,
    }
    for key, zk, fk, lo, hi in _OUT_SPEC:
        z = raw[key]
        if z != z:
            res[zk] = None
            res[fk] = None
        else:
            zr = round(z, 2)
            res[zk] = zr
            res[fk] = 1 if (zr < lo or zr > hi) else 0
    for key, rk in _RAW_SPEC:
        z = raw[key]
        res[rk] = z if z == z else None
    res["age_days_rounded"] = int(ar) if has_age else None
    res["error"] = None
    return res


_AGE_FIELD = {"len": "lenhei", "wei": "weight", "hc": "headc", "ac": "armc",
              "ts": "triskin", "ss": "subskin"}


def missing_reasons(sex, age_days, weight=None, lenhei=None, measure=None, headc=None,
                    armc=None, triskin=None, subskin=None, oedema=None) -> dict:
    """Why each z-score of one visit is missing: ``{"zlen": None | reason, ...}``.

    Reasons (first that applies): the row's ``error`` code; ``"sex_missing"``;
    ``"age_missing"`` (age-based only; zwfl does not need age, RULES.md s.4);
    ``"age_60_months_or_more"`` (unrounded age >= 60 months or rounded > 1856 days, s.3);
    ``"age_under_91_days"`` (zac/zts/zss); ``"oedema"`` (zwei/zbmi/zwfl);
    ``"<field>_missing"``; ``"<field>_not_positive"`` (age-based, s.3);
    ``"lenhei_out_of_range"`` (zwfl table range, s.4); ``"not_computable"`` otherwise
    (e.g. negative weight for zwfl).  Not used by the fast paths; for API messages.
    """
    r = zscores_one(sex, age_days, weight, lenhei, measure, headc, armc, triskin, subskin,
                    oedema)
    if r["error"] is not None:
        return {z: r["error"] for z in Z_COLUMNS}
    vals = {"weight": weight, "lenhei": lenhei, "headc": headc, "armc": armc,
            "triskin": triskin, "subskin": subskin}
    vals = {k: _to_float(v) for k, v in vals.items()}
    age = _to_float(age_days)
    ar = r["age_days_rounded"]
    oed = (0 if oedema is None else _classify(oedema, _codes.OEDEMA_CODES, 0)) == 1
    too_old = age == age and (ar is None or ar > 1856 or not age / DAYS_PER_MONTH < 60.0)
    out = {}
    for key in _IND:
        zk = "z" + key
        if r[zk] is not None:
            out[zk] = None
            continue
        if r["csex"] is None:
            why = "sex_missing"
        elif key == "wfl":
            clh = r["clenhei"]
            if oed:
                why = "oedema"
            elif vals["weight"] != vals["weight"]:
                why = "weight_missing"
            elif clh is None:
                why = "lenhei_missing"
            elif too_old:
                why = "age_60_months_or_more"
            else:
                tb = WFL if (ar is not None and ar < 731) else WFH
                if ar is None and r["cmeasure"] is None:
                    tb = WFL if clh < 87 else WFH
                elif ar is None:
                    tb = WFL if r["cmeasure"] == "l" else WFH
                why = ("lenhei_out_of_range" if not (tb.lo_cm <= clh <= tb.hi_cm)
                       else "not_computable")
        elif age != age:
            why = "age_missing"
        elif too_old:
            why = "age_60_months_or_more"
        elif key in ("ac", "ts", "ss") and ar < 91:
            why = "age_under_91_days"
        elif key in ("wei", "bmi") and oed:
            why = "oedema"
        elif key == "bmi":
            if vals["weight"] != vals["weight"]:
                why = "weight_missing"
            elif vals["lenhei"] != vals["lenhei"]:
                why = "lenhei_missing"
            elif vals["weight"] <= 0:
                why = "weight_not_positive"
            else:
                why = "not_computable"
        else:
            f = _AGE_FIELD[key]
            y = r["clenhei"] if key == "len" else vals[f]
            if y is None or y != y:
                why = f + "_missing"
            elif y <= 0:
                why = f + "_not_positive"
            else:
                why = "not_computable"
        out[zk] = why
    return out
