"""Halo-enclosure seeds: cells as dark-ish interiors enclosed by a bright halo or rim.

In phase contrast and defocused brightfield, round suspension cells (alive,
shrunken apoptotic bodies, pale swollen ghosts with a thin rim, granular
swollen cells) are each ringed by a bright halo. Where the halos of touching
cells meet, each interior stays enclosed by its own ring, so the interiors
separate touching cells without any shape assumption beyond "enclosed".
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["enclosure_scores", "suppress_overlaps"]


def enclosure_scores(
    bright: np.ndarray,
    smooth: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    reach: np.ndarray,
    n_rays: int = 16,
    n_steps: int = 12,
) -> tuple[np.ndarray, np.ndarray]:
    """How well each seed is enclosed by bright pixels, and how bright that enclosure is.

    From each seed, ``n_rays`` rays are cast out to ``reach`` px (one value per
    seed) and sampled at ``n_steps`` points.

    Args:
        bright: uint8/bool mask of bright (halo/rim) pixels.
        smooth: Smoothed, background-flattened frame.
        rows: Seed rows.
        cols: Seed columns.
        reach: Ray length per seed (px).
        n_rays: Number of ray directions.
        n_steps: Samples per ray.

    Returns:
        ``(enclosure, ring)``: the fraction of rays that meet a bright pixel
        (1.0 = fully enclosed), and the median over rays of the brightest
        sample of ``smooth`` along each ray.
    """
    h, w = bright.shape
    ang = np.linspace(0.0, 2 * np.pi, n_rays, endpoint=False)
    dist = np.asarray(reach, np.float64)[:, None, None] * np.linspace(0.0, 1.0, n_steps)[None, None, :]
    py = np.clip(np.rint(rows[:, None, None] + dist * np.sin(ang)[None, :, None]), 0, h - 1).astype(np.int64)
    px = np.clip(np.rint(cols[:, None, None] + dist * np.cos(ang)[None, :, None]), 0, w - 1).astype(np.int64)
    enclosure = bright[py, px].astype(bool).any(axis=2).mean(axis=1)
    ring = np.median(smooth[py, px].max(axis=2), axis=1)
    return enclosure, ring


def suppress_overlaps(
    rows: np.ndarray, cols: np.ndarray, radius: np.ndarray, priority: np.ndarray, overlap: float
) -> np.ndarray:
    """Greedy non-maximum suppression of seeds by distance.

    Seeds are visited by decreasing ``priority`` (ties: input order). A seed
    is dropped when a kept seed ``j`` lies within ``overlap * radius[j]``.

    Returns:
        bool keep-mask, one entry per seed.
    """
    n = len(rows)
    keep = np.zeros(n, bool)
    if n == 0:
        return keep
    pts = np.column_stack([rows, cols]).astype(np.float64)
    radius = np.asarray(radius, np.float64)
    pairs = cKDTree(pts).query_pairs(overlap * float(np.max(radius)) + 1e-9, output_type="ndarray")
    a, b = pairs[:, 0], pairs[:, 1]
    d = np.hypot(pts[a, 0] - pts[b, 0], pts[a, 1] - pts[b, 1])
    by_b, by_a = d <= overlap * radius[b], d <= overlap * radius[a]
    victim = np.concatenate([a[by_b], b[by_a]])  # victim[k] is dropped if suppressor[k] is kept
    suppressor = np.concatenate([b[by_b], a[by_a]])
    order = np.argsort(victim, kind="stable")
    victim, suppressor = victim[order], suppressor[order].tolist()
    bounds = np.searchsorted(victim, np.arange(n + 1)).tolist()
    for i in np.argsort(-np.asarray(priority), kind="stable").tolist():
        if not any(keep[j] for j in suppressor[bounds[i] : bounds[i + 1]]):
            keep[i] = True
    return keep
