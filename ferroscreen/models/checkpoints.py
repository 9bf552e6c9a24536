"""Loading Lightning checkpoints without unpickling arbitrary code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ferroscreen.errors import ModelBundleError
from ferroscreen.models.load_errors import describe_load_error

#: Non-tensor types Lightning checkpoints commonly hold (numpy scalars in logged
#: metrics and callback states); allowed on top of ``weights_only`` defaults.
_NP_CORE = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core
_SAFE_GLOBALS = [_NP_CORE.multiarray.scalar, np.dtype, *{type(np.dtype(t)) for t in ("f4", "f8", "i4", "i8", "b1")}]


def load_lightning_checkpoint(path: str | Path) -> dict:
    """Load a Lightning ``.ckpt`` with ``torch.load(weights_only=True)``.

    Raises:
        ModelBundleError: If the file is missing or holds anything beyond
            tensors, plain containers and numpy scalars.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelBundleError(f"{path}: checkpoint not found")
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        raise ModelBundleError(f"{path}: not a loadable checkpoint: {describe_load_error(exc)}") from None
    if not isinstance(blob, dict) or "state_dict" not in blob:
        raise ModelBundleError(f"{path}: not a Lightning checkpoint (no state_dict)")
    return blob
