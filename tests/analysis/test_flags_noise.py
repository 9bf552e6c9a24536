"""The ``non_monotone`` flag judges reversals against noise that a misfit does not inflate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import fit_curves
from ferroscreen.analysis.dose_response import replicate_noise_sd
from ferroscreen.analysis.fitting import build_batch

DOSES = 1e-6 * 3.0 ** np.arange(-7, 2)  # 457 pM .. 3 µM, one well each


def _hormetic(seed: int, reps: int = 1) -> pd.DataFrame:
    """Viability that rises to ~1.37 around 120 nM before it falls (vehicle noise 3 %)."""
    rng = np.random.default_rng(seed)
    rows = [("HORMETIC", 0.0, rng.normal(1.0, 0.03)) for _ in range(6)]
    for d in DOSES:
        mean = 0.1 + 0.9 / (1 + (d / 1.5e-6) ** 2.5) + 0.38 * np.exp(-0.5 * (np.log10(d / 1.2e-7) / 0.35) ** 2)
        rows += [("HORMETIC", d, rng.normal(mean, 0.03)) for _ in range(reps)]
    return pd.DataFrame(rows, columns=["curve", "dose", "response"])


def _sigmoids(seed: int, n: int, reps: int, sd: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        ec50 = 10 ** rng.uniform(-7.5, -6.5)
        rows += [(f"c{i}", 0.0, rng.normal(1.0, sd)) for _ in range(6)]
        for d in DOSES:
            mean = 0.05 + 0.95 / (1 + (d / ec50) ** 1.2)
            rows += [(f"c{i}", d, rng.normal(mean, sd)) for _ in range(reps)]
    return pd.DataFrame(rows, columns=["curve", "dose", "response"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_hormetic_bump_with_one_well_per_dose_is_flagged(seed):
    fit = fit_curves(_hormetic(seed), plateau_bounds=(0.0, 2.0)).iloc[0]
    # the sigmoid cannot follow the bump, so its residual SD is several times the vehicle's 3 %:
    # judged against that, the bump hid itself
    assert fit["rse"] > 0.08
    assert "non_monotone" in fit["flags"].split(";")


def test_the_reported_hormetic_curve_is_flagged():
    """The test user's HORMETIC plate-reader curve: r2 0.82, rse 0.137 against 0.03 in the vehicle."""
    vehicle = [1.043848, 1.020842, 0.955547, 0.988394, 1.021161, 0.970208]
    doses = [4.572474e-09, 1.371742e-08, 4.115226e-08, 1.234568e-07, 3.703704e-07, 1.111111e-06,
             3.333333e-06, 1e-05]
    values = [0.978912, 1.027216, 1.288913, 1.366936, 1.136532, 0.967300, 0.545175, 0.217825]
    tab = pd.DataFrame({"curve": "HORMETIC", "dose": [0.0] * 6 + doses, "response": vehicle + values})
    fit = fit_curves(tab, plateau_bounds=(0.0, 2.0)).iloc[0]
    assert fit["rse"] == pytest.approx(0.137, abs=0.005) and fit["call"] == "active"
    assert "non_monotone" in fit["flags"].split(";")


def test_a_hormetic_bump_with_replicates_is_flagged():
    fit = fit_curves(_hormetic(5, reps=3), plateau_bounds=(0.0, 2.0)).iloc[0]
    assert "non_monotone" in fit["flags"].split(";")


@pytest.mark.parametrize("reps", [1, 3])
def test_clean_noisy_sigmoids_are_not_flagged(reps):
    fits = fit_curves(_sigmoids(11, 60, reps, 0.05), plateau_bounds=(0.0, 2.0))
    assert (fits["call"] == "active").all()
    assert not fits["flags"].str.contains("non_monotone").any()


def test_the_noise_is_the_pooled_replicate_sd_else_the_rse():
    tab = pd.DataFrame({
        "curve": ["a"] * 8 + ["b"] * 5,
        "dose": [0, 0, 0, 1e-7, 1e-7, 1e-6, 1e-6, 1e-5] + [0, 0, 1e-7, 1e-6, 1e-5],
        "response": [1.0, 1.1, 0.9, 0.8, 0.7, 0.3, 0.35, 0.1] + [1.0, 1.2, 0.5, 0.2, 0.1],
    })
    codes = (tab["curve"] == "b").to_numpy().astype(int)
    batch = build_batch(codes, tab["dose"].to_numpy(float), tab["response"].to_numpy(float), 2)
    sd, df = replicate_noise_sd(batch, np.array([0.5, 0.6]), np.array([4.0, 1.0]))
    # curve a: within-dose squares 0.02 + 0.005 + 0.00125 over 8 - 4 = 4 df
    assert sd[0] == pytest.approx(np.sqrt((0.02 + 0.005 + 0.00125) / 4)) and df[0] == 4
    # curve b: one within-dose df (two vehicle wells) is too few: the rse and its df
    assert (sd[1], df[1]) == (0.6, 1.0)


def test_binomial_reversals_are_judged_against_the_cells_per_dose():
    """ll2: a 0.3 dip is binomial noise with 40 cells per dose (3 SD of a difference: 0.34), not with 1000.

    The noise is the binomial SD of the cells counted, not the Pearson dispersion (which the dip
    inflates, as it inflates the rse); before, the cell count divided the SD twice and any dip above
    20 % of the effect was flagged, however few the cells.
    """
    doses = np.concatenate([[0.0], 10.0 ** np.arange(-9, -4.4, 0.5)])
    frac = 1 / (1 + (2e-7 / np.maximum(doses, 1e-30)) ** 1.4)
    frac[-2] -= 0.3
    few = fit_curves(pd.DataFrame({"curve": "x", "dose": doses, "response": frac, "n": 40}), model="ll2").iloc[0]
    many = fit_curves(pd.DataFrame({"curve": "x", "dose": doses, "response": frac, "n": 1000}), model="ll2").iloc[0]
    assert few["call"] == many["call"] == "active"
    assert "non_monotone" not in str(few["flags"])
    assert "non_monotone" in many["flags"].split(";")
