"""extract_crops / raw_crops refuse detections whose centre is not a number, instead of cutting padding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.crops import extract_crops
from ferroscreen.crops.crop_extraction import raw_crops

FRAME = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)


@pytest.mark.parametrize(
    "x, y, bad",
    [([10.0, np.nan, 30.0], [10.0, 20.0, 30.0], 1), ([10.0, 20.0, 30.0], [np.nan, 20.0, np.inf], 2),
     ([np.nan, np.nan, 5.0], [np.nan, 1.0, 5.0], 2)],
)
def test_non_finite_centres_are_refused_with_how_many(x, y, bad):
    det = pd.DataFrame({"x": x, "y": y})
    with pytest.raises(ValueError, match=rf"extract_crops: {bad} of 3 detection\(s\) have a non-finite centre"):
        extract_crops(FRAME, det, 8)
    with pytest.raises(ValueError, match=rf"raw_crops: {bad} of 3 detection\(s\)"):
        raw_crops(FRAME, det, 8)


def test_finite_centres_still_cut_as_before():
    det = pd.DataFrame({"x": [10.0, 0.0, 200.0], "y": [12.0, 0.0, 5.0]})
    crops = extract_crops(FRAME, det, 4)
    np.testing.assert_array_equal(crops[0], FRAME[10:14, 8:12])
    assert crops[1, 2:, 2:].tolist() == FRAME[:2, :2].tolist() and (crops[1, :2] == 0).all()
    assert (crops[2] == 0).all()  # a finite centre off the frame is all padding, as documented
