"""Cleaning well-level labels before the rest of training.

A reference well's label is its inducer's mode, but not every cell in it shows
that mode: survivors and cells not yet dying look alive, and vehicle wells hold
a few cells dying of background causes. After a short warm-up on the noisy
labels the model already separates the bulk of each class, so an item whose
prediction confidently names another class (argmax != label and
p(argmax) >= ``threshold``) is most likely mislabelled. Such items are then
dropped from the loss (``drop``) or given the predicted class (``relabel``).
Validation labels are never changed, so validation metrics stay comparable.
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE = -100  # torch.nn.functional.cross_entropy's default ignore_index

__all__ = ["IGNORE", "clean_labels", "label_issues", "predict_in_batches"]


def label_issues(probs: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Flag items whose prediction confidently names another class.

    Args:
        probs: (N, C) class probabilities.
        labels: (N,) given labels (negative labels are never flagged).
        threshold: Minimum probability of the predicted class.

    Returns:
        ``(flags, predicted)``: boolean (N,) and the argmax class (N,).
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    pred = probs.argmax(1) if len(probs) else np.zeros(0, np.int64)
    conf = probs.max(1) if len(probs) else np.zeros(0)
    flags = (labels >= 0) & (pred != labels) & (conf >= threshold)
    return flags, pred


def clean_labels(
    probs: np.ndarray, labels: np.ndarray, action: str, threshold: float = 0.5
) -> tuple[np.ndarray, dict]:
    """New training labels and a JSON-ready summary of what changed.

    ``action`` is ``drop`` (flagged items get :data:`IGNORE`) or ``relabel``
    (flagged items get the predicted class). ``labels`` is not modified.
    """
    if action not in ("drop", "relabel"):
        raise ValueError(f"label cleaning action must be 'drop' or 'relabel', got {action!r}")
    labels = np.asarray(labels, dtype=np.int64)
    flags, pred = label_issues(probs, labels, threshold)
    new = labels.copy()
    new[flags] = IGNORE if action == "drop" else pred[flags]
    n_classes = probs.shape[1] if np.ndim(probs) == 2 else 0
    per_class = np.bincount(labels[flags], minlength=n_classes)
    totals = np.bincount(labels[labels >= 0], minlength=n_classes)
    summary = {
        "action": action,
        "threshold": float(threshold),
        "n_items": int(len(labels)),
        "n_flagged": int(flags.sum()),
        "flagged_per_label": per_class.tolist(),
        "items_per_label": totals.tolist(),
    }
    return new, summary


@torch.no_grad()
def predict_in_batches(
    net: torch.nn.Module, x: torch.Tensor, batch_size: int = 512, device: torch.device | str | None = None
) -> np.ndarray:
    """Softmax probabilities of ``net`` over ``x`` (N, 1, S, S), in eval mode; the mode is restored.

    Batches are moved to ``device`` one at a time (``x`` itself stays where it is).
    """
    was_training = net.training
    net.eval()
    try:
        out = [
            torch.softmax(net(x[i : i + batch_size].to(device).float()), 1).cpu()
            for i in range(0, len(x), batch_size)
        ]
    finally:
        net.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)
