"""Register checks on hand-built visits (expected values worked out by hand)."""
from __future__ import annotations

import numpy as np

from posyandu.core import register_checks as rc

NAT = np.datetime64("NaT")


def run(**overrides):
    """Five visits in October 2026; each case below changes what it needs."""
    n = 5
    base = dict(
        clenhei=np.full(n, 80.0), prev_clenhei=np.full(n, np.nan),
        weight=np.full(n, 10.0), prev_weight=np.full(n, np.nan),
        measured_on=np.full(n, np.datetime64("2026-10-14")),
        prev_measured_on=np.full(n, NAT, dtype="datetime64[D]"),
        length_cm=np.full(n, 80.0), measure_missing=np.zeros(n, bool), has_z=np.ones(n, bool),
        any_flag=np.zeros(n, bool), entered_day=np.full(n, np.datetime64("2026-10-14")),
        length_tolerance_cm=1.0, late_entry_days=14)
    base.update(overrides)
    return rc.visit_checks(**base)


def test_length_shrank_beyond_the_tolerance_only():
    out = run(clenhei=np.array([80.0, 79.0, 78.9, 80.0, np.nan]),
              prev_clenhei=np.array([80.0, 80.0, 80.0, np.nan, 80.0]))
    eligible, hit = out["length_shrank"]
    assert eligible.tolist() == [True, True, True, False, False]
    # 1.0 cm less is within the tolerance (strictly more than 1.0 warns); 1.1 cm is not
    assert hit.tolist() == [False, False, True, False, False]


def test_weight_repeated_only_against_last_calendar_month():
    prev = np.array(["2026-09-30", "2026-08-14", "2026-10-01", "NaT", "2026-09-01"],
                    dtype="datetime64[D]")
    out = run(prev_measured_on=prev, prev_weight=np.array([10.0, 10.0, 10.0, np.nan, 10.1]))
    eligible, hit = out["weight_repeated"]
    assert eligible.tolist() == [True, False, False, False, True]
    assert hit.tolist() == [True, False, False, False, False]


def test_measure_missing_implausible_and_late():
    out = run(length_cm=np.array([80.0, 80.0, np.nan, 80.0, 80.0]),
              measure_missing=np.array([True, False, True, False, False]),
              has_z=np.array([True, True, False, True, True]),
              any_flag=np.array([False, True, False, False, False]),
              entered_day=np.array(["2026-10-28", "2026-10-29", "2026-10-14", "2026-10-13",
                                    "NaT"], dtype="datetime64[D]"))
    assert [a.tolist() for a in out["measure_missing"]] == [[True, True, False, True, True],
                                                           [True, False, False, False, False]]
    assert out["implausible_entered"][1].tolist() == [False, True, False, False, False]
    assert out["implausible_entered"][0].sum() == 4
    # 14 days after the session is on time; 15 is late
    assert out["late_entry"][1].tolist() == [False, True, False, False, False]


def test_summaries_per_group():
    out = run(clenhei=np.array([78.0, 80.0, 78.0, 80.0, 78.0]),
              prev_clenhei=np.full(5, 80.0))
    per = rc.summarise(np.array([0, 0, 1, 1, 1]), 3, out, min_n=2)
    assert (per[0]["length_shrank"].n, per[0]["length_shrank"].count) == (2, 1)
    assert (per[1]["length_shrank"].n, per[1]["length_shrank"].count) == (3, 2)
    assert per[1]["length_shrank"].pct == 200 / 3 and per[1]["length_shrank"].enough_data
    assert per[2]["late_entry"].n == 0 and per[2]["late_entry"].pct is None
    assert not per[2]["late_entry"].enough_data
    total = rc.summarise_all(out, min_n=2)
    assert (total["length_shrank"].n, total["length_shrank"].count) == (5, 3)
