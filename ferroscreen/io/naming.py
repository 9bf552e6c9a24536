"""Walking a folder for image files named by an instrument's convention."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ferroscreen.errors import WellError
from ferroscreen.io.segment_outputs import input_paths
from ferroscreen.io.temporary_files import is_input_name
from ferroscreen.plate.wells import normalize_well


def named_images(
    root: Path,
    name_re: re.Pattern,
    skipped: list[tuple[str, str]],
    notes: list[str] | None = None,
    unnamed: list[Path] | None = None,
) -> Iterator[tuple[Path, re.Match, str]]:
    """``(path, match, canonical well)`` for files under ``root`` whose name fully matches ``name_re``.

    ``name_re`` needs a ``well`` group. Files are visited in sorted path order; a
    name whose well is not a well is appended to ``skipped`` with the reason.
    Other files are passed over silently (metadata, thumbnails, notes), and so are earlier
    segment outputs' folders (their label images carry the images' names) and temporary files
    (a copy in progress), said in ``notes`` (:func:`~ferroscreen.io.segment_outputs.input_paths`).
    A reader whose folders hold no images but its named ones passes ``unnamed``: the image files
    (:func:`is_unnamed_image`) that do not match are appended to it, for :func:`unnamed_note`.
    """
    walk = input_paths(root)
    if walk.note and notes is not None:
        notes.append(walk.note)
    for p in walk.paths:
        m = name_re.match(p.name)
        if not m or not p.is_file():
            if unnamed is not None and not m and is_unnamed_image(p):
                unnamed.append(p)
            continue
        try:
            well = normalize_well(m["well"])
        except WellError as exc:
            skipped.append((str(p), str(exc)))
            continue
        yield p, m, well


def is_unnamed_image(path: Path) -> bool:
    """Whether ``path`` is an image file (:data:`~ferroscreen.io.detect.PLAIN_IMAGE_SUFFIXES`) a reader should read.

    Hidden and temporary files (:func:`~ferroscreen.io.temporary_files.is_input_name`) and thumbnails
    (``thumb`` in the name) are not. Says nothing of the name's convention: :func:`named_images` asks
    it of the files that do not follow it.
    """
    from ferroscreen.io.detect import PLAIN_IMAGE_SUFFIXES  # detect imports the readers, which import this module

    name = path.name
    return (
        path.suffix.lower() in PLAIN_IMAGE_SUFFIXES
        and is_input_name(name)
        and "thumb" not in name.lower()
        and path.is_file()
    )


def unnamed_note(root: Path, unnamed: list[Path], convention: str) -> str | None:
    """One line counting the image files not named by ``convention`` and naming up to 3; ``None`` for none.

    ``3 image file(s) not named by the Cellomics convention were not read: black.png, sat8.png, x/y.png``;
    ``, ...`` follows the third when there are more. Files are named by their path under ``root``.
    """
    if not unnamed:
        return None
    shown = [p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p) for p in sorted(unnamed)[:3]]
    more = ", ..." if len(unnamed) > 3 else ""
    return (
        f"{len(unnamed)} image file(s) not named by the {convention} convention were not read: {', '.join(shown)}{more}"
    )


def is_unnamed_note(note: str) -> bool:
    """Whether ``note`` holds :func:`unnamed_note`'s line (for a command that shows only some reader notes)."""
    return " image file(s) not named by the " in note and " convention were not read: " in note
