"""``ferroscreen segment``'s own output folders: recognised, never read as input, never overwritten.

A folder is a *segment output* when it holds a ``run.json`` that records a
model sha256 and a scale, or a ``segment.json`` whose ``task`` is
``nuclei-segmentation`` (files that merely share those names are not
markers). Its label TIFFs (``labels/``) carry the names of the images they
were made from, so an acquisition reader walking a plate folder that holds
one (``--out plate/seg``) would take them for the plate's images:
:func:`find_segment_outputs` finds such folders and :func:`drop_output_frames`
removes their files from a frame table. The readers walk a plate folder with
:func:`input_paths`, which passes over such folders and the files of a copy or save
in progress (:mod:`ferroscreen.io.temporary_files`), and says so in one note, so
their label images never reach a frame table.

Label file names come from :func:`image_names`: the file stem, unless
another image of the run shares it (case aside), then the whole file name.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ferroscreen.io.temporary_files import is_input_name, is_temporary_name, is_temporary_note, temporary_note

__all__ = [
    "RUN_FILE",
    "SUMMARY_FILE",
    "drop_output_frames",
    "find_segment_outputs",
    "image_names",
    "input_paths",
    "is_passed_over_note",
    "is_segment_output",
    "mentions_output",
    "output_holding",
    "present_outputs",
    "walk_tree",
]

#: What a run records before its first label image (see :mod:`ferroscreen.segment.run`).
RUN_FILE = "run.json"

#: The provenance and summary a finished run writes.
SUMMARY_FILE = "segment.json"

#: Sub-folders of a segment output that hold its images (label TIFFs, score stores).
_OUTPUT_DIRS = ("labels", "store")


def walk_tree(root: str | Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """:func:`os.walk` of ``root`` (top-down) that follows symbolic links to folders and enters each folder once.

    A linked folder is read as if it were there (``plateB/images -> ../plateA/images``); its files keep the
    path through the link. A link is not followed where that would loop or repeat: to a folder the walk has
    already entered or is about to enter (a second link to one folder), to a folder on the way down to it
    (``images/up -> ..``), or, from ``root``'s own tree, to a folder inside ``root`` (walked as itself).
    Sub-folders are walked in name order; a caller prunes ``dirnames`` in place, as with :func:`os.walk`.
    """
    top = os.path.realpath(root)
    entered = {top}
    real_of = {os.fspath(root): top}  # each folder's real path: its parent's + its name, resolved only at a link
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = real_of.pop(dirpath, None) or os.path.realpath(dirpath)
        kept = []
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            link = os.path.islink(full)
            real = os.path.realpath(full) if link else os.path.join(here, d)
            if real in entered or (link and (_holds(real, here) or _holds(top, real))):
                continue
            entered.add(real)
            real_of[full] = real
            kept.append(d)
        dirnames[:] = kept
        yield dirpath, dirnames, filenames
        for d in set(kept) - set(dirnames):  # pruned by the caller: never walked
            real_of.pop(os.path.join(dirpath, d), None)


def _holds(outer: str, inner: str) -> bool:
    """Whether the real path ``inner`` is ``outer`` or lies inside it."""
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def is_segment_output(folder: str | Path) -> bool:
    """Whether ``folder`` holds a segment run (its ``run.json`` or ``segment.json``, see the module docstring)."""
    folder = Path(folder)
    for name in (RUN_FILE, SUMMARY_FILE):
        try:
            record = json.loads((folder / name).read_text())
        except (OSError, ValueError):  # absent, unreadable or not JSON: no marker
            continue
        if not isinstance(record, dict):
            continue
        if name == RUN_FILE and "model_sha256" in record and isinstance(record.get("scale"), dict):
            return True
        if name == SUMMARY_FILE and record.get("task") == "nuclei-segmentation":
            return True
    return False


def find_segment_outputs(root: str | Path) -> list[Path]:
    """Segment output folders at or under the folder ``root``, outermost only, in walk order.

    OME-Zarr stores (``*.zarr``) are not walked: their chunks are no run's.

    Paths are ``root`` joined with the folder's path under it (as the acquisition
    readers name files); a file ``root`` gives none.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in walk_tree(root):
        if (RUN_FILE in filenames or SUMMARY_FILE in filenames) and is_segment_output(dirpath):
            found.append(Path(dirpath))
            dirnames.clear()  # nothing inside a run is input
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.lower().endswith(".zarr"))  # chunks, not runs
    return found


