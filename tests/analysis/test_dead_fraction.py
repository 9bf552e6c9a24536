"""``fit COUNT.txt --dead DEAD.txt``: a dead-cell stain's count over the cells, fitted as a death mode."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.analysis.dead_fraction import dead_fraction_wells
from ferroscreen.analysis.inputs import AnalysisInputError
from ferroscreen.cli import app, main

from .conftest import synthetic_screen


def _export(path, wells: pd.DataFrame, column: str, metric: str) -> None:
    """An IncuCyte metric export (unpadded well names, elapsed hours) of ``wells[column]``."""
    wide = wells.pivot(index="time_h", columns="well", values=column)
    names = [w[0] + str(int(w[1:])) for w in wide.columns]
    lines = ["Label: P1", f"Metric: {metric}", "", "Date Time\tElapsed\t" + "\t".join(names)]
    lines += [f"x\t{t:g}\t" + "\t".join(f"{v:.0f}" for v in row) for t, row in zip(wide.index, wide.to_numpy(),
                                                                                    strict=True)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def plate(tmp_path_factory):
    """Phase (all cells), NucLight (living cells) and Cytotox (dead cells) exports of one synthetic screen."""
    tmp = tmp_path_factory.mktemp("dead")
    wells, layout = synthetic_screen(seed=5)
    frac = wells["frac_apoptosis"] + wells["frac_ferroptosis"]
    wells = wells.assign(dead=(wells["n_cells"] * frac).round(), truth=frac)
    wells = wells.assign(live=wells["n_cells"] - wells["dead"])
    _export(tmp / "phase.txt", wells, "n_cells", "Phase Object Count (1/Image)")
    _export(tmp / "red.txt", wells, "live", "Red Object Count (1/Image)")
    _export(tmp / "green.txt", wells, "dead", "Green Object Count (1/Image)")
    _export(tmp / "conf.txt", wells, "n_cells", "Phase Object Confluence (Percent)")
    layout.to_csv(tmp / "layout.csv")
    return tmp, wells


def test_dead_over_all_and_over_live_give_the_same_fraction(plate):
    tmp, wells = plate
    runner = CliRunner()
    fits = {}
    for total, over in (("phase", "all"), ("red", "live")):
        out = tmp / f"o_{over}"
        res = runner.invoke(app, ["fit", str(tmp / f"{total}.txt"), "--dead", str(tmp / "green.txt"),
                                  "--dead-over", over, "--layout", str(tmp / "layout.csv"), "--out", str(out)])
        assert res.exit_code == 0, res.output
        fits[over] = pd.read_csv(out / "fits.csv").set_index(["curve", "readout"])
        ranking = pd.read_csv(out / "ranking.csv")
        assert set(ranking["mode"]) == {"dead"} and set(ranking["readout"]) == {"peak_dead"}
        prov = json.loads((out / "provenance.json").read_text())
        assert prov["fit"]["dead"]["over"] == over and prov["fit"]["dead"]["path"].endswith("green.txt")
    a, b = fits["all"], fits["live"]
    assert {"frac_dead", "peak_dead", "viability"} <= set(a.index.get_level_values("readout"))
    assert np.allclose(a.loc[b.index, "ec50"], b["ec50"], rtol=1e-6, equal_nan=True)
    # the planted killers are active on the dead fraction, the vehicle-like rescue shifts right (30-fold)
    peak = a.xs("peak_dead", level="readout")
    assert (peak.loc[["erastin", "staurosporine"], "call"] == "active").all()


def test_wrong_kind_of_total_is_said(plate):
    tmp, _ = plate
    res = CliRunner().invoke(app, ["fit", str(tmp / "red.txt"), "--dead", str(tmp / "green.txt"),
                                   "--layout", str(tmp / "layout.csv"), "--out", str(tmp / "o_wrong")])
    assert res.exit_code == 0, res.output
    assert "use --dead-over live" in res.output  # red counts the living only: dead exceeds it at high doses


@pytest.mark.parametrize(("args", "message"), [
    (["conf.txt", "--dead", "green.txt"], "this export's metric is 'Phase Object Confluence (Percent)' (an area)"),
    (["phase.txt", "--dead", "layout.csv"], "layout.csv: --dead: not an IncuCyte metric export"),
    (["phase.txt", "--dead", "missing.txt"], "missing.txt: dead-cell count export (--dead) not found"),
    (["layout.csv", "--dead", "green.txt"], "--dead goes with an IncuCyte metric export"),
])
def test_bad_dead_inputs_are_one_line_errors(plate, monkeypatch, capsys, args, message):
    tmp, _ = plate
    argv = ["ferroscreen", "fit", str(tmp / args[0]), *args[1:-1], str(tmp / args[-1]),
            "--layout", str(tmp / "layout.csv"), "--out", str(tmp / "never")]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp / "never").exists()


def test_fraction_table_rules():
    total = pd.DataFrame({"plate": "P", "well": ["A01"] * 3 + ["A02"], "time_h": [0, 4, 8, 0],
                          "value": [100, 0, 50, 10]})
    dead = pd.DataFrame({"plate": "Q", "well": ["A01"] * 3, "time_h": [0.0004, 4, 8], "value": [10, 0, 80]})
    wells, notes = dead_fraction_wells(total, dead, "all", "t.txt", "d.txt")
    assert wells["plate"].tolist() == ["P"] * 3 and wells["time_h"].tolist() == [0, 4, 8]
    assert wells["frac_dead"].tolist()[0] == 0.1 and np.isnan(wells["frac_dead"].iloc[1])  # no cells: no fraction
    assert wells["frac_dead"].iloc[2] == 1.0  # clipped
    assert any("missing from d.txt" in n for n in notes) and any("use --dead-over live" in n for n in notes)
    live, _ = dead_fraction_wells(total, dead, "live")
    assert live["n_cells"].tolist() == [110, 0, 130] and live["frac_dead"].iloc[2] == pytest.approx(80 / 130)
    with pytest.raises(AnalysisInputError, match="negative count -1 in well A01"):
        dead_fraction_wells(total, dead.assign(value=[-1, 0, 0]), "all", "t.txt", "d.txt")
    with pytest.raises(AnalysisInputError, match="no well and time in common"):
        dead_fraction_wells(total, dead.assign(well="B01"), "all", "t.txt", "d.txt")


def test_report_takes_the_fit_layout_and_the_wells_it_fitted(plate, tmp_path):
    """fit writes the derived wells.csv; the report joins the layout provenance.json names."""
    import shutil

    from ferroscreen.report.results import load_results

    tmp, _ = plate
    shutil.copy(tmp / "layout.csv", tmp_path / "layout.csv")
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["fit", str(tmp / "phase.txt"), "--dead", str(tmp / "green.txt"),
                                   "--layout", str(tmp_path / "layout.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    wells = pd.read_csv(out / "wells.csv")
    assert list(wells.columns) == ["plate", "well", "time_h", "n_cells", "frac_dead"]
    results = load_results(out)
    assert results.has_layout and results.classes == ["dead"]
    assert "Layout columns joined from layout.csv (the fit's layout, from provenance.json)." in results.notes
    with open(tmp_path / "layout.csv", "a") as fh:
        fh.write("\n")
    results = load_results(out)
    assert not results.has_layout and any("has changed since the fit" in n for n in results.notes)
    # a second fit into the same folder replaces the wells.csv the first fit wrote ...
    res = CliRunner().invoke(app, ["fit", str(tmp / "phase.txt"), "--layout", str(tmp / "layout.csv"),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "frac_dead" not in pd.read_csv(out / "wells.csv").columns
    # ... but never one it did not write
    other = tmp_path / "other"
    other.mkdir()
    (other / "wells.csv").write_text("plate,well,time_h,n_cells\nP1,A01,0,5\n")
    res = CliRunner().invoke(app, ["fit", str(tmp / "phase.txt"), "--layout", str(tmp / "layout.csv"),
                                   "--out", str(other)])
    assert res.exit_code == 0 and "wells.csv is not this fit's and was left as it is" in res.output
    assert (other / "wells.csv").read_text() == "plate,well,time_h,n_cells\nP1,A01,0,5\n"
