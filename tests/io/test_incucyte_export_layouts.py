"""IncuCyte exports as labs save them: channel folders, thumbnails beside the frames, a site rescanned by hand."""

from datetime import datetime, timedelta

import cv2
import numpy as np
import pytest

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import open_acquisition
from ferroscreen.io.incucyte import incucyte_export_name

from .test_readers import tif


def _jpg(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((8, 10), np.uint8))


def test_channel_folders_name_the_channel_of_vid_names(tmp_path):
    for folder in ("Phase", "Red"):
        for t in ("00d00h00m", "00d04h00m"):
            tif(tmp_path / folder / f"VID123_A1_1_{t}.tif")
    acq = open_acquisition(tmp_path)  # was: "the same frame ... is also .../Red/...; remove one"
    assert sorted(set(acq.frames["channel"])) == ["phase", "red"]
    red = acq.frames[acq.frames["channel"] == "red"]
    assert len(red) == 2 and all("/Red/" in p for p in red["path"])
    assert set(open_acquisition(tmp_path / "Red").frames["channel"]) == {"red"}  # was: phase
    tif(tmp_path / "Red" / "VID123_phase_B2_1_00d00h00m.tif")  # the name's own channel wins over the folder's
    assert set(open_acquisition(tmp_path / "Red").frames.query("well == 'B02'")["channel"]) == {"phase"}


def test_thumbnails_folder_and_jpeg_previews_are_passed_over(tmp_path):
    for t in (0, 4):
        tif(tmp_path / incucyte_export_name(123, "A1", 1, t))
        _jpg(tmp_path / "thumbnails" / incucyte_export_name(123, "A1", 1, t).replace(".tif", ".jpg"))
    _jpg(tmp_path / "Thumbs" / incucyte_export_name(123, "B2", 1, 0).replace(".tif", ".jpg"))
    _jpg(tmp_path / incucyte_export_name(123, "A1", 1, 4).replace(".tif", ".jpg"))
    acq = open_acquisition(tmp_path)  # was: "the same frame ... is also ...thumbnails/...; remove one"
    assert len(acq.frames) == 2 and all(p.endswith(".tif") for p in acq.frames["path"])
    assert acq.wells == ["A01"]
    assert "3 thumbnail image(s) passed over (previews, not frames; the first Thumbs/" in "\n".join(acq.notes)
    assert ("1 JPEG preview(s) of frames that have a TIFF passed over (the first VID123_phase_A1_1_00d04h00m.jpg)"
            in acq.notes)


def test_a_jpeg_export_without_tiffs_is_still_read(tmp_path):
    for t in (0, 4):
        _jpg(tmp_path / incucyte_export_name(123, "A1", 1, t).replace(".tif", ".jpg"))
    acq = open_acquisition(tmp_path)
    assert len(acq.frames) == 2 and not acq.notes


def _plate(root, times=(0, 4, 8, 12), wells=("B2", "B3", "C2", "C3")):
    for t in times:
        for well in wells:
            tif(root / incucyte_export_name(123, well, 1, t))


def test_a_site_rescanned_after_a_scan_replaces_that_frame(tmp_path):
    _plate(tmp_path)
    rescan = tif(tmp_path / "VID123_phase_C3_1_00d04h17m.tif")
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0, 4, 8, 12]  # was [0, 4, 4.2833, 8, 12]: a plate-wide time point
    assert len(acq.frames) == 16 and acq.missing_frames().empty
    at4 = acq.frames.query("well == 'C03' and time_h == 4")
    assert at4["path"].tolist() == [str(rescan.resolve())]
    assert acq.notes == ["1 site rescan(s) read in place of the scan's frame they re-image, not as time points of "
                         "their own (VID123_phase_C3_1_00d04h17m.tif 17 min after the 4 h scan, for "
                         "VID123_phase_C3_1_00d04h00m.tif)"]


def test_a_rescan_among_stamps_drifting_per_well(tmp_path):
    start = datetime(2024, 3, 29, 22, 0)
    for t in (0, 4, 8):
        for k, well in enumerate(("B2", "B3", "C2", "C3")):
            tif(tmp_path / f"VID5_{well}_1_{start + timedelta(hours=t, minutes=k):%Yy%mm%dd_%Hh%Mm}.tif")
    tif(tmp_path / f"VID5_B3_1_{start + timedelta(hours=4, minutes=20):%Yy%mm%dd_%Hh%Mm}.tif")
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0, 4, 8]  # was [0, 4, 4.3333, 8]
    assert acq.frames.query("well == 'B03' and time_h == 4")["path"].str.endswith("02h20m.tif").all()
    assert any("1 site rescan(s)" in n for n in acq.notes)


def test_a_whole_plate_imaged_again_soon_after_keeps_its_time_points(tmp_path):
    _plate(tmp_path, times=(0, 4, 4.25, 8, 12))
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == pytest.approx([0, 4, 4.25, 8, 12])
    assert not any("rescan" in n for n in acq.notes)


def test_a_duplicate_frame_is_still_refused(tmp_path):
    _plate(tmp_path)
    tif(tmp_path / "copy" / incucyte_export_name(123, "C3", 1, 4))
    with pytest.raises(AcquisitionError, match="the same frame"):
        open_acquisition(tmp_path)
