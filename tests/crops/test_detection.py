"""detect_cells on synthetic frames with known cells."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from ferroscreen.crops import DETECTION_COLUMNS, DetectorConfig, detect_cells, match_detections
from ferroscreen.crops.synthetic import draw_cells, random_cells

SHAPE = (256, 256)


def _frame(cells: pd.DataFrame, seed: int = 0, **kw) -> np.ndarray:
    return draw_cells(cells, SHAPE, seed=seed, **kw)


def test_config_roundtrip_json_and_presets():
    for name in ("suspension", "adherent_10x", "tiles"):
        cfg = DetectorConfig.preset(name)
        d = json.loads(json.dumps(asdict(cfg)))
        assert DetectorConfig(**d) == cfg
        assert DetectorConfig.from_dict(d) == cfg
    assert DetectorConfig.preset("adherent_10x", min_radius=20).min_radius == 20
    with pytest.raises(ValueError, match="unknown detector preset"):
        DetectorConfig.preset("nope")
    with pytest.raises(ValueError, match="unknown detector setting"):
        DetectorConfig.from_dict({"min_radius": 3, "bogus": 1})
    with pytest.raises(ValueError, match="min_radius"):
        DetectorConfig(min_radius=10, max_radius=5)
    with pytest.raises(ValueError, match="mode"):
        DetectorConfig(mode="grid")


def test_isolated_cells_of_every_look_are_found():
    cells = random_cells(SHAPE, 25, radius=(6, 9), seed=1, margin=1.5)
    det = detect_cells(_frame(cells, seed=1))
    assert list(det.columns) == list(DETECTION_COLUMNS)
    m = match_detections(det, cells)
    assert m["recall"] >= 0.95 and m["precision"] >= 0.95, m


def test_touching_pairs_are_split():
    r = 8.0
    cells = pd.DataFrame(
        {
            "x": [60, 60 + 2 * r, 160, 160 + 2 * r * np.cos(1.0), 60, 60 + 2 * r],
            "y": [60, 60, 70, 70 + 2 * r * np.sin(1.0), 180, 180],
            "radius": [r] * 6,
            "look": ["alive", "alive", "alive", "granular", "alive", "ghost"],
        }
    )
    det = detect_cells(_frame(cells))
    m = match_detections(det, cells)
    assert m["tp"] == 6 and m["fp"] == 0, (m, det)


def test_border_cells_and_clipped_boxes():
    cells = pd.DataFrame(
        {"x": [3.0, 250.0, 128.0], "y": [128.0, 5.0, 128.0], "radius": [8.0] * 3, "look": ["alive"] * 3}
    )
    det = detect_cells(_frame(cells))
    assert match_detections(det, cells)["recall"] >= 2 / 3
    h, w = SHAPE
    assert (det.x0 >= 0).all() and (det.y0 >= 0).all() and (det.x1 <= w).all() and (det.y1 <= h).all()
    assert (det.x0 < det.x1).all() and (det.y0 < det.y1).all()
    assert det[["x0", "y0", "x1", "y1"]].dtypes.map(lambda t: t.kind == "i").all()


def test_uint8_uint16_float_agree_and_gradient_is_flattened():
    cells = random_cells(SHAPE, 20, radius=(6, 9), touching_pairs=3, seed=2, margin=1.5)
    outs = [detect_cells(_frame(cells, seed=2, dtype=t, gradient=0.3)) for t in (np.float32, np.uint16, np.uint8)]
    for det in outs:
        assert match_detections(det, cells)["f1"] >= 0.9
    # uint16 and float frames hold the same information: identical detections.
    pd.testing.assert_frame_equal(outs[0][["x", "y"]], outs[1][["x", "y"]])


def test_empty_and_noise_frames_give_no_detections():
    for image in (np.zeros(SHAPE, np.uint16), np.full(SHAPE, 7, np.uint8)):
        det = detect_cells(image)
        assert len(det) == 0 and list(det.columns) == list(DETECTION_COLUMNS)
    noise = np.random.default_rng(0).normal(0.5, 0.02, SHAPE).astype(np.float32)
    assert len(detect_cells(noise)) <= 2


def test_deterministic_and_radius_within_range():
    cells = random_cells(SHAPE, 20, radius=(6, 9), touching_pairs=2, seed=3)
    img = _frame(cells, seed=3, dtype=np.uint16)
    cfg = DetectorConfig(min_radius=4, max_radius=12)
    a, b = detect_cells(img, cfg), detect_cells(img, cfg)
    pd.testing.assert_frame_equal(a, b)
    assert a.radius.between(4, 12).all() and a.score.between(0, 1).all()


def test_texture_method_finds_cells():
    cells = random_cells(SHAPE, 15, radius=(7, 9), seed=4, margin=1.5)
    cfg = DetectorConfig(method="texture", threshold=2.5, peak_distance=0.8, neck_ratio=0.9, contrast_sigma=0.25)
    m = match_detections(detect_cells(_frame(cells, seed=4), cfg), cells)
    assert m["f1"] >= 0.85, m


def test_large_cells_use_downsampling():
    cells = random_cells((512, 512), 12, radius=(20, 28), seed=5, margin=1.5, looks=("alive",))
    img = draw_cells(cells, (512, 512), seed=5)
    cfg = DetectorConfig(min_radius=16, max_radius=40)
    assert cfg.factor == 4
    m = match_detections(detect_cells(img, cfg), cells)
    assert m["f1"] >= 0.9, m


def test_tiles_mode_returns_grid():
    det = detect_cells(np.zeros((500, 300), np.uint8), DetectorConfig.preset("tiles"))
    assert len(det) == 3 * 2
    assert (det.radius == 112).all()


def test_rejects_non_2d():
    with pytest.raises(ValueError, match="2-D"):
        detect_cells(np.zeros((4, 4, 3)))
