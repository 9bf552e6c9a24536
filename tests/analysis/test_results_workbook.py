"""``results.xlsx`` and ``fitted_points.csv``: a fit's tables in one workbook, points laid out for Prism."""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.analysis.results_workbook import prism_table
from ferroscreen.cli import app
from ferroscreen.workbooks import sheet_title, write_workbook


def _rows(path, sheet):
    return list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))


def test_prism_table_puts_replicates_side_by_side_and_leaves_vehicle_out():
    doses = pd.DataFrame({
        "readout": ["viability"] * 7 + ["gr"],
        "curve": ["B", "B", "B", "A", "A", "A", "A", "A"],
        "dose": [1e-6, 1e-6, 0.0, 1e-7, 1e-6, 1e-6, 1e-6, 1e-6],
        "response": [0.5, 0.6, 1.0, 0.9, 0.2, 0.3, 0.25, -1.0],
        "plate": ["P"] * 8,
        "well": ["B02", "B01", "A01", "C01", "C03", "C02", "C04", "C02"],
    })
    table = prism_table(doses, "viability")
    assert list(table.columns) == ["log10 dose (M)", "B #1", "B #2", "A #1", "A #2", "A #3"]
    assert table["log10 dose (M)"].tolist() == pytest.approx([-7, -6])
    # replicates numbered in well order: B01 (0.6) before B02 (0.5); C02, C03, C04 for A at 1 uM
    assert table.iloc[1, 1:].tolist() == pytest.approx([0.6, 0.5, 0.3, 0.2, 0.25])
    assert table.iloc[0, 1:3].isna().all() and table.iloc[0, 3] == 0.9 and table.iloc[0, 4:].isna().all()
    assert prism_table(doses[doses["dose"] == 0], "viability").columns.tolist() == ["log10 dose (M)"]


def test_workbook_cells_are_text_never_formulas_and_titles_are_valid(tmp_path):
    table = pd.DataFrame({"compound": ["=HYPERLINK(\"http://x\")", "ok\x07bell", None],
                          "ec50": [1e-7, math.inf, math.nan], "n": np.array([1, 2, 3], dtype=np.int64)})
    long = "prism peak_a_very_long_death_mode_name"
    path = write_workbook(tmp_path / "r.xlsx", [("a/b:c", table), (long, table), (long, [["x", 1]])])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["a_b_c", long[:31], long[:29] + "~2"]
    ws = wb["a_b_c"]
    assert ws["A2"].value == "=HYPERLINK(\"http://x\")" and ws["A2"].data_type == "s"
    assert ws["A3"].value == "okbell" and ws["A4"].value is None
    assert ws["B2"].value == 1e-7 and ws["B3"].value == "inf" and ws["B4"].value is None and ws["C4"].value == 3
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:C4"
    taken: set[str] = set()
    assert [sheet_title(n, taken) for n in ("qc", "QC", "[x]")] == ["qc", "QC~2", "_x_"]


