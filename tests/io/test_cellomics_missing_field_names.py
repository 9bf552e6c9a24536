"""The notes and ``inspect`` lines that name a missing Cellomics field name it as its files do (``f10``).

A Cellomics file's field is 0-based (``..._B23f10d0.C01``); the frame table's is 1-based (field 11).
"""

from __future__ import annotations

import numpy as np

from ferroscreen.io import open_acquisition
from ferroscreen.io.inspection import inspect_path, render_inspection

PLATE = "MFGTMPcx7_170702000001"


def _plate(root, sites: dict[str, tuple[int, ...]]) -> None:
    from ferroscreen.io.cellomics import write_cellomics_image

    for well, fields in sites.items():
        for f in fields:
            write_cellomics_image(root / f"{PLATE}_{well}f{f:02d}d0.C01", np.full((6, 8), 10, np.uint8))


def test_a_cellomics_well_missing_a_field_is_named_as_the_files_do(tmp_path):
    # before: "B23: field 11" for the f10 no B23 file has, and inspect listed fields [1, 8, 11]
    _plate(tmp_path, {"B23": (0, 7), "F11": (0, 7, 10), "G03": (0, 7, 10)})
    acq = open_acquisition(tmp_path)
    assert sorted(acq.frames["field"].unique()) == [1, 8, 11]  # the frame table keeps its 1-based field
    note = next(n for n in acq.notes if n.startswith("missing from the grid"))
    assert "1 well(s) lack fields other wells of their plate have (B23: field f10)" in note
    text = render_inspection(inspect_path(tmp_path))
    assert "    1 well(s) lack fields other wells of their plate have (B23: field f10)" in text
    assert f"    {PLATE} B23 field f10 d0 z0 at 0 h" in text
    assert "  fields: [f00, f07, f10]; channels: d0" in text
    assert inspect_path(tmp_path)["fields"] == [1, 8, 11]  # the JSON keeps the frame table's field


def test_runs_of_missing_cellomics_fields_are_named_as_the_files_do(tmp_path):
    _plate(tmp_path, {"B02": tuple(range(6)), "B03": (0, 1)})
    note = next(n for n in open_acquisition(tmp_path).notes if n.startswith("missing from the grid"))
    assert "(B03: fields f02-f05)" in note
