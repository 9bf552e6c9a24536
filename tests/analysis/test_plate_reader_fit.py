"""``ferroscreen fit`` on plate-reader exports: known potencies back, blanks subtracted, reads chosen."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.analysis.reader_signal import subtract_blank
from ferroscreen.cli import app, main
from ferroscreen.plate import read_layout

EC50 = {"A": ("RSL3", 2e-7), "B": ("RSL3", 2e-7), "C": ("Erastin", 3e-6), "D": ("Erastin", 3e-6),
        "E": ("Staurosporine", 3e-8), "F": ("Staurosporine", 3e-8), "G": ("Volasertib", 1e-8),
        "H": ("Volasertib", 1e-8)}
DOSES = np.logspace(-10, -5, 10)  # M, columns 2..11
VEHICLE, BLANK, HILL = 50000.0, 1500.0, 1.5


def write_screen(tmp_path, seed=1):
    """A 96-well CellTiter-Glo plate (grid export) and its layout; column 12 A-D medium only."""
    rng = np.random.default_rng(seed)
    layout = ["plate_id,well,compound,concentration,unit,role"]
    grid = {}
    for letter, (name, ec50) in EC50.items():
        layout.append(f"P1,{letter}1,DMSO,0,uM,vehicle")
        grid[letter, 1] = VEHICLE
        for k, col in enumerate(range(2, 12)):
            layout.append(f"P1,{letter}{col},{name},{DOSES[k] * 1e6:.6g},uM,sample")
            grid[letter, col] = VEHICLE * (0.02 + 0.98 / (1 + (DOSES[k] / ec50) ** HILL))
        if letter in "ABCD":
            layout.append(f"P1,{letter}12,,,,empty")
            grid[letter, 12] = 0.0
        else:
            layout.append(f"P1,{letter}12,Staurosporine,10,uM,pos_ctrl")
            grid[letter, 12] = VEHICLE * 0.02
    (tmp_path / "layout.csv").write_text("\n".join(layout) + "\n")
    lines = ["Label: Lum", "<>," + ",".join(str(c) for c in range(1, 13))]
    for letter in EC50:
        lines.append(letter + "," + ",".join(f"{(BLANK + grid[letter, c]) * rng.normal(1, 0.03):.0f}"
                                             for c in range(1, 13)))
    (tmp_path / "ctg.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "ctg.csv", tmp_path / "layout.csv"


def test_endpoint_grid_fits_known_potencies(tmp_path):
    data, layout = write_screen(tmp_path)
    out = tmp_path / "res"
    (out / "ec50_over_time.csv").parent.mkdir()
    (out / "ec50_over_time.csv").write_text("stale,table\n")  # an earlier fit's: no longer this one's
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--endpoint-h", "72", "--over-time",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "endpoint read, placed at 72 h" in res.output and "background subtracted" in res.output
    assert "--over-time: the input has no time point after its first" in res.output
    assert not (out / "ec50_over_time.csv").exists()  # one read: no (empty) table the report would refuse
    fits = pd.read_csv(out / "fits.csv").set_index("curve")
    assert (fits["readout"] == "viability").all() and (fits["call"] == "active").all()
    for name, ec50 in dict(EC50.values()).items():
        assert fits.loc[name, "ec50"] == pytest.approx(ec50, rel=0.15), name
        assert fits.loc[name, "ec50_lo"] < ec50 < fits.loc[name, "ec50_hi"], name
    assert fits["top"].between(0.95, 1.05).all()  # the blank is gone: the vehicle is viability 1
    wells = pd.read_csv(out / "wells.csv")
    assert len(wells) == 96 and (wells["time_h"] == 72).all()
    prov = json.loads((out / "provenance.json").read_text())["fit"]
    assert prov["plate_reader"]["blank_subtracted"] and prov["input_kind"] == "metric"
    assert prov["wells_csv"] is True
    ranking = pd.read_csv(out / "ranking.csv")
    assert ranking["compound"].tolist()[0] == "Volasertib"

    # the report: each well's viability as the fit computed it (vehicle at dose 0), no one-time "time course"
    from ferroscreen.report.compounds import dose_points, time_courses
    from ferroscreen.report.figures import time_course_figure
    from ferroscreen.report.results import load_results

    res = load_results(out)
    assert res.count_label == "signal"
    row = fits.reset_index().set_index("curve").loc["Volasertib"].copy()
    row["curve"] = "Volasertib"
    points = dose_points(res, "Volasertib", "", row, "viability")
    per_well = pd.read_csv(out / "readouts.csv")
    mine = per_well[per_well["compound"].isin(["Volasertib", "DMSO"]) & per_well["role"].isin(["sample", "vehicle"])]
    assert len(points) == len(mine) == 28 and (points["dose"] == 0).sum() == 8
    assert np.allclose(np.sort(points["response"]), np.sort(mine["viability"]), rtol=1e-5)  # CSV: 6 digits
    assert time_course_figure(time_courses(res, "Volasertib"), [("n_cells", "signal", "")]) is None


def test_blank_is_the_median_of_empty_wells_per_plate_and_time(tmp_path):
    _, layout_path = write_screen(tmp_path)
    layout = read_layout(layout_path)
    table = pd.DataFrame({"plate": "P1", "well": ["A01", "A12", "B12", "C12", "D12", "A01", "A12"],
                          "time_h": [0, 0, 0, 0, 0, 4, 4], "value": [100.0, 10, 12, 11, 500, 200, np.nan]})
    out, notes = subtract_blank(table, layout)
    assert out["value"].tolist()[:5] == [100 - 11.5, -1.5, 0.5, -0.5, 488.5]
    assert out["value"].iloc[5] == 200 and "1 reading(s) of plate(s) P1, on a plate or at a time without a blank" in notes[1]
    out, notes = subtract_blank(table[table["well"] == "A01"], layout)
    assert out["value"].tolist() == [100, 200] and notes[0].startswith("no empty (no-cell) well")


def test_saturated_control_wells_are_said_per_plate(tmp_path):
    """A third of the vehicle wells OVER: the level every viability is relative to drops, and the notes say so."""
    from ferroscreen.io.plate_reader import plate_reads_table, read_plate_reader

    data, layout_path = write_screen(tmp_path)
    lines = data.read_text().splitlines()
    for k in (2, 3, 4):  # A1, B1, C1: vehicle wells; H12: a pos_ctrl well
        cells = lines[k].split(",")
        lines[k] = ",".join([cells[0], "OVER", *cells[2:]])
    lines[9] = lines[9].rsplit(",", 1)[0] + ",OVER"
    data.write_text("\n".join(lines) + "\n")
    layout = read_layout(layout_path)
    table, _ = plate_reads_table(read_plate_reader(data), plate_ids=["P1"])
    out, notes = subtract_blank(table, layout)
    assert "saturated" not in out.columns and len(out) == 96
    assert notes[0] == ("plate P1: 3 of 8 vehicle and 1 of 4 pos_ctrl wells saturated (OVER), read as missing: the "
                        "vehicle level every viability is relative to is biased low (its brightest wells are left "
                        "out), and every viability high; so is the pos_ctrl level; lower the reader's gain and read "
                        "again")
    assert notes[1].startswith("background subtracted")
    _, notes = subtract_blank(table, layout, "pos_ctrl")  # a dead-cell signal: scaled by the pos_ctrl wells
    assert notes[0].startswith("plate P1: 1 of 4 pos_ctrl and 3 of 8 vehicle wells saturated (OVER), read as "
                               "missing: the pos_ctrl level every dead fraction is relative to is biased low")
    table.loc[table["well"].isin(["A01", "B01", "C01", "H12"]), "saturated"] = False
    assert not subtract_blank(table, layout)[1][0].startswith("plate P1")
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0 and "P1: 3 of 8 vehicle and 1 of 4 pos_ctrl wells saturated (OVER)" in res.output
    # the reader's notes (printed before the fit) are recorded with the fit's, for the report
    notes = json.loads((tmp_path / "o" / "provenance.json").read_text())["notes"]
    assert any("4 saturated reading(s)" in n for n in notes), notes
    assert any("3 of 8 vehicle and 1 of 4 pos_ctrl wells saturated" in n for n in notes), notes


def _run(monkeypatch, capsys, *argv):
    monkeypatch.setattr(sys, "argv", ["ferroscreen", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr().err


def test_reads_to_choose_and_misplaced_read_option(tmp_path, monkeypatch, capsys):
    data, layout = write_screen(tmp_path)
    text = data.read_text()
    two = tmp_path / "two_reads.csv"
    two.write_text(text + "\nLabel: Fluor\n" + "\n".join(text.splitlines()[1:]) + "\n")
    code, err = _run(monkeypatch, capsys, "fit", str(two), "--layout", str(layout), "--out", str(tmp_path / "o"))
    assert code == 2 and "two_reads.csv: holds 2 reads; pick one with --read" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
    res = CliRunner().invoke(app, ["fit", str(two), "--layout", str(layout), "--read", "Fluor", "--out",
                                   str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "'Fluor'" in res.output and "Label: Fluor" not in res.output
    tidy = tmp_path / "tidy.csv"
    tidy.write_text("curve,dose,response\na,0,1\na,1e-6,0.5\na,1e-5,0.1\n")
    code, err = _run(monkeypatch, capsys, "fit", str(tidy), "--read", "1", "--out", str(tmp_path / "t"))
    assert code == 2 and "--read is for a plate-reader export; this is not one" in err
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--columns", "curve=x", "--out",
                     str(tmp_path / "c"))
    assert code == 2 and err.strip().endswith("ctg.csv: a plate-reader export, not a CSV table: --columns names a "
                                              "table's columns; leave it out"), err
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--out", str(tmp_path / "n"))
    assert code == 2 and err.strip().endswith("ctg.csv: a plate-reader export holds no doses; pass --layout (layout "
                                              "CSV, IncuCyte .PlateMap or D300 protocol)"), err


def test_inspect_lists_the_reads(tmp_path):
    data, layout = write_screen(tmp_path)
    res = CliRunner().invoke(app, ["inspect", str(data), "--layout", str(layout), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["kind"] == "plate_reader" and info["n_wells"] == 96
    assert info["reads"][0]["label"] == "Lum" and info["layout_check"]["imaged_not_in_layout"] == []


def write_sytox(tmp_path, seed=3):
    """A kinetic SYTOX read (Gen5 table, 0-48 h) with Triton lysis wells (pos_ctrl) and RSL3 + Fer-1 rows."""
    rng = np.random.default_rng(seed)
    rows = {"A": ("RSL3", 2e-7, ""), "B": ("RSL3", 2e-7, ""), "C": ("RSL3", 2e-7, "Ferrostatin-1"),
            "D": ("RSL3", 2e-7, "Ferrostatin-1"), "E": ("Staurosporine", 3e-8, ""),
            "F": ("Staurosporine", 3e-8, ""), "G": ("Erastin", 3e-6, ""), "H": ("Erastin", 3e-6, "")}
    layout = ["plate_id,well,compound,concentration,unit,role,rescue_agent,rescue_concentration"]
    dead = {}  # well -> fraction dead at 48 h (before the time factor), None for blanks
    for letter, (name, ec50, agent) in rows.items():
        layout.append(f"P1,{letter}1,DMSO,0,uM,vehicle,,")
        dead[f"{letter}1"] = 0.05
        for k, col in enumerate(range(2, 12)):
            role = "rescue" if agent else "sample"
            layout.append(f"P1,{letter}{col},{name},{DOSES[k] * 1e6:.6g},uM,{role},{agent},{1 if agent else ''}")
            shifted = ec50 * (1000 if agent else 1)
            dead[f"{letter}{col}"] = 0.05 + 0.9 / (1 + (shifted / DOSES[k]) ** HILL)
        lysis = letter not in "ABCD"
        layout.append(f"P1,{letter}12," + ("Triton X-100,0.1,uM,pos_ctrl,," if lysis else ",,,empty,,"))
        dead[f"{letter}12"] = 1.0 if lysis else None
    (tmp_path / "layout.csv").write_text("\n".join(layout) + "\n")
    wells = list(dead)
    lines = ["Read 1:485,528", "Time\tT° Read 1:485,528\t" + "\t".join(wells)]
    counts = ["Label: P1", "Metric: Green Object Count (1/Image)", "", "Date Time\tElapsed\t" + "\t".join(wells)]
    for hours in range(0, 49, 4):
        values, objects = [], []
        for well in wells:
            frac = dead[well]
            if frac is not None and frac < 1:
                frac = 0.05 + (frac - 0.05) * (1 - np.exp(-hours / 12))
            values.append(f"{(500 + 20000 * (frac or 0)) * rng.normal(1, 0.02):.0f}")
            objects.append(f"{rng.poisson(400 * (frac or 0))}")  # Cytotox objects of ~400 cells per image
        lines.append(f"{hours}:00:00\t37.0\t" + "\t".join(values))
        counts.append(f"x\t{hours}\t" + "\t".join(objects))
    (tmp_path / "sytox.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "cytotox.txt").write_text("\n".join(counts) + "\n")  # the same plate as an IncuCyte dead count
    return tmp_path / "sytox.txt", tmp_path / "layout.csv"


def test_dead_cell_signal_is_scaled_by_lysis_wells(tmp_path, monkeypatch, capsys):
    data, layout = write_sytox(tmp_path)
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--signal", "dead", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "a dead-cell signal" in res.output and "% of the pos_ctrl wells' mean" in res.output
    fits = pd.read_csv(out / "fits.csv")
    ends = fits[fits["readout"] == "frac_dead"].set_index("curve")
    for name, ec50 in {"RSL3": 2e-7, "Staurosporine": 3e-8, "Erastin": 3e-6}.items():
        assert ends.loc[name, "ec50"] == pytest.approx(ec50, rel=0.1), name
        assert ends.loc[name, "bottom"] == pytest.approx(0.05, abs=0.02)  # the vehicle's spontaneous death
    assert ends.loc["RSL3 + Ferrostatin-1", "call"] == "inactive"
    rescue = pd.read_csv(out / "rescue.csv")
    assert rescue["confirms"].astype(bool).all() and "confirms ferroptosis" in rescue["verdict"].iloc[0]
    wells = pd.read_csv(out / "wells.csv")
    assert list(wells.columns) == ["plate", "well", "time_h", "frac_dead"] and wells["frac_dead"].between(0, 1).all()
    assert json.loads((out / "provenance.json").read_text())["fit"]["plate_reader"]["signal"] == "dead"

    text = layout.read_text().replace("pos_ctrl", "sample")
    (tmp_path / "no_lysis.csv").write_text(text)
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(tmp_path / "no_lysis.csv"), "--signal",
                     "dead", "--out", str(tmp_path / "o"))
    assert code == 2 and "no pos_ctrl wells; a dead-cell signal is scaled by them" in err and "no_lysis.csv" in err
    tidy = tmp_path / "tidy.csv"
    tidy.write_text("curve,dose,response\na,0,1\na,1e-6,0.5\na,1e-5,0.1\n")
    code, err = _run(monkeypatch, capsys, "fit", str(tidy), "--signal", "dead", "--out", str(tmp_path / "t"))
    assert code == 2 and "--signal is for a plate-reader or IncuCyte metric export; this is neither" in err

    # an IncuCyte Cytotox count of the same plate, scaled by the same lysis wells
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "cytotox.txt"), "--layout", str(layout), "--signal", "dead",
                                   "--out", str(tmp_path / "cyto")])
    assert res.exit_code == 0, res.output
    assert "metric 'Green Object Count (1/Image)' taken as a dead-cell count" in res.output
    ends = pd.read_csv(tmp_path / "cyto" / "fits.csv").query("readout == 'frac_dead'").set_index("curve")
    for name, ec50 in {"RSL3": 2e-7, "Staurosporine": 3e-8, "Erastin": 3e-6}.items():
        assert ends.loc[name, "ec50"] == pytest.approx(ec50, rel=0.15), name
    assert json.loads((tmp_path / "cyto" / "provenance.json").read_text())["fit"]["metric_signal"] == "dead"


def test_several_files_are_several_plates(tmp_path, monkeypatch, capsys):
    files = []
    for seed in (1, 2, 3):
        data, layout = write_screen(tmp_path, seed=seed)
        files.append(data.rename(tmp_path / f"ctg_rep{seed}.csv"))
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["fit", *map(str, files), "--layout", str(layout), "--out", str(out)])
    assert res.exit_code == 0, res.output
    wells = pd.read_csv(out / "wells.csv")
    assert sorted(wells["plate"].unique()) == ["ctg_rep1", "ctg_rep2", "ctg_rep3"] and len(wells) == 288
    fits = pd.read_csv(out / "fits.csv").set_index("curve")
    assert fits.loc["RSL3", "n_points"] == 3 * (20 + 8)  # per plate: two rows of ten doses and 8 vehicle wells
    assert fits.loc["RSL3", "ec50"] == pytest.approx(2e-7, rel=0.1)
    prov = json.loads((out / "provenance.json").read_text())["fit"]
    assert [Path(i["path"]).name for i in prov["inputs"]] == [f.name for f in files]
    top = json.loads((out / "provenance.json").read_text())  # the top level lists every input too
    assert top["input"]["path"] == str(files[0].resolve()) and [i["path"] for i in top["inputs"]] == [
        str(f.resolve()) for f in files]

    two = tmp_path / "two_plates.csv"  # the same map for plates X and Y: file names differ from the plate ids
    two.write_text("\n".join(["plate_id" + layout.read_text().splitlines()[0][len("plate_id"):]]
                             + [line.replace("P1,", f"{p},", 1) for p in "XY"
                                for line in layout.read_text().splitlines()[1:]]) + "\n")
    res = CliRunner().invoke(app, ["fit", *map(str, files[:2]), "--layout", str(two), "--out", str(tmp_path / "r2")])
    assert res.exit_code == 0, res.output
    assert "ctg_rep1.csv: plate 'ctg_rep1' taken as the layout's plate X" in res.output
    assert sorted(pd.read_csv(tmp_path / "r2" / "wells.csv")["plate"].unique()) == ["X", "Y"]
    code, err = _run(monkeypatch, capsys, "fit", *map(str, files), "--layout", str(two), "--out", str(tmp_path / "r3"))
    assert code == 2 and "not in the layout (plates X, Y)" in err
    code, err = _run(monkeypatch, capsys, "fit", str(files[0]), "--layout", str(two), "--out", str(tmp_path / "r3"))
    assert code == 2 and "ctg_rep1.csv: plate(s) ctg_rep1 not in the layout (plates X, Y)" in err

    tidy = tmp_path / "tidy.csv"
    tidy.write_text("curve,dose,response\na,0,1\na,1e-6,0.5\na,1e-5,0.1\n")
    code, err = _run(monkeypatch, capsys, "fit", str(files[0]), str(tidy), "--layout", str(layout), "--out",
                     str(tmp_path / "r4"))
    assert code == 2 and "tidy.csv: with several INPUTs each is a plate-reader export or an IncuCyte metric" in err
    named = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for k, path in enumerate(named):
        path.write_text(f"Plate,Well,Result\nP1,A01,{5 + k}\nP1,A02,6\n")
    res = CliRunner().invoke(app, ["fit", *map(str, named), "--layout", str(layout), "--out", str(tmp_path / "r5")])
    assert "b.csv: plate 'P1' named b after its file (two files name their plate 'P1')" in res.output


def test_reads_that_do_not_fit_the_layout_or_each_other_are_refused(tmp_path, monkeypatch, capsys):
    data, layout = write_screen(tmp_path)
    lines = data.read_text().splitlines()
    fluor = tmp_path / "fluor.csv"
    fluor.write_text("\n".join(["Label: Fluor", *lines[1:]]) + "\n")
    copy = tmp_path / "copy.csv"
    copy.write_text(data.read_text())
    big = tmp_path / "layout384.csv"
    big.write_text(layout.read_text() + "P1,P24,,,,empty\n")
    blank = tmp_path / "bright_blank.csv"  # the empty wells (A-D12) read brighter than the vehicle
    blank.write_text("\n".join([*lines[:2], *(line.rsplit(",", 1)[0] + ",99999999" if line[0] in "ABCD" else line
                                              for line in lines[2:])]) + "\n")
    for argv, message in [
        ([str(data), "--layout", str(big)], "ctg.csv: a 96-well plate read, but the layout is a 384-well plate"),
        ([str(data), str(fluor), "--layout", str(layout)], "plates of one read, but these differ"),
        ([str(data), str(copy), "--layout", str(layout)], "copy.csv: the same content as"),
        ([str(blank), "--layout", str(layout)], "bright_blank.csv: the blank (median of the layout's empty wells"),
    ]:
        code, err = _run(monkeypatch, capsys, "fit", *argv, "--out", str(tmp_path / "o"))
        assert code == 2 and message in err and len(err.splitlines()) == 1, err


def test_multiplexed_dead_and_viability_reads_are_fitted_together(tmp_path, monkeypatch, capsys):
    """CellTox Green then CellTiter-Glo in one export: --read names the viable cells, --dead-read the dead ones."""
    data, layout = write_screen(tmp_path)
    rng = np.random.default_rng(5)
    lysis, celltox_blank = 40000.0, 800.0
    rows = {}
    for letter, (_, ec50) in EC50.items():
        rows[letter] = [0.05] + [0.05 + 0.95 / (1 + (ec50 / d) ** HILL) for d in DOSES]
        rows[letter].append(None if letter in "ABCD" else 1.0)  # column 12: medium only, or lysis (pos_ctrl)
    lines = ["", "Label: CellTox Green", "<>," + ",".join(str(c) for c in range(1, 13))]
    for letter, fracs in rows.items():
        lines.append(letter + "," + ",".join(
            f"{(celltox_blank + (0 if f is None else f * lysis)) * rng.normal(1, 0.03):.0f}" for f in fracs))
    data.write_text(data.read_text() + "\n".join(lines) + "\n")
    out = tmp_path / "mx"
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--read", "Lum",
                     "--dead-read", "CellTox Green", "--endpoint-h", "72", "--out", str(out))
    assert code in (0, None), err
    fits = pd.read_csv(out / "fits.csv")
    # one time point per well: frac_dead only (a peak_dead curve would duplicate it)
    assert {"viability", "frac_dead"} <= set(fits["readout"]) and "peak_dead" not in set(fits["readout"])
    for readout in ("viability", "frac_dead"):
        got = fits[fits["readout"] == readout].set_index("curve")["ec50"]
        for name, ec50 in dict(EC50.values()).items():
            assert got[name] == pytest.approx(ec50, rel=0.2), (readout, name)
    wells = pd.read_csv(out / "wells.csv")
    assert {"n_cells", "frac_dead"} <= set(wells.columns) and len(wells) == 96
    prov = json.loads((out / "provenance.json").read_text())["fit"]
    assert prov["dead_read"]["label"].endswith("CellTox Green") and prov["plate_reader"]["label"].endswith("Lum")
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--read", "Lum",
                     "--dead-read", "Lum", "--out", str(tmp_path / "never"))
    assert code == 2 and "name the same read" in err
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--dead-read", "CellTox Green", "--read", "Lum",
                     "--out", str(tmp_path / "never"))
    assert code == 2 and "pass --layout" in err and not (tmp_path / "never").exists()


def test_multiplexed_reads_named_twice(tmp_path, monkeypatch, capsys):
    data, layout = write_screen(tmp_path)
    text = data.read_text()
    data.write_text(text + "\n" + text.replace("Label: Lum", "Label: CellTox Green"))
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--read", "Lum",
                     "--dead-read", "1", "--out", str(tmp_path / "never"))
    assert code == 2 and "name the same read ('Lum')" in err
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--read", "CellTox Green",
                     "--dead-read", "Lum", "--out", str(tmp_path / "never"))
    assert code == 2 and "swapped?" in err


def _as_sheet_grids(layout_csv, out):
    """``layout_csv`` (one plate) drawn as a workbook: a grid per column, each on a sheet named by it."""
    import openpyxl

    from ferroscreen.plate.wells import PlateFormat, well_to_rowcol

    table = pd.read_csv(layout_csv, dtype=str, keep_default_na=False)
    fmt = PlateFormat.smallest_containing(list(table["well"]))
    book = openpyxl.Workbook()
    book.remove(book.active)
    for column, title in (("compound", "compound"), ("concentration", "concentration (uM)"), ("role", "Role")):
        ws = book.create_sheet(title)
        ws.append([None, *range(1, fmt.cols + 1)])
        cells = [[None] * fmt.cols for _ in range(fmt.rows)]
        for well, value in zip(table["well"], table[column], strict=True):
            r, c = well_to_rowcol(well)
            cells[r][c] = float(value) if column == "concentration" and value else value or None
        for r, row in enumerate(cells):
            ws.append([chr(65 + r), *row])
    book.save(out)
    return out


def _ok(*argv):
    res = CliRunner().invoke(app, list(map(str, argv)))
    assert res.exit_code == 0, res.output
    return res.output


def test_fit_with_a_workbook_of_grids_gives_the_table_layouts_fits(tmp_path):
    data, layout = write_screen(tmp_path)
    grids = _as_sheet_grids(layout, tmp_path / "P1.xlsx")
    for name, lay in (("table", layout), ("grids", grids)):
        _ok("fit", data, "--layout", lay, "--endpoint-h", "72", "--out", tmp_path / name)
    a, b = (pd.read_csv(tmp_path / name / "fits.csv") for name in ("table", "grids"))
    assert len(a) == 4 and a.drop(columns=["plate"], errors="ignore").equals(b.drop(columns=["plate"], errors="ignore"))
    report = _ok("report", tmp_path / "grids", "--out", tmp_path / "grids.html")
    assert (tmp_path / "grids.html").stat().st_size > 10_000, report



def write_celltox_kinetic(path, wells=None, seed=6):
    """A CellTox Green kinetic read (0, 24, 48, 72 h, wells down) of :func:`write_screen`'s plate, ``wells`` only."""
    rng = np.random.default_rng(seed)
    lysis, blank = 40000.0, 800.0
    lines = ["Label: CellTox Green", "Time [s],0,86400,172800,259200", "Temp. [°C],37,37,37,37"]
    for letter, (_, ec50) in EC50.items():
        for col in range(1, 13):
            if col == 1:
                frac = 0.05
            elif col == 12:
                frac = None if letter in "ABCD" else 1.0
            else:
                frac = 0.05 + 0.95 / (1 + (ec50 / DOSES[col - 2]) ** HILL)
            values = [(blank + (0 if frac is None else frac * lysis * min(1, t / 3) if frac != 1.0 else lysis))
                      * rng.normal(1, 0.03) for t in range(4)]
            if wells is None or f"{letter}{col}" in wells:
                lines.append(f"{letter}{col}," + ",".join(f"{v:.0f}" for v in values))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_dead_cell_read_exported_apart_pairs_with_the_viability_read(tmp_path, monkeypatch, capsys):
    """CellTox Green exported on its own (a kinetic read) beside the CellTiter-Glo endpoint of the same plate."""
    data, layout = write_screen(tmp_path)
    dead = write_celltox_kinetic(tmp_path / "celltox.csv")
    out = tmp_path / "pair"
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--dead", str(dead),
                     "--endpoint-h", "72", "--out", str(out))
    assert code in (0, None), err
    fits = pd.read_csv(out / "fits.csv")
    for readout in ("viability", "frac_dead"):  # the endpoint only: no duplicate peak_dead curve
        got = fits[fits["readout"] == readout].set_index("curve")["ec50"]
        for name, ec50 in dict(EC50.values()).items():
            assert got[name] == pytest.approx(ec50, rel=0.25), (readout, name)
    prov = json.loads((out / "provenance.json").read_text())["fit"]
    assert prov["dead_read"]["path"] == str(dead.resolve()) and len(prov["dead_read"]["sha256"]) == 64
    for argv, said in (((str(data), "--dead", str(data), "--layout", str(layout)), "--dead names INPUT itself"),
                       ((str(data), "--dead", str(dead)), "pass --layout"),
                       ((str(data), "--dead", str(tmp_path / "nope.csv"), "--layout", str(layout)), "not found")):
        code, err = _run(monkeypatch, capsys, "fit", *argv, "--out", str(tmp_path / "never"))
        assert code == 2 and said in err and "Traceback" not in err, err


