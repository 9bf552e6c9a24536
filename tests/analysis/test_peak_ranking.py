"""Peak readouts and the readout the ranking uses (``rank_on``)."""

from __future__ import annotations

import numpy as np
import pytest

from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.analysis.ranking import rank_compounds
from ferroscreen.analysis.readouts import running_mean, summarise_wells
from ferroscreen.analysis.screen import analyse_screen


def test_running_mean_by_hand():
    times = np.array([0.0, 4.0, 8.0, 12.0])
    vals = np.array([[0.0, 0.3, 0.6, np.nan], [1.0, np.nan, np.nan, np.nan]])
    out = running_mean(times, vals, 8.0)  # neighbours within 4 h
    np.testing.assert_allclose(out[0], [0.15, 0.3, 0.45, 0.6])
    np.testing.assert_allclose(out[1], [1.0, 1.0, np.nan, np.nan])
    np.testing.assert_array_equal(running_mean(times, vals, 0.0), vals)


def cleared(wells, layout, compound="erastin", after_h=30.0, half_life_h=4.0):
    """The screen with ``compound``'s dead cells fading from view after ``after_h``.

    Its ferroptosis fraction falls back towards the vehicle level, as when
    label-free detection stops finding the cells that died early.
    """
    out = wells.copy()
    treated = layout.table.loc[layout.table["compound"] == compound, "well"]
    rows = out["well"].isin(treated) & (out["time_h"] > after_h)
    decay = 0.5 ** ((out.loc[rows, "time_h"] - after_h) / half_life_h)
    excess = out.loc[rows, "frac_ferroptosis"] - 0.03
    out.loc[rows, "frac_ferroptosis"] = 0.03 + excess * decay
    out.loc[rows, "frac_alive"] = 1 - out.loc[rows, "frac_ferroptosis"] - out.loc[rows, "frac_apoptosis"]
    return out


def test_peak_keeps_a_death_that_cleared_before_the_endpoint(screen):
    wells, layout = screen
    summary = summarise_wells(cleared(wells, layout)).merge(layout.table[["well", "compound", "concentration", "role"]])
    top = summary[(summary["compound"] == "erastin") & (summary["concentration"] == 1e-5) & (summary["role"] == "sample")]
    assert len(top) == 2
    assert (top["frac_ferroptosis"] < 0.15).all()  # back near the vehicle level at 48 h
    assert (top["peak_ferroptosis"] > 0.6).all()  # the ~0.8 plateau, smoothed over 8 h
    vehicle = summary[summary["compound"] == "DMSO"]
    assert (vehicle["peak_ferroptosis"] < 0.1).all()


def test_rank_on_peak_finds_the_fast_killer_the_endpoint_misses(screen):
    wells, layout = screen
    wells = cleared(wells, layout)
    peak = analyse_screen(wells, layout)  # default rank_on="peak"
    endpoint = analyse_screen(wells, layout, rank_on="endpoint")
    row = peak.ranking[(peak.ranking["mode"] == "ferroptosis") & (peak.ranking["compound"] == "erastin")].iloc[0]
    assert row["readout"] == "peak_ferroptosis" and row["tier"] == "active" and row["rank"] == 1
    assert abs(np.log10(row["ec50"] / 3e-7)) < 0.3
    row = endpoint.ranking[
        (endpoint.ranking["mode"] == "ferroptosis") & (endpoint.ranking["compound"] == "erastin")
    ].iloc[0]
    assert row["readout"] == "frac_ferroptosis" and row["tier"] == "inactive"
    # both fit the endpoint fractions (report plots, EC50 over time); only peak adds peak_<mode>
    assert {"frac_ferroptosis", "peak_ferroptosis"} <= set(peak.fits["readout"])
    assert "peak_ferroptosis" not in set(endpoint.fits["readout"])


def test_plate_qc_judges_the_ranked_readout(screen):
    """References whose dead cells faded by the endpoint: no window left at 48 h, a good one at the peak."""
    wells, layout = screen
    wells = cleared(wells, layout, compound="RSL3", after_h=24.0)
    peak = analyse_screen(wells, layout).qc.set_index("readout")
    endpoint = analyse_screen(wells, layout, rank_on="endpoint").qc.set_index("readout")
    assert peak.loc["peak_ferroptosis", "pass"] and peak.loc["peak_ferroptosis", "z_prime"] > 0.5
    assert not endpoint.loc["frac_ferroptosis", "pass"]
    assert "low_z_prime" in endpoint.loc["frac_ferroptosis", "flags"]


def test_rank_falls_back_to_endpoint_when_the_readout_was_not_fitted(screen):
    wells, layout = screen
    res = analyse_screen(wells, layout, readouts=["frac_ferroptosis", "frac_apoptosis"], rank_on="auc")
    assert set(res.ranking["readout"]) == {"frac_ferroptosis", "frac_apoptosis"}
    with pytest.raises(ValueError, match="rank_on"):
        rank_compounds(res.fits, None, ["ferroptosis"], rank_on="median")
    with pytest.raises(AnalysisInputError, match="rank_on"):
        analyse_screen(wells, layout, rank_on="median")


