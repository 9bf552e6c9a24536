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
from ferroscreen.io.frames import (
    TIFF_SUFFIXES,
    decode_image_file,
    first_line,
    is_store_frame,
    load_image,
    tiff_problem,
    unreadable_tiff,
)
from ferroscreen.io.planes import PROJECTIONS, project_planes

__all__ = ["IMAGE_SUFFIXES", "list_images", "read_image", "read_z", "tiff_z_planes", "to_gray", "write_labels"]

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


def tiff_z_planes(path: str | Path) -> tuple[int, str]:
    """The z planes of a TIFF image file and its axes, from its header (an ImageJ hyperstack: ``(3, "ZCYX")``).

    A file without a ``Z`` axis (tifffile's reading of its ImageJ or shaped metadata), or one that is
    no TIFF or cannot be read, has 1 plane (an unreadable file fails later, with its own reason); as
    :func:`ferroscreen.io.tiff_stacks.tiff_stack` reads them for acquisitions.
    """
    from ferroscreen.io.tiff_stacks import tiff_stack

    stack = tiff_stack(path)
    return stack.planes, stack.axes


def _read_tiff(path: Path) -> tuple[np.ndarray, str]:
    """Pixels of a TIFF's first series and their axes (tifffile's names: ``ZCYX``, ``YXS``, ``QYX``)."""
    import tifffile

    from ferroscreen.io.ometiff import quiet_tifffile

    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            if tif.is_imagej and int((tif.imagej_metadata or {}).get("images", 1)) > 1:
                problem = tiff_problem(path)  # tifffile reads a stack cut short as its first plane, and says nothing
                if problem is not None:
                    raise ImageReadError(f"{path}: cannot decode image ({problem})")
            series = tif.series[0]
            return series.asarray(), str(series.axes)
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - tifffile raises many types for broken files
        raise ImageReadError(f"{path}: cannot decode image ({unreadable_tiff(path, exc)})") from None


def read_image(path: str | Path, gray: bool = True, channel: int | None = None) -> np.ndarray:
    """Read one image with its original dtype (uint8/uint16/float).

    Args:
        path: PNG/TIFF/JPEG or Cellomics ``.C01``/``.DIB`` file.
        gray: Reduce to a 2-D single-channel array (see :func:`to_gray`).
        channel: The channel :func:`to_gray` keeps from a multi-channel file.

    Raises:
        ImageReadError: The file is missing or cannot be decoded (a PNG or JPEG cut short
            is found before decoding, so the decoder prints nothing on stderr; a TIFF cut short
            is named as :func:`~ferroscreen.io.frames.tiff_problem` names it), or, with ``gray``,
            it is a z-stack (a ``Z`` axis of several planes: :func:`read_z` picks one).

    An OME-Zarr frame path (one plane: a single channel) is read by
    :func:`ferroscreen.io.frames.load_image`.
    """
    return read_z(path, None, channel)[0] if gray else _read_any(path)[0]


def _read_any(path: str | Path) -> tuple[np.ndarray, str]:
    """Pixels of an image file as stored and their axes when the file names them (TIFF), else ``""``."""
    if is_store_frame(path):
        return load_image(path), "YX"
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: image file not found")
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            return _read_tiff(path)
        if path.suffix.lower() in (".c01", ".dib"):
            from ferroscreen.io.cellomics import read_cellomics_image

            img = read_cellomics_image(path)
        else:
            img = decode_image_file(path)  # checked first: the decoder prints nothing of its own
            if img.ndim == 3 and img.shape[-1] in (3, 4):
                img = img[..., [2, 1, 0, 3][: img.shape[-1]]]  # OpenCV's BGR(A) -> RGB(A)
    except ImageReadError:
        raise
    except Exception as exc:  # decoder errors vary by library
        raise ImageReadError(f"{path}: cannot decode image ({first_line(exc)})") from exc
    if img is None:
        raise ImageReadError(f"{path}: cannot decode image")
    return img, ""


def read_z(path: str | Path, z: int | str | None, channel: int | None = None) -> tuple[np.ndarray, int | None]:
    """The 2-D image of a file at z plane ``z`` and, for ``best``, the plane taken.

    A z-stack (a TIFF whose axes hold ``Z`` of several planes: an ImageJ hyperstack ``ZYX`` or
    ``ZCYX``) gives its plane ``z`` (0-based from the bottom), the maximum-intensity projection
    (``max``) or its plane in best focus (``best``; :func:`~ferroscreen.io.planes.project_planes`),
    each plane reduced to the nuclear channel by :func:`to_gray`. A file of one plane is that plane
    for ``z`` 0, ``max``, ``best`` or ``None``.

    Raises:
        ImageReadError: The file cannot be read (:func:`read_image`); a z-stack with ``z`` ``None``
            (which plane to take is the user's call), a plane it lacks, or channels :func:`to_gray` refuses.
    """
    img, axes = _read_any(path)
    n = int(img.shape[axes.index("Z")]) if "Z" in axes and img.ndim == len(axes) else 1
    try:
        if n > 1:
            if z is None:
                raise ValueError(f"is a z-stack of {n} planes (axes {axes}), where one 2-D image per file is read "
                                 "(a folder of such files takes segment --z-plane)")
            planes = np.moveaxis(img, axes.index("Z"), 0)
            if z in PROJECTIONS:
                image, k = project_planes([to_gray(p, channel) for p in planes], str(z))
                return image, k
            if not 0 <= int(z) < n:
                raise ValueError(f"has no z plane {int(z)} (planes 0-{n - 1}, numbered from 0)")
            return to_gray(planes[int(z)], channel), None
        if z is not None and z not in PROJECTIONS and int(z) != 0:
            raise ValueError(f"is a single plane, not a z-stack: no z plane {int(z)}")
        return to_gray(img, channel), (0 if z == "best" else None)
    except ValueError as exc:
        raise ImageReadError(f"{path}: {exc}") from None


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
