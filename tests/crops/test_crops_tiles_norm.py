"""normalize_frame, extract_crops, tile_frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.crops import extract_crops, normalize_frame, tile_boxes, tile_frame


def test_normalize_uint16_and_uint8_percentiles():
    rng = np.random.default_rng(0)
    img16 = rng.integers(1000, 5000, (64, 64)).astype(np.uint16)
    out = normalize_frame(img16, sample_step=1)
    assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0
    lo, hi = np.percentile(img16, [0.5, 99.5])
    inside = (img16 > lo) & (img16 < hi)
    np.testing.assert_allclose(out[inside], (img16[inside] - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    # Same relative image as uint8 gives the same normalised frame (range-independent).
    img8 = (img16 // 20).astype(np.uint8)
    assert np.corrcoef(normalize_frame(img8).ravel(), out.ravel())[0, 1] > 0.99
    assert normalize_frame(np.full((8, 8), 500, np.uint16)).max() == 0.0
    unclipped = normalize_frame(img16, clip=False, sample_step=1)
    assert unclipped.min() < 0 and unclipped.max() > 1
    with pytest.raises(ValueError):
        normalize_frame(np.zeros((2, 2, 2)))


def test_extract_crops_centred_and_constant_padded():
    img = np.arange(100, dtype=np.float32).reshape(10, 10)
    det = pd.DataFrame({"x": [5.0, 0.0, 9.2], "y": [5.0, 0.0, 8.6]})
    crops = extract_crops(img, det, 3)
    assert crops.shape == (3, 3, 3) and crops.dtype == np.float32
    np.testing.assert_array_equal(crops[0], img[4:7, 4:7])
    np.testing.assert_array_equal(crops[1], [[0, 0, 0], [0, 0, 1], [0, 10, 11]])
    assert crops[2][1, 1] == img[9, 9] and crops[2][2, 2] == 0
    even = extract_crops(img, det.iloc[:1], 4)
    assert even[0][2, 2] == img[5, 5]
    assert extract_crops(img, det.iloc[:0], 8).shape == (0, 8, 8)
    far = extract_crops(img, pd.DataFrame({"x": [1000.0], "y": [-1000.0]}), 4)
    assert (far == 0).all()


def test_tiles_cover_frame():
    img = np.random.default_rng(1).random((500, 700)).astype(np.float32)
    tiles, boxes = tile_frame(img, 224)
    assert tiles.shape == (len(boxes), 224, 224)
    covered = np.zeros(img.shape, bool)
    for t, b in zip(tiles, boxes.itertuples(), strict=True):
        np.testing.assert_array_equal(t, img[b.y0 : b.y1, b.x0 : b.x1])
        covered[b.y0 : b.y1, b.x0 : b.x1] = True
    assert covered.all()
    assert set(boxes.columns) >= {"x", "y", "x0", "y0", "x1", "y1"}
    np.testing.assert_allclose(boxes.x, (boxes.x0 + boxes.x1 - 1) / 2)
    # Exact multiples: no overlap; stride gives overlapping tiles.
    assert len(tile_boxes((448, 672), 224)) == 6
    assert len(tile_boxes((448, 448), 224, 112)) == 9


def test_small_frame_is_padded_to_one_tile():
    tiles, boxes = tile_frame(np.ones((100, 50), np.float32), 224)
    assert tiles.shape == (1, 224, 224) and tiles[0, :100, :50].all() and not tiles[0, 100:].any()
    assert (boxes.x1.iloc[0], boxes.y1.iloc[0]) == (50, 100)


def test_crop_mask_keeps_the_cell_and_greys_out_neighbours():
    from ferroscreen.crops import DetectorConfig, crops_for_detections

    img = np.full((64, 64), 0.5, np.float32)
    img[28:37, 28:37] = 0.9  # the cell, around (32, 32)
    img[30:34, 44:48] = 0.1  # a neighbour 14 px to the right
    det = pd.DataFrame({"x": [32.0], "y": [32.0], "radius": [5.0]})
    plain = crops_for_detections(img, det, DetectorConfig(), 32)
    np.testing.assert_array_equal(plain, extract_crops(img, det, 32))  # no crop_mask: unchanged
    masked = crops_for_detections(img, det, DetectorConfig(crop_mask=1.5), 32)[0]
    c = 16
    np.testing.assert_allclose(masked[c - 4 : c + 5, c - 4 : c + 5], 0.9)  # within 1.5 radii: kept
    np.testing.assert_allclose(masked[c - 2 : c + 2, c + 12 : c + 16], 0.5)  # neighbour -> frame median
    assert np.isclose(plain[0, c, c + 13], 0.1)
    with pytest.raises(ValueError, match="crop_mask"):
        DetectorConfig(crop_mask=0)


@pytest.mark.parametrize("dtype, top", [(np.uint8, 256), (np.uint16, 4096), (np.uint16, 65536)])
def test_integer_frames_normalise_exactly_as_numpy_percentiles(dtype, top):
    """The histogram path for 8/16-bit frames gives np.percentile's linear-interpolation values."""
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (1, 3), (7, 9), (64, 80)]:
        img = rng.integers(0, top, shape).astype(dtype)
        for low, high, step in [(0.5, 99.5, 2), (0.0, 100.0, 1), (37.3, 62.1, 1)]:
            lo, hi = np.percentile(img[::step, ::step].astype(np.float64), [low, high])
            want = np.zeros(shape, np.float32) if not hi > lo else np.clip((img - lo) / (hi - lo), 0, 1)
            got = normalize_frame(img, low, high, sample_step=step)
            np.testing.assert_allclose(got, want, atol=1e-5)


def test_extract_crops_match_slices_of_the_padded_frame_anywhere():
    """Inside, across every edge and corner, in a frame smaller than the crop, and far outside."""
    rng = np.random.default_rng(3)
    for shape, size in (((37, 52), 9), ((37, 52), 10), ((6, 7), 9)):
        img = rng.random(shape, dtype=np.float32)
        x = np.concatenate([rng.uniform(-12, shape[1] + 12, 60), [0, shape[1] - 1, -500, 4000]])
        y = np.concatenate([rng.uniform(-12, shape[0] + 12, 60), [0, shape[0] - 1, 300, -4000]])
        crops = extract_crops(img, pd.DataFrame({"x": x, "y": y}), size, pad_value=-1.0)
        big = np.pad(img, 2 * size, constant_values=-1.0)
        for i, (cx, cy) in enumerate(zip(np.rint(x).astype(int), np.rint(y).astype(int), strict=True)):
            cx, cy = np.clip(cx, -size, shape[1] + size // 2), np.clip(cy, -size, shape[0] + size // 2)
            y0, x0 = cy - size // 2 + 2 * size, cx - size // 2 + 2 * size
            np.testing.assert_array_equal(crops[i], big[y0 : y0 + size, x0 : x0 + size])


def test_mask_weights_follow_the_radii_of_each_call():
    from ferroscreen.crops import mask_surroundings

    ones = np.ones((2, 15, 15), np.float32)
    small = mask_surroundings(ones.copy(), np.array([1.0, 2.0]), 1.0, 0.0)
    again = mask_surroundings(ones.copy(), np.array([1.0, 2.0]), 1.0, 0.0)  # the reused weights
    large = mask_surroundings(ones.copy(), np.array([4.0, 2.0]), 1.0, 0.0)
    np.testing.assert_array_equal(small, again)
    assert large[0].sum() > small[0].sum() and np.array_equal(large[1], small[1])
    assert small[0, 7, 7] == 1.0 and small[0, 0, 0] == 0.0
