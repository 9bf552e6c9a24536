"""Image files in a Cellomics plate folder that do not follow the naming are said, not dropped unseen.

Was: ``black.png``, a typo or a ``(1)`` copy beside Cellomics-named images were passed over without a
word (``inspect`` said "6 images", nothing else). Now one note counts them and names up to 3; thumbnails,
hidden and temporary files, metadata and exported copies of named images are not counted.
"""

from pathlib import Path

import cv2
import numpy as np
import tifffile

from ferroscreen.io import open_acquisition
from ferroscreen.io.cellomics import write_cellomics_image
from ferroscreen.io.naming import is_unnamed_note, unnamed_note

from ..conftest import main_in_process

PLATE = "MFGTMPcx7_170805000001"


def _png(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (8, 8), dtype=np.uint8))


def _plate(folder):
    for well in ("A01", "A02", "A03"):
        for field in (0, 1):
            _png(folder / f"{PLATE}_{well}f{field:02d}d0.png")


def _unnamed_notes(acq):
    return [n for n in acq.notes if is_unnamed_note(n)]


def test_unnamed_images_are_counted_and_the_first_three_named(tmp_path):
    _plate(tmp_path)
    for name in (
        "black.png",
        "sat16.png",
        "sat8.png",
        "blur8.tif",
        f"{PLATE}_A01f00d0 (1).png",
        f"{PLATE}_A1f00d0.png",
    ):
        _png(tmp_path / name)
    write_cellomics_image(tmp_path / "sub" / "flat.C01", np.zeros((4, 4), np.uint16))
    acq = open_acquisition(tmp_path)
    assert acq.format == "cellomics" and len(acq.frames) == 6
    assert _unnamed_notes(acq) == [
        "7 image file(s) not named by the Cellomics <plate>_<well>f<field>d<channel> convention were not read: "
        f"{PLATE}_A01f00d0 (1).png, {PLATE}_A1f00d0.png, black.png, ..."
    ]


def test_side_files_are_not_counted(tmp_path):
    _plate(tmp_path)
    _png(tmp_path / f"{PLATE}_A01f00d0.tif")  # an exported copy of a named image: skipped, said there
    _png(tmp_path / f"{PLATE}_thumb.png")
    _png(tmp_path / "._black.png")  # a macOS fork
    _png(tmp_path / "~black.png")  # a copy in progress
    (tmp_path / f"{PLATE}.MDB").write_bytes(b"db")
    (tmp_path / "notes.txt").write_text("plate notes")
    acq = open_acquisition(tmp_path)
    assert len(acq.frames) == 6 and len(acq.skipped) == 1
    assert _unnamed_notes(acq) == []


def test_up_to_three_are_all_named_with_their_folder():
    root = Path("/plate")
    note = unnamed_note(root, [root / "b.png", root / "x" / "a.png"], "Cellomics")
    assert note == "2 image file(s) not named by the Cellomics convention were not read: b.png, x/a.png"
    assert is_unnamed_note(note) and not is_unnamed_note("Cellomics names carry no time: every image is at 0 h")
    assert unnamed_note(root, [], "Cellomics") is None


def test_inspect_prints_the_note(tmp_path, monkeypatch, capfd):
    _plate(tmp_path)
    _png(tmp_path / "black.png")
    code, out, err = main_in_process(["inspect", tmp_path], monkeypatch, capfd)
    assert code == 0, err
    assert "note: 1 image file(s) not named by the Cellomics" in out and "were not read: black.png" in out


def test_readers_that_do_not_opt_in_say_nothing(tmp_path):
    """Only the Cellomics reader opts in: other readers' folders may hold images of their own beside the named ones."""
    run = tmp_path / "241128_111010_Plate 1"
    run.mkdir()
    tifffile.imwrite(run / "B5_03_1_1_Bright Field_001.tif", np.zeros((6, 8), np.uint16))
    _png(run / "stitched_overview.png")
    acq = open_acquisition(tmp_path)
    assert acq.format == "cytation" and _unnamed_notes(acq) == []
