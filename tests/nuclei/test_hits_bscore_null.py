"""B-scores on null data: unit SD and normal tails, so ``--bscore`` calls no more than robust z on noise."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.knockdown import bscore, call_hits
from ferroscreen.plate import make_layout, rowcol_to_well


def kd_screen(n_libs=4, n_reps=1, seed=0, effects=None, nt_factor=None, edge=None):
    """384-well library plates: column 1 rows A-H PLK1, columns 2 and 23 non-targeting, a 16 x 20 sample grid.

    ``effects`` maps a gene (``L1G005``) to its (count, area) fold change; the rest is noise. ``nt_factor`` and
    ``edge`` map a plate (``LIB01_rep2``) to a factor on the count of its non-targeting wells, or of the wells
    on its outer ring.
    """
    rng = np.random.default_rng(seed)
    effects, nt_factor, edge = effects or {}, nt_factor or {}, edge or {}
    layout_rows, rows = [], []
    for lib in range(1, n_libs + 1):
        k = 0
        for r in range(16):
            for c in range(23):
                if c == 0 and r >= 8:
                    continue
                gene, role = (("PLK1", "pos_ctrl") if c == 0 else ("non-targeting", "neg_ctrl") if c in (1, 22)
                              else (f"L{lib}G{k:03d}", "sample"))
                k += role == "sample"
                layout_rows.append({"plate_id": f"LIB{lib:02d}", "well": rowcol_to_well(r, c), "compound": gene,
                                    "role": role})
    for rep in range(1, n_reps + 1):
        for lr in layout_rows:
            plate, well = f"{lr['plate_id']}_rep{rep}", lr["well"]
            fcc, fca = (0.08, 1.0) if lr["compound"] == "PLK1" else effects.get(lr["compound"], (1.0, 1.0))
            fcc *= nt_factor.get(plate, 1.0) if lr["role"] == "neg_ctrl" else 1.0
            fcc *= edge.get(plate, 1.0) if well[0] in "AP" or well[1:] in ("01", "24") else 1.0
            n = int(rng.poisson(1920 * fcc * np.exp(rng.normal(0, 0.1))))
            rows.append({"plate": plate, "well": well, "n_nuclei": n,
                         "area_mean": 400 * fca * np.exp(rng.normal(0, 0.05)) if n else np.nan})
    return pd.DataFrame(rows), make_layout(layout_rows, 384)


def quiet(wells, layout, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call_hits(wells, layout, **kwargs)


@pytest.mark.parametrize(("shape", "n_grids"), [((16, 20), 100), ((8, 10), 250)])
def test_bscore_of_gaussian_noise_has_unit_sd_and_normal_tails(shape, n_grids):
    # before: residuals over their MAD, SD 1.13 (16 x 20) and 1.34 (8 x 10), |B| > 3 in 1.2 % and 4.3 %
    rng = np.random.default_rng(11)
    r, c = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
    rows, cols = pd.Series(r), pd.Series(c)
    b = np.concatenate([bscore(pd.Series(rng.normal(0, 1, r.size)), rows, cols).to_numpy() for _ in range(n_grids)])
    assert np.isfinite(b).all()
    assert abs(b.std() - 1) < 0.05
    assert 0.0012 < (np.abs(b) > 3).mean() < 0.0045  # a normal's 0.27 %
    assert 0.035 < (np.abs(b) > 2).mean() < 0.056  # 4.6 %


def test_bscore_calls_no_more_than_z_on_null_plates():
    # before: 8 false hits with --bscore (none with z) and 22 genes at p < 0.001 (1.3 expected per readout)
    wells, layout = kd_screen(seed=1)
    by_z, by_b = quiet(wells, layout), quiet(wells, layout, use_bscore=True)
    assert by_b.params["plate_scores"]["LIB01_rep1"] == {"count": "b", "area": "b"}
    assert by_b.genes["hit"].sum() <= by_z.genes["hit"].sum() + 1
    p = by_b.genes[["p_count", "p_area"]].to_numpy(float).ravel()
    assert (p < 0.001).sum() <= 8  # 2.6 expected over 2 x 1280
    b = by_b.wells[["b_count", "b_area"]].to_numpy(float).ravel()
    b = b[np.isfinite(b)]
    assert abs(b.std() - 1) < 0.06 and (np.abs(b) > 3).mean() < 0.005


def test_bscore_still_recovers_planted_hits():
    planted = {"L1G005": (0.3, 1.0), "L1G100": (0.4, 2.0), "L1G200": (1.0, 1.9), "L2G050": (0.3, 1.0)}
    wells, layout = kd_screen(n_libs=2, n_reps=3, seed=2, effects=planted)
    genes = quiet(wells, layout, use_bscore=True).genes.set_index("gene")
    for gene, (fcc, fca) in planted.items():
        if fcc < 1:
            assert genes.loc[gene, "hit_count_fdr"] and genes.loc[gene, "z_count"] < -5
        if fca > 1:
            assert genes.loc[gene, "hit_area_fdr"] and genes.loc[gene, "z_area"] > 5
    assert set(genes.index[genes["hit"]]) == set(planted)
