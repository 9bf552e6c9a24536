"""``fit`` of a store and of its export agree, and say when they cannot.

The reported cases: fitting a store none of whose frames was scored (or its export) ended in a
``KeyError: 'frac_apoptosis'`` traceback; a ``wells.csv`` edited after export was fitted as if
nothing happened while its scoring record silently dropped out of ``provenance.json``; and the
same store fitted directly and through ``export`` gave other numbers (EC50 1.876 against 1.671 uM)
because ``wells.csv`` was written to 6 significant digits.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.readouts import summarise_wells
from ferroscreen.plate import read_layout
from ferroscreen.score.export import export_wells, wells_table
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.store import new_frame_table, read_store

from .conftest import run_fit_main
from .toy_stores import CLASSES, TIMES, layout_csv, toy_store


def _unscored_store(tmp_path, plate: str = "P1"):
    """A store of the toy plate whose every frame is pending (a run stopped before its first frame)."""
    layout = read_layout(layout_csv(tmp_path, {plate: "killer"}, "layout_unscored.csv")).table
    frames = new_frame_table(pd.DataFrame(
        [{"plate": plate, "well": w, "field": 1, "channel": "phase", "z": 0, "time_h": t, "path": f"/x/{w}_{t:g}.tif"}
         for t in TIMES for w in layout["well"]]))
    attrs = {"classes": CLASSES, "confusion": np.eye(len(CLASSES)).tolist(), "plate": plate,
             "detector": {"mode": "cells", "method": "radial", "tile_size": 224, "tile_stride": None}}
    path = tmp_path / "unscored.h5"
    merge_journals(path, attrs, frames, layout, [], False)
    return path


def _one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_fit_of_a_store_with_no_scored_frame_is_one_line(tmp_path, monkeypatch, capsys):
    store = _unscored_store(tmp_path)
    code, _, err = run_fit_main([store, "--out", tmp_path / "f"], monkeypatch, capsys)
    n = len(read_store(store).frames)
    _one_line_error(code, err, str(store), f"no frame is scored yet ({n} of {n} pending)", "--resume")
    assert not (tmp_path / "f").exists()


def test_fit_of_a_wells_table_with_every_fraction_blank_is_one_line(tmp_path, monkeypatch, capsys):
    scored = pd.read_csv(export_wells(toy_store(tmp_path), tmp_path / "e"))
    blank = scored.assign(**{c: np.nan for c in scored.columns if c.startswith("frac_")})
    blank.to_csv(tmp_path / "blank.csv", index=False)  # as export wrote an unscored store's (before it refused)
    code, _, err = run_fit_main([tmp_path / "blank.csv", "--out", tmp_path / "f"], monkeypatch, capsys)
    _one_line_error(code, err, str(tmp_path / "blank.csv"), "frac_ferroptosis", "empty in every row")


def test_a_mode_blank_on_one_plate_of_several_is_summarised_blank():
    rows = []
    for plate, value in (("P1", 0.2), ("P2", np.nan)):  # P2 read no ferroptosis at all
        for t in (0.0, 24.0):
            for well in ("A01", "A02"):
                rows.append({"plate": plate, "well": well, "time_h": t, "n_cells": 50, "frac_alive": 0.8,
                             "frac_ferroptosis": value * t / 24 if plate == "P1" else value})
    summary = summarise_wells(pd.DataFrame(rows)).set_index(["plate", "well"])
    assert summary.loc["P2", "frac_ferroptosis"].isna().all() and summary.loc["P2", "peak_ferroptosis"].isna().all()
    assert summary.loc[("P1", "A01"), "frac_ferroptosis"] == pytest.approx(0.2)


def test_exported_wells_read_back_exactly(tmp_path):
    store = toy_store(tmp_path)
    written = pd.read_csv(export_wells(store, tmp_path / "e"))
    expected = wells_table(store)
    for col in ["n_cells", *[c for c in expected.columns if c.startswith(("frac_", "share_", "pmean_"))]]:
        np.testing.assert_array_equal(written[col].to_numpy(float), expected[col].to_numpy(float), err_msg=col)


def test_a_store_and_its_export_fit_alike(tmp_path, monkeypatch, capsys):
    store = toy_store(tmp_path)
    wells = export_wells(store, tmp_path / "e")
    for source, out in ((store, "fs"), (wells, "fe")):
        code, _, err = run_fit_main([source, "--out", tmp_path / out], monkeypatch, capsys)
        assert code == 0, err
    direct, exported = (pd.read_csv(tmp_path / out / "fits.csv") for out in ("fs", "fe"))
    pd.testing.assert_frame_equal(direct, exported)
    derived = pd.read_csv(tmp_path / "fs" / "wells.csv")  # the fit's own wells.csv reads back as the store's too
    stored = wells_table(store)
    for col in [c for c in derived.columns if c.startswith("frac_")]:
        np.testing.assert_array_equal(derived[col].to_numpy(float), stored[col].to_numpy(float), err_msg=col)


def test_an_edited_export_is_said_and_recorded(tmp_path, monkeypatch, capsys):
    store = toy_store(tmp_path)
    wells = export_wells(store, tmp_path / "e")
    code, out, err = run_fit_main([wells, "--out", tmp_path / "f"], monkeypatch, capsys)
    assert code == 0, err
    prov = json.loads((tmp_path / "f" / "provenance.json").read_text())
    from ferroscreen.hashing import file_sha256

    record = prov["fit"]["export_record"]
    assert record["status"] == "matches" and record["store_sha256"] == file_sha256(store)
    assert record["options"]["fractions"] == "share" and "scoring" in prov and "sha256" not in out

    table = pd.read_csv(wells)
    table.loc[0, "frac_ferroptosis"] = 0.9  # edited after export
    table.to_csv(wells, index=False)
    code, out, err = run_fit_main([wells, "--out", tmp_path / "g"], monkeypatch, capsys)
    assert code == 0, err
    said = [line for line in out.splitlines() if "export.json" in line]
    assert said and said[0].startswith(f"note: {wells}: differs from the wells.csv export wrote"), out
    prov = json.loads((tmp_path / "g" / "provenance.json").read_text())
    assert prov["fit"]["export_record"]["status"] == "mismatch"
    assert prov["fit"]["export_record"]["path"] == str((tmp_path / "e" / "export.json").resolve())
    assert "scoring" not in prov and "exported_from" not in prov["fit"]
