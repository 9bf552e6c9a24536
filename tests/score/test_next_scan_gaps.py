"""A missing timepoint: a next-scan bundle does not read a later scan past a time point its site lacks."""

from __future__ import annotations

import pandas as pd

from ferroscreen.score.runner import _due, gap_note
from ferroscreen.score.store import new_frame_table


def _frames(tmp_path, missing=("C05", 16.0)):
    rows = []
    for well in ("A01", "C05"):
        for t in range(0, 28, 4):
            path = tmp_path / f"{well}_{t:02d}.tif"
            path.write_bytes(b"x")
            rows.append({"plate": "P", "well": well, "field": 1, "channel": "phase", "z": 0, "time_h": float(t),
                         "path": "" if (well, float(t)) == missing else str(path)})
    return new_frame_table(pd.DataFrame(rows))


def test_two_later_scans_stop_at_a_gap(tmp_path):
    frames = _frames(tmp_path)
    _, following = _due(frames, 0.0, 2, hold=False)
    at = {(r.well, r.time_h): i for i, r in frames.iterrows()}
    name = lambda p: None if p is None else p.rsplit("/", 1)[-1]  # noqa: E731
    # C05 lacks 16 h: from 8 h the next scans are 12 h, then 20 h (8 h later: not used)
    assert tuple(map(name, following.at[at["C05", 8.0]])) == ("C05_12.tif", None)
    assert tuple(map(name, following.at[at["C05", 12.0]])) == (None, None)
    assert tuple(map(name, following.at[at["C05", 4.0]])) == ("C05_08.tif", "C05_12.tif")
    assert tuple(map(name, following.at[at["C05", 20.0]])) == ("C05_24.tif", None)
    assert tuple(map(name, following.at[at["A01", 8.0]])) == ("A01_12.tif", "A01_16.tif")


def test_one_later_scan_stops_at_a_gap_and_a_note_counts_the_frames(tmp_path):
    frames = _frames(tmp_path)
    _, following = _due(frames, 0.0, 1, hold=False)
    i = frames.index[(frames["well"] == "C05") & (frames["time_h"] == 12.0)][0]
    assert following.at[i] is None
    note = gap_note(frames, 2)
    assert note.startswith("note: 2 frame(s) read fewer later scans than the model takes")
    assert "their site lacks a time point of the plate after them" in note and "C05 f1 at 8 h" in note
    assert gap_note(frames, 1).startswith("note: 1 frame(s)")
    assert gap_note(_frames(tmp_path, missing=()), 2) == ""


def test_an_irregular_schedule_cuts_nothing(tmp_path):
    """Hourly for 6 h, then every 4 h: the 4-hourly scans are the plate's next ones, not gaps."""
    rows = []
    for t in [*range(0, 7), 10, 14, 18]:
        path = tmp_path / f"A01_{t:02d}.tif"
        path.write_bytes(b"x")
        rows.append({"plate": "P", "well": "A01", "field": 1, "channel": "phase", "z": 0, "time_h": float(t),
                     "path": str(path)})
    frames = new_frame_table(pd.DataFrame(rows))
    _, following = _due(frames, 0.0, 2, hold=False)
    i = frames.index[frames["time_h"] == 6.0][0]
    assert tuple(p.rsplit("/", 1)[-1] for p in following.at[i]) == ("A01_10.tif", "A01_14.tif")
    assert gap_note(frames, 2) == ""  # was: every 4-hourly step cut (1.5 x the median 1 h interval)
