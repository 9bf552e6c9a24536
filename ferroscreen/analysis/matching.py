"""Instance-segmentation accuracy by one-to-one matching of objects (numpy/scipy only).

Predicted and true objects are paired one-to-one, at each threshold ``t``
apart, so that the number of pairs with IoU of at least ``t`` is maximal and,
among such pairings, their summed IoU (Hungarian assignment on the cost
``-(IoU >= t) - IoU / (2 n)``); those pairs are the true positives at ``t``.
This follows the convention of ``stardist.matching``:

* ``precision = tp / (tp + fp)``, ``recall = tp / (tp + fn)``,
  ``f1 = 2 tp / (2 tp + fp + fn)``;
* ``mean_matched_iou``: mean IoU of the true-positive pairs (stardist's
  ``mean_matched_score``);
* ``mean_true_iou``: summed IoU of the true-positive pairs divided by the
  number of true objects (stardist's ``mean_true_score``);
* ``panoptic_quality = sum(IoU of TP) / (tp + fp/2 + fn/2)``.

For thresholds above 0.5 the pairs are unique (two objects cannot both overlap one
object with IoU > 0.5): every pair with IoU of at least ``t`` is a true positive.
One assignment of maximal summed IoU for all thresholds is not the same: it can
trade a pair at 0.504 for two pairs at 0.28 and 0.33, losing a true positive at 0.5.

**Aits-compatible mode** (``min_size``): objects smaller than ``min_size``
pixels are removed from *both* the prediction and the ground truth before
matching, as the Aits lab did when reporting F1 on their U2OS Hoechst images
(small fragments and debris are not counted as nuclei; their pipeline's
configuration uses ``cell_min_size = 100``, :data:`AITS_MIN_SIZE`). The
standard convention uses ``min_size=0``.

Pooled ("dataset") scores sum tp/fp/fn and matched IoU over all images before
forming the ratios; per-image scores are returned as a table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

__all__ = [
    "AITS_MIN_SIZE",
    "DEFAULT_THRESHOLDS",
    "evaluate_instances",
    "match_counts",
    "pairwise_iou",
    "remove_small_objects",
]

#: Minimum object size (pixels) of the Aits-compatible convention.
AITS_MIN_SIZE = 100

#: IoU thresholds 0.5, 0.55, ..., 0.95.
DEFAULT_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def label_plane(labels: np.ndarray) -> np.ndarray:
    """``labels`` as one 2-D label image: a trailing channel axis of one (``H, W, 1``, as many readers give) dropped.

    Raises:
        ValueError: Not 2-D after that (``H, W, 3``: a colour image, not labels; 1-D; a stack).
    """
    labels = np.asarray(labels)
    if labels.ndim == 3 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.ndim != 2:
        what = (f"{labels.shape[-1]} channels" if labels.ndim == 3 and labels.shape[-1] <= 4
                else f"{labels.ndim} dimension(s)")
        raise ValueError(f"label image must be 2-D (height x width), got shape {labels.shape} ({what})")
    return labels


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Consecutive labels 1..n (0 stays background) of a 2-D label image (:func:`label_plane`)."""
    labels = label_plane(labels)
    if labels.dtype.kind not in "ui":
        if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise ValueError(f"label image must be an integer array, got {labels.dtype}")
    if labels.min(initial=0) < 0:
        raise ValueError("label image has negative labels")
    uniq, inv = np.unique(labels, return_inverse=True)
    if uniq[0] != 0:
        inv = inv + 1
    return inv.reshape(labels.shape).astype(np.int64)


