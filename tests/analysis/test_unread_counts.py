"""Counts of well x times not read, or read in some of their fields, are neither 0 nor cells lost.

The reported cases: an export's well x time with no scored frame (its files missing) had ``n_cells``
0, so ``fit`` said its vehicle wells "have no cell left at the endpoint scan", gave them viability
0 and every other well a viability inflated by the lowered vehicle mean (0.98 -> 1.37, GR 0.97 ->
1.64); a well x time with 3 of its 4 fields read lost a quarter of its count; and ``fit`` of a part-
scored export said only "nothing to fit (no usable readout)", not that frames were never scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.readouts import normalise_to_vehicle, summarise_wells
from ferroscreen.score.export import export_wells
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.store import PENDING, read_store

from .conftest import run_fit_main
from .toy_stores import toy_store

NAN = np.nan


def _wells(end: dict[str, tuple], read_column: bool = False) -> pd.DataFrame:
    """Vehicle wells A01-A04 and a sample C01: 100 cells at 0 h; at 48 h 200 (C01 100) unless ``end``
    gives ``well -> (n_cells, n_done)`` (of 4 fields). As export writes it (frame counts, role)."""
    rows = []
    for well in ("A01", "A02", "A03", "A04", "C01"):
        role = "sample" if well == "C01" else "vehicle"
        for t in (0.0, 48.0):
            n, done = (100, 4) if t == 0 else end.get(well, (100 if well == "C01" else 200, 4))
            frac = NAN if done == 0 else 0.1
            row = {"plate": "P1", "well": well, "time_h": t, "n_cells": n, "frac_alive": 1 - frac,
                   "frac_apoptosis": frac, "n_frames": 4, "n_done": done, "n_failed": 4 - done, "n_pending": 0,
                   "role": role}
            if read_column:
                row["n_cells_read"] = NAN if done == 0 else n * done / 4
            rows.append(row)
    return pd.DataFrame(rows)


def _readouts(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    summary = summarise_wells(table, notes=notes)
    summary = summary.merge(table[["well", "role"]].drop_duplicates(), on="well")
    return normalise_to_vehicle(summary).set_index("well"), notes


@pytest.mark.parametrize("read_column", [False, True], ids=["export before n_cells_read", "export"])
def test_a_vehicle_well_with_no_frame_read_at_the_endpoint_is_not_read_not_emptied(read_column):
    # export before the fix: n_cells 0 where no frame was scored; after: blank (NaN)
    table = _wells({"A01": (NAN if read_column else 0, 0)}, read_column)
    out, notes = _readouts(table)
    assert np.isnan(out.loc["A01", "n_cells_end"]) and np.isnan(out.loc["A01", "viability"])
    # the vehicle mean is that of the three read (200), not (0 + 3 * 200) / 4; before: 0.667
    assert out.loc["C01", "viability"] == pytest.approx(0.5)
    assert out.loc["A02", "viability"] == pytest.approx(1.0)
    assert not [n for n in notes if "no cell left" in n], notes
    unread = [n for n in notes if "no reading at the endpoint scan" in n]
    assert len(unread) == 1 and "(A01)" in unread[0], notes


def test_a_part_read_count_of_an_older_export_is_scaled_to_all_fields_once():
    older = _wells({"A02": (150, 3)})  # 150 cells in 3 of 4 fields, not scaled (written before n_cells_read)
    out, notes = _readouts(older)
    assert out.loc["A02", "n_cells_end"] == pytest.approx(200)  # before: 150, a quarter "lost"
    assert out.loc["C01", "viability"] == pytest.approx(0.5)
    said = [n for n in notes if "only some of their fields read" in n]
    assert len(said) == 1 and "A02 at 48 h" in said[0], notes
    scaled, _ = _readouts(_wells({"A02": (200, 3)}, read_column=True))  # export scaled it: not again
    assert scaled.loc["A02", "n_cells_end"] == pytest.approx(200)


def test_fit_of_a_part_scored_export_names_the_frames_not_scored(tmp_path, monkeypatch, capsys):
    store = toy_store(tmp_path)
    s = read_store(store)
    frames = s.frames.copy()
    frames.loc[frames["time_h"] == 48.0, "status"] = PENDING  # the last scan not scored yet
    merge_journals(store, s.attrs, frames, s.layout, [], True)
    pending = int((frames["status"] == PENDING).sum())
    wells = export_wells(store, tmp_path / "e")
    table = pd.read_csv(wells).set_index(["well", "time_h"])
    assert table.loc[("A01", 48.0), "n_cells"] != table.loc[("A01", 48.0), "n_cells"]  # blank, not 0
    code, out, err = run_fit_main([wells, "--out", tmp_path / "f"], monkeypatch, capsys)
    said = [line for line in (out + err).splitlines() if "were not scored yet" in line]
    # before: only "nothing to fit (no usable readout)"
    assert said and said[0].startswith(f"note: {wells}: {pending} of its {len(frames)} frames"), (out, err)
    assert f"--out {store.resolve()} --resume" in said[0], said
