"""Output files of one run, put in place together or not at all.

A command that writes several tables into a folder (``fit``, ``hits``) must
not leave that folder half new when it fails part-way: a table from this run
beside tables of an earlier run read as one result. :class:`OutputSet` gives
each output a hidden temporary path beside its final name (``.NAME.tmp``).
Only when the whole run has written them does :meth:`OutputSet.commit` put
them in place, in two steps that can be undone:

1. every file about to be replaced or removed is renamed aside (``.NAME.old``);
2. every temporary file is renamed to its final name; the set-aside files are deleted.

If any rename fails (no permission, an immutable file, a folder where a file
goes), the steps already done are undone and the error is raised: the folder
holds its earlier outputs, unchanged. A run that fails before committing
leaves only its temporaries, which are deleted.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["NestedOutputSet", "OutputSet", "output_set"]


class OutputSet:
    """Files written into ``folder`` as one set (see the module docstring).

    Use as a context manager: the set commits when the block ends without an
    exception and is discarded when it raises.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._written: dict[str, Path] = {}
        self._dropped: set[str] = set()

    def path(self, name: str) -> Path:
        """The temporary path to write output ``name`` to (creating the folder)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._dropped.discard(name)
        tmp = self.folder / f".{name}.tmp"
        self._written[name] = tmp
        return tmp

    def final(self, name: str) -> Path:
        """Where output ``name`` lies once committed."""
        return self.folder / name

    def drop(self, name: str) -> None:
        """Remove an earlier run's ``name`` at commit (an output this run does not make)."""
        tmp = self._written.pop(name, None)
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        self._dropped.add(name)

    def discard(self) -> None:
        """Delete this run's temporaries; the folder keeps what it held."""
        for tmp in self._written.values():
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        self._written.clear()
        self._dropped.clear()

    def commit(self) -> None:
        """Put every written output in place and remove the dropped ones, all or none.

        Raises:
            OSError: A rename failed; the folder is as it was before the run. An interrupt
                (KeyboardInterrupt) between two renames is re-raised after the same rollback.
        """
        for name, tmp in self._written.items():
            if not tmp.is_file():
                raise FileNotFoundError(2, "output was not written", str(self.final(name)))
        replaced = [n for n in (*self._written, *sorted(self._dropped)) if os.path.lexists(self.final(n))]
        for name in replaced:
            if self.final(name).is_dir():
                self.discard()
                raise IsADirectoryError(21, "a folder stands where an output file goes", str(self.final(name)))
        aside: list[str] = []
        placed: list[str] = []
        try:
            for name in replaced:
                aside.append(name)  # recorded first: an interrupt right after the rename is undone too
                os.replace(self.final(name), self.folder / f".{name}.old")
            for name, tmp in self._written.items():
                placed.append(name)
                os.replace(tmp, self.final(name))
        except BaseException:  # a failed rename, or Ctrl-C between two: the folder back as it was
            for name in placed:
                if os.path.lexists(self._written[name]):  # its rename never happened
                    continue
                with contextlib.suppress(OSError):
                    os.replace(self.final(name), self._written[name])
            for name in aside:
                if not os.path.lexists(self.folder / f".{name}.old"):
                    continue
                with contextlib.suppress(OSError):
                    os.replace(self.folder / f".{name}.old", self.final(name))
            self.discard()
            raise
        for name in aside:
            with contextlib.suppress(OSError):
                (self.folder / f".{name}.old").unlink()
        self._written.clear()
        self._dropped.clear()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


class NestedOutputSet(OutputSet):
    """An :class:`~ferroscreen.output_set.OutputSet` whose outputs may lie in a subfolder (``galleries/g001.png``).

    The set's temporary file of ``SUB/NAME`` is ``.SUB/NAME.tmp``, and an earlier ``SUB/NAME`` it
    replaces or drops is set aside as ``.SUB/NAME.old``: both wait in the hidden folder ``.SUB/``, so
    one commit puts the subfolder's files in place with the folder's own, all or none (files of
    ``SUB/`` that are no outputs stay). ``SUB/`` is made at the commit; after the commit or a
    discard ``.SUB/`` goes, and ``SUB/`` too when it is left empty.
    """

    def __init__(self, folder: str | Path) -> None:
        super().__init__(folder)
        self._subfolders: set[str] = set()

    def _stage(self, name: str) -> None:
        """Make the hidden folder that holds the temporary and set-aside files of ``name``'s subfolder."""
        sub = os.path.dirname(name)
        if sub:
            (self.folder / f".{sub}").mkdir(parents=True, exist_ok=True)
            self._subfolders.add(sub)

    def path(self, name: str) -> Path:
        """The temporary path to write output ``name`` to (``SUB/NAME``: in the hidden ``.SUB/``)."""
        tmp = super().path(name)
        self._stage(name)
        return tmp

    def drop(self, name: str) -> None:
        """Remove an earlier run's ``name`` at commit (``SUB/NAME`` too)."""
        super().drop(name)
        self._stage(name)

    def commit(self) -> None:
        """Put every output in place, subfolders' too, all or none (see :meth:`OutputSet.commit`)."""
        try:
            for sub in sorted(self._subfolders):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
            super().commit()
        except BaseException:
            self.discard()
            raise
        self._tidy()

    def discard(self) -> None:
        """Delete this run's temporaries and its hidden subfolders; the folder keeps what it held."""
        super().discard()
        self._tidy()

    def _tidy(self) -> None:
        """Remove the hidden subfolders, and the subfolders left empty."""
        for sub in sorted(self._subfolders, reverse=True):
            for folder in (self.folder / f".{sub}", self.folder / sub):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only when empty: never a file of the user's
        self._subfolders.clear()


@contextlib.contextmanager
def output_set(target: str | Path | OutputSet, kind: type[OutputSet] = OutputSet) -> Iterator[OutputSet]:
    """``target`` itself when it is an :class:`OutputSet` (its owner commits), else a new ``kind`` of it.

    The new set is committed when the block ends, discarded when it raises.
    """
    if isinstance(target, OutputSet):
        yield target
        return
    with kind(target) as outputs:
        yield outputs
