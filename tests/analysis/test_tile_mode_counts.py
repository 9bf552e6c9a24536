"""A store scored in tile mode counts tiles in ``n_cells``: ``fit`` makes no count readouts of it.

The reported case: a bundle trained with the fixed-tile detector (224 px tiles) stores one record
per tile, so every well had ``n_cells`` 4 at every time; ``fit`` called a compound that kills
inactive on viability (1.0 everywhere) and passed the plate's ``n_cells_end`` QC (4 against 4).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.readouts import COUNT_READOUTS, TILE_MODE_NOTE, summarise_wells
from ferroscreen.score.store import read_store

from ..conftest import main_in_process
from .conftest import synthetic_screen
from .toy_stores import TILES, toy_store


def _store(tmp_path, mode: str):
    """A score store of plate P1 scored with a detector in ``mode`` (``tiles``: :data:`TILES` per frame)."""
    return toy_store(tmp_path, mode=mode, stem=mode)


def _fit(args, monkeypatch, capsys):
    code, out, err = main_in_process(["fit", *map(str, args)], monkeypatch, capsys)
    assert code == 0, err
    return out


def _check_no_count_readouts(folder, out: str):
    fits = pd.read_csv(folder / "fits.csv")
    readouts = set(fits["readout"])
    assert readouts and not readouts & set(COUNT_READOUTS), readouts
    assert {"frac_ferroptosis", "peak_ferroptosis"} <= readouts  # the class fractions stand
    qc = pd.read_csv(folder / "qc.csv")
    assert "n_cells_end" not in set(qc["readout"])
    assert "peak_ferroptosis" in set(qc["readout"])
    assert not set(pd.read_csv(folder / "readouts.csv").columns) & set(COUNT_READOUTS)
    assert out.count("note: tile mode") == 1 and f"note: {TILE_MODE_NOTE}\n" in out


def test_fit_of_a_tile_mode_store_leaves_the_count_readouts_out(tmp_path, monkeypatch, capsys):
    """Was: viability 1.0 in every well (inactive), and an ``n_cells_end`` QC row of 4 tiles against 4."""
    store = _store(tmp_path, "tiles")
    assert set(read_store(store).wells["n_cells"]) == {TILES}
    out = _fit([store, "--out", tmp_path / "fit"], monkeypatch, capsys)
    _check_no_count_readouts(tmp_path / "fit", out)
    derived = pd.read_csv(tmp_path / "fit" / "wells.csv")  # the report's (and a refit's) wells know it too
    assert set(derived["detector_mode"]) == {"tiles"} and set(derived["n_cells"]) == {TILES}


def test_export_of_a_tile_mode_store_says_its_n_cells_counts_tiles_and_fit_of_it_knows(tmp_path, monkeypatch,
                                                                                     capsys):
    store = _store(tmp_path, "tiles")
    code, _, err = main_in_process(["export", str(store), "--out", str(tmp_path / "e"), "--gallery", "0",
                                    "--compound-gallery", "0"], monkeypatch, capsys)
    assert code == 0, err
    wells = pd.read_csv(tmp_path / "e" / "wells.csv")
    assert set(wells["n_cells"]) == {TILES} and set(wells["detector_mode"]) == {"tiles"}
    record = json.loads((tmp_path / "e" / "export.json").read_text())
    assert record["detector_mode"] == "tiles"
    assert len(record["notes"]) == 1 and "224 px tiles" in record["notes"][0]
    assert "n_cells counts tiles, not cells" in record["notes"][0]
    (tmp_path / "e" / "export.json").unlink()  # the column alone carries it
    out = _fit([tmp_path / "e" / "wells.csv", "--out", tmp_path / "fit"], monkeypatch, capsys)
    _check_no_count_readouts(tmp_path / "fit", out)


def test_a_count_readout_or_ll2_asked_of_a_tile_mode_store_is_refused(tmp_path, monkeypatch, capsys):
    store = _store(tmp_path, "tiles")
    for extra, words in ((["--readout", "viability"], "there is no viability"),
                         (["--model", "ll2", "--readout", "frac_ferroptosis"], "model ll2 (binomial)")):
        code, out, err = main_in_process(["fit", str(store), "--out", str(tmp_path / "o"), *extra], monkeypatch,
                                         capsys)
        assert code == 2 and "Traceback" not in err + out
        assert err.strip().startswith(f"error: {store}: tile mode: n_cells counts tiles, not cells"), err
        assert words in err and len(err.strip().splitlines()) == 1


def test_a_cell_mode_store_keeps_its_count_readouts(tmp_path, monkeypatch, capsys):
    store = _store(tmp_path, "cells")
    out = _fit([store, "--out", tmp_path / "fit"], monkeypatch, capsys)
    assert "tile mode" not in out
    assert "viability" in set(pd.read_csv(tmp_path / "fit" / "fits.csv")["readout"])
    assert "n_cells_end" in set(pd.read_csv(tmp_path / "fit" / "qc.csv")["readout"])
    assert "detector_mode" not in pd.read_csv(tmp_path / "fit" / "wells.csv").columns
    code, _, err = main_in_process(["export", str(store), "--out", str(tmp_path / "e"), "--gallery", "0",
                                    "--compound-gallery", "0"], monkeypatch, capsys)
    assert code == 0, err
    assert "detector_mode" not in pd.read_csv(tmp_path / "e" / "wells.csv").columns
    record = json.loads((tmp_path / "e" / "export.json").read_text())
    assert record["detector_mode"] == "cells" and record["notes"] == []


def test_only_the_tile_mode_plates_of_a_table_lose_their_counts():
    """A wells table of a cell-mode and a tile-mode plate: the note names the tile plate; its QC has no count row."""
    from ferroscreen.analysis.screen import analyse_screen
    from ferroscreen.plate import make_layout

    wells, layout = synthetic_screen(seed=3)
    tiles = wells.assign(plate="P2", n_cells=4, detector_mode="tiles")
    both = pd.concat([wells.assign(detector_mode=""), tiles], ignore_index=True)
    notes: list[str] = []
    summary = summarise_wells(both, notes=notes).set_index("plate")
    assert summary.loc["P1", "n_cells_end"].notna().all() and summary.loc["P2", "n_cells_end"].isna().all()
    assert notes == [f"plate(s) P2: {TILE_MODE_NOTE}"]
    two = make_layout([*layout.table.assign(plate_id="P1").to_dict("records"),
                       *layout.table.assign(plate_id="P2").to_dict("records")], 96)
    result = analyse_screen(both, two)
    counted = result.qc[result.qc["readout"] == "n_cells_end"]
    assert list(counted["plate"]) == ["P1"]
    viability = result.wells.set_index("plate")["viability"]
    assert viability.loc["P1"].notna().all() and viability.loc["P2"].isna().all()


def test_score_summary_says_what_it_counted(tmp_path):
    from ferroscreen.score.export import tile_note
    from ferroscreen.score.runner import summarize

    stats = {"frames_scored": 0, "crops": 0, "predict_s": 0.0}
    tiles, cells = read_store(_store(tmp_path, "tiles")), read_store(_store(tmp_path, "cells"))
    assert summarize(tiles, stats, 0.0)["counted"] == "tiles"
    assert summarize(cells, stats, 0.0)["counted"] == "cells"
    assert tile_note(tiles.attrs).startswith("scored in tile mode: each frame's fixed 224 px tiles are classified")
    assert tile_note(cells.attrs) == "" and tile_note({}) == ""


@pytest.mark.parametrize("attrs", [{}, {"detector": "{}"}, {"detector": "not json"}])
def test_a_store_without_a_detector_mode_is_cell_mode(attrs):
    from ferroscreen.score.export import detector_mode, select_fractions

    assert detector_mode(attrs) == "cells"
    wells = pd.DataFrame({"plate": "P", "well": ["A01"], "time_h": [0.0], "n_cells": [5], "frac_alive": [1.0]})
    assert "detector_mode" not in select_fractions(wells, ["alive"], "frac", attrs=attrs).columns


def test_score_with_a_tile_bundle_says_its_counts_are_tiles(tmp_path):
    """``score`` said nothing of tiles: its store's n_cells (and its "N cells" line) counted tiles unsaid."""
    import sys

    import torch

    from ferroscreen.models.bundle import save_bundle
    from ferroscreen.models.death_mode_net import DeathModeNet

    from ..cli_process import run_command

    torch.manual_seed(0)
    classes = ["alive", "apoptosis", "ferroptosis", "necroptosis"]
    meta = {"classes": classes, "crop_size": 64, "input_size": 32, "backbone": "resnet18", "temperature": 1.0,
            "detector": {"mode": "tiles", "tile_size": 64}, "validation": {"confusion": (np.eye(4) * 90 + 2).tolist()}}
    bundle = save_bundle(tmp_path / "tiles.pt", DeathModeNet("resnet18", 4, "none", input_size=32), meta)

    def cli(*args):
        return run_command([sys.executable, "-m", "ferroscreen.cli", *map(str, args)], capture_output=True, text=True,
                           timeout=300)

    sim = cli("simulate", tmp_path / "plate", "--fields", "1", "--hours", "4", "--interval-h", "4", "--image-size",
              "128", "128", "--wells", "A01", "--seed", "1", "--workers", "1")
    assert sim.returncode == 0, sim.stderr
    proc = cli("score", tmp_path / "plate", "--model", bundle, "--out", tmp_path / "s.h5", "--workers", "0",
               "--accelerator", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert (f"note: {tmp_path / 's.h5'}: scored in tile mode: each frame's fixed 64 px tiles are classified, not "
            f"detected cells, so n_cells counts tiles, not cells") in proc.stderr
    assert set(read_store(tmp_path / "s.h5").wells["n_cells"]) == {4}  # 128 px frames, 64 px tiles
