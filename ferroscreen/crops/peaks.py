"""Seed finding: plateau-safe local maxima and neck-based merging of seeds."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["local_maxima", "merge_without_neck"]


def local_maxima(values: np.ndarray, radius: float, min_value: float) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of a 2-D map, one per plateau.

    A pixel is a candidate when it equals the maximum over a disc of
    ``radius`` px around it and exceeds ``min_value``. Connected (8-neighbour)
    candidate pixels form a plateau that yields one seed: its pixel nearest the
    plateau centroid (so the seed always lies on the plateau, even a curved one).

    Returns:
        ``(rows, cols)`` int arrays, ordered by decreasing value, ties in raster order.
    """
    values = np.asarray(values, dtype=np.float32)
    size = 2 * max(1, round(radius)) + 1
    footprint = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    dilated = cv2.dilate(values, footprint, borderType=cv2.BORDER_REFLECT)
    candidates = (values >= dilated) & (values > min_value)
    flat_idx = np.flatnonzero(candidates)
    if len(flat_idx) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty
    rows, cols = np.divmod(flat_idx, values.shape[1])
    lab, n = _plateaus(candidates, rows, cols)
    cy = np.bincount(lab, rows, n) / np.bincount(lab, None, n)
    cx = np.bincount(lab, cols, n) / np.bincount(lab, None, n)
    d2 = (rows - cy[lab]) ** 2 + (cols - cx[lab]) ** 2
    order = np.lexsort((d2, lab))  # stable: ties go to the first pixel in raster order
    first = order[np.r_[True, lab[order][1:] != lab[order][:-1]]]
    rows, cols = rows[first], cols[first]
    rank = np.lexsort((cols, rows, -values[rows, cols]))
    return rows[rank].astype(np.int64), cols[rank].astype(np.int64)


#: Above this many candidate pixels, plateaus are labelled on the whole frame instead of sparsely.
_SPARSE_MAX = 4096


def _plateaus(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected component label (0..n-1) of each candidate pixel ``(rows[i], cols[i])``, and n.

    Candidates of a float map are few and mostly isolated, so they are grouped
    sparsely (pairs of neighbours); a large plateau falls back to labelling the frame.
    """
    if len(rows) > _SPARSE_MAX:
        _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        _, lab = np.unique(labels[rows, cols], return_inverse=True)
        return lab.astype(np.int64), int(lab.max()) + 1
    pairs = cKDTree(np.column_stack([rows, cols])).query_pairs(1.5, output_type="ndarray")
    if len(pairs) == 0:
        return np.arange(len(rows), dtype=np.int64), len(rows)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(rows), len(rows)))
    n, lab = connected_components(graph, directed=False)
    return lab.astype(np.int64), int(n)


def merge_without_neck(
    values: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    max_distance: float,
    neck_ratio: float,
    samples: int = 24,
    barrier: np.ndarray | None = None,
    barrier_level: float = 0.0,
) -> np.ndarray:
    """Keep-mask over seeds after merging seeds not separated by a neck.

    Seeds are visited from the strongest down. A seed is dropped when some
    already-kept seed lies within ``max_distance`` px and ``values`` along the
    straight segment joining them stays at or above ``neck_ratio`` times the
    weaker of the two seed values (one elongated cell, not two touching
    cells). Seeds are assumed ordered by decreasing value (as
    :func:`local_maxima` returns them).

    With a ``barrier`` map (same shape as ``values``) and ``barrier_level > 0``,
    two seeds are never merged when ``barrier`` exceeds ``barrier_level``
    somewhere on the segment between them (in phase contrast: the bright halo
    line between two touching cells, which the smoothed seed map blurs over).

    Returns:
        bool array, one entry per seed.
    """
    n = len(rows)
    keep = np.ones(n, bool)
    if n < 2 or neck_ratio <= 0:
        return keep
    pts = np.column_stack([rows, cols]).astype(np.float64)
    pairs = np.array(sorted(cKDTree(pts).query_pairs(max_distance)), dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return keep
    t = np.linspace(0.0, 1.0, samples)[None, :]
    a, b = pairs[:, 0], pairs[:, 1]
    pr = np.rint(rows[a, None] + (rows[b, None] - rows[a, None]) * t).astype(np.int64)
    pc = np.rint(cols[a, None] + (cols[b, None] - cols[a, None]) * t).astype(np.int64)
    low = values[pr, pc].min(axis=1)
    peak = np.minimum(values[rows[a], cols[a]], values[rows[b], cols[b]])
    joined = low >= neck_ratio * peak
    if barrier is not None and barrier_level > 0:
        joined &= barrier[pr, pc].max(axis=1) <= barrier_level
    partners: dict[int, list[int]] = {}
    for i, j in pairs[joined]:
        partners.setdefault(int(max(i, j)), []).append(int(min(i, j)))
    for i in range(n):
        if any(keep[j] for j in partners.get(i, ())):
            keep[i] = False
    return keep
