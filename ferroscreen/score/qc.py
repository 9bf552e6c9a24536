"""Per-frame quality control: focus, empty frames, defocus and cell-count outliers.

* ``focus``: variance of the Laplacian of the normalised frame (higher = sharper).
* ``empty``: no cell detected, or a flat (constant) frame.
* ``defocus``: a non-empty frame whose focus is below :data:`DEFOCUS_RATIO`
  times the median focus of the plate's scored non-empty frames.
* ``count_outlier``: a frame whose cell count differs from the median of the
  same site's (well, field) neighbouring timepoints (up to two before and two
  after) by more than a factor :data:`COUNT_FACTOR` and by at least
  :data:`COUNT_MIN_DIFF` cells.

Flags are reported in the store and in ``wells.csv``; they never drop cells.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

DEFOCUS_RATIO = 0.25
COUNT_FACTOR = 3.0
COUNT_MIN_DIFF = 10
NEIGHBOURS = 2


def focus_score(image_normalized: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian of a normalised frame."""
    lap = cv2.Laplacian(np.asarray(image_normalized, np.float32), cv2.CV_32F, ksize=3)
    return float(lap.var())


def is_flat(image: np.ndarray) -> bool:
    """True when every pixel has the same value."""
    return bool(image.min() == image.max())


def defocus_flags(frames: pd.DataFrame, done: np.ndarray) -> np.ndarray:
    """Defocus flag per frame (int8); see the module docstring.

    Args:
        frames: Frame table with ``focus`` and ``empty``.
        done: Boolean mask of scored frames.
    """
    focus = frames["focus"].to_numpy(np.float64)
    ref = done & (frames["empty"].to_numpy() == 0) & np.isfinite(focus)
    out = np.zeros(len(frames), np.int8)
    if ref.sum() < 5:
        return out
    med = float(np.median(focus[ref]))
    out[ref & (focus < DEFOCUS_RATIO * med)] = 1
    return out


def count_outlier_flags(frames: pd.DataFrame, done: np.ndarray) -> np.ndarray:
    """Cell-count outlier flag per frame (int8); see the module docstring."""
    out = np.zeros(len(frames), np.int8)
    sub = frames.loc[done, ["plate", "well", "field", "channel", "z", "time_h", "n_cells"]]
    for _, site in sub.groupby(["plate", "well", "field", "channel", "z"], sort=False):
        if len(site) < 3:
            continue
        site = site.sort_values("time_h", kind="stable")
        n = site["n_cells"].to_numpy(np.float64)
        idx = site.index.to_numpy()
        for i in range(len(n)):
            lo, hi = max(0, i - NEIGHBOURS), min(len(n), i + NEIGHBOURS + 1)
            neigh = np.concatenate([n[lo:i], n[i + 1:hi]])
            if len(neigh) < 2:
                continue
            med = float(np.median(neigh))
            ratio = abs(np.log1p(n[i]) - np.log1p(med))
            if ratio > np.log(COUNT_FACTOR) and abs(n[i] - med) >= COUNT_MIN_DIFF:
                out[idx[i]] = 1
    return out
