"""``--model ll2`` with a background death in the vehicle wells.

Was: LL.2 predicts exactly 0 at dose 0 (a ``0 -> 1`` response), so each vehicle well at 3 % dead added
``n · 0.03 · ln 1e10`` to the model's NLL but not to the flat line's, and every curve of an HCS screen
was called flat (RSL3 0.03 -> 0.90: F 0, p 1.0; dosed points alone: F 377). The fit leaves those
points out in effect (its zero-dose level is fixed); the activity test now does the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import fit_curves
from ferroscreen.analysis.screen import analyse_screen

DOSES = [1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6]


def _table(top: float, background: float = 0.03, cells: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"curve": "c", "dose": 0.0, "n": cells, "response": rng.binomial(cells, background) / cells}
            for _ in range(48)]  # 16 per plate, 3 plates
    for dose in DOSES:
        p = background + (top - background) / (1 + (1e-7 / dose) ** 1.2)
        rows += [{"curve": "c", "dose": dose, "n": cells, "response": rng.binomial(cells, p) / cells}
                 for _ in range(3)]
    return pd.DataFrame(rows)


def test_a_rising_curve_over_a_vehicle_background_is_active():
    table = _table(top=0.9)
    fit = fit_curves(table, model="ll2").iloc[0]
    assert fit["call"] == "active" and fit["p_value"] < 1e-6, fit[["f_stat", "p_value", "call"]].to_dict()
    assert fit["r2"] > 0.8
    dosed = fit_curves(table[table["dose"] > 0], model="ll2").iloc[0]
    # the vehicle points change neither the fit nor its test: the test uses the points the fit uses
    assert fit["ec50"] == pytest.approx(dosed["ec50"], rel=1e-3)
    assert fit["f_stat"] == pytest.approx(dosed["f_stat"], rel=1e-3)


def test_a_flat_curve_at_the_background_stays_inactive():
    fit = fit_curves(_table(top=0.03, seed=1), model="ll2").iloc[0]
    assert fit["call"] == "inactive"


def test_ll2_screen_calls_the_ferroptosis_inducer_and_notes_what_it_fits(screen):
    wells, layout = screen  # 3 % ferroptosis, 2 % apoptosis in the vehicle wells
    result = analyse_screen(wells, layout, model="ll2")
    fits = result.fits.set_index(["curve", "readout"])
    assert fits.loc[("erastin", "frac_ferroptosis"), "call"] == "active"
    assert fits.loc[("staurosporine", "frac_apoptosis"), "call"] == "active"
    assert fits.loc[("inert", "frac_ferroptosis"), "call"] == "inactive"
    assert set(result.fits["readout"]) == {"frac_ferroptosis", "frac_apoptosis"}
    note = [n for n in result.notes if n.startswith("model ll2")]
    assert len(note) == 1 and "no peak_<mode>" in note[0] and "background death is not modelled" in note[0]
    assert "rank_on 'peak' ranks on frac_<mode>" in note[0]
    endpoint = analyse_screen(wells, layout, model="ll2", rank_on="endpoint")
    assert not any("rank_on" in n for n in endpoint.notes)
