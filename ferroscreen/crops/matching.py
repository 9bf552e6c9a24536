"""Detection accuracy: one-to-one matching of predicted centres to true cells.

A predicted centre may match a true cell when it lies *within* it: within the
cell's radius for circle truth (a table with ``x, y, radius``), or on one of
its pixels for instance-mask truth (a label image, 0 = background). Each
prediction matches at most one cell and each cell at most one prediction; the
pairing maximises the number of matches (ties broken by the smallest summed
centre distance relative to the radius), so a second detection inside the same
cell is a false positive. Then ``precision = tp / (tp + fp)``,
``recall = tp / (tp + fn)``, ``f1 = 2 tp / (2 tp + fp + fn)``, each defined
as 1.0 when its denominator is 0 (nothing predicted and nothing to find).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["labels_at", "match_detections", "summarize_counts", "truth_from_labels"]


def labels_at(labels: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Instance id under each point (``x`` column, ``y`` row; rounded to the nearest pixel).

    Points outside the image get 0 (background).
    """
    labels = np.asarray(labels)
    h, w = labels.shape
    c = np.rint(np.asarray(x, np.float64)).astype(np.int64)
    r = np.rint(np.asarray(y, np.float64)).astype(np.int64)
    out = np.zeros(len(c), np.int64)
    ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    out[ok] = labels[r[ok], c[ok]]
    return out


def truth_from_labels(labels: np.ndarray) -> pd.DataFrame:
    """One row per instance of a label image: an interior point and the size.

    Args:
        labels: 2-D integer label image, 0 = background.

    Returns:
        DataFrame with ``label`` (id), ``x, y`` (the instance's pixel farthest
        from its boundary, so always inside it, even for crescent shapes),
        ``radius`` (equivalent radius ``sqrt(area / pi)``), ``area`` (pixels),
        sorted by label.
    """
    from scipy import ndimage as ndi

    labels = np.asarray(labels)
    ids = np.unique(labels)
    ids = ids[ids > 0]
    if len(ids) == 0:
        return pd.DataFrame({"label": [], "x": [], "y": [], "radius": [], "area": []})
    # Distance to the nearest pixel of another label or background (pad so borders count as edges).
    edges = np.pad(labels, 1, constant_values=0)
    boundary = np.zeros(edges.shape, bool)
    boundary[:-1] |= edges[:-1] != edges[1:]
    boundary[1:] |= edges[:-1] != edges[1:]
    boundary[:, :-1] |= edges[:, :-1] != edges[:, 1:]
    boundary[:, 1:] |= edges[:, :-1] != edges[:, 1:]
    dist = ndi.distance_transform_edt(~boundary)[1:-1, 1:-1]
    pos = ndi.maximum_position(dist, labels, ids)
    area = ndi.sum_labels(np.ones(labels.shape), labels, ids)
    pos = np.asarray(pos, np.float64).reshape(-1, 2)
    return pd.DataFrame(
        {
            "label": ids.astype(np.int64),
            "x": pos[:, 1],
            "y": pos[:, 0],
            "radius": np.sqrt(np.asarray(area) / np.pi),
            "area": np.asarray(area, np.int64),
        }
    )


def summarize_counts(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    """Precision, recall and F1 from counts (each 1.0 when its denominator is 0)."""
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
    }


def _max_matching(pi: np.ndarray, ti: np.ndarray, cost: np.ndarray, n_pred: int, n_true: int) -> np.ndarray:
    """Maximum-cardinality, then minimum-cost matching on a sparse bipartite graph -> (k, 2) pairs."""
    if len(pi) == 0:
        return np.zeros((0, 2), np.int64)
    graph = coo_matrix((np.ones(len(pi)), (pi, n_pred + ti)), shape=(n_pred + n_true,) * 2)
    _, comp = connected_components(graph, directed=False)
    edge_comp = comp[pi]
    order = np.argsort(edge_comp, kind="stable")
    bounds = np.flatnonzero(np.r_[True, edge_comp[order][1:] != edge_comp[order][:-1], True])
    out = []
    big = 1e6
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        idx = order[a:b]
        if len(idx) == 1:
            out.append((pi[idx[0]], ti[idx[0]]))
            continue
        up, ip = np.unique(pi[idx], return_inverse=True)
        ut, it = np.unique(ti[idx], return_inverse=True)
        m = np.full((len(up), len(ut)), big)
        m[ip, it] = cost[idx]
        rows, cols = linear_sum_assignment(m)
        ok = m[rows, cols] < big
        out.extend(zip(up[rows[ok]], ut[cols[ok]], strict=True))
    return np.array(sorted(out), np.int64).reshape(-1, 2)


def match_detections(
    pred: pd.DataFrame,
    truth: pd.DataFrame | np.ndarray,
    radius_scale: float = 1.0,
) -> dict:
    """Match predicted cell centres to true cells one-to-one and score them.

    Args:
        pred: Detections with float ``x`` (column) and ``y`` (row) columns.
        truth: Either a table of true cells with ``x, y, radius`` (a
            prediction can match a cell when its centre lies within
            ``radius_scale * radius`` of the cell's centre), or a 2-D instance
            label image (0 = background; a prediction can match the instance
            whose pixel it lies on).
        radius_scale: Tolerance multiplier for circle truth (ignored for masks).

    Returns:
        dict with ``precision``, ``recall``, ``f1`` (floats), ``tp``, ``fp``,
        ``fn`` (ints), and ``pairs``: int array ``(tp, 2)`` of
        ``(pred row position, truth row position)`` for circle truth, or
        ``(pred row position, instance id)`` for label truth.
    """
    px = pred["x"].to_numpy(np.float64) if len(pred) else np.zeros(0)
    py = pred["y"].to_numpy(np.float64) if len(pred) else np.zeros(0)
    n_pred = len(px)
    if isinstance(truth, np.ndarray):
        if truth.ndim != 2:
            raise ValueError(f"label truth must be a 2-D label image, got shape {truth.shape}")
        ids = np.unique(truth)
        n_true = int((ids > 0).sum())
        hit = labels_at(truth, px, py)
        inside = np.flatnonzero(hit > 0)
        # One prediction per instance: keep the first (in row order) inside each instance.
        _, first = np.unique(hit[inside], return_index=True)
        pairs = np.column_stack([inside[first], hit[inside][first]]).astype(np.int64).reshape(-1, 2)
    else:
        tx = truth["x"].to_numpy(np.float64)
        ty = truth["y"].to_numpy(np.float64)
        tr = truth["radius"].to_numpy(np.float64) * radius_scale
        n_true = len(tx)
        if n_pred and n_true:
            tree = cKDTree(np.column_stack([tx, ty]))
            lists = tree.query_ball_point(np.column_stack([px, py]), r=float(tr.max()))
            pi = np.repeat(np.arange(n_pred), [len(v) for v in lists])
            ti = np.fromiter((j for v in lists for j in v), np.int64, count=len(pi))
            d = np.hypot(px[pi] - tx[ti], py[pi] - ty[ti])
            ok = d <= tr[ti]
            pi, ti, cost = pi[ok], ti[ok], d[ok] / np.maximum(tr[ti[ok]], 1e-9)
        else:
            pi = ti = np.zeros(0, np.int64)
            cost = np.zeros(0)
        pairs = _max_matching(pi, ti, cost, n_pred, n_true)
    tp = len(pairs)
    result = summarize_counts(tp, n_pred - tp, n_true - tp)
    result["pairs"] = pairs
    return result
