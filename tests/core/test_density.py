"""Density estimate of the z-score charts: R's bw.nrd0 and a Gaussian kernel, by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from posyandu.core import density


def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def test_bandwidth_nrd0_by_hand():
    # 1..5: sd 1.5811, IQR 2 -> 2 / 1.34 = 1.4925 is smaller; 0.9 * 1.4925 * 5^-0.2 = 0.97358
    assert density.bandwidth_nrd0([1, 2, 3, 4, 5]) == pytest.approx(0.9735846, abs=1e-6)
    # -2, -1, 0.5: sd 1.2583; quartiles (type 7) -1.5 and -0.25 -> IQR / 1.34 = 0.93284
    assert density.bandwidth_nrd0([-2, -1, 0.5]) == pytest.approx(0.9 * 1.25 / 1.34 * 3 ** -0.2, rel=1e-12)
    # no spread in the IQR: falls back to the sd; none at all: to |x1|, then 1
    # 0,0,0,0,4: quartiles 0 and 0 -> IQR 0; sd = sqrt(12.8 / 4) = 1.78885
    assert density.bandwidth_nrd0([0, 0, 0, 0, 4]) == pytest.approx(0.9 * math.sqrt(3.2) * 5 ** -0.2)
    assert density.bandwidth_nrd0([3, 3]) == pytest.approx(0.9 * 3 * 2 ** -0.2)
    with pytest.raises(ValueError):
        density.bandwidth_nrd0([1.0])


def test_kde_by_hand():
    # two points at -1 and 1, bandwidth 0.5: f(0) = (phi(2) + phi(2)) / (2 * 0.5)
    assert density.gaussian_kde([-1, 1], [0.0], 0.5)[0] == pytest.approx(2 * phi(2), rel=1e-12)
    # default bandwidth: -2, -1, 0.5 at -1 (0.27952 worked out with bw 0.67394)
    assert density.gaussian_kde([-2, -1, 0.5], [-1.0])[0] == pytest.approx(0.2795192, abs=1e-6)


def test_kde_integrates_to_one_and_blocks_do_not_matter():
    rng = np.random.default_rng(7)
    x = rng.normal(-1.2, 1.1, 10_000)  # more than one evaluation block
    grid = np.linspace(-10, 8, 3601)
    f = density.gaussian_kde(x, grid, exact_max=len(x))
    assert np.trapezoid(f, grid) == pytest.approx(1.0, abs=1e-4)
    bw = density.bandwidth_nrd0(x)
    direct = np.exp(-0.5 * ((grid[1800] - x) / bw) ** 2).sum() / (math.sqrt(2 * math.pi) * x.size * bw)
    assert f[1800] == pytest.approx(direct, rel=1e-12)


def test_binned_kde_is_the_exact_one_to_the_pixel():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(-1.1, 1.15, 30_000), rng.uniform(-5.9, 5.9, 200)])
    grid = np.linspace(-6, 6, 481)
    exact = density.gaussian_kde(x, grid, exact_max=len(x))
    binned = density.gaussian_kde(x, grid)  # > EXACT_MAX: binned
    assert np.max(np.abs(binned - exact)) < 1e-4 * exact.max()  # < 0.01 % of the peak: invisible


def test_linear_binning_by_hand():
    # centres -1, 0, 1 (3 bins over [-1, 1]); 0.25 goes 3/4 to 0 and 1/4 to 1
    centres, weights = density.linear_binning([-1.0, 0.25, 1.0], bins=3)
    assert centres.tolist() == [-1.0, 0.0, 1.0]
    assert weights.tolist() == pytest.approx([1.0, 0.75, 1.25])
    assert density.linear_binning([2.0, 2.0])[1].tolist() == [2.0]


def test_summary():
    s = density.summary([-2, -1, 0.5])
    assert s["n"] == 3 and s["mean"] == pytest.approx(-2.5 / 3)
    assert s["sd"] == pytest.approx(math.sqrt(((-2 + 2.5 / 3) ** 2 + (-1 + 2.5 / 3) ** 2 + (0.5 + 2.5 / 3) ** 2) / 2))
    assert density.summary([])["n"] == 0 and math.isnan(density.summary([1.0])["sd"])


def test_normal_pdf():
    assert density.normal_pdf(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
