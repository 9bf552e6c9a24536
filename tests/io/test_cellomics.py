"""Cellomics / CellInsight (HCS Studio) plates: names, .C01/.DIB pixels, detection."""

import struct
import zlib

import cv2
import numpy as np
import pytest

from ferroscreen.errors import ImageReadError
from ferroscreen.io import detect_format, load_image, open_acquisition
from ferroscreen.io.cellomics import read_cellomics_image, write_cellomics_image


def _image(seed, dtype=np.uint16, shape=(12, 17)):
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)


@pytest.mark.parametrize("suffix", [".C01", ".DIB"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_native_files_round_trip(tmp_path, suffix, dtype):
    img = _image(1, dtype)
    p = write_cellomics_image(tmp_path / f"P_A01f00d0{suffix}", img)
    out = load_image(p)
    assert out.dtype == dtype and np.array_equal(out, img)


def test_c01_layout_is_the_documented_one(tmp_path):
    """A file built byte by byte from the layout: tag 16, zlib, 52-byte header, rows of pixels."""
    img = np.arange(6 * 4, dtype="<u2").reshape(4, 6) * 1000
    header = struct.pack("<iiihhi", 40, 6, 4, 1, 16, 0).ljust(52, b"\0")
    p = tmp_path / "x_B03f01d1.C01"
    p.write_bytes(b"\0\0\0\x10" + zlib.compress(header + img.tobytes()))
    assert np.array_equal(read_cellomics_image(p), img)


def test_broken_native_files_are_one_line_errors(tmp_path):
    good = write_cellomics_image(tmp_path / "g_A01f00d0.C01", _image(2)).read_bytes()
    cases = {
        "tag.C01": (b"\0\0\0\x07" + good[4:], "not a Cellomics C01 file"),
        "zlib.C01": (good[:4] + b"garbage" * 10, "broken zlib stream"),
        "cut.C01": (good[:4] + zlib.compress(zlib.decompress(good[4:])[:100]), "truncated image"),
        "short.DIB": (b"\0" * 20, "header of 20 bytes"),
        "packed.DIB": (struct.pack("<iiihhi", 40, 4, 4, 1, 16, 1).ljust(52, b"\0") + b"\0" * 32, "compressed"),
    }
    for name, (data, needle) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ImageReadError, match=needle) as err:
            load_image(p)
        assert str(p) in str(err.value) and "\n" not in str(err.value)


def test_plate_folder_is_detected_and_read(tmp_path):
    plate = "MFGTMPcx7_170702000001"
    for well in ("B14", "P24"):
        for field in (0, 7):
            for ch in (0, 1):
                write_cellomics_image(tmp_path / "scan" / f"{plate}_{well}f{field:02d}d{ch}.C01", _image(field + ch))
    # an exported copy of one image is read from the native file; other files are ignored
    cv2.imwrite(str(tmp_path / "scan" / f"{plate}_B14f00d0.png"), _image(0))
    (tmp_path / "scan" / f"{plate}.MDB").write_bytes(b"db")
    assert detect_format(tmp_path) == "cellomics"
    acq = open_acquisition(tmp_path)
    f = acq.frames
    assert acq.format == "cellomics" and acq.wells == ["B14", "P24"] and len(f) == 8
    assert set(f["plate"]) == {plate} and set(f["field"]) == {1, 8} and set(f["channel"]) == {"d0", "d1"}
    assert set(f["time_h"]) == {0.0} and all(p.endswith(".C01") for p in f["path"])
    assert len(acq.skipped) == 1 and acq.skipped[0][0].endswith(".png")
    assert np.array_equal(acq.load(0), _image(0))


def test_exported_pngs_as_in_the_aits_screen(tmp_path):
    for name in ("MFGTMPcx7_170702000001_B14f07d0.png", "MFGTMPcx7_170702000001_D13f04d0.png"):
        cv2.imwrite(str(tmp_path / name), _image(3, np.uint8))
    acq = open_acquisition(tmp_path)
    assert acq.format == "cellomics"
    assert list(zip(acq.frames["well"], acq.frames["field"], strict=True)) == [("B14", 8), ("D13", 5)]
