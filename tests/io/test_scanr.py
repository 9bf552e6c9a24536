"""Olympus / Evident scanR acquisitions (data/ folder of [<well>]--W#####--P#####--Z#####--T#####--<ch>.tif)."""

import pytest

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import detect_format, open_acquisition

from .test_cytation import _tif  # a small uint16 TIFF with an optional DateTime tag


def test_named_wells_positions_z_and_datetime_times(tmp_path):
    acq_dir = tmp_path / "screen_2026-03-02"
    data = acq_dir / "data"
    stamps = {0: "2026:03:02 09:00:00", 1: "2026:03:02 13:30:00"}
    for t, when in stamps.items():
        for well, index in (("B2", 14), ("H12", 96)):
            for pos in (1, 2):
                for z in (0, 1):
                    _tif(data / f"{well}--W{index:05d}--P{pos:05d}--Z{z:05d}--T{t:05d}--DAPI.tif", 10 * t + z, when)
                _tif(data / f"{well}--W{index:05d}--P{pos:05d}--Z00000--T{t:05d}--Brightfield.tif", 7, when)
    (acq_dir / "experiment_descriptor.xml").write_text("<xml/>")
    (data / "B2--W00014--P00001--Z00000--T00000--DAPI_thumb.jpg").write_bytes(b"jpg")  # not a frame
    assert detect_format(acq_dir) == "scanr" and detect_format(data) == "scanr"
    acq = open_acquisition(acq_dir)
    f = acq.frames
    assert acq.format == "scanr" and acq.wells == ["B02", "H12"] and not acq.notes
    assert acq.timepoints_h == [0.0, 4.5] and set(f["plate"]) == {"screen_2026-03-02"}
    assert set(f["channel"]) == {"DAPI", "Brightfield"} and set(f["field"]) == {1, 2}
    assert set(f.loc[f["channel"] == "DAPI", "z"]) == {0, 1} and len(f) == 2 * 2 * 2 * 3
    row = f[(f["well"] == "H12") & (f["channel"] == "DAPI") & (f["time_h"] == 4.5) & (f["z"] == 1)].iloc[0]
    assert acq.load(row).max() == 11


def test_unnamed_wells_come_from_the_row_major_index(tmp_path):
    for t in (0, 1, 2):
        for index in (1, 14, 25, 384):  # 384 > 96: a 384-well plate (24 columns)
            _tif(tmp_path / "run1" / "data" / f"--W{index:05d}--P00001--Z00000--T{t:05d}--BF.tif", t)
    acq = open_acquisition(tmp_path, interval_h=4.0)
    assert acq.wells == ["A01", "A14", "B01", "P24"]
    assert acq.timepoints_h == [0.0, 4.0, 8.0]
    assert "row by row on a 384-well plate" in acq.notes[0] and "T x 4.0 h" in acq.notes[1]
    assert set(acq.frames["plate"]) == {"run1"}


def test_no_scanr_names_is_a_one_line_error(tmp_path):
    _tif(tmp_path / "data" / "image_001.tif", 1)
    with pytest.raises(AcquisitionError, match="no scanR images found"):
        open_acquisition(tmp_path, fmt="scanr")
