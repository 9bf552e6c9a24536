"""A layout file per plate: ``--layout`` repeated (IncuCyte writes a ``.PlateMap`` per vessel)."""

from __future__ import annotations

import html
import json
import re
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.cli import app, main
from ferroscreen.hashing import file_sha256
from ferroscreen.plate import read_layouts

from .conftest import run_fit_main

TIMES = np.arange(0, 49, 4.0)
DOSES_NM = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000]


def _plate(folder, name: str, compound: str, ec50_nm: float, seed: int) -> tuple:
    """An IncuCyte metric export labelled ``name`` and its own ``name.PlateMap``: ``compound`` in duplicate
    9-dose series (rows A-B) killing with EC50 ``ec50_nm``, DMSO in row C."""
    rng = np.random.default_rng(seed)
    wells, items = {}, []
    for row in range(2):
        for j, d in enumerate(DOSES_NM):
            kill = 1 / (1 + (ec50_nm / d) ** 1.5)
            wells[f"{'AB'[row]}{j + 1}"] = (100 * np.exp(0.02 * TIMES) * (1 - kill * np.minimum(TIMES / 24, 1))
                                            + rng.normal(0, 1.5, len(TIMES)))
            items.append(f'<well row="{row}" col="{j}"><items><wellItem type="Compound" concentration="{d}" '
                         f'concentrationUnits="nM"><referenceItem type="Compound" description="{compound}" />'
                         f'</wellItem></items></well>')
    for j in range(8):
        wells[f"C{j + 1}"] = 100 * np.exp(0.02 * TIMES) + rng.normal(0, 1.5, len(TIMES))
        items.append(f'<well row="2" col="{j}"><items><wellItem type="Compound" concentration="0.1" '
                     f'concentrationUnits="%"><referenceItem type="Compound" description="DMSO" /></wellItem>'
                     f'</items></well>')
    platemap = folder / f"{name}.PlateMap"
    platemap.write_text(f"<plateMap><wellStore><wells>{''.join(items)}</wells></wellStore></plateMap>")
    names = list(wells)
    lines = [f"Label: {name}", "Metric: Phase Object Count (1/Image)", "", "Date Time\tElapsed\t" + "\t".join(names)]
    lines += [f"x\t{t:g}\t" + "\t".join(f"{wells[w][i]:.3f}" for w in names) for i, t in enumerate(TIMES)]
    export = folder / f"{name}_count.txt"
    export.write_text("\n".join(lines) + "\n")
    return export, platemap


def _ec50(fits: pd.DataFrame, compound: str) -> float:
    row = fits[(fits["curve"] == compound) & (fits["readout"] == "viability")]
    assert len(row) == 1, fits["curve"].unique()
    return float(row["ec50"].iloc[0])