def test_doses_in_mass_units_fit_with_a_molecular_weight(tmp_path):
    """Volasertib dosed in ng/ml with its molecular weight fits in molar; erastin in ng/ml without one is said."""
    data, layout = write_screen(tmp_path)
    mw = {"Volasertib": 618.8}
    rows = []
    for line in layout.read_text().splitlines()[1:]:
        plate, well, name, conc, unit, role = line.split(",")
        if name in ("Volasertib", "Erastin") and role == "sample":
            conc, unit = f"{float(conc) * 1e-6 * mw.get(name, 547.0) * 1e6:.6g}", "ng/ml"
        rows.append(",".join([plate, well, name, conc, unit, role, str(mw.get(name, ""))]))
    layout.write_text("plate_id,well,compound,concentration,unit,role,MW\n" + "\n".join(rows) + "\n")
    out = _ok("fit", data, "--layout", layout, "--endpoint-h", "72", "--out", tmp_path / "res")
    fits = pd.read_csv(tmp_path / "res" / "fits.csv").set_index("curve")
    assert fits.loc["Volasertib", "ec50"] == pytest.approx(1e-8, rel=0.15)
    assert "Erastin" not in fits.index
    assert "Erastin: doses in ng/ml without a molecular weight" in out, out


def test_a_dead_cell_export_is_paired_only_where_it_fits(tmp_path, monkeypatch, capsys):
    """What the sweep of --dead found: wells one read lacks are said, --endpoint-h is where the endpoint goes,
    a second read needs --dead-read, a multi-plate layout works, another plate's export is refused."""
    data, layout = write_screen(tmp_path)
    dead = write_celltox_kinetic(tmp_path / "celltox.csv", wells={f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)
                                                                  if not (r == "B" and c > 6)})
    out = _ok("fit", data, "--layout", layout, "--dead", dead, "--endpoint-h", "48", "--out", tmp_path / "a")
    assert "6 well-time(s) of 6 well(s) read by the viability read only (at 48 h; P1 B07" in out, out
    assert "taken at the other read's time 48 h" in out
    assert set(pd.read_csv(tmp_path / "a" / "wells.csv")["time_h"]) == {48}
    for argv, said in ((("--endpoint-h", "60"), "--endpoint-h 60 places the viability endpoint at a time the other "
                                                "read lacks (its times: 0, 24, 48, 72 h)"),):
        code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--dead", str(dead), *argv,
                         "--out", str(tmp_path / "never"))
        assert code == 2 and said in err, err
    two = tmp_path / "two_reads.csv"
    two.write_text(dead.read_text() + "\n" + dead.read_text().replace("CellTox Green", "LDH 490"))
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--dead", str(two),
                     "--out", str(tmp_path / "never"))
    assert code == 2 and "pick the dead-cell read with --dead-read N or LABEL" in err, err
    _ok("fit", data, "--layout", layout, "--dead", two, "--dead-read", "CellTox Green", "--out", tmp_path / "b")
    rows = layout.read_text().splitlines()  # a two-plate layout; the files named after their plates
    layout.write_text("\n".join(rows + [r.replace("P1,", "P2,", 1) for r in rows[1:]]) + "\n")
    named = tmp_path / "P2_ctg.csv"
    named.write_text(data.read_text())
    _ok("fit", named, "--layout", layout, "--dead", dead, "--endpoint-h", "72", "--out", tmp_path / "c")
    layout.write_text("\n".join(rows) + "\n")  # exports that name their plates: BC0001's CTG, BC0002's CellTox
    from ferroscreen.io.plate_reader import read_plate_reader

    for name, source, label, plate in (("ctg_list.csv", data, "Lum", "BC0001"),
                                       ("celltox_list.csv", dead, "CellTox Green", "BC0002")):
        read = read_plate_reader(source).reads[0].table
        read = read[read["time_h"] == read["time_h"].max()] if read["time_h"].notna().any() else read
        (tmp_path / name).write_text(f"Plate,Well,{label}\n" + "".join(
            f"{plate},{w},{v:.0f}\n" for w, v in zip(read["well"], read["value"], strict=True)))
    code, err = _run(monkeypatch, capsys, "fit", str(tmp_path / "ctg_list.csv"), "--layout", str(layout), "--dead",
                     str(tmp_path / "celltox_list.csv"), "--out", str(tmp_path / "never"))
    assert code == 2 and "its plate BC0002 is not INPUT ctg_list.csv's plate BC0001" in err, err
    (tmp_path / "wells.csv").write_text("plate,well,time_h,n_cells\nP1,A01,0,100\n")
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--dead",
                     str(tmp_path / "wells.csv"), "--out", str(tmp_path / "never"))
    assert code == 2 and "takes a plate-reader export of a dead-cell read" in err, err


