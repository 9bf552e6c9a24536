"""Knockdown robust z on 96-well plates: p-values read against the MAD's own uncertainty, not a normal tail."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferroscreen.analysis.knockdown import call_hits, robust_z, robust_z_as_normal
from ferroscreen.plate import rowcol_to_well


def screen(n_plates, seed, n_reps=1, active_share=0.0, fold=0.35, n_samples=62, n_nt=16):
    """``n_plates`` 96-well library plates, each read ``n_reps`` times: ``n_samples`` genes, ``n_nt``
    non-targeting and 8 PLK1 wells.

    Counts of 400 nuclei with log-normal well noise (CV 0.22) and a log-normal plate effect (0.2); a share
    ``active_share`` of the genes reads ``fold`` times the count. Returns the wells and the active genes.
    """
    rng = np.random.default_rng(seed)
    rows, active = [], set()
    for p in range(n_plates):
        genes = [f"P{p}G{i}" for i in range(n_samples)]
        active |= {g for g in genes if rng.random() < active_share}
        names = genes + ["non-targeting"] * n_nt + ["PLK1"] * 8
        for rep in range(1, n_reps + 1):
            plate = 400 * rng.lognormal(0, 0.2)
            for i, gene in enumerate(names):
                role = "sample" if i < n_samples else "neg_ctrl" if gene == "non-targeting" else "pos_ctrl"
                mu = plate * (0.05 if gene == "PLK1" else fold if gene in active else 1.0)
                rows.append({"plate": f"P{p}_rep{rep}", "well": rowcol_to_well(i // 12, i % 12), "gene": gene,
                             "role": role, "n_nuclei": mu * rng.lognormal(0, 0.22), "area_mean": rng.normal(100, 8)})
    return pd.DataFrame(rows), active


def hits(wells):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call_hits(wells).genes


def test_null_p_values_of_96_well_plates_have_the_nominal_tail():
    # before: 2 * norm.sf of the robust z over 62 sample wells: P(p < 0.001) 0.0030 here (0.0038 over 8640 genes)
    genes = hits(screen(60, seed=0)[0])
    p = genes["p_count"].to_numpy(float)
    assert np.isfinite(p).all() and len(p) == 60 * 62
    assert (p < 0.001).mean() < 0.002
    assert 0.035 < (p < 0.05).mean() < 0.065
    # the wells keep their robust z: (x - median) / (1.4826 MAD) over the plate's sample wells
    assert genes["z_count"].abs().max() > stats.norm.isf(0.0005 / 2)


def test_strong_knockdowns_are_still_called():
    wells, active = screen(12, seed=1, n_reps=2, active_share=0.05)
    genes = hits(wells)
    is_active = genes["gene"].isin(active)
    strong = is_active & (genes["z_count"] <= -3)  # the z cut of an FDR call: 45 of the 51 actives
    assert is_active.sum() == 51 and strong.sum() >= 0.85 * is_active.sum()
    assert genes.loc[strong, "hit_count_fdr"].all() and genes.loc[strong, "q_count"].max() < 0.01
    assert not genes.loc[~is_active, "hit_count_fdr"].any()


def test_robust_z_as_normal_maps_the_simulated_tail_to_the_normal_one():
    rng = np.random.default_rng(5)
    z = np.concatenate([robust_z(rng.normal(size=62)) for _ in range(4000)])
    raw = (np.abs(z) > stats.norm.isf(0.005)).mean()  # nominal 0.01
    mapped = (np.abs(robust_z_as_normal(z, 62)) > stats.norm.isf(0.005)).mean()
    assert raw > 0.013 and mapped == pytest.approx(0.01, abs=0.0015)
    out = robust_z_as_normal(np.array([-6.0, -3.0, 0.0, 3.0, np.nan]), 62)
    assert out[0] < out[1] < 0 == out[2] < out[3] == -out[1] and np.isnan(out[4])
    assert robust_z_as_normal(np.array([3.0]), 2000)[0] == pytest.approx(3.0, abs=0.05)
    assert np.isnan(robust_z_as_normal(np.array([1.0]), 2)).all()


def test_a_far_robust_z_is_read_off_the_simulated_plates_not_a_straight_line():
    """A robust z of 30 among 62 wells read 20.1 (the table's last slope carried on); the tail from the simulated
    plates' medians and MADs gives ~15 (200k simulated MADs: 14.4), rising on from the table without a step."""
    from ferroscreen.analysis.knockdown import _robust_z_null, robust_z_as_normal

    far = robust_z_as_normal(np.array([10.0, 20.0, 30.0, -30.0]), 62)
    assert 6.0 < far[0] < 7.0 and 9.5 < far[1] < 11.5 and 13.5 < far[2] < 16.5 and far[3] == -far[2]
    q = _robust_z_null(62)[0]
    edge = robust_z_as_normal(np.array([q[-1] - 1e-6, q[-1] + 1e-6, q[-1] + 0.5]), 62)
    assert abs(edge[1] - edge[0]) < 0.1 and edge[2] > edge[1]
