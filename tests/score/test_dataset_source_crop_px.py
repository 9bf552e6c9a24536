"""A bundle trained on crop images larger than its crop size scores plate cells at the training scale.

Crop-folder training resizes each crop image to ``crop_size``; the bundle used to record only
``crop_size``, and ``score``/``evaluate``/``quantize`` cut ``crop_size`` frame pixels around each
cell, so cells of 96 px training crops looked twice as large on plates (plate1 macro-F1 0.15).
The bundle's ``source_crop_px`` now says the side the crop images had; cells are cut at that side
and resized as training resized them.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from ferroscreen.crops import detector_config, normalize_frame
from ferroscreen.crops.crop_extraction import crops_scaled_each, raw_crops
from ferroscreen.datamodules.crop_folders import load_crop
from ferroscreen.errors import ModelBundleError
from ferroscreen.models.bundle import load_bundle
from ferroscreen.score.dataset import cut_crops

from .conftest import make_bundle

FOLDER_NORMALIZATION = {"method": "percentile", "low_percentile": 0.5, "high_percentile": 99.5, "clip": True,
                        "scope": "per crop image"}
CROP = 24  # make_bundle's crop size
SOURCE = 2 * CROP


def _frame() -> tuple[np.ndarray, pd.DataFrame]:
    """A 160 px uint16 frame of dark-ringed discs of different radii, and their detections."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:160, :160]
    img = 3000 + rng.normal(0, 40, (160, 160))
    cells = [(40.0, 40.0, 6.0), (110.0, 45.0, 9.0), (60.0, 115.0, 5.0), (118.0, 118.0, 7.0)]
    for x, y, r in cells:
        d = np.hypot(xx - x, yy - y)
        img += 1500 * (d < r) - 900 * ((d >= r) & (d < r + 2))
    det = pd.DataFrame(cells, columns=["x", "y", "radius"])
    return np.clip(img, 0, 65535).astype(np.uint16), det


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("source")

    def bundle(name, source=None, normalization=FOLDER_NORMALIZATION):
        path = make_bundle(root / f"{name}.pt", normalization=normalization)
        if source is not None:  # as finalize_and_export records it beside crop_size
            import torch

            payload = torch.load(path, weights_only=True)
            payload["meta"]["source_crop_px"] = source
            torch.save(payload, path)
        return path

    return {"2x": bundle("2x", SOURCE), "old": bundle("old"), "bad": bundle("bad", 0),
            "plate": bundle("plate", SOURCE, normalization=None)}


def test_cells_are_cut_at_the_training_images_side_and_resized_as_training_did(bundles, tmp_path):
    """Scoring's crop of each cell = crop-folder training's load_crop of that cell's 2x crop image saved losslessly."""
    bundle = load_bundle(bundles["2x"])
    raw, det = _frame()
    cfg = detector_config(bundle.meta["detector"])
    _, crops, used = cut_crops(raw, normalize_frame(raw), cfg, bundle.crop_size, bundle.normalization,
                               detections=det)
    assert crops.shape == (len(det), CROP, CROP) and used == -1
    training = []
    for i, box in enumerate(raw_crops(raw, det, SOURCE)):
        assert box.shape == (SOURCE, SOURCE) and box.dtype == raw.dtype  # every box inside the frame
        p = tmp_path / f"{i}.png"
        assert cv2.imwrite(str(p), box)
        training.append(load_crop(p, CROP).astype(np.float32))
    np.testing.assert_allclose(crops, np.stack(training), atol=1e-3)  # float16 of the training crops
    at_crop_size = crops_scaled_each(raw, det, cfg, CROP, load_bundle(bundles["old"]).normalization)
    assert np.abs(at_crop_size - crops).mean() > 0.05  # what was cut before: cells twice as large
    assert bundle.crop_size == CROP and bundle.source_crop_px == SOURCE
    assert bundle.normalization.source_px == SOURCE


def test_a_bundle_without_source_crop_px_cuts_at_its_crop_size(bundles):
    """Older crop-image bundles (and plate-trained ones) keep working unchanged."""
    bundle = load_bundle(bundles["old"])
    raw, det = _frame()
    cfg = detector_config(bundle.meta["detector"])
    _, crops, _ = cut_crops(raw, normalize_frame(raw), cfg, CROP, bundle.normalization, detections=det)
    want = np.stack([normalize_frame(b) for b in raw_crops(raw, det, CROP)])
    np.testing.assert_allclose(crops, want, atol=1e-6)
    assert bundle.frame_note == "trained on crop images: each cell's crop is scaled by its own percentiles, " \
                                "as its training crops were"
    assert "source_crop_px" not in bundle.normalization.to_meta()
    assert bundle.source_crop_px is None and bundle.normalization.source_px is None


def test_the_note_and_the_store_say_the_cut(bundles):
    bundle = load_bundle(bundles["2x"])
    assert bundle.frame_note == (f"trained on crop images: each cell's crop is cut at {SOURCE} px, scaled by its "
                                 f"own percentiles and resized to {CROP} px, as its training crops were")
    meta = bundle.normalization.to_meta()  # what a score store records as its normalization
    assert meta["source_crop_px"] == SOURCE and meta["scope"] == "per crop image"
    assert type(bundle.normalization).from_meta(meta) == bundle.normalization


def test_crop_mask_radii_are_scaled_with_the_cells():
    """crop_mask greys beyond crop_mask x radius: the radius (frame px) shrinks by crop_size / source_px too."""
    from ferroscreen.crops import CropNormalization

    raw, det = _frame()
    norm = CropNormalization.percentile(scope="crop", source_px=SOURCE)
    plain = crops_scaled_each(raw, det, detector_config({"preset": "suspension"}), CROP, norm)
    masked = crops_scaled_each(raw, det, detector_config({"preset": "suspension", "crop_mask": 1.0}), CROP, norm)
    c = CROP // 2
    medians = np.median(plain.reshape(len(plain), -1), axis=1)
    for i, r in enumerate(det["radius"]):
        inner = r * CROP / SOURCE  # the cell's radius in the resized crop
        keep, grey = int(np.floor(inner)), int(np.ceil(inner + 3))  # 3 px cosine edge
        np.testing.assert_allclose(masked[i, c, c + keep], plain[i, c, c + keep], atol=1e-6)
        if grey < c:
            np.testing.assert_allclose(masked[i, c, c + grey], medians[i], atol=1e-6)  # unscaled: r + 3 px kept more


def test_a_bad_source_crop_px_is_one_line(bundles):
    with pytest.raises(ModelBundleError, match=r"bad\.pt: bad source_crop_px 0 in the bundle \(source_crop_px "
                                               r"must be a whole number of pixels of 1 or more, not 0\)"):
        load_bundle(bundles["bad"])
    with pytest.raises(ModelBundleError, match=r"plate\.pt: bad source_crop_px 48 in the bundle \(source_crop_px "
                                               r"belongs to crops scaled each by its own levels"):
        load_bundle(bundles["plate"])
