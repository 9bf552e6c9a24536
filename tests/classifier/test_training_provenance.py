"""The bundle's training-data record names the exact images and layout a model learned from."""

import shutil

import numpy as np
import tifffile

from ferroscreen.hashing import file_sha256


def summary(root, **kw):
    from ferroscreen.datamodules import ReferencePlateDataModule

    dm = ReferencePlateDataModule(str(root), onset_h=12, val_fraction=0.25, seed=0, max_crops_per_frame=4,
                                  crop_size=32, **kw)
    dm.setup()
    return dm.summary()


def test_reference_plate_images_and_layout_digests_follow_content_not_place(tiny_plate, tmp_path):
    first = summary(tiny_plate)
    assert first["layout_sha256"] == file_sha256(tiny_plate / "layout.csv")
    assert first["image_files"] == first["n_frames"]  # one file per frame, no next scan
    copy = tmp_path / "copied"
    shutil.copytree(tiny_plate, copy)
    moved = summary(copy)
    assert moved["images_sha256"] == first["images_sha256"]
    assert moved["layout_sha256"] == first["layout_sha256"]
    used = sorted(p for p in copy.rglob("*.tif") if "_A2_" in p.name or "_A02_" in p.name)
    assert used, "the tiny plate's reference well A02 has image files"
    img = tifffile.imread(used[-1])
    img.flat[0] = np.asarray(img.flat[0] ^ 1, img.dtype)  # one pixel, one bit
    tifffile.imwrite(used[-1], img)
    assert summary(copy)["images_sha256"] != first["images_sha256"]


def test_next_scan_files_are_counted_once(tiny_plate):
    s = summary(tiny_plate, next_scan=1)
    assert s["image_files"] >= s["n_frames"]  # the frames and the later scans they read, each file once


def test_crop_folder_digest(crop_folder, tmp_path):
    from ferroscreen.datamodules import CropFolderDataModule

    def digest(root):
        dm = CropFolderDataModule(str(root), crop_size=32, val_fraction=0.25, seed=0)
        dm.setup()
        return dm.summary()

    first = digest(crop_folder)
    assert first["image_files"] == first["n_train"] + first["n_val"]
    copy = tmp_path / "crops"
    shutil.copytree(crop_folder, copy)
    assert digest(copy)["images_sha256"] == first["images_sha256"]
    victim = sorted((copy / "alive").glob("*.png"))[0]
    victim.rename(victim.with_name("renamed.png"))
    assert digest(copy)["images_sha256"] != first["images_sha256"]
