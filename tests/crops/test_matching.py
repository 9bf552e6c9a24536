"""match_detections on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.crops import labels_at, match_detections, truth_from_labels


def _pts(xy):
    return pd.DataFrame(np.asarray(xy, float).reshape(-1, 2), columns=["x", "y"])


def test_circle_truth_counts():
    truth = pd.DataFrame({"x": [10.0, 30.0, 50.0], "y": [10.0, 10.0, 10.0], "radius": [5.0, 5.0, 5.0]})
    pred = _pts([[11, 11], [12, 9], [33, 10], [70, 70]])
    m = match_detections(pred, truth)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 2, 1)
    assert m["precision"] == 0.5 and m["recall"] == 2 / 3 and m["f1"] == 4 / 7
    assert sorted(m["pairs"][:, 1].tolist()) == [0, 1]


def test_circle_matching_is_maximum_not_greedy():
    # Pred A lies in both cells (closer to cell 0); pred B only in cell 0.
    truth = pd.DataFrame({"x": [0.0, 8.0], "y": [0.0, 0.0], "radius": [6.0, 6.0]})
    pred = _pts([[3, 0], [-4, 0]])
    m = match_detections(pred, truth)
    assert m["tp"] == 2 and m["fp"] == 0 and m["fn"] == 0
    assert {tuple(p) for p in m["pairs"].tolist()} == {(0, 1), (1, 0)}


def test_edge_cases_empty():
    truth = pd.DataFrame({"x": [1.0], "y": [1.0], "radius": [2.0]})
    empty = _pts(np.zeros((0, 2)))
    assert match_detections(empty, truth) | {"pairs": None} == {
        "precision": 1.0,
        "recall": 0.0,
        "f1": 0.0,
        "tp": 0,
        "fp": 0,
        "fn": 1,
        "pairs": None,
    }
    m = match_detections(empty, truth.iloc[:0])
    assert m["f1"] == 1.0 and m["tp"] == m["fp"] == m["fn"] == 0
    assert match_detections(_pts([[5, 5]]), truth.iloc[:0])["precision"] == 0.0


def test_label_truth_centre_inside_mask():
    labels = np.zeros((20, 20), np.uint16)
    labels[2:8, 2:8] = 3
    labels[10:18, 4:9] = 7
    labels[10:12, 15:19] = 9
    pred = _pts([[4, 4], [5.4, 5.4], [6, 14], [0, 19], [30, 30]])
    m = match_detections(pred, labels)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 3, 1)
    assert m["pairs"].tolist() == [[0, 3], [2, 7]]
    np.testing.assert_array_equal(labels_at(labels, pred.x, pred.y), [3, 3, 7, 0, 0])


def test_truth_from_labels_points_lie_inside():
    labels = np.zeros((30, 30), np.int32)
    labels[5:25, 5:10] = 1
    labels[20:25, 5:25] = 1  # an L shape: its centroid lies outside it
    labels[0:4, 26:30] = 2
    t = truth_from_labels(labels)
    assert t.label.tolist() == [1, 2]
    assert (labels_at(labels, t.x, t.y) == t.label).all()
    np.testing.assert_allclose(t.area, [(labels == 1).sum(), 16])
    assert len(truth_from_labels(np.zeros((4, 4), np.uint8))) == 0
