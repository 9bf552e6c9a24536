"""Files of a copy, download or save in progress in an acquisition folder are passed over, with one note: an
IncuCyte export copied by a tool that writes ``~VID1_...tif`` first was read as a second plate ``~VID1``."""

import json

import numpy as np
import pytest
import tifffile

from ferroscreen.io import open_acquisition
from ferroscreen.io.segment_outputs import input_paths, is_passed_over_note
from ferroscreen.io.temporary_files import is_temporary_name

from ..cli_process import FERROSCREEN, run_command

NAMES = ["VID1_phase_A1_1_00d00h00m.tif", "VID1_phase_A1_1_00d04h00m.tif", "VID1_phase_B2_1_00d00h00m.tif",
         "VID1_phase_B2_1_00d04h00m.tif"]


def _export(tmp_path, *extra):
    """An IncuCyte export folder of :data:`NAMES` and ``extra`` (names: copies of the first image)."""
    folder = tmp_path / "export"
    folder.mkdir(parents=True)
    for i, name in enumerate(NAMES):
        tifffile.imwrite(folder / name, np.full((16, 16), 100 + i, np.uint16))
    for name in extra:
        (folder / name).write_bytes((folder / NAMES[0]).read_bytes())
    return folder


@pytest.mark.parametrize("name", [
    "~VID1_phase_A1_1_00d04h00m.tif", "~$layout.xlsx", ".~lock.layout.csv#", "B2.tif.part", "x.partial",
    "x.crdownload", "x.filepart", "x.TMP", "x.temp", "x.tif.!sync",
])
def test_temporary_names(name):
    assert is_temporary_name(name)


@pytest.mark.parametrize("name", [
    "VID1_phase_A1_1_00d04h00m.tif", "layout.xlsx", "._x.tif", "part.tif", "x.tif~", "tmp", "a~b.tif",
    ".~lock.layout.csv",
])
def test_other_names(name):
    assert not is_temporary_name(name)


def test_tilde_copy_is_no_second_plate(tmp_path):
    folder = _export(tmp_path, "~VID1_phase_A1_1_00d04h00m.tif")
    acq = open_acquisition(folder)
    assert acq.format == "incucyte" and sorted(acq.frames["plate"].unique()) == ["VID1"]
    assert len(acq.frames) == 4 and acq.skipped == []
    note = "passed over 1 temporary file(s) (~VID1_phase_A1_1_00d04h00m.tif): a copy or save in progress"
    assert [n for n in acq.notes if "temporary" in n] == [note]


def test_partial_copies_counted_in_one_note(tmp_path):
    folder = _export(tmp_path, "VID1_phase_B2_1_00d08h00m.tif.part", "~$layout.xlsx")
    (folder / "sub").mkdir()
    (folder / "sub" / "VID1_phase_A1_1_00d08h00m.tif.filepart").write_bytes(b"II*\0")
    acq = open_acquisition(folder)
    assert len(acq.frames) == 4 and sorted(acq.frames["plate"].unique()) == ["VID1"]
    assert acq.skipped == []
    temp = [n for n in acq.notes if "temporary" in n]
    assert temp == ["passed over 3 temporary file(s) (VID1_phase_B2_1_00d08h00m.tif.part, ...): a copy or save "
                    "in progress"]
    assert is_passed_over_note(temp[0])  # segment keeps it among the notes of what the reader passed over


def test_walk_lists_no_temporary_file(tmp_path):
    folder = _export(tmp_path, "~VID1_phase_A1_1_00d04h00m.tif", "a.tmp")
    walk = input_paths(folder)
    assert [p.name for p in walk.paths] == NAMES
    assert walk.note.startswith("passed over 2 temporary file(s) (a.tmp, ...)")
    assert input_paths(_export(tmp_path / "clean")).note is None


def test_pattern_reader_passes_over_a_part_file(tmp_path):
    folder = tmp_path / "P1"
    folder.mkdir()
    for well in ("B02", "B03"):
        tifffile.imwrite(folder / f"{well}_s1.tif", np.zeros((8, 8), np.uint8))
    (folder / "B04_s1.tif.part").write_bytes(b"")
    (folder / "~B04_s1.tif").write_bytes(b"")
    acq = open_acquisition(folder, fmt=r"pattern:(?P<well>[A-P]\d+)_s(?P<field>\d+)\.tif")
    assert sorted(acq.frames["well"]) == ["B02", "B03"] and acq.skipped == []
    assert acq.notes == ["passed over 2 temporary file(s) (B04_s1.tif.part, ...): a copy or save in progress"]


def test_inspect_shows_one_plate_and_the_note(tmp_path):
    folder = _export(tmp_path, "~VID1_phase_A1_1_00d04h00m.tif", "~VID1_phase_A1_1_00d08h00m.tif.crdownload")
    res = run_command([*FERROSCREEN, "inspect", str(folder)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "acquisition (incucyte)" in out and "frames: 4" in out and "files not understood" not in out
    note = ("note: passed over 2 temporary file(s) (~VID1_phase_A1_1_00d04h00m.tif, ...): a copy or save in "
            "progress")
    assert out.count(note) == 1 and out.count("~VID1") == 1, out
    res = run_command([*FERROSCREEN, "inspect", str(folder), "--json"], capture_output=True, text=True, timeout=120)
    info = json.loads(res.stdout)
    assert info["plates"] == ["VID1"] and info["skipped_files"] == [] and info["n_frames"] == 4


def test_image_folder_passes_over_a_copy_in_progress(tmp_path):
    from ferroscreen.io.inspection import inspect_path

    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.tif", "b.tif"):
        tifffile.imwrite(folder / name, np.zeros((8, 8), np.uint8))
    (folder / "~c.tif").write_bytes((folder / "a.tif").read_bytes())
    (folder / "d.tif.part").write_bytes(b"")
    info = inspect_path(folder)
    assert info["kind"] == "image_folder" and info["n_images"] == 2 and info["not_images"] == []
    assert "passed over 2 temporary file(s) (d.tif.part, ...): a copy or save in progress" in info["notes"]
