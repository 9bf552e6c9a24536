"""Single-dose rescues whose rescued wells all read 0: no zero-width interval.

A walk-through reported "95% CI 100% to 100%" (p = 1.7e-6) for volasertib + Fer-1: the rescued
and vehicle wells all read exactly 0, both sample variances were 0 and Fieller's interval
collapsed. An arm without spread now has no variance of its own and borrows the other arm's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferroscreen.analysis import confirm_rescues

READOUT = "auc_ferroptosis"


def _table(alone, rescued, vehicle):
    alone, rescued, vehicle = (np.asarray(v, float) for v in (alone, rescued, vehicle))
    n_a, n_r, n_v = alone.size, rescued.size, vehicle.size
    return pd.DataFrame({
        "plate": "P1",
        "compound": ["volasertib"] * (n_a + n_r) + ["DMSO"] * n_v,
        "concentration": [3e-7] * (n_a + n_r) + [np.nan] * n_v,
        "role": ["sample"] * n_a + ["rescue"] * n_r + ["vehicle"] * n_v,
        "mode": "",
        "rescue_agent": [""] * n_a + ["Fer-1"] * n_r + [""] * n_v,
        "rescue_concentration": [np.nan] * n_a + [1e-6] * n_r + [np.nan] * n_v,
        "group": "",
        READOUT: np.concatenate([alone, rescued, vehicle]),
    })  # fmt: skip


ALONE = [0.14, 0.18, 0.15, 0.17]
CURVE = {"value": 0.1625, "se": 0.022, "dof": 16, "well_var": 0.06**2, "well_df": 16, "well_se": 0.022,
         "dose_min": 3e-9, "dose_max": 1e-5}


def _predict(compound, group, readout, dose):
    return dict(CURVE) if readout == READOUT and dose > 0 else None


def test_all_zero_rescued_and_vehicle_wells_against_the_alone_curve_give_a_real_interval():
    """The walk-through's row: alone level from the curve, 4 rescued and 12 vehicle wells all at 0."""
    row = confirm_rescues(pd.DataFrame(), _table([], [0.0] * 4, [0.0] * 12), _predict).iloc[0]
    assert (row["alone_source"], row["n_rescued"], row["n_vehicle"]) == ("curve", 4, 12)
    assert row["effect_reduction"] == pytest.approx(1.0)
    lo, hi = row["effect_reduction_lo"], row["effect_reduction_hi"]
    assert lo < 0.9 and hi > 1.1, (lo, hi)  # was [1, 1]
    assert row["effect_rescued_hi"] > row["effect_rescued_lo"]  # was 0 to 0
    assert "100% to 100%" not in row["verdict"]
    # the rescued wells borrow a well's spread about the curve at that dose
    se = np.sqrt(CURVE["well_se"] ** 2 + CURVE["well_var"] / 4)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(CURVE["value"] / se, 16), rel=1e-6)  # was 1.7e-6
    assert row["df"] == pytest.approx(16)


def test_zero_spread_rescued_wells_borrow_the_alone_wells_variance():
    row = confirm_rescues(pd.DataFrame(), _table(ALONE, [0.0] * 4, [0.0] * 8)).iloc[0]
    lo, hi = row["effect_reduction_lo"], row["effect_reduction_hi"]
    assert hi - lo > 0.05, (lo, hi)  # was [1, 1]
    assert row["effect_rescued_hi"] > row["effect_rescued_lo"]
    s2 = np.var(ALONE, ddof=1)  # a pooled two-sample t-test: one variance for both arms
    t = np.mean(ALONE) / np.sqrt(s2 / 4 + s2 / 4)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(t, 3), rel=1e-9)
    assert row["confirms"] and "rescue confirms ferroptosis" in row["verdict"]


def test_both_arms_without_spread_are_not_tested():
    row = confirm_rescues(pd.DataFrame(), _table([0.25] * 3, [0.0] * 3, [0.0] * 6)).iloc[0]
    assert row["effect_reduction"] == pytest.approx(1.0)  # the estimate is kept
    for col in ("p_value", "df", "effect_reduction_lo", "effect_reduction_hi", "auc_p_value"):
        assert np.isnan(row[col]), col  # was an interval of [1, 1] on infinite df
    assert not row["confirms"]
    assert "cannot test without spread" in row["verdict"] and "p =" not in row["verdict"]
    assert "one well per arm" not in row["verdict"]


def test_wells_with_spread_are_compared_as_before():
    rescued = [0.01, 0.03, 0.02, 0.0]
    row = confirm_rescues(pd.DataFrame(), _table(ALONE, rescued, [0.0] * 8)).iloc[0]
    pooled = stats.ttest_ind(ALONE, rescued, equal_var=True)  # both arms vary: one variance from both
    assert row["p_value"] == pytest.approx(pooled.pvalue, rel=1e-9)


def test_one_alone_well_and_rescued_wells_of_one_value_are_said_as_they_are():
    row = confirm_rescues(pd.DataFrame(), _table([0.25], [0.0] * 3, [0.0] * 6)).iloc[0]
    assert "cannot test without spread" in row["verdict"]
    assert "1 well of volasertib alone and 3 wells of volasertib + Fer-1 reading one value" in row["verdict"]
