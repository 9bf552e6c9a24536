"""Test-time augmentation of the crop classifier: the 8 dihedral views of each crop, probabilities averaged.

A cell in a brightfield crop has no up or down, so its class should not change
under the 4 rotations by 90° and their mirror images. :func:`tta_proba` scores
every view (all channels of a next-scan crop turned together) and returns the
mean of the calibrated probabilities. The temperature was fitted on single
views, so the mean is a little less confident than one view; the argmax share
(``export``'s default fraction) does not depend on that.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

#: Number of dihedral views: 4 rotations, each also mirrored.
VIEWS = 8


def dihedral_view(x, k: int):
    """View ``k`` (0..7) of crops ``(..., S, S)``: ``k // 2`` quarter turns, mirrored left-right when ``k`` is odd."""
    if isinstance(x, torch.Tensor):
        y = torch.rot90(x, k // 2, dims=(-2, -1))
        return (torch.flip(y, dims=(-1,)) if k % 2 else y).contiguous()
    y = np.rot90(x, k // 2, axes=(-2, -1))
    return np.ascontiguousarray(y[..., ::-1] if k % 2 else y)


def tta_proba(predict: Callable, crops):
    """Mean of ``predict(view)`` over the :data:`VIEWS` views of ``crops`` (same type as ``predict`` returns).

    Args:
        predict: Crops ``(N, [C,] S, S)`` -> probabilities ``(N, n_classes)``
            (a tensor or an array).
        crops: The crops, a tensor or an array.
    """
    total = None
    for k in range(VIEWS):
        p = predict(dihedral_view(crops, k))
        total = p if total is None else total + p
    return total / VIEWS


__all__ = ["VIEWS", "dihedral_view", "tta_proba"]
