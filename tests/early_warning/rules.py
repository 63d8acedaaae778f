"""The early-warning thresholds the tests are written against (every number the rules use).

Tests pin these instead of the packaged (tuned) values, so expected results are worked out by
hand from known numbers and a re-tuning of the data file does not silently change what a test
checks.
"""
EXPLICIT = {
    "general.recent_months": 3,
    "general.stunted_below_z": -2.0,
    "general.max_age_days": 1826,
    "general.max_latest_haz_z": 9.0,          # no gate unless a test sets one
    "general.length_shrink_tolerance_cm": 1.0,
    "haz_decline.window_months": 6,
    "haz_decline.min_points": 2,
    "haz_decline.min_span_months": 2,
    "haz_decline.min_drop_z": 0.5,
    "haz_decline.horizon_months": 6,
    "haz_near_line.max_z": -1.5,
    "weight_crossing.indices": ["waz", "whz"],
    "weight_crossing.lines_z": [0.0, -1.0, -2.0],
    "weight_crossing.window_months": 6,
    "weight_crossing.min_drop_z": {"waz": 0.5, "whz": 0.8},
    "weight_flat.max_gain_kg": 0.0,
    "weight_flat.max_interval_months": 2,
    "weight_flat.min_age_months": 1,
    "gap_drop.min_gap_months": 3,
    "gap_drop.max_gap_months": 12,
    "gap_drop.min_drop_z": {"haz": 0.6, "waz": 0.5, "whz": 0.6},
}
