"""`evaluate` of a tile-mode bundle on a simulated plate: tiles scored against a tile truth, no detection figures.

Found in a walk-through: a bundle trained on fixed 224 px tiles was evaluated as if its tile grid were
cell detections (tile centres matched to cell discs): detection recall 0.004 and a macro-F1 over the
few tiles whose centre fell in a cell, without a word.
"""

import json

import numpy as np
import pandas as pd

from ferroscreen.crops import tile_boxes

TILE = 64  # tiny_plate frames are 128 px: a 2 x 2 grid
CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]
ONSET_H = 12.0


def _tile_bundle(path, training_data=None):
    """A random-weights tile-mode bundle (the counting and the contract need no training)."""
    import torch

    from ferroscreen.models.bundle import save_bundle
    from ferroscreen.models.death_mode_net import DeathModeNet

    torch.manual_seed(0)
    net = DeathModeNet("resnet18", len(CLASSES), "none", input_size=32).eval()
    meta = {"classes": CLASSES, "crop_size": TILE, "input_size": 32, "backbone": "resnet18", "temperature": 1.0,
            "detector": {"preset": "suspension", "mode": "tiles", "tile_size": TILE},
            "normalization": {"method": "percentile"}}
    if training_data is not None:
        meta["training_data"] = training_data
    return save_bundle(path, net, meta)


REFERENCE_TRAINED = {"datamodule": "ReferencePlateDataModule", "onset_h": ONSET_H, "until_h": None,
                     "alive_until_h": None}


def _expected_tiles(plate):
    """Per frame of the plate, the 2 x 2 tiles' true cell classes, counted here from truth_cells.csv and layout.csv."""
    truth = pd.read_csv(plate / "truth_cells.csv")
    layout = pd.read_csv(plate / "layout.csv").set_index("well")
    boxes = tile_boxes((128, 128), TILE)
    out = []  # (well label or None, [classes of the cells of each non-empty tile])
    frames = json.loads((plate / "truth.json").read_text())["frames"]  # a frame can hold no cell at all
    for f in frames:
        well, time_h = f["well"], f["time_h"]
        cells = truth[(truth.well == well) & (truth.field == f["field"]) & np.isclose(truth.time_h, time_h)]
        row = layout.loc[well]
        label = ("alive" if row["role"] == "vehicle" else
                 row["mode"] if row["role"] == "reference" and time_h >= ONSET_H else None)
        tiles = []
        for b in boxes.itertuples():
            inside = cells[(cells.x >= b.x0) & (cells.x < b.x1) & (cells.y >= b.y0) & (cells.y < b.y1)]
            if len(inside):
                tiles.append(inside["class"].tolist())
        out.append((label, tiles))
    return out


def test_a_tile_bundle_is_scored_per_tile_against_the_training_rule(tiny_plate, tmp_path):
    from ferroscreen.tasks.evaluation import evaluate_path, render_evaluation

    model = _tile_bundle(tmp_path / "tiles.pt", REFERENCE_TRAINED)
    r = evaluate_path(tiny_plate, model, max_frames=None, precision="32")
    n_frames = len(list((tiny_plate / "images").glob("*.tif")))
    expected = _expected_tiles(tiny_plate)
    assert r["n_frames"] == n_frames == len(expected)

    # no cell detection to score, and said so
    assert "detection" not in r and "per_stage" not in r
    assert any(n.startswith("tile mode: no cell detection to score") for n in r["notes"])
    assert r["detector_mode"] == "tiles" and r["tile_size"] == TILE

    # every tile cut; the ones with no true cell counted apart, not scored
    t = r["tiles"]
    with_cells = sum(len(tiles) for _, tiles in expected)
    assert t["n"] == n_frames * 4
    assert t["no_true_cell"] == t["n"] - with_cells == sum(t["no_true_cell_predicted"].values())

    # top level: the rule training labelled tiles by (the well's mode from the onset window on)
    assert r["tile_truth"] == "well_mode" and r["well_mode_rule"]["onset_h"] == ONSET_H
    support = {c: 0 for c in CLASSES}
    for label, tiles in expected:
        if label is not None:
            support[label] += len(tiles)
    assert {c: m["support"] for c, m in r["per_class"].items()} == support
    assert r["n"] == sum(support.values()) == with_cells - t["outside_well_rule"]
    assert t["outside_well_rule"] > 0  # the reference wells' 0 h frames, before onset

    # second view: the majority true class of the cells in each tile, every tile with cells
    second = r["cell_majority"]
    assert second["tile_truth"] == "cell_majority"
    majority = {c: 0 for c in CLASSES}
    for _, tiles in expected:
        for cells in tiles:
            counts = pd.Series(cells).value_counts()
            top = [c for c in CLASSES if counts.get(c, 0) == counts.max()]
            majority[top[0]] += 1
    assert {c: m["support"] for c, m in second["per_class"].items()} == majority
    assert second["n"] == with_cells - sum(t["foreign"].values())
    assert np.asarray(second["confusion"]).sum() == second["n"]

    text = render_evaluation(r)
    assert "tile mode (64 px tiles): no cell detection to score" in text
    assert "truth per tile (well_mode)" in text and "second view, truth per tile (cell_majority)" in text
    assert "detection:" not in text


def test_a_tile_bundle_without_a_training_record_is_scored_by_the_cells_in_each_tile(tiny_plate, tmp_path, cli):
    model = _tile_bundle(tmp_path / "tiles.pt")
    proc = cli("evaluate", str(tiny_plate), "--model", str(model), "--json", "--precision", "32")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert "detection" not in r and r["tile_truth"] == "cell_majority" and "cell_majority" not in r
    assert r["n"] == r["tiles"]["n"] - r["tiles"]["no_true_cell"] - sum(r["tiles"]["foreign"].values())
    assert "note: tile mode: no cell detection to score" in proc.stderr
    assert "does not record training on a plate's reference wells" in proc.stderr


def test_a_plate_the_training_rule_cannot_label_falls_back_to_the_cells_and_says_why(tiny_plate, tmp_path):
    import shutil

    from ferroscreen.tasks.evaluation import evaluate_path

    plate = tmp_path / "plate"
    shutil.copytree(tiny_plate, plate)
    (plate / "layout.csv").unlink()
    r = evaluate_path(plate, _tile_bundle(tmp_path / "tiles.pt", REFERENCE_TRAINED), max_frames=4, precision="32")
    assert r["tile_truth"] == "cell_majority" and "detection" not in r and r["tiles"]["n"] == 4 * 4
    assert any("tiles cannot be labelled as training labelled them" in n and "no layout.csv" in n for n in r["notes"])


def test_cells_in_tiles_and_their_majority():
    from ferroscreen.tasks.tile_truth import cells_per_tile, majority_class

    boxes = tile_boxes((128, 128), TILE)
    cells = pd.DataFrame({"x": [10.0, 63.9, 64.0, 70.0, 5.0], "y": [10.0, 10.0, 10.0, 10.0, 100.0]})
    counts = cells_per_tile(boxes, cells, np.array([1, 0, 2, 2, 3]), 4)
    np.testing.assert_array_equal(counts, [[1, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    best, tied = majority_class(counts[:3])
    assert best.tolist() == [0, 2, 3] and tied.tolist() == [True, False, False]  # a tie: the first class

