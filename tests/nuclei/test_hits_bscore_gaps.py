"""B-score null of plates with a few missing wells: one simulation per grid shape and share of gaps, calibrated.

Was: each pattern of missing wells not sporadic enough (a row or column under 90 % full) cost a simulation of its
own (~1-1.6 s): 2 % random gaps simulated 53 of 100 plates, 40 plates with some lethal wells 37 times.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ferroscreen.analysis import knockdown_qc
from ferroscreen.analysis.knockdown import bscore


def _gapped(rng, miss, shape=(16, 20)):
    r, c = (a.ravel() for a in np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij"))
    keep = rng.random(r.size) >= miss
    return pd.Series(rng.normal(size=keep.sum())), pd.Series(r[keep]), pd.Series(c[keep])


def test_plates_with_a_few_random_gaps_share_their_simulations_and_stay_calibrated():
    rng = np.random.default_rng(2)
    knockdown_qc._null_table.cache_clear()
    b = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(200):
            b.append(bscore(*_gapped(rng, 0.06)).to_numpy())
    b = np.concatenate(b)
    b = b[np.isfinite(b)]
    # 200 plates, each its own pattern of ~19 missing wells: a simulation per share of gaps (2.5 % steps: 4 here)
    assert knockdown_qc._null_table.cache_info().misses <= 5
    assert 0.97 < b.std() < 1.03 and 0.0015 < np.mean(np.abs(b) > 3) < 0.004


def test_the_gap_null_is_deterministic_and_larger_gaps_keep_their_own_pattern(monkeypatch):
    rng = np.random.default_rng(4)
    values, rows, cols = _gapped(rng, 0.05)
    first = bscore(values, rows, cols)
    knockdown_qc._null_table.cache_clear()
    np.testing.assert_array_equal(first.to_numpy(), bscore(values, rows, cols).to_numpy())
    asked = []
    table = knockdown_qc._null_table
    monkeypatch.setattr(knockdown_qc, "_null_table", lambda *a: asked.append(a) or table(*a))
    ratio = np.ones((16, 20))
    ratio[3, 4] = ratio[5, 4] = ratio[7, 9] = np.nan  # 1 % missing: the full grid's null
    knockdown_qc.null_calibrated(ratio, 10)
    full = np.packbits(np.ones((16, 20), bool)).tobytes()
    assert asked[-1] == ((16, 20), full, 10, 0.0)
    ratio = np.ones((16, 20))
    ratio[:6, :12] = np.nan  # a quarter of the grid missing: beyond MAX_GAPS_FOR_SHAPE_NULL, its own pattern
    knockdown_qc.null_calibrated(ratio, 10)
    assert asked[-1] == ((16, 20), np.packbits(np.isfinite(ratio)).tobytes(), 10, 0.0)
