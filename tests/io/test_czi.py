"""Zeiss CZI acquisitions (Celldiscoverer 7 multi-well time-lapses), written by pylibCZIrw with ZEN's scene list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile

from ferroscreen.errors import AcquisitionError, ImageReadError
from ferroscreen.io import detect_format, load_image, open_acquisition

from ..conftest import assert_user_error, run_cli


@pytest.fixture()
def frames(tmp_path):
    """Wells B02 (2 fields) and C05, 3 scans 2 h apart, channels DAPI and EGFP; each image a distinct value."""
    src, i = [], 0
    for well, field in (("B02", 1), ("B02", 2), ("C05", 1)):
        for t in (0.0, 2.0, 4.0):
            for channel in ("DAPI", "EGFP"):
                path = tmp_path / "src" / f"{i}.tif"
                path.parent.mkdir(exist_ok=True)
                tifffile.imwrite(path, np.full((16, 24), i, np.uint16))
                src.append({"plate": "p", "well": well, "field": field, "channel": channel, "time_h": t, "z": 0,
                            "path": str(path), "value": i})
                i += 1
    return pd.DataFrame(src)


def test_scenes_wells_fields_channels_and_time_stamps(tmp_path, frames, czi_writer):
    path = czi_writer(frames, tmp_path / "run" / "CD7 plate 12.czi")
    assert detect_format(path.parent) == "czi" and detect_format(path) == "czi"
    acq = open_acquisition(path.parent)
    f = acq.frames
    assert acq.format == "czi" and set(f["plate"]) == {"CD7 plate 12"}
    assert acq.notes == ["missing from the grid: 1 well(s) lack fields other wells of their plate have (C05: field 2); "
                         "read as they are (inspect lists the frames)"]  # B02 has 2 fields, C05 1: said, not refused
    assert acq.timepoints_h == [0.0, 2.0, 4.0]  # the TimeStamps attachment (the index would give 0, 1, 2)
    assert f["path"].iloc[0].endswith("CD7 plate 12.czi#scene=0,t=0,c=0,z=0")
    want = {(r.well, r.field, r.channel, r.time_h): r.value for r in frames.itertuples()}
    got = {(r.well, r.field, r.channel, r.time_h): int(load_image(r.path)[0, 0]) for r in f.itertuples()}
    assert got == want


def test_interval_when_no_time_stamps_and_scene_without_well(tmp_path, frames, czi_writer):
    """Without the attachment, T x the experiment's interval (said); a scene naming no well is skipped, said why."""
    path = czi_writer(frames, tmp_path / "p.czi", stamps=False, interval_s=5400, scene_names={2: ""})
    acq = open_acquisition(path)
    assert acq.timepoints_h == [0.0, 1.5, 3.0] and any("experiment's interval" in n for n in acq.notes)
    assert sorted(set(acq.frames["well"])) == ["B02"]
    assert acq.skipped == [(str(path), "scene 2 (P3) names no well")]
    acq = open_acquisition(czi_writer(frames, tmp_path / "q.czi", stamps=False), interval_h=4)
    assert acq.timepoints_h == [0.0, 4.0, 8.0] and any("T x 4 h" in n for n in acq.notes)


def test_broken_czi_files(tmp_path, frames, czi_writer):
    """A file that is no CZI is skipped beside good ones; alone it is a one-line error; a truncated plane says so."""
    good = czi_writer(frames, tmp_path / "good.czi")
    (tmp_path / "bad.czi").write_bytes(b"ZISRAWFILE" + b"\0" * 100)
    acq = open_acquisition(tmp_path)
    assert set(acq.frames["plate"]) == {"good"} and acq.skipped[0][1].startswith("not a readable CZI file")
    proc = run_cli("inspect", str(tmp_path / "bad.czi"))
    assert_user_error(proc, "bad.czi", "not a readable CZI file")
    with pytest.raises(AcquisitionError, match="no CZI scene lies in a well"):
        open_acquisition(tmp_path / "bad.czi")
    with pytest.raises(ImageReadError, match="gone.czi: image file not found"):
        load_image(str(tmp_path / "gone.czi") + "#scene=0,t=0,c=0,z=0")
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageReadError, match="good.czi"):
        load_image(acq.frames["path"].iloc[-1])


def test_short_time_stamps_and_same_names_in_two_folders(tmp_path, frames, czi_writer):
    """A TimeStamps attachment with fewer stamps than scans: the rest continue at its median interval (said);
    two runs named alike in two folders are two plates."""
    from ..conftest import add_czi_time_stamps

    one = czi_writer(frames, tmp_path / "day1" / "Run.czi", stamps=False)
    add_czi_time_stamps(one, [100.0, 100.0 + 5400])
    czi_writer(frames[frames["time_h"] == 0.0], tmp_path / "day2" / "Run.czi")
    acq = open_acquisition(tmp_path)
    f = acq.frames
    assert sorted(set(f["plate"])) == ["day1_Run", "day2_Run"]
    assert sorted(set(f.loc[f["plate"] == "day1_Run", "time_h"])) == [0.0, 1.5, 3.0]
    assert any("has 2 of 3 time points" in n for n in acq.notes)
