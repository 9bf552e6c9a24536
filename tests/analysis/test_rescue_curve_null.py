"""Curve-design rescue calls rest on a test of the two dose series, not on point estimates.

A compound's dose series alone is compared with the same series plus a rescue agent. When the
agent does nothing, the rescued curve (fewer replicate wells) is now and then called inactive, or
its fitted effect comes out half that of the compound alone, by chance; neither may confirm the
mode. These tests fit many such pairs in one batch, so they run in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis import confirm_rescues
from ferroscreen.analysis.dose_response import fit_curves

DOSES = 1e-9 * 3.0 ** np.arange(8)  # 1 nM to 2.2 µM, as a 384-well screen's 8-point series
EC50S = (3e-9, 2e-8, 1e-7, 4e-7)


def _pairs(n_pairs: int, emax: float, noise: float, rescue: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n_pairs`` compounds alone (3 wells a dose) and + Fer-1 (2 wells a dose) on one plate each, with vehicle wells.

    The agent removes the share ``rescue`` of the effect (0: it does nothing). Returns the fits
    (with the curve info that ``analyse_screen`` joins) and the per-well table, as ``analyse_screen``
    hands them to :func:`confirm_rescues`.
    """
    rng = np.random.default_rng(seed)
    wells, doses = [], []
    for k in range(n_pairs):
        plate, ec50 = f"P{k}", EC50S[k % len(EC50S)]
        vehicle = 0.04 + rng.normal(0, noise, 16)
        wells += [dict(plate=plate, compound="DMSO", concentration=0.0, role="vehicle", frac_ferroptosis=v)
                  for v in vehicle]
        for agent, reps, keep in (("", 3, 1.0), ("Fer-1", 2, 1.0 - rescue)):
            curve = f"c{k} + Fer-1" if agent else f"c{k}"
            level = 0.04 + keep * emax / (1 + (ec50 / DOSES) ** 1.3)
            for d, y in zip(DOSES, level, strict=True):
                for v in y + rng.normal(0, noise, reps):
                    wells.append(dict(plate=plate, compound=f"c{k}", concentration=d, role="sample",
                                      rescue_agent=agent, frac_ferroptosis=v))
                    doses.append((curve, d, v))
            doses += [(curve, 0.0, v) for v in vehicle]  # each curve's zero dose: its plate's vehicle wells
    tab = pd.DataFrame(doses, columns=["curve", "dose", "response"]).assign(readout="frac_ferroptosis")
    fits = fit_curves(tab, plateau_bounds=(0.0, 1.0))
    fits["treatment"] = fits["curve"]
    fits["compound"] = fits["curve"].str.replace(" + Fer-1", "", regex=False)
    fits["rescue_agent"] = np.where(fits["curve"].str.endswith(" + Fer-1"), "Fer-1", "")
    fits["group"], fits["role"], fits["mode"] = "", "sample", ""
    wells = pd.DataFrame(wells).assign(group="", mode="")
    return fits, wells.fillna({"rescue_agent": ""})


def _curve_rows(fits: pd.DataFrame, wells: pd.DataFrame | None) -> pd.DataFrame:
    out = confirm_rescues(fits, wells)
    assert set(out["design"]) == {"curve"} and len(out) == len(fits) // 2
    return out


def test_an_agent_that_does_nothing_rarely_confirms():
    """Null pairs: the old rule confirmed a tenth or more of the active ones ("abolishes", "halved")."""
    fits, wells = _pairs(120, emax=0.15, noise=0.06, rescue=0.0, seed=11)
    out = _curve_rows(fits, wells)
    active = out[out["call_alone"] == "active"]
    assert len(active) >= 100
    assert (active["call_rescued"] != "active").mean() > 0.08  # chance misses of the rescued curve: no evidence
    assert active["confirms"].mean() <= 0.07, active.loc[active["confirms"], "verdict"].tolist()
    assert active["p_value"].between(0, 1).all() and (active["concentration"] == DOSES[-1]).all()
    assert (active["p_value"] <= 0.05).mean() <= 0.1  # the test of the top dose holds its size
    unshown = active[(active["call_rescued"] != "active") & ~active["confirms"]]
    assert unshown["verdict"].str.contains("neither confirmed nor ruled out|does not confirm").all()
    assert not out["verdict"].str.contains("abolishes").any()


def test_a_real_rescue_is_still_confirmed():
    """The agent takes the whole effect away: confirmed in the large majority, mostly as abolished."""
    fits, wells = _pairs(40, emax=0.2, noise=0.06, rescue=1.0, seed=12)
    out = _curve_rows(fits, wells)
    active = out[out["call_alone"] == "active"]
    assert len(active) >= 35
    assert active["confirms"].mean() >= 0.8
    hit = active[active["confirms"]]
    assert (hit["p_value"] <= 0.05).all() and (hit["effect_reduction_lo"] > 0).all()
    assert hit["verdict"].str.contains("rescue confirms ferroptosis").all()
    assert hit["verdict"].str.contains("abolishes the response").mean() > 0.5


def test_without_wells_to_compare_the_effect_is_not_assessable():
    """Fits alone (no wells to test the effect on): an inactive rescued curve confirms nothing."""
    fits, _ = _pairs(8, emax=0.2, noise=0.06, rescue=1.0, seed=13)
    out = _curve_rows(fits, None)
    abolished = out[(out["call_alone"] == "active") & (out["call_rescued"] != "active")]
    assert len(abolished) and not abolished["confirms"].any()
    assert abolished["verdict"].str.contains("rescue not assessable").all()
    assert abolished["p_value"].isna().all()
