"""A bundle trained on crop images (an ImageFolder) sees each plate cell's crop scaled by its own levels.

Such a bundle learned from crop images each scaled by its own percentiles; ``score``, ``quantize`` and
``evaluate`` of a plate used to scale the whole frame before cutting (and only said so in a note).
"""

from __future__ import annotations

import json
import sys

import cv2
import h5py
import numpy as np
import pytest

from ferroscreen.crops import CropNormalization, detector_config, normalize_frame
from ferroscreen.crops.crop_extraction import raw_crops
from ferroscreen.crops.frames import frame_crops
from ferroscreen.datamodules.crop_folders import load_crop
from ferroscreen.io import load_image, open_acquisition

from ..cli_process import run_command
from .conftest import make_bundle

FOLDER_NORMALIZATION = {"method": "percentile", "low_percentile": 0.5, "high_percentile": 99.5, "clip": True,
                        "scope": "per crop image"}
CMD = [sys.executable, "-m", "ferroscreen.cli"]


def run(*args):
    return run_command([*CMD, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def folder_bundle(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("folder") / "folder.pt", normalization=FOLDER_NORMALIZATION)


def _frame(plate_dir) -> tuple[str, np.ndarray]:
    path = str(open_acquisition(plate_dir / "images").frames["path"].iloc[-1])
    return path, load_image(path)


def _as_folder_training_cuts(raw, det, size, tmp_path) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's raw box saved losslessly as a crop image and loaded as crop-folder training loads it.

    Returns the crops of the boxes inside the frame and a mask of which detections they are.
    """
    boxes = raw_crops(raw, det, size)
    inside = np.array([b.dtype == raw.dtype for b in boxes])
    out = []
    for i in np.flatnonzero(inside):
        p = tmp_path / f"crop{i}.png"
        assert cv2.imwrite(str(p), boxes[i])
        out.append(load_crop(p, size).astype(np.float32))
    return np.stack(out), inside


def test_bundle_normalisation_of_crop_images_is_per_crop(folder_bundle, bundle_path):
    from ferroscreen.models.bundle import load_bundle

    norm = load_bundle(folder_bundle).normalization
    assert norm.per_crop and norm.to_meta() == FOLDER_NORMALIZATION
    assert not load_bundle(bundle_path).normalization.per_crop
    assert CropNormalization.from_meta(norm.to_meta()) == norm
    with pytest.raises(ValueError, match="each crop by its own levels"):
        norm.apply(np.ones((8, 8)), np.ones((8, 8)))  # a whole frame's crop frame is refused


def test_scoring_crops_are_scaled_as_the_training_crop_images_were(plate_dir, folder_bundle, tmp_path):
    """process_frame (score's cut) with a crop-image bundle: each box scaled by itself (was: the whole frame)."""
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.score.dataset import process_frame

    bundle = load_bundle(folder_bundle)
    cfg = detector_config(bundle.meta["detector"])
    path, raw = _frame(plate_dir)
    res = process_frame(0, path, cfg, bundle.crop_size, None, bundle.normalization)
    per_frame = process_frame(0, path, cfg, bundle.crop_size, None, CropNormalization.percentile())
    np.testing.assert_array_equal(res.xyrs, per_frame.xyrs)  # the same cells
    det, _, _ = frame_crops(raw, normalize_frame(raw), cfg, bundle.crop_size)
    want, inside = _as_folder_training_cuts(raw, det, bundle.crop_size, tmp_path)
    assert inside.sum() >= 3
    np.testing.assert_allclose(res.crops[inside], want, atol=1e-3)  # float16 of the training crops
    assert np.abs(per_frame.crops[inside] - want).mean() > 0.02  # what score cut before
    assert res.crops.min() >= 0 and res.crops.max() <= 1
    boxes = raw_crops(raw, det, bundle.crop_size)
    for i in np.flatnonzero(~inside):
        assert (res.crops[i][np.isnan(boxes[i])] == 0).all()  # outside the frame is 0, as extract_crops pads


def test_crop_mask_blends_each_crop_to_its_own_median(plate_dir, folder_bundle):
    from ferroscreen.crops.crop_extraction import crops_scaled_each
    from ferroscreen.models.bundle import load_bundle

    bundle = load_bundle(folder_bundle)
    cfg = detector_config({"preset": "suspension", "crop_mask": 1.0})
    _, raw = _frame(plate_dir)
    det, _, _ = frame_crops(raw, normalize_frame(raw), cfg, 24)
    masked = crops_scaled_each(raw, det, cfg, 24, bundle.normalization)
    plain = crops_scaled_each(raw, det, detector_config({"preset": "suspension"}), 24, bundle.normalization)
    medians = np.median(plain.reshape(len(plain), -1), axis=1)
    np.testing.assert_allclose(masked[:, 0, 0], medians, atol=1e-6)  # a corner lies beyond every cell
    np.testing.assert_allclose(masked[:, 12, 12], plain[:, 12, 12], atol=1e-6)  # the centre is kept


def test_score_of_a_plate_scales_each_crop_and_records_it(plate_dir, folder_bundle, tmp_path):
    out = tmp_path / "p.h5"
    proc = run("score", plate_dir, "--model", folder_bundle, "--out", out, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert (f"note: {folder_bundle}: trained on crop images: each cell's crop is scaled by its own percentiles, "
            "as its training crops were") in proc.stderr
    assert "can differ from its validation figures" not in proc.stderr
    with h5py.File(out, "r") as f:
        assert json.loads(f.attrs["normalization"])["scope"] == "per crop image"


def test_evaluate_on_a_simulated_plate_scales_each_crop(plate_dir, folder_bundle, monkeypatch):
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.tasks import evaluation

    seen = []
    real = evaluation.predict_crops
    monkeypatch.setattr(evaluation, "predict_crops", lambda b, crops, **kw: seen.append(crops) or real(b, crops, **kw))
    bundle = load_bundle(folder_bundle)
    result = evaluation.evaluate_simulated_plate(plate_dir, bundle, max_frames=2)
    assert any("each cell's crop is scaled by its own percentiles" in n for n in result["notes"])
    assert seen and all(len(c) for c in seen)
    cut = seen[0]
    assert cut.min() >= 0 and cut.max() <= 1
    # every crop reaches both 0 and 1 (its own 0.5th and 99.5th percentiles), unless it crosses the edge
    own_range = (cut.reshape(len(cut), -1).max(1) == 1) & (cut.reshape(len(cut), -1).min(1) == 0)
    assert own_range.mean() > 0.9


def test_quantize_calibrates_a_crop_image_bundle_on_per_crop_scaled_crops(plate_dir, folder_bundle):
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.score.quantize import calibration_crops

    bundle = load_bundle(folder_bundle)
    got = calibration_crops(plate_dir, bundle, n_frames=1, seed=0)
    cfg = detector_config(bundle.meta["detector"])
    frames = open_acquisition(plate_dir).frames
    pick = np.random.default_rng(0).choice(len(frames), size=1, replace=False)[0]
    raw = load_image(frames["path"].iloc[pick])
    det, _, _ = frame_crops(raw, normalize_frame(raw), cfg, bundle.crop_size)
    want = np.stack([normalize_frame(box) for box in raw_crops(raw, det, bundle.crop_size)])  # each by itself
    key = np.sort(want.reshape(len(want), -1).sum(1))
    np.testing.assert_allclose(np.sort(got.reshape(len(got), -1).sum(1)), key, rtol=1e-6)


def _crop_folder(root, n=6, size=24):
    rng = np.random.default_rng(0)
    for cls in ("alive", "ferroptosis"):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            cv2.imwrite(str(root / cls / f"{i}.png"), (rng.random((size, size)) * 4000).astype(np.uint16))
    return root


def test_quantize_takes_a_crop_folder_for_a_crop_image_bundle(folder_bundle, bundle_path, tmp_path, user_error):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    folder = _crop_folder(tmp_path / "crops")
    out = tmp_path / "q.pt"
    proc = run("quantize", folder_bundle, "--data", folder, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "int8 graph calibrated on 6 crops" in proc.stdout and "more crop images give more" in proc.stdout
    from ferroscreen.models.bundle import load_bundle

    assert load_bundle(out).meta["int8"]["calibration_images"] == 12
    user_error(run("quantize", bundle_path, "--data", folder, "--out", tmp_path / "p.pt"), str(folder),
               "crop folder", "trained on crops cut from plate frames", "plate acquisition")
    assert not (tmp_path / "p.pt").exists()


def test_quantize_data_that_is_neither_a_plate_nor_a_crop_folder_is_one_line(folder_bundle, tmp_path, user_error):
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "notes.txt").write_text("x")
    user_error(run("quantize", folder_bundle, "--data", tmp_path / "odd", "--out", tmp_path / "q.pt"),
               "--data takes a plate acquisition or a crop folder", "this folder is neither",
               "no known acquisition layout")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    big = _crop_folder(tmp_path / "frames", n=1, size=512)  # frames in sub-folders are no crops
    user_error(run("quantize", folder_bundle, "--data", big, "--out", tmp_path / "q.pt"),
               "512x512 image is no crop for a 24 px model")
