"""A flat curve's EC50 is no potency: fits.csv marks it, the ranking and the report leave it out.

Also: ranking tiers agree with the activity call (an active curve that goes the other way is
``opposite``, not ``inactive``), and an endpoint-only dead-cell read fits its fraction once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.analysis import fit_curves, rank_compounds
from ferroscreen.analysis.screen import analyse_screen
from ferroscreen.cli import app
from ferroscreen.plate import make_layout

DOSES = [1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5]
TRUTH = {  # viability at a dose
    "KILL": lambda d: 0.05 + 0.95 / (1 + (d / 2e-7) ** 1.3),
    "FLAT": lambda d: 1.0,
    "GROW": lambda d: 1.0 + 0.6 / (1 + (5e-7 / d) ** 1.5),  # proliferates to 1.6x the vehicle
}


def _screen(seed: int = 4, times=(72.0,)):
    rng = np.random.default_rng(seed)
    rows = [dict(well=f"A{k + 1:02d}", compound="DMSO", role="vehicle") for k in range(8)]
    wells = iter(f"{r}{c:02d}" for r in "BCDEFGH" for c in range(1, 13))
    for name in TRUTH:
        for rep in (1, 2):
            rows += [dict(well=next(wells), compound=name, concentration=d, replicate=rep) for d in DOSES]
    layout = make_layout(rows, 96)
    records = []
    for row in layout.table.itertuples(index=False):
        level = 1.0 if row.role == "vehicle" else TRUTH[row.compound](row.concentration)
        for t in times:
            records.append(dict(plate="P1", well=row.well, time_h=t,
                                n_cells=int(round(2000 * level * (1 + rng.normal(0, 0.03))))))
    return pd.DataFrame(records), layout


def test_fits_keep_a_flat_curves_parameters_but_mark_them_not_reportable():
    rng = np.random.default_rng(2)
    dose = np.repeat([0.0, *DOSES], 3)
    tab = pd.concat([
        pd.DataFrame({"curve": "flat", "dose": dose, "response": 1 + rng.normal(0, 0.03, dose.size)}),
        pd.DataFrame({"curve": "kill", "dose": dose, "response": TRUTH["KILL"](np.maximum(dose, 1e-30))
                      + rng.normal(0, 0.03, dose.size)}),
    ])
    fits = fit_curves(tab).set_index("curve")
    assert fits.loc["flat", "call"] == "inactive" and fits.loc["kill", "call"] == "active"
    assert np.isfinite(fits.loc["flat", "ec50"])  # the raw fitted value stays (backwards compatible)
    assert not bool(fits.loc["flat", "ec50_reportable"])
    assert bool(fits.loc["kill", "ec50_reportable"])


def test_ranking_leaves_a_flat_curves_potency_empty_and_tiers_agree_with_calls():
    wells, layout = _screen()
    res = analyse_screen(wells, layout)
    rk = res.ranking.set_index("compound")
    calls = res.fits.set_index("curve")["call"]
    assert calls["KILL"] == "active" and calls["FLAT"] == "inactive" and calls["GROW"] == "active"
    assert np.isfinite(res.fits.set_index("curve").loc["FLAT", "ec50"])
    assert np.isnan(rk.loc["FLAT", "ec50"]) and np.isnan(rk.loc["FLAT", "pec50"])
    assert rk.loc["FLAT", "ec50_bound"] == ""
    assert rk.loc["KILL", "pec50"] == pytest.approx(-np.log10(2e-7), abs=0.15)
    # rising viability: an active call, but no growth inhibition: tier "opposite", not "inactive"
    assert rk.loc["GROW", "tier"] == "opposite" and rk.loc["GROW", "call"] == "active"
    assert np.isfinite(rk.loc["GROW", "ec50"])  # a real effect keeps its EC50
    assert rk.loc["KILL", "tier"] == "active" and rk.loc["FLAT", "tier"] == "inactive"
    assert rk["rank"].to_dict() == {"KILL": 1, "FLAT": 2, "GROW": 3}


def test_rank_compounds_blanks_failed_and_inactive_rows():
    fits = pd.DataFrame({
        "curve": ["a", "b", "c"], "treatment": ["a", "b", "c"], "readout": "viability",
        "call": ["active", "inactive", "failed"], "effect": [-0.9, -0.01, np.nan],
        "ec50": [1e-7, 1.4e-8, np.nan], "pec50": [7.0, 7.85, np.nan], "q_value": [1e-6, 0.7, np.nan],
        "flags": ["", "", "failed"], "role": "sample", "group": "", "rescue_agent": "",
        "dose_min": 1e-9, "dose_max": 1e-5,
    })
    rk = rank_compounds(fits, None, []).set_index("compound")
    assert rk.loc["a", "pec50"] == pytest.approx(7.0)
    assert rk.loc[["b", "c"], ["ec50", "pec50"]].isna().all().all()


def test_an_open_topped_ec50_ranks_as_a_lower_bound_scored_on_its_fit():
    """far_plateau_undetermined: ranking shows '> ec50_lo' (the data's statement), potency from the fitted EC50."""
    fits = pd.DataFrame({
        "curve": ["open", "plain"], "treatment": ["open", "plain"], "readout": "viability",
        "call": "active", "effect": [-0.5, -0.5], "ec50": [8e-7, 8e-7], "ec50_lo": [6e-7, 6e-7],
        "pec50": [-np.log10(8e-7)] * 2, "q_value": 1e-6, "flags": ["far_plateau_undetermined", ""],
        "role": "sample", "group": "", "rescue_agent": "", "dose_min": 1e-9, "dose_max": 6.6e-6,
    })
    rk = rank_compounds(fits, None, []).set_index("compound")
    assert rk.loc["open", "ec50"] == pytest.approx(6e-7) and rk.loc["open", "ec50_bound"] == ">"
    assert rk.loc["open", "pec50"] == pytest.approx(-np.log10(6e-7))
    assert rk.loc["plain", "ec50"] == pytest.approx(8e-7) and rk.loc["plain", "ec50_bound"] == ""
    assert rk.loc["open", "potency"] == pytest.approx(rk.loc["plain", "potency"])  # not raised by the bound


def test_report_shows_no_potency_for_inactive_curves(tmp_path):
    from ferroscreen.report.compounds import list_compounds
    from ferroscreen.report.results import load_results
    from ferroscreen.report.tables import fits_table, ranking_tables

    wells, layout = _screen()
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    out = CliRunner().invoke(app, ["fit", str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "layout.csv"),
                                   "--out", str(tmp_path / "fit")])
    assert out.exit_code == 0, out.output
    res = load_results(tmp_path / "fit")
    # an older ranking.csv kept the flat fit's EC50: the report must not show it either
    res.ranking.loc[res.ranking["compound"] == "FLAT", ["ec50", "pec50"]] = [1.41e-8, 7.85]
    (table,) = ranking_tables(res, {})
    cols = table["columns"]
    by_name = {row[cols.index("compound")]["text"]: row for row in table["rows"]}
    flat = by_name["FLAT"]
    assert flat[cols.index("ec50")]["text"] == "n/a (inactive)"
    assert flat[cols.index("pec50")]["text"] == ""
    assert by_name["KILL"][cols.index("ec50")]["text"].endswith("nM")
    infos, _ = list_compounds(res)
    info = next(i for i in infos if i.name == "FLAT")
    ft = fits_table(info)
    row = ft["rows"][0]
    shown = dict(zip(ft["columns"], (c["text"] for c in row), strict=True))
    assert shown["EC50"] == "n/a (inactive)"
    assert shown["95% CI"] == shown["pEC50"] == shown["hill"] == ""
    kill = fits_table(next(i for i in infos if i.name == "KILL"))
    shown = dict(zip(kill["columns"], (c["text"] for c in kill["rows"][0]), strict=True))
    assert shown["EC50"].endswith("nM") and shown["pEC50"] and shown["95% CI"]


