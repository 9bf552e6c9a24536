"""``fit`` of several wells tables or score stores pools them as replicate plates.

The reported cases: ``fit rep2.h5 rep3.h5`` read the binary stores as plate-reader exports (a
40-line ``_csv.Error: field larger than field limit`` traceback), and ``fit wells_rep1.csv
wells_rep2.csv --layout ...`` (or two ``export`` ``wells.csv``) was refused with a plate-reader
message ("lists well A01 twice") for valid wells tables.
"""

from __future__ import annotations

import json

import pandas as pd

from ..conftest import main_in_process
from .toy_stores import TIMES, dying, layout_csv, n_cells, toy_store


def _wells_csv(tmp_path, plate: str, name: str):
    """A wells table of ``plate`` as a user keeps one (no layout columns)."""
    rows = [{"plate": plate, "well": w, "time_h": t, "n_cells": n_cells(w, t), "frac_alive": 1 - dying(w, t),
             "frac_ferroptosis": dying(w, t)}
            for w in [*(f"A{c:02d}" for c in range(1, 5)), "B01", "B02", *(f"C{c:02d}" for c in range(1, 7))]
            for t in TIMES]
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _fit(args, monkeypatch, capsys):
    code, out, err = main_in_process(["fit", *map(str, args)], monkeypatch, capsys)
    assert code == 0, err
    return out


