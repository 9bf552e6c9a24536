"""``hits SEGMENT_FOLDER`` records the sha256 of the file it read in the folder, not a null for the folder."""

from __future__ import annotations

import json

import openpyxl

from ferroscreen.analysis.hits_inputs import read_hits_input
from ferroscreen.analysis.hits_run import run_hits
from ferroscreen.hashing import file_sha256

from .test_hits_bscore_null import kd_screen


def _segment_folder(path, wells):
    path.mkdir()
    wells.to_csv(path / "wells.csv", index=False)
    (path / "segment.json").write_text(json.dumps({"model": "nuclei-aits"}))
    return path


def test_hits_of_a_segment_folder_records_the_digest_of_its_wells_csv(tmp_path):
    # before: hits.json's inputs held {"path": ".../segA", "sha256": null} (a folder has no file digest)
    wells, layout = kd_screen(n_libs=1, seed=7)
    seg = _segment_folder(tmp_path / "segA", wells)
    layout.to_csv(tmp_path / "library.csv")
    assert read_hits_input([seg], None).files == [seg / "wells.csv"]
    run_hits(seg, tmp_path / "o", tmp_path / "library.csv", plots=False)
    summary = json.loads((tmp_path / "o" / "hits.json").read_text())
    wells_sha = file_sha256(seg / "wells.csv")
    assert summary["inputs"] == [
        {"path": str((seg / "wells.csv").resolve()), "sha256": wells_sha},
        {"path": str((tmp_path / "library.csv").resolve()), "sha256": file_sha256(tmp_path / "library.csv")},
    ]
    about = openpyxl.load_workbook(tmp_path / "o" / "hits.xlsx", read_only=True)["about"]
    inputs = [r for r in about.iter_rows(values_only=True) if r[0] == "input"]
    assert [r[1:3] for r in inputs] == [(str(seg / "wells.csv"), wells_sha)]


def test_a_wells_csv_given_as_a_file_is_recorded_as_before(tmp_path):
    wells, layout = kd_screen(n_libs=1, seed=7)
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "library.csv")
    run_hits(tmp_path / "wells.csv", tmp_path / "o", tmp_path / "library.csv", plots=False)
    inputs = json.loads((tmp_path / "o" / "hits.json").read_text())["inputs"]
    assert inputs[0] == {"path": str((tmp_path / "wells.csv").resolve()), "sha256": file_sha256(tmp_path / "wells.csv")}