def test_fit_writes_every_table_and_the_fitted_points_to_the_workbook(tmp_path):
    from ferroscreen.plate import make_layout

    rng = np.random.default_rng(0)
    doses = [1e-9, 1e-8, 1e-7, 1e-6, 1e-5]
    rows, layout = [], []
    for j, d in enumerate(doses):
        for r, compound in enumerate(("=SUM(A1)", "erastin")):
            for rep in range(2):
                well = f"{'ABCD'[2 * r + rep]}{j + 1:02d}"
                layout.append({"well": well, "compound": compound, "concentration": d, "replicate": rep + 1})
                alive = 1 / (1 + (d / (3e-8 if r == 0 else 1e-6)))
                for t in (0.0, 24.0, 48.0):
                    n = 200 * (1 - (1 - alive) * t / 48) * rng.normal(1, 0.03)
                    rows.append({"plate": "plate1", "well": well, "time_h": t, "n_cells": n})
    for k in range(4):
        well = f"E{k + 1:02d}"
        layout.append({"well": well, "compound": "DMSO", "role": "vehicle"})
        rows += [{"plate": "plate1", "well": well, "time_h": t, "n_cells": 200 * rng.normal(1, 0.03)}
                 for t in (0.0, 24.0, 48.0)]
    make_layout(layout, 96).to_csv(tmp_path / "layout.csv")
    pd.DataFrame(rows).to_csv(tmp_path / "wells.csv", index=False)
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "layout.csv"),
                                   "--over-time", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "o"
    wb = openpyxl.load_workbook(out / "results.xlsx")
    assert wb.sheetnames[:8] == ["about", "ranking", "fits", "rescue", "qc", "ec50_over_time", "readouts", "doses"]
    about = {r[0]: r[1] for r in _rows(out / "results.xlsx", "about") if r and r[0]}
    assert about["inf, -inf"].startswith("a text cell in a number column: an interval open on that side")
    # the Prism sheets hold the dosed points only: the about sheet says where the vehicle wells the fit used are
    prism = [text for name, text in about.items() if str(name).startswith("prism")]
    assert prism and all("the vehicle wells (dose 0, no log dose) that the fit also used are in the doses sheet"
                         in text for text in prism)
    assert len(_rows(out / "results.xlsx", "ec50_over_time")) == len(pd.read_csv(out / "ec50_over_time.csv")) + 1
    fits = pd.read_csv(out / "fits.csv")
    sheet = pd.DataFrame(_rows(out / "results.xlsx", "fits")[1:], columns=_rows(out / "results.xlsx", "fits")[0])
    assert sheet["curve"].tolist() == fits["curve"].tolist()
    assert sheet["ec50"].to_numpy(dtype=float) == pytest.approx(fits["ec50"].to_numpy(dtype=float), rel=1e-5,
                                                               nan_ok=True)
    assert wb["fits"]["A2"].data_type == "s"  # the formula-like compound name stays a name
    points = pd.read_csv(out / "fitted_points.csv")
    assert list(points.columns[:4]) == ["readout", "curve", "dose", "response"]
    assert set(points.loc[points["dose"] == 0, "well_role"]) == {"vehicle"}
    assert set(points.loc[points["dose"] > 0, "well_role"]) == {"sample"}
    res = CliRunner().invoke(app, ["inspect", str(out / "fitted_points.csv"), "--json"])
    assert res.exit_code == 0 and '"kind": "curve_table"' in res.output
    prism = _rows(out / "results.xlsx", "prism viability")
    assert prism[0] == ("log10 dose (M)", "=SUM(A1) #1", "=SUM(A1) #2", "erastin #1", "erastin #2")
    assert [r[0] for r in prism[1:]] == pytest.approx([-9, -8, -7, -6, -5])
    viab = points[(points["readout"] == "viability") & (points["curve"] == "erastin") & (points["dose"] == 1e-6)]
    assert sorted(prism[4][3:5]) == pytest.approx(sorted(viab["response"]), rel=1e-5)
    assert pd.read_csv(out / "readouts.csv").shape[0] == len(_rows(out / "results.xlsx", "readouts")) - 1


def test_a_tidy_fit_writes_its_fits_and_points(tmp_path):
    table = pd.DataFrame({"curve": ["x"] * 12, "dose": np.repeat([1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3], 2),
                          "response": [1.0, 0.98, 0.97, 0.95, 0.8, 0.82, 0.5, 0.52, 0.2, 0.21, 0.05, 0.06]})
    table.to_csv(tmp_path / "t.csv", index=False)
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(tmp_path / "o" / "results.xlsx")
    assert wb.sheetnames == ["about", "fits", "doses", "prism"]
    prism = _rows(tmp_path / "o" / "results.xlsx", "prism")
    assert prism[1] == (-8, 1.0, 0.98) and prism[2][1:] == (0.97, 0.95)


