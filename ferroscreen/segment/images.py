"""Reading and writing single images for segmentation (bit depth preserved).

16-bit PNGs lose their depth in Pillow and imageio; OpenCV with
``IMREAD_UNCHANGED`` and tifffile keep it, so those are used here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ferroscreen.errors import ImageReadError
from ferroscreen.io.detect import PLAIN_IMAGE_SUFFIXES, plain_images
from ferroscreen.io.frames import decode_image_file, is_store_frame, load_image

__all__ = ["IMAGE_SUFFIXES", "list_images", "read_image", "to_gray", "write_labels"]

#: File suffixes treated as images when a folder is given.
IMAGE_SUFFIXES = PLAIN_IMAGE_SUFFIXES


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; hidden files (macOS ``._x.png`` forks) are not images.

    Sub-folders are not read (:func:`ferroscreen.io.detect.plain_images`).
    """
    return plain_images(folder)


def to_gray(image: np.ndarray, channel: int | None = None) -> np.ndarray:
    """A 2-D image from a 2-D one or a stack with one channel (or plane) axis.

    The channel axis is the last when it has at most 4 entries (RGB/RGBA,
    ``(Y, X, C)``), else the first when it has at most 16 (``(C, Y, X)``
    microscope stacks). ``channel`` (0-based) picks one; without it, channels
    that are all equal (grayscale stored as RGB, alpha ignored) give the first.

    Raises:
        ValueError: Channels that differ and no ``channel`` (a nuclear stain must
            be picked, not averaged with other stains), ``channel`` out of range,
            or a shape with no such axis.
    """
    img = np.squeeze(np.asarray(image))
    if img.ndim == 2:
        return img
    if img.ndim != 3:
        raise ValueError(f"expected a 2-D image or one channel axis, got shape {image.shape}")
    if img.shape[-1] <= 4:
        stack = np.moveaxis(img, -1, 0)
    elif img.shape[0] <= 16:
        stack = img
    else:
        raise ValueError(f"expected a 2-D image or one channel axis of at most 16, got shape {image.shape}")
    if channel is not None:
        if not 0 <= channel < len(stack):
            raise ValueError(f"has {len(stack)} channels; --channel-index {channel} is out of range")
        return np.ascontiguousarray(stack[channel])
    colour = stack[:3] if img.shape[-1] == 4 else stack  # RGBA: alpha is not a stain
    if all(np.array_equal(colour[0], c) for c in colour[1:]):
        return np.ascontiguousarray(colour[0])
    raise ValueError(f"holds {len(stack)} channels that differ; pick the nuclear stain with --channel-index (0-based)")


def read_image(path: str | Path, gray: bool = True, channel: int | None = None) -> np.ndarray:
    """Read one image with its original dtype (uint8/uint16/float).

    Args:
        path: PNG/TIFF/JPEG or Cellomics ``.C01``/``.DIB`` file.
        gray: Reduce to a 2-D single-channel array (see :func:`to_gray`).
        channel: The channel :func:`to_gray` keeps from a multi-channel file.

    Raises:
        ImageReadError: The file is missing or cannot be decoded (a PNG or JPEG cut short
            is found before decoding, so the decoder prints nothing on stderr).

    An OME-Zarr frame path (one plane: a single channel) is read by
    :func:`ferroscreen.io.frames.load_image`.
    """
    if is_store_frame(path):
        return load_image(path)
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: image file not found")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            img = tifffile.imread(path)
        elif path.suffix.lower() in (".c01", ".dib"):
            from ferroscreen.io.cellomics import read_cellomics_image

            img = read_cellomics_image(path)
        else:
            img = decode_image_file(path)  # checked first: the decoder prints nothing of its own
            if img.ndim == 3 and img.shape[-1] in (3, 4):
                img = img[..., [2, 1, 0, 3][: img.shape[-1]]]  # OpenCV's BGR(A) -> RGB(A)
    except ImageReadError:
        raise
    except Exception as exc:  # decoder errors vary by library
        raise ImageReadError(f"{path}: cannot decode image ({exc})") from exc
    if img is None:
        raise ImageReadError(f"{path}: cannot decode image")
    if gray:
        try:
            img = to_gray(img, channel)
        except ValueError as exc:
            raise ImageReadError(f"{path}: {exc}") from exc
    return img


def write_labels(path: str | Path, labels: np.ndarray) -> Path:
    """Write a uint16 label image as a zlib-compressed TIFF, whole or not at all (raises if > 65535 labels)."""
    import tifffile

    path = Path(path)
    if labels.max(initial=0) > np.iinfo(np.uint16).max:
        raise ValueError(f"{path}: more than 65535 objects do not fit a uint16 label image")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    tifffile.imwrite(partial, labels.astype(np.uint16), compression="zlib")
    os.replace(partial, path)  # a stopped run leaves a whole file or none
    return path
