"""Cell-centred crops of a fixed size, vectorised."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["extract_crops"]


def extract_crops(
    image_normalized: np.ndarray, detections: pd.DataFrame, size: int, pad_value: float = 0.0
) -> np.ndarray:
    """Square crops of ``size`` px centred on each detection.

    The crop of a detection at ``(x, y)`` spans columns
    ``round(x) - size // 2 .. round(x) - size // 2 + size - 1`` (and likewise
    rows), so for odd sizes the centre pixel is the crop's middle pixel and for
    even sizes it is pixel ``size // 2``. Parts outside the frame are
    **constant-padded** with ``pad_value`` (default 0, i.e. the dark end of a
    :func:`~ferroscreen.crops.normalize_frame` frame): padding never invents
    cells mirrored from inside the frame, and border crops stay centred.

    Args:
        image_normalized: 2-D frame (any real dtype; returned as float32).
        detections: Table with float ``x`` (column) and ``y`` (row) columns,
            e.g. from :func:`~ferroscreen.crops.detect_cells`.
        size: Crop edge (px, >= 1).
        pad_value: Fill for pixels outside the frame.

    Returns:
        float32 array ``(N, size, size)`` in the order of ``detections`` rows
        (``(0, size, size)`` when there are none).

    Raises:
        ValueError: For a non-2-D image, a size < 1 or missing ``x``/``y`` columns.
    """
    image = np.asarray(image_normalized, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"extract_crops expects a 2-D frame, got shape {image.shape}")
    if size < 1:
        raise ValueError(f"crop size must be >= 1, got {size}")
    if not {"x", "y"} <= set(detections.columns):
        raise ValueError(f"detections need 'x' and 'y' columns, got {list(detections.columns)}")
    n = len(detections)
    if n == 0:
        return np.zeros((0, size, size), np.float32)
    half = size // 2
    padded = np.pad(image, size, mode="constant", constant_values=pad_value)
    cx = np.rint(detections["x"].to_numpy(np.float64)).astype(np.int64)
    cy = np.rint(detections["y"].to_numpy(np.float64)).astype(np.int64)
    # Centres far outside the frame are clamped so that their crop is all padding.
    x0 = np.clip(cx - half + size, 0, padded.shape[1] - size)
    y0 = np.clip(cy - half + size, 0, padded.shape[0] - size)
    offs = np.arange(size)
    crops = padded[(y0[:, None] + offs)[:, :, None], (x0[:, None] + offs)[:, None, :]]
    return np.ascontiguousarray(crops, dtype=np.float32)


def cells_and_crops(normalized: np.ndarray, config, crop_size: int):
    """Detect cells in a normalised frame and cut their crops: the one step training and scoring share.

    Args:
        normalized: Output of :func:`ferroscreen.crops.normalize_frame`.
        config: A :class:`ferroscreen.crops.DetectorConfig`.
        crop_size: Crop side length in pixels.

    Returns:
        ``(detections, crops)`` as from :func:`detect_cells` and :func:`extract_crops`.
    """
    from ferroscreen.crops.detection import detect_cells

    det = detect_cells(normalized, config)
    return det, extract_crops(normalized, det, crop_size)