@pytest.mark.parametrize("limit, wells_sheet", [(20_000, True), (10, False)])
def test_hits_writes_its_tables_to_a_workbook(tmp_path, monkeypatch, limit, wells_sheet):
    import ferroscreen.analysis.hits_run as hits_run

    monkeypatch.setattr(hits_run, "MAX_WORKBOOK_WELLS", limit)
    rng = np.random.default_rng(1)
    rows, lines = [], ["well,gene,role"]
    for r in "ABCDEFGH":
        for c in range(1, 13):
            gene = "non-targeting" if c == 1 else "PLK1" if (r, c) == ("C", 4) else f"G{r}{c}"
            lines.append(f"{r}{c:02d},{gene},{'neg_ctrl' if c == 1 else 'sample'}")
            rows.append({"plate": "P1", "well": f"{r}{c:02d}", "n_nuclei": 300 * (0.05 if gene == "PLK1" else 1)
                         * rng.normal(1, 0.05), "area_mean": 250.0})
    (tmp_path / "lib.csv").write_text("\n".join(lines) + "\n")
    pd.DataFrame(rows).to_csv(tmp_path / "wells.csv", index=False)
    res = CliRunner().invoke(app, ["hits", str(tmp_path / "wells.csv"), "--layout", str(tmp_path / "lib.csv"),
                                   "--out", str(tmp_path / "h"), "--no-plots"])
    assert res.exit_code == 0, res.output
    book = tmp_path / "h" / "hits.xlsx"
    names = openpyxl.load_workbook(book).sheetnames
    assert names == ["about", "genes", "plate_qc", "concordance"] + (["wells_normalized"] if wells_sheet else [])
    genes = pd.read_csv(tmp_path / "h" / "genes.csv")
    sheet = _rows(book, "genes")
    assert len(sheet) == len(genes) + 1 and sheet[1][list(sheet[0]).index("gene")] == genes["gene"].iloc[0] == "PLK1"
    about = [r[1] for r in _rows(book, "about") if r[1]]
    assert str(tmp_path / "wells.csv") in about
    assert any("wells_normalized.csv only" in str(a) for a in about) != wells_sheet


def test_names_pandas_takes_for_missing_stay_names_and_a_tidy_rerun_clears_a_layout_fit(tmp_path):
    """Curves called NA and #N/A fit under those names, a readout with a control character still makes a valid
    sheet title; a tidy fit into a layout fit's folder removes that fit's tables but never its own input."""
    doses = np.repeat([1e-8, 1e-7, 1e-6, 1e-5, 1e-4], 2)
    resp = 1 / (1 + doses / 1e-6)
    rows = [dict(curve=name, dose=d, response=r, readout="via\x07bility") for name in ("NA", "#N/A")
            for d, r in zip(doses, resp, strict=True)]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    fits = pd.read_csv(tmp_path / "o" / "fits.csv", keep_default_na=False)
    assert sorted(fits["curve"]) == ["#N/A", "NA"]
    wb = openpyxl.load_workbook(tmp_path / "o" / "results.xlsx")
    assert wb.sheetnames[-1] == "prism viability"
    assert _rows(tmp_path / "o" / "results.xlsx", "prism viability")[0][1:] == ("#N/A #1", "#N/A #2", "NA #1", "NA #2")

    o = tmp_path / "o2"
    for name in ("ranking.csv", "qc.csv", "readouts.csv", "fitted_points.csv", "wells.csv"):
        o.mkdir(exist_ok=True)
        (o / name).write_text("earlier\n")
    (o / "provenance.json").write_text('{"fit": {"wells_csv": true}}')  # wells.csv derived by an earlier fit
    (o / "fitted_points.csv").write_text((tmp_path / "t.csv").read_text())  # and the input of this one
    res = CliRunner().invoke(app, ["fit", str(o / "fitted_points.csv"), "--out", str(o)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in o.iterdir()) == ["fits.csv", "fitted_points.csv", "provenance.json",
                                                    "results.xlsx"]
