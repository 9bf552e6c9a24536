"""The report checks the fit's own-folder wells table against provenance and finds moved inputs by sha256."""

from __future__ import annotations

import shutil

import pandas as pd
from typer.testing import CliRunner

from ferroscreen.cli import app
from ferroscreen.report.results import load_results


def _fit(wells, out, *extra):
    res = CliRunner().invoke(app, ["fit", str(wells), *map(str, extra), "--out", str(out)])
    assert res.exit_code == 0, res.output


def test_a_wells_table_edited_after_a_fit_into_its_own_folder_is_not_drawn(tmp_path, make_results):
    root = make_results(tmp_path / "r", compounds=("volasertib",), n_doses=5, times=(0, 36, 72))
    _fit(root / "wells.csv", root)  # export and fit share one folder, as in the README
    assert load_results(root).wells is not None
    wells = pd.read_csv(root / "wells.csv")
    wells.loc[wells["compound"] == "volasertib", "frac_ferroptosis"] = 0.0
    wells.to_csv(root / "wells.csv", index=False)
    loaded = load_results(root)
    assert loaded.wells is None
    assert any("the fit's input, changed since the fit" in n for n in loaded.notes), loaded.notes
    assert not any(n.startswith("No wells.csv") for n in loaded.notes)


def test_a_results_folder_moved_with_its_inputs_finds_them_by_sha256(tmp_path, make_results):
    project = tmp_path / "A"
    root = make_results(project / "results", compounds=("volasertib",), n_doses=5, times=(0, 36, 72),
                        layout_in_wells=False)
    _fit(root / "wells.csv", project / "fit2", "--layout", root / "layout.csv")
    shutil.move(project, tmp_path / "B")
    loaded = load_results(tmp_path / "B" / "fit2")
    assert loaded.wells is not None, loaded.notes
    moved = tmp_path / "B" / "results"
    assert any(f"found at {moved / 'wells.csv'} after a move" in n for n in loaded.notes), loaded.notes
    assert any(f"read from {moved / 'layout.csv'} (same sha256)" in n for n in loaded.notes), loaded.notes
    assert "compound" in loaded.wells.columns


def test_a_moved_input_of_other_content_is_not_taken(tmp_path, make_results):
    project = tmp_path / "A"
    root = make_results(project / "results", compounds=("volasertib",), n_doses=5, times=(0, 36, 72))
    _fit(root / "wells.csv", project / "fit2")
    shutil.move(project, tmp_path / "B")
    with open(tmp_path / "B" / "results" / "wells.csv", "a") as fh:
        fh.write("\n")
    loaded = load_results(tmp_path / "B" / "fit2")
    assert loaded.wells is None
    assert any("is gone: time courses and plate maps not shown" in n for n in loaded.notes), loaded.notes
