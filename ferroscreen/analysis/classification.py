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

    A measure with nothing to divide by is undefined and reported as ``None``: the recall
    and F1 of a class with no true items (``support`` 0), the precision of a class never
    predicted (its F1 is then 0 when it has true items: none of them was found). The
    macro-F1 is the mean F1 over the classes with true items, named in
    ``macro_f1_classes`` (a class absent from the data would otherwise count as a failure
    of the model); it is 0.0 when no item was counted at all.

    Returns:
        ``macro_f1``, ``macro_f1_classes``, ``accuracy``, ``per_class`` (name -> ``precision``,
        ``recall``, ``f1``, ``support``), ``confusion`` (rows true), ``classes`` and ``n``.
    """
    cm = np.asarray(confusion, dtype=float)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    per_class, f1s, covered = {}, [], []
    for i, name in enumerate(classes):
        p = float(tp[i] / predicted[i]) if predicted[i] else None
        r = float(tp[i] / support[i]) if support[i] else None
        f1 = None
        if r is not None:
            f1 = 2 * p * r / (p + r) if p is not None and p + r else 0.0
            f1s.append(f1)
            covered.append(name)
        per_class[name] = {"precision": p, "recall": r, "f1": None if f1 is None else float(f1),
                           "support": int(support[i])}
    total = cm.sum()
    return {
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "macro_f1_classes": covered,
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "per_class": per_class,
        "confusion": cm.astype(int).tolist(),
        "classes": list(classes),
        "n": int(total),
    }
