"""Classification metrics from a confusion matrix (numpy only).

Convention: ``confusion[i, j]`` counts items of true class ``i`` predicted as
class ``j``.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes × n_classes), rows = true class, columns = predicted."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def classification_report(confusion: np.ndarray, classes: list[str]) -> dict:
    """Per-class precision/recall/F1/support, macro-F1 and accuracy.

    Classes with no true items and no predictions are left out of the macro
    average (their F1 is undefined) and reported with ``None`` values.
    """
    cm = np.asarray(confusion, dtype=float)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    per_class, f1s = {}, []
    for i, name in enumerate(classes):
        if support[i] == 0 and predicted[i] == 0:
            per_class[name] = {"precision": None, "recall": None, "f1": None, "support": 0}
            continue
        p = tp[i] / predicted[i] if predicted[i] else 0.0
        r = tp[i] / support[i] if support[i] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        f1s.append(f1)
        per_class[name] = {"precision": float(p), "recall": float(r), "f1": float(f1), "support": int(support[i])}
    total = cm.sum()
    return {
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "per_class": per_class,
        "confusion": cm.astype(int).tolist(),
        "classes": list(classes),
        "n": int(total),
    }
