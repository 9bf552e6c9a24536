"""Checks against the real Aits-lab images (skipped when ../shared/data is absent)."""

import numpy as np
import pytest

from .conftest import SHARED

AITS = SHARED / "aits_trainval"
pytestmark = pytest.mark.skipif(not (AITS / "split.csv").is_file(), reason="no shared Aits data")


def test_aits_split_and_mask_reading():
    from ferroscreen.datamodules.nuclei import find_pairs
    from ferroscreen.segment.images import read_image

    train, val = find_pairs(AITS, "train"), find_pairs(AITS, "val")
    assert len(train) == 30 and len(val) == 10
    mask = read_image(val[0][1])
    assert mask.dtype == np.uint16 and mask.shape == (1104, 1104) and mask.max() > 0


@pytest.mark.slow
def test_shipped_model_on_aits_val():
    """Regression floor of the shipped weights on the Aits val split.

    Measured at release (2026-12-05 weight soup): standard F1@0.5 = 0.889, F1@0.9 = 0.665;
    Aits-compatible (objects < 100 px dropped) 0.955 / 0.740. The issue's targets (0.92 / 0.75
    standard) are NOT yet met by this CPU-trained compact model.
    """
    from ferroscreen.analysis.matching import AITS_MIN_SIZE, evaluate_instances
    from ferroscreen.datamodules.nuclei import find_pairs
    from ferroscreen.segment.images import read_image
    from ferroscreen.segment.predict import NucleiModel

    nm = NucleiModel.from_name("nuclei-aits")
    truths, preds = [], []
    for img_path, mask_path in find_pairs(AITS, "val"):
        preds.append(nm.segment(read_image(img_path)))
        truths.append(read_image(mask_path))
    std, _ = evaluate_instances(truths, preds)
    aits, _ = evaluate_instances(truths, preds, min_size=AITS_MIN_SIZE)
    std, aits = std.set_index("thresh"), aits.set_index("thresh")
    assert std.loc[0.5, "f1"] >= 0.88
    assert std.loc[0.9, "f1"] >= 0.64
    assert aits.loc[0.5, "f1"] >= 0.92
    assert aits.loc[0.9, "f1"] >= 0.71


def test_min_size_keeps_micronuclei(tmp_path):
    """``segment --min-size 15`` on the val image richest in small objects (fragments, micronuclei): more of the
    true objects under 100 px are found at IoU 0.5 than with the model's 40 px, the large ones as before."""
    import shutil

    import tifffile
    from skimage.segmentation import relabel_sequential

    from ferroscreen.analysis.matching import pairwise_iou
    from ferroscreen.datamodules.nuclei import find_pairs
    from ferroscreen.segment.images import read_image
    from ferroscreen.segment.run import segment_input

    from ..conftest import run_cli

    pairs = find_pairs(AITS, "val")
    truths = [relabel_sequential(read_image(m).astype(np.int64))[0] for _, m in pairs]
    k = int(np.argmax([(np.bincount(t.ravel())[1:] < 100).sum() for t in truths]))
    (tmp_path / "in").mkdir()
    shutil.copy(pairs[k][0], tmp_path / "in")
    truth = truths[k]
    small = np.bincount(truth.ravel())[1:] < 100
    found = {}
    for label, extra in (("model", {}), ("15", {"min_size": 15})):
        segment_input(tmp_path / "in", tmp_path / label, diameter="model", **extra)
        pred = tifffile.imread(next((tmp_path / label / "labels").glob("*.tif"))).astype(np.int64)
        hit = (pairwise_iou(truth, relabel_sequential(pred)[0]) > 0.5).any(axis=1)  # IoU > 0.5: one-to-one
        found[label] = (int((hit & small).sum()), int((hit & ~small).sum()))
    assert found["15"][0] >= found["model"][0] + 3 and found["15"][1] == found["model"][1]
    proc = run_cli("segment", tmp_path / "in", "--out", tmp_path / "15", "--resume", "--min-size", "20")
    assert proc.returncode == 2 and "was segmented with --min-size 15" in proc.stderr
