"""File digests recorded in provenance (model bundles, registry checks, reports)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of the file at ``path``, read in ``chunk``-byte blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def files_digest(paths, root: str | Path) -> tuple[str, int]:
    """One sha256 standing for the content and names of a set of files, and how many there are.

    The digest covers, sorted by name, each file's name relative to ``root`` (its absolute path
    when outside it) and its own :func:`file_sha256`; paths naming the same file count once. A
    copy of the folder elsewhere gives the same digest; a renamed, added, removed or edited file
    does not.
    """
    base = Path(root).resolve()
    names: dict[str, Path] = {}
    for p in paths:
        full = Path(p).resolve()
        try:
            name = full.relative_to(base).as_posix()
        except ValueError:
            name = full.as_posix()
        names[name] = full
    h = hashlib.sha256()
    for name in sorted(names):
        h.update(f"{name}\0{file_sha256(names[name])}\n".encode())
    return h.hexdigest(), len(names)
