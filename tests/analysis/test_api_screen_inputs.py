"""analyse_screen, summarise_wells and ec50_over_time driven from the Python API with notebook-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import analyse_screen, ec50_over_time, summarise_wells
from ferroscreen.analysis.inputs import AnalysisInputError


def test_wells_without_a_plate_are_refused_not_dropped(screen):
    wells, layout = screen
    wells = wells.astype({"plate": object})
    wells.loc[wells["well"].isin(["B05", "C05"]), "plate"] = np.nan
    n = int(wells["plate"].isna().sum())
    first = np.flatnonzero(wells["plate"].isna().to_numpy())[:5] + 2
    said = (f"^wells\\.csv: {n} row\\(s\\) have no plate \\(rows {', '.join(map(str, first))} and {n - 5} more; "
            f"wells B05, C05\\): give every row its plate$")
    with pytest.raises(AnalysisInputError, match=said):
        summarise_wells(wells, source="wells.csv")
    with pytest.raises(AnalysisInputError, match=said):
        analyse_screen(wells, layout, source="wells.csv")


def test_a_well_left_empty_is_said_not_an_index_error(screen):
    wells, _ = screen
    wells = wells.astype({"well": object})
    wells.loc[3, "well"] = None
    with pytest.raises(AnalysisInputError, match=r"^table: column 'well' index 3: empty, not a well name$"):
        summarise_wells(wells)


def test_the_index_is_not_read(screen):
    wells, layout = screen
    indexed = wells.set_index(["plate", "well"], drop=False)
    base = analyse_screen(wells, layout, readouts=["frac_ferroptosis"])
    res = analyse_screen(indexed, layout, readouts=["frac_ferroptosis"])
    assert res.fits[["curve", "ec50"]].equals(base.fits[["curve", "ec50"]])
    moved = analyse_screen(wells.set_index(["plate", "well"]), layout, readouts=["frac_ferroptosis"])
    assert moved.fits[["curve", "ec50"]].equals(base.fits[["curve", "ec50"]])  # levels that are not columns


def test_exclude_takes_a_string_of_wells(screen):
    wells, layout = screen
    res = analyse_screen(wells, layout, readouts=["frac_ferroptosis"], exclude="B03,C05 P1:D07")
    left_out = res.wells.loc[res.wells["exclude"].fillna("") != "", "well"]
    assert sorted(left_out) == ["B03", "C05", "D07"]
    from ferroscreen.analysis.inputs import well_entries

    assert well_entries("B03, C05;D1") == ["B03", "C05", "D1"]
    assert well_entries(["Plate 1:B03", " D1"]) == ["Plate 1:B03", "D1"]  # a list's items are wells as they are
    assert well_entries(None) == [] and well_entries(()) == []


def test_ec50_over_time_labels_the_scan_fitted_and_refuses_times_off_the_scans(screen):
    wells, layout = screen  # scanned every 4 h from 0 to 48 h
    over = ec50_over_time(wells, layout, readouts=["frac_ferroptosis"], times_h=[20, 23, 24, 49])
    erastin = over[over["curve"] == "erastin"]
    assert erastin["time_h"].tolist() == [20.0, 24.0, 48.0]  # 23 and 24 are the one 24 h scan; 49 is 48
    exact = ec50_over_time(wells, layout, readouts=["frac_ferroptosis"], times_h=[24])
    assert over.loc[over["time_h"] == 24, "ec50"].tolist() == exact["ec50"].tolist()
    assert over.attrs["notes"] == ["times_h 23, 24 h come to one scan, 24 h, fitted once",
                                   "times_h 49 h is no scan's time: the nearest scan, 48 h, is fitted"]
    for t, side in ((100, "after the last"), (-5, "before the first"), (50.5, "after the last")):
        with pytest.raises(AnalysisInputError, match=rf"^times_h: {t:g} h is more than half a scan interval \(2 h\) "
                                                     rf"{side} scan; the plate's 13 scans run from 0 h to 48 h$"):
            ec50_over_time(wells, layout, readouts=["frac_ferroptosis"], times_h=[24, t])


def test_ec50_over_time_keeps_the_substitution_notes(screen):
    wells, layout = screen
    later = wells.assign(plate="P2", time_h=wells["time_h"] + 1)  # a second plate, scanned an hour later
    both = pd.concat([wells, later[later["time_h"] <= 45]], ignore_index=True)
    over = ec50_over_time(both, layout, readouts=["frac_ferroptosis"], times_h=[48])
    assert over["time_h"].unique().tolist() == [48.0]
    assert "plate P2: the endpoint 48 h falls after the last scan (45 h); the scan at 45 h is the endpoint" in (
        over.attrs["notes"])
