"""A frame file that is a z-stack TIFF (ImageJ ``ZYX``/``ZCYX``) gives a frame per plane, as multi-plane formats do:
``score`` and ``detect`` read the plane ``--z-plane`` names, else the lowest with a note; they read its first page
without a word before. ``detect --z-plane`` reads a folder (or file) of z-stack images too."""

import json

import numpy as np
import pytest
import tifffile

from ferroscreen.crops.detection_check import detection_inputs
from ferroscreen.errors import FerroscreenError
from ferroscreen.io import load_image, open_acquisition
from ferroscreen.io.tiff_stacks import tiff_stack
from ferroscreen.score.plan import select_frames

from ..cli_process import FERROSCREEN, run_command

WELLS = ("A1", "B2")


def _planes(n=3, base=0):
    """``n`` 24x24 planes, plane k all ``base + 10 k + 1``."""
    return np.stack([np.full((24, 24), base + 10 * k + 1, np.uint16) for k in range(n)])


def _export(tmp_path, axes="ZYX"):
    """An IncuCyte export of one z-stack TIFF per well and scan (``ZCYX``: channel 1 is plane + 5)."""
    folder = tmp_path / "export"
    folder.mkdir()
    for i, well in enumerate(WELLS):
        for t in ("00d00h00m", "00d04h00m"):
            zyx = _planes(base=100 * i)
            data = zyx if axes == "ZYX" else np.stack([zyx, zyx + 5], axis=1)
            tifffile.imwrite(folder / f"VID1_phase_{well}_1_{t}.tif", data, imagej=True, metadata={"axes": axes})
    return folder


def test_tiff_stack_reads_planes_from_the_header(tmp_path):
    tifffile.imwrite(tmp_path / "zcyx.tif", np.zeros((3, 2, 8, 8), np.uint8), imagej=True, metadata={"axes": "ZCYX"})
    tifffile.imwrite(tmp_path / "flat.tif", np.zeros((8, 8), np.uint8))
    tifffile.imwrite(tmp_path / "pages.tif", np.zeros((5, 8, 8), np.uint8))
    assert tiff_stack(tmp_path / "zcyx.tif") == (3, "ZCYX", 6, 2)
    assert tiff_stack(tmp_path / "flat.tif") == (1, "YX", 1, 1)
    assert tiff_stack(tmp_path / "pages.tif")[:3] == (1, "QYX", 5)
    assert tiff_stack(tmp_path / "none.tif").planes == 1


def test_zstack_files_give_a_frame_per_plane(tmp_path):
    folder = _export(tmp_path)
    acq = open_acquisition(folder)
    assert sorted(acq.frames["z"].unique()) == [0, 1, 2] and len(acq.frames) == 12
    first = folder / "VID1_phase_A1_1_00d00h00m.tif"
    assert [n for n in acq.notes if "z-stack" in n] == [
        f"{first}: a z-stack of 3 planes (axes ZYX) in one TIFF (and 3 more such file(s)): each plane is a frame, "
        "z 0-2"]
    a1 = acq.frames[(acq.frames["well"] == "A01") & (acq.frames["time_h"] == 0)]
    assert [int(load_image(p)[0, 0]) for p in a1["path"]] == [1, 11, 21]


def test_score_reads_the_plane_asked_for_else_the_lowest_with_a_note(tmp_path):
    folder = _export(tmp_path)
    acq = open_acquisition(folder)
    found, _, note = select_frames(acq.frames, folder, z_plane=2)
    assert len(found) == 4 and set(found["z"]) == {2} and note is None
    assert sorted(int(load_image(p)[0, 0]) for p in found["path"]) == [21, 21, 121, 121]
    found, _, note = select_frames(acq.frames, folder)
    assert set(found["z"]) == {0} and "z plane 0 (the lowest) of planes 0, 1, 2; --z-plane picks another" in note
    with pytest.raises(FerroscreenError, match="no z plane 3 \\(planes 0, 1, 2"):
        select_frames(acq.frames, folder, z_plane=3)


def test_zcyx_planes_read_their_first_channel(tmp_path):
    acq = open_acquisition(_export(tmp_path, "ZCYX"))
    assert sorted(acq.frames["z"].unique()) == [0, 1, 2]
    note = next(n for n in acq.notes if "z-stack" in n)
    assert "a z-stack of 3 planes (axes ZCYX)" in note and "of its other axes (C) the first is read" in note
    a1 = acq.frames[(acq.frames["well"] == "A01") & (acq.frames["time_h"] == 0)]
    assert [int(load_image(p)[0, 0]) for p in a1["path"]] == [1, 11, 21]


