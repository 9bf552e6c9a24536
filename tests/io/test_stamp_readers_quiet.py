"""Time-stamp readers stay quiet on a TIFF still being copied (tifffile printed 'contains no pages' bare)."""

from __future__ import annotations

from ferroscreen.io.cytation import tiff_datetime
from ferroscreen.io.imagexpress import _tiff_time


def test_a_tiff_with_no_pages_gives_no_stamp_and_prints_nothing(tmp_path, capfd):
    bad = tmp_path / "B2_03_1_1_Bright Field_001.tif"
    bad.write_bytes(b"II*\0" + bytes(64))  # a header, then zeros: a copy in progress
    assert tiff_datetime(bad) is None and _tiff_time(bad) is None
    out, err = capfd.readouterr()
    assert out == "" and err == ""
