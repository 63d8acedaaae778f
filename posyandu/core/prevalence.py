"""Prevalence estimates exactly as WHO anthro's ``anthro_prevalence`` computes them on its
simple path (no cluster, strata or weights): ``R/prevalence.R`` and ``R/prevalence-simple.R``
(rules: /work/shared/who-growth-standards/RULES.md s.6).

For a group with ``n`` non-missing values out of ``N`` rows in the whole data set (anthro's
``N`` is the row count after its age filter, not the group's):

- prevalence ``r = k / n``; ``se = sqrt(N/(N-1)) / n * sqrt(sum((x - r)^2)) = sqrt(N/(N-1) * r(1-r)/n)``;
- 95% CI in logit form, ``plogis(logit(r) ± t * sqrt(N/(N-1) / (n r (1-r))))`` with
  ``t = qt(0.975, N - 1)``; r = 0 gives [0, 0] and r = 1 gives [1, 1];
- mean z: ``mean ± t * se`` with ``se = sqrt(N/(N-1)) / n * sqrt(sum((x - mean)^2))`` and the
  sample SD ``sd(x)``.

Rates, standard errors and limits are returned in percent, as anthro does. ``proportion`` and
``mean_z`` work on numpy arrays of per-group aggregates (one element per group: what a SQL
``GROUP BY`` gives) so a report computes all its rows at once.

The whole of ``anthro_prevalence`` (z-scores, exclusions, oedema, cut-offs, groups and labels)
is :func:`anthro_prevalence`, built on :class:`PrevalenceAccumulator`, which takes the rows in
chunks of any size and keeps only integer counts and sums per group, so a file of any length is
summarised in bounded memory and the result does not depend on how it was chunked.

Why integer sums and not a running (n, mean, M2): anthro's z-scores are rounded to 2 decimals,
so ``sum(k)`` and ``sum(k^2)`` of the hundredths ``k = 100 z`` are exact integers and give the
SD with no rounding at all; the mean is the exact mean of the stored doubles (each one a whole
multiple of 2^-59, summed exactly as integers), which is what R's long-double ``mean`` gets to
within its last bit, even when the z-scores of a group cancel out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy.special import stdtrit  # what scipy.stats.t.ppf calls, without scipy.stats' import


def t_quantile(N) -> np.ndarray:
    """anthro's ``qt(0.975, N - 1)`` (NaN when N < 2)."""
    N = np.asarray(N, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(N >= 2, stdtrit(np.maximum(N - 1, 1), 0.975), np.nan)


def proportion(k, n, N) -> dict[str, np.ndarray]:
    """Prevalence of ``k`` cases among ``n`` valid values, ``N`` rows in the whole data set.

    Returns ``r``, ``se``, ``ll``, ``ul`` in percent (NaN where ``n`` is 0).
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    N = np.asarray(N, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = N / (N - 1)
        r = np.where(n > 0, k / n, np.nan)
        sum_sq = k * (1 - r) ** 2 + (n - k) * r ** 2   # sum((x - mean(x))^2) for 0/1 values
        se = np.sqrt(factor) / n * np.sqrt(sum_sq)
        t = t_quantile(N)
        half = t * np.sqrt(factor / (n * r * (1 - r)))
        logit = np.log(r / (1 - r))
        ll = 1 / (1 + np.exp(-(logit - half)))
        ul = 1 / (1 + np.exp(-(logit + half)))
        ll = np.where(r == 0, 0.0, np.where(r == 1, 1.0, ll))
        ul = np.where(r == 0, 0.0, np.where(r == 1, 1.0, ul))
    return {"r": r * 100, "se": se * 100, "ll": ll * 100, "ul": ul * 100}


def mean_z(n, total, total_sq, N) -> dict[str, np.ndarray]:
    """Mean z-score with anthro's CI from per-group aggregates: ``n`` values, their ``total``
    and ``total_sq`` (sum of squares), ``N`` rows in the whole data set (what a SQL ``GROUP BY``
    gives). Returns ``mean``, ``se``, ``ll``, ``ul`` and ``sd`` (NaN where undefined)."""
    n = np.asarray(n, dtype=float)
    total = np.asarray(total, dtype=float)
    total_sq = np.asarray(total_sq, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        centred = np.maximum(total_sq - total * mean, 0.0)      # sum((x - mean)^2)
    return mean_z_from_moments(n, mean, centred, N)


def mean_z_from_moments(n, mean, centred, N) -> dict[str, np.ndarray]:
    """:func:`mean_z` from ``n``, the ``mean`` and ``centred`` = sum((x - mean)^2) per group."""
    n = np.asarray(n, dtype=float)
    mean = np.asarray(mean, dtype=float)
    centred = np.asarray(centred, dtype=float)
    N = np.asarray(N, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, mean, np.nan)
        se = np.sqrt(N / (N - 1)) / n * np.sqrt(centred)
        t = t_quantile(N)
        sd = np.where(n > 1, np.sqrt(centred / (n - 1)), np.nan)
    return {"mean": mean, "se": se, "ll": mean - t * se, "ul": mean + t * se, "sd": sd}


# =========================================================================== anthro_prevalence
#: (anthro's prefix, z column, flag column, oedema gives the auxiliary value -3.1?)
INDICATORS = (("HA", "zlen", "flen", False), ("WA", "zwei", "fwei", True),
              ("BMI", "zbmi", "fbmi", True), ("WH", "zwfl", "fwfl", True))
#: cut-off suffixes in anthro's column order: z < -3, < -2, < -1, > 1, > 2, > 3 (strict)
CUTOFF_SUFFIXES = ("_3", "_2", "_1", "1", "2", "3")
OEDEMA_AUX_Z = -3.1
AGE_LIMIT_DAYS = 1826  # rows whose rounded age is above this are dropped (RULES.md s.6)
DAYS_PER_MONTH = 30.4375
AGE_BREAKS = np.array([0.0, 6.0, 12.0, 24.0, 36.0, 48.0, 60.0])
AGE_GROUPS = ("00-05 mo", "06-11 mo", "12-23 mo", "24-35 mo", "36-47 mo", "48-59 mo")
SEX_LEVELS = ("Female", "Male")
WEALTH_LEVELS = ("Q1: Poorest", "Q2", "Q3", "Q4", "Q5: Richest")
#: optional grouping arguments of anthro_prevalence and their stratum labels, in anthro's order
OPTIONAL_STRATA = (("typeres", "Area"), ("gregion", "Geographical region"),
                   ("wealthq", "Wealth quintile"), ("mothered", "Maternal education"),
                   ("othergr", "Other grouping"))
_STAT = ("r", "se", "ll", "ul")


def _column_names() -> tuple[str, ...]:
    cols = ["Group"]
    for name, *_ in INDICATORS:
        cols += [name + "Z_pop", name + "Z_unwpop"]
        for suffix in CUTOFF_SUFFIXES:
            cols += [f"{name}{suffix}_{s}" for s in _STAT]
        cols += [f"{name}_{s}" for s in _STAT + ("stdev",)]
    cols += ["HA_2_WH_2_pop", "HA_2_WH_2_unwpop"]
    cols += [f"HA_2_WH_2_{s}" for s in _STAT] + [f"HA_2_WH2_{s}" for s in _STAT]
    return tuple(cols)


#: anthro's output columns, in anthro's order (135 with ``Group``)
COLUMNS = _column_names()
#: the sample-size columns (whole numbers); every other column but Group is a float
COUNT_COLUMNS = frozenset(c for c in COLUMNS if c.endswith(("_pop", "_unwpop")))

# Per group we keep one int64 row of sums. Per indicator (13 slots): 8 counts of the
# prevalence value by band (0 missing; 1: z < -3; 2: -3 <= z < -2; 3: -2 <= z < -1;
# 4: -1 <= z <= 1; 5: 1 < z <= 2; 6: 2 < z <= 3; 7: z > 3), then for the summary z (flagged
# and oedema left out): count, sum of hundredths, sum of squared hundredths, and the sum of the
# doubles in units of 2^-59 split in a high and a low part. Then 4 combined bands: missing,
# stunted & wasted, stunted & overweight, other.
_BANDS = 8
_IND_SLOTS = _BANDS + 5
_COMB = len(INDICATORS) * _IND_SLOTS
_WIDTH = _COMB + 4
_D_SCALE = 2.0 ** 59  # every rounded z in (-1e3, 1e3) is a whole multiple of 2^-59
_LO_BITS = 31
_SUB_CHUNK = 1 << 21  # rows per bincount: keeps float64 bincount sums exact (< 2^53)


def _r_label(v) -> str | None:
    """A grouping value as R's ``as.character`` gives it; ``None`` for NA (None, NaN, "",
    "NA")."""
    if v is None:
        return None
    if isinstance(v, (str, np.str_)):
        s = str(v)
        return None if s.strip() in ("", "NA") else s
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return None
    if math.isinf(f):
        return "Inf" if f > 0 else "-Inf"
    return "%.15g" % f


def _wealth_level(v) -> int:
    """anthro's wealth quintile: 1-5 or Q1-Q5 -> level 0-4; anything else -> -1 (NA)."""
    label = _r_label(v)
    if label is None:
        return -1
    if label in ("1", "2", "3", "4", "5"):
        return int(label) - 1
    if label in ("Q1", "Q2", "Q3", "Q4", "Q5"):
        return int(label[1]) - 1
    return -1