def test_several_exports_find_their_layout_plates_by_name(tmp_path):
    """Files named after library plates (LIB02_rep1 before LIB01_rep1) take their own plates' rows, not file order."""
    data, layout = write_screen(tmp_path)
    rows = layout.read_text().splitlines()
    other = [r.replace("P1,", "LIB02,", 1).replace("Volasertib", "Volasertib-B") for r in rows[1:]]
    layout.write_text("\n".join([rows[0], *(r.replace("P1,", "LIB01,", 1) for r in rows[1:]), *other]) + "\n")
    (tmp_path / "seed2").mkdir()
    again, _ = write_screen(tmp_path / "seed2", seed=2)  # the same design read on another plate
    for name, read in (("LIB02_rep1.csv", data), ("LIB01_rep1.csv", again)):
        (tmp_path / name).write_text(f"{name}\n" + read.read_text())
    out = _ok("fit", tmp_path / "LIB02_rep1.csv", tmp_path / "LIB01_rep1.csv", "--layout", layout, "--endpoint-h",
              "72", "--out", tmp_path / "res")
    assert "plate 'LIB02_rep1' takes the layout rows of its plate LIB02" in out and "plate order" not in out
    fits = pd.read_csv(tmp_path / "res" / "fits.csv").set_index("curve")
    assert fits.loc["Volasertib-B", "ec50"] == pytest.approx(1e-8, rel=0.15) == fits.loc["Volasertib", "ec50"]
    from ferroscreen.report.results import load_results

    wells = load_results(tmp_path / "res").wells  # the report joins each plate's own rows as fit did
    named = wells.groupby("plate")["compound"].apply(lambda c: "Volasertib-B" in set(c))
    assert named.to_dict() == {"LIB01_rep1": False, "LIB02_rep1": True}


