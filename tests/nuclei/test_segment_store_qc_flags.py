"""A segment store's ``/frames`` keeps every QC flag ``fields.csv`` has, under the same names."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import tifffile
from typer.testing import CliRunner

from ferroscreen.cli import app
from ferroscreen.segment.qc import QC_FLAGS
from ferroscreen.segment.run import _write_stores

from .conftest import make_nuclei

QC_COLUMNS = [f"qc_{f}" for f in QC_FLAGS]


def _fields(tmp_path) -> pd.DataFrame:
    flags = {  # one field per flag, and one failed
        "qc_empty": [True, False, False, False, False, False],
        "qc_focus": [False, True, False, False, False, False],
        "qc_saturated": [False, False, True, False, False, False],
        "qc_debris": [False, False, False, True, False, False],
        "qc_zero_block": [False, False, False, False, True, False],
    }
    n = 6
    return pd.DataFrame({
        "image": [f"img{i}" for i in range(n)], "plate": "P1", "well": [f"B{i + 2:02d}" for i in range(n)],
        "field": 1, "channel": "d0", "time_h": 0.0, "z": 0,
        "status": ["done"] * 5 + ["failed"], "error": [""] * 5 + ["unreadable image"],
        "n_nuclei": [0, 4, 6, 7, 3, np.nan], "focus": [0.1, 1e-5, 0.2, 0.3, 0.2, np.nan],
        **flags, "qc_flags": ["empty", "focus", "saturated", "debris", "zero_block", "failed"],
        "path": [str(tmp_path / f"img{i}.tif") for i in range(n)],
    })


def test_segment_store_frames_hold_every_fields_csv_flag(tmp_path):
    # before: /frames held empty and defocus only; saturated, debris and zero_block were in fields.csv alone
    fields = _fields(tmp_path)
    wells = pd.DataFrame({"plate": ["P1"], "well": ["B02"], "n_nuclei": [0]})
    provenance = {"task": "nuclei-segmentation", "environment": {}, "command": {"argv": [], "cwd": ""}}
    assert _write_stores(tmp_path / "store", fields, [], wells, provenance) == ["store/P1.h5"]
    with h5py.File(tmp_path / "store" / "P1.h5", "r") as f:
        frames = f["frames"]
        for col in QC_COLUMNS:
            assert frames[col].dtype == np.int8
            assert frames[col][()].tolist() == fields[col].astype(int).tolist(), col
        assert frames["empty"][()].tolist() == frames["qc_empty"][()].tolist()  # the score store's names stay
        assert frames["defocus"][()].tolist() == frames["qc_focus"][()].tolist()
        assert set(QC_COLUMNS) <= set(frames.attrs["columns"])


def test_segment_run_store_flags_are_fields_csv_flags(tmp_path, tiny_model_file):
    from ferroscreen.io.incucyte import incucyte_export_name

    acq = tmp_path / "acq"
    acq.mkdir()
    for i, well in enumerate(["A1", "C3"]):
        tifffile.imwrite(acq / incucyte_export_name(3, well, 1, 0.0, channel="nuc"), make_nuclei(seed=i)[0])
    saturated = make_nuclei(seed=5)[0]
    tifffile.imwrite(acq / incucyte_export_name(3, "D4", 1, 0.0, channel="nuc"), np.minimum(saturated * 40, 65535)
                     .astype(np.uint16))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["segment", str(acq), "--model", str(tiny_model_file), "--out", str(out)])
    assert res.exit_code == 0, res.output
    fields = pd.read_csv(out / "fields.csv")
    with h5py.File(out / "store" / "VID3.h5", "r") as f:
        for col in QC_COLUMNS:
            assert f["frames"][col][()].tolist() == fields[col].astype(int).tolist(), col
    # inspect names it a segment store with its model and input (was "score store of plate VID3 (None)",
    # "model: None (sha256 None)", "channel None")
    shown = CliRunner().invoke(app, ["inspect", str(out / "store" / "VID3.h5")])
    assert shown.exit_code == 0, shown.output
    head = shown.output.splitlines()[:3]
    assert f"segment store of plate VID3 ({acq.resolve()})" in head[0], head
    assert f"model: {tiny_model_file}" in head[1] and "None" not in "\n".join(head), head