def test_pages_without_a_z_axis_are_said_and_not_planes(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    tifffile.imwrite(folder / "VID1_phase_A1_1_00d00h00m.tif", _planes(5))
    tifffile.imwrite(folder / "VID1_phase_B2_1_00d00h00m.tif", _planes(5))
    acq = open_acquisition(folder)
    assert list(acq.frames["z"]) == [0, 0] and not any("#page=" in p for p in acq.frames["path"])
    assert [n for n in acq.notes if "images" in n] == [
        f"{folder / 'VID1_phase_A1_1_00d00h00m.tif'}: holds 5 images (axes QYX; no z axis) (and 1 more such "
        "file(s)): only its first is read"]


def test_flat_files_are_unchanged(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for well in WELLS:
        tifffile.imwrite(folder / f"VID1_phase_{well}_1_00d00h00m.tif", _planes(1)[0])
    acq = open_acquisition(folder)
    assert list(acq.frames["z"]) == [0, 0] and acq.notes == []
    assert all(p.endswith(".tif") for p in acq.frames["path"])


def test_detect_on_an_acquisition_of_zstacks(tmp_path):
    folder = _export(tmp_path)
    table = detection_inputs(folder, z_plane=1)
    assert len(table) == 4 and all(p.endswith("#page=1") for p in table["path"])
    assert set(table["z"]) == {1} and "detecting in z plane 1 of planes 0, 1, 2" in table.attrs["notes"]  # asked
    table = detection_inputs(folder)
    assert all(p.endswith("#page=0") for p in table["path"])
    assert any("detecting in z plane 0 (the lowest) of planes 0, 1, 2" in n for n in table.attrs["notes"])


def _stack_folder(tmp_path):
    folder = tmp_path / "stacks"
    folder.mkdir()
    for i in range(2):
        tifffile.imwrite(folder / f"f{i}.tif", _planes(base=100 * i), imagej=True, metadata={"axes": "ZYX"})
    return folder


def test_detect_z_plane_for_a_folder_of_zstack_images(tmp_path):
    folder = _stack_folder(tmp_path)
    table = detection_inputs(folder, z_plane=2)
    assert list(table["image"]) == ["f0", "f1"] and list(table["path"]) == [str(folder / "f0.tif"),
                                                                           str(folder / "f1.tif")]
    assert [int(load_image(f)[0, 0]) for f in table["frame"]] == [21, 121] and set(table["z"]) == {2}
    assert table.attrs["notes"] == ["detecting in z plane 2 of each z-stack"]
    one = detection_inputs(folder / "f1.tif", z_plane=1)
    assert [int(load_image(f)[0, 0]) for f in one["frame"]] == [111]
    with pytest.raises(FerroscreenError, match="f0.tif: no z plane 3 \\(planes 0, 1, 2, numbered from 0\\)"):
        detection_inputs(folder, z_plane=3)
    (folder / "~f0.tif").write_bytes((folder / "f0.tif").read_bytes())  # a copy in progress
    (folder / "f1.tif.part").write_bytes(b"II*\x00")
    table = detection_inputs(folder)
    assert "frame" not in table.columns and list(table["image"]) == ["f0", "f1"]
    passed = table.attrs["notes"].pop(0)
    assert passed == "passed over 2 temporary file(s) (f1.tif.part, ...): a copy or save in progress"
    assert table.attrs["notes"] == [f"{folder / 'f0.tif'}: a z-stack of 3 planes (axes ZYX) (and 1 more): its "
                                    "lowest plane, z 0, is read; --z-plane picks another"]


def test_detect_z_plane_refused_for_flat_images_in_one_line(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", np.zeros((8, 8), np.uint8))
    with pytest.raises(FerroscreenError) as err:
        detection_inputs(folder, z_plane=1)
    assert str(err.value) == (f"{folder}: --z-plane picks a plane of an acquisition; this is a folder of images, "
                              "and no z-stack (a TIFF with a Z axis, as ImageJ hyperstacks have)")


def test_detect_cli_reads_the_plane(tmp_path):
    folder = _stack_folder(tmp_path)
    out = tmp_path / "out"
    res = run_command([*FERROSCREEN, "detect", str(folder), "--out", str(out), "--z-plane", "1", "--json"],
                      capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "note: detecting in z plane 1 of each z-stack" in res.stderr
    summary = json.loads(res.stdout)
    assert summary["n_images"] == 2 and summary["n_unreadable"] == 0
    assert summary["notes"] == ["detecting in z plane 1 of each z-stack"]
    res = run_command([*FERROSCREEN, "detect", str(folder), "--out", str(tmp_path / "low")],
                      capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "a z-stack of 3 planes (axes ZYX) (and 1 more): its lowest plane, z 0, is read" in res.stderr