def test_inspect_tells_tables_from_plate_reads_and_a_broken_row_is_named(tmp_path, monkeypatch, capsys):
    """Wells tables, segment's well features and dose-response tables are described as tables; Gen5's header
    block over a kinetic table and an EnVision list with plate number and barcode are plate reads."""
    wells = tmp_path / "wells.csv"
    rows = [f"P1,{w},{t},{100 + t}" for w in ("A01", "B02") for t in (0, 4, 8)]
    wells.write_text("plate,well,time_h,n_cells\n" + "\n".join(rows) + "\n")
    info = json.loads(_ok("inspect", str(wells), "--json"))
    assert info["kind"] == "wells_table" and info["wells"] == ["A01", "B02"] and info["n_timepoints"] == 3
    cut = tmp_path / "cut.csv"
    cut.write_text(wells.read_text() + "P1,C03,0\n")
    for argv in (("inspect", str(cut)), ("fit", str(cut), "--out", str(tmp_path / "o"))):
        code, err = _run(monkeypatch, capsys, *argv)
        assert code == 2 and "cut.csv: line 8 has 3 fields where the header has 4" in err, err
    features = tmp_path / "features.csv"
    features.write_text("plate,well,n_fields,n_nuclei,area_mean\nLIB01,A01,4,800,310\nLIB01,A02,4,90,420\n")
    assert json.loads(_ok("inspect", str(features), "--json"))["kind"] == "wells_table"
    tidy = tmp_path / "tidy.csv"
    tidy.write_text("drug,dose_uM,viability\nRSL3,0.1,0.9\nRSL3,1,0.2\n")
    info = json.loads(_ok("inspect", str(tidy), "--json"))
    assert info["kind"] == "curve_table" and info["curves"] == ["RSL3"] and info["n_doses"] == 2
    gen5 = tmp_path / "gen5.csv"
    header = "Time,T° 485/520," + ",".join(f"{r}{c}" for r in "AB" for c in range(1, 13))
    gen5.write_text("Software Version,3.11\n\nRead 1:485/520\n\n" + header + "\n"
                    + "".join(f"{h}:00:00,37," + ",".join(["1000"] * 24) + "\n" for h in (0, 24)))
    info = json.loads(_ok("inspect", str(gen5), "--json"))
    assert info["kind"] == "plate_reader" and info["n_timepoints"] == 2
    envision = tmp_path / "envision.csv"
    envision.write_text("Plate,Repeat,Barcode,Well,Result\n" + "".join(
        f"1,1,BC001,{r}{c:02d},{1000 + c}\n" for r in "ABCDEFGH" for c in range(1, 13)))
    info = json.loads(_ok("inspect", str(envision), "--json"))
    assert info["kind"] == "plate_reader" and info["reads"][0]["plate"] == "BC001"