@dataclass
class _Stratum:
    """One stratum: its level labels (in anthro's order) and one row of sums per level."""

    key: str
    label: str
    levels: list[str]
    na_level: int = -1  # index of the NA level of a character grouping (anthro keeps it)
    has_value: bool = False  # seen a non-NA value: a stratum that is entirely NA is left out
    sums: np.ndarray = field(default_factory=lambda: np.zeros((0, _WIDTH), np.int64))
    index: dict = field(default_factory=dict)  # label -> level (character groupings)

    def grow(self) -> None:
        if self.sums.shape[0] < len(self.levels):
            extra = np.zeros((len(self.levels) - self.sums.shape[0], _WIDTH), np.int64)
            self.sums = np.vstack([self.sums, extra])


class PrevalenceAccumulator:
    """anthro's ``anthro_prevalence`` (simple path) fed in chunks; see :func:`anthro_prevalence`.

    ``strata`` names the optional groupings that will be given (``typeres``, ``gregion``,
    ``wealthq``, ``mothered``, ``othergr``). Feed rows with :meth:`add` (raw inputs) or
    :meth:`add_zscores` (output of ``compute_zscores``), combine accumulators of consecutive
    parts of the data with :meth:`merge`, and read the table with :meth:`rows`.
    """

    def __init__(self, strata: Iterable[str] = ()):
        wanted = set(strata)
        unknown = wanted - {k for k, _ in OPTIONAL_STRATA}
        if unknown:
            raise ValueError(f"unknown grouping(s): {', '.join(sorted(unknown))}")
        self.N = 0  # rows after the age filter (anthro's N)
        self.excluded_age = 0  # rows dropped because their rounded age is above 1826 days
        self.excluded_invalid = 0  # rows anthro would refuse (negative age, bad codes, ...)
        self.strata: list[_Stratum] = [
            _Stratum("all", "All", ["All"]),
            _Stratum("age_group", "Age group", list(AGE_GROUPS)),
            _Stratum("sex", "Sex", list(SEX_LEVELS)),
            _Stratum("age_sex", "Age + sex",
                     [f"{a}.{s}" for s in SEX_LEVELS for a in AGE_GROUPS]),
        ]
        for key, label in OPTIONAL_STRATA:
            if key in wanted:
                levels = list(WEALTH_LEVELS) if key == "wealthq" else []
                self.strata.append(_Stratum(key, label, levels))
        for s in self.strata:
            s.grow()

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.strata[4:])

    # ----------------------------------------------------------------------- feeding
    def add(self, sex, age, weight=None, lenhei=None, measure=None, oedema=None, *,
            is_age_in_month: bool = False, **groups) -> None:
        """Raw inputs as for ``compute_zscores`` (age in days, or in months with
        ``is_age_in_month``), plus the optional groupings by name."""
        from posyandu.core.growth import codes
        from posyandu.core.growth.zscores import compute_zscores

        n = _length(sex, age, weight, lenhei, measure, oedema, *groups.values())
        age_in = _float_or_object(age, n)
        age_num = _as_float(age_in)  # NaN where missing or not a number
        if is_age_in_month:  # anthro: days = round_up(months * 30.4375); groups on the months
            months = age_num
            days = (age_in * DAYS_PER_MONTH if age_in.dtype.kind == "f" else
                    np.array([v * DAYS_PER_MONTH if isinstance(v, (int, float)) else v
                              for v in age_in.tolist()], dtype=object))
        else:
            months = age_num / DAYS_PER_MONTH
            days = age_in
        z = compute_zscores(sex=sex, age_days=days, weight=weight, lenhei=lenhei,
                            measure=measure, oedema=oedema)
        if oedema is None:
            oed = np.zeros(n, dtype=bool)
        else:
            oe = np.asarray(oedema)
            oe = np.broadcast_to(oe, (n,)) if oe.ndim == 0 else oe
            oed = codes.classify_array(oe, codes.OEDEMA_CODES, codes.OEDEMA_NA) == 1
        groups = {k: _broadcast(v, n) for k, v in groups.items() if v is not None}
        self.add_zscores(z, oedema=oed, age_months=months, groups=groups)

    def add_zscores(self, z: Mapping[str, np.ndarray], *, oedema, age_months,
                    groups: Mapping[str, Sequence] | None = None, keep=None) -> None:
        """Add rows already through ``compute_zscores``.

        ``z`` needs zlen/zwei/zbmi/zwfl, their flags, ``csex``, ``age_days_rounded`` and
        ``error``; ``oedema`` is a boolean array (standardised "y"); ``age_months`` the
        unrounded age in months (NaN if missing); ``groups`` the optional groupings (one
        value per row; None/NaN/""/"NA" is missing); ``keep`` an optional boolean mask of the
        rows to use (rows not kept are ignored entirely, as if absent).
        """
        groups = dict(groups or {})
        missing = set(self.optional) - set(groups)
        extra = set(groups) - set(self.optional)
        if missing or extra:
            raise ValueError(f"groupings given {sorted(groups)} but the accumulator was made "
                             f"for {sorted(self.optional)}")
        n = len(z["csex"])
        use = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool).copy()
        err = z.get("error")
        if err is not None:
            invalid = np.fromiter((e is not None for e in np.asarray(err, dtype=object)),
                                  bool, n)
            self.excluded_invalid += int((invalid & use).sum())
            use &= ~invalid
        ar = np.asarray(z["age_days_rounded"], dtype=float)
        too_old = use & (ar > AGE_LIMIT_DAYS)  # NaN (age missing) compares False: kept
        self.excluded_age += int(too_old.sum())
        use &= ~too_old
        idx = None if use.all() else np.flatnonzero(use)
        for start in range(0, n if idx is None else idx.size, _SUB_CHUNK):
            sel = (slice(start, min(n, start + _SUB_CHUNK)) if idx is None
                   else idx[start:start + _SUB_CHUNK])
            self._add_rows(z, np.asarray(oedema, dtype=bool), np.asarray(age_months, float),
                           groups, sel)

    def _add_rows(self, z, oedema, age_months, groups, sel) -> None:
        oed = oedema[sel]
        m = oed.shape[0]
        if m == 0:
            return
        self.N += m
        cols = []
        band_codes = []
        sums = []
        for name, zc, fc, aux in INDICATORS:
            zv = np.asarray(z[zc], dtype=float)[sel]
            flagged = np.asarray(z[fc], dtype=float)[sel] == 1.0
            zs = np.where(flagged, np.nan, zv)  # set_flagged_zscores_to_NA
            if aux:  # oedema: z NA, prevalence value -3.1 (create_zscore_auxiliary_columns)
                zs = np.where(oed, np.nan, zs)
                zp = np.where(oed, OEDEMA_AUX_Z, zs)
            else:
                zp = zs
            band_codes.append(_bands(zp))
            sums.append(_z_sums(zs))
            cols.append((zs, zp))
        zlen, wh_aux = cols[0][0], cols[3][1]
        with np.errstate(invalid="ignore"):
            stunted = zlen < -2.0
            comb = np.where(np.isnan(zlen) | np.isnan(wh_aux), 0,
                            np.where(stunted & (wh_aux < -2.0), 1,
                                     np.where(stunted & (wh_aux > 2.0), 2, 3)))

        # -- the cell of each row: age group x sex x the optional groupings
        months = age_months[sel]
        age = np.searchsorted(AGE_BREAKS, months, side="right") - 1  # cut(right = FALSE)
        age = np.where((age < 0) | (age > 5) | np.isnan(months), 6, age)
        csex = np.asarray(z["csex"], dtype=float)[sel]
        sex = np.where(csex == 2.0, 0, np.where(csex == 1.0, 1, 2))  # Female, Male, NA
        base = age * 3 + sex
        opt_codes = [self._level_codes(st, groups[st.key], sel) for st in self.strata[4:]]
        if opt_codes:  # cells = distinct combinations present in this chunk
            key = base.astype(np.int64)
            for st, c in zip(self.strata[4:], opt_codes):
                key = key * (len(st.levels) + 1) + (c + 1)
                _, first, key = np.unique(key, return_index=True, return_inverse=True)
                key = key.reshape(-1)
            ncell = first.shape[0]
            cell = key
            cell_age, cell_sex = age[first], sex[first]
            cell_opt = [c[first] for c in opt_codes]
        else:
            cell = base
            ncell = 21
            cell_age = np.repeat(np.arange(7), 3)
            cell_sex = np.tile(np.arange(3), 7)
            cell_opt = []

        # -- sums per cell
        cs = np.zeros((ncell, _WIDTH), dtype=np.int64)
        for j, (bands, zsum) in enumerate(zip(band_codes, sums)):
            o = j * _IND_SLOTS
            cs[:, o:o + _BANDS] = np.bincount(cell * _BANDS + bands,
                                              minlength=ncell * _BANDS).reshape(ncell, _BANDS)
            for q, w in enumerate(zsum):
                cs[:, o + _BANDS + q] = np.bincount(cell, weights=w, minlength=ncell)
        cs[:, _COMB:] = np.bincount(cell * 4 + comb, minlength=ncell * 4).reshape(ncell, 4)

        # -- cells -> levels of every stratum
        valid_age = cell_age < 6
        valid_sex = cell_sex < 2
        levels = [np.zeros(ncell, dtype=np.int64),
                  np.where(valid_age, cell_age, -1),
                  np.where(valid_sex, cell_sex, -1),
                  np.where(valid_age & valid_sex, cell_sex * 6 + cell_age, -1)]
        levels += cell_opt
        for s, lv in zip(self.strata, levels):
            # anthro's simple path selects a group with `grouping == group`: for the NA group
            # of a character grouping that selects only NAs, so its row stays empty (pop 0)
            ok = (lv >= 0) & (lv != s.na_level)
            if ok.any():
                s.has_value = True
                np.add.at(s.sums, lv[ok], cs[ok])

    def _level_codes(self, s: _Stratum, values, sel) -> np.ndarray:
        """Level index per row for an optional grouping (-1: in no level)."""
        vals = _as_list(values, sel)
        distinct = dict.fromkeys(vals)  # first appearance order (NaN objects: see _r_label)
        if s.key == "wealthq":  # a factor with fixed levels; other values are NA (left out)
            lookup = {v: _wealth_level(v) for v in distinct}
        else:  # character grouping: levels in order of first appearance, NA is a level
            lookup = {}
            for v in distinct:
                label = _r_label(v)
                text = "NA" if label is None else label
                level = s.index.get(text)
                if level is None:
                    level = len(s.levels)
                    s.levels.append(text)
                    s.index[text] = level
                    if label is None:
                        s.na_level = level
                lookup[v] = level
            s.grow()
        return np.fromiter(map(lookup.__getitem__, vals), np.int64, len(vals))

    # ----------------------------------------------------------------------- combining
    def merge(self, other: "PrevalenceAccumulator") -> "PrevalenceAccumulator":
        """Add ``other`` (the rows that come after this accumulator's) into this one."""
        if self.optional != other.optional:
            raise ValueError("accumulators with different groupings")
        self.N += other.N
        self.excluded_age += other.excluded_age
        self.excluded_invalid += other.excluded_invalid
        for s, o in zip(self.strata, other.strata):
            s.has_value |= o.has_value
            if s.key in ("all", "age_group", "sex", "age_sex", "wealthq"):
                s.sums += o.sums
                continue
            target = []
            for i, text in enumerate(o.levels):
                level = s.index.get(text)
                if level is None:
                    level = len(s.levels)
                    s.levels.append(text)
                    s.index[text] = level
                    if i == o.na_level:
                        s.na_level = level
                target.append(level)
            s.grow()
            if target:
                np.add.at(s.sums, np.array(target, dtype=np.int64), o.sums[:len(target)])
        return self

    # ----------------------------------------------------------------------- result
    def rows(self) -> list[dict]:
        """One dict per group, keys :data:`COLUMNS`: ``Group`` text, counts as int, the rest
        float (NaN where anthro gives NA). Raises ``ValueError`` when no row is left (anthro
        stops: "all values have been removed from the analysis")."""
        included = [s for s in self.strata
                    if (s.key == "all" and self.N > 0) or (s.key != "all" and s.has_value)]
        if not included:
            raise ValueError("no rows left for the prevalence (anthro stops here): every row "
                             "is older than 1826 days or could not be used")
        labels = []
        blocks = []
        for s in included:
            for text in s.levels:
                labels.append("All" if s.key == "all" else f"{s.label}: {text}")
            blocks.append(s.sums[:len(s.levels)])
        sums = np.vstack(blocks)
        table = _finalize(sums, self.N)
        out = []
        for i, label in enumerate(labels):
            row = {"Group": label}
            for c in COLUMNS[1:]:
                v = table[c][i]
                row[c] = int(v) if c in COUNT_COLUMNS else float(v)
            out.append(row)
        return out


