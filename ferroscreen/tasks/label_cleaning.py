"""Cleaning well-level labels before the rest of training.

A reference well's label is its inducer's mode, but not every cell in it shows
that mode: survivors and cells not yet dying look alive, and vehicle wells hold
a few cells dying of background causes. After a short warm-up on the noisy
labels the model already separates the bulk of each class, so an item whose
prediction confidently names another class (argmax != label and
p(argmax) >= ``threshold``) is most likely mislabelled. Such items are then
dropped from the loss (``drop``) or given the predicted class (``relabel``).
Validation labels are never changed, so validation metrics stay comparable.

Two sources for the predictions: a ``snapshot`` (one eval-mode pass over the
training items at the cleaning epoch; items flagged then stay flagged) or a
``running`` average (:class:`RunningPredictions`: each item's training-step
probabilities, averaged over epochs with a momentum; flags are recomputed
from the original labels every epoch, so an item can come back). The running
source costs no extra forward pass and does not hang on one epoch's weights.
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE = -100  # torch.nn.functional.cross_entropy's default ignore_index

__all__ = ["IGNORE", "RunningPredictions", "clean_labels", "label_issues", "predict_in_batches"]


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


class RunningPredictions:
    """Per-item class probabilities averaged over observations (an exponential moving average).

    ``update(index, probs)`` sets an item's first observation as it is and then
    blends ``momentum * old + (1 - momentum) * new``. Items never observed have
    no prediction (:meth:`probs` gives them a uniform row, which flags nothing at
    a threshold above ``1 / n_classes``).
    """

    def __init__(self, n_items: int, n_classes: int, momentum: float = 0.5) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)
        self._p = np.full((n_items, n_classes), 1.0 / n_classes)
        self._seen = np.zeros(n_items, dtype=bool)

    def update(self, index: np.ndarray, probs: np.ndarray) -> None:
        """Blend the probabilities ``probs`` (B, C) of the items ``index`` (B,) into the average."""
        index = np.asarray(index, dtype=np.int64)
        probs = np.asarray(probs, dtype=np.float64)
        seen = self._seen[index]
        m = np.where(seen, self.momentum, 0.0)[:, None]
        self._p[index] = m * self._p[index] + (1.0 - m) * probs
        self._seen[index] = True

    @property
    def n_seen(self) -> int:
        """Items observed at least once."""
        return int(self._seen.sum())

    def probs(self) -> np.ndarray:
        """(N, C) averaged probabilities (a copy)."""
        return self._p.copy()

    def state_dict(self) -> dict:
        """The average as tensors and plain numbers (a checkpoint loads it with ``weights_only=True``)."""
        return {"probs": torch.from_numpy(self._p.copy()), "seen": torch.from_numpy(self._seen.copy()),
                "momentum": self.momentum}

    def load_state_dict(self, state: dict) -> None:
        """Take over the average of :meth:`state_dict` (the momentum stays this one's).

        Raises:
            ValueError: ``state`` covers another number of items or classes.
        """
        p = np.asarray(state["probs"], dtype=np.float64)
        if p.shape != self._p.shape:
            raise ValueError(f"running predictions of {p.shape[0]} items x {p.shape[1] if p.ndim == 2 else 0} "
                             f"classes where {self._p.shape[0]} x {self._p.shape[1]} are trained")
        self._p = p.copy()
        self._seen = np.asarray(state["seen"], dtype=bool).copy()


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
