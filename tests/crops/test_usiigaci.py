"""Detection F1 on the real Usiigaci phase-contrast images (skips without ../shared)."""

from __future__ import annotations

import cv2
import pytest

from ferroscreen.crops import DetectorConfig, detect_cells, match_detections, summarize_counts


@pytest.mark.parametrize("sets", [tuple(range(1, 21))])
def test_usiigaci_adherent_preset_f1(shared_data, sets):
    root = shared_data / "phase_cells" / "usiigaci"
    if not root.is_dir():
        pytest.skip("usiigaci data absent")
    cfg = DetectorConfig.preset("adherent_10x")
    tp = fp = fn = 0
    for s in sets:
        raw = cv2.imread(str(root / f"set{s}" / "raw.png"), cv2.IMREAD_UNCHANGED)
        labels = cv2.imread(str(root / f"set{s}" / "instances_ids.png"), cv2.IMREAD_UNCHANGED)
        assert raw.dtype.name == "uint16"
        m = match_detections(detect_cells(raw, cfg), labels)
        tp, fp, fn = tp + m["tp"], fp + m["fp"], fn + m["fn"]
    # Pooled F1 over all 20 images measured 0.861 (0.859 on the odd sets the preset was tuned
    # on, 0.862 on the held-out even sets); the target is 0.85.
    assert summarize_counts(tp, fp, fn)["f1"] >= 0.85
