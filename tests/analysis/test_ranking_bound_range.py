"""ranking.csv states an EC50 beyond the doses, or open-topped, as fits.csv and the report do.

A walk-through's step-like fits (hill -20, flagged far_plateau_undetermined) had an
``ec50_lo`` of 9e-27 M and ranking.csv printed pEC50 26.05 with ``>``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.ranking import rank_compounds

DOSE_MIN, DOSE_MAX = 3.16212e-09, 1e-05


def _fits(ec50_lo: list[float], ec50: list[float]) -> pd.DataFrame:
    names = [f"c{i}" for i in range(len(ec50))]
    return pd.DataFrame({
        "curve": names, "treatment": names, "readout": "peak_ferroptosis", "call": "active",
        "effect": 0.125, "ec50": ec50, "ec50_lo": ec50_lo, "pec50": -np.log10(ec50), "q_value": 0.01,
        "flags": "poor_fit;at_bound;non_monotone;far_plateau_undetermined", "role": "sample", "group": "",
        "rescue_agent": "", "dose_min": DOSE_MIN, "dose_max": DOSE_MAX,
    })  # fmt: skip


def test_a_lower_bound_decades_below_the_doses_is_no_bound():
    """Was pEC50 26.05 with '>'; then '> lowest dose', which the interval does not support: now '?' as in the report."""
    fits = _fits(ec50_lo=[9.01001e-27], ec50=[1.46614e-06])
    row = rank_compounds(fits, None, ["ferroptosis"]).iloc[0]
    assert row["ec50_bound"] == "?"
    assert np.isnan(row["ec50"]) and np.isnan(row["pec50"])
    # the potency is still the fitted EC50's
    assert row["potency"] == pytest.approx(np.clip((-np.log10(1.46614e-06) - 4) / 5, 0, 1))


def test_a_lower_bound_inside_the_doses_is_shown_as_it_is():
    fits = _fits(ec50_lo=[4.8e-8], ec50=[9.4e-8])
    row = rank_compounds(fits, None, ["ferroptosis"]).iloc[0]
    assert (row["ec50_bound"], row["ec50"]) == (">", pytest.approx(4.8e-8))
    assert row["pec50"] == pytest.approx(-np.log10(4.8e-8))


def test_every_shown_ec50_lies_within_the_tested_doses():
    """'<' and '>' rows, open-topped or not, never show an EC50 outside [dose_min, dose_max]; an open end is '?'."""
    fits = _fits(ec50_lo=[1e-30, 1e-20, 1e-12, 5e-9, 2e-7], ec50=[1e-6, 5e-8, 1e-10, 1e-4, 3e-7])
    fits.loc[2:3, "flags"] = ""
    rk = rank_compounds(fits, None, ["ferroptosis"]).set_index("compound")
    shown = rk["ec50_bound"] != "?"
    assert rk.loc[shown, "ec50"].between(DOSE_MIN, DOSE_MAX).all(), rk["ec50"]
    assert rk.loc[~shown, "ec50"].isna().all()
    # c0, c1: lower ends decades below the doses; c2: below the doses without an upper end
    assert list(rk.loc[["c0", "c1", "c2"], "ec50_bound"]) == ["?", "?", "?"]
    # c3: fitted above the top dose, its interval from 5 nM: '> 5 nM', not '> 10 uM'
    assert (rk.loc["c3", "ec50_bound"], rk.loc["c3", "ec50"]) == (">", pytest.approx(5e-9))
    assert (rk.loc["c4", "ec50_bound"], rk.loc["c4", "ec50"]) == (">", pytest.approx(2e-7))


def test_ranking_states_each_ec50_as_fits_and_the_report_do():
    from ferroscreen.analysis.potency import ec50_bounds
    from ferroscreen.report.formatting import ec50_text

    fits = _fits(ec50_lo=[1e-30, 5e-9, 2e-7, 4.8e-8], ec50=[1e-6, 1e-4, 3e-7, 9.4e-8])
    fits.loc[1, "flags"] = ""
    rk = rank_compounds(fits, None, ["ferroptosis"]).set_index("compound")
    bound, value = ec50_bounds(fits)
    for i, name in enumerate(fits["curve"]):
        assert rk.loc[name, "ec50_bound"] == bound[i]
        assert rk.loc[name, "ec50"] == pytest.approx(value[i], nan_ok=True)
        row = {**fits.iloc[i].to_dict(), **rk.loc[name].to_dict()}
        assert ec50_text(row) == ec50_text(fits.iloc[i].to_dict())  # the report's text of either row
