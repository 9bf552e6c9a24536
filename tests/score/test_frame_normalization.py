"""Scoring cuts crops with the bundle's normalisation; detection is unchanged by it."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd

from ferroscreen.crops import CropNormalization, crops_for_detections, detector_config, normalize_to_background
from ferroscreen.io import load_image, open_acquisition
from ferroscreen.score.dataset import process_frame

from .conftest import make_bundle
from .test_bad_input import score


def test_process_frame_cuts_crops_from_the_background_normalised_frame(plate_dir):
    path = str(open_acquisition(plate_dir / "images").frames["path"].iloc[-1])
    cfg = detector_config({"preset": "suspension", "crop_mask": 1.5})
    pct = process_frame(0, path, cfg, 24, None)
    bg = process_frame(0, path, cfg, 24, None, CropNormalization("background", -0.35, 0.25))
    assert len(pct.crops) > 3
    np.testing.assert_array_equal(pct.xyrs, bg.xyrs)  # same cells
    det = pd.DataFrame(bg.xyrs[:, :3], columns=["x", "y", "radius"])
    want = crops_for_detections(normalize_to_background(load_image(path), -0.35, 0.25), det, cfg, 24)
    np.testing.assert_allclose(bg.crops, want, atol=1e-6)
    assert np.abs(bg.crops - pct.crops).max() > 0.05


def test_store_records_the_bundle_normalisation(plate_dir, tmp_path):
    norm = CropNormalization("background", -0.35, 0.25).to_meta()
    bundle = make_bundle(tmp_path / "bg.pt", normalization=norm)
    out = tmp_path / "p.h5"
    proc = score(plate_dir, bundle, out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert '"background"' in str(f.attrs["normalization"])
