"""Knockdown count p-values on negative-binomial nuclei counts: near nominal in both tails, not only at p < 0.05.

Null plates (no gene has an effect) of NB counts: the log2 fold change of a count scattered as gamma is left-skewed,
so its robust z over the plate put 5-12 times the nominal share of wells below p 0.001 on the low side (and almost
none on the high side); the p-values now come from the robust z of the fold change raised to the power that makes
such counts symmetric (:func:`~ferroscreen.analysis.knockdown.count_power`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferroscreen.analysis.knockdown import call_hits, count_excess, count_power, fit_count_skew
from ferroscreen.plate import rowcol_to_well


def nb_plates(n_plates, mu, size, n_nt=16, seed=0, lognormal=False):
    """``n_plates`` 384-well plates, one replicate each: ``n_nt`` non-targeting wells, then one gene per well.

    Counts are Poisson around a mean ``mu`` scattered from well to well by a gamma of shape ``size`` (NB counts),
    or by a log-normal of the same CV.
    """
    rng = np.random.default_rng(seed)
    wells = [rowcol_to_well(i // 24, i % 24) for i in range(384)]
    parts = []
    for p in range(n_plates):
        if lognormal:
            s = np.sqrt(np.log1p(1 / size))
            mean = mu * np.exp(rng.normal(-s * s / 2, s, 384))
        else:
            mean = rng.gamma(size, mu / size, 384)
        parts.append(pd.DataFrame({
            "plate": f"P{p}", "well": wells, "gene": ["non-targeting"] * n_nt + [f"P{p}G{i}" for i in range(n_nt, 384)],
            "role": ["neg_ctrl"] * n_nt + ["sample"] * (384 - n_nt), "n_nuclei": rng.poisson(mean).astype(float)}))
    return pd.concat(parts, ignore_index=True)


def genes_of(wells):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call_hits(wells).genes


def test_null_nb_counts_have_nominal_tails_on_both_sides():
    # before: below p 0.001 on the low side 18 of 4416 wells (nominal 2.2), below 0.01 81 (22) low and 2 high
    genes = genes_of(nb_plates(12, mu=50, size=5))
    p, z = genes["p_count"].to_numpy(float), genes["zcomb_count"].to_numpy(float)
    assert np.isfinite(p).all() and len(p) == 12 * 368
    half = len(p) / 2
    assert ((p < 0.001) & (z < 0)).sum() <= 8
    assert 0.6 * 0.01 * half < ((p < 0.01) & (z < 0)).sum() < 1.5 * 0.01 * half
    assert 0.6 * 0.01 * half < ((p < 0.01) & (z > 0)).sum() < 1.5 * 0.01 * half
    assert 0.04 < (p < 0.05).mean() < 0.06


def test_halved_counts_are_still_called():
    wells = nb_plates(4, mu=300, size=50, seed=3)
    rng = np.random.default_rng(4)
    sample = wells["role"] == "sample"
    hit = sample & (rng.random(len(wells)) < 0.03)
    wells.loc[hit, "n_nuclei"] = rng.binomial(wells.loc[hit, "n_nuclei"].astype(int), 0.5).astype(float)
    genes = genes_of(wells).set_index("gene")
    called = genes.loc[wells.loc[hit, "gene"], "p_count"] < 0.001
    assert called.mean() > 0.6  # a halving is 4.4 SDs of the log of this scatter (CV 0.15): 0.77 of them
    assert (genes.loc[~genes.index.isin(wells.loc[hit, "gene"]), "p_count"] < 0.001).sum() <= 3


def test_the_wells_keep_the_robust_z_of_their_log_fold_change():
    genes = genes_of(nb_plates(1, mu=200, size=10, seed=1))
    assert genes["z_count"].min() < -3  # the z of the calls: robust z of log2 fold change, unchanged
    assert stats.norm.isf(genes["p_count"].min() / 2) < abs(genes["z_count"]).max()  # the p: less extreme here


def test_count_power_runs_from_poisson_to_gamma_and_log_normal_scatter():
    assert count_power(0.0) == pytest.approx(2 / 3)
    assert count_power(1.0) == pytest.approx(0.5)  # NB (2 + r) / (3 (1 + r))
    assert abs(count_power(1e6) - 1 / 3) < 1e-5 and abs(count_power(1e6, 3.0)) < 1e-5
    rng = np.random.default_rng(2)
    assert np.isnan(count_excess(np.zeros(10)))
    counts = rng.poisson(rng.gamma(10, 20, 5000))  # mean 200, size 10: r = 20
    assert 16 < count_excess(counts) < 24


def test_the_scatter_skew_is_fitted_per_screen():
    def fitted(lognormal):
        w = nb_plates(60, mu=300, size=5, seed=0, lognormal=lognormal)
        s = w[w["role"] == "sample"]
        by = [g["n_nuclei"].to_numpy(float) for _, g in s.groupby("plate")]
        return fit_count_skew([c / np.median(c) for c in by], [count_excess(c) for c in by])

    assert fitted(False) < 2.4 and fitted(True) > 2.6  # gamma scatter: 2, log-normal: 3


def test_the_skew_fit_passes_over_plates_without_a_reading():
    assert fit_count_skew([np.array([np.nan, np.nan])], [0.5]) == 2.0
    with_one = fit_count_skew([np.array([np.nan]), np.random.default_rng(0).gamma(20, 1 / 20, 300)], [np.nan, 0.3])
    assert 2.0 <= with_one <= 3.0
