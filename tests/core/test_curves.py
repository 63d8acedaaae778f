"""Chart curves against the LMS table rows (typed in from the CSV files) and hand formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest

from posyandu.core.growth import curves

# (sex, day): (L, M, S) copied from posyandu/core/growth/data/weight_for_age.csv
WFA_ROWS = {(1, 183): (0.1256, 7.9389, 0.10957), (1, 365): (0.0645, 9.646, 0.10925),
            (1, 1000): (-0.0558, 13.8057, 0.11945), (2, 61): (0.0959, 5.1315, 0.12998),
            (2, 700): (-0.2903, 11.2684, 0.12369)}
# from length_height_for_age.csv (L = 1; day 1000 is standing height)
LHFA_ROWS = {(1, 365): (1, 75.7391, 0.03137), (1, 1000): (1, 93.9706, 0.03783), (2, 700): (1, 85.5184, 0.03711)}


def by_hand(l, m, s, z):
    return m * (1 + l * s * z) ** (1 / l)


@pytest.mark.parametrize("sex,day", sorted(WFA_ROWS))
def test_weight_for_age_lines_are_the_lms_values(sex, day):
    l, m, s = WFA_ROWS[(sex, day)]
    c = curves.age_curves("wfa", sex, day, day)
    assert c.x.tolist() == [day]
    assert c.values[0.0][0] == pytest.approx(m, abs=1e-12)
    for z in (-3, -2, -1, 1, 2, 3):
        assert c.values[float(z)][0] == pytest.approx(by_hand(l, m, s, z), rel=1e-12)


def test_who_printed_sd_table_agrees():
    """WHO's printed simplified field table (boys, weight-for-age, 12 months): -3 SD 6.9 kg,
    -2 SD 7.7 kg, median 9.6 kg, +2 SD 12.0 kg, +3 SD 13.3 kg (to 0.1 kg); 12 months = day 365."""
    c = curves.age_curves("wfa", 1, 365, 365)
    printed = {-3: 6.9, -2: 7.7, 0: 9.6, 2: 12.0, 3: 13.3}
    for z, kg in printed.items():
        assert round(float(c.values[float(z)][0]), 1) == kg


@pytest.mark.parametrize("sex,day", sorted(LHFA_ROWS))
def test_length_for_age_lines(sex, day):
    l, m, s = LHFA_ROWS[(sex, day)]
    c = curves.age_curves("lhfa", sex, day, day)
    for z in curves.SD_LINES:  # L = 1: M * (1 + S z)
        assert c.values[float(z)][0] == pytest.approx(m * (1 + s * z), rel=1e-12)


def test_weight_for_length_and_height_tables():
    # weight_for_length.csv 1,75: L -0.3521 M 9.5032 S 0.08295; weight_for_height.csv 2,90.5: -0.3833 12.77 0.08915
    wfl = curves.length_curves("wfl", 1)
    i = int(np.flatnonzero(np.isclose(wfl.x, 75.0))[0])
    assert wfl.x[0] == 45.0 and wfl.x[-1] == 110.0
    assert wfl.values[-2.0][i] == pytest.approx(by_hand(-0.3521, 9.5032, 0.08295, -2), rel=1e-12)
    wfh = curves.length_curves("wfh", 2)
    j = int(np.flatnonzero(np.isclose(wfh.x, 90.5))[0])
    assert wfh.x[0] == 65.0 and wfh.x[-1] == 120.0
    assert wfh.values[0.0][j] == pytest.approx(12.77)
    assert wfh.values[2.0][j] == pytest.approx(by_hand(-0.3833, 12.77, 0.08915, 2), rel=1e-12)


def test_beyond_three_sd_weight_uses_the_restricted_formula():
    """anthro beyond -3 SD for weight: z = -3 + (y - SD3neg) / (SD2neg - SD3neg), so the value at
    z = -3.5 is SD3neg - 0.5 * (SD2neg - SD3neg)."""
    l, m, s = WFA_ROWS[(1, 365)]
    sd3, sd2 = by_hand(l, m, s, -3), by_hand(l, m, s, -2)
    c = curves.age_curves("wfa", 1, 365, 365, zs=(-3.5, 3.5))
    assert c.values[-3.5][0] == pytest.approx(sd3 - 0.5 * (sd2 - sd3), rel=1e-12)
    up3, up2 = by_hand(l, m, s, 3), by_hand(l, m, s, 2)
    assert c.values[3.5][0] == pytest.approx(up3 + 0.5 * (up3 - up2), rel=1e-12)
    # length is never restricted
    l, m, s = LHFA_ROWS[(1, 365)]
    assert curves.age_curves("lhfa", 1, 365, 365, zs=(-4,)).values[-4.0][0] == pytest.approx(m * (1 - 4 * s))


def test_l_zero_uses_the_exponential_form():
    assert curves.lms_value(0.0, 10.0, 0.1, 2.0) == pytest.approx(10.0 * math.exp(0.2))


def test_ranges_and_bad_input():
    c = curves.age_curves("hcfa", 2, 0, 1826)
    assert c.x[0] == 0 and c.x[-1] == 1826 and len(c.x) == 1827
    with pytest.raises(ValueError):
        curves.age_curves("wfl", 1, 0, 10)
    with pytest.raises(ValueError):
        curves.age_curves("wfa", 3, 0, 10)
