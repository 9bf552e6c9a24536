"""The radial-vote (suspension) and phase (adherent) detectors on synthetic frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.crops import DetectorConfig, detect_cells, match_detections
from ferroscreen.crops.radial_votes import radial_vote_map
from ferroscreen.crops.synthetic import draw_cells, random_cells


def test_radial_votes_peak_at_centre_with_the_right_radius():
    cells = pd.DataFrame({"x": [40.0], "y": [30.0], "radius": [8.0], "look": ["ghost"]})
    frame = draw_cells(cells, (64, 80), noise=0.0)
    votes, radius = radial_vote_map(frame, np.geomspace(4, 16, 7), 2.0, 0.3)
    row, col = np.unravel_index(np.argmax(votes), votes.shape)
    assert abs(row - 30) <= 1 and abs(col - 40) <= 1
    # The votes come from the rim's inner edge, so the radius reads a little small.
    assert 4.5 <= radius[row, col] <= 10
    flat, _ = radial_vote_map(np.zeros((32, 32), np.float32), np.array([4.0]), 2.0, 0.3)
    assert not flat.any()


def test_pale_ghosts_and_touching_cells_each_found_once():
    cells = random_cells((256, 256), 16, radius=(8, 11), touching_pairs=4, seed=7, margin=1.5, looks=("ghost", "alive"))
    det = detect_cells(draw_cells(cells, (256, 256), seed=7, dtype=np.uint8))
    m = match_detections(det, cells)
    assert m["recall"] >= 0.95 and m["precision"] >= 0.95, m
    assert det.score.between(0, 1).all() and det.radius.between(4, 16).all()


def test_phase_method_finds_dark_bodies_and_skips_blank_frames():
    cells = random_cells((768, 768), 14, radius=(28, 38), seed=8, margin=1.2, looks=("alive",))
    cfg = DetectorConfig.preset("adherent_10x")
    assert cfg.method == "phase"
    m = match_detections(detect_cells(draw_cells(cells, (768, 768), seed=8), cfg), cells)
    assert m["f1"] >= 0.95, m
    assert len(detect_cells(np.full((256, 256), 9, np.uint16), cfg)) == 0


def test_old_halo_configs_still_run():
    cells = random_cells((256, 256), 10, radius=(6, 9), seed=9, margin=1.5)
    det = detect_cells(draw_cells(cells, (256, 256), seed=9), DetectorConfig(method="halo"))
    assert match_detections(det, cells)["f1"] >= 0.9


def test_unseeded_component_rescue():
    from ferroscreen.crops.phase_bodies import _unseeded_components

    fg = np.zeros((60, 80), np.uint8)
    fg[10:14, 5:55] = 1  # a thin spindle cell, no seed
    fg[30:50, 30:50] = 1  # a seeded cell
    fg[55:57, 70:72] = 1  # debris below the area limit
    r, c = _unseeded_components(fg, np.array([40]), np.array([40]), min_area=50)
    assert len(r) == 1 and 10 <= r[0] < 14 and 5 <= c[0] < 55
    assert fg[r[0], c[0]] == 1
    r, c = _unseeded_components(fg, np.array([40, 12]), np.array([40, 20]), min_area=50)
    assert len(r) == 0


def test_radius_at_peaks_matches_the_full_radius_map():
    from ferroscreen.crops.radial_votes import best_votes, radial_vote_stack, radius_at

    cells = random_cells((96, 96), 12, radius=(4.0, 12.0), touching_pairs=1, seed=5)
    frame = draw_cells(cells, (96, 96))
    radii = np.geomspace(4, 16, 7)
    maps = radial_vote_stack(frame, radii, 2.0, 0.3)
    votes, radius = radial_vote_map(frame, radii, 2.0, 0.3)
    np.testing.assert_array_equal(best_votes(maps), votes)
    rows, cols = np.nonzero(votes > 0.5)
    assert len(rows) > 10
    np.testing.assert_allclose(radius_at(maps, radii, rows, cols), radius[rows, cols], rtol=1e-6)
    assert set(np.unique(radius[votes == 0])) <= {0.0}


def test_border_margin_drops_only_cells_centred_at_the_edge():
    cells = pd.DataFrame({"x": [1.0, 40.0, 78.0], "y": [30.0, 30.0, 30.0], "radius": [8.0, 8.0, 8.0],
                          "look": ["alive", "alive", "alive"]})
    frame = draw_cells(cells, (64, 80), noise=0.0)
    near = detect_cells(frame, DetectorConfig())
    kept = detect_cells(frame, DetectorConfig(border_margin=4.0))
    edge = lambda d: np.minimum.reduce([d.x, d.y, 79 - d.x, 63 - d.y])  # noqa: E731
    assert (edge(near) < 4).any() and (edge(kept) >= 4).all()
    assert len(kept) == (edge(near) >= 4).sum() >= 1
    with pytest.raises(ValueError, match="border_margin"):
        DetectorConfig(border_margin=-1)


def test_bright_barrier_keeps_two_seeds_that_the_neck_test_would_merge():
    from ferroscreen.crops.peaks import merge_without_neck

    values = np.zeros((20, 40), np.float32)
    values[8:12, 5:35] = 1.0  # one flat ridge: no neck between the two seeds
    values[10, 10] = values[10, 30] = 1.2
    rows, cols = np.array([10, 10]), np.array([10, 30])
    barrier = np.zeros_like(values)
    assert merge_without_neck(values, rows, cols, 30, 0.6).tolist() == [True, False]
    assert merge_without_neck(values, rows, cols, 30, 0.6, barrier=barrier, barrier_level=5).tolist() == [True, False]
    barrier[:, 20] = 9.0  # a bright line crosses the segment
    assert merge_without_neck(values, rows, cols, 30, 0.6, barrier=barrier, barrier_level=5).tolist() == [True, True]
    assert merge_without_neck(values, rows, cols, 30, 0.6, barrier=barrier, barrier_level=0).tolist() == [True, False]
    with pytest.raises(ValueError, match="neck_barrier"):
        DetectorConfig(neck_barrier=-1)


@pytest.mark.parametrize("shape", [(48, 64), (47, 63)])
def test_votes_landing_off_the_frame_count_for_nothing(shape):
    """Cells cut by the frame's edge: the stack equals direct in-frame accumulation (no bounds shortcut leaks).

    Wide radii are pooled at half resolution; an odd-sized frame's extra
    row and column (pooling covers an even extent) hold no votes either.
    """
    import cv2

    from ferroscreen.crops.radial_votes import HALF_RES_SIGMA, TRUNCATE, background_edge_stats, radial_vote_stack

    cells = pd.DataFrame({"x": [2.0, 60.0, 30.0], "y": [20.0, 47.0, 1.0], "radius": [9.0, 10.0, 7.0],
                          "look": ["alive", "ghost", "alive"]})
    frame = draw_cells(cells, (48, 64), noise=0.01, seed=1)[: shape[0], : shape[1]]
    h, w = shape
    radii = np.geomspace(4, 16, 5)
    maps = radial_vote_stack(frame, radii, 2.0, 0.3)
    # reference: the same votes, those off the frame dropped before pooling
    x = cv2.GaussianBlur(frame.astype(np.float32), (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
    gx, gy = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    med, noise = background_edge_stats(mag[::2, ::2])
    ys, xs = np.nonzero(mag > med + 2.0 * noise)
    m = mag[ys, xs]
    weight = np.minimum((m - med) / (6.0 * noise), 1.0)
    off = 0
    for r, got in zip(radii, maps, strict=True):
        cx = np.rint(xs - r * gx[ys, xs] / m).astype(int)
        cy = np.rint(ys - r * gy[ys, xs] / m).astype(int)
        ok = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
        off += int((~ok).sum())
        s = max(0.3 * r, 0.7)
        votes = np.zeros((h + h % 2, w + w % 2))  # even extent: the extra row/column holds no votes
        np.add.at(votes, (cy[ok], cx[ok]), weight[ok] * s * s / r)
        k = 2 * int(np.ceil(TRUNCATE * s)) + 1
        want = cv2.GaussianBlur(votes, (k, k), s, borderType=cv2.BORDER_CONSTANT)[:h, :w]
        if s >= HALF_RES_SIGMA:  # pooled on 2x2 block means, upsampled bicubically: near full resolution
            np.testing.assert_allclose(got, want, atol=0.15 * want.max())
            blocks = votes.reshape(votes.shape[0] // 2, 2, votes.shape[1] // 2, 2).mean(axis=(1, 3))
            s2 = np.sqrt(s * s - 0.25) / 2
            k2 = 2 * int(np.ceil(TRUNCATE * s2)) + 1
            pooled = cv2.GaussianBlur(blocks, (k2, k2), s2, borderType=cv2.BORDER_CONSTANT)
            want = cv2.resize(pooled, votes.shape[::-1], interpolation=cv2.INTER_CUBIC)[:h, :w]
        np.testing.assert_allclose(got, want, atol=1e-4)
    assert off > 50  # the case exercises votes off the frame
