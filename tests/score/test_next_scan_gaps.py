"""A missing timepoint: a next-scan bundle does not read a later scan further away than the plate's interval allows."""

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
    assert "more than 6 h later" in note and "C05 f1 at 8 h" in note
    assert gap_note(frames, 1).startswith("note: 1 frame(s)")
    assert gap_note(_frames(tmp_path, missing=()), 2) == ""
