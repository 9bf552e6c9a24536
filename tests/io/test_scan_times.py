"""Time stamps a minute or two apart within one scan of a plate are one time point."""

import numpy as np
import pandas as pd
import pytest
import tifffile

from ferroscreen.io import make_frame_table, open_acquisition
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.scan_times import STAMP_COLUMN, group_scan_times

WELLS = ["A01", "A02", "B01", "B02"]


def table(stamps: dict[tuple[str, float], float], plate="P1") -> pd.DataFrame:
    """A frame table from ``{(well, scan time): stamp}``."""
    return make_frame_table([{"plate": plate, "well": w, "field": 1, "channel": "phase", "time_h": stamp,
                              "path": f"/x/{plate}_{w}_{scan}.tif"} for (w, scan), stamp in stamps.items()])


def jittered(scans=(0, 4, 8), offsets_min=(0, 1, 1, 3)) -> pd.DataFrame:
    return table({(w, s): s + off / 60 for s in scans for w, off in zip(WELLS, offsets_min, strict=True)})


def test_jittered_stamps_become_one_time_per_scan():
    frames = jittered()
    assert frames["time_h"].nunique() == 9
    out, notes = group_scan_times(frames)
    assert sorted(out["time_h"].unique()) == [0, 4, 8]
    assert notes == ["time stamps within 3 min of each other taken as one scan (9 stamps -> 3 scans; "
                     "each frame at its scan's first stamp, its own in time_stamp_h)"]
    b02 = out[out["well"] == "B02"]
    assert b02["time_h"].tolist() == [0, 4, 8]
    assert b02[STAMP_COLUMN].tolist() == pytest.approx([0.05, 4.05, 8.05], abs=1e-4)
    assert out["time_h"].is_monotonic_increasing and len(out) == len(frames)


def test_acquisition_of_jittered_export_has_no_missing_frames(tmp_path):
    """The reported case: IncuCyte absolute names, some wells stamped a minute or three later."""
    late = {"A2": 1, "B2": 1, "A4": 3}
    for day, hour in ((15, 10), (15, 14), (16, 10)):
        for well in ("A1", "A2", "A4", "B2"):
            name = f"VID7_{well}_1_2024y01m{day:02d}d_{hour:02d}h{late.get(well, 0):02d}m.tif"
            tifffile.imwrite(tmp_path / name, np.zeros((4, 4), np.uint8))
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0, 4, 24]
    assert acq.missing_frames().empty
    assert any("(9 stamps -> 3 scans" in n for n in acq.notes)
    assert not any(n.startswith("missing from the grid") for n in acq.notes)


def test_evenly_spaced_plate_is_unchanged():
    frames = table({(w, s): s for s in (0, 2, 4, 6) for w in WELLS})
    out, notes = group_scan_times(frames)
    assert out is frames and notes == [] and STAMP_COLUMN not in out.columns
    acq = Acquisition("/x", "pattern", frames)
    assert acq.frames is frames and acq.notes == []


def test_fast_time_lapse_is_never_merged():
    """Every 5 min, all wells at each stamp: each stamp re-images the sites of the one before."""
    frames = table({(w, s): s for s in np.round(np.arange(12) / 12, 4) for w in WELLS})
    out, notes = group_scan_times(frames)
    assert out is frames and notes == []


def test_fast_time_lapse_with_jitter_takes_a_quarter_of_its_interval():
    """Every 10 min, stamps 1 min apart: the tolerance is 2.5 min, so the scans stay apart."""
    out, notes = group_scan_times(jittered(scans=[k / 6 for k in range(6)], offsets_min=(0, 1, 1, 2)))
    assert np.allclose(sorted(out["time_h"].unique()), [k / 6 for k in range(6)], atol=1e-4)
    assert "(18 stamps -> 6 scans" in notes[0]


def test_irregular_schedule_hourly_then_every_four_hours():
    scans = [0, 1, 2, 3, 4, 8, 12, 16, 20, 24]
    out, notes = group_scan_times(jittered(scans=scans, offsets_min=(0, 2, 2, 4)))
    assert sorted(out["time_h"].unique()) == scans
    assert "(30 stamps -> 10 scans" in notes[0]


def test_stamps_half_an_hour_apart_are_not_merged():
    """Disjoint wells but 36 min apart: the 30 min cap keeps them apart, even on a single-scan plate."""
    frames = table({("A01", 0): 0.0, ("A02", 0): 0.6})
    out, notes = group_scan_times(frames)
    assert out is frames and notes == []


def test_a_long_scan_stamped_well_by_well_is_one_scan():
    """96 wells stamped 20 s apart (a 32 min pass), every 24 h: consecutive stamps are close, so one scan."""
    wells = [f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13)]
    frames = table({(w, s): s + k * 20 / 3600 for s in (0, 24, 48) for k, w in enumerate(wells)})
    out, notes = group_scan_times(frames)
    assert sorted(out["time_h"].unique()) == [0, 24, 48]
    assert "(288 stamps -> 3 scans" in notes[0]


def test_a_well_imaged_twice_within_one_scan_is_kept_apart_and_said():
    stamps = {(w, s): s + k / 60 for s in (0, 4, 8) for k, w in enumerate(WELLS)}
    frames = table(stamps)
    again = frames[(frames["well"] == "A01") & (frames["time_h"] == 4)].assign(time_h=4 + 1.5 / 60, path="/x/again.tif")
    frames = make_frame_table([*frames.to_dict("records"), *again.to_dict("records")])
    out, notes = group_scan_times(frames)
    a01 = out[out["well"] == "A01"]
    assert len(a01) == 4 and a01["time_h"].nunique() == 4  # never merged with itself
    assert out.duplicated(["well", "field", "channel", "z", "time_h"]).sum() == 0
    assert any(n.startswith("1 site(s) imaged twice within one scan window, kept as separate time points "
                            "(A01 field 1 phase at 4 h and 4.025 h)") for n in notes)


def test_back_to_back_scans_are_no_repeats():
    """A 96-well pass of 40 min every 45 min: the next pass starts within the tolerance of the last's end."""
    wells = [f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13)]
    frames = table({(w, s): s + k * (40 / 95) / 60 for s in (0, 0.75, 1.5) for k, w in enumerate(wells)})
    out, notes = group_scan_times(frames)
    assert sorted(out["time_h"].unique()) == [0, 0.75, 1.5]
    assert not any("imaged twice" in n for n in notes)  # was: 96 sites "imaged twice" 0.75 h apart


def test_grouping_is_idempotent_and_keeps_the_first_stamps():
    out, _ = group_scan_times(jittered())
    again, notes = group_scan_times(out)
    assert again is out and notes == []
    acq = Acquisition("/x", "pattern", jittered())
    assert acq.timepoints_h == [0, 4, 8] and len(acq.notes) == 1


def test_plates_are_grouped_each_on_its_own():
    frames = pd.concat([jittered(), table({(w, s): s + 0.5 for s in (0, 4, 8) for w in WELLS}, plate="P2")])
    out, notes = group_scan_times(make_frame_table(frames.to_dict("records")))
    assert sorted(out.loc[out["plate"] == "P1", "time_h"].unique()) == [0, 4, 8]
    assert sorted(out.loc[out["plate"] == "P2", "time_h"].unique()) == [0.5, 4.5, 8.5]
    assert "(9 stamps -> 3 scans;" in notes[0]
