"""Crop-folder training records the side its crop images had (bundle ``source_crop_px``) and says mixed sizes."""

from __future__ import annotations

import cv2
import numpy as np

from ferroscreen.datamodules.crop_folders import CropFolderDataModule


def _tree(root, sides: dict[str, list[int]]) -> None:
    rng = np.random.default_rng(0)
    for cls, ss in sides.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(ss):
            cv2.imwrite(str(root / cls / f"{i}.png"), (rng.random((s, s)) * 255).astype(np.uint8))


def test_the_median_side_of_the_crop_images_is_recorded(tmp_path):
    _tree(tmp_path, {"alive": [96, 96, 96, 90], "ferroptosis": [96, 100, 96]})
    dm = CropFolderDataModule(str(tmp_path), crop_size=48)
    summary = dm.summary()
    assert dm.source_crop_px == 96
    assert summary["crop_image_px"] == {"median": 96, "min": 90, "max": 100}
    assert not summary.get("notes")  # sizes this close need no word
    assert dm.sets.train_x.shape[1:] == (48, 48)


def test_crop_images_of_very_different_sizes_are_said(tmp_path):
    _tree(tmp_path, {"alive": [40, 40, 96], "ferroptosis": [40, 96, 96]})
    dm = CropFolderDataModule(str(tmp_path), crop_size=48)
    notes = dm.summary()["notes"]
    assert notes == [f"{tmp_path}: crop images from 40 to 96 px (median 68) are each resized to 48 px, so their "
                     "cells are shown at scales up to 2.4x apart; on a plate each cell is cut at 68 px, which "
                     "matches only the images of about that size (cut every crop at one size)"]
    assert dm.source_crop_px == 68


def test_a_side_is_the_mean_of_height_and_width():
    from ferroscreen.datamodules.crop_folders import crop_image_sides

    assert crop_image_sides([(40, 60), (50, 50), (48, 52)]) == {"median": 50, "min": 40, "max": 60}
