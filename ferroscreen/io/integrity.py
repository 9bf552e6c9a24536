"""Cheap checks that image files are readable, without decoding the pixels."""

from __future__ import annotations

import os
from pathlib import Path

from ferroscreen.errors import ImageReadError
from ferroscreen.io.frames import decode_image_file, is_store_frame, load_image


def check_image_file(path: str | Path) -> str | None:
    """Return why ``path`` is unreadable, or ``None`` if it looks intact.

    TIFFs are checked by parsing the header of the first page and verifying
    that its strips/tiles lie inside the file (this catches truncation without
    decoding). OME-Zarr frames and other formats are decoded.
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
    if path.suffix.lower() in (".tif", ".tiff"):
        try:
            import tifffile

            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False)]
                if ends and max(ends) > size:
                    return f"truncated TIFF ({size} bytes, pixel data needs {max(ends)})"
                if 0 in page.shape:
                    return f"TIFF with empty shape {page.shape}"
        except Exception as exc:  # any parse failure means the file is unusable
            return f"not a readable TIFF ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        return None
    try:
        decode_image_file(path)  # checks PNG chunks and JPEG ends first: libpng prints nothing of its own
    except ValueError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    return None
