"""``inspect``'s cheap check of Cellomics ``.C01``/``.DIB`` files (:func:`~ferroscreen.io.integrity.check_image_file`).

Was: they went to OpenCV, so every intact native file was listed unreadable ("OpenCV could not decode
it") though ``segment`` reads them. Now they are checked by the Cellomics reader's own rules, and a broken
one is given the reason reading it gives.
"""

import struct
import zlib

import numpy as np
import pytest

from ferroscreen.errors import ImageReadError
from ferroscreen.io.cellomics import cellomics_problem, write_cellomics_image
from ferroscreen.io.frames import load_image
from ferroscreen.io.integrity import check_image_file

from ..conftest import main_in_process

PLATE = "MFGTMPcx7_170702000002"


def _image(seed, dtype=np.uint16, shape=(12, 17)):
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)


@pytest.mark.parametrize("suffix", [".C01", ".DIB", ".c01"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_intact_native_files_pass(tmp_path, suffix, dtype):
    p = write_cellomics_image(tmp_path / f"P_A01f00d0{suffix}", _image(1, dtype))
    assert check_image_file(p) is None


def test_a_c01_inflated_in_several_pieces_passes(tmp_path):
    """Random pixels do not compress: the stream (over 1 MiB) is inflated in pieces, and counted right."""
    img = _image(4, shape=(1100, 1000))
    p = write_cellomics_image(tmp_path / "P_A01f00d0.C01", img)
    assert p.stat().st_size > 1 << 20 and check_image_file(p) is None
    p.write_bytes(p.read_bytes()[: p.stat().st_size - 10])  # the stream's last bytes cut off
    assert "truncated image" in check_image_file(p)


def _broken(tmp_path):
    good = write_cellomics_image(tmp_path / "g_A01f00d0.C01", _image(2)).read_bytes()
    dib = write_cellomics_image(tmp_path / "g_A01f00d0.DIB", _image(2)).read_bytes()
    return {
        "tag.C01": (b"\0\0\0\x07" + good[4:], "not a Cellomics C01 file"),
        "tiny.C01": (b"\0\0\0\x10", "not a Cellomics C01 file"),
        "zlib.C01": (good[:4] + b"garbage" * 10, "broken zlib stream"),
        "cut.C01": (good[:4] + zlib.compress(zlib.decompress(good[4:])[:100]), "truncated image"),
        "half.C01": (good[: len(good) // 2], "truncated image"),
        "short.DIB": (b"\0" * 20, "header of 20 bytes"),
        "cut.DIB": (dib[:200], "truncated image"),
        "packed.DIB": (struct.pack("<iiihhi", 40, 4, 4, 1, 16, 1).ljust(52, b"\0") + b"\0" * 32, "compressed"),
        "bits.DIB": (struct.pack("<iiihhi", 40, 4, 4, 1, 12, 0).ljust(52, b"\0") + b"\0" * 32, "12 bits per pixel"),
    }


def test_broken_native_files_get_the_readers_reason(tmp_path):
    for name, (data, needle) in _broken(tmp_path).items():
        p = tmp_path / name
        p.write_bytes(data)
        reason = check_image_file(p)
        assert reason is not None and needle in reason, name
        with pytest.raises(ImageReadError) as err:
            load_image(p)
        assert str(err.value) == f"{p}: {reason}", name  # the same reason as reading it, without the path
        assert cellomics_problem(p) == reason


def test_a_missing_or_empty_native_file(tmp_path):
    assert check_image_file(tmp_path / "gone.C01").startswith("cannot stat")
    (tmp_path / "empty.C01").write_bytes(b"")
    assert check_image_file(tmp_path / "empty.C01") == "empty file"


def test_inspect_lists_only_the_broken_c01(tmp_path, monkeypatch, capfd):
    for well in ("B02", "B03"):
        for field in (0, 1):
            write_cellomics_image(tmp_path / f"{PLATE}_{well}f{field:02d}d0.C01", _image(field))
    cut = tmp_path / f"{PLATE}_B03f01d0.C01"
    cut.write_bytes(cut.read_bytes()[:60])
    code, out, err = main_in_process(["inspect", tmp_path], monkeypatch, capfd)
    assert code == 0, err
    assert "unreadable files: 1" in out and "OpenCV" not in out
    assert f"{cut}: truncated image" in out
