"""adherent_10x on real Usiigaci frames: a smooth illumination gain and a smaller frame find the same cells.

Skips without ../shared. Frames pass ``normalize_frame`` first, as ``detect`` and ``score`` pass them.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ferroscreen.crops import DetectorConfig, detect_cells, match_detections, normalize_frame, truth_from_labels

SETS = (2, 7, 13, 20)


def _frames(shared_data):
    root = shared_data / "phase_cells" / "usiigaci"
    if not root.is_dir():
        pytest.skip("usiigaci data absent")
    for s in SETS:
        raw = cv2.imread(str(root / f"set{s}" / "raw.png"), cv2.IMREAD_UNCHANGED)
        yield raw.astype(np.float32), cv2.imread(str(root / f"set{s}" / "instances_ids.png"), cv2.IMREAD_UNCHANGED)


def _found(image: np.ndarray, labels: np.ndarray) -> set[int]:
    det = detect_cells(normalize_frame(image), DetectorConfig.preset("adherent_10x"))
    return set(match_detections(det, labels)["pairs"][:, 1].tolist())


def _interior(labels: np.ndarray, margin: float = 50) -> set[int]:
    t = truth_from_labels(labels)
    h, w = labels.shape
    return set(t.label[(t.x > margin) & (t.x < w - margin) & (t.y > margin) & (t.y < h - margin)].tolist())


def test_illumination_gain_keeps_cells(shared_data):
    # A left-right flat-field gain x0.5 .. x1.5 (float: nothing saturates). It found 66 % of the cells the
    # plain frames give (the frame-wide MAD noise rose with the ramp the flattening leaves at the edges).
    plain = gained = 0
    for raw, labels in _frames(shared_data):
        gain = np.float32(0.5) + np.arange(raw.shape[1], dtype=np.float32)[None, :] / raw.shape[1]
        plain += len(_found(raw, labels))
        gained += len(_found(raw * gain, labels))
    assert gained >= 0.85 * plain


def test_small_frames_find_the_cells_of_the_whole_frame(shared_data):
    # Cells > 50 px from a 256 px tile's edge: found in the tile vs in the whole frame. Before, the noise was
    # the tile's MAD, which grows with the share of the tile the cells cover: 80 % of the whole frame's.
    in_full = in_tiles = 0
    for raw, labels in _frames(shared_data):
        full = _found(raw, labels)
        n = 256
        for y in range(0, raw.shape[0] - n + 1, n):
            for x in range(0, raw.shape[1] - n + 1, n):
                lab = labels[y : y + n, x : x + n]
                inner = _interior(lab)
                in_full += len(inner & full)
                in_tiles += len(inner & _found(raw[y : y + n, x : x + n], lab))
    assert in_tiles >= 0.85 * in_full
