"""Small-count suppression rules, worked by hand."""
from posyandu.core import disclosure as dc


def test_counts_of_one_to_four_are_small_zero_is_not():
    assert [dc.publish(v) for v in (0, 1, 4, 5, None)] == [0, "<5", "<5", 5, None]


def test_a_lone_hidden_cell_takes_the_smallest_other_nonzero_cell_with_it():
    # kecamatan 30 = 3 + 0 + 12 + 15: without a second hidden cell, 3 = 30 - 0 - 12 - 15
    assert dc.hidden_cells(30, {"a": 3, "b": 0, "c": 12, "d": 15}) == {"a": "<5", "c": "withheld"}


def test_two_hidden_cells_need_nothing_more():
    assert dc.hidden_cells(20, {"a": 3, "b": 2, "c": 15}) == {"a": "<5", "b": "<5"}


def test_a_small_parent_is_hidden_itself():
    assert dc.hidden_cells(4, {"a": 4, "b": 0}) == {"a": "<5"}


def test_the_companion_is_the_smallest_nonzero_cell():
    assert dc.hidden_cells(7, {"a": 2, "b": 5, "c": 0}) == {"a": "<5", "b": "withheld"}


def test_rates_from_hidden_counts_are_withheld():
    assert dc.rate_reason(40, "<5") == "small_count"
    assert dc.rate_reason("withheld", 10) == "small_count"
    assert dc.rate_reason(0, 0) == "no_data"
    assert dc.rate_reason(None, 3) == "not_computed"
    assert dc.rate_reason(40, 12) is None
