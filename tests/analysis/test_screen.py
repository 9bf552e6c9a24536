"""Time-course readouts, dose tables, ranking, rescue confirmation, QC, EC50 over time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.readouts import summarise_wells
from ferroscreen.analysis.screen import analyse_screen, ec50_over_time


@pytest.fixture(scope="module")
def result(screen):
    wells, layout = screen
    return analyse_screen(wells, layout)


def test_readouts_per_well(screen):
    wells, _ = screen
    summary = summarise_wells(wells)
    assert len(summary) == wells[["plate", "well"]].drop_duplicates().shape[0]
    for col in ("frac_ferroptosis", "auc_ferroptosis", "t50_ferroptosis", "onset_ferroptosis",
                "frac_dead", "n_cells_end", "n_cells_t0", "dip_rate"):
        assert col in summary.columns
    # the top erastin dose reaches half its rise near the simulated 18 h
    top = summary.loc[summary["frac_ferroptosis"].idxmax()]
    assert 12 < top["t50_ferroptosis"] < 24
    assert top["onset_ferroptosis"] < top["t50_ferroptosis"]
    assert 0 < top["auc_ferroptosis"] < top["frac_ferroptosis"]


def test_endpoint_option_changes_readouts(screen):
    wells, _ = screen
    early = summarise_wells(wells, endpoint_h=12)
    assert (early["time_end_h"] == 12).all()
    late = summarise_wells(wells)
    assert early["frac_ferroptosis"].max() < late["frac_ferroptosis"].max()


def test_fits_recover_truth(result):
    fits = result.fits.set_index(["curve", "readout"])
    erastin = fits.loc[("erastin", "frac_ferroptosis")]
    assert erastin["call"] == "active" and abs(np.log10(erastin["ec50"] / 3e-7)) < 0.15
    stauro = fits.loc[("staurosporine", "frac_apoptosis")]
    assert stauro["call"] == "active" and abs(np.log10(stauro["ec50"] / 3e-8)) < 0.15
    assert fits.loc[("inert", "frac_ferroptosis"), "call"] == "inactive"
    assert fits.loc[("erastin", "viability"), "hill"] > 0  # viability falls
    assert {"compound", "treatment", "rescue_agent", "group", "role"} <= set(result.fits.columns)


def test_ranking_per_mode(result):
    rk = result.ranking
    assert {"mode", "rank", "compound", "score", "potency", "efficacy", "selectivity",
            "speed"} <= set(rk.columns)
    top = rk[rk["rank"] == 1].set_index("mode")["compound"]
    assert top["ferroptosis"] == "erastin" and top["apoptosis"] == "staurosporine"
    assert not rk["compound"].str.contains(r"\+").any()  # rescue curves are not ranked
    ferro = rk[(rk["mode"] == "ferroptosis") & (rk["compound"] == "erastin")].iloc[0]
    assert ferro["selectivity"] == pytest.approx(1.0)
    assert 0 < ferro["speed"] < 1


def test_rescue_confirms_ferroptosis(result):
    rescue = result.rescue
    assert len(rescue) == 1
    row = rescue.iloc[0]
    assert row["mode"] == "ferroptosis" and row["readout"] == "frac_ferroptosis"
    assert row["confirms"], row["verdict"]
    assert 10 < row["shift"] < 100 and row["shift_lo"] > 1
    assert row["verdict"].startswith("erastin + Fer-1 rescue confirms ferroptosis")


def test_plate_qc(result):
    qc = result.qc.set_index("readout")  # the readout the ranking uses: peak fractions by default
    assert qc.loc["peak_ferroptosis", "z_prime"] > 0.5
    assert qc.loc["peak_ferroptosis", "pass"]
    assert np.isfinite(qc.loc["peak_apoptosis", "robust_z_prime"])
    assert qc.loc["peak_apoptosis", "ssmd"] > 3


def test_qc_flags_a_bad_plate(screen):
    wells, layout = screen
    noisy = wells.copy()
    rng = np.random.default_rng(0)
    noisy["frac_ferroptosis"] = np.clip(noisy["frac_ferroptosis"]
                                        + rng.normal(0, 0.3, len(noisy)), 0, 1)
    qc = analyse_screen(noisy, layout, readouts=["frac_ferroptosis"]).qc.set_index("readout")
    assert not qc.loc["frac_ferroptosis", "pass"]
    assert "low_z_prime" in qc.loc["frac_ferroptosis", "flags"]


def test_binomial_model_and_readout_errors(screen):
    wells, layout = screen
    res = analyse_screen(wells, layout, model="ll2", readouts=["frac_ferroptosis"])
    assert (res.fits["model"] == "ll2").all()
    with pytest.raises(AnalysisInputError, match="readout 'frac_bogus' is not available"):
        analyse_screen(wells, layout, readouts=["frac_bogus"])
    with pytest.raises(AnalysisInputError, match="binomial"):
        analyse_screen(wells, layout, model="ll2", readouts=["viability"])
    viability_only = wells.drop(columns=[c for c in wells.columns if c.startswith("frac_") or c.startswith("n_")
                                         and c not in ("n_cells", "n_cells_end")], errors="ignore")
    with pytest.raises(AnalysisInputError, match=r"nothing to fit .*model ll2 \(binomial\) fits fractions of counted "
                                                 r"cells .* fit its viability"):
        analyse_screen(viability_only, layout, model="ll2")  # a CTG read: ll2 has nothing of its kind


def test_ec50_over_time(screen):
    wells, layout = screen
    over = ec50_over_time(wells, layout, readouts=["frac_ferroptosis"], times_h=[16, 32, 48])
    erastin = over[over["curve"] == "erastin"].set_index("time_h")
    assert list(erastin.index) == [16, 32, 48]
    assert erastin.loc[48, "call"] == "active"
    assert abs(np.log10(erastin.loc[48, "ec50"] / 3e-7)) < 0.2


def test_missing_layout_wells_is_an_error(screen):
    wells, layout = screen
    other = wells.assign(well=wells["well"].str.replace("A", "Z", regex=False))
    with pytest.raises(AnalysisInputError):
        analyse_screen(other[other["well"].str.startswith("Z")], layout)


def test_vehicle_wells_of_several_kinds_are_said():
    from ferroscreen.analysis.screen import pooled_vehicles

    annotated = pd.DataFrame({"plate": ["P1"] * 4 + ["P2"] * 2, "role": ["vehicle", "vehicle", "sample", "vehicle",
                                                                         "vehicle", "vehicle"],
                              "compound": ["DMSO", "untreated", "RSL3", "DMSO", "DMSO", "DMSO"]})
    assert pooled_vehicles(annotated) == ["plate P1: vehicle wells of 2 kinds (DMSO, untreated) are one vehicle; "
                                          "give the others role neg_ctrl to keep them apart, or empty where "
                                          "they hold no cells"]
