"""Single-dose rescues: which wells may lend a variance to the test of alone vs rescued.

The arms (compound alone, compound + rescue agent) lend to each other only; the vehicle wells
are another condition and never stand in for a treated arm's spread. One well per arm: no test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferroscreen.analysis import confirm_rescues


def _table(alone, rescued, vehicle, readout="frac_ferroptosis"):
    alone, rescued, vehicle = (np.asarray(v, float) for v in (alone, rescued, vehicle))
    n_a, n_r, n_v = alone.size, rescued.size, vehicle.size
    return pd.DataFrame({
        "plate": "P1",
        "compound": ["ML162"] * (n_a + n_r) + ["DMSO"] * n_v,
        "concentration": [1e-6] * (n_a + n_r) + [np.nan] * n_v,
        "role": ["sample"] * n_a + ["rescue"] * n_r + ["vehicle"] * n_v,
        "mode": [""] * (n_a + n_r + n_v),
        "rescue_agent": [""] * n_a + ["Ferrostatin-1"] * n_r + [""] * n_v,
        "group": "",
        readout: np.concatenate([alone, rescued, vehicle]),
    })


# a dead fraction: the vehicle wells hardly vary, the treated ones do
VEHICLE = [0.020, 0.021, 0.019, 0.020, 0.022, 0.018]


def test_one_well_per_arm_gives_an_estimate_but_no_test():
    row = confirm_rescues(pd.DataFrame(), _table([0.80], [0.10], VEHICLE)).iloc[0]
    a, r, v = 0.80, 0.10, np.mean(VEHICLE)
    assert row["effect_reduction"] == pytest.approx((a - r) / (a - v))  # the estimate is kept
    assert (row["n_alone"], row["n_rescued"], row["alone_source"]) == (1, 1, "well")
    for col in ("p_value", "df", "effect_reduction_lo", "effect_reduction_hi", "effect_alone_lo",
                "effect_rescued_hi", "auc_p_value", "frac_p_value"):
        assert np.isnan(row[col]), col  # the vehicle's variance made p ~ 1e-5 here
    assert not row["confirms"]
    assert "cannot test with one well per arm" in row["verdict"]
    assert "confirms" not in row["verdict"] and "p =" not in row["verdict"]
    assert row["verdict"].startswith("ML162 (1 µM) + Ferrostatin-1 reduces the ferroptosis effect by 90%")


def test_one_well_per_arm_is_never_more_significant_than_two():
    one = confirm_rescues(pd.DataFrame(), _table([0.80], [0.10], VEHICLE)).iloc[0]
    two = confirm_rescues(pd.DataFrame(), _table([0.80, 0.62], [0.10, 0.16], VEHICLE)).iloc[0]
    pooled = stats.ttest_ind([0.80, 0.62], [0.10, 0.16], equal_var=True)
    assert two["p_value"] == pytest.approx(pooled.pvalue, rel=1e-9)
    assert not one["p_value"] <= two["p_value"]  # NaN: no test, not a stronger one


def test_one_alone_well_borrows_the_rescued_wells_variance_not_the_vehicles():
    rescued = np.array([0.10, 0.18, 0.13])
    row = confirm_rescues(pd.DataFrame(), _table([0.80], rescued, VEHICLE)).iloc[0]
    s = rescued.std(ddof=1)
    t = (0.80 - rescued.mean()) / (s * np.sqrt(1 + 1 / 3))  # one case against a sample, pooled
    assert row["df"] == pytest.approx(2.0)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(t, 2), rel=1e-9)
    # and the other way round: one rescued well against three alone wells
    alone = np.array([0.80, 0.70, 0.76])
    row = confirm_rescues(pd.DataFrame(), _table(alone, [0.10], VEHICLE)).iloc[0]
    s = alone.std(ddof=1)
    t = (alone.mean() - 0.10) / (s * np.sqrt(1 / 3 + 1))
    assert row["df"] == pytest.approx(2.0)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(t, 2), rel=1e-9)


def test_one_rescued_well_against_the_fitted_alone_curve_is_tested():
    """A fitted alone curve carries a well's spread at that dose: the single rescued well borrows it, with its df."""
    tab = _table([], [0.10], VEHICLE)
    fit = {"value": 0.78, "se": 0.02, "dof": 14.0, "well_var": 0.04**2, "well_df": 6.0, "well_se": 0.015,
           "dose_min": 1e-8, "dose_max": 1e-5}
    row = confirm_rescues(pd.DataFrame(), tab, predict=lambda c, g, r, d: dict(fit) if d > 0 else None).iloc[0]
    assert row["alone_source"] == "curve"
    se = np.sqrt(0.015**2 + 0.04**2)
    assert row["df"] == pytest.approx(6.0)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf((0.78 - 0.10) / se, 6.0), rel=1e-9)
    assert row["confirms"]


def test_a_single_vehicle_well_borrows_an_arms_variance_for_the_effects():
    alone, rescued = np.array([0.80, 0.70, 0.76]), np.array([0.10, 0.18, 0.13])
    row = confirm_rescues(pd.DataFrame(), _table(alone, rescued, [0.02])).iloc[0]
    assert np.isfinite(row["effect_alone_lo"]) and row["effect_alone_lo"] > 0
    assert row["p_value"] == pytest.approx(stats.ttest_ind(alone, rescued, equal_var=True).pvalue, rel=1e-9)
