"""A curve-design rescue whose rescued EC50 leaves the doses takes its shift bounds from the EC50 intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis import confirm_rescues
from ferroscreen.analysis.dose_response import fit_curves

DOSES = 1e-9 * 3.0 ** np.arange(8)  # 1 nM to 2.2 µM


def _shifted_pair(seed: int, rescued_ec50: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vehicle = 0.04 + rng.normal(0, 0.02, 16)
    wells, doses = [dict(compound="DMSO", concentration=0.0, role="vehicle", rescue_agent="", frac_ferroptosis=v)
                    for v in vehicle], []
    for agent, ec50 in (("", 1e-7), ("Fer-1", rescued_ec50)):
        curve = "c + Fer-1" if agent else "c"
        for d in DOSES:
            for v in 0.04 + 0.85 / (1 + (ec50 / d) ** 1.3) + rng.normal(0, 0.02, 3):
                wells.append(dict(compound="c", concentration=d, role="sample", rescue_agent=agent,
                                  frac_ferroptosis=v))
                doses.append((curve, d, v))
        doses += [(curve, 0.0, v) for v in vehicle]
    tab = pd.DataFrame(doses, columns=["curve", "dose", "response"]).assign(readout="frac_ferroptosis")
    fits = fit_curves(tab, plateau_bounds=(0.0, 1.0))
    fits["treatment"] = fits["curve"]
    fits["compound"] = "c"
    fits["rescue_agent"] = np.where(fits["curve"].str.endswith(" + Fer-1"), "Fer-1", "")
    fits["group"], fits["role"], fits["mode"] = "", "sample", ""
    wells = pd.DataFrame(wells).assign(plate="P1", group="", mode="")
    return confirm_rescues(fits, wells), fits


def test_a_rescued_ec50_above_the_doses_bounds_the_shift_by_the_intervals():
    out, fits = _shifted_pair(0, 4e-6)
    rescued = fits.set_index("curve").loc["c + Fer-1"]
    assert rescued["ec50_ci_method"] == "profile" or "far_plateau_undetermined" in str(rescued["flags"])
    row = out.iloc[0]
    assert row["design"] == "curve"
    assert np.isnan(row["fieller_lo"]) and np.isnan(row["fieller_hi"])  # no Wald SE to build them from
    assert 1 < row["shift_lo"] <= row["shift"] <= row["shift_hi"]
    alone = fits.set_index("curve").loc["c"]
    assert np.isclose(row["shift_lo"], rescued["ec50_lo"] / alone["ec50_hi"])


def test_a_bracketed_shift_keeps_its_wald_and_fieller_bounds():
    out, _ = _shifted_pair(1, 2e-7)
    row = out.iloc[0]
    assert np.isfinite(row["fieller_lo"]) and np.isfinite(row["fieller_hi"])
