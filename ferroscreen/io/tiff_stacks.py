"""Z-stacks stored one per TIFF file: each plane a frame of its own.

A frame file of a plain-file acquisition (IncuCyte, pattern, ImageXpress, ...) may be a z-stack:
a TIFF whose first series has a ``Z`` axis of several planes (an ImageJ hyperstack ``ZYX`` or
``ZCYX``, as :func:`ferroscreen.segment.images.tiff_z_planes` tells them). :func:`expand_tiff_stacks`
gives each of its planes a row of the frame table (``z`` 0, 1, ... from the bottom; the path
names the plane's page, :func:`~ferroscreen.io.frames.page_frame_path`), as the readers of
multi-plane formats do, so that scoring and detection pick one plane as they do there
(:func:`~ferroscreen.io.planes.choose_plane`: ``--z-plane``, else the only, else the lowest).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ferroscreen.io.frames import TIFF_SUFFIXES, is_store_frame, make_frame_table, page_frame_path

__all__ = ["TiffStack", "expand_tiff_stacks", "stack_notes", "tiff_stack"]

#: Axes of one image (a page): rows, columns, samples.
_IMAGE_AXES = "YXS"


class TiffStack(NamedTuple):
    """The planes of a TIFF file, from its header."""

    #: Planes of its ``Z`` axis (1 without one).
    planes: int
    #: The axes of its first series (tifffile's names: ``ZCYX``, ``QYX``), ``""`` for no readable TIFF.
    axes: str
    #: Images (pages) of its first series.
    images: int
    #: Page index of plane ``z`` is ``z * stride``: the other axes' first image (0 when its planes have no page).
    stride: int


_FLAT = TiffStack(1, "", 1, 1)


def tiff_stack(path: str | Path) -> TiffStack:
    """The planes of the TIFF image file ``path`` (see :class:`TiffStack`); a single image for anything else.

    A file that is no TIFF or cannot be read is one image (it fails later, when read, with its own reason).
    Planes whose pages the file lacks (an ImageJ stack saved with one image directory) get ``stride`` 0.
    """
    if Path(path).suffix.lower() not in TIFF_SUFFIXES or not Path(path).is_file():
        return _FLAT
    import tifffile

    from ferroscreen.io.ometiff import quiet_tifffile

    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes, shape = str(series.axes), tuple(int(n) for n in series.shape)
            n_pages = len(tif.pages)
    except Exception:  # noqa: BLE001 - tifffile raises many types for broken files
        return _FLAT
    images, stride, planes = 1, 1, 1
    for i, (axis, n) in enumerate(zip(axes, shape, strict=True)):
        if axis in _IMAGE_AXES:
            continue
        images *= n
        if axis == "Z":
            planes = n
            stride = 1
            for later, m in zip(axes[i + 1:], shape[i + 1:], strict=True):
                stride *= 1 if later in _IMAGE_AXES else m
    if planes > 1 and n_pages < images:
        stride = 0
    return TiffStack(planes, axes, images, stride)


def expand_tiff_stacks(frames: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``frames`` with a row per plane of each z-stack TIFF file, and notes saying which files are stacks.

    The files of a plate's channel are looked at when its frames are all at ``z`` 0 (the reader
    found no planes) and the first of them is a TIFF file of several images: each file that is a
    z-stack whose planes have pages then gives rows ``z`` 0 to ``planes - 1`` (the path of plane
    ``z``: its page with the other axes at their first, ``ZCYX``'s first channel), the others stay
    as they are (their first image). Notes (:func:`stack_notes`): one for the z-stacks, naming the
    first and its planes; one for the files of several images read as their first (no ``Z`` axis,
    or no page per plane). Other frames (planes already, store frames, other files) are kept as they are.
    """
    if frames.empty or not {"plate", "channel", "z", "path"} <= set(frames.columns):
        return frames, []
    stacks: list[tuple[str, TiffStack]] = []
    firsts: list[tuple[str, TiffStack]] = []
    rows: dict[int, list[dict]] = {}
    for _, group in frames.groupby(["plate", "channel"], sort=False):
        if (group["z"] != 0).any() or _probe(group["path"].iloc[0]).images < 2:
            continue
        for i, path in zip(group.index, group["path"], strict=True):
            found = _probe(path)
            if found.planes > 1 and found.stride:
                stacks.append((str(path), found))
                base = frames.loc[i].to_dict()
                rows[i] = [base | {"z": z, "path": page_frame_path(path, z * found.stride)}
                           for z in range(found.planes)]
            elif found.images > 1:
                firsts.append((str(path), found))
    if rows:
        records = []
        for i, row in zip(frames.index, frames.to_dict("records"), strict=True):
            records += rows.get(i, [row])
        expanded = make_frame_table(records)
        expanded.attrs = dict(frames.attrs)
        frames = expanded
    return frames, stack_notes(stacks, firsts)


def _probe(path) -> TiffStack:
    """:func:`tiff_stack` of a frame-table path that is a TIFF file, else a single image."""
    path = str(path)
    if not path or is_store_frame(path):
        return _FLAT
    return tiff_stack(path)


def stack_notes(stacks: list[tuple[str, TiffStack]], firsts: list[tuple[str, TiffStack]]) -> list[str]:
    """One line for the z-stack files read plane by plane and one for the files of several images read as their first.

    ``stacks`` and ``firsts`` are ``(file, its TiffStack)``; a list that is empty gives no line.
    """
    notes = []
    if stacks:
        path, s = stacks[0]
        more = f" (and {len(stacks) - 1} more such file(s))" if len(stacks) > 1 else ""
        other = s.axes.replace("Z", "").translate(str.maketrans("", "", _IMAGE_AXES))
        other = f"; of its other axes ({other}) the first is read" if other else ""
        notes.append(f"{path}: a z-stack of {s.planes} planes (axes {s.axes}) in one TIFF{more}: each plane is a "
                     f"frame, z 0-{s.planes - 1}{other}")
    if firsts:
        path, s = firsts[0]
        more = f" (and {len(firsts) - 1} more such file(s))" if len(firsts) > 1 else ""
        why = "its planes have no pages of their own" if s.planes > 1 else "no z axis"
        notes.append(f"{path}: holds {s.images} images (axes {s.axes}; {why}){more}: only its first is read")
    return notes
