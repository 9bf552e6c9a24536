"""A layout.csv inside a Harmony measurement folder is found from the folder above it, as from the folder itself;
a generic TimePoint_N folder taken for ImageXpress says how to read it with --pattern."""

import pytest

from ferroscreen.errors import AcquisitionError
from ferroscreen.io import open_acquisition
from ferroscreen.io.detect import layout_beside

from .test_harmony_times import export
from .test_readers import tif

MEASUREMENT = "VID1__2024-01-15T10_30_00-Measurement 1"


def test_the_measurements_layout_is_found_from_the_folder_above(tmp_path):
    export(tmp_path / MEASUREMENT)
    (tmp_path / MEASUREMENT / "layout.csv").write_text("well,compound\nB02,DMSO\n")
    assert layout_beside(tmp_path / MEASUREMENT)[0] == tmp_path / MEASUREMENT / "layout.csv"
    assert layout_beside(tmp_path) == (tmp_path / MEASUREMENT / "layout.csv", "")
    assert layout_beside(tmp_path / MEASUREMENT / "Images")[0] == tmp_path / MEASUREMENT / "layout.csv"


def test_a_layout_beside_the_measurements_comes_first(tmp_path):
    export(tmp_path / MEASUREMENT)
    (tmp_path / MEASUREMENT / "layout.csv").write_text("well,compound\nB02,DMSO\n")
    (tmp_path / "layout.csv").write_text("well,compound\nB02,DMSO\n")
    assert layout_beside(tmp_path)[0] == tmp_path / "layout.csv"


def test_several_measurements_with_their_own_layouts_name_none(tmp_path):
    for n in (1, 2):
        export(tmp_path / f"P{n}__2024-01-15T10_30_00-Measurement 1")
        (tmp_path / f"P{n}__2024-01-15T10_30_00-Measurement 1" / "layout.csv").write_text("well,compound\n")
    found, note = layout_beside(tmp_path)
    assert found is None and "\n" not in note
    assert note.startswith(f"{tmp_path}: no layout found") and "pass --layout" in note


def test_a_generic_timepoint_folder_is_told_how_to_read_it(tmp_path):
    for t in (1, 2):
        tif(tmp_path / f"TimePoint_{t}" / "A10_f1.tif")
    with pytest.raises(AcquisitionError) as err:
        open_acquisition(tmp_path)
    message = str(err.value)
    assert "no ImageXpress images found" in message and "--pattern" in message and "\n" not in message
    rx = message.split("e.g. '", 1)[1].split("'", 1)[0]
    assert open_acquisition(tmp_path, pattern=rx, interval_h=4).timepoints_h == [0, 4]
