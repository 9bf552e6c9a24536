"""Scans without time stamps are placed only by the --interval-h the user gives: there is no 1 h default.

A 4-hourly plate whose files carry no time (ImageXpress TimePoint_N without MetaSeries stamps, a Harmony
index without times, Gen5 TIFFs without DateTime, a --pattern timepoint group) was read at 0, 1, 2 h,
silently. A plate of several such scans is now refused in one line; one scan needs no interval; stamped
plates are read as before.
"""

from datetime import datetime

import numpy as np
import pytest
from typer.testing import CliRunner

from ferroscreen.cli import app
from ferroscreen.errors import FerroscreenError
from ferroscreen.io import open_acquisition
from ferroscreen.io.cellomics import write_cellomics_image
from ferroscreen.io.detect import well_pattern_hint
from ferroscreen.io.scan_interval import INTERVAL_ADVICE, NoScanInterval

from .test_harmony_times import export
from .test_imagexpress_times import plate
from .test_readers import tif


def refused(root, **options):
    with pytest.raises(NoScanInterval) as err:
        open_acquisition(root, **options)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{root}: plate ") and message.endswith(INTERVAL_ADVICE)
    return message


def test_imagexpress_timepoints_without_stamps_need_the_interval(tmp_path):
    plate(tmp_path, "FS07", datetime(2024, 3, 12), 4, stamped=False)
    assert "plate FS07: 3 scans without time stamps (TimePoint_1-3)" in refused(tmp_path)
    assert open_acquisition(tmp_path, interval_h=4).timepoints_h == [0, 4, 8]
    one = tmp_path / "one"
    plate(one, "FS08", datetime(2024, 3, 12), 4, tps=(1,), stamped=False)
    assert open_acquisition(one).timepoints_h == [0]  # one scan: no interval needed


def test_stamped_imagexpress_plate_needs_none(tmp_path):
    plate(tmp_path, "FS07", datetime(2024, 3, 12), 4)
    assert open_acquisition(tmp_path).timepoints_h == [0, 4, 8]


def test_harmony_index_without_times_needs_the_interval(tmp_path):
    export(tmp_path, drop_offset=[f"r0{r}c02f01p01-ch1sk{t}fk1fl1.tiff" for r in (2, 3) for t in (1, 2, 3)],
           drop_abs=[f"r0{r}c02f01p01-ch1sk{t}fk1fl1.tiff" for r in (2, 3) for t in (1, 2, 3)])
    assert "3 scans without time stamps (no image times in the index" in refused(tmp_path)
    assert open_acquisition(tmp_path, interval_h=4).timepoints_h == [0, 4, 8]


def test_cytation_kinetic_without_datetime_needs_the_interval(tmp_path):
    for t in (1, 2, 3):
        tif(tmp_path / "run" / f"C3_02_1_1_Phase Contrast_{t:03d}.tif", t)
    assert "3 scans without time stamps (timepoints 1-3)" in refused(tmp_path / "run")
    assert open_acquisition(tmp_path / "run", interval_h=4).timepoints_h == [0, 4, 8]


def test_pattern_timepoints_need_the_interval(tmp_path):
    for t in (0, 1, 2):
        tif(tmp_path / f"WellB02_Seq{t:04d}.TIF")
    rx = r"Well(?P<well>[A-H]\d\d)_Seq(?P<timepoint>\d+)\.TIF"
    refused(tmp_path, pattern=rx)
    assert open_acquisition(tmp_path, pattern=rx, interval_h=4).timepoints_h == [0, 4, 8]


def test_inspect_refuses_in_one_line_and_reads_with_the_interval(tmp_path):
    plate(tmp_path, "FS07", datetime(2024, 3, 12), 4, stamped=False)
    res = CliRunner().invoke(app, ["inspect", str(tmp_path)])
    assert isinstance(res.exception, NoScanInterval) and str(res.exception).endswith(INTERVAL_ADVICE)
    res = CliRunner().invoke(app, ["inspect", str(tmp_path), "--interval-h", "4", "--json"])
    assert res.exit_code == 0 and '"timepoints_h": [\n  0.0,\n  4.0,\n  8.0\n ]' in res.output


def test_cellomics_scan_folders_with_the_same_names_are_time_points(tmp_path):
    """CX7 time-lapse saved Scan1/, Scan2/, ... with the same names: scans 2 on were dropped as duplicates."""
    for scan in (1, 2, 10):
        for well in ("A01", "A02"):
            tif(tmp_path / f"Scan{scan}" / f"VID1_{well}f00d0.tif", scan)
    assert "3 scans without time stamps (one folder per scan: Scan1, Scan2, Scan10)" in refused(tmp_path)
    acq = open_acquisition(tmp_path, interval_h=4)
    assert acq.timepoints_h == [0, 4, 8] and not acq.skipped and len(acq.frames) == 6
    f = acq.frames.set_index("time_h")["path"]
    assert all("Scan10" in p for p in f.loc[8.0])  # in the folders' natural order
    assert any("read as scans 4 h apart" in n for n in acq.notes)


def test_cellomics_native_and_exported_copies_stay_one_image(tmp_path):
    write_cellomics_image(tmp_path / "P_A01f00d0.C01", np.ones((4, 4), np.uint16))
    tif(tmp_path / "export" / "P_A01f00d0.tif")
    acq = open_acquisition(tmp_path)
    assert acq.timepoints_h == [0] and len(acq.frames) == 1 and len(acq.skipped) == 1


def test_time_unit_reads_a_time_group_of_minutes(tmp_path):
    for minutes in (0, 240, 480):
        tif(tmp_path / f"A01_s1_{minutes:04d}min.tif")
        tif(tmp_path / f"A02_s1_{minutes:04d}min.tif")
    rx = r"(?P<well>[A-P]\d{1,2})_s(?P<field>\d+)_(?P<time>\d+)min\.tif"
    out = CliRunner().invoke(app, ["inspect", str(tmp_path), "--pattern", rx, "--time-unit", "min", "--json"])
    assert out.exit_code == 0, out.output
    assert '"timepoints_h": [\n  0.0,\n  4.0,\n  8.0\n ]' in out.output
    res = CliRunner().invoke(app, ["inspect", str(tmp_path), "--time-unit", "min"])
    assert isinstance(res.exception, FerroscreenError) and "give it with --pattern" in str(res.exception)


def test_the_pattern_hint_takes_minutes_for_a_time(tmp_path):
    files = [tif(tmp_path / f"{w}_s1_{m:04d}min.tif") for w in ("A01", "A02") for m in (0, 240)]
    note = well_pattern_hint(files)
    assert r"(?P<time>\d+)min\.tif' --time-unit min" in note and "channel" not in note
    rx = note.split("--pattern '", 1)[1].split("'", 1)[0]
    assert open_acquisition(tmp_path, fmt=f"pattern:{rx}", time_unit="min").timepoints_h == [0, 4]
