"""``inspect ACQUISITION`` names the frame size(s) and pixel type, read from a sample of at most 24 frames.

Was: no frame size anywhere in ``inspect``'s output.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import tifffile

from ferroscreen.io import inspection
from ferroscreen.io.inspection import inspect_path, render_inspection


def ixm(root: Path, wells: list[str], shape=(6, 8), dtype=np.uint16, fields=(1, 2)) -> None:
    """An ImageXpress plate: one frame per well and field."""
    (root / "TimePoint_1").mkdir(parents=True, exist_ok=True)
    for well in wells:
        for s in fields:
            tifffile.imwrite(root / "TimePoint_1" / f"LIB_{well}_s{s}_w1.TIF", np.ones(shape, dtype))


def size_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("  frames"))


def test_one_size_is_named_height_by_width_with_its_dtype(tmp_path):
    ixm(tmp_path, ["B03", "B04", "C05"])
    info = inspect_path(tmp_path)
    assert info["frame_sizes"] == [{"height": 6, "width": 8, "dtype": "uint16", "files": 6}]
    assert info["frame_sizes_read"] == 6
    assert size_line(render_inspection(info)) == "  frames (height x width): 6 x 8 uint16 (6 files read)"


def test_sizes_that_differ_are_each_counted(tmp_path):
    ixm(tmp_path, ["B03", "B04", "B05"])
    ixm(tmp_path, ["C05"], shape=(10, 12), dtype=np.uint8)
    info = inspect_path(tmp_path)
    assert info["frame_sizes"] == [{"height": 6, "width": 8, "dtype": "uint16", "files": 6},
                                   {"height": 10, "width": 12, "dtype": "uint8", "files": 2}]
    assert size_line(render_inspection(info)) == ("  frames (height x width): 6 x 8 uint16 (6 files), "
                                                   "10 x 12 uint8 (2 files) (8 files read)")


def test_a_large_plate_is_sampled_at_most_24_frames_spread_over_it(tmp_path, monkeypatch):
    wells = [f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13)]  # 96 wells x 2 fields
    ixm(tmp_path, wells)
    read: list[str] = []
    real = inspection._frame_size
    monkeypatch.setattr(inspection, "_frame_size", lambda p: read.append(p) or real(p))
    info = inspect_path(tmp_path)
    assert len(read) == 24 and info["frame_sizes_read"] == 24
    names = [Path(p).name for p in read]
    assert names[0] == "LIB_A01_s1_w1.TIF" and names[-1] == "LIB_H12_s2_w1.TIF"  # spread to both ends
    assert len({n.split("_")[1][0] for n in names}) == 8  # every row of the plate
    assert size_line(render_inspection(info)) == "  frames (height x width): 6 x 8 uint16 (24 of 192 files read)"


def test_colour_pngs_are_sized_as_scoring_reads_them(tmp_path):
    for field in (1, 2):  # a Cellomics PNG export
        cv2.imwrite(str(tmp_path / f"PLATE1_B03f{field:02d}d0.png"), np.full((7, 9, 3), 90, np.uint8))
    assert inspect_path(tmp_path)["frame_sizes"] == [{"height": 7, "width": 9, "dtype": "uint8", "files": 2}]


def test_pages_of_a_multi_page_tiff_are_read_from_their_headers(tmp_path):
    path = tmp_path / "run" / "positions.ome.tif"
    path.parent.mkdir()
    with tifffile.TiffWriter(path, ome=True) as tw:
        for name in ["B2-Site_0", "C10-Site_0"]:
            tw.write(np.ones((3, 1, 5, 11), np.uint16), metadata={
                "axes": "TCYX", "Name": name, "Channel": {"Name": ["Phase"]}, "Plane": {"DeltaT": [0, 3600, 7200]}})
    info = inspect_path(path.parent)
    assert info["n_frames"] == 6 and "#page=" in inspection.open_acquisition(path.parent).frames["path"].iloc[-1]
    assert info["frame_sizes"] == [{"height": 5, "width": 11, "dtype": "uint16", "files": 6}]


def test_unreadable_frames_are_left_out_and_none_read_says_so(tmp_path):
    ixm(tmp_path, ["B03"])
    for p in (tmp_path / "TimePoint_1").glob("*.TIF"):
        p.write_bytes(b"II*\x00broken")
    info = inspect_path(tmp_path)
    assert len(info["unreadable"]) == 2 and info["frame_sizes"] == [] and info["frame_sizes_read"] == 0
    assert size_line(render_inspection(info)) == "  frames: size not read (no sampled file could be read)"
