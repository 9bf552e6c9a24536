"""Files that a copy, download or save in progress leaves in a folder: never an acquisition's input.

:func:`is_temporary_name` tells them by name: a transfer tool's or editor's copy in progress
(``~VID1_phase_A1_1_00d04h00m.tif``, Office's ``~$layout.xlsx``), LibreOffice's lock
(``.~lock.layout.csv#``), a partial download or copy (``*.part``, ``*.partial``, ``*.crdownload``,
WinSCP's ``*.filepart``, ``*.tmp``, ``*.temp``, Resilio Sync's ``*.!sync``; ``B2.tif.part`` too).
The readers' folder walk (:func:`ferroscreen.io.segment_outputs.input_paths`) passes over them and
says so in one line (:func:`temporary_note`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["TEMPORARY_SUFFIXES", "is_input_name", "is_temporary_name", "is_temporary_note", "temporary_note"]

#: Suffixes (lower case) of files being downloaded, copied or saved.
TEMPORARY_SUFFIXES = (".part", ".partial", ".crdownload", ".filepart", ".tmp", ".temp", ".!sync")


def is_temporary_name(name: str) -> bool:
    """Whether the file name ``name`` (no folder) is a copy, download or save in progress (see the module docstring).

    Names starting with ``~``, LibreOffice locks (``.~lock.<name>#``) and names ending (case aside)
    in one of :data:`TEMPORARY_SUFFIXES` are.
    """
    if name.startswith("~") or (name.startswith(".~lock.") and name.endswith("#")):
        return True
    return name.lower().endswith(TEMPORARY_SUFFIXES)


def is_input_name(name: str) -> bool:
    """Whether a file or folder name may be input: neither hidden (``.name``, macOS ``._x.png``) nor temporary."""
    return not name.startswith(".") and not is_temporary_name(name)


def temporary_note(names: Sequence[str | Path]) -> str | None:
    """One line counting the temporary files passed over and naming the first; ``None`` for none.

    ``passed over 2 temporary file(s) (~VID1_phase_A1_1_00d04h00m.tif, ...): a copy or save in progress``
    """
    if not names:
        return None
    more = ", ..." if len(names) > 1 else ""
    return f"passed over {len(names)} temporary file(s) ({names[0]}{more}): a copy or save in progress"


def is_temporary_note(note: str) -> bool:
    """Whether ``note`` holds :func:`temporary_note`'s line."""
    return "temporary file(s) (" in note and "): a copy or save in progress" in note