class InputWalk(NamedTuple):
    """What :func:`input_paths` found under a folder."""

    #: Folders and files under it (symbolic links to folders followed, :func:`walk_tree`), sorted, without
    #: segment outputs, hidden and temporary files.
    paths: list[Path]
    #: The segment output folders passed over (outermost only), sorted.
    outputs: list[Path]
    #: One line saying what was passed over (segment outputs, then temporary files), or ``None`` when nothing was.
    note: str | None


def input_paths(root: str | Path) -> InputWalk:
    """Every folder and file under the folder ``root`` but the segment outputs, hidden and temporary files.

    What ``sorted(root.rglob("*"))`` lists, with symbolic links to folders followed (:func:`walk_tree`:
    a plate's ``images`` may link to another disk's; a link that would loop is not), without the folders
    :func:`is_segment_output` recognises and everything inside them (their label images carry the names
    of the images they were made from, so a reader would take them for the plate's own), and without the
    files a copy, download or save in progress leaves
    (:func:`~ferroscreen.io.temporary_files.is_temporary_name`: a ``~VID1_...tif`` copy would be a plate
    ``~VID1``), nor hidden files and folders (a name starting with ``.``: a macOS ``._VID1_A01_s1_w1.TIF``
    fork would be a plate ``._VID1``; :func:`~ferroscreen.io.temporary_files.is_input_name`), which are
    not counted. A ``root`` that is no folder gives nothing. The note names the folders passed over and
    counts their files (:func:`passed_over_note`), and counts the temporary files and names the
    first by its path under ``root`` (:func:`~ferroscreen.io.temporary_files.temporary_note`),
    joined by ``; `` when there are both.
    """
    root = Path(root)
    if not root.is_dir():
        return InputWalk([], [], None)
    paths: list[Path] = []
    outputs: list[Path] = []
    temporary: list[Path] = []
    for dirpath, dirnames, filenames in walk_tree(root):
        here = Path(dirpath)
        kept = []
        for d in dirnames:
            sub = here / d
            if d.startswith("."):  # a hidden folder (.snapshot, .Trashes, .AppleDouble): no plate's
                continue
            if _has_marker(sub) and is_segment_output(sub):
                outputs.append(sub)
            else:
                kept.append(d)
        dirnames[:] = kept
        paths.extend(here / d for d in kept)
        for f in filenames:
            if is_temporary_name(f):
                temporary.append(here / f)
            elif is_input_name(f):  # hidden files (macOS ._x.tif forks, .DS_Store) are passed over unsaid
                paths.append(here / f)
    outputs.sort()
    named = [p.relative_to(root).as_posix() for p in sorted(temporary)]
    notes = [n for n in (passed_over_note(outputs), temporary_note(named)) if n]
    return InputWalk(sorted(paths), outputs, "; ".join(notes) or None)


def _has_marker(folder: Path) -> bool:
    """Whether ``folder`` holds a file named as a segment run's marker (checked before reading it)."""
    return (folder / RUN_FILE).is_file() or (folder / SUMMARY_FILE).is_file()


def passed_over_note(outputs: list[Path]) -> str | None:
    """One line saying which segment output folders a reader passed over and how many files they hold."""
    if not outputs:
        return None
    n = sum(len(files) for out in outputs for _, _, files in os.walk(out))
    where = ", ".join(str(o) for o in outputs[:3]) + (f" and {len(outputs) - 3} more" if len(outputs) > 3 else "")
    return (f"passed over {where}: the output of an earlier segment run ({n} file(s)); its label images are not "
            "input")


def is_passed_over_note(note: str) -> bool:
    """Whether a reader's note is :func:`input_paths`'s: segment outputs or temporary files passed over."""
    return note.startswith("passed over ") and (": the output of an earlier segment run (" in note
                                                or is_temporary_note(note))


def output_holding(path: str | Path) -> Path | None:
    """The segment output that ``path`` is, or whose label image, store or own file it is; else ``None``."""
    path = Path(path)
    if path.is_dir() and is_segment_output(path):
        return path
    for above in list(path.parents)[:2]:
        rel = path.relative_to(above).parts
        own = rel[0] in _OUTPUT_DIRS or (len(rel) == 1 and path.is_file() and path.suffix.lower() in (".csv", ".json"))
        if own and is_segment_output(above):
            return above
    return None


