"""Prevalence estimates exactly as WHO anthro's ``anthro_prevalence`` computes them on its
simple path (no cluster, strata or weights): ``R/prevalence-simple.R``.

For a group with ``n`` non-missing values out of ``N`` rows in the whole data set (anthro's
``N`` is the row count after its age filter, not the group's):

- prevalence ``r = k / n``; ``se = sqrt(N/(N-1)) / n * sqrt(sum((x - r)^2)) = sqrt(N/(N-1) * r(1-r)/n)``;
- 95% CI in logit form, ``plogis(logit(r) ± t * sqrt(N/(N-1) / (n r (1-r))))`` with
  ``t = qt(0.975, N - 1)``; r = 0 gives [0, 0] and r = 1 gives [1, 1];
- mean z: ``mean ± t * se`` with ``se = sqrt(N/(N-1)) / n * sqrt(sum((x - mean)^2))`` and the
  sample SD ``sd(x)``.

Rates, standard errors and limits are returned in percent, as anthro does. Everything works on
numpy arrays (one element per group) so a report computes all its rows at once.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def t_quantile(N) -> np.ndarray:
    """anthro's ``qt(0.975, N - 1)`` (NaN when N < 2)."""
    N = np.asarray(N, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(N >= 2, stats.t.ppf(0.975, np.maximum(N - 1, 1)), np.nan)


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
    N = np.asarray(N, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        centred = np.maximum(total_sq - total * mean, 0.0)      # sum((x - mean)^2)
        se = np.sqrt(N / (N - 1)) / n * np.sqrt(centred)
        t = t_quantile(N)
        sd = np.where(n > 1, np.sqrt(centred / (n - 1)), np.nan)
    return {"mean": mean, "se": se, "ll": mean - t * se, "ul": mean + t * se, "sd": sd}
