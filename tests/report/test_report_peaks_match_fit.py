"""The report's peak plate maps and dose points take the fit's peaks, pooled over each window's cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.readouts import summarise_wells
from ferroscreen.report.compounds import course_summaries


def test_course_summaries_pool_cells_as_the_fit_does():
    times = np.arange(0.0, 52.0, 4.0)
    counts = np.r_[np.full(9, 300.0), [20.0, 12.0, 9.0, 9.0]]  # a lethal compound's corpses at the end
    apo = np.r_[np.full(9, 0.05), [0.15, 0.25, 0.33, 0.33]]
    wells = pd.DataFrame({"plate": "P1", "well": "A01", "time_h": times, "n_cells": counts,
                          "frac_alive": 1 - apo, "frac_apoptosis": apo})
    fit = summarise_wells(wells)["peak_apoptosis"].iloc[0]
    report = course_summaries(wells, {"apoptosis": "frac_apoptosis"})["peak_apoptosis"].iloc[0]
    assert report == fit and fit < 0.1  # the report's map showed 0.29 beside the fit's 0.06
