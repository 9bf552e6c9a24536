"""fit_curves and potency_ratio driven from the Python API: rows without a curve or readout, a level as a percent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import fit_curves, potency_ratio
from ferroscreen.analysis.dose_response import fit_curves_with_params
from ferroscreen.analysis.inputs import AnalysisInputError

DOSES = np.repeat([0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4], 3)


def _curve(name: str, ec50: float, seed: int = 0) -> pd.DataFrame:
    frac = 0.05 + 0.85 / (1 + ec50 / np.maximum(DOSES, 1e-30))
    noise = np.random.default_rng(seed).normal(0, 0.02, DOSES.size)
    return pd.DataFrame({"curve": name, "dose": DOSES, "response": frac + noise})


def test_rows_without_a_readout_are_refused_not_filed_under_another_readout():
    with_readout = pd.concat([_curve("A", 1e-7), _curve("B", 1e-6, 1)]).assign(readout="frac_ferroptosis")
    without = pd.concat([_curve("C", 1e-6, 2), _curve("D", 1e-5, 3)])  # a table that had no readout column
    table = pd.concat([with_readout, without], ignore_index=True)
    with pytest.raises(AnalysisInputError) as err:
        fit_curves(table)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("table: 36 row(s) have no readout (index 36, 37, 38, 39, 40 and 31 more; curves C, D)")


def test_rows_without_a_curve_are_refused_naming_them():
    table = pd.concat([_curve("A", 1e-7), _curve("B", 1e-6, 1)], ignore_index=True)
    table.loc[[4, 20], "curve"] = np.nan
    with pytest.raises(AnalysisInputError, match=r"^runs\.csv: 2 row\(s\) have no curve \(rows 6, 22\)"):
        fit_curves(table, source="runs.csv")


def test_a_row_without_a_curve_and_without_a_response_is_left_out_as_before():
    table = _curve("A", 1e-7)
    blank = pd.DataFrame({"curve": [np.nan], "dose": [1e-6], "response": [np.nan]})
    fits = fit_curves(pd.concat([table, blank], ignore_index=True))
    assert fits["curve"].tolist() == ["A"] and fits["n_points"].iloc[0] == len(table)


@pytest.mark.parametrize("level", [95, 0, 1.0, -0.5, float("nan")])
def test_a_level_outside_0_1_is_refused(level):
    table = _curve("A", 1e-7)
    with pytest.raises(AnalysisInputError, match="a confidence level is a fraction between 0 and 1, such as 0.95"):
        fit_curves(table, level=level)
    fitted = fit_curves_with_params(table)
    with pytest.raises(AnalysisInputError, match="such as 0.95"):
        fitted.predict(0, [1e-6], level=level)


def test_potency_ratio_refuses_a_percent_level():
    fits = fit_curves(pd.concat([_curve("RSL3", 1e-7), _curve("RSL3 + Fer-1", 1e-5, 1)]))
    with pytest.raises(AnalysisInputError, match=r"^level=95: a confidence level is a fraction"):
        potency_ratio(fits, "RSL3 + Fer-1", "RSL3", level=95)
    ratio = potency_ratio(fits, "RSL3 + Fer-1", "RSL3", level=0.9)
    assert np.isfinite(ratio["ratio_lo"]) and ratio["ratio_lo"] > 1
