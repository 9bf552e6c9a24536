"""What a fit's ``provenance.json`` lets an auditor check: its own outputs, the export, the model's training.

Before: it hashed its inputs but not the files it wrote (an edited ``fits.csv`` could not be
told), kept of ``export.json`` only its status, path, store and options (not the software that
exported), named the libraries of the numbers but not onnxruntime, OpenCV, tifffile, h5py or
matplotlib, and of the model bundle only its path and sha256.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd

from ferroscreen.analysis.fit_inputs import export_record
from ferroscreen.analysis.fit_run import run_fit, write_provenance
from ferroscreen.hashing import file_sha256
from ferroscreen.output_set import OutputSet
from ferroscreen.provenance import bundle_training_record
from ferroscreen.report.output_info import describe_output, render_output
from ferroscreen.score.store import SCORING_ATTRS


def _tidy():
    return pd.DataFrame({"curve": ["x"] * 12, "dose": np.repeat([1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3], 2),
                         "response": [1.0, 0.98, 0.97, 0.95, 0.8, 0.82, 0.5, 0.52, 0.2, 0.21, 0.05, 0.06]})


def test_provenance_hashes_every_file_the_fit_wrote(tmp_path):
    src = tmp_path / "t.csv"
    _tidy().to_csv(src, index=False)
    out = tmp_path / "o"
    with OutputSet(out) as outputs:  # as `fit` runs: every output, then provenance.json, committed together
        run_fit(_tidy(), "tidy", outputs, source=src)
        write_provenance(outputs, [src], {"model": "ll4"})
    prov = json.loads((out / "provenance.json").read_text())
    written = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("."))
    assert {"fits.csv", "results.xlsx"} <= set(written)
    assert prov["outputs"] == {n: file_sha256(out / n) for n in written if n != "provenance.json"}  # before: none
    (out / "fits.csv").write_text((out / "fits.csv").read_text() + "\n")  # an edited table: a check tells it
    assert prov["outputs"]["fits.csv"] != file_sha256(out / "fits.csv")
    again = json.loads(write_provenance(out, [src], {"model": "ll4"}).read_text())  # a folder written before (demo)
    assert again["outputs"]["fits.csv"] == file_sha256(out / "fits.csv") and "provenance.json" not in again["outputs"]


def test_the_export_record_names_the_software_that_exported(tmp_path):
    wells = tmp_path / "wells.csv"
    wells.write_text("plate,well,time_h,n_cells\nP,A01,0,10\n")
    env = {"ferroscreen": "9.9", "git_commit": "f" * 40, "numpy": "2.0"}
    command = {"argv": ["ferroscreen", "export", "s.h5"], "cwd": "/x"}
    (tmp_path / "export.json").write_text(json.dumps({
        "store": "/x/s.h5", "store_sha256": "0" * 64, "options": {"fractions": "corrected"},
        "wells_csv_sha256": file_sha256(wells), "environment": env, "command": command,
        "created": "2025-01-02T03:04:05+00:00", "scoring": {}}))
    record, notes = export_record(wells)
    assert notes == [] and record["status"] == "matches"
    assert record["environment"] == env and record["command"] == command  # before: left out
    assert record["created"] == "2025-01-02T03:04:05+00:00"


def test_the_environment_names_the_libraries_of_scoring_and_outputs_without_importing_them():
    code = ("import json, sys; from ferroscreen.provenance import environment; e = environment(); "
            "print(json.dumps([e, sorted(m for m in ('onnxruntime', 'cv2', 'tifffile', 'h5py', 'matplotlib') "
            "if m in sys.modules)]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    env, imported = json.loads(done.stdout.splitlines()[-1])
    assert imported == []
    from importlib.metadata import version

    assert env["h5py"] == version("h5py") and env["tifffile"] == version("tifffile")  # before: not recorded
    assert env["matplotlib"] and env["opencv"] and env["onnxruntime"]


META = {
    "classes": ["alive", "ferroptosis"], "content_sha256": "c" * 64, "created": "2025-03-04T05:06:07+00:00",
    "environment": {"ferroscreen": "0.3.0", "git_commit": "a" * 40, "git_dirty": False, "torch": "2.4"},
    "training_data": {"source": "/data/ref", "images_sha256": "i" * 64, "layout_sha256": "l" * 64,
                      "image_files": 40, "n_train": 900},
}


def test_the_scoring_record_carries_the_models_training(tmp_path):
    record = bundle_training_record(META)
    assert record == {"content_sha256": "c" * 64, "created": "2025-03-04T05:06:07+00:00", "ferroscreen": "0.3.0",
                      "git_commit": "a" * 40, "git_dirty": False,
                      "training_data": {"source": "/data/ref", "images_sha256": "i" * 64, "image_files": 40,
                                        "layout_sha256": "l" * 64}}
    assert "bundle_training" in SCORING_ATTRS  # a store's record of it travels into export.json and provenance.json
    src = tmp_path / "t.csv"
    _tidy().to_csv(src, index=False)
    out = tmp_path / "o"
    run_fit(_tidy(), "tidy", out, source=src)
    scoring = {"bundle_path": "/m/model.pt", "bundle_sha256": "b" * 64, "bundle_training": record}
    prov = json.loads(write_provenance(out, [src], {}, scoring).read_text())
    assert prov["scoring"]["bundle_training"] == record
    text = render_output(describe_output(out))
    assert f"model trained with ferroscreen 0.3.0, commit {'a' * 12}, created 2025-03-04T05:06:07+00:00; " \
           f"content sha256 {'c' * 64}" in text
    assert f"trained on /data/ref: images sha256 {'i' * 64}, layout sha256 {'l' * 64}" in text
