"""Cheap checks that image files are readable, without decoding the pixels."""

from __future__ import annotations

import os
from pathlib import Path

from ferroscreen.errors import ImageReadError
from ferroscreen.io.cellomics import NATIVE_SUFFIXES, cellomics_problem
from ferroscreen.io.frames import TIFF_SUFFIXES, decode_image_file, is_store_frame, load_image, tiff_problem


def check_image_file(path: str | Path) -> str | None:
    """Return why ``path`` is unreadable, or ``None`` if it looks intact.

    TIFFs are checked by parsing the header and the first page's directory and verifying
    that its strips/tiles lie inside the file (this catches truncation without
    decoding; :func:`~ferroscreen.io.frames.tiff_problem`, whose reason reading the file
    gives too). Cellomics ``.C01``/``.DIB`` files are checked by their own reader's rules
    (:func:`~ferroscreen.io.cellomics.cellomics_problem`: header and pixel-block length, no
    pixel array). OME-Zarr frames and other formats are decoded.
    """
    if is_store_frame(path):
        try:
            load_image(path)
        except ImageReadError as exc:
            return str(exc).removeprefix(f"{path}: ")
        return None
    path = Path(path)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        return f"cannot stat ({exc.strerror})"
    if size == 0:
        return "empty file"
    if path.suffix.lower() in TIFF_SUFFIXES:
        return tiff_problem(path)  # the reason load_image gives when decoding it fails
    if path.suffix.lower() in NATIVE_SUFFIXES:  # not OpenCV's: load_image reads them with read_cellomics_image
        return cellomics_problem(path)
    try:
        decode_image_file(path)  # checks PNG chunks and JPEG ends first: libpng prints nothing of its own
    except ValueError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    return None
