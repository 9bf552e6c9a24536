"""Fixtures for nuclei segmentation and knockdown tests: tiny generated data, no network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "nuclei"


def make_nuclei(shape=(96, 96), n=6, seed=0, radius=(6, 10), touching=False):
    """A blurred disk image (uint16) and its instance mask (uint16)."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    h, w = shape
    labels = np.zeros(shape, np.uint16)
    yy, xx = np.mgrid[:h, :w]
    k = 0
    for _ in range(200):
        if k == n:
            break
        r = rng.uniform(*radius)
        cy, cx = rng.uniform(r + 2, h - r - 2), rng.uniform(r + 2, w - r - 2)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
        if (labels[disk] > 0).any():
            continue
        grown = ndi.binary_dilation(disk, iterations=2)
        if not touching and (labels[grown] > 0).any():
            continue
        k += 1
        labels[disk] = k
    img = ndi.gaussian_filter((labels > 0).astype(float) * 3000, 1.0) + 200
    img = img + rng.normal(0, 20, shape)
    return np.clip(img, 0, 65535).astype(np.uint16), labels


@pytest.fixture
def nuclei_folder(tmp_path) -> Path:
    """images/ + masks/ + split.csv with 6 generated fields (4 train, 2 val)."""
    root = tmp_path / "nuclei"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = ["name,split"]
    for i in range(6):
        img, lab = make_nuclei(seed=i)
        name = f"field{i:02d}"
        tifffile.imwrite(root / "images" / f"{name}.tif", img)
        tifffile.imwrite(root / "masks" / f"{name}.tif", lab)
        rows.append(f"{name},{'val' if i >= 4 else 'train'}")
    (root / "split.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture
def tiny_model_file(tmp_path) -> Path:
    """A randomly initialised (seeded) tiny U-Net saved as a model file."""
    import torch

    from ferroscreen.models.unet import UNet
    from ferroscreen.segment.model_file import save_model_file

    torch.manual_seed(0)
    net = UNet(1, 3, (4, 8))
    return save_model_file(tmp_path / "tiny.pt", net, postprocess={"min_size": 4}, meta={"purpose": "test"})
