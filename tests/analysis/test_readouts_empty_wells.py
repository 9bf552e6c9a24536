"""The notes on wells without a reading leave out wells seeded without cells (layout role ``empty``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.readouts import summarise_wells

NAN = np.nan


def _wells(with_role: bool) -> pd.DataFrame:
    # A01: a sample with no fraction read at 0 h; C03: a sample whose cells are all gone at 48 h;
    # B02: an empty well (no cells seeded) with a stray detection at 24 h only, so both notes would name it
    rows = []
    for well, role, counts, fracs in (("A01", "sample", [50, 40, 30], [NAN, 0.2, 0.4]),
                                      ("B02", "empty", [0, 2, 0], [NAN, 0.5, NAN]),
                                      ("C03", "sample", [50, 20, 0], [0.1, 0.6, NAN])):
        for t, n, f in zip((0.0, 24.0, 48.0), counts, fracs, strict=True):
            rows.append({"plate": "P1", "well": well, "time_h": t, "n_cells": n,
                         "frac_alive": 1 - f if f == f else NAN, "frac_apoptosis": f, "role": role})
    table = pd.DataFrame(rows)
    return table if with_role else table.drop(columns="role")


def _named(notes: list[str], what: str) -> str:
    lines = [n for n in notes if what in n]
    assert len(lines) == 1, notes
    return lines[0]


@pytest.mark.parametrize("how", ["role column", "empty_wells", "empty_wells on every plate"])
def test_an_empty_well_is_named_in_no_note_of_missing_readings(how):
    # before: fit's notes named the sim plate's empty wells B24 and I24 among wells with no reading at 0 h
    # and with no cell left at the endpoint
    notes: list[str] = []
    empty = {"role column": [], "empty_wells": [("P1", "B02")], "empty_wells on every plate": [(None, "B02")]}[how]
    summarise_wells(_wells(how == "role column"), notes=notes, **({"empty_wells": empty} if empty else {}))
    first = _named(notes, "no fraction read at the first scan")
    assert "1 well(s)" in first and "(A01)" in first
    end = _named(notes, "no cell left at the endpoint scan")
    assert "1 well(s)" in end and "(C03)" in end
    assert not any("B02" in n for n in notes)


def test_without_roles_every_well_is_named_and_another_plates_empty_well_counts_only_there():
    notes: list[str] = []
    summarise_wells(_wells(False), notes=notes, empty_wells=[("P2", "B02")])
    assert "(A01, B02)" in _named(notes, "no fraction read at the first scan")
    assert "(B02, C03)" in _named(notes, "no cell left at the endpoint scan")


def test_a_separate_layouts_empty_wells_are_named_in_no_note_of_a_screen():
    from ferroscreen.analysis.screen import analyse_screen
    from ferroscreen.plate import make_layout

    layout = make_layout([{"plate_id": "P1", "well": "A01", "compound": "RSL3", "concentration": 1e-6},
                          {"plate_id": "P1", "well": "B02", "compound": "", "role": "empty"},
                          {"plate_id": "P1", "well": "C03", "compound": "RSL3", "concentration": 1e-5},
                          {"plate_id": "P1", "well": "D04", "compound": "DMSO", "role": "vehicle"}])
    wells = _wells(False)
    vehicle = wells[wells["well"] == "A01"].assign(well="D04", frac_apoptosis=0.05, frac_alive=0.95)
    result = analyse_screen(pd.concat([wells, vehicle], ignore_index=True), layout)
    assert any("A01" in n for n in result.notes), result.notes  # the sample's missing reading is still said
    assert not any("B02" in n for n in result.notes), result.notes
