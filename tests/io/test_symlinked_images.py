"""A plate whose images folder is a symbolic link is read as if the folder were there.

A walk-through linked ``plateB/images -> ../plateA/images``: ``inspect plateB`` counted its
images as "in sub-folders ... not read" and ``train`` found "no known acquisition layout"
(``Path.rglob`` does not follow links to folders on Python < 3.13).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import tifffile

from ferroscreen.io import detect_format, open_acquisition
from ferroscreen.io.detect import images_in_subfolders
from ferroscreen.io.inspection import inspect_path, render_inspection
from ferroscreen.io.segment_outputs import input_paths, walk_tree

NAMES = [
    "VID1_phase_A1_1_00d00h00m.tif",
    "VID1_phase_A1_1_00d04h00m.tif",
    "VID1_phase_B2_1_00d00h00m.tif",
    "VID1_phase_B2_1_00d04h00m.tif",
]


def _link(link: Path, target: str) -> None:
    try:
        os.symlink(target, link, target_is_directory=True)
    except (OSError, NotImplementedError) as exc:  # Windows without the privilege
        pytest.skip(f"no symbolic links here: {exc}")


def _plate_a(tmp_path: Path) -> Path:
    images = tmp_path / "plateA" / "images"
    images.mkdir(parents=True)
    for i, name in enumerate(NAMES):
        tifffile.imwrite(images / name, np.full((16, 16), 100 + i, np.uint16))
    return tmp_path / "plateA"


def test_a_linked_images_folder_is_detected_and_read_through_the_link(tmp_path):
    _plate_a(tmp_path)
    plate_b = tmp_path / "plateB"
    plate_b.mkdir()
    _link(plate_b / "images", "../plateA/images")
    assert detect_format(plate_b) == "incucyte"  # was: no known acquisition layout found
    acq = open_acquisition(plate_b)
    assert len(acq.frames) == 4 and acq.wells == ["A01", "B02"]
    assert sorted(Path(p).name for p in acq.frames["path"]) == sorted(NAMES)
    assert acq.load(0).shape == (16, 16)


def test_inspect_reads_a_plate_whose_images_folder_is_a_link(tmp_path):
    _plate_a(tmp_path)
    plate_b = tmp_path / "plateB"
    plate_b.mkdir()
    _link(plate_b / "images", "../plateA/images")
    text = render_inspection(inspect_path(plate_b))
    assert "incucyte" in text.lower()
    assert "are not read" not in text


def test_links_that_loop_or_repeat_a_folder_are_not_followed(tmp_path):
    plate = _plate_a(tmp_path)
    _link(plate / "images" / "up", "..")  # back to the plate: a loop
    _link(plate / "images" / "here", ".")  # to itself
    _link(plate / "again", "images")  # a second way into one folder of the tree
    walked = [Path(d) for d, _, _ in walk_tree(plate)]
    assert walked == [plate, plate / "images"]
    assert detect_format(plate) == "incucyte"
    acq = open_acquisition(plate)  # no "the same frame ... is also" refusal, no endless walk
    assert len(acq.frames) == 4
    assert len([p for p in input_paths(plate).paths if p.suffix == ".tif"]) == 4


def test_two_links_to_one_outside_folder_are_walked_once(tmp_path):
    _plate_a(tmp_path)
    plate_b = tmp_path / "plateB"
    plate_b.mkdir()
    _link(plate_b / "images", "../plateA/images")
    _link(plate_b / "images2", "../plateA/images")
    acq = open_acquisition(plate_b)
    assert len(acq.frames) == 4 and {Path(p).parent.name for p in acq.frames["path"]} == {"images"}


def test_a_linked_single_file_is_read(tmp_path):
    plate = _plate_a(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = plate / "images" / NAMES[-1]
    moved.rename(elsewhere / NAMES[-1])
    os.symlink(elsewhere / NAMES[-1], moved)
    assert len(open_acquisition(plate).frames) == 4


def test_images_in_a_linked_sub_sub_folder_are_counted(tmp_path):
    _plate_a(tmp_path)
    folder = tmp_path / "plain"
    (folder / "sub").mkdir(parents=True)
    _link(folder / "sub" / "linked", "../../plateA/images")
    counts, complete = images_in_subfolders(folder)
    assert counts == {"sub": 4} and complete


def test_the_watch_first_scan_check_and_crop_folders_follow_links(tmp_path):
    """``score --watch``'s listing of landed images and a crop folder's class folders follow links too."""
    from ferroscreen.datamodules.crop_folders import crop_images
    from ferroscreen.score.first_scan import image_files

    _plate_a(tmp_path)
    plate_b = tmp_path / "plateB"
    plate_b.mkdir()
    _link(plate_b / "images", "../plateA/images")
    assert sorted(Path(p).name for p, _, _ in image_files(plate_b)) == sorted(NAMES)
    crops = tmp_path / "crops"
    crops.mkdir()
    _link(crops / "alive", str(tmp_path / "plateA" / "images"))
    assert sorted(p.name for p in crop_images(crops)) == sorted(NAMES)
