"""Short, accurate reasons for a failed ``torch.load(weights_only=True)``.

torch's own messages run to several lines and, for a file that is simply not a
PyTorch file, talk about changing ``weights_only`` defaults; users need to
know whether the file is corrupt or holds code that a safe load refuses.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

from ferroscreen.errors import ModelBundleError, missing_file

__all__ = ["describe_load_error", "require_bundle_file"]


def require_bundle_file(path: str | Path) -> Path:
    """``path`` as a Path when it is a file; needs no torch, so commands check it before loading anything heavy.

    Raises:
        ModelBundleError: ``<path>: model bundle not found``.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelBundleError(missing_file(path, "model bundle"))
    return path


def describe_load_error(exc: BaseException) -> str:
    """One line (at most ~160 characters) saying why a safe ``torch.load`` failed.

    * refused globals (pickled Python objects): ``holds Python objects a safe load refuses (...)``;
    * not a pickle/zip, truncated or damaged: ``corrupt, truncated or not a PyTorch file``;
    * anything else: the first line of the exception.
    """
    text = str(exc)
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return f"holds Python objects a safe load refuses ({found.group(1)}); only tensors and plain data are loaded"
    damaged = ("Unsupported operand", "invalid load key", "central directory", "PytorchStreamReader", "truncated")
    if isinstance(exc, EOFError | KeyError | pickle.UnpicklingError) or not text.strip() or any(
            m in text for m in damaged):  # KeyError: a text file's first byte read as a pickle opcode
        return "corrupt, truncated or not a PyTorch file"
    return text.strip().splitlines()[0][:160]
