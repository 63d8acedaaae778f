"""Density of a z-score sample, as WHO's Anthro Survey Analyser draws it against N(0, 1).

The Survey Analyser (an R/Shiny application) draws the sample's z-scores as a kernel density
estimate over the standard normal curve. R's default density estimate (``density()``, and
``ggplot2::geom_density``) is a Gaussian kernel with Silverman's rule-of-thumb bandwidth
``bw.nrd0``; this module computes that:

    bw  = 0.9 * min(sd, IQR / 1.34) * n^(-1/5)     (sd, then IQR/1.34, then |x1|, then 1 when 0)
    f(x) = 1 / (n * bw) * sum_i phi((x - x_i) / bw)

Written with numpy because it is five lines and ``scipy.stats`` (which has ``gaussian_kde``,
with Scott's bandwidth) takes ~2 s to import in every worker. Pure: no Flask, no SQLAlchemy.
"""
from __future__ import annotations

import math

import numpy as np

_SQRT_2PI = math.sqrt(2.0 * math.pi)
#: Sample points per block when evaluating, to bound memory (grid x block doubles).
_BLOCK = 4096


def bandwidth_nrd0(x) -> float:
    """R's ``bw.nrd0(x)`` (needs at least two values)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        raise ValueError("need at least 2 data points")
    sd = float(np.std(x, ddof=1))
    q75, q25 = np.quantile(x, [0.75, 0.25])  # R's quantile type 7 = numpy's default 'linear'
    lo = min(sd, float(q75 - q25) / 1.34)
    if not lo > 0:
        lo = sd or abs(float(x[0])) or 1.0
    return 0.9 * lo * x.size ** -0.2


def normal_pdf(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x * x) / _SQRT_2PI


#: Samples larger than this are linearly binned first (as R's ``density()`` always does, on 512
#: points); a kabupaten's month (tens of thousands of children) then costs a few ms, not seconds.
EXACT_MAX = 5000
BINS = 1024


def linear_binning(x, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """Equally spaced bin centres over [min x, max x] and weights: each value split between its
    two neighbouring centres in proportion to its distance (weights sum to n)."""
    x = np.asarray(x, dtype=float)
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.array([lo]), np.array([float(x.size)])
    centres = np.linspace(lo, hi, bins)
    position = (x - lo) / (centres[1] - centres[0])
    index = np.minimum(np.floor(position).astype(np.int64), bins - 2)
    frac = position - index
    weights = np.bincount(index, 1.0 - frac, bins) + np.bincount(index + 1, frac, bins)
    return centres, weights


def gaussian_kde(x, grid, bandwidth: float | None = None, exact_max: int = EXACT_MAX) -> np.ndarray:
    """Gaussian kernel density of sample ``x`` at the points ``grid``: exact sums up to
    ``exact_max`` values, linearly binned on :data:`BINS` points above (the binning moves each
    value by at most half a bin, range / 1023 / 2, far below the bandwidth)."""
    x = np.asarray(x, dtype=float)
    grid = np.asarray(grid, dtype=float)
    bw = bandwidth_nrd0(x) if bandwidth is None else float(bandwidth)
    if x.size > exact_max:
        centres, weights = linear_binning(x)
    else:
        centres, weights = x, None
    out = np.zeros(grid.shape, dtype=float)
    for start in range(0, centres.size, _BLOCK):
        block = centres[start:start + _BLOCK]
        k = normal_pdf((grid[:, None] - block[None, :]) / bw)
        out += k.sum(axis=1) if weights is None else k @ weights[start:start + _BLOCK]
    return out / (x.size * bw)


def summary(x) -> dict:
    """n, mean and SD (n - 1 denominator, as R's ``sd``) of a sample; NaN where undefined."""
    x = np.asarray(x, dtype=float)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    sd = float(np.std(x, ddof=1)) if n > 1 else math.nan
    return {"n": n, "mean": mean, "sd": sd}
