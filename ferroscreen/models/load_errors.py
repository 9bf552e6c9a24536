"""Short, accurate reasons for a failed ``torch.load(weights_only=True)``.

torch's own messages run to several lines and, for a file that is simply not a
PyTorch file, talk about changing ``weights_only`` defaults; users need to
know whether the file is corrupt or holds code that a safe load refuses.
"""

from __future__ import annotations

import errno
import pickle
import re
import zipfile
from pathlib import Path

from ferroscreen.errors import ModelBundleError, missing_file

__all__ = ["describe_load_error", "describe_state_dict_error", "require_bundle_file"]


def require_bundle_file(path: str | Path) -> Path:
    """``path`` as a Path when it is a file; needs no torch, so commands check it before loading anything heavy.

    Raises:
        ModelBundleError: ``<path>: model bundle not found``.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelBundleError(missing_file(path, "model bundle"))
    return path


def describe_load_error(exc: BaseException, path: str | Path | None = None) -> str:
    """One line (at most ~160 characters) saying why a safe ``torch.load`` failed.

    * refused globals (pickled Python objects): ``holds Python objects a safe load refuses (...)``;
    * a zip archive (what ``torch.save`` writes) cut short: ``cut short or corrupt ...`` (``path``
      given: its first bytes are a zip header, but the archive's directory at the end is missing);
    * not a pickle/zip, truncated or damaged: ``corrupt, truncated or not a PyTorch file``;
    * anything else: the first line of the exception.
    """
    text = str(exc)
    if path is not None and _cut_short_zip(Path(path)):
        return ("cut short or corrupt: the archive's end is missing (an interrupted copy or download?); "
                "copy it again")
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return f"holds Python objects a safe load refuses ({found.group(1)}); only tensors and plain data are loaded"
    damaged = ("Unsupported operand", "invalid load key", "central directory", "PytorchStreamReader", "truncated")
    # KeyError: a text file's first byte read as a pickle opcode; EINVAL: a seek past the end of a cut-short zip
    if isinstance(exc, EOFError | KeyError | pickle.UnpicklingError) or not text.strip() or any(
            m in text for m in damaged) or (isinstance(exc, OSError) and exc.errno == errno.EINVAL):
        return "corrupt, truncated or not a PyTorch file"
    return text.strip().splitlines()[0][:160]


def describe_state_dict_error(exc: BaseException) -> str:
    """One line for a failed ``load_state_dict``: the first mismatched tensor, its shape in the file and the net's.

    torch lists every mismatch over several lines; this keeps the first and counts the rest.
    """
    text = str(exc)
    sizes = re.findall(r"size mismatch for (\S+): copying a param with shape torch\.Size\(\[([^\]]*)\]\) from "
                       r"checkpoint, the shape in current model is torch\.Size\(\[([^\]]*)\]\)", text)
    if sizes:
        name, got, want = sizes[0]
        more = f"; {len(sizes) - 1} more tensor(s) differ" if len(sizes) > 1 else ""
        return f"{name} is {_shape(got)} in the file, {_shape(want)} in the network{more}"
    missing = re.search(r"Missing key\(s\) in state_dict: ([^.]*)", text)
    if missing:
        keys = re.findall(r'"([^"]+)"', missing.group(1))
        return f"{len(keys)} tensor(s) missing, e.g. {keys[0] if keys else '?'}"
    extra = re.search(r"Unexpected key\(s\) in state_dict: ([^.]*)", text)
    if extra:
        keys = re.findall(r'"([^"]+)"', extra.group(1))
        return f"{len(keys)} unexpected tensor(s), e.g. {keys[0] if keys else '?'}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:160]


def _shape(dims: str) -> str:
    return "x".join(d.strip() for d in dims.split(",") if d.strip()) or "a scalar"


def _cut_short_zip(path: Path) -> bool:
    """Whether ``path`` starts as a zip archive but is not a complete one (a ``torch.save`` file cut short)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head == b"PK\x03\x04" and not zipfile.is_zipfile(path)
