import json

import numpy as np
import tifffile

from ferroscreen import __version__
from ferroscreen.io import incucyte_export_name


def test_version_and_help(cli):
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"ferroscreen {__version__}"
    helptext = cli("--help").stdout
    for command in ("inspect",):
        assert command in helptext


def make_plate(root, wells=("B2", "B3"), times=(0, 4, 8)):
    for w in wells:
        for t in times:
            tifffile.imwrite(root / incucyte_export_name(3, w, 1, t), np.zeros((16, 16), np.uint8))


def test_inspect_acquisition_json(tmp_path, cli):
    make_plate(tmp_path)
    (tmp_path / incucyte_export_name(3, "B3", 1, 8)).unlink()
    (tmp_path / incucyte_export_name(3, "B3", 1, 4)).write_bytes(b"II*\x00garbage")
    lay = tmp_path / "layout.csv"
    lay.write_text("well,compound,concentration,unit\nB2,DMSO,,\nC5,RSL3,1,uM\n")
    proc = cli("inspect", tmp_path, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["kind"] == "acquisition" and info["format"] == "incucyte"
    assert info["n_wells"] == 2 and info["wells"] == ["B02", "B03"]
    assert info["timepoints_h"] == [0, 4, 8]
    assert [m["well"] for m in info["missing_frames"]] == ["B03"]
    assert len(info["unreadable"]) == 1
    assert info["layout_check"]["imaged_not_in_layout"] == ["B03"]
    assert info["layout_check"]["in_layout_not_imaged"] == ["C05"]
    text = cli("inspect", tmp_path).stdout
    assert "missing from the grid: 1 frame(s)" in text and "unreadable files: 1" in text


def test_inspect_layout_json(tmp_path, cli):
    lay = tmp_path / "layout.csv"
    lay.write_text("well,compound,concentration,unit,role,mode\nA1,RSL3,1,uM,reference,ferroptosis\n"
                   "A2,X,10,nM,,\nA3,X,100,nM,,\nA4,DMSO,,,,\n")
    info = json.loads(cli("inspect", lay, "--json").stdout)
    assert info["kind"] == "layout" and info["n_wells"] == 4
    assert info["compounds"]["X"] == [1e-8, 1e-7]
    assert info["references"] == {"RSL3": "ferroptosis"}


def test_inspect_metric_export(shared_data, cli):
    info = json.loads(cli("inspect", shared_data / "incucyte" / "thunor_incucyte_minimal.txt", "--json").stdout)
    assert info["kind"] == "metric_export" and info["n_wells"] == 8
    assert info["timepoints_h"][:2] == [0, 8]


def test_bad_inputs_one_line_errors(tmp_path, cli, user_error):
    lay = tmp_path / "layout.csv"
    lay.write_text("well,compound,concentration,unit\nA1,X,lots,uM\n")
    user_error(cli("inspect", lay), "layout.csv:2", "'concentration'", "'lots' is not a number")
    lay.write_text("well,compound,concentration,unit\nK99,X,1,uM\n")
    user_error(cli("inspect", lay), "layout.csv:2", "K99")
    user_error(cli("inspect", tmp_path / "nothing"), "nothing", "no such file")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    user_error(cli("inspect", empty), "no known acquisition layout")
    make_plate(tmp_path / "acq" if (tmp_path / "acq").mkdir() is None else tmp_path)
    user_error(cli("inspect", tmp_path / "acq", "--layout", lay), "K99")


def test_superscript_digits_are_not_numbers(tmp_path, cli, user_error):
    """'²' passes str.isdigit() but not int(): a binary file read as a grid crashed inspect, fit and hits."""
    grid = tmp_path / "sup.txt"
    grid.write_text("\t1\t2\u00b2\t3\nA\t1\t2\t3\nB\t4\t5\t6\n")
    user_error(cli("inspect", grid), "sup.txt")
