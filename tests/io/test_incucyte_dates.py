"""A time in an IncuCyte file name that is no date (month 13, 30 February, hour 25): the file is skipped, said why."""

import numpy as np
import pytest
import tifffile

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import open_acquisition, parse_export_name


def tif(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.zeros((4, 4), np.uint8))
    return path


@pytest.mark.parametrize(("stamp", "why"), [
    ("2024y13m15d_10h30m", "month must be in 1..12"),
    ("2024y02m30d_10h30m", "day is out of range for month"),
    ("2024y01m15d_25h30m", "hour must be in 0..23"),
    ("2024y01m15d_10h61m", "minute must be in 0..59"),
])
def test_invalid_absolute_time_is_skipped_with_its_reason(tmp_path, stamp, why):
    tif(tmp_path / "VID1_A1_1_2024y01m15d_10h30m.tif")
    tif(tmp_path / "VID1_A1_1_2024y01m15d_14h30m.tif")
    bad = tif(tmp_path / f"VID1_A1_1_{stamp}.tif")
    acq = open_acquisition(tmp_path)
    assert acq.format == "incucyte" and acq.timepoints_h == [0, 4] and len(acq.frames) == 2
    assert acq.skipped == [(str(bad), f"no such date and time in its name: {stamp} ({why})")]


def test_parse_export_name_raises_one_line_value_error():
    with pytest.raises(ValueError, match=r"^no such date and time in its name: 2024y13m15d_10h30m "
                                         r"\(month must be in 1\.\.12\)$"):
        parse_export_name("VID1_A1_1_2024y13m15d_10h30m.tif")


def test_only_invalid_dates_names_the_first_skipped_file(tmp_path):
    bad = tif(tmp_path / "VID1_A1_1_2024y13m15d_10h30m.tif")
    with pytest.raises(AcquisitionError, match=rf"no IncuCyte export images found .*1 file\(s\) skipped, the first "
                                               rf"{bad}: no such date and time in its name"):
        open_acquisition(tmp_path)


def test_archive_path_with_invalid_date_is_skipped(tmp_path):
    good = tif(tmp_path / "EssenFiles/ScanData/2401/15/1030/P1/A1-1-C1.tif")
    bad = tif(tmp_path / "EssenFiles/ScanData/2413/15/1030/P1/A1-1-C1.tif")
    acq = open_acquisition(tmp_path)
    assert acq.format == "incucyte_archive" and acq.frames["path"].tolist() == [str(good.resolve())]
    assert acq.skipped == [(str(bad), "no such date and time in its path: ScanData/2413/15/1030 "
                                      "(month must be in 1..12)")]
