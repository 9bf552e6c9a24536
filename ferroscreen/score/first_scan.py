"""A ``score --watch`` started before the imager's first scan: what counts as image data, and the wait for it.

:func:`open_first_scan` opens an acquisition folder; with ``watch``, a folder holding no image data
yet (:func:`image_files`) is looked at again every poll until its first scan opens.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from ferroscreen.errors import AcquisitionError
from ferroscreen.score.idle import describe_wait

__all__ = ["CONTAINER_SUFFIXES", "MIN_FIRST_SCAN_POLL_S", "format_argument_usable", "image_files", "open_first_scan"]

#: Suffixes (lower case) of image data files besides :data:`ferroscreen.io.detect.PLAIN_IMAGE_SUFFIXES`
#: (``.ome.tif``/``.ome.tiff`` among them): Zeiss CZI and OME-TIFF's BigTIFF variants.
CONTAINER_SUFFIXES = (".czi", ".ome.tf2", ".ome.tf8", ".ome.btf")

#: Names of Zarr metadata files: a folder holding one is (in) a Zarr store.
ZARR_METADATA = frozenset({"zarr.json", ".zattrs", ".zgroup", ".zarray", ".zmetadata"})

#: A Zarr chunk (or shard) file's name: v2 ``0.0.0`` (or ``0`` in nested ``0/0/0``), v3 ``c.0.0.0`` (or ``0`` in
#: ``c/0/0/0``).
ZARR_CHUNK_NAME = re.compile(r"(c\.)?\d+(\.\d+)*")

#: Image files :func:`image_files` lists before it stops (enough to see files still landing).
IMAGE_FILES_LIMIT = 1000

#: Shortest pause between two looks at a watched folder, before its first scan and after (``poll_s`` 0 is no
#: busy walk).
MIN_FIRST_SCAN_POLL_S = 0.1


def image_files(root: Path, limit: int = IMAGE_FILES_LIMIT) -> tuple[tuple[str, int, float], ...]:
    """The image data in folder ``root``, at any depth, as sorted ``(relative path, size, mtime)``; ``()`` for none.

    Image data is a file whose name ends (case aside) in one of
    :data:`~ferroscreen.io.detect.PLAIN_IMAGE_SUFFIXES` or :data:`CONTAINER_SUFFIXES`, or a chunk of
    a Zarr store: a file named as chunks are (:data:`ZARR_CHUNK_NAME`) in a folder named ``*.zarr``
    or holding Zarr metadata (:data:`ZARR_METADATA`), or below one (an OME-Zarr plate sized ahead
    of its scans holds none until the first lands). Hidden files and folders and temporary files
    (:func:`~ferroscreen.io.temporary_files.is_temporary_name`: a copy in progress) are none.
    At most ``limit`` files are listed; a file gone while listed is left out.
    """
    from ferroscreen.io.detect import PLAIN_IMAGE_SUFFIXES
    from ferroscreen.io.segment_outputs import walk_tree
    from ferroscreen.io.temporary_files import is_input_name

    suffixes = PLAIN_IMAGE_SUFFIXES + CONTAINER_SUFFIXES
    found: list[tuple[str, int, float]] = []
    zarr: set[str] = set()  # folders inside a Zarr store
    for folder, dirs, files in walk_tree(root):  # linked image folders followed, as the readers follow them
        dirs[:] = sorted(d for d in dirs if is_input_name(d))
        in_zarr = (folder in zarr or Path(folder).name.lower().endswith(".zarr")
                   or any(f in ZARR_METADATA for f in files))
        if in_zarr:
            zarr.update(os.path.join(folder, d) for d in dirs)
        for name in sorted(files):
            if not is_input_name(name):
                continue
            if not (name.lower().endswith(suffixes) or (in_zarr and ZARR_CHUNK_NAME.fullmatch(name))):
                continue
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:  # gone while listed
                continue
            found.append((os.path.relpath(path, root), int(st.st_size), float(st.st_mtime)))
            if len(found) >= limit:
                return tuple(sorted(found))
    return tuple(sorted(found))


def format_argument_usable(fmt: str | None) -> bool:
    """Whether ``fmt`` can read a folder: ``None``, a :data:`~ferroscreen.io.detect.FORMATS` name, ``pattern:RE``.

    ``False`` for an unknown name, ``pattern`` without a regex, or a regex that
    :func:`~ferroscreen.io.pattern.read_pattern` refuses before it looks at any file: errors that
    no scan landing can fix.
    """
    from ferroscreen.io.detect import FORMATS

    if fmt is None:
        return True
    if not fmt.startswith("pattern:"):
        return fmt in FORMATS and fmt != "pattern"
    try:
        groups = set(re.compile(fmt[len("pattern:"):]).groupindex)
    except re.error:
        return False
    return "well" in groups and not {"time", "timepoint"} <= groups


def open_first_scan(acquisition: Path, fmt: str | None, interval_h: float, watch: bool, poll_s: float,
                    idle_exit_s: float, log, before_waiting=None):
    """Open ``acquisition`` (:func:`ferroscreen.io.open_acquisition`); with ``watch``, wait for its first scan.

    Without ``watch``, or when the folder cannot be read for a reason no scan fixes (it is missing or
    a file, holds image data (:func:`image_files`) already, or ``fmt`` is unusable:
    :func:`format_argument_usable`), the error is raised at once, as ``open_acquisition`` gives it.
    A watch on a folder with no image data yet (empty, or a layout file or an imager's metadata only:
    started before the imager's first scan) calls ``before_waiting`` (checks of the other inputs, so a
    broken one fails now, not when the scan lands), logs one line, and looks again every ``poll_s``
    seconds (at least :data:`MIN_FIRST_SCAN_POLL_S`) until the folder opens. Image data that landed
    but does not open yet is looked at again while it changes between two looks (files still
    landing); unchanged, its error is raised. Nothing is written meanwhile; the caller's store lock
    stays held (a second run into the same store is refused at once), and Ctrl-C raises
    ``KeyboardInterrupt`` as during a watch.

    Raises:
        AcquisitionError: As ``open_acquisition``; the folder's first error with ``no images after waiting
            N s`` when ``idle_exit_s`` passes with no image data; image data that landed and stays
            unreadable.
    """
    from ferroscreen.io import open_acquisition

    try:
        return open_acquisition(acquisition, fmt, interval_h=interval_h)
    except AcquisitionError as exc:
        if not watch or not acquisition.is_dir() or not format_argument_usable(fmt) or image_files(acquisition):
            raise
        first = exc
    if before_waiting is not None:
        before_waiting()
    log(f"{acquisition}: no images yet; waiting for the first scan (a poll every {poll_s:g} s, for up to "
        f"{describe_wait(idle_exit_s)})")
    start = time.monotonic()
    landed: tuple = ()  # the image data of the last look at which some had landed but did not open
    while True:
        left = idle_exit_s - (time.monotonic() - start)
        if left <= 0:
            if landed:  # files landed that did not open, and were still changing
                return open_acquisition(acquisition, fmt, interval_h=interval_h)
            raise AcquisitionError(f"{first}; no images after waiting {describe_wait(idle_exit_s)}") from None
        time.sleep(min(max(poll_s, MIN_FIRST_SCAN_POLL_S), left))
        files = image_files(acquisition)
        if not files:
            landed = ()
            continue
        try:
            return open_acquisition(acquisition, fmt, interval_h=interval_h)
        except AcquisitionError:
            if files == landed:  # nothing changed since the last look: it will not open by waiting
                raise
            landed = files


def wait_for_label_free_channel(acq, acquisition: Path, fmt: str | None, interval_h: float, trained: str | None,
                                poll_s: float, limit_s: float, log):
    """With ``watch``, wait while the only channel that has landed is not one ``score`` would pick by name.

    A scan whose fluorescence images land before its phase ones would otherwise lock the whole plate
    onto the fluorescence channel (the one channel present is taken). Waits while every channel present
    is neither ``trained`` (the bundle's) nor recognisably brightfield/phase, and more could follow (one
    scan so far: a plate whose second scan still has one channel has only that one): at most ``limit_s``
    seconds, then returns what is there (the usual choice then applies). Returns the acquisition as last
    opened.
    """
    from ferroscreen.io import open_acquisition
    from ferroscreen.io.channels import LABEL_FREE_RE

    def waiting(frames) -> list[str]:
        names = sorted(set(frames["channel"].astype(str)))
        ok = [n for n in names if LABEL_FREE_RE.search(n) or (trained and n.casefold() == str(trained).casefold())]
        later_scan = frames["time_h"].nunique() > 1  # a second scan with still one channel: the plate has one
        return [] if ok or len(names) > 1 or later_scan else names

    names = waiting(acq.frames)
    if not names:
        return acq
    log(f"{acquisition}: only channel {', '.join(names)} has landed, no brightfield/phase one"
        + (f" nor '{trained}' (the model was trained on it)" if trained else "")
        + f"; waiting for it (up to {describe_wait(limit_s)}) before choosing")
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        time.sleep(max(poll_s, MIN_FIRST_SCAN_POLL_S))
        try:
            acq = open_acquisition(acquisition, fmt, interval_h=interval_h)
        except AcquisitionError:
            continue
        if not waiting(acq.frames):
            return acq
    return acq
