"""Walking a folder for image files named by an instrument's convention."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ferroscreen.errors import WellError
from ferroscreen.io.segment_outputs import input_paths
from ferroscreen.plate.wells import normalize_well


def named_images(
    root: Path, name_re: re.Pattern, skipped: list[tuple[str, str]], notes: list[str] | None = None
) -> Iterator[tuple[Path, re.Match, str]]:
    """``(path, match, canonical well)`` for files under ``root`` whose name fully matches ``name_re``.

    ``name_re`` needs a ``well`` group. Files are visited in sorted path order; a
    name whose well is not a well is appended to ``skipped`` with the reason.
    Other files are passed over silently (metadata, thumbnails, notes), and so are earlier
    segment outputs' folders (their label images carry the images' names) and temporary files
    (a copy in progress), said in ``notes`` (:func:`~ferroscreen.io.segment_outputs.input_paths`).
    """
    walk = input_paths(root)
    if walk.note and notes is not None:
        notes.append(walk.note)
    for p in walk.paths:
        m = name_re.match(p.name)
        if not m or not p.is_file():
            continue
        try:
            well = normalize_well(m["well"])
        except WellError as exc:
            skipped.append((str(p), str(exc)))
            continue
        yield p, m, well
