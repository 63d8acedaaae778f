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


def gaussian_kde(x, grid, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian kernel density of sample ``x`` at the points ``grid`` (exact sums, no binning)."""
    x = np.asarray(x, dtype=float)
    grid = np.asarray(grid, dtype=float)
    bw = bandwidth_nrd0(x) if bandwidth is None else float(bandwidth)
    out = np.zeros(grid.shape, dtype=float)
    for start in range(0, x.size, _BLOCK):
        block = x[start:start + _BLOCK]
        out += normal_pdf((grid[:, None] - block[None, :]) / bw).sum(axis=1)
    return out / (x.size * bw)


def summary(x) -> dict:
    """n, mean and SD (n - 1 denominator, as R's ``sd``) of a sample; NaN where undefined."""
    x = np.asarray(x, dtype=float)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    sd = float(np.std(x, ddof=1)) if n > 1 else math.nan
    return {"n": n, "mean": mean, "sd": sd}