def test_inspect_describes_a_fits_outputs(tmp_path):
    """inspect reads fit's folder, provenance.json, results.xlsx and result tables as outputs, not as inputs."""
    data, layout = write_screen(tmp_path)
    out = tmp_path / "o"
    assert CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--out", str(out)]).exit_code == 0
    for target in (out, out / "provenance.json", out / "fits.csv", out / "ranking.csv"):
        res = CliRunner().invoke(app, ["inspect", str(target)])
        assert res.exit_code == 0, res.output
        text = res.output
        assert text.startswith(f"{out}: fit output (ferroscreen ") and f"input: {data}" in text
        assert f"layout: {layout}" in text and "fits.csv: 4 rows" in text and "curve calls: 4 active" in text
    res = CliRunner().invoke(app, ["inspect", str(out / "results.xlsx")])
    assert res.exit_code == 0 and res.output.startswith(f"{out / 'results.xlsx'}: fit results workbook")
    assert "sheet fits: 4 rows" in res.output
    (tmp_path / "replicate").mkdir()
    second, _ = write_screen(tmp_path / "replicate", seed=2)  # a replicate plate of the same layout
    second = second.rename(second.with_name("ctg_rep2.csv"))
    two = tmp_path / "two"
    res = CliRunner().invoke(app, ["fit", str(data), str(second), "--layout", str(layout), "--out", str(two)])
    assert res.exit_code == 0, res.output
    text = CliRunner().invoke(app, ["inspect", str(two)]).output
    assert f"inputs (2): {data}, {second}" in text  # every input, not the first alone
    res = CliRunner().invoke(app, ["inspect", str(out / "results.xlsx"), "--json"])
    assert json.loads(res.output)["sheets"]["ranking"] == 4
    res = CliRunner().invoke(app, ["inspect", str(out / "wells.csv")])  # an input of fit as well
    assert res.exit_code == 0 and "wells_table" in res.output