def test_an_endpoint_dead_read_fits_its_fraction_once():
    """One time point per well: peak_<mode> would duplicate frac_<mode>, so it is not fitted (a note says so)."""
    rng = np.random.default_rng(1)
    rows = [dict(well=f"A{k + 1:02d}", compound="DMSO", role="vehicle") for k in range(6)]
    rows += [dict(well=f"{r}{c:02d}", compound=name, concentration=d)
             for r, name in (("B", "RSL3"), ("C", "RSL3"), ("D", "FLAT"), ("E", "FLAT"))
             for c, d in enumerate(DOSES, start=1)]
    layout = make_layout(rows, 96)
    recs = []
    for row in layout.table.itertuples(index=False):
        dead = 0.05 if row.compound != "RSL3" else 0.05 + 0.85 / (1 + (2e-7 / row.concentration) ** 2)
        recs.append(dict(plate="P1", well=row.well, time_h=24.0, n_cells=1000,
                         frac_dead=float(np.clip(dead + rng.normal(0, 0.02), 0, 1)),
                         frac_alive=float(np.clip(1 - dead, 0, 1))))
    res = analyse_screen(pd.DataFrame(recs), layout)
    assert "peak_dead" not in set(res.fits["readout"])
    dead = res.fits[res.fits["readout"] == "frac_dead"]
    assert len(dead) == 2 and (dead["call"] == "active").sum() == 1  # each compound counted once
    assert set(res.ranking["readout"]) == {"frac_dead"}
    assert any("one time point per well" in n and "peak_dead" in n for n in res.notes)
    # a kinetic read still fits both
    kinetic = pd.concat([pd.DataFrame(recs).assign(time_h=t) for t in (0.0, 12.0, 24.0)], ignore_index=True)
    assert {"frac_dead", "peak_dead"} <= set(analyse_screen(kinetic, layout).fits["readout"])
