"""Crops of one decoded frame and its later scans, cut alike for training, `score`, `quantize` and `evaluate`.

:func:`frame_crops` detects the cells of a frame and cuts their normalised crops; with
``next_scan`` it adds each cell's box cut from the site's next scans as further channels
(:func:`~ferroscreen.crops.with_next_scan`). A later scan that is missing, unreadable or of
another size gives no channel of its own (the one before repeats).
"""

from __future__ import annotations

import numpy as np

from ferroscreen.crops.config import DetectorConfig
from ferroscreen.crops.crop_extraction import cells_and_crops, with_next_scan
from ferroscreen.crops.normalization import CropNormalization
from ferroscreen.errors import FerroscreenError
from ferroscreen.io import load_image

__all__ = ["frame_crops", "later_crop_frames", "next_crop_frame"]


def frame_crops(raw: np.ndarray, normalized: np.ndarray, config: DetectorConfig, crop_size: int,
                normalization: CropNormalization | None = None,
                next_scan: str | None | bool | tuple[str | None, ...] = False):
    """Detections and crops of one decoded frame, cut as training, ``score`` and ``quantize`` all cut them.

    Args:
        raw: The frame as decoded.
        normalized: ``normalize_frame(raw)`` (what the detector sees).
        config: Detector settings.
        crop_size: Crop side (px).
        normalization: Crop normalisation (default: the detector's percentile scaling).
        next_scan: ``False``: crops ``(N, S, S)``; the site's next scan path
            (``None``/empty: none): crops ``(N, 2, S, S)``; a tuple of the next
            k scans' paths: ``(N, 1 + k, S, S)`` (see :func:`ferroscreen.crops.with_next_scan`).

    Returns:
        ``(detections, crops, used)``: ``used`` is the number of later scans
        that gave channels (0 when there was none to use), -1 when not asked for.
    """
    norm = normalization or CropNormalization.percentile()
    det, crops = cells_and_crops(normalized, config, crop_size, norm.apply(raw, normalized))
    if next_scan is False:
        return det, crops, -1
    later = later_crop_frames(next_scan, raw.shape, norm)
    used = next((i for i, f in enumerate(later) if f is None), len(later))
    return det, with_next_scan(crops, det, config, crop_size, later), used


def later_crop_frames(next_scan: str | None | tuple[str | None, ...], shape: tuple[int, int],
                      normalization: CropNormalization) -> list[np.ndarray | None]:
    """The crop frames of a frame's later scans (a path, or a tuple of k), ``None`` for each that cannot be used.

    A scan after one that is missing or unreadable is not read (its channel repeats the one before).
    """
    paths = next_scan if isinstance(next_scan, tuple) else (next_scan or None,)
    later: list[np.ndarray | None] = []
    for p in paths:
        later.append(None if later and later[-1] is None else next_crop_frame(p or None, shape, normalization))
    return later



def next_crop_frame(path: str | None, shape: tuple[int, int], normalization: CropNormalization) -> np.ndarray | None:
    """The crop frame of a site's next scan, or ``None`` when there is none or it is unreadable or of another size.

    A next scan is context, not the frame being classified: when it cannot be
    used the crops fall back to the single-scan input (second channel = first).
    """
    if path is None:
        return None
    try:
        raw = load_image(path)
        if raw.shape != tuple(shape):
            return None
        return normalization.apply(raw)
    except (FerroscreenError, ValueError, OSError):
        return None
