"""evaluate_instances takes one image with a channel axis of one, and refuses what is not a 2-D label image."""

from __future__ import annotations

import numpy as np
import pytest

from ferroscreen.analysis.matching import evaluate_instances


def _pair():
    true = np.zeros((64, 64), np.uint16)
    true[5:20, 5:20], true[30:50, 30:50] = 1, 2
    pred = np.zeros_like(true)
    pred[5:20, 5:20], pred[40:60, 40:60] = 7, 9  # one match, one miss
    return true, pred


def test_a_trailing_channel_axis_of_one_is_one_image():
    true, pred = _pair()
    flat, per_flat = evaluate_instances(true, pred, thresholds=0.5)
    chan, per_chan = evaluate_instances(true[..., None], pred[..., None], thresholds=0.5)
    assert len(per_chan) == len(per_flat) == 1  # was 64 one-row images
    assert chan.loc[0, "n_true"] == 2 and chan.loc[0, "f1"] == flat.loc[0, "f1"] == 0.5


def test_a_stack_is_still_a_stack():
    true, pred = _pair()
    pooled, per_image = evaluate_instances(np.stack([true, true]), np.stack([pred, true]), thresholds=0.5)
    assert len(per_image) == 2 and pooled.loc[0, "n_true"] == 4 and pooled.loc[0, "tp"] == 3


@pytest.mark.parametrize(("true", "fragment"), [
    (np.zeros((64, 64, 3), np.uint16), "3 channels"),
    (np.zeros(64, np.uint16), "must be 2-D"),
])
def test_what_is_no_2d_label_image_is_refused(true, fragment):
    with pytest.raises(ValueError, match=fragment):
        evaluate_instances(true, true)


@pytest.mark.parametrize("threshold", [1.5, -1, 0, float("nan")])
def test_thresholds_outside_zero_one_are_refused(threshold):
    true, pred = _pair()
    with pytest.raises(ValueError, match=r"IoU thresholds must lie in \(0, 1\]"):
        evaluate_instances(true, pred, thresholds=threshold)