def test_report_plots_the_ranked_readout_with_its_dose_points(screen, tmp_path):
    from ferroscreen.analysis.screen import write_outputs
    from ferroscreen.output_set import OutputSet
    from ferroscreen.report import load_results
    from ferroscreen.report.compounds import dose_points, list_compounds

    wells, layout = screen
    wells = cleared(wells, layout)
    result = analyse_screen(wells, layout)
    with OutputSet(tmp_path) as outputs:
        write_outputs(result, outputs)
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    res = load_results(tmp_path)
    erastin = next(c for c in list_compounds(res)[0] if c.name == "erastin")
    row = erastin.curves["ferroptosis"]
    assert row["readout"] == "peak_ferroptosis"
    assert erastin.rescue["Fer-1"]["ferroptosis"]["readout"] == "peak_ferroptosis"  # overlaid on the same readout
    pts = dose_points(res, "erastin", "", row, "ferroptosis")
    summary = result.wells.set_index("well")
    treated = layout.table[(layout.table["compound"] == "erastin") & (layout.table["role"] == "sample")]
    vehicle = layout.table[layout.table["role"] == "vehicle"]
    assert len(pts) == len(treated) + len(vehicle)
    expected = summary.loc[list(treated["well"]) + list(vehicle["well"]), "peak_ferroptosis"]
    assert sorted(pts["response"].round(9)) == sorted(expected.round(9))
    # the plate maps show the death modes at their peak too, as ranked
    from ferroscreen.report import build_report

    html = build_report(tmp_path, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "peak fractions: the highest of the time course, as ranked" in html


def test_a_well_unread_at_the_endpoint_gets_no_endpoint_readouts_and_is_named():
    """An earlier scan's count must not stand in for the endpoint: a well imaged at 0 h only read as 'dead'."""
    import pandas as pd

    times = [0.0, 4.0, 8.0]
    rows = [{"plate": "P", "well": w, "time_h": t, "n_cells": 100.0 + t, "frac_ferroptosis": 0.1 * t}
            for w in ("A01", "A02", "A03") for t in times]
    wells = pd.DataFrame(rows)
    lost = (wells["well"] == "A02") & (wells["time_h"] > 0)
    wells.loc[lost, ["n_cells", "frac_ferroptosis"]] = np.nan
    notes: list[str] = []
    s = summarise_wells(wells, notes=notes).set_index("well")
    assert np.isnan(s.loc["A02", "n_cells_end"]) and np.isnan(s.loc["A02", "frac_ferroptosis"])
    assert np.isnan(s.loc["A02", "frac_dead"])  # no mode read at the endpoint: no dead fraction either
    assert s.loc["A01", "n_cells_end"] == 108.0 and s.loc["A01", "frac_ferroptosis"] == pytest.approx(0.8)
    assert notes == ["plate P: 1 well(s) have no reading at the endpoint scan (8 h) and no endpoint readouts "
                     "(A02); an earlier scan does not stand in for it"]
    notes.clear()
    s = summarise_wells(wells, endpoint_h=6, notes=notes)
    assert (s["time_end_h"] == 4.0).all()
    assert notes[0] == "plate P: the endpoint 6 h falls between scans (4 h and 8 h); the scan at 4 h is the endpoint"
    notes.clear()
    summarise_wells(wells, endpoint_h=100, notes=notes)
    assert notes[0] == "plate P: the endpoint 100 h falls after the last scan (8 h); the scan at 8 h is the endpoint"


def test_a_well_with_no_cell_left_at_the_endpoint_is_said_as_such():
    """Every cell gone by the endpoint (a full kill): its count 0 stands, its fractions are undefined; the
    note said 'no reading', as for a well not imaged."""
    import pandas as pd

    rows = [{"plate": "P", "well": w, "time_h": t, "n_cells": 100.0 - 12 * t * (w == "A02"),
             "frac_ferroptosis": 0.1 * t} for w in ("A01", "A02") for t in (0.0, 4.0, 8.0)]
    wells = pd.DataFrame(rows)
    gone = (wells["well"] == "A02") & (wells["time_h"] == 8)
    wells.loc[gone, "n_cells"] = 0.0
    wells.loc[gone, "frac_ferroptosis"] = np.nan
    notes: list[str] = []
    s = summarise_wells(wells, notes=notes).set_index("well")
    assert s.loc["A02", "n_cells_end"] == 0 and np.isnan(s.loc["A02", "frac_ferroptosis"])
    assert s.loc["A02", "peak_ferroptosis"] > 0
    assert notes == ["plate P: 1 well(s) have no cell left at the endpoint scan (8 h), so no endpoint fractions "
                     "(A02); their counts, peaks and AUCs stand"]
