"""ImageFolder crop trees as users' machines leave them."""

import cv2
import numpy as np
import pytest

from ferroscreen.datamodules.crop_folders import CropFolderDataModule
from ferroscreen.errors import FerroscreenError


def _tree(root, counts):
    rng = np.random.default_rng(0)
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            cv2.imwrite(str(root / cls / f"{i}.png"), (rng.random((30, 34)) * 255).astype(np.uint8))


def test_hidden_folders_and_files_are_not_classes_or_crops(tmp_path):
    _tree(tmp_path, {"alive": 5, "ferroptosis": 5})
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / "alive" / "._0.png").write_bytes(b"\0\5\26\7 mac resource fork")
    (tmp_path / "alive" / ".DS_Store").write_bytes(b"\0")
    dm = CropFolderDataModule(str(tmp_path), crop_size=24)
    assert dm.classes == ["alive", "ferroptosis"]
    sets = dm.build_sets()
    assert len(sets.train_x) + len(sets.val_x) == 10 and sets.train_x.shape[1:] == (24, 24)


def test_a_class_without_training_images_is_one_line(tmp_path):
    _tree(tmp_path / "train", {"alive": 3, "necroptosis": 0})
    _tree(tmp_path / "val", {"alive": 1, "necroptosis": 1})
    dm = CropFolderDataModule(str(tmp_path), crop_size=24)
    with pytest.raises(FerroscreenError, match=r"train: no training images of class\(es\) necroptosis"):
        dm.build_sets()
