"""The layout file found beside an acquisition: its names in any letter case, and which of two is used."""

from __future__ import annotations

import pytest

from ferroscreen.io import find_layout_beside
from ferroscreen.io.detect import LAYOUT_BESIDE, layout_beside


def _images(tmp_path):
    folder = tmp_path / "run" / "images"
    folder.mkdir(parents=True)
    (folder / "VID1_phase_A1_1_00d00h00m.tif").write_bytes(b"II*\0")
    return folder


@pytest.mark.parametrize("name", ["layout.csv", "Layout.csv", "LAYOUT.CSV", "layout.xlsx", "Layout.xlsx"])
def test_a_layout_named_in_any_letter_case_is_found(tmp_path, name):
    folder = _images(tmp_path)
    (folder / name).write_text("well,compound\n")
    assert find_layout_beside(folder) == folder / name


def test_a_layout_in_the_parent_folder_is_found(tmp_path):
    folder = _images(tmp_path)
    (folder.parent / "Layout.xlsx").write_bytes(b"")
    assert find_layout_beside(folder) == folder.parent / "Layout.xlsx"


def test_the_folder_own_layout_comes_before_the_parent(tmp_path):
    folder = _images(tmp_path)
    (folder.parent / "layout.xlsx").write_bytes(b"")
    (folder / "layout.csv").write_text("well,compound\n")
    assert find_layout_beside(folder) == folder / "layout.csv"


@pytest.mark.parametrize(("names", "used", "unread"), [
    (("layout.csv", "layout.xlsx"), "layout.csv", "layout.xlsx"),
    (("Layout.xlsx", "layout.CSV"), "layout.CSV", "Layout.xlsx"),
    (("Layout.csv", "layout.csv", "layout.xlsx"), "layout.csv", "Layout.csv, layout.xlsx"),
])
def test_of_two_layouts_side_by_side_the_csv_is_used_and_said(tmp_path, names, used, unread):
    folder = _images(tmp_path)
    for name in names:
        (folder / name).write_text("well,compound\n")
    path, note = layout_beside(folder)
    assert path == folder / used and find_layout_beside(folder) == path
    assert note == (f"{folder}: {used} is the layout of images; {unread} beside it is not read (pass --layout to "
                    f"use another)")


def test_a_single_layout_says_nothing(tmp_path):
    folder = _images(tmp_path)
    (folder / "Layout.xlsx").write_bytes(b"")
    assert layout_beside(folder) == (folder / "Layout.xlsx", "")
    assert layout_beside(tmp_path / "nowhere" / "images") == (None, "")


def test_a_single_platemap_in_any_letter_case_is_found_and_lock_files_are_not(tmp_path):
    folder = _images(tmp_path)
    (folder / "~$layout.xlsx").write_bytes(b"")  # Excel's lock file while the layout is open
    (folder / ".~lock.layout.csv#").write_bytes(b"")
    assert find_layout_beside(folder) is None
    (folder / "plate1.platemap").write_text("<xml/>")
    assert find_layout_beside(folder) == folder / "plate1.platemap"
    (folder / "plate2.PlateMap").write_text("<xml/>")
    assert find_layout_beside(folder) is None  # two plate maps name none


def test_a_layout_folder_is_no_layout_file(tmp_path):
    folder = _images(tmp_path)
    (folder / "Layout.csv").mkdir()
    assert find_layout_beside(folder) is None


def test_an_acquisition_that_is_one_file_finds_the_layout_beside_it(tmp_path):
    (tmp_path / "plate.ome.tiff").write_bytes(b"II*\0")
    (tmp_path / "Layout.csv").write_text("well,compound\n")
    assert find_layout_beside(tmp_path / "plate.ome.tiff") == tmp_path / "Layout.csv"


def test_the_names_looked_for_are_all_said():
    assert all(name in LAYOUT_BESIDE for name in ("layout.csv", "layout.xlsx", ".PlateMap"))
