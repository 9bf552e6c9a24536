"""evaluate_instances / match_counts arguments as a notebook passes them: one threshold, names of another length."""

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.matching import evaluate_instances, match_counts


def _pair():
    true = np.zeros((10, 10), int)
    true[0:4, 0:4] = 1
    true[5:9, 5:9] = 2
    pred = np.zeros((10, 10), int)
    pred[0:4, 0:3] = 7  # IoU 0.75 with object 1
    return true, pred


def test_a_single_threshold_is_read_as_a_list_of_one():
    true, pred = _pair()
    for t in (0.5, np.float64(0.5), np.array(0.5)):
        pooled, per_image = evaluate_instances([true, true], [pred, pred], thresholds=t)
        want_pooled, want_per_image = evaluate_instances([true, true], [pred, pred], thresholds=[0.5])
        pd.testing.assert_frame_equal(pooled, want_pooled)
        pd.testing.assert_frame_equal(per_image, want_per_image)
    assert pooled.thresh.tolist() == [0.5] and pooled.tp.tolist() == [2]
    assert match_counts(true, pred, 0.8) == match_counts(true, pred, [0.8])


def test_names_of_another_length_are_refused_saying_both_lengths():
    true, pred = _pair()
    with pytest.raises(ValueError, match="3 names for 2 images"):
        evaluate_instances([true, true], [pred, pred], names=["a", "b", "c"])
    with pytest.raises(ValueError, match="1 names for 2 images"):
        evaluate_instances([true, true], [pred, pred], names=["a"])


def test_names_label_the_per_image_rows():
    true, pred = _pair()
    _, per_image = evaluate_instances([true, true], [pred, pred], thresholds=0.5, names=["w1", "w2"])
    assert per_image.image.tolist() == ["w1", "w2"]
    _, single = evaluate_instances(true, pred, thresholds=0.5, names="plate1_A01")  # one image, one name
    assert single.image.tolist() == ["plate1_A01"]
