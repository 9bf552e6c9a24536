"""An earlier ``segment`` output inside a plate folder (``segment plate --out plate/seg``) is passed over by every
reader that walks the folder, with one note: ``inspect`` no longer lists its label images as the plate's (or
refuses the plate: IncuCyte's "the same frame ... is also seg/labels/..."), and the readers ``segment`` uses
read the plate as it is."""

import json

import numpy as np
import pytest
import tifffile

from ferroscreen.io import open_acquisition
from ferroscreen.io.inspection import inspect_path, render_inspection

from ..conftest import main_in_process

CX = "MFGTMPcx7_170702000001"

#: format -> (pattern for --format pattern, or None; image names of two wells (relative to the plate folder))
LAYOUTS = {
    "incucyte": (None, ["VID3_nuc_B2_1_00d00h00m.tif", "VID3_nuc_B3_1_00d00h00m.tif"]),
    "cellomics": (None, [f"{CX}_B14f00d0.tif", f"{CX}_B15f00d0.tif"]),
    "cytation": (None, ["B5_03_1_1_Bright Field_001.tif", "B6_03_1_1_Bright Field_001.tif"]),
    "scanr": (None, ["data/B2--W00014--P00001--Z00000--T00000--DAPI.tif",
                     "data/B3--W00015--P00001--Z00000--T00000--DAPI.tif"]),
    "imagexpress": (None, ["P1_B02_s1_w1.TIF", "P1_B03_s1_w1.TIF"]),
    "cellvoyager": (None, ["W96_B02_T0001F001L01A01Z01C01.tif", "W96_B03_T0001F001L01A01Z01C01.tif"]),
    "pattern": (r"pattern:(?P<well>[A-P]\d+)_s(?P<field>\d+)\.tif", ["B02_s1.tif", "B03_s1.tif"]),
    "ometiff": (None, ["B2-Site_0.ome.tif", "B3-Site_0.ome.tif"]),
}


def _plate_with_output(tmp_path, names, run_marker=True):
    """A plate folder of ``names`` holding ``seg/``, an earlier segment run whose label images carry the same names
    (``run.json`` alone: a stopped run, else also ``segment.json``)."""
    plate = tmp_path / "P1"
    for i, name in enumerate(names):
        path = plate / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(path, np.full((16, 16), 100 + i, np.uint16), ome=name.endswith(".ome.tif") or None)
        label = plate / "seg" / "labels" / name.split("/")[-1]
        label.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(label, np.zeros((16, 16), np.uint16))
    (plate / "seg" / "run.json").write_text(json.dumps({"model_sha256": "ab" * 32, "scale": {"scale": 1.0}}))
    if not run_marker:
        (plate / "seg" / "run.json").unlink()
        (plate / "seg" / "segment.json").write_text(json.dumps({"task": "nuclei-segmentation"}))
    return plate


@pytest.mark.parametrize("fmt", sorted(LAYOUTS))
def test_readers_pass_over_an_earlier_segment_output(tmp_path, fmt):
    pattern, names = LAYOUTS[fmt]
    plate = _plate_with_output(tmp_path, names, run_marker=fmt != "cellomics")
    acq = open_acquisition(plate, fmt=pattern)
    assert acq.format == (fmt if pattern is None else "pattern")
    assert len(acq.frames) == 2 and not any("/seg/" in p for p in acq.frames["path"])
    assert not any("/seg/" in p for p, _ in acq.skipped)
    assert [n for n in acq.notes if "segment" in n] == [
        f"passed over {plate / 'seg'}: the output of an earlier segment run (3 file(s)); its label images are not "
        "input"]


def test_inspect_of_a_plate_holding_a_segment_output(tmp_path, monkeypatch, capfd):
    """IncuCyte: was refused ("the same frame ... is also .../seg/labels/..."); now the plate, and one note."""
    plate = _plate_with_output(tmp_path, LAYOUTS["incucyte"][1])
    code, out, err = main_in_process(["inspect", plate], monkeypatch, capfd)
    assert code == 0, err
    assert "acquisition (incucyte)" in out and "frames: 2" in out and "files not understood" not in out
    assert out.count("/seg") == 1
    assert f"  note: passed over {plate / 'seg'}: the output of an earlier segment run (3 file(s))" in out
    info = inspect_path(plate)
    assert info["n_frames"] == 2 and info["unreadable"] == [] and info["skipped_files"] == []
    assert "passed over" in render_inspection(info)


def test_inspect_of_a_pattern_plate_no_longer_lists_the_labels(tmp_path):
    """A reader that took the label images as frames of another plate (a pattern with a '/'): they are gone."""
    plate = _plate_with_output(tmp_path, ["B02_s1.tif", "B03_s1.tif"])
    info = inspect_path(plate, fmt=r"pattern:(?:.*/)?(?P<well>[A-P]\d+)_s(?P<field>\d+)\.tif")
    assert info["n_frames"] == 2 and info["skipped_files"] == []


def test_input_paths_is_sorted_rglob_without_outputs(tmp_path):
    from ferroscreen.io.segment_outputs import input_paths

    plate = _plate_with_output(tmp_path, LAYOUTS["scanr"][1])
    (plate / "notes.txt").write_text("mine")
    (plate / "seg2").mkdir()
    (plate / "seg2" / "run.json").write_text("{}")  # not a segment run's: a user's file of that name
    walk = input_paths(plate)
    everything = sorted(plate.rglob("*"))
    assert walk.paths == [p for p in everything if p != plate / "seg" and plate / "seg" not in p.parents]
    assert walk.outputs == [plate / "seg"] and "passed over" in walk.note
    assert input_paths(tmp_path / "none") == ([], [], None)
