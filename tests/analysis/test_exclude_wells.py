"""Wells the user excludes (layout 'exclude' column or fit --exclude) take no part in fits, ranking or QC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.plate import exclusion_reasons

from .conftest import run_fit_main

DOSES = [1e-9 * 10 ** (k / 2) for k in range(8)]  # 1 nM .. ~3.2 uM
TIMES = [0.0, 12.0, 24.0, 36.0]
BUBBLE, SPOILED = "C09", "A01"  # a top-dose well that read no death, a vehicle well that read mostly dead


def _plate(root, exclude_column: bool):
    """One compound (EC50 100 nM) in rows A-C, vehicle in column 1; two broken wells."""
    rng = np.random.default_rng(0)
    layout, wells = [], []
    for r in "ABC":
        layout.append(dict(well=f"{r}01", compound="DMSO", concentration="", unit="", role="vehicle"))
        for k, dose in enumerate(DOSES):
            layout.append(dict(well=f"{r}{k + 2:02d}", compound="RSL3", concentration=dose * 1e9, unit="nM",
                               role="sample"))
    if exclude_column:
        for row in layout:
            row["exclude"] = {BUBBLE: "bubble", SPOILED: "yes"}.get(row["well"], "")
    for row in layout:
        dose = row["concentration"] * 1e-9 if row["role"] == "sample" else 0.0
        for t in TIMES:
            ferro = 0.03 + 0.85 / (1 + 1e-7 / dose) * t / 36 if dose else 0.03
            if row["well"] == BUBBLE:
                ferro = 0.02
            if row["well"] == SPOILED:
                ferro = 0.9 * t / 36
            ferro += rng.normal(0, 0.01)
            wells.append(dict(plate="P1", well=row["well"], time_h=t, n_cells=200, frac_alive=0.97 - ferro,
                              frac_ferroptosis=ferro, frac_apoptosis=0.02, frac_necroptosis=0.01))
    pd.DataFrame(layout).to_csv(root / "layout.csv", index=False)
    pd.DataFrame(wells).to_csv(root / "wells.csv", index=False)




def _ferro(res) -> pd.Series:
    fits = pd.read_csv(res / "fits.csv")
    return fits[(fits["curve"] == "RSL3") & (fits["readout"] == "frac_ferroptosis")].iloc[0]


def test_exclusion_values_and_inspect(tmp_path, cli):
    assert exclusion_reasons(["", None, np.nan, "no", "0", "FALSE", "yes", "x", "1", " bubble "]) == [
        "", "", "", "", "", "", "excluded", "excluded", "excluded", "bubble"]
    _plate(tmp_path, True)
    proc = cli("inspect", tmp_path / "layout.csv")
    assert proc.returncode == 0, proc.stderr
    assert f"excluded wells (2, left out of fits and QC): {SPOILED} (excluded), {BUBBLE} (bubble)" in proc.stdout


def test_excluded_wells_leave_fits_and_qc_and_stay_listed(tmp_path, monkeypatch, capsys):
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    for root, column in ((plain, False), (marked, True)):
        root.mkdir()
        _plate(root, column)
        code, out, err = run_fit_main([root / "wells.csv", "--layout", root / "layout.csv", "--out", root / "res"],
                              monkeypatch, capsys)
        assert code == 0, err
    assert f"note: 2 wells excluded: P1 {SPOILED} (excluded), P1 {BUBBLE} (bubble)" in out
    before, after = _ferro(plain / "res"), _ferro(marked / "res")
    assert after["n_points"] == before["n_points"] - 2  # one top-dose well and one vehicle well fewer
    assert abs(np.log10(after["ec50"] / 1e-7)) < abs(np.log10(before["ec50"] / 1e-7))
    assert after["top"] > before["top"]  # the bubble no longer drags the top plateau down
    qc_before = pd.read_csv(plain / "res" / "qc.csv").set_index("readout")
    qc_after = pd.read_csv(marked / "res" / "qc.csv").set_index("readout")
    assert (qc_before["n_vehicle"] == 3).all() and (qc_after["n_vehicle"] == 2).all()  # the spoiled vehicle well
    assert qc_after.loc["peak_ferroptosis", "mean_vehicle"] < qc_before.loc["peak_ferroptosis", "mean_vehicle"] - 0.2
    readouts = pd.read_csv(marked / "res" / "readouts.csv", keep_default_na=False)
    flagged = readouts[readouts["exclude"] != ""].set_index("well")["exclude"].to_dict()
    assert flagged == {SPOILED: "excluded", BUBBLE: "bubble"}


def test_fit_exclude_option_matches_the_layout_column(tmp_path, monkeypatch, capsys):
    for name, column in (("plain", False), ("marked", True)):
        (tmp_path / name).mkdir()
        _plate(tmp_path / name, column)
    root = tmp_path / "plain"
    code, _, err = run_fit_main([root / "wells.csv", "--layout", root / "layout.csv", "--out", root / "opt",
                         "--exclude", f"{BUBBLE},P1:{SPOILED}"], monkeypatch, capsys)
    assert code == 0, err
    code, _, err = run_fit_main([tmp_path / "marked" / "wells.csv", "--layout", tmp_path / "marked" / "layout.csv",
                         "--out", tmp_path / "marked" / "res"], monkeypatch, capsys)
    assert code == 0, err
    assert _ferro(root / "opt")["ec50"] == pytest.approx(_ferro(tmp_path / "marked" / "res")["ec50"], rel=1e-9)
    readouts = pd.read_csv(root / "opt" / "readouts.csv", keep_default_na=False)
    assert readouts[readouts["exclude"] != ""].set_index("well")["exclude"].to_dict() == {
        SPOILED: "--exclude", BUBBLE: "--exclude"}
    for extra, needle in ((["--exclude", "Z99"], "--exclude Z99: "), (["--exclude", "P7:B03"], "no plate 'P7'"),
                          (["--exclude", "H12"], "the data has no well H12")):
        code, _, err = run_fit_main([root / "wells.csv", "--layout", root / "layout.csv", "--out", root / "bad", *extra],
                            monkeypatch, capsys)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run_fit_main([root / "wells.csv", "--out", root / "bad", "--exclude", "B03"], monkeypatch, capsys)
    assert code == 2 and "--exclude leaves wells out of a layout's curves; pass --layout" in err


def test_report_leaves_excluded_wells_out_of_points_and_says_so(tmp_path, monkeypatch, capsys):
    from ferroscreen.report.build import build_report
    from ferroscreen.report.compounds import dose_points, list_compounds
    from ferroscreen.report.results import load_results

    _plate(tmp_path, True)
    code, _, err = run_fit_main([tmp_path / "wells.csv", "--layout", tmp_path / "layout.csv", "--out", tmp_path / "res"],
                        monkeypatch, capsys)
    assert code == 0, err
    for name in ("wells.csv", "layout.csv"):
        (tmp_path / "res" / name).write_bytes((tmp_path / name).read_bytes())
    res = load_results(tmp_path / "res")
    info = next(i for i in list_compounds(res)[0] if i.name == "RSL3")
    pts = dose_points(res, info.name, "", info.curves["ferroptosis"], "ferroptosis")
    assert len(pts) == 3 * len(DOSES) + 3 - 2  # 3 replicates per dose and 3 vehicle wells, less the two
    assert pts["response"].max() < 0.95 and not ((pts["dose"] == DOSES[-1]) & (pts["response"] < 0.1)).any()
    html = build_report(tmp_path / "res", tmp_path / "report.html").read_text(encoding="utf-8")
    assert "2 excluded wells (layout &#39;exclude&#39; column or fit --exclude)" in html
    assert f"P1 {BUBBLE} (bubble)" in html and "framed and struck through: excluded well (2," in html


def test_report_honours_fit_exclude_from_provenance(tmp_path, monkeypatch, capsys):
    from ferroscreen.report.compounds import dose_points, list_compounds
    from ferroscreen.report.results import load_results

    _plate(tmp_path, False)
    code, _, err = run_fit_main([tmp_path / "wells.csv", "--layout", tmp_path / "layout.csv", "--out", tmp_path / "res",
                         "--exclude", BUBBLE], monkeypatch, capsys)
    assert code == 0, err
    for name in ("wells.csv", "layout.csv"):
        (tmp_path / "res" / name).write_bytes((tmp_path / name).read_bytes())
    res = load_results(tmp_path / "res")
    assert any(f"P1 {BUBBLE} (--exclude)" in n for n in res.notes)
    info = next(i for i in list_compounds(res)[0] if i.name == "RSL3")
    assert len(dose_points(res, info.name, "", info.curves["ferroptosis"], "ferroptosis")) == 3 * len(DOSES) + 3 - 1


def test_an_exclude_error_is_not_glued_to_the_layouts_notes(tmp_path, monkeypatch, capsys):
    """A layout's undosed compound explains 'nothing to fit', not a mistyped --exclude."""
    _plate(tmp_path, False)
    lay = pd.read_csv(tmp_path / "layout.csv", keep_default_na=False)
    lay.loc[lay["well"] == "A02", ["compound", "concentration", "unit", "role"]] = ["Triton", "", "", "sample"]
    lay.to_csv(tmp_path / "layout.csv", index=False)
    code, _, err = run_fit_main([tmp_path / "wells.csv", "--layout", tmp_path / "layout.csv", "--out",
                                 tmp_path / "bad", "--exclude", "Z99"], monkeypatch, capsys)
    assert code == 2 and "--exclude Z99: " in err and "Triton" not in err, err
