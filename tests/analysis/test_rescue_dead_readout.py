"""Rescue calls on the dead fraction: a Fer-1 rescue of ``frac_dead`` confirms ferroptosis.

A dead-cell stain (``fit --dead``) or signal (``--signal dead``) gives ``frac_dead``, never a
``frac_ferroptosis``; the rescue is then judged on the dead fraction, not on a viability readout
that does not see the death (a phase count keeps the dead cells), and a compound that kills on one
readout is not called "not active" on another.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import confirm_rescues
from ferroscreen.analysis.screen import analyse_screen
from ferroscreen.plate import make_layout

DOSES = [1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5]
TIMES = np.arange(0, 49, 6.0)


def _stain_screen(seed: int = 4, single_dose: bool = False):
    """Counts of all cells (dead ones kept, as a phase count) and their dead fraction, as ``fit --dead`` makes.

    RSL3 alone kills (EC50 100 nM, 90 % dead at the top); with Fer-1 its EC50 is 100-fold right.
    The cell count does not fall with death, so ``viability`` sees nothing. ``single_dose``: RSL3 + Fer-1
    only at 10 µM (3 wells, 1000-fold right: hardly any death) beside the RSL3 curve.
    """
    rng = np.random.default_rng(seed)
    rows = [dict(well=f"A{c:02d}", compound="DMSO", role="vehicle", replicate=c) for c in range(1, 9)]
    for r, rep in (("B", 1), ("C", 2)):
        rows += [dict(well=f"{r}{k + 1:02d}", compound="RSL3", concentration=d, replicate=rep)
                 for k, d in enumerate(DOSES)]
    rescue = dict(compound="RSL3", role="rescue", rescue_agent="Ferrostatin-1", rescue_concentration=1e-6)
    if single_dose:
        rows += [dict(well=f"D{k + 1:02d}", concentration=1e-5, replicate=k + 1, **rescue) for k in range(3)]
    else:
        for r, rep in (("D", 1), ("E", 2)):
            rows += [dict(well=f"{r}{k + 1:02d}", concentration=d, replicate=rep, **rescue)
                     for k, d in enumerate(DOSES)]
    layout = make_layout(rows, 96)
    records = []
    for row in layout.table.itertuples(index=False):
        dose = row.concentration if np.isfinite(row.concentration) else 0.0
        ec50 = (1e-4 if single_dose else 1e-5) if row.rescue_agent else 1e-7
        emax = 0.9 / (1 + (ec50 / dose) ** 1.5) if dose > 0 else 0.0
        for t in TIMES:
            n = rng.poisson(400 * 2 ** (t / 30))
            frac = 0.03 + emax * (1 - np.exp(-t / 12))
            records.append(dict(plate="P1", well=row.well, time_h=t, n_cells=n, frac_dead=rng.binomial(n, frac) / n))
    return pd.DataFrame(records), layout


def test_a_curve_rescue_is_judged_on_the_dead_fraction_not_on_viability():
    wells, layout = _stain_screen()
    result = analyse_screen(wells, layout)
    fits = result.fits.set_index(["curve", "readout"])
    assert fits.loc[("RSL3", "frac_dead"), "call"] == "active"
    assert fits.loc[("RSL3", "viability"), "call"] != "active"  # the phase count keeps the dead cells
    row = result.rescue.iloc[0]
    assert row["design"] == "curve" and row["mode"] == "ferroptosis"
    assert row["readout"] == "frac_dead"  # was viability: "RSL3 alone is not active on viability"
    assert row["call_alone"] == "active" and row["confirms"], row["verdict"]
    assert row["shift"] == pytest.approx(100, rel=0.5)
    assert "RSL3 + Ferrostatin-1 rescue confirms ferroptosis (EC50 shift" in row["verdict"]


@pytest.mark.parametrize(("prefer", "readout"), [("auc", "auc_dead"), ("frac", "frac_dead")])
def test_a_single_dose_rescue_is_judged_on_the_dead_fraction(prefer, readout):
    wells, layout = _stain_screen(single_dose=True)
    result = analyse_screen(wells, layout)
    row = confirm_rescues(result.fits, result.wells, single_dose_readout=prefer).iloc[0]
    if prefer == "auc":  # the default, as fit writes it
        assert row.drop("verdict").equals(result.rescue.iloc[0].drop("verdict"))
    assert row["design"] == "single_dose" and row["alone_source"] == "wells" and row["n_alone"] == 2
    assert row["readout"] == readout  # was: viability (or, without it, "no wells ... of RSL3 alone")
    assert row["call_alone"] == "active" and row["confirms"], row["verdict"]
    assert row["frac_reduction"] > 0.8 and row["auc_reduction"] > 0.8  # the dead fraction's, no mode fraction here
    assert f"; {readout}, " in row["verdict"] and " vs 2 wells of RSL3 alone" in row["verdict"]


def _single(compound, role, agent="", **values):
    n = len(next(iter(values.values())))
    return pd.DataFrame({"plate": "P1", "compound": compound, "concentration": 1e-6 if role != "vehicle" else np.nan,
                         "role": [role] * n, "mode": "", "rescue_agent": agent, "group": "", **values})


def test_the_readout_on_which_the_compound_alone_is_active_decides():
    """A classifier that misses the ferroptosis: RSL3 is inactive on ``frac_ferroptosis`` but kills on ``frac_dead``."""
    tab = pd.concat([
        _single("DMSO", "vehicle", frac_ferroptosis=[0.02, 0.03, 0.02, 0.03], frac_dead=[0.05, 0.06, 0.05, 0.04]),
        _single("RSL3", "reference", frac_ferroptosis=[0.03, 0.02, 0.03], frac_dead=[0.80, 0.85, 0.78]),
        _single("RSL3", "rescue", "Fer-1", frac_ferroptosis=[0.02, 0.03, 0.02], frac_dead=[0.08, 0.10, 0.07]),
        _single("inert", "sample", frac_ferroptosis=[0.03, 0.02, 0.03], frac_dead=[0.05, 0.06, 0.05]),
        _single("inert", "rescue", "Fer-1", frac_ferroptosis=[0.02, 0.03, 0.02], frac_dead=[0.05, 0.04, 0.06]),
    ], ignore_index=True)
    out = confirm_rescues(pd.DataFrame(), tab).set_index("compound")
    rsl3 = out.loc["RSL3"]
    assert rsl3["readout"] == "frac_dead" and rsl3["call_alone"] == "active" and rsl3["confirms"], rsl3["verdict"]
    assert rsl3["frac_reduction"] == pytest.approx(rsl3["effect_reduction"])  # the frac_ columns follow frac_dead
    # active on neither: the first readout (the mode's) decides and says so
    inert = out.loc["inert"]
    assert inert["readout"] == "frac_ferroptosis" and inert["call_alone"] == "inactive" and not inert["confirms"]
    assert "inert alone changes frac_ferroptosis by only" in inert["verdict"]


def test_a_curve_pair_prefers_the_readout_the_compound_alone_is_active_on():
    def fit(curve, agent, readout, call, effect, ec50):
        return dict(curve=curve, treatment="RSL3", compound="RSL3", rescue_agent=agent, group="", mode="",
                    role="rescue" if agent else "sample", readout=readout, call=call, effect=effect, ec50=ec50,
                    ec50_se=0.1 * ec50, df=30.0, dose_min=1e-9, dose_max=1e-5)

    fits = pd.DataFrame([
        fit("RSL3", "", "viability", "inactive", -0.03, 3e-6),
        fit("RSL3 + Fer-1", "Fer-1", "viability", "inactive", -0.02, 3e-6),
        fit("RSL3", "", "frac_dead", "active", 0.85, 1e-7),
        fit("RSL3 + Fer-1", "Fer-1", "frac_dead", "active", 0.80, 1e-5),
    ])
    row = confirm_rescues(fits).iloc[0]
    assert row["readout"] == "frac_dead" and row["call_alone"] == "active"
    assert row["shift"] == pytest.approx(100) and row["confirms"], row["verdict"]
    # no fit of the dead fraction: viability decides, and says the compound is not active on it
    row = confirm_rescues(fits[fits["readout"] == "viability"]).iloc[0]
    assert row["readout"] == "viability" and not row["confirms"]
    assert "RSL3 alone is not active on viability" in row["verdict"]



def test_an_effect_alone_whose_interval_holds_zero_is_no_effect():
    """RSL3 alone +0.35 over vehicle, 2 wells far apart: its interval (df ~1) holds 0, so the rescue is not assessable.

    The check took an interval with either end on the death side as excluding 0 (the demo's RSL3 + Fer-1:
    effect alone 0.35, 95% CI -0.23 to 0.93, called active and "rescue confirms ferroptosis").
    """
    tab = pd.concat([
        _single("DMSO", "vehicle", frac_ferroptosis=[0.02, 0.03, 0.02, 0.03, 0.02, 0.03]),
        _single("RSL3", "reference", frac_ferroptosis=[0.10, 0.66]),
        _single("RSL3", "rescue", "Fer-1", frac_ferroptosis=[0.03, 0.04]),
    ], ignore_index=True)
    row = confirm_rescues(pd.DataFrame(), tab).iloc[0]
    assert row["effect_alone_lo"] < 0 < row["effect_alone_hi"], row.to_dict()
    assert row["call_alone"] == "inactive" and not row["confirms"], row["verdict"]
    assert row["verdict"].endswith("rescue not assessable")
    # the same arms, close together: an effect, and the verdict counts each arm's wells
    tab.loc[tab["compound"].eq("RSL3") & tab["role"].eq("reference"), "frac_ferroptosis"] = [0.36, 0.40]
    row = confirm_rescues(pd.DataFrame(), tab).iloc[0]
    assert row["call_alone"] == "active" and row["confirms"], row["verdict"]
    assert "frac_ferroptosis, 2 wells with Fer-1 vs 2 wells of RSL3 alone" in row["verdict"]
