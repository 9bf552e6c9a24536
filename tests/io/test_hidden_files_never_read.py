"""Hidden files (macOS ``._name.TIF`` AppleDouble forks, ``.DS_Store``) are never an acquisition's input.

A plate copied from a Mac carries a ``._`` fork beside each image, named like it: the ImageXpress,
Cellomics and --pattern readers took them for images (a plate ``._VID1``; the same frame twice).
"""

from ferroscreen.io import detect_format, open_acquisition
from ferroscreen.io.segment_outputs import input_paths

from .test_readers import tif


def fork(path):
    """The AppleDouble fork macOS writes beside ``path`` on a non-Mac disk (not an image)."""
    (path.parent / f"._{path.name}").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 60)


def test_imagexpress_plate_with_forks_is_one_plate(tmp_path):
    for t in (1, 2):
        for well in ("B02", "B03"):
            fork(tif(tmp_path / "VID1" / f"TimePoint_{t}" / f"VID1_{well}_s1_w1.TIF"))
    acq = open_acquisition(tmp_path / "VID1", interval_h=4)
    assert set(acq.frames["plate"]) == {"VID1"} and len(acq.frames) == 4
    assert acq.timepoints_h == [0, 4]


def test_single_site_imagexpress_folder_with_forks_is_detected(tmp_path):
    for well in ("B03", "B04", "C03"):
        fork(tif(tmp_path / f"P1_{well}_w1.TIF"))
    assert detect_format(tmp_path) == "imagexpress"
    assert set(open_acquisition(tmp_path).frames["plate"]) == {"P1"}


def test_cellomics_plate_with_forks_is_one_plate(tmp_path):
    for well in ("A01", "A02"):
        fork(tif(tmp_path / "VID1" / f"VID1_{well}f00d0.tif"))
    (tmp_path / "VID1" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    acq = open_acquisition(tmp_path / "VID1")
    assert set(acq.frames["plate"]) == {"VID1"} and len(acq.frames) == 2 and not acq.skipped


def test_pattern_reads_no_fork(tmp_path):
    for well in ("A01", "A02"):
        fork(tif(tmp_path / f"Well{well}_Point0000_Seq0000_ch1.TIF"))
    acq = open_acquisition(tmp_path, pattern=r".*Well(?P<well>[A-H]\d\d)_Point(?P<field>\d+)_Seq\d+_ch1\.TIF")
    assert len(acq.frames) == 2 and not any("._" in p for p in acq.frames["path"])


def test_the_folder_walk_passes_over_hidden_files_and_folders(tmp_path):
    tif(tmp_path / "a.tif")
    fork(tmp_path / "a.tif")
    tif(tmp_path / ".snapshot" / "a.tif")
    walk = input_paths(tmp_path)
    assert walk.paths == [tmp_path / "a.tif"] and walk.note is None