def test_a_compound_at_one_dose_is_named_not_dropped(tmp_path, monkeypatch, capsys):
    data, layout = write_screen(tmp_path)
    lines = layout.read_text().splitlines()
    one = [ln for ln in lines if not (ln.startswith(("P1,G", "P1,H")) and ",Volasertib," in ln
                                      and ln.split(",")[1][1:] not in ("2",))]
    one += [f"P1,{r}{c},,,,empty" for r in "GH" for c in range(3, 12)]
    layout.write_text("\n".join(one) + "\n")
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "note: Volasertib: tested at one dose (100 pM, 2 well(s)), so it has no dose-response curve" in res.output
    assert "Volasertib" not in set(pd.read_csv(tmp_path / "o" / "fits.csv")["curve"])


def test_vehicle_wells_without_readings_are_said_as_such(tmp_path, monkeypatch, capsys):
    """Readings lost to parsing (thousands separators) left the vehicle wells empty: the error says so, not that the
    layout has no vehicle wells."""
    data, layout = write_screen(tmp_path)
    lines = data.read_text().splitlines()
    lines[2:] = [",".join([ln.split(",")[0], "n/a", *ln.split(",")[2:]]) for ln in lines[2:]]  # column 1: DMSO
    data.write_text("\n".join(lines) + "\n")
    code, err = _run(monkeypatch, capsys, "fit", str(data), "--layout", str(layout), "--out", str(tmp_path / "o"))
    assert code == 2 and "none of the layout's 8 vehicle wells (A01, B01, C01, D01, E01, F01 ...) has a reading" in err


