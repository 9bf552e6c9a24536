"""detect_cells as a notebook drives it: float frames with missing (NaN) pixels, presets and dicts as config."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ferroscreen.crops import DetectorConfig, detect_cells, match_detections
from ferroscreen.crops.radial_votes import background_edge_stats
from ferroscreen.crops.synthetic import draw_cells, random_cells

SHAPE = (256, 256)
PAD = 24


def _cells_and_frame(seed: int = 11) -> tuple[pd.DataFrame, np.ndarray]:
    cells = random_cells(SHAPE, 18, radius=(6, 9), seed=seed, margin=1.5)
    return cells, draw_cells(cells, SHAPE, seed=seed)


def _far_from(det: pd.DataFrame, gap: float) -> tuple[int, int]:
    """A pixel farther than ``radius + gap`` from every detection."""
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    far = np.ones(SHAPE, bool)
    for x, y, r in det[["x", "y", "radius"]].itertuples(index=False):
        far &= (yy - y) ** 2 + (xx - x) ** 2 > (r + gap) ** 2
    far[:PAD, :] = far[-PAD:, :] = far[:, :PAD] = far[:, -PAD:] = False
    at = np.argwhere(far)
    assert len(at), "test frame too crowded"
    return tuple(at[len(at) // 2])


def _nearest_offsets(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Distance from each detection of ``a`` to the nearest of ``b``."""
    d = np.hypot(a.x.to_numpy()[:, None] - b.x.to_numpy()[None], a.y.to_numpy()[:, None] - b.y.to_numpy()[None])
    return d.min(axis=1)


@pytest.mark.parametrize("method", ["radial", "texture"])
def test_one_nan_pixel_away_from_cells_changes_no_detection(method):
    cells, frame = _cells_and_frame()
    cfg = DetectorConfig(method=method, threshold=2.5) if method == "texture" else DetectorConfig()
    clean = detect_cells(frame, cfg)
    assert match_detections(clean, cells)["f1"] >= 0.9
    holed = frame.copy()
    holed[_far_from(clean, 25)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero / invalid-value RuntimeWarning either
        det = detect_cells(holed, cfg)
    pd.testing.assert_frame_equal(det.drop(columns="score"), clean.drop(columns="score"))
    np.testing.assert_allclose(det.score, clean.score, atol=0.01)


@pytest.mark.parametrize("method", ["radial", "texture"])
def test_nan_padded_border_gives_no_detections_there_and_the_same_cells_inside(method):
    cells, frame = _cells_and_frame(seed=12)
    cfg = DetectorConfig(method=method, threshold=2.5) if method == "texture" else DetectorConfig()
    clean = detect_cells(frame, cfg)
    padded = np.pad(frame, PAD, constant_values=np.nan)  # a stitched / registered frame's no-data margin
    det = detect_cells(padded, cfg)
    inside = (det[["x", "y"]] >= PAD - 0.5).all(axis=1) & (det.x <= PAD + SHAPE[1] - 0.5) & (
        det.y <= PAD + SHAPE[0] - 0.5)
    assert inside.all(), det[~inside]
    det = det.assign(x=det.x - PAD, y=det.y - PAD)
    assert len(det) == len(clean)
    assert _nearest_offsets(clean, det).max() <= 1.5
    assert _nearest_offsets(det, clean).max() <= 1.5


def test_all_missing_frame_gives_no_detections():
    assert len(detect_cells(np.full(SHAPE, np.nan, np.float32))) == 0


def test_fill_missing_uses_the_finite_median_and_leaves_the_input_alone():
    from ferroscreen.crops.radial_votes import fill_missing

    frame = np.array([[1.0, 2.0, np.nan], [3.0, np.inf, 4.0]], np.float32)
    kept = frame.copy()
    out = fill_missing(frame)
    np.testing.assert_array_equal(out, [[1, 2, 2.5], [3, 2.5, 4]])
    np.testing.assert_array_equal(frame, kept)
    u8 = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert fill_missing(u8).dtype == np.float32


def test_background_edge_stats_leave_out_non_finite_magnitudes():
    rng = np.random.default_rng(0)
    mag = np.hypot(rng.normal(size=4000), rng.normal(size=4000))
    with_nan = np.concatenate([mag, [np.nan] * 40])
    assert background_edge_stats(with_nan) == pytest.approx(background_edge_stats(mag))
    assert background_edge_stats(np.full(5, np.nan)) == (0.0, 0.0)


@pytest.mark.parametrize(
    "config, expected",
    [
        ("adherent_10x", DetectorConfig.preset("adherent_10x")),
        ({"preset": "adherent_10x", "min_radius": 10}, DetectorConfig.preset("adherent_10x", min_radius=10)),
        ({"min_radius": 5}, DetectorConfig(min_radius=5)),
        ("suspension", DetectorConfig()),
    ],
)
def test_config_may_be_a_preset_name_or_a_dict_as_on_the_command_line(config, expected):
    _, frame = _cells_and_frame()
    pd.testing.assert_frame_equal(detect_cells(frame, config), detect_cells(frame, expected))


def test_bad_configs_are_refused_with_what_is_accepted():
    frame = np.zeros((32, 32), np.float32)
    with pytest.raises(ValueError, match="unknown detector preset 'nope'"):
        detect_cells(frame, "nope")
    with pytest.raises(TypeError, match="unknown setting"):
        detect_cells(frame, {"preset": "suspension", "min_radiu": 3})
    with pytest.raises(TypeError, match="DetectorConfig, a preset name .*suspension.* or a dict of settings"):
        detect_cells(frame, 5)