def _refused(args, monkeypatch, capsys) -> str:
    code, out, err = main_in_process(["fit", *map(str, args)], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in out + err, (code, err)
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_several_wells_tables_with_their_layouts_are_pooled_plate_by_plate(tmp_path, monkeypatch, capsys):
    """Was: "read 'n_cells' (endpoint, 96 wells...) lists well A01 twice", a plate-reader message."""
    one, two = _wells_csv(tmp_path, "rep1", "wells_rep1.csv"), _wells_csv(tmp_path, "rep2", "wells_rep2.csv")
    lay1 = layout_csv(tmp_path, {"rep1": "killer"}, "layout_rep1.csv")
    lay2 = layout_csv(tmp_path, {"rep2": "killer"}, "layout_rep2.csv")
    out = _fit([one, two, "--layout", lay1, "--layout", lay2, "--out", tmp_path / "fit"], monkeypatch, capsys)
    assert f"note: 2 INPUTs pooled as one screen of 2 plate(s) ({one}: rep1; {two}: rep2)" in out
    qc = pd.read_csv(tmp_path / "fit" / "qc.csv")
    assert set(qc["plate"].astype(str)) == {"rep1", "rep2"}  # each input's rows keep their plate
    fits = pd.read_csv(tmp_path / "fit" / "fits.csv")
    killer = fits[(fits["curve"].astype(str).str.contains("killer")) & (fits["readout"] == "frac_ferroptosis")]
    assert len(killer) == 1 and killer["n_points"].iloc[0] == 2 * (6 + 4)  # both plates' doses and vehicles
    inputs = json.loads((tmp_path / "fit" / "provenance.json").read_text())["fit"]["inputs"]
    assert [i["path"] for i in inputs] == [str(one.resolve()), str(two.resolve())]


def test_two_wells_tables_of_one_plate_name_are_refused_naming_both(tmp_path, monkeypatch, capsys):
    one, two = _wells_csv(tmp_path, "rep1", "a.csv"), _wells_csv(tmp_path, "rep1", "b.csv")
    lay = layout_csv(tmp_path, {"rep1": "killer"})
    err = _refused([one, two, "--layout", lay, "--out", tmp_path / "fit"], monkeypatch, capsys)
    assert err.startswith(f"error: {two}: plate 'rep1' is also in {one}"), err


def test_a_wells_table_beside_a_table_of_another_kind_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    wells = _wells_csv(tmp_path, "rep1", "wells.csv")
    tidy = tmp_path / "tidy.csv"
    tidy.write_text("curve,dose,response\nx,1e-6,0.5\nx,1e-5,0.2\n")
    err = _refused([wells, tidy, "--layout", layout_csv(tmp_path, {"rep1": "killer"}), "--out", tmp_path / "fit"],
                   monkeypatch, capsys)
    assert "wells.csv is a wells table and tidy.csv is not" in err, err


def test_several_score_stores_are_pooled_each_plate_with_its_stored_layout(tmp_path, monkeypatch, capsys):
    """Was: ``_csv.Error: field larger than field limit (131072)``, a 40-line traceback."""
    one, two = toy_store(tmp_path, "P1", "killer"), toy_store(tmp_path, "P2", "slayer")
    out = _fit([one, two, "--out", tmp_path / "fit"], monkeypatch, capsys)
    assert f"note: 2 INPUTs pooled as one screen of 2 plate(s) ({one}: P1; {two}: P2)" in out
    assert "its own layout columns" not in out  # the stores' layouts, no wells file's columns
    fits = pd.read_csv(tmp_path / "fit" / "fits.csv")
    curves = set(fits["curve"].astype(str))
    assert any("killer" in c for c in curves) and any("slayer" in c for c in curves), curves
    derived = pd.read_csv(tmp_path / "fit" / "wells.csv")  # each plate's rows carry its own store's layout
    row_c = derived[derived["well"].str.startswith("C")]
    assert set(row_c.loc[row_c["plate"] == "P1", "compound"]) == {"killer"}
    assert set(row_c.loc[row_c["plate"] == "P2", "compound"]) == {"slayer"}
    prov = json.loads((tmp_path / "fit" / "provenance.json").read_text())
    assert [i["path"] for i in prov["fit"]["inputs"]] == [str(one.resolve()), str(two.resolve())]
    assert prov["fit"]["fractions"] == "share"


def test_several_stores_with_a_layout_file_and_a_store_twice(tmp_path, monkeypatch, capsys):
    one, two = toy_store(tmp_path, "P1", "killer"), toy_store(tmp_path, "P2", "killer")
    lay = layout_csv(tmp_path, {"P1": "given", "P2": "given"}, "given.csv")
    _fit([one, two, "--layout", lay, "--out", tmp_path / "fit"], monkeypatch, capsys)
    curves = set(pd.read_csv(tmp_path / "fit" / "fits.csv")["curve"].astype(str))
    assert any("given" in c for c in curves) and not any("killer" in c for c in curves), curves
    err = _refused([one, one, "--out", tmp_path / "again"], monkeypatch, capsys)
    assert err == f"error: {one}: given twice as INPUT", err


def test_a_store_beside_a_wells_table_is_pooled_and_beside_a_tidy_table_refused(tmp_path, monkeypatch, capsys):
    store = toy_store(tmp_path, "P1", "killer")
    wells = _wells_csv(tmp_path, "P2", "wells_P2.csv")
    lay = layout_csv(tmp_path, {"P1": "killer", "P2": "killer"})
    _fit([store, wells, "--layout", lay, "--out", tmp_path / "fit"], monkeypatch, capsys)
    assert set(pd.read_csv(tmp_path / "fit" / "qc.csv")["plate"].astype(str)) == {"P1", "P2"}
    err = _refused([store, wells, "--out", tmp_path / "bare"], monkeypatch, capsys)  # no layout in wells_P2.csv
    assert err.startswith(f"error: {wells}: carries no layout"), err
    tidy = tmp_path / "tidy.csv"
    tidy.write_text("curve,dose,response\nx,1e-6,0.5\nx,1e-5,0.2\n")
    err = _refused([store, tidy, "--out", tmp_path / "t"], monkeypatch, capsys)
    assert err.startswith(f"error: {tidy}: several INPUTs with a score store pool stores and wells tables"), err


def test_a_table_without_unit_pools_with_one_that_has_it():
    """A user's wells table (molar doses, no unit column) beside export's (unit M): AttributeError traceback."""
    from pathlib import Path

    from ferroscreen.analysis.fit_inputs import FitInput, pool_wells
    from ferroscreen.analysis.fit_run import layout_in_wells

    def tab(plate, unit):
        t = pd.DataFrame({"plate": plate, "well": ["A01", "A02", "A03"], "time_h": 24.0, "n_cells": [100, 50, 10],
                          "frac_dead": [0.1, 0.5, 0.9], "compound": ["DMSO", "RSL3", "RSL3"],
                          "concentration": [0, 1e-6, 1e-5]})
        return t.assign(unit="M") if unit else t

    parts = [(Path(f"{p}.csv"), FitInput(t, "wells", layout_in_wells(t, f"{p}.csv")))
             for p, t in (("P1", tab("P1", False)), ("P2", tab("P2", True)))]
    pooled = pool_wells(parts, None)
    assert set(pooled.layout.plate_ids) == {"P1", "P2"}
    assert abs(pooled.layout.table["concentration"].max() - 1e-5) < 1e-12
