"""Input standardisation for sex, measure, oedema and the numeric fields (RULES.md s.1).

anthro accepts ``sex`` in ``1 2 "1" "2" m f M F NA``, ``measure`` in ``l h L H NA`` and
``oedema`` in ``n y N Y "2" "1" NA``, then applies ``tolower(trimws(.))``.  Differences here,
all deliberate and documented in ``zscores.compute_zscores``:

* anthro checks the codes *before* trimming and stops the whole call on any unknown code;
  we trim and lower-case first (so ``" M "`` is male) and give an unknown code only that row's
  error (``"invalid_sex"``, ``"invalid_measure"``, ``"invalid_oedema"``).
* ``None``, NaN and the empty/blank string mean NA for all three codes.
* Already-standardised numbers are accepted: sex 1/2, measure 1 (= "l") / 2 (= "h"),
  oedema 1 (= yes) / 2 or 0 (= no).  Booleans behave as the numbers 1/0 everywhere
  (so ``True``/``False`` work for oedema; ``False`` is an invalid sex or measure).
* Numeric fields accept real numbers and ``None``/NaN (NA); anything else (e.g. a string) is
  that row's ``"invalid_<field>"`` error.

Internal codes: sex 1.0/2.0/NaN, measure 0 (NA) / 1 ("l") / 2 ("h"), oedema True/False.
"""

from __future__ import annotations

import math

import numpy as np

BAD = -1  # marker for an invalid code
_MISS = 127  # internal: not found by the fast dict lookup

SEX_CODES = {1: 1, 2: 2, "1": 1, "2": 2, "m": 1, "f": 2, "M": 1, "F": 2}
MEASURE_CODES = {"l": 1, "h": 2, "L": 1, "H": 2, 1: 1, 2: 2}
OEDEMA_CODES = {"y": 1, "Y": 1, "1": 1, 1: 1, True: 1, "n": 0, "N": 0, "2": 0, 2: 0, 0: 0}
# (True hashes equal to 1 and False to 0, so booleans are covered by the numeric keys.)

# value returned for NA by each code family
SEX_NA = 0
MEASURE_NA = 0
OEDEMA_NA = 0  # NA oedema means "no" (standardize_oedema_var)


def _is_na(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and v != v:
        return True
    if isinstance(v, np.floating) and np.isnan(v):
        return True
    return False


def classify(v, table: dict, na_value: int) -> int:
    """Standardise one raw code: table value, ``na_value`` for NA, or ``BAD``."""
    try:
        hit = table.get(v)
    except TypeError:  # unhashable
        return BAD
    if hit is not None:
        return hit
    if _is_na(v):
        return na_value
    if isinstance(v, (str, np.str_)):
        t = v.strip().lower()
        if t == "":
            return na_value
        hit = table.get(t)
        return BAD if hit is None else hit
    if isinstance(v, (bytes, np.bytes_)):
        return classify(v.decode("utf-8", "replace"), table, na_value)
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        f = float(v)
        if f.is_integer():
            hit = table.get(int(f))
            return BAD if hit is None else hit
    return BAD


def classify_array(a: np.ndarray, table: dict, na_value: int) -> np.ndarray:
    """Vectorised :func:`classify`; returns an int8 array of codes (``BAD`` for invalid)."""
    n = a.shape[0]
    kind = a.dtype.kind
    if kind in "fiub":
        f = a.astype(np.float64, copy=False)
        out = np.full(n, BAD, dtype=np.int8)
        out[np.isnan(f)] = na_value
        for key, val in table.items():
            if isinstance(key, int) and not isinstance(key, bool):
                out[f == key] = val
        return out
    if kind in "US":
        # few distinct values: classify each distinct string once
        uniq, inv = np.unique(a, return_inverse=True)
        codes = np.array([classify(u, table, na_value) for u in uniq.tolist()], dtype=np.int8)
        return codes[inv.reshape(-1)]
    # object arrays: one dict lookup per element, the slow path only for misses
    lst = a.tolist()
    get = table.get
    try:
        res = [get(v, _MISS) for v in lst]
    except TypeError:  # an unhashable element somewhere
        return np.array([classify(v, table, na_value) for v in lst], dtype=np.int8)
    out = np.array(res, dtype=np.int8)
    for i in np.flatnonzero(out == _MISS).tolist():
        out[i] = classify(lst[i], table, na_value)
    return out


def to_float(v) -> float:
    """One numeric input as a float: NaN for NA; raises ``ValueError`` if not a number."""
    if v is None:
        return math.nan
    if type(v) is float:
        return v
    if isinstance(v, (str, bytes, np.str_, np.bytes_, bool, np.bool_, complex)):
        raise ValueError(v)
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(v) from None


def to_float_array(a: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A numeric column as float64 plus a mask of invalid elements (``None`` if none)."""
    if a.dtype.kind in "fiu":
        return a.astype(np.float64, copy=False), None
    n = a.shape[0]
    out = np.empty(n, dtype=np.float64)
    bad = np.zeros(n, dtype=bool)
    for i, v in enumerate(a.tolist()):
        try:
            out[i] = to_float(v)
        except ValueError:
            out[i] = math.nan
            bad[i] = True
    return out, (bad if bad.any() else None)