def test_each_plate_takes_its_own_platemap_by_name_and_the_report_joins_both(tmp_path):
    e1, m1 = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    e2, m2 = _plate(tmp_path, "VID102", "erastin", 1000, 2)
    out = tmp_path / "o"
    # layouts given in the other order than the exports: plates find theirs by name
    res = CliRunner().invoke(app, ["fit", str(e1), str(e2), "--layout", str(m2), "--layout", str(m1),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    fits = pd.read_csv(out / "fits.csv")
    assert set(fits["curve"]) == {"RSL3", "erastin"}
    assert _ec50(fits, "RSL3") == pytest.approx(30e-9, rel=0.25)
    assert _ec50(fits, "erastin") == pytest.approx(1e-6, rel=0.25)
    prov = json.loads((out / "provenance.json").read_text())
    assert [r["path"] for r in prov["layout"]] == [str(m2.resolve()), str(m1.resolve())]
    assert all(len(r["sha256"]) == 64 for r in prov["layout"])
    html = tmp_path / "r.html"
    res = CliRunner().invoke(app, ["report", str(out), "--out", str(html)])
    assert res.exit_code == 0, res.output
    text = html.read_text()
    assert "Layout columns joined from VID102.PlateMap + VID101.PlateMap" in text
    assert "RSL3" in text and "erastin" in text


def test_layout_files_combined_keep_their_plates_and_files(tmp_path):
    _, m1 = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    table = tmp_path / "LIB02.csv"
    table.write_text("well,compound,concentration,unit,role\nA01,erastin,1,uM,sample\nB01,DMSO,,,vehicle\n")
    lay = read_layouts([m1, table])
    assert lay.plate_ids == ["VID101", "LIB02"] and lay.form == "mixed"
    assert lay.for_plate("LIB02_rep2").source == table
    assert lay.for_plate("VID101").table["compound"].iloc[0] == "RSL3"
    assert read_layouts([table]).plate_ids == ["LIB02"]


@pytest.mark.parametrize("case, message", [
    ("twice", "layout file given twice"),
    ("same_stem", "plate 'layout' is also in"),
    ("grid_formats", "plate grids of a 96-well plate, but"),
])
def test_layouts_that_do_not_combine_are_one_line_errors(tmp_path, monkeypatch, capsys, case, message):
    e1, m1 = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    a, b = tmp_path / "a" / "layout.csv", tmp_path / "b" / "layout.csv"
    for path in (a, b):
        path.parent.mkdir()
        path.write_text("well,compound,concentration,unit\nA01,RSL3,1,uM\n")
    grid = tmp_path / "grid.csv"
    grid.write_text("compound," + ",".join(map(str, range(1, 13))) + "\n"
                    + "".join(f"{r},RSL3" + "," * 11 + "\n" for r in "ABCDEFGH"))
    big = tmp_path / "big.csv"
    big.write_text("well,compound,concentration,unit\nP24,RSL3,1,uM\n")
    layouts = {"twice": [m1, tmp_path / "." / m1.name], "same_stem": [a, b], "grid_formats": [grid, big]}[case]
    args = [str(p) for lay in layouts for p in ("--layout", lay)]
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(e1), *args, "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()


def test_hits_takes_a_library_map_per_plate(tmp_path):
    """Two library plates' maps in two files; each plate read finds its map by name."""
    rng = np.random.default_rng(3)
    rows = []
    for plate, killer in (("LIB01", "PLK1"), ("LIB02", "POLR2A")):
        lines = ["well,gene,role"]
        for r in "ABCDEFGH":
            for c in range(1, 13):
                well = f"{r}{c:02d}"
                gene = "NT" if c == 1 else killer if (r, c) == ("B", 5) else f"{plate}_G{r}{c}"
                role = "neg_ctrl" if c == 1 else "sample"
                lines.append(f"{well},{gene},{role}")
                count = 400 * (0.1 if gene == killer else 1.0) * rng.normal(1, 0.05)
                rows.append({"plate": plate, "well": well, "n_nuclei": max(count, 1), "area_mean": 300.0})
        (tmp_path / f"{plate}.csv").write_text("\n".join(lines) + "\n")
    pd.DataFrame(rows).to_csv(tmp_path / "wells.csv", index=False)
    res = CliRunner().invoke(app, ["hits", str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "LIB01.csv"),
                                   "--layout", str(tmp_path / "LIB02.csv"), "--out", str(tmp_path / "h"),
                                   "--no-plots"])
    assert res.exit_code == 0, res.output
    genes = pd.read_csv(tmp_path / "h" / "genes.csv")
    assert set(genes[genes["hit"]]["gene"]) == {"PLK1", "POLR2A"}
    summary = json.loads((tmp_path / "h" / "hits.json").read_text())
    assert summary["layout"] == [str(tmp_path / "LIB01.csv"), str(tmp_path / "LIB02.csv")]
    assert summary["layout_sha256"] == [file_sha256(tmp_path / f"{p}.csv") for p in ("LIB01", "LIB02")]




def test_fit_says_which_plates_no_layout_plate_takes_covers_or_gives_a_vehicle(tmp_path, monkeypatch, capsys):
    e1, m1 = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    e2, m2 = _plate(tmp_path, "VID102", "erastin", 1000, 2)
    e3, m3 = _plate(tmp_path, "VID103", "ML162", 100, 3)
    # an export whose plate no layout file names, beside ones that are named, is refused
    code, _, err = run_fit_main([e1, e3, e2, "--layout", m1, "--layout", m2, "--out", tmp_path / "o0"], monkeypatch, capsys)
    assert code == 2 and "plate(s) VID103 not in the layout (plates VID101, VID102)" in err
    # a wells table holding a plate without layout (VID103): said, and VID101 still fitted
    code, _, _ = run_fit_main([e1, e3, "--layout", m1, "--layout", m3, "--out", tmp_path / "w"], monkeypatch, capsys)
    assert code == 0
    code, out, _ = run_fit_main([tmp_path / "w" / "wells.csv", "--layout", m1, "--layout", m2, "--out", tmp_path / "o1"],
                        monkeypatch, capsys)
    assert code == 0 and "plate(s) VID103 of the data are not in the layout (plates VID101, VID102)" in out
    assert set(pd.read_csv(tmp_path / "o1" / "fits.csv")["curve"]) == {"RSL3"}
    # a layout whose wells are none of its plate's, and one without vehicle wells
    far = tmp_path / "VID102.csv"
    far.write_text("well,compound,concentration,unit\nH11,erastin,1,uM\nH12,erastin,2,uM\n")
    code, out, _ = run_fit_main([e1, e2, "--layout", m1, "--layout", far, "--out", tmp_path / "o2"], monkeypatch, capsys)
    assert code == 0 and "plate VID102: none of its 26 wells is in " in out
    novehicle = tmp_path / "VID102.csv"
    novehicle.write_text("well,compound,concentration,unit\n" + "".join(
        f"{r}{j + 1},erastin,{d},nM\n" for r in "AB" for j, d in enumerate(DOSES_NM)))
    code, out, _ = run_fit_main([e1, e2, "--layout", m1, "--layout", novehicle, "--out", tmp_path / "o3"], monkeypatch,
                        capsys)
    assert code == 0 and "VID102: no vehicle wells, so viability, gr and dip_rel" in out
    # no plate of the data finds its layout plate: one line naming them
    code, _, err = run_fit_main([e3, "--layout", m1, "--layout", m2, "--out", tmp_path / "o4"], monkeypatch, capsys)
    assert code == 2 and "the data's plate(s) VID103 find no layout plate (plates VID101, VID102)" in err


def test_a_plate_two_layout_plates_could_take_is_refused_and_a_read_takes_the_plates_of_its_format(
        tmp_path, monkeypatch, capsys):
    e1, m1 = _plate(tmp_path, "A", "RSL3", 30, 1)
    e2, m2 = _plate(tmp_path, "A_B", "erastin", 1000, 2)
    twice = tmp_path / "A_B_rep2_count.txt"
    twice.write_text(e2.read_text().replace("Label: A_B", "Label: A_B_rep2"))
    code, _, err = run_fit_main([e1, twice, "--layout", m1, "--layout", m2, "--out", tmp_path / "o"], monkeypatch, capsys)
    assert code == 2 and "plate 'A_B_rep2' could take the layout rows of A or A_B" in err

    small, big = tmp_path / "p96.csv", tmp_path / "p384.csv"
    small.write_text("well,compound,concentration,unit\n" + "".join(f"A{c:02d},RSL3,{10 / 3 ** c:.6g},uM\n"
                                                                     for c in range(1, 11)) + "H12,DMSO,,\nH11,DMSO,,\n")
    big.write_text("well,compound,concentration,unit\nA01,RSL3,1,uM\nP24,DMSO,,\n")
    read = tmp_path / "read96.csv"
    read.write_text("Label: Lum\n<>," + ",".join(map(str, range(1, 13))) + "\n"
                    + "".join(f"{r}," + ",".join(str(100 - 8 * c if r == "A" else 100) for c in range(12)) + "\n"
                              for r in "ABCDEFGH"))
    code, out, err = run_fit_main([read, "--layout", small, "--layout", big, "--out", tmp_path / "o2"], monkeypatch,
                                  capsys)
    assert code == 0, err
    assert "a 96-well plate read: the layout's plates of other formats are left out (p384 (384 wells))" in out
    assert pd.read_csv(tmp_path / "o2" / "fits.csv")["curve"].tolist() == ["RSL3"]
    assert set(pd.read_csv(tmp_path / "o2" / "wells.csv")["plate"]) == {"p96"}


def test_report_names_a_layout_file_gone_since_the_fit_and_joins_the_others(tmp_path):
    e1, m1 = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    e2, m2 = _plate(tmp_path, "VID102", "erastin", 1000, 2)
    out = tmp_path / "o"
    assert CliRunner().invoke(app, ["fit", str(e1), str(e2), "--layout", str(m1), "--layout", str(m2),
                                    "--out", str(out)]).exit_code == 0
    m2.unlink()
    res = CliRunner().invoke(app, ["report", str(out), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    text = html.unescape((tmp_path / "r.html").read_text())
    assert "VID102.PlateMap, a layout of the fit, is no longer at" in text
    assert "Layout columns joined from VID101.PlateMap (the fit's layout, from provenance.json)" in text


def test_inspect_names_the_reads_of_one_export_as_fit_does(tmp_path):
    _, m1 = _plate(tmp_path, "PA", "RSL3", 30, 1)
    _, m2 = _plate(tmp_path, "PB", "erastin", 1000, 2)
    grid = "".join(f"{r}," + ",".join(["100"] * 12) + "\n" for r in "ABCDEFGH")
    two = tmp_path / "two.csv"
    two.write_text("Label: Lum\n<>," + ",".join(map(str, range(1, 13))) + "\n" + grid + "\nLabel: Lum\n<>,"
                   + ",".join(map(str, range(1, 13))) + "\n" + grid)
    res = CliRunner().invoke(app, ["inspect", str(two), "--layout", str(m1), "--layout", str(m2), "--json"])
    assert res.exit_code == 0, res.output
    check = json.loads(res.output)["layout_check"]
    assert check["plates"] == {"PA": "PA", "PB": "PB"} and check["plates_not_in_layout"] == []


def test_hits_wells_tables_named_after_no_layout_plate_are_one_line(tmp_path, monkeypatch, capsys):
    for plate in ("LIB01", "LIB02"):
        (tmp_path / f"{plate}.csv").write_text("well,gene,role\nA01,NT,neg_ctrl\nA02,PLK1,sample\n")
    pd.DataFrame({"plate": ["plateA"] * 2, "well": ["A01", "A02"], "n_nuclei": [300, 20]}).to_csv(
        tmp_path / "w.csv", index=False)
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "hits", str(tmp_path / "w.csv"), "--layout",
                                      str(tmp_path / "LIB01.csv"), "--layout", str(tmp_path / "LIB02.csv"),
                                      "--out", str(tmp_path / "h")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "plate(s) plateA of the data find no plate in the layout" in err and "plates LIB01, LIB02" in err


def test_exports_whose_labels_name_no_layout_plate_take_theirs_by_file_name(tmp_path, monkeypatch, capsys):
    e1, m1 = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    e2, m2 = _plate(tmp_path, "VID102", "erastin", 1000, 2)
    for export, label in ((e1, "Run7 vessel 1"), (e2, "Run7 vessel 2")):
        export.write_text(export.read_text().replace(f"Label: {export.stem[:-6]}", f"Label: {label}"))
    # files given in the other order than the layouts: the file names decide, not the order
    code, out, err = run_fit_main([e2, e1, "--layout", m1, "--layout", m2, "--out", tmp_path / "o"], monkeypatch,
                                  capsys)
    assert code == 0, err
    assert "plate 'Run7 vessel 2' takes the layout rows of its plate VID102 (by the file's name)" in out
    fits = pd.read_csv(tmp_path / "o" / "fits.csv")
    assert _ec50(fits, "erastin") == pytest.approx(1e-6, rel=0.25) and _ec50(fits, "RSL3") == pytest.approx(
        30e-9, rel=0.25)
    # two exports labelled alike are named by their files
    for export in (e1, e2):
        export.write_text(re.sub(r"Label: .*", "Label: Plate 1", export.read_text()))
    code, out, err = run_fit_main([e1, e2, "--layout", m1, "--layout", m2, "--out", tmp_path / "o2"], monkeypatch,
                                  capsys)
    assert code == 0, err
    assert "plate 'Plate 1' named VID101_count after its file (two files name their plate 'Plate 1')" in out
    assert _ec50(pd.read_csv(tmp_path / "o2" / "fits.csv"), "RSL3") == pytest.approx(30e-9, rel=0.25)


def test_a_metric_export_given_as_the_layout_is_named_as_one(tmp_path, monkeypatch, capsys):
    e1, _ = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    e2, _ = _plate(tmp_path, "VID102", "erastin", 1000, 2)
    code, _, err = run_fit_main([e1, "--layout", e2, "--out", tmp_path / "o"], monkeypatch, capsys)
    assert code == 2 and "VID102_count.txt: an IncuCyte metric export (a Date Time / Elapsed table" in err


def test_a_layout_naming_another_plate_is_applied_with_a_note(tmp_path, monkeypatch, capsys):
    """A one-plate layout whose plate_id names another plate still fits (one-plate layouts fit any plate),
    and fit says the names differ: a wrong library-plate file would otherwise go unnoticed."""
    export, platemap = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    other = tmp_path / "plates.csv"
    lay = read_layouts([platemap])
    lay.table["plate_id"] = "VID202"
    lay.to_csv(other)
    code, out, err = run_fit_main([export, "--layout", other, "--out", tmp_path / "o"], monkeypatch, capsys)
    assert code == 0, err
    said = " ".join(out.split())
    assert f"{other}: its one plate is named 'VID202', yet it is applied to data plate(s) VID101" in said
    assert _ec50(pd.read_csv(tmp_path / "o" / "fits.csv"), "RSL3") == pytest.approx(30e-9, rel=0.25)
    # named after the data's plate: nothing to say
    lay = read_layouts([platemap])
    lay.table["plate_id"] = "VID101"
    lay.to_csv(other)
    code, out, _ = run_fit_main([export, "--layout", other, "--out", tmp_path / "o2"], monkeypatch, capsys)
    assert code == 0 and "its one plate is named" not in out


def test_doses_in_the_wrong_unit_are_said(tmp_path, monkeypatch, capsys):
    """Nanomolar values under a unit 'M' (a top dose of 10,000 M) are fitted, with a note naming what was written."""
    export, platemap = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    lay = read_layouts([platemap])
    lay.to_csv(tmp_path / "good.csv")
    table = pd.read_csv(tmp_path / "good.csv")
    table["concentration"] = table["concentration"] * 1e9  # the nM values, unit left 'M'
    table.to_csv(tmp_path / "molar.csv", index=False)
    code, out, err = run_fit_main([export, "--layout", tmp_path / "molar.csv", "--out", tmp_path / "o"],
                                  monkeypatch, capsys)
    assert code == 0, err
    said = " ".join(out.split())
    assert "RSL3: its highest dose is 1e+04 M (written 10000 M), above 1 M; check the layout's concentration unit" in said
    assert _ec50(pd.read_csv(tmp_path / "o" / "fits.csv"), "RSL3") == pytest.approx(30, rel=0.25)
    code, out, _ = run_fit_main([export, "--layout", tmp_path / "good.csv", "--out", tmp_path / "o2"], monkeypatch, capsys)
    assert code == 0 and "concentration unit" not in out


def test_one_plate_exported_twice_or_two_metrics_of_it_are_not_replicate_plates(tmp_path, monkeypatch, capsys):
    e1, m1 = _plate(tmp_path, "VID101", "RSL3", 30, 1)
    again = tmp_path / "VID101_again.txt"
    again.write_text(e1.read_text().replace("Label: VID101", "Label: VID101 (copy)"))  # not byte-identical
    code, _, err = run_fit_main([e1, again, "--layout", m1, "--out", tmp_path / "o"], monkeypatch, capsys)
    assert code == 2 and err.strip() == (f"error: {again}: the same readings as {e1} in every well and scan (one "
                                         f"plate exported twice?); give each plate once")
    conf = tmp_path / "VID101_conf.txt"
    conf.write_text(e1.read_text().replace("Phase Object Count (1/Image)", "Phase Object Confluence (Percent)")
                    .replace("\t1", "\t2"))
    code, _, err = run_fit_main([e1, conf, "--layout", m1, "--out", tmp_path / "o"], monkeypatch, capsys)
    assert code == 2 and "their metrics differ" in err and "fit each metric on its own" in err
    assert not (tmp_path / "o").exists()
