"""Single-dose rescues with replicate wells in both arms: one per-well variance pooled from both arms.

On the demo plate RSL3 alone read auc_ferroptosis 0.43 and 0.51, RSL3 + Fer-1 0.0117 and 0.0134: a
98 % reduction that Welch's test called "not significant" (p = 0.055), because the rescued wells near 0
hardly vary and Welch-Satterthwaite gave about one degree of freedom. Without a rescue both arms sit at
one level and so share one spread (a death fraction's spread follows its level), so the pooled
two-sample t-test is exact under that null, on ``n_alone + n_rescued - 2`` df.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferroscreen.analysis import confirm_rescues

READOUT = "auc_ferroptosis"
# the demo plate's wells (auc_ferroptosis): RSL3 1 µM alone, with Fer-1, and the 12 DMSO wells
RSL3 = [0.428626, 0.508352]
RSL3_FER1 = [0.011674, 0.013380]
DMSO = [0.001787, 0.000556, 0.000436, 0.002306, 0.001823, 0.001435, 0.0, 0.001529, 0.001408, 0.000707, 0.0,
        0.001530]


def _table(alone, rescued, vehicle, compounds: int = 1) -> pd.DataFrame:
    """``compounds`` pairs (rows of ``alone``/``rescued``, or one pair) on one plate with shared vehicle wells."""
    alone, rescued = np.atleast_2d(np.asarray(alone, float)), np.atleast_2d(np.asarray(rescued, float))
    vehicle = np.asarray(vehicle, float)
    (k, n_a), n_r, n_v = alone.shape, rescued.shape[1], vehicle.size
    names = np.array([f"X{i}" for i in range(k)])
    return pd.DataFrame({
        "plate": "P1",
        "compound": [*np.repeat(names, n_a), *np.repeat(names, n_r), *["DMSO"] * n_v],
        "concentration": [1e-6] * (k * (n_a + n_r)) + [np.nan] * n_v,
        "role": ["reference"] * (k * n_a) + ["rescue"] * (k * n_r) + ["vehicle"] * n_v,
        "mode": [""] * (k * (n_a + n_r)) + ["alive"] * n_v,
        "rescue_agent": [""] * (k * n_a) + ["Fer-1"] * (k * n_r) + [""] * n_v,
        "rescue_concentration": [np.nan] * (k * n_a) + [1e-6] * (k * n_r) + [np.nan] * n_v,
        "group": "",
        READOUT: np.concatenate([alone.ravel(), rescued.ravel(), vehicle]),
    })  # fmt: skip


def test_two_wells_against_two_that_fer1_abolishes_confirm_ferroptosis():
    row = confirm_rescues(pd.DataFrame(), _table(RSL3, RSL3_FER1, DMSO)).iloc[0]
    student = stats.ttest_ind(RSL3, RSL3_FER1, equal_var=True)
    assert row["df"] == pytest.approx(2.0)  # was 1.0 (Welch-Satterthwaite)
    assert row["p_value"] == pytest.approx(student.pvalue, rel=1e-9)
    assert row["p_value"] < 0.01  # was 0.055
    assert 0.9 < row["effect_reduction"] < 1.0
    assert 0 < row["effect_reduction_lo"] < row["effect_reduction"] < row["effect_reduction_hi"]  # was unbounded
    assert row["confirms"], row["verdict"]
    assert row["verdict"].endswith("rescue confirms ferroptosis"), row["verdict"]


def test_the_reduction_interval_inverts_the_pooled_test():
    """At its ends, the t of (1 - ρ)A - R + ρV = 0 with the arms' pooled variance (and the vehicle's own,
    Satterthwaite over the two estimates) sits on the critical value."""
    row = confirm_rescues(pd.DataFrame(), _table(RSL3, RSL3_FER1, DMSO)).iloc[0]
    a, r, v = np.mean(RSL3), np.mean(RSL3_FER1), np.mean(DMSO)
    s2 = (np.var(RSL3, ddof=1) + np.var(RSL3_FER1, ddof=1)) / 2
    for rho in (row["effect_reduction_lo"], row["effect_reduction_hi"]):
        terms = np.array([s2 * ((1 - rho) ** 2 / 2 + 1 / 2), rho**2 * np.var(DMSO, ddof=1) / 12])
        df = terms.sum() ** 2 / (terms[0] ** 2 / 2 + terms[1] ** 2 / 11)
        t_stat = abs((1 - rho) * a - r + rho * v) / np.sqrt(terms.sum())
        assert t_stat == pytest.approx(stats.t.ppf(0.975, df), rel=0.02)


def test_the_effects_take_the_arms_pooled_variance():
    """The effect alone decides whether there is anything to rescue: its interval takes the arms' pooled variance
    (2 df with two wells an arm), as the rescue test does. With each arm's own (1 df) it held 0 for half the
    rescues that abolish a 0.5 effect, once an interval with either end above 0 no longer counted as excluding it."""
    row = confirm_rescues(pd.DataFrame(), _table(RSL3, RSL3_FER1, DMSO)).iloc[0]
    s2 = (np.var(RSL3, ddof=1) + np.var(RSL3_FER1, ddof=1)) / 2
    va, vv = s2 / 2, np.var(DMSO, ddof=1) / 12
    df = (va + vv) ** 2 / (va**2 / 2 + vv**2 / 11)
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vv)
    eff = np.mean(RSL3) - np.mean(DMSO)
    assert (row["effect_alone_lo"], row["effect_alone_hi"]) == pytest.approx((eff - half, eff + half), rel=1e-9)


def _beta_binomial(rng, level, shape, rho=0.02):
    cells = rng.integers(50, 301, shape)
    p = rng.beta(level * (1 - rho) / rho, (1 - level) * (1 - rho) / rho, shape)
    return rng.binomial(cells, p) / cells


@pytest.mark.parametrize(("n_alone", "n_rescued", "level"), [(2, 2, 0.5), (2, 4, 0.8)])
def test_without_a_rescue_the_pooled_test_holds_its_level(n_alone, n_rescued, level):
    """Fer-1 does nothing: both arms drawn alike (beta-binomial over 50-300 cells), 300 compounds."""
    rng = np.random.default_rng(21)
    tab = _table(_beta_binomial(rng, level, (300, n_alone)), _beta_binomial(rng, level, (300, n_rescued)),
                 _beta_binomial(rng, 0.03, (8,)), compounds=300)
    p = confirm_rescues(pd.DataFrame(), tab)["p_value"].to_numpy(float)
    assert np.isfinite(p).all()
    assert 0.02 < np.mean(p < 0.05) < 0.09, np.mean(p < 0.05)  # nominal 0.05, MC SE 0.013
    assert np.mean(p < 0.01) < 0.03


def test_two_wells_against_two_find_a_rescue_that_abolishes_the_effect():
    rng = np.random.default_rng(22)
    tab = _table(_beta_binomial(rng, 0.5, (150, 2)), _beta_binomial(rng, 0.03, (150, 2)),
                 _beta_binomial(rng, 0.03, (8,)), compounds=150)
    out = confirm_rescues(pd.DataFrame(), tab)
    assert np.mean(out["p_value"] < 0.05) > 0.85  # about 0.93; Welch's test found about 0.6
    assert out["confirms"].mean() > 0.85
