"""Adjusted classify-and-count: class fractions corrected for classifier errors.

A classifier with confusion rates ``C[i, j] = P(predicted j | true i)``
turns true fractions ``p`` into expected predicted (argmax) shares
``q = p @ C``. Given observed shares ``q``, the corrected fractions solve that
system by least squares constrained to the probability simplex
(non-negative, summing to one; non-negative least squares with a heavily
weighted sum-to-one row). The constraint matters when the confusion matrix
is ill-conditioned (two classes the classifier mixes up): the unconstrained
solution then swings far outside the simplex and clipping it afterwards
lands on a corner. With a 5 % false-ferroptosis rate, a vehicle
well's observed 5 % ferroptosis share is corrected back towards 0 %.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ferroscreen.errors import FerroscreenError


def confusion_rates(confusion: np.ndarray) -> np.ndarray:
    """Row-normalise a confusion matrix of counts (rows = true class, columns = predicted).

    A class without validation examples (all-zero row) is taken as perfectly
    classified (identity row), so it is left uncorrected.

    Raises:
        ValueError: If the matrix is not square or has negative entries.
    """
    c = np.asarray(confusion, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {c.shape}")
    if (c < 0).any():
        raise ValueError("confusion matrix has negative counts")
    rows = c.sum(axis=1, keepdims=True)
    rates = np.where(rows > 0, c / np.where(rows > 0, rows, 1.0), np.eye(len(c)))
    return rates


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``v`` onto ``{p >= 0, sum(p) = 1}``.

    Rows holding NaN stay NaN.
    """
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    out = np.full_like(v, np.nan)
    ok = np.isfinite(v).all(axis=1)
    x = v[ok]
    if len(x):
        k = x.shape[1]
        s = -np.sort(-x, axis=1)
        css = np.cumsum(s, axis=1) - 1.0
        idx = np.arange(1, k + 1)
        cond = s - css / idx > 0
        rho = k - 1 - np.argmax(cond[:, ::-1], axis=1)
        theta = css[np.arange(len(x)), rho] / (rho + 1)
        out[ok] = np.maximum(x - theta[:, None], 0.0)
    return out


def adjusted_fractions(shares: np.ndarray, confusion: np.ndarray, sum_weight: float = 1e3) -> np.ndarray:
    """Correct observed argmax shares with the classifier's confusion matrix.

    Solves ``min ||p @ R - q||^2`` over ``p >= 0, sum(p) = 1`` for each row
    ``q`` of ``shares`` (``R``: :func:`confusion_rates`).

    Args:
        shares: Observed predicted-class shares, shape ``(..., K)`` (rows sum
            to 1; NaN rows, e.g. wells without cells, stay NaN).
        confusion: ``(K, K)`` validation confusion counts, rows = true class.
        sum_weight: Weight of the sum-to-one equation.

    Returns:
        Corrected fractions, same shape, each row on the simplex.

    Raises:
        ValueError: If the shapes disagree.
    """
    from scipy.optimize import nnls

    q = np.asarray(shares, dtype=np.float64)
    rates = confusion_rates(confusion)
    k = rates.shape[0]
    if q.shape[-1] != k:
        raise ValueError(f"{q.shape[-1]} classes in the shares but a {k}-class confusion matrix")
    flat = q.reshape(-1, k)
    a = np.vstack([rates.T, np.full((1, k), sum_weight)])
    out = np.full_like(flat, np.nan)
    for i, row in enumerate(flat):
        if not np.isfinite(row).all():
            continue
        p, _ = nnls(a, np.append(row, sum_weight))
        out[i] = project_to_simplex(p)[0]
    return out.reshape(q.shape)


def read_confusion_file(path: str | Path) -> dict:
    """The object in a ``ferroscreen evaluate --json`` file, checked only for its ``classes`` and ``confusion`` keys.

    Needs no model, so a scoring run can refuse a bad file before it loads anything heavy;
    :func:`load_confusion` checks the matrix against a model's classes.

    Raises:
        FerroscreenError: Missing or unreadable file, not JSON, keys missing.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FerroscreenError(f"{path}: confusion file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FerroscreenError(f"{path}: not a JSON file from `ferroscreen evaluate --json` ({exc})") from None
    if not isinstance(data, dict) or "confusion" not in data or "classes" not in data:
        raise FerroscreenError(f"{path}: needs 'classes' and 'confusion' (the output of `ferroscreen evaluate --json`)")
    return data


def load_confusion(path: str | Path, classes: list[str], data: dict | None = None,
                   model_digests: tuple[str, ...] = ()) -> np.ndarray:
    """A confusion matrix of counts from ``ferroscreen evaluate --json`` output, checked against ``classes``.

    The file holds one object with ``classes`` (names, rows and columns in
    that order) and ``confusion`` (rows = true class). Its classes must be
    the model's, in the same order; counts must be non-negative and every
    true class must have at least one item. ``data``: the file's object when
    :func:`read_confusion_file` has read it already (``path`` then only names it).
    ``model_digests``: the scoring bundle's sha256 and content sha256
    (:func:`ferroscreen.hashing.bundle_content_sha256`); a file that names its
    model's (``model_sha256``, ``model_content_sha256``) must name one of them: another
    model's confusion corrects this one's fractions with the wrong errors.

    Raises:
        FerroscreenError: Missing or unreadable file, another model's, other classes, bad counts.
    """
    path = Path(path)
    if data is None:
        data = read_confusion_file(path)
    named = [str(data[k]) for k in ("model_sha256", "model_content_sha256") if data.get(k)]
    if model_digests and named and not set(named) & set(model_digests):
        raise FerroscreenError(
            f"{path}: the evaluation of another model (sha256 {named[0][:12]}..., {data.get('model') or 'unnamed'}), "
            f"not of this bundle (sha256 {model_digests[0][:12]}...); evaluate this bundle: ferroscreen evaluate "
            f"DATA --model BUNDLE --json > eval.json")
    if list(data["classes"]) != list(classes):
        raise FerroscreenError(f"{path}: confusion is for classes {list(data['classes'])}, the model has {classes}")
    try:
        cm = np.asarray(data["confusion"], dtype=np.float64)
    except (TypeError, ValueError):
        raise FerroscreenError(f"{path}: 'confusion' is not a numeric matrix") from None
    k = len(classes)
    if cm.shape != (k, k) or not np.all(np.isfinite(cm)) or (cm < 0).any():
        raise FerroscreenError(f"{path}: 'confusion' must be a {k}x{k} matrix of non-negative counts")
    empty = [c for c, n in zip(classes, cm.sum(1), strict=True) if n <= 0]
    if empty:
        raise FerroscreenError(f"{path}: no items of true class {empty} in the confusion matrix")
    return cm
