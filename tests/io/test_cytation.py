"""Agilent BioTek Cytation / Gen5 image exports."""

import numpy as np
import tifffile

from ferroscreen.io import detect_format, open_acquisition


def _tif(path, value, when=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    extratags = [(306, "s", 0, when, True)] if when else None
    tifffile.imwrite(path, np.full((6, 8), value, np.uint16), extratags=extratags)


def test_kinetic_run_with_datetime_tags(tmp_path):
    run = tmp_path / "241128_111010_Plate 1"
    stamps = {1: "2024:11:28 11:10:10", 2: "2024:11:28 13:40:10", 3: "2024:11:29 11:10:10"}
    for t, when in stamps.items():
        for well in ("B5", "H12"):
            for pos in (1, 2):
                _tif(run / f"{well}_03_1_{pos}_Bright Field_{t:03d}.tif", t, when)
                _tif(run / f"{well}_03_2_{pos}_GFP 469,525_{t:03d}.tif", 10 + t, when)
    (run / "Experiment1.xpt").write_bytes(b"gen5")
    assert detect_format(tmp_path) == "cytation"
    acq = open_acquisition(tmp_path)
    f = acq.frames
    assert acq.format == "cytation" and acq.wells == ["B05", "H12"]
    assert acq.timepoints_h == [0.0, 2.5, 24.0] and not acq.notes
    assert set(f["channel"]) == {"Bright Field", "GFP 469,525"} and set(f["field"]) == {1, 2}
    assert set(f["plate"]) == {"Plate 1"} and len(f) == 2 * 2 * 2 * 3
    row = f[(f["well"] == "H12") & (f["channel"] == "GFP 469,525") & (f["time_h"] == 24.0)].iloc[0]
    assert acq.load(row).max() == 13


def test_montage_names_z_steps_and_index_times(tmp_path):
    for t in (1, 2):
        for z in (1, 2):
            _tif(tmp_path / f"B2_02_SP10Z{z}_C1_Bright Field_T{t:03d}.tif", t)
        _tif(tmp_path / f"B2_04_1_1_Phase Contrast_{t:03d}.tif", t)
    acq = open_acquisition(tmp_path, interval_h=4.0)
    f = acq.frames
    assert acq.timepoints_h == [0.0, 4.0] and "no DateTime" in acq.notes[0]
    # two read steps (objectives) never share a channel name
    assert set(f["channel"]) == {"02:Bright Field", "04:Phase Contrast"}
    assert set(f.loc[f["channel"] == "02:Bright Field", "z"]) == {0, 1}
    assert set(f.loc[f["channel"] == "02:Bright Field", "field"]) == {10}


def test_inspect_takes_the_interval_for_untimed_files(tmp_path):
    import json

    from typer.testing import CliRunner

    from ferroscreen.cli import app

    for t in (1, 2, 3):
        _tif(tmp_path / "run" / f"C3_02_1_1_Phase Contrast_{t:03d}.tif", t)
    res = CliRunner().invoke(app, ["inspect", str(tmp_path / "run"), "--interval-h", "4", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["format"] == "cytation" and info["timepoints_h"] == [0.0, 4.0, 8.0]
    assert any("(timepoint - 1) x 4.0 h" in n for n in info["notes"])


def test_one_run_folder_per_scan_is_one_plate_timed_by_the_folder_stamps(tmp_path):
    """A BioSpa kinetic run read into a new YYMMDD_HHMMSS_<plate> folder each time."""
    for folder in ("241128_111010_Plate 1", "241128_151010_Plate 1", "241129_111010_Plate 1"):
        for well in ("A1", "A2"):
            _tif(tmp_path / folder / f"{well}_02_1_1_Bright Field_001.tif", 1)
    acq = open_acquisition(tmp_path)
    assert set(acq.frames["plate"]) == {"Plate 1"} and acq.timepoints_h == [0.0, 4.0, 24.0]
    assert "run folders' date stamps" in acq.notes[0]
