"""The curve design's potency columns: an inactive curve gives no EC50 and no shift; the agent's dose is kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.screen import analyse_screen
from ferroscreen.plate import make_layout

DOSES = [1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5]


def _screen(seed: int = 5):
    """ferrokill as a 9-dose curve alone and with Fer-1 at 2 µM throughout; Fer-1 abolishes the death."""
    rows = []
    wells = iter(f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13))
    for rep in range(8):
        rows.append(dict(well=next(wells), compound="DMSO", role="vehicle", replicate=rep + 1))
    for rep in (1, 2, 3):
        for dose in DOSES:
            rows.append(dict(well=next(wells), compound="ferrokill", concentration=dose, mode="ferroptosis",
                             replicate=rep))
            rows.append(dict(well=next(wells), compound="ferrokill", concentration=dose, role="rescue",
                             mode="ferroptosis", rescue_agent="Fer-1", rescue_concentration=2e-6, replicate=rep))
    layout = make_layout(rows, 96)
    rng = np.random.default_rng(seed)
    records = []
    for row in layout.table.itertuples(index=False):
        ferro = 0.0 if row.rescue_agent == "Fer-1" or row.compound != "ferrokill" else \
            0.8 / (1 + (3e-7 / row.concentration) ** 1.5)
        for t in np.arange(0, 49, 4.0):
            kin = 1 / (1 + np.exp(-(t - 12.0) / 3.0)) - 1 / (1 + np.exp(12.0 / 3.0))
            f_ferro = float(np.clip(0.03 + ferro * kin + rng.normal(0, 0.015), 0, 1))
            f_apo = float(np.clip(0.02 + rng.normal(0, 0.01), 0, 1))
            records.append(dict(plate="P1", well=row.well, time_h=t, n_cells=round(1000 * (1 - 0.9 * f_ferro)),
                                frac_alive=1 - f_ferro - f_apo, frac_apoptosis=f_apo, frac_ferroptosis=f_ferro))
    return pd.DataFrame(records), layout


def test_an_abolished_curve_has_no_ec50_nor_shift_and_keeps_the_agent_dose():
    wells, layout = _screen()
    rescue = analyse_screen(wells, layout).rescue
    row = rescue[(rescue["compound"] == "ferrokill") & (rescue["design"] == "curve")].iloc[0]
    assert row["call_alone"] == "active" and row["call_rescued"] == "inactive" and row["confirms"]
    assert row["ec50_alone"] == pytest.approx(3e-7, rel=0.5)
    # the flat rescued fit's EC50 is no potency: neither it nor a ratio to it is reported
    assert np.isnan(row["ec50_rescued"])
    assert np.isnan(row[["shift", "shift_lo", "shift_hi", "fieller_lo", "fieller_hi"]].astype(float)).all()
    assert row["rescue_concentration"] == pytest.approx(2e-6)
