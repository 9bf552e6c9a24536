"""The bundle a crop-folder run writes: epochs trained as run, and the crop images' side."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "train" / "folder.yaml"


@pytest.fixture(scope="module")
def crops_64(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crops64")
    rng = np.random.default_rng(0)
    for cls in ("alive", "apoptosis", "ferroptosis", "necroptosis"):
        (root / cls).mkdir()
        for i in range(4):
            cv2.imwrite(str(root / cls / f"{i}.png"), (rng.random((64, 64)) * 255).astype(np.uint8))
    return root


@pytest.mark.parametrize("epochs", [1, 2])
def test_epochs_trained_is_the_epochs_run_and_source_crop_px_is_recorded(crops_64, tmp_path, monkeypatch, epochs):
    """max_epochs 1 used to store epochs_trained 2 (current_epoch + 1 after fit, which already counts the epoch)."""
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.tasks.training_run import run_training

    monkeypatch.chdir(tmp_path)
    meta = run_training(CONFIG, tmp_path / "model.pt", [
        "--data.init_args.root", str(crops_64), "--data.init_args.crop_size", "32", "--trainer.max_epochs", str(epochs),
        "--trainer.limit_train_batches", "1", "--trainer.limit_val_batches", "1", "--trainer.accelerator", "cpu",
        "--model.weights", "none", "--model.input_size", "32", "--data.init_args.batch_size", "8"])
    assert meta["epochs_trained"] == epochs
    stored = torch.load(tmp_path / "model.pt", weights_only=True)["meta"]
    assert stored["epochs_trained"] == epochs
    assert stored["crop_size"] == 32 and stored["source_crop_px"] == 64
    assert stored["training_data"]["crop_image_px"] == {"median": 64, "min": 64, "max": 64}
    bundle = load_bundle(tmp_path / "model.pt")
    assert bundle.normalization.source_px == 64 and bundle.normalization.per_crop
