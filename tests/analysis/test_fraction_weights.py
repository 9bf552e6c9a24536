"""Endpoint fractions (``frac_``) weigh each well by its inverse variance when its cell count is known.

Was: every well weighed alike in the least-squares fit, whether its fraction came from 4 cells or
600, so a killer's sparse top-dose wells made ``frac_apoptosis`` "active" on their own (13.5 % of
null killers at FDR 0.05 in simulation; 6 % once fractions of < 20 cells were dropped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis import fit_curves
from ferroscreen.analysis.dose_response import fraction_weights

DOSES = np.array([1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6])


def _null_killers(seed: int, n_curves: int) -> pd.DataFrame:
    """Flat fractions (p = 0.1) while the cells fall from ~600 (vehicle) to 3-30 at the top doses."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_curves):
        dose = np.concatenate([np.zeros(12), DOSES])
        ek = 10 ** rng.uniform(-8, -6.7)
        end = rng.uniform(3, 30)
        share = (dose / ek) ** 1.5 / (1 + (dose / ek) ** 1.5)
        top = (DOSES[-1] / ek) ** 1.5 / (1 + (DOSES[-1] / ek) ** 1.5)
        cells = np.maximum(1, rng.poisson(600 * (end / 600) ** (share / top)))
        frames.append(pd.DataFrame({"curve": f"c{i}", "readout": "frac_apoptosis", "dose": dose,
                                    "response": rng.binomial(cells, 0.1) / cells, "n": cells}))
    return pd.concat(frames, ignore_index=True)


def test_weights_are_inverse_variances_with_mean_one():
    curve = np.array([0, 0, 0, 0, 1, 1, 1])
    dose = np.array([0, 0, 0, 1, 0, 0, 1.0])
    y = np.array([0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2])
    n = np.array([600, 600, 600, 20, 100, 100, np.nan])
    w = fraction_weights(curve, dose, y, n)
    assert np.allclose([w[curve == 0].mean(), w[curve == 1].mean()], 1.0)
    assert np.isclose(w[0] / w[3], 30.0)  # tau^2 = 0: binomial variances, 1/600 against 1/20
    assert np.isclose(w[5], w[6])  # no count: the curve's median count


def test_sparse_wells_of_a_null_killer_do_not_make_it_active():
    table = _null_killers(3, 150)
    weighted = fit_curves(table, model="ll4", plateau_bounds=(0.0, 1.0))
    equal = fit_curves(table, model="ll4", plateau_bounds=(0.0, 1.0), weights=False)
    assert (weighted["p_value"] < 0.05).mean() < 0.10  # near its 5 %
    assert (equal["p_value"] < 0.05).mean() > 0.2  # the unweighted fit's false positives
    assert (weighted["call"] == "active").mean() <= 0.02


def test_without_counts_or_with_weights_off_nothing_changes():
    table = _null_killers(4, 5)
    plain = fit_curves(table.drop(columns="n"), model="ll4", plateau_bounds=(0.0, 1.0))
    off = fit_curves(table, model="ll4", plateau_bounds=(0.0, 1.0), weights=False)
    pd.testing.assert_frame_equal(plain, off)


def test_a_screen_weighs_a_classifiers_fractions_but_not_a_plate_readers():
    """n_cells beside frac_alive counts the cells the fractions are of; beside a plate reader's frac_dead it is a
    viability signal, and on a tile-mode plate it counts tiles: those fits stay unweighted."""
    from ferroscreen.analysis.screen import _weights_for

    cells = pd.DataFrame({"plate": ["P1"], "well": "A01", "time_h": 0.0, "n_cells": 5.0, "frac_alive": 0.9,
                          "frac_apoptosis": 0.1})
    assert _weights_for(cells, {}) == {}
    reader = cells.drop(columns=["frac_alive", "frac_apoptosis"]).assign(frac_dead=0.1)
    assert _weights_for(reader, {"min_effect": 0.1}) == {"min_effect": 0.1, "weights": False}
    tiles = cells.assign(detector_mode="tiles")
    assert _weights_for(tiles, {})["weights"] is False
    assert _weights_for(reader, {"weights": True}) == {"weights": True}  # asked for: as asked


def test_a_dose_of_few_cells_does_not_hide_a_reversal_between_full_doses():
    """Was: non_monotone's noise took the smallest summed weight of any dose (a 5-cell dose: ~0.03), so a drop
    from 0.5 to 0.2 between 600-cell doses went unflagged once the fit was weighted."""
    rng = np.random.default_rng(1)
    mean = [0.05, 0.05, 0.1, 0.5, 0.2, 0.6, 0.8, 0.8]
    rows = [(0.0, 0.05 + rng.normal(0, 0.01), 600) for _ in range(12)]
    for d, m in zip(DOSES, mean, strict=True):
        for _ in range(3):
            top = d == DOSES[-1]
            rows.append((d, 0.8 if top else m + rng.normal(0, 0.02), 5 if top else 600))
    table = pd.DataFrame(rows, columns=["dose", "response", "n"]).assign(curve="c", readout="frac_apoptosis")
    fit = fit_curves(table, model="ll4", plateau_bounds=(0, 1)).iloc[0]
    assert "non_monotone" in str(fit["flags"]).split(";"), fit["flags"]