def drop_output_frames(
    frames: pd.DataFrame, skipped: Iterable[tuple[str, str]], outputs: list[Path]
) -> tuple[pd.DataFrame, list[str]]:
    """``frames`` without the files that lie inside ``outputs``, and notes saying what was left out.

    A reader that keeps one file of several for a frame (Cellomics: a ``.tif``
    before its ``.png``) may have chosen a label image over the image it was made
    from; ``skipped`` (the reader's ``(path, reason)`` list) names such a passed-over
    file with a reason ending in the chosen path, and that file takes the dropped
    row's place.
    """
    if not outputs or frames.empty:
        return frames, []
    prefixes = _prefixes(outputs)
    files = frames["planes"] if "planes" in frames.columns else frames["path"]
    inside = [any(_inside(p, prefixes) for p in (f if isinstance(f, list) else [f])) for f in files]
    inside = pd.Series(inside, index=frames.index, dtype=bool)
    if not inside.any():
        return frames, []
    dropped = frames[inside]
    by_path = {str(p): i for i, p in zip(dropped.index, dropped["path"], strict=True)}
    rows = []
    for path, reason in skipped:
        cited = str(reason).rsplit(" as ", 1)[-1]
        i = by_path.pop(cited, None)
        if i is not None and not _inside(path, prefixes):
            rows.append(frames.loc[i].to_dict() | {"path": str(path)})
    kept = frames[~inside]
    if rows:
        from ferroscreen.io.frames import make_frame_table

        kept = make_frame_table(kept.to_dict("records") + rows)
    kept = kept.reset_index(drop=True)
    kept.attrs = dict(frames.attrs)
    where = ", ".join(str(o) for o in outputs[:3]) + (f" and {len(outputs) - 3} more" if len(outputs) > 3 else "")
    note = (f"{int(inside.sum())} file(s) in the output of an earlier segment run ({where}) left out: "
            "label images are not input")
    if rows:
        note += f"; {len(rows)} image(s) they had displaced read instead"
    return kept, [note]


def mentions_output(text: str, outputs: list[Path]) -> Path | None:
    """The first of ``outputs`` whose path (as given, absolute or resolved) ``text`` names, else ``None``."""
    for out in outputs:
        if any(p in text for p in _prefixes([out])):
            return out
    return None


def image_names(paths: Iterable[str | Path]) -> list[str]:
    """Unique names (label file stems) for image files: the stem, or the whole name when stems collide.

    Stems are compared case aside, so names stay apart on case-insensitive disks
    too (``a.png``, ``a.tif`` -> ``a.png``, ``a.tif``: ``labels/a.png.tif``,
    ``labels/a.tif.tif``); names that still collide case aside get ``-2``,
    ``-3``, ... in the given order (``a.PNG``, ``a.png`` -> ``a.PNG``, ``a.png-2``).
    """
    paths = [Path(p) for p in paths]
    stems = Counter(p.stem.lower() for p in paths)
    names, seen = [], set()
    for p in paths:
        name = p.stem if stems[p.stem.lower()] == 1 else p.name
        unique, k = name, 1
        while unique.lower() in seen:
            k += 1
            unique = f"{name}-{k}"
        seen.add(unique.lower())
        names.append(unique)
    return names


def present_outputs(out: Path, names: Iterable[str]) -> list[Path]:
    """The files among ``names`` (paths relative to ``out``) that already exist."""
    return [out / n for n in names if (out / n).exists()]


def _prefixes(outputs: Iterable[Path]) -> list[str]:
    """Each folder as given, absolute and resolved, ending with a separator (for prefix tests on paths)."""
    seen = []
    for out in outputs:
        for p in (str(out), os.path.abspath(out), os.path.realpath(out)):
            p = p.rstrip(os.sep) + os.sep
            if p not in seen:
                seen.append(p)
    return seen


def _inside(path: str | Path, prefixes: list[str]) -> bool:
    """Whether ``path`` (as given or absolute) starts with one of ``prefixes``."""
    text = str(path)
    absolute = os.path.abspath(text)
    return any(text.startswith(p) or absolute.startswith(p) for p in prefixes)
