"""A Cellomics field is 0-based in its file name (``f00``) and 1-based in the frame table (field 1).

Tables keep the frame table's field; what a user reads names the field as the file does.
"""

from __future__ import annotations

import numpy as np
import pytest

from ferroscreen.io.cellomics import file_field, name_field, read_cellomics, write_cellomics_image
from ferroscreen.segment.run import collect_inputs


def _scan(folder, fields=(0, 10)):
    for field in fields:
        write_cellomics_image(folder / f"MFGTMPcx7_170702000001_B23f{field:02d}d0.C01",
                              np.full((8, 8), 10 + field, np.uint8))


@pytest.mark.parametrize(("field", "token"), [(1, "f00"), (11, "f10"), (101, "f100")])
def test_file_field_writes_the_frame_tables_field_as_the_file_name_does(field, token):
    assert file_field(field) == token


def test_name_field_reads_the_field_as_the_file_writes_it(tmp_path):
    _scan(tmp_path)
    frames = read_cellomics(tmp_path).frames.sort_values("field")
    assert frames["field"].tolist() == [1, 11]  # the table's contract: 1-based
    assert [name_field(p) for p in frames["path"]] == ["f00", "f10"]
    assert [file_field(f) for f in frames["field"]] == ["f00", "f10"]
    assert name_field("/data/B23_s1_w1.tif") is None


def test_segment_names_images_of_cellomics_scan_folders_by_the_files_field(tmp_path):
    # before: the label of MFGTMPcx7_..._B23f10d0.C01 in Scan2/ was named ..._B23_f11_d0_t24h (a field 11 no file has)
    for scan in ("Scan1", "Scan2"):
        _scan(tmp_path / scan)
    table, kind = collect_inputs(tmp_path, interval_h=24.0)
    assert kind == "acquisition"
    assert sorted(table["image"]) == [
        "MFGTMPcx7_170702000001_B23_f00_d0_t0h", "MFGTMPcx7_170702000001_B23_f00_d0_t24h",
        "MFGTMPcx7_170702000001_B23_f10_d0_t0h", "MFGTMPcx7_170702000001_B23_f10_d0_t24h",
    ]
    assert sorted(table["field"].unique().tolist()) == [1, 11]
