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
