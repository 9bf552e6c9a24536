import numpy as np
import pytest

from ferroscreen.analysis.matching import (
    evaluate_instances,
    match_counts,
    pairwise_iou,
    remove_small_objects,
)


def _two_squares():
    true = np.zeros((10, 10), int)
    true[0:4, 0:4] = 1  # 16 px
    true[5:9, 5:9] = 2  # 16 px
    pred = np.zeros((10, 10), int)
    pred[0:4, 0:3] = 7  # 12 px inside object 1 -> IoU 12/16 = 0.75
    pred[0:2, 8:10] = 3  # 4 px, overlaps nothing
    return true, pred


def test_pairwise_iou_hand_computed():
    true, pred = _two_squares()
    from ferroscreen.analysis.matching import _relabel

    iou = pairwise_iou(_relabel(true), _relabel(pred))
    # pred relabelled by value: 3 -> 1, 7 -> 2
    np.testing.assert_allclose(iou, [[0.0, 0.75], [0.0, 0.0]])


def test_scores_hand_computed():
    true, pred = _two_squares()
    pooled, per_image = evaluate_instances(true, pred, thresholds=[0.5, 0.8])
    r05 = pooled.set_index("thresh").loc[0.5]
    assert (r05.tp, r05.fp, r05.fn) == (1, 1, 1)
    assert r05.precision == pytest.approx(0.5)
    assert r05.recall == pytest.approx(0.5)
    assert r05.f1 == pytest.approx(0.5)
    assert r05.mean_matched_iou == pytest.approx(0.75)
    assert r05.mean_true_iou == pytest.approx(0.375)
    # PQ = sum IoU / (tp + fp/2 + fn/2) = 0.75 / 2
    assert r05.panoptic_quality == pytest.approx(0.375)
    r08 = pooled.set_index("thresh").loc[0.8]
    assert (r08.tp, r08.fp, r08.fn) == (0, 2, 2)
    assert r08.f1 == 0.0
    assert len(per_image) == 2


def test_one_to_one_no_double_counting():
    # one big prediction covering two true objects: at most one match
    true = np.zeros((8, 8), int)
    true[:, :4] = 1
    true[:, 4:] = 2
    pred = np.ones((8, 8), int)
    (r,) = match_counts(true, pred, thresholds=[0.5])
    assert (r["tp"], r["fp"], r["fn"]) == (1, 0, 1)  # IoU 0.5 each, only one may pair


def test_perfect_and_empty():
    lab = np.zeros((6, 6), int)
    lab[1:3, 1:3] = 4
    pooled, _ = evaluate_instances(lab, lab)
    assert (pooled["f1"] == 1).all() and (pooled["mean_matched_iou"] == 1).all()
    empty = np.zeros_like(lab)
    pooled, _ = evaluate_instances(empty, empty)
    assert (pooled["tp"] == 0).all() and (pooled["f1"] == 0).all()
    pooled, _ = evaluate_instances(lab, empty)
    assert (pooled["fn"] == 1).all() and (pooled["recall"] == 0).all()


def test_pooled_sums_counts_over_images():
    true, pred = _two_squares()
    lab = np.zeros((10, 10), int)
    lab[2:6, 2:6] = 1
    pooled, per_image = evaluate_instances([true, lab], [pred, lab], thresholds=[0.5])
    r = pooled.iloc[0]
    assert (r.tp, r.fp, r.fn) == (2, 1, 1)
    assert r.f1 == pytest.approx(4 / 6)
    assert r.mean_matched_iou == pytest.approx((0.75 + 1.0) / 2)
    assert list(per_image["f1"]) == pytest.approx([0.5, 1.0])


def test_aits_compatible_mode_drops_small_objects_on_both_sides():
    true, pred = _two_squares()
    # min_size 13: the 12-px prediction and the 4-px prediction disappear
    pooled, _ = evaluate_instances(true, pred, thresholds=[0.5], min_size=13)
    r = pooled.iloc[0]
    assert (r.n_true, r.n_pred, r.tp) == (2, 0, 0)
    # min_size 5: only the 4-px false positive goes -> precision 1, recall 0.5
    pooled, _ = evaluate_instances(true, pred, thresholds=[0.5], min_size=5)
    r = pooled.iloc[0]
    assert (r.tp, r.fp, r.fn) == (1, 0, 1)
    assert r.precision == 1.0


def test_remove_small_objects_keeps_labels():
    lab = np.zeros((5, 5), int)
    lab[0, 0] = 3
    lab[2:5, 2:5] = 9
    out = remove_small_objects(lab, 2)
    assert set(np.unique(out)) == {0, 9}


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        evaluate_instances(np.zeros((4, 4), int), np.zeros((4, 5), int))


def test_each_threshold_keeps_every_pair_it_can_where_the_summed_iou_would_trade_one_away():
    """X overlaps A at 0.504; the max-summed-IoU assignment pairs X-B (0.28) and Y-A (0.33): tp 0 at 0.5, was F1 0."""
    true = np.zeros((10, 150), np.uint16)
    true[:, :100], true[:, 100:] = 1, 2
    pred = np.zeros_like(true)
    pred[:, 33:133], pred[:, :33] = 1, 2
    counts = {c["thresh"]: c for c in match_counts(true, pred, thresholds=(0.25, 0.5, 0.75))}
    assert counts[0.5]["tp"] == 1 and counts[0.5]["sum_matched_iou"] == pytest.approx(67 / 133)
    assert counts[0.25]["tp"] == 2  # both pairs reach 0.25: the assignment then keeps both
    assert counts[0.75]["tp"] == 0
