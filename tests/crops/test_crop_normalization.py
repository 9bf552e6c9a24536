"""Background-relative crop normalisation: density invariance, metadata, auto levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.crops import (
    CropNormalization,
    background_level,
    contrast_levels,
    extract_crops,
    normalize_frame,
    normalize_to_background,
)
from ferroscreen.datamodules.crop_base import resolve_normalization
from ferroscreen.errors import FerroscreenError


def _frame(n_cells: int, level: float = 120.0, seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A flat background with ``n_cells`` dark discs (rim -40 %) with a bright halo (+25 %)."""
    rng = np.random.default_rng(seed)
    img = np.full((256, 256), level, np.float32)
    yy, xx = np.mgrid[:256, :256]
    centres = [(40, 40)] + [(int(x), int(y)) for x, y in rng.uniform(70, 230, (n_cells - 1, 2))]
    for x, y in centres:
        r = np.hypot(xx - x, yy - y)
        img[(r > 7) & (r <= 9)] = level * 1.25
        img[r <= 7] = level * 0.6
    return img, centres


def test_background_normalisation_maps_relative_contrast():
    img, _ = _frame(1)
    out = normalize_to_background(img.astype(np.uint8), dark=-0.4, bright=0.3)
    assert background_level(img) == pytest.approx(120.0)
    assert out[0, 0] == pytest.approx(0.4 / 0.7, abs=1e-6)  # background
    assert out[40, 40] == pytest.approx(0.0, abs=1e-6)  # -40 %
    assert out[40, 48] == pytest.approx(0.65 / 0.7, abs=1e-6)  # +25 %


def test_background_normalisation_ignores_lamp_and_bit_depth():
    img, _ = _frame(3)
    a = normalize_to_background(img.astype(np.uint8))
    b = normalize_to_background((img * 37).astype(np.uint16))
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_cell_looks_the_same_in_a_sparse_and_a_crowded_frame():
    sparse, _ = _frame(1)
    crowded, _ = _frame(60)
    det = pd.DataFrame({"x": [40.0], "y": [40.0]})
    bg = [extract_crops(normalize_to_background(f), det, 24)[0] for f in (sparse, crowded)]
    np.testing.assert_allclose(bg[0], bg[1], atol=1e-6)
    pc = [extract_crops(normalize_frame(f), det, 24)[0] for f in (sparse, crowded)]
    assert np.abs(pc[0] - pc[1]).max() > 0.05  # percentile scaling stretches the sparse frame


def test_background_normalisation_refuses_a_background_subtracted_frame():
    img = np.zeros((64, 64), np.float32)
    img[10:20, 10:20] = 1.0
    with pytest.raises(ValueError, match="background level 0 is not positive"):
        normalize_to_background(img)


def test_metadata_round_trip_and_old_bundles():
    for norm in (CropNormalization(), CropNormalization("background", -0.3, 0.5), CropNormalization.percentile(1, 99)):
        assert CropNormalization.from_meta(norm.to_meta()) == norm
    old = {"function": "ferroscreen.crops.normalize_frame", "low_percentile": 0.5, "high_percentile": 99.5}
    assert CropNormalization.from_meta(old) == CropNormalization.percentile()
    assert CropNormalization.from_meta(None) == CropNormalization.percentile()
    with pytest.raises(ValueError, match="unknown normalization method"):
        CropNormalization.from_meta({"method": "zscore"})
    with pytest.raises(ValueError, match="low < high"):
        CropNormalization("background", 0.3, -0.4)
    img, _ = _frame(2)
    pre = normalize_frame(img)
    assert CropNormalization.percentile().apply(img, pre) is pre


def test_auto_levels_are_the_median_frame_contrasts():
    frames = [_frame(n, seed=n)[0] for n in (5, 20, 40)]
    norm = resolve_normalization({"method": "background"}, lambda: iter(frames))
    levels = np.median([contrast_levels(f) for f in frames], axis=0)
    assert norm.method == "background"
    assert (norm.low, norm.high) == pytest.approx((levels[0], levels[1]), abs=1e-4)
    assert -0.41 < norm.low < 0 < norm.high < 0.26
    fixed = resolve_normalization({"method": "background", "low": -0.5, "high": 0.5}, lambda: iter(()))
    assert (fixed.low, fixed.high) == (-0.5, 0.5)
    assert resolve_normalization("percentile", lambda: iter(())) == CropNormalization.percentile()
    with pytest.raises(FerroscreenError, match="normalization 'zscore'"):
        resolve_normalization("zscore", lambda: iter(frames))
    with pytest.raises(FerroscreenError, match="no frame with a positive background"):
        resolve_normalization(None, lambda: iter([np.zeros((8, 8), np.float32)]))
