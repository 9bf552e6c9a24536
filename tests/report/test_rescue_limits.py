"""The report's rescue sentence reads an EC50 ratio on the scale its p-value is on when the linear one breaks."""

from ferroscreen.report.rescue import _limits


def test_a_linear_interval_through_zero_gives_way_to_the_log_one():
    row = {"ratio": 21.1, "fieller_lo": -17.4, "fieller_hi": 60.8, "delta_lo": -17.4, "delta_hi": 59.6,
           "log_lo": 3.39, "log_hi": 131.0}
    assert _limits(row) == (3.39, 131.0)


def test_a_positive_fieller_interval_stands():
    row = {"ratio": 21.1, "fieller_lo": 9.0, "fieller_hi": 40.0, "log_lo": 8.0, "log_hi": 50.0}
    assert _limits(row) == (9.0, 40.0)


def test_an_unbounded_fieller_interval_falls_to_the_delta_then_the_log_one():
    row = {"ratio": 5.0, "fieller_lo": float("nan"), "fieller_hi": float("nan"), "delta_lo": -1.0, "delta_hi": 11.0,
           "log_lo": 1.2, "log_hi": 20.0}
    assert _limits(row) == (1.2, 20.0)