def remove_small_objects(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Set objects with fewer than ``min_size`` pixels to background (labels kept otherwise)."""
    labels = np.asarray(labels)
    if min_size <= 0:
        return labels
    sizes = np.bincount(labels.ravel().astype(np.int64))
    small = sizes < min_size
    small[0] = False
    out = labels.copy()
    out[small[labels]] = 0
    return out


def pairwise_iou(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """IoU matrix ``(n_true, n_pred)`` between consecutive-labelled images (0 = background)."""
    if true.shape != pred.shape:
        raise ValueError(f"shapes differ: true {true.shape} vs pred {pred.shape}")
    nt, np_ = int(true.max(initial=0)), int(pred.max(initial=0))
    overlap = np.bincount(true.ravel() * (np_ + 1) + pred.ravel(), minlength=(nt + 1) * (np_ + 1)).reshape(
        nt + 1, np_ + 1
    )
    size_t = overlap.sum(axis=1, keepdims=True)
    size_p = overlap.sum(axis=0, keepdims=True)
    union = size_t + size_p - overlap
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, overlap / union, 0.0)
    return iou[1:, 1:]


def _matched_iou(iou: np.ndarray, t: float) -> np.ndarray:
    """IoUs of the true-positive pairs at threshold ``t`` (``> 0`` when ``t`` is 0), as ``stardist.matching`` pairs."""
    ok = iou >= t if t > 0 else iou > 0
    if not ok.any():
        return np.zeros(0)
    if t > 0.5:  # unique: each object has at most one partner above 0.5
        return iou[ok]
    n = min(iou.shape)
    rows, cols = linear_sum_assignment(-ok.astype(float) - iou / (2 * n))
    pairs = iou[rows, cols]
    return pairs[ok[rows, cols]]


def _threshold_list(thresholds: float | Sequence[float]) -> list[float]:
    """``thresholds`` as a list of floats; one number ``t`` is ``[t]``."""
    out = [float(thresholds)] if np.ndim(thresholds) == 0 else [float(t) for t in np.ravel(thresholds)]
    bad = [t for t in out if not 0 < t <= 1]  # NaN too
    if bad or not out:
        raise ValueError(f"IoU thresholds must lie in (0, 1], got {bad or 'none'}")
    return out


def match_counts(
    true: np.ndarray,
    pred: np.ndarray,
    thresholds: float | Sequence[float] = DEFAULT_THRESHOLDS,
    min_size: int = 0,
) -> list[dict]:
    """Raw counts for one image at each threshold (one number: that threshold alone).

    Returns:
        One dict per threshold with ``thresh, n_true, n_pred, tp, fp, fn,
        sum_matched_iou`` (summed IoU of the true-positive pairs).
    """
    true = _relabel(remove_small_objects(_relabel(true), min_size))
    pred = _relabel(remove_small_objects(_relabel(pred), min_size))
    iou = pairwise_iou(true, pred)
    nt, np_ = iou.shape
    out = []
    for t in _threshold_list(thresholds):
        matched = _matched_iou(iou, t)
        tp = int(matched.size)
        out.append(
            {
                "thresh": float(t),
                "n_true": nt,
                "n_pred": np_,
                "tp": tp,
                "fp": np_ - tp,
                "fn": nt - tp,
                "sum_matched_iou": float(matched.sum()),
            }
        )
    return out


def _scores(df: pd.DataFrame) -> pd.DataFrame:
    tp, fp, fn, s = df["tp"], df["fp"], df["fn"], df["sum_matched_iou"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = df.copy()
        out["precision"] = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        out["recall"] = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        out["f1"] = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        out["accuracy"] = np.where(tp + fp + fn > 0, tp / (tp + fp + fn), 0.0)
        out["mean_matched_iou"] = np.where(tp > 0, s / tp, 0.0)
        out["mean_true_iou"] = np.where(df["n_true"] > 0, s / df["n_true"], 0.0)
        out["panoptic_quality"] = np.where(tp + fp / 2 + fn / 2 > 0, s / (tp + fp / 2 + fn / 2), 0.0)
    return out


def evaluate_instances(
    true: Sequence[np.ndarray] | np.ndarray,
    pred: Sequence[np.ndarray] | np.ndarray,
    thresholds: float | Sequence[float] = DEFAULT_THRESHOLDS,
    min_size: int = 0,
    names: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pooled and per-image matching scores for lists of label images.

    Args:
        true: Ground-truth label image(s), 0 = background: one 2-D image (``H, W, 1`` too), a
            ``(N, H, W)`` stack or a sequence of 2-D images.
        pred: Predicted label image(s), same shapes as ``true``.
        thresholds: IoU thresholds (one number: that threshold alone).
        min_size: Aits-compatible mode when > 0: objects below this many
            pixels are dropped from both sides first.
        names: Image names for the per-image table, one per image (default ``0..n-1``; one
            string: the name of a single image).

    Returns:
        ``(pooled, per_image)``: ``pooled`` has one row per threshold,
        ``per_image`` one row per image and threshold (column ``image``), both
        with ``tp, fp, fn, n_true, n_pred, precision, recall, f1, accuracy,
        mean_matched_iou, mean_true_iou, panoptic_quality``.

    Raises:
        ValueError: Different numbers of true and predicted images, or of names and images; a label
            image that is not 2-D (:func:`label_plane`) or not integer; a threshold outside (0, 1].
    """
    if isinstance(true, np.ndarray) and (true.ndim == 2 or (true.ndim == 3 and true.shape[-1] <= 4 < true.shape[0])):
        true, pred = [true], [pred]  # one image (H, W, 1 too), not a stack of H images of one row
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} true images but {len(pred)} predicted images")
    if isinstance(names, str):
        names = [names]
    names = list(names) if names is not None else [str(i) for i in range(len(true))]
    if len(names) != len(true):
        raise ValueError(f"{len(names)} names for {len(true)} images; give one name per image")
    thresholds = _threshold_list(thresholds)
    rows = []
    for name, t, p in zip(names, true, pred, strict=True):
        for r in match_counts(t, p, thresholds, min_size):
            rows.append({"image": name, **r})
    per_image = _scores(pd.DataFrame(rows))
    cols = ["tp", "fp", "fn", "n_true", "n_pred", "sum_matched_iou"]
    pooled = _scores(per_image.groupby("thresh", as_index=False)[cols].sum())
    return pooled, per_image
