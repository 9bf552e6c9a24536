"""The radial detector keeps its recall as wells get crowded (the vote threshold follows the background)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.crops import detect_cells, match_detections
from ferroscreen.crops.normalization import normalize_frame
from ferroscreen.crops.radial_votes import background_edge_stats
from ferroscreen.io.frames import load_image
from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate


def _recall_precision(tmp_path, density: float) -> tuple[float, float, int]:
    """Pooled recall and precision of the default detector on two simulated 256 x 256 fields at 0 h."""
    out = tmp_path / f"d{density:g}"
    config = SimulationConfig(fields=2, hours=0.0, image_size=(256, 256), seed=5, wells=("B01",),
                              density_per_mm2=density, defocus_rate=0.0, empty_rate=0.0, workers=1)
    simulate_plate(out, load_library("demo"), config)
    cells = pd.read_csv(out / "truth_cells.csv")
    tp = fp = fn = 0
    for field, truth in cells.groupby("field"):
        (image,) = sorted((out / "images").rglob(f"*_B1_{field}_*.tif"))
        m = match_detections(detect_cells(normalize_frame(load_image(image))), truth)
        tp, fp, fn = tp + m["tp"], fp + m["fp"], fn + m["fn"]
    return tp / (tp + fn), tp / max(tp + fp, 1), tp + fn


def test_recall_holds_up_in_crowded_wells(tmp_path):
    # Before the fix the threshold was the whole frame's median + 2 MAD of the edge strength, i.e. the
    # cells' own rims once they cover the frame: recall 0.94 / 0.54 / 0.06 at 750 / 2500 / 4000 cells/mm²
    # (precision ~1: crowded wells lost cells silently). Now 0.94 / 0.90 / 0.85, precision >= 0.93.
    rows = {d: _recall_precision(tmp_path, d) for d in (750.0, 2500.0, 4000.0)}
    assert rows[4000.0][2] > 3 * rows[750.0][2]  # the sweep really is crowded
    for density, (_, precision, _) in rows.items():
        assert precision >= 0.85, (density, rows)
    assert rows[750.0][0] >= 0.85, rows
    assert rows[2500.0][0] >= 0.8, rows
    assert rows[4000.0][0] >= 0.7, rows


def test_background_edge_stats_ignore_edges_covering_half_the_frame():
    rng = np.random.default_rng(0)
    noise = np.hypot(*rng.normal(0.0, 2.0, (2, 20_000)))  # Rayleigh, scale 2: median 2.35, robust SD 1.33
    med, sd = background_edge_stats(noise)
    assert med == pytest.approx(2.0 * np.sqrt(2 * np.log(2)), rel=0.05)
    assert sd == pytest.approx(2.0 * 0.6649, rel=0.05)
    crowded = np.concatenate([noise, rng.uniform(8.0, 30.0, 20_000)])  # rims on half the frame
    med_c, sd_c = background_edge_stats(crowded)
    assert np.median(crowded) > 3 * med  # what the whole-frame median did
    assert med_c < 1.5 * med and sd_c < 1.5 * sd
    assert background_edge_stats(np.zeros(100)) == (0.0, 0.0)


@pytest.mark.parametrize("pad", [64, 256])
def test_a_flat_padded_border_does_not_lower_the_bar(tmp_path, pad):
    """A stitched frame's zero padding (flat: no gradient) is no background noise.

    With it in the 10th percentile the noise read 0 and the padded frame got 43 false cells
    (14 true, all found); the old whole-frame MAD held to ~40 % padding, then 22 false cells.
    """
    out = tmp_path / "p"
    config = SimulationConfig(fields=1, hours=0.0, image_size=(256, 256), seed=5, wells=("B01",),
                              density_per_mm2=750, defocus_rate=0.0, empty_rate=0.0, workers=1)
    simulate_plate(out, load_library("demo"), config)
    cells = pd.read_csv(out / "truth_cells.csv")
    (image,) = sorted((out / "images").rglob("*_B1_1_*.tif"))
    img = load_image(image)
    plain = match_detections(detect_cells(normalize_frame(img)), cells)
    padded = np.zeros((img.shape[0], img.shape[1] + pad), img.dtype)
    padded[:, pad:] = img
    m = match_detections(detect_cells(normalize_frame(padded)), cells.assign(x=cells["x"] + pad))
    assert plain["tp"] >= 10
    assert m["tp"] >= plain["tp"] - 1 and m["fp"] <= plain["fp"] + 2, (plain, m)