def test_compound_names_apart_by_case_only_are_said(tmp_path):
    data, layout = write_screen(tmp_path)
    layout.write_text(layout.read_text().replace("P1,B2,RSL3", "P1,B2,rsl3 "))
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "'RSL3' and 'rsl3' differ in letter case or spacing only and are fitted apart" in " ".join(res.output.split())


def test_inspect_says_a_384_well_read_meets_a_96_well_layout(tmp_path):
    from ferroscreen.io.inspection import inspect_path, render_inspection

    _, layout = write_screen(tmp_path)
    rows = "ABCDEFGHIJKLMNOP"
    grid = ["Label: Lum", "<>," + ",".join(str(c) for c in range(1, 25))]
    grid += [r + "," + ",".join(str(1000 + c) for c in range(1, 25)) for r in rows]
    (tmp_path / "ctg384.csv").write_text("\n".join(grid) + "\n")
    info = inspect_path(tmp_path / "ctg384.csv", layout=layout)
    assert info["layout_check"]["format_mismatch"] == ("the data hold wells of a 384-well plate, the layout lays "
                                                       "out a 96-well plate")
    assert "(is it this plate's layout?)" in render_inspection(info)
    assert inspect_path(tmp_path / "ctg.csv", layout=layout)["layout_check"]["format_mismatch"] == ""


