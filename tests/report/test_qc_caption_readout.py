"""The plate-QC caption names the readout of each failing qc.csv row."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from ferroscreen.report.tables import qc_verdicts


def test_caption_reasons_name_the_failing_readout():
    """qc.csv as ``fit`` writes it has ``readout``, not ``mode``: the caption read 'pass false; low_z_prime'.

    Each failing row is one reason, its flags in words (test_report_consistency has the values and thresholds).
    """
    qc = pd.DataFrame({"plate": ["P", "P", "P"], "readout": ["peak_apoptosis", "peak_ferroptosis", "viability"],
                       "z_prime": [0.39, 0.1, 0.7], "pass": [False, False, True],
                       "flags": ["low_z_prime", "low_z_prime;high_cv", np.nan]})
    got = qc_verdicts(SimpleNamespace(qc=qc))["P"]
    assert got["verdict"] == "fail"
    assert got["reasons"] == ["peak_apoptosis: Z′ 0.39 below 0.5",
                              "peak_ferroptosis: Z′ 0.10 below 0.5 and CV of the positive wells above 20 %"]


def test_caption_falls_back_to_a_mode_column_and_skips_blanks():
    qc = pd.DataFrame({"plate": ["P", "P"], "mode": ["ferroptosis", np.nan], "pass": [False, False]})
    assert qc_verdicts(SimpleNamespace(qc=qc))["P"]["reasons"] == ["ferroptosis: failed QC (no reason given)",
                                                                   "failed QC (no reason given)"]


def test_count_label_says_tiles_for_a_tile_mode_plate(tmp_path):
    """A tile-mode plate's ``n_cells`` counts tiles: its maps and time courses were labelled 'cell count'."""
    from ferroscreen.report.results import Results

    wells = pd.DataFrame({"plate": ["P", "P", "Q"], "well": ["A01", "A02", "A01"], "n_cells": [4, 4, 80],
                          "detector_mode": ["tiles", "tiles", np.nan]})
    assert Results(root=tmp_path, wells=wells).count_label == "tile count"
    assert Results(root=tmp_path, wells=wells.drop(columns="detector_mode")).count_label == "cell count"
    assert Results(root=tmp_path, wells=wells.assign(detector_mode=np.nan)).count_label == "cell count"
