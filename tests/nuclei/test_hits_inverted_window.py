"""An inverted window is a real gap the wrong way; a control that did nothing overlaps (``no_window``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.qc import inverted_window, plate_qc

from .test_hits_bscore_null import kd_screen, quiet


def count_row(res, plate):
    return res.qc[(res.qc["plate"] == plate) & (res.qc["readout"] == "count")].iloc[0]


def test_a_pos_ctrl_that_did_nothing_has_no_window_with_its_z_prime():
    # before: PLK1 wells at the non-targeting level read just above them (by noise) and were called
    # inverted_window, Z' hidden, blaming "failed non-targeting wells or swapped roles"
    wells, layout = kd_screen(n_libs=1, n_reps=2, seed=21)
    plk1 = layout.table.loc[layout.table["compound"] == "PLK1", "well"]
    nt = wells["well"].isin(layout.table.loc[layout.table["role"] == "neg_ctrl", "well"])
    on = (wells["plate"] == "LIB01_rep2") & wells["well"].isin(plk1)
    # PLK1 did nothing: its wells read like the plate's controls, a touch above their mean
    level = wells.loc[nt & (wells["plate"] == "LIB01_rep2"), "n_nuclei"]
    wells.loc[on, "n_nuclei"] = np.round(level.mean() * 1.02 + level.std() * np.linspace(-1, 1, on.sum()))
    res = quiet(wells, layout)
    row = count_row(res, "LIB01_rep2")
    assert row["flags"].split(";") == ["no_window"] and row["z_prime"] < 0 and row["ssmd"] > 0
    said = [m for m in res.warnings if m.startswith("plate LIB01_rep2, count: no_window")]
    assert len(said) == 1 and f"Z′ {row['z_prime']:.2f} against the pos_ctrl wells" in said[0]
    assert count_row(res, "LIB01_rep1")["flags"] == ""


@pytest.mark.parametrize("shift", [1.01, 0.99])
def test_compound_qc_reference_that_did_nothing_is_a_low_z_prime_not_inverted(shift):
    rng = np.random.default_rng(1)
    rows = []
    for i in range(16):
        ref = i >= 8
        rows.append({"plate": "P", "well": f"B{i + 2:02d}", "role": "reference" if ref else "vehicle",
                     "mode": "ferroptosis" if ref else "",
                     "frac_dead": 0.05 * (shift if ref else 1) + rng.normal(0, 0.01),
                     "n_cells_end": 1000 * (shift if ref else 1) + rng.normal(0, 50)})
    wells = pd.DataFrame(rows)
    for col in ("frac_dead", "n_cells_end"):  # the reference's mean a hair off the vehicle's, by construction
        ref = wells["role"] == "reference"
        wells.loc[ref, col] += wells.loc[~ref, col].mean() * shift - wells.loc[ref, col].mean()
    qc = plate_qc(wells, ["dead"], (16, 24)).set_index("readout")
    for readout in ("frac_dead", "n_cells_end"):
        flags = qc.loc[readout, "flags"].split(";")
        assert "low_z_prime" in flags and "inverted_window" not in flags and qc.loc[readout, "z_prime"] < 0


def test_inverted_window_needs_the_bands_apart():
    assert inverted_window(1.0, 1.5, "down", 0.2) and not inverted_window(1.0, 1.5, "down", -0.5)
    assert inverted_window(0.5, 0.1, "up", 0.0) and not inverted_window(0.5, 0.1, "up", -0.01)
    assert not inverted_window(1.0, 0.2, "down", 0.7) and not inverted_window(1.0, 1.5, "down", np.nan)