def test_a_rescue_plate_of_single_doses_is_compared_not_refused(tmp_path):
    """RSL3 at one dose with and without ferrostatin-1, no dose series: no curve, but the rescue is judged
    (it was 'nothing to fit'), and the report renders."""
    data, _ = write_screen(tmp_path)
    rows = ["plate_id,well,compound,concentration,unit,role,rescue_agent,rescue_concentration"]
    rows += [f"P1,{r}1,DMSO,0,uM,vehicle,," for r in "ABCDEFGH"]
    rows += [f"P1,{r}11,RSL3,10,uM,sample,," for r in "AB"]  # read: killed
    rows += [f"P1,{r}2,RSL3,10,uM,rescue,Ferrostatin-1,1" for r in "CD"]  # read: alive
    (tmp_path / "rescue.csv").write_text("\n".join(rows) + "\n")
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(data), "--layout", str(tmp_path / "rescue.csv"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "no compound has two or more doses, so no curve is fitted" in res.output
    assert "RSL3 (10 µM) + Ferrostatin-1 reduces" in res.output and "rescue confirms ferroptosis" in res.output
    assert pd.read_csv(tmp_path / "o" / "fits.csv").empty
    res = runner.invoke(app, ["report", str(tmp_path / "o"), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "r.html").read_text()
    assert "Ferrostatin-1" in text and "ranking.csv ranks no compound" in text and "No ranking.csv" not in text


def test_report_summary_counts_a_positive_control_apart_from_the_compounds(tmp_path):
    from ferroscreen.report import load_results
    from ferroscreen.report.build import report_context

    data, layout = write_screen(tmp_path)
    layout.write_text(layout.read_text().replace("Staurosporine,10,uM,pos_ctrl", "Puromycin,10,uM,pos_ctrl"))
    out = tmp_path / "o"
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = report_context(load_results(out), tmp_path / "r.html")["summary"]
    assert summary["n_compounds"] == 4 and summary["n_pos_ctrls"] == 1  # was: 5 compounds (Puromycin among them)
    from ferroscreen.report.formatting import fmt
    from ferroscreen.report.tables import qc_table

    qc = qc_table(load_results(out))
    assert "n_positive" in qc["columns"] and "n_reference" not in qc["columns"]
    readouts = {row[qc["columns"].index("readout")]["text"] for row in qc["rows"]}
    assert "signal_end" in readouts and "n_cells_end" not in readouts  # a luminescence read is no cell count
    assert (fmt(99101.7), fmt(85968.0), fmt(0.0363651)) == ("99102", "85968", "0.0364")  # was 9.91e+04


def test_a_compound_whose_readings_are_all_missing_is_named(tmp_path):
    """Every Volasertib well (rows G, H) reads n/a: its curve is gone from fits.csv, and a note says why."""
    data, layout = write_screen(tmp_path)
    lines = data.read_text().splitlines()
    lines[2:] = [",".join([cells[0], cells[1], *(["n/a"] * 10 if cells[0] in "GH" else cells[2:12]), cells[12]])
                 for cells in (ln.split(",") for ln in lines[2:])]
    data.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "note: Volasertib: all 20 readings missing; no curve" in res.output
    assert "Volasertib" not in set(pd.read_csv(tmp_path / "o" / "fits.csv")["curve"])
    assert res.output.count("readings missing") == 1  # the compounds read are not named


def test_min_effect_sets_the_threshold_of_a_layout_fit(tmp_path):
    """Viability (relative to the vehicle) keeps 0.1 by default; --min-effect replaces it and is recorded."""
    data, layout = write_screen(tmp_path)
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--out", str(tmp_path / "d")])
    assert res.exit_code == 0 and "activity threshold" not in res.output, res.output
    prov = json.loads((tmp_path / "d" / "provenance.json").read_text())["fit"]
    assert (prov["min_effect"], prov["min_effect_from"]) == (0.1, "default")
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--min-effect", "1.5",
                                   "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert "note: activity threshold (min effect) 1.5 in response units (--min-effect)" in res.output
    assert (pd.read_csv(tmp_path / "m" / "fits.csv")["call"] == "inactive").all()  # effects ~0.98 < 1.5
    prov = json.loads((tmp_path / "m" / "provenance.json").read_text())["fit"]
    assert (prov["min_effect"], prov["min_effect_from"]) == (1.5, "--min-effect")


def test_a_layout_naming_no_plate_leaves_the_read_its_own_name(tmp_path):
    """A layout file without plate ids is every plate's map: an unnamed read keeps its file's name, not the layout's."""
    data, layout = write_screen(tmp_path)
    data = data.rename(tmp_path / "ctg_long_REP1.csv")
    oneplate = tmp_path / "layout_oneplate.csv"  # the layout without its plate_id column
    oneplate.write_text("".join(line.split(",", 1)[1] + "\n" for line in layout.read_text().splitlines()))
    out = tmp_path / "res"
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(oneplate), "--out", str(out)])
    assert res.exit_code == 0, res.output
    for table in ("qc.csv", "readouts.csv", "wells.csv"):
        assert set(pd.read_csv(out / table)["plate"]) == {"ctg_long_REP1"}, table
    plate, = json.loads((out / "provenance.json").read_text())["fit"]["plates"]
    assert plate["fitted_as"] == "ctg_long_REP1" and plate["named_by"] == "file name"
    assert plate["matched_by"] == "one-plate layout" and "layout_oneplate" not in res.output
    # a layout naming its one plate names the unnamed read after it, as before
    res = CliRunner().invoke(app, ["fit", str(data), "--layout", str(layout), "--out", str(tmp_path / "r2")])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(tmp_path / "r2" / "qc.csv")["plate"]) == {"P1"}
    # a layout file per plate, named by the stems: two unnamed grids are those plates in order
    grid = data.read_text()
    (tmp_path / "two.csv").write_text(grid + "\n" + grid)
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(oneplate.read_text())
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "two.csv"), "--layout", str(tmp_path / "a.csv"),
                                   "--layout", str(tmp_path / "b.csv"), "--out", str(tmp_path / "r3")])
    assert res.exit_code == 0, res.output
    assert "2 reads taken as the layout's plates in order" in res.output
    assert sorted(pd.read_csv(tmp_path / "r3" / "qc.csv")["plate"].unique()) == ["a", "b"]
