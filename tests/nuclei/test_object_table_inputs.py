"""object_table refuses label and intensity images it cannot measure in one line, instead of losing nuclei."""

from __future__ import annotations

import numpy as np
import pytest

from ferroscreen.errors import FerroscreenError
from ferroscreen.segment.features import LabelImageError, object_table


def _labels() -> np.ndarray:
    lab = np.zeros((32, 32), np.int32)
    lab[4:10, 4:10] = 1
    lab[15:25, 15:25] = 2
    return lab


def test_a_colour_intensity_image_is_refused_in_one_line():
    lab = _labels()
    image = np.random.default_rng(0).uniform(0, 255, (32, 32))
    with pytest.raises(LabelImageError, match=r"^object_table: the intensity image has shape \(32, 32, 3\), the "
                                              r"labels \(32, 32\); .*pass one channel, e\.g\. image\[\.\.\., 0\]\)$"):
        object_table(lab, np.dstack([image] * 3))
    assert object_table(lab, image)["mean_intensity"].notna().all()  # one channel: measured


def test_negative_labels_are_refused_not_a_nucleus_lost():
    with pytest.raises(LabelImageError, match=r"^object_table: labels must be >= 0 \(0: background\), got -1"):
        object_table(_labels() - 1)


@pytest.mark.parametrize("labels", [_labels()[..., None], _labels() + 0.5])
def test_labels_that_are_no_2d_whole_numbers_are_refused(labels):
    with pytest.raises(FerroscreenError, match=r"^object_table: labels must be"):
        object_table(labels)