def anthro_prevalence(sex, age, weight=None, lenhei=None, measure=None, oedema=None, *,
                      is_age_in_month: bool = False, typeres=None, gregion=None, wealthq=None,
                      mothered=None, othergr=None) -> list[dict]:
    """``anthro::anthro_prevalence(sex, age, is_age_in_month, weight, lenhei, measure, oedema,
    typeres = , gregion = , wealthq = , mothered = , othergr = )`` on anthro's simple path (no
    cluster, strata or sampling weights), as one dict per group row (see
    :meth:`PrevalenceAccumulator.rows`).

    Inputs as for ``compute_zscores``: equal-length arrays or scalars, ``None`` = all missing.
    Every rule of RULES.md s.6: rows whose rounded age is above 1826 days are dropped and N is
    counted after that; rows with a missing age stay (All, Sex and weight-for-height); flagged
    z-scores are missing; oedema makes WA/BMI/WH missing for the mean and SD but counts as
    -3.1 for the prevalence and the sample size; cut-offs are strict on the rounded z; the
    combined stunting-and-wasting and stunting-and-overweight rows; groups and labels as anthro
    (a grouping with missing values gets an "NA" group, as anthro's simple path gives it).

    Where we differ: a row anthro would refuse (a negative age, an unknown code, a non-number)
    makes anthro stop the whole call; here the row is left out (see ``excluded_invalid`` of
    :class:`PrevalenceAccumulator`) and the rest is computed.
    """
    given = {k: v for k, v in (("typeres", typeres), ("gregion", gregion),
                               ("wealthq", wealthq), ("mothered", mothered),
                               ("othergr", othergr)) if v is not None}
    acc = PrevalenceAccumulator(strata=given)
    acc.add(sex, age, weight, lenhei, measure, oedema, is_age_in_month=is_age_in_month,
            **given)
    return acc.rows()


