"""Locating and loading ImageNet weights for torchvision backbones, offline.

``weights="imagenet"`` looks for torchvision's own weights file (the name in
its URL, e.g. ``mobilenet_v2-b0353104.pth``) in, in order: the folders named by
``FERROSCREEN_WEIGHTS_DIR`` (``os.pathsep``-separated), torchvision's cache
(``$TORCH_HOME/hub/checkpoints``), and ``../shared/weights`` beside the working
directory or the source tree. Every copy found is tried in that order until one
loads and fits the network: a damaged or foreign copy (a download cut short) is
passed over, said in a warning, for the next. Nothing is downloaded: no copy at
all is an :class:`ImageNetWeightsNotFound` telling the user where to put it or to
pass a local path; copies that all fail are a
:class:`~ferroscreen.errors.ModelBundleError` naming each file and why.
``weights=PATH`` loads that file. Files are always loaded with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ferroscreen.errors import ModelBundleError
from ferroscreen.models.load_errors import describe_load_error

WEIGHTS_DIR_ENV = "FERROSCREEN_WEIGHTS_DIR"


def weights_search_dirs() -> list[Path]:
    """Folders searched for ImageNet weight files, in order."""
    dirs = [Path(p) for p in os.environ.get(WEIGHTS_DIR_ENV, "").split(os.pathsep) if p]
    dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    dirs.append(Path.cwd().parent / "shared" / "weights")
    dirs.append(Path(__file__).resolve().parents[2].parent / "shared" / "weights")
    return dirs


class ImageNetWeightsNotFound(ModelBundleError):
    """No copy of an ImageNet weights file is in any of the search folders.

    Attributes:
        filename: torchvision's file name (``mobilenet_v2-b0353104.pth``).
        searched: The folders searched, in order.
    """

    def __init__(self, message: str, filename: str, searched: list[Path]) -> None:
        super().__init__(message)
        self.filename = filename
        self.searched = searched


def imagenet_not_found(backbone: str, filename: str) -> ImageNetWeightsNotFound:
    """The error for no copy of ``filename`` (backbone ``backbone``'s) in :func:`weights_search_dirs`."""
    return ImageNetWeightsNotFound(
        f"ImageNet weights for {backbone} ({filename}) are not in torchvision's cache, FERROSCREEN_WEIGHTS_DIR "
        f"or ../shared/weights; put the file there or pass weights: /path/to/{filename}",
        filename, weights_search_dirs())


def imagenet_files(filename: str) -> list[Path]:
    """Every existing ``filename`` in :func:`weights_search_dirs`, in search order (each file once)."""
    found, seen = [], set()
    for d in weights_search_dirs():
        path = d / filename
        if path.is_file() and path.resolve() not in seen:
            seen.add(path.resolve())
            found.append(path)
    return found


def find_imagenet_file(filename: str) -> Path | None:
    """The first existing ``filename`` in :func:`weights_search_dirs`, or ``None`` (it may not be readable)."""
    found = imagenet_files(filename)
    return found[0] if found else None


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a state dict (or a checkpoint holding ``state_dict``) safely.

    Raises:
        ModelBundleError: If the file is missing or not a tensor dictionary.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelBundleError(f"{path}: weights file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt/unsafe files
        raise ModelBundleError(f"{path}: not a loadable weights file: {describe_load_error(exc)}") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelBundleError(f"{path}: does not hold a state dict of tensors")
    return obj
