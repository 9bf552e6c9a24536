"""Wells missing fields, fields missing channels; empty and undecodable image files said in one line."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from ferroscreen.errors import ImageReadError
from ferroscreen.io import open_acquisition
from ferroscreen.io.acquisition import missing_sites_note
from ferroscreen.io.frames import decode_image_file, encoded_image_problem, first_line
from ferroscreen.io.inspection import inspect_path, render_inspection


def tif(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.ones((6, 8), np.uint16))


def png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8), 100, np.uint8))


def ixm(root: Path, sites: dict[str, tuple[int, ...]], waves=(1, 2), skip=()) -> None:
    for well, fields in sites.items():
        for s in fields:
            for w in waves:
                if (well, s, w) not in skip:
                    tif(root / "TimePoint_1" / f"LIB_{well}_s{s}_w{w}.TIF")


def test_a_well_missing_a_field_is_counted(tmp_path):
    ixm(tmp_path, {"B03": (1, 2), "B04": (1,), "C05": (1, 2)})
    acq = open_acquisition(tmp_path)
    miss = acq.missing_frames()
    assert sorted(zip(miss["well"], miss["field"], miss["channel"], strict=True)) == [
        ("B04", 2, "w1"), ("B04", 2, "w2")]
    assert acq.missing_sites() == {"wells_missing_fields": [{"plate": "LIB", "well": "B04", "fields": [2]}],
                                   "fields_missing_channels": []}
    note = next(n for n in acq.notes if n.startswith("missing from the grid"))
    assert "1 well(s) lack fields other wells of their plate have (B04: field 2)" in note and "\n" not in note
    text = render_inspection(inspect_path(tmp_path))
    assert "missing from the grid: 2 frame(s)" in text
    assert "    1 well(s) lack fields other wells of their plate have (B04: field 2)" in text
    assert text.count("lack fields") == 1  # not repeated as a note


def test_fields_missing_a_channel_and_many_wells_are_named_briefly(tmp_path):
    sites = {"B03": tuple(range(1, 17))} | {w: (1, 2) for w in ("B04", "B05", "B06", "B07")}
    skip = {("B03", s, 2) for s in range(3, 17)}
    ixm(tmp_path, sites, skip=skip)
    acq = open_acquisition(tmp_path)
    found = acq.missing_sites()
    assert [r["well"] for r in found["wells_missing_fields"]] == ["B04", "B05", "B06", "B07"]
    assert found["wells_missing_fields"][0]["fields"] == list(range(3, 17))
    assert len(found["fields_missing_channels"]) == 14
    assert found["fields_missing_channels"][0] == {"plate": "LIB", "well": "B03", "field": 3, "channels": ["w2"]}
    note = missing_sites_note(acq.frames)
    assert "4 well(s) lack fields" in note and "B04: fields 3-16" in note and " …" in note
    assert "14 field(s) lack a channel (B03 field 3: w2;" in note
    assert len(acq.missing_frames()) == 4 * 14 * 2 + 14


def test_complete_plates_have_no_note_and_plates_are_apart(tmp_path):
    ixm(tmp_path / "P1", {"B03": (1, 2), "B04": (1, 2)})
    for well in ("C03", "C04"):  # another plate with one field per well and other wells: nothing missing
        for w in (1, 2):
            tif(tmp_path / "P2" / "TimePoint_1" / f"OTHER_{well}_s1_w{w}.TIF")
    acq = open_acquisition(tmp_path)
    assert acq.missing_frames().empty and missing_sites_note(acq.frames) is None
    assert not any(n.startswith("missing from the grid") for n in acq.notes)


def test_cellomics_well_missing_a_field(tmp_path):
    for well, fields in (("B03", 2), ("B06", 2), ("B07", 1)):
        for f in range(fields):
            png(tmp_path / f"MFGTMPcx7_180101000001_{well}f{f:02d}d0.png")
    acq = open_acquisition(tmp_path)
    assert acq.format == "cellomics"
    assert any("(B07: field f01)" in n for n in acq.notes)  # as its files name it: f01, the frame table's field 2


def test_an_empty_png_is_said_to_be_empty(tmp_path):
    from ferroscreen.segment.images import read_image

    empty = tmp_path / "P_B06f01d0.png"
    empty.write_bytes(b"")
    assert encoded_image_problem(np.fromfile(empty, np.uint8), ".png") == "empty file (0 bytes)"
    with pytest.raises(ValueError, match=r"^empty file \(0 bytes\)$"):
        decode_image_file(empty)
    with pytest.raises(ImageReadError) as err:
        read_image(empty)
    assert str(err.value) == f"{empty}: cannot decode image (empty file (0 bytes))"


def test_a_library_message_of_several_lines_is_cut_to_its_first(tmp_path, monkeypatch):
    import ferroscreen.segment.images as images

    def fail(path):
        raise RuntimeError("OpenCV(5.1.0) loadsave.cpp:1313: error: (-215:Assertion failed) !buf.empty()\n\nmore\n")

    bad = tmp_path / "x.png"
    png(bad)
    monkeypatch.setattr(images, "decode_image_file", fail)
    with pytest.raises(ImageReadError) as err:
        images.read_image(bad)
    assert "\n" not in str(err.value) and str(err.value).endswith("!buf.empty())")
    assert first_line(RuntimeError("\n  first  \nsecond")) == "first" and first_line(KeyError()) == "KeyError"