# --------------------------------------------------------------------------- helpers
def _bands(zp: np.ndarray) -> np.ndarray:
    """Band 0-7 of each prevalence value (0 = missing); strict cut-offs on the rounded z."""
    with np.errstate(invalid="ignore"):
        b = (1 + (zp >= -3.0).astype(np.int64) + (zp >= -2.0) + (zp >= -1.0) + (zp > 1.0)
             + (zp > 2.0) + (zp > 3.0))
    b[np.isnan(zp)] = 0
    return b


def _z_sums(zs: np.ndarray) -> list[np.ndarray]:
    """Per-row weights: present, hundredths, squared hundredths, 2^-59 units (high, low)."""
    ok = ~np.isnan(zs)
    v = np.where(ok, zs, 0.0)
    k = np.rint(v * 100.0)
    if not np.array_equal(k / 100.0, v):
        raise ValueError("z-scores must be rounded to 2 decimals, as anthro_zscores gives them")
    d = (v * _D_SCALE).astype(np.int64)  # exact: a rounded z is a multiple of 2^-59
    hi = d >> _LO_BITS
    lo = d & ((1 << _LO_BITS) - 1)
    return [ok.astype(np.float64), k, k * k, hi.astype(np.float64), lo.astype(np.float64)]


def _finalize(sums: np.ndarray, N: int) -> dict[str, np.ndarray]:
    """The anthro columns from the per-group sums (one row of ``sums`` per group)."""
    out: dict[str, np.ndarray] = {}
    g = sums.shape[0]
    Narr = np.full(g, float(N))
    for j, (name, *_rest) in enumerate(INDICATORS):
        o = j * _IND_SLOTS
        bands = sums[:, o:o + _BANDS]
        pop = bands[:, 1:].sum(axis=1)
        out[name + "Z_pop"] = pop
        out[name + "Z_unwpop"] = pop
        below = np.cumsum(bands[:, 1:4], axis=1)  # < -3, < -2, < -1
        above = np.cumsum(bands[:, 7:4:-1], axis=1)  # > 3, > 2, > 1
        counts = {"_3": below[:, 0], "_2": below[:, 1], "_1": below[:, 2],
                  "1": above[:, 2], "2": above[:, 1], "3": above[:, 0]}
        for suffix in CUTOFF_SUFFIXES:
            p = proportion(counts[suffix], pop, Narr)
            for s in _STAT:
                out[f"{name}{suffix}_{s}"] = p[s]
        n_z, sk, sk2, dhi, dlo = (sums[:, o + _BANDS + q] for q in range(5))
        mean = np.full(g, np.nan)
        centred = np.full(g, np.nan)
        for i in range(g):
            n = int(n_z[i])
            if n == 0:
                continue
            d_total = (int(dhi[i]) << _LO_BITS) + int(dlo[i])
            mean[i] = d_total / (n << 59)  # exact integers: correctly rounded
            centred[i] = (n * int(sk2[i]) - int(sk[i]) ** 2) / (n * 10000)
        mz = mean_z_from_moments(n_z, mean, centred, Narr)
        out[name + "_r"] = mz["mean"]
        out[name + "_se"] = mz["se"]
        out[name + "_ll"] = mz["ll"]
        out[name + "_ul"] = mz["ul"]
        out[name + "_stdev"] = mz["sd"]
    comb = sums[:, _COMB:]
    pop = comb[:, 1:].sum(axis=1)
    out["HA_2_WH_2_pop"] = pop
    out["HA_2_WH_2_unwpop"] = pop
    for prefix, k in (("HA_2_WH_2", comb[:, 1]), ("HA_2_WH2", comb[:, 2])):
        p = proportion(k, pop, Narr)
        for s in _STAT:
            out[f"{prefix}_{s}"] = p[s]
    return out


