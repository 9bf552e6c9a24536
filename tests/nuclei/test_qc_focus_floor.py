"""The ``focus`` flag needs a real drop in focus, not only a robust z: sharp fields of a tight plate stay unflagged."""

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi

from ferroscreen.segment.qc import field_qc_metrics, flag_fields

from .conftest import SHARED

AITS = SHARED / "aits_trainval"


def _table(focus) -> pd.DataFrame:
    n = len(focus)
    return pd.DataFrame({"plate": "P1", "well": ["A01"] * n, "n_nuclei": 30, "n_border": 2, "area_mean": 500.0,
                         "area_median": 490.0, "eccentricity_mean": 0.5, "solidity_mean": 0.95,
                         "intensity_mean": 1000.0, "focus": focus, "saturated_fraction": 0.0,
                         "foreground_fraction": 0.2, "small_object_fraction": 0.05})


def test_focus_needs_a_real_drop_not_only_a_tight_plate():
    """Fields that barely differ make the MAD tiny: a robust z of -3 alone flagged fields 0.85x as sharp."""
    rng = np.random.default_rng(0)
    focus = list(rng.uniform(0.99, 1.01, 10)) + [0.85, 0.66, 0.32, 0.2, 1e-3]
    out = flag_fields(_table(focus))
    flagged = out.loc[out["qc_focus"], "focus"].tolist()
    # 0.85x, 0.66x (dim 8-bit Aits fields) and 0.32x (a sharp field holding one nucleus) are sharp enough;
    # 0.2x and 1e-3x (a Gaussian blur of sigma 6 leaves under 0.001x) are not
    assert flagged == [0.2, 1e-3]
    assert list(out.loc[out["qc_focus"], "qc_flags"]) == ["focus", "focus"]


def test_focus_floor_still_needs_the_robust_z():
    """Below the floor but within the plate's own spread (a plate of very uneven fields): not flagged."""
    focus = [0.1, 0.3, 1.0, 3.0, 10.0, 0.2, 5.0]
    assert not flag_fields(_table(focus))["qc_focus"].any()


@pytest.mark.skipif(not (AITS / "split.csv").is_file(), reason="no shared Aits data")
def test_dim_8_bit_aits_fields_are_sharp_and_a_blurred_one_is_not():
    """The Aits val images saved as dim 8-bit (a // 6) flagged 2 of 10 fields ``focus`` at 0.85x the median."""
    from ferroscreen.datamodules.nuclei import find_pairs
    from ferroscreen.segment.images import read_image

    rows = []
    pairs = find_pairs(AITS, "val")
    for img_path, mask_path in pairs:
        dim = (read_image(img_path) // 6).astype(np.uint8)
        labels = read_image(mask_path)
        rows.append({"image": img_path.stem, "n_nuclei": int(len(np.unique(labels)) - 1),
                     **field_qc_metrics(dim, labels)})
    out = flag_fields(pd.DataFrame(rows))
    assert len(out) == 10 and not out["qc_focus"].any()
    dim = (read_image(pairs[0][0]) // 6).astype(np.uint8)
    blurred = ndi.gaussian_filter(dim.astype(float), 6).round().astype(np.uint8)
    labels = read_image(pairs[0][1])
    rows.append({"image": "blurred", "n_nuclei": int(len(np.unique(labels)) - 1), **field_qc_metrics(blurred, labels)})
    out = flag_fields(pd.DataFrame(rows))
    assert out.loc[out["qc_focus"], "image"].tolist() == ["blurred"]