def _length(*args) -> int:
    n = 1
    for x in args:
        if x is None or isinstance(x, (str, bytes)) or np.ndim(x) == 0:
            continue
        m = len(x)
        if n != 1 and m != 1 and m != n:
            raise ValueError(f"inputs have different lengths ({n} and {m})")
        n = max(n, m) if n == 1 else n
    return n


def _broadcast(v, n: int):
    if isinstance(v, (str, bytes)) or np.ndim(v) == 0:
        return [v] * n
    if len(v) == 1 and n != 1:
        return list(v) * n
    return v


def _float_or_object(x, n: int) -> np.ndarray:
    if x is None:
        return np.full(n, np.nan)
    a = np.asarray(x)
    if a.ndim == 0:
        a = np.broadcast_to(a, (n,))
    if a.dtype.kind in "iub":
        return a.astype(np.float64)
    return a


def _as_float(a: np.ndarray) -> np.ndarray:
    """Ages as floats for the age groups (anything that is not a number is missing)."""
    if a.dtype.kind == "f":
        return a
    out = np.full(a.shape[0], np.nan)
    for i, v in enumerate(a.tolist()):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[i] = float(v)
    return out


def _as_list(values, sel) -> list:
    """The selected rows of a grouping column as a list of Python objects."""
    if isinstance(values, np.ndarray):
        return values[sel].tolist()
    if isinstance(sel, slice):
        return list(values[sel])
    return [values[i] for i in sel.tolist()]
