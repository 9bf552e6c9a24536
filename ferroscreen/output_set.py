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

One run at a time writes into a folder: from the set's start (when the folder
exists, else its first output) to its commit or discard, it holds an exclusive
``flock`` on ``.ferroscreen.lock`` in the folder (holding its pid), and a second
run into the folder (``fit``/``export`` array tasks sharing ``--out``) stops at
once with :class:`OutputFolderBusy` instead of renaming its files over the
first's. The kernel releases the lock when the process ends however it ends,
so a killed run's lock file blocks no one. The lock, not per-run temporary
names, keeps runs apart: a folder that mixed two runs' outputs would read as
one result however the temporaries were named, and a killed run's fixed-name
temporaries are overwritten by the next run instead of piling up. Where
``fcntl`` is missing (Windows) runs are not locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ferroscreen.errors import FerroscreenError
from ferroscreen.file_locks import LockHeld, let_go, take_lock

__all__ = ["LOCK_NAME", "NestedOutputSet", "OutputFolderBusy", "OutputSet", "output_set"]

#: The lock file a run holds in the folder it writes into (see the module docstring).
LOCK_NAME = ".ferroscreen.lock"


class OutputFolderBusy(FerroscreenError):
    """Another process is writing into the output folder (it holds the folder's lock)."""


class OutputSet:
    """Files written into ``folder`` as one set (see the module docstring).

    Use as a context manager: the set commits when the block ends without an
    exception and is discarded when it raises. It holds the folder's lock from
    its start (an existing folder) or its first output to its commit or discard.

    Raises (from the start, :meth:`path`, :meth:`drop` or :meth:`commit`):
        OutputFolderBusy: Another process is writing into the folder (one line naming it and its pid).
        OSError: The folder takes no lock file (named as the folder: a read-only folder).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._written: dict[str, Path] = {}
        self._dropped: set[str] = set()
        self._locked = False
        self._lock_fd: int | None = None

    def _hold(self) -> None:
        """Take the lock of the (existing) folder, unless this set holds it."""
        if self._locked:
            return
        try:
            self._lock_fd = take_lock(self.folder / LOCK_NAME)
        except LockHeld as held:
            who = f" (pid {held.pid})" if held.pid else ""
            raise OutputFolderBusy(f"{self.folder}: another ferroscreen run is writing into this folder{who}; wait "
                                   f"for it to end, or choose another --out") from None
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.folder)) from None
        self._locked = True

    def _finish(self) -> None:
        """The set is committed or discarded: let the folder's lock go."""
        if self._locked:
            self._locked = False
            let_go(self.folder / LOCK_NAME, self._lock_fd)
            self._lock_fd = None

    def path(self, name: str) -> Path:
        """The temporary path to write output ``name`` to (creating the folder)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._hold()
        self._dropped.discard(name)
        tmp = self.folder / f".{name}.tmp"
        self._written[name] = tmp
        return tmp

    def pending(self) -> dict[str, Path]:
        """``{output name: temporary path}`` of the outputs written for the next commit (a copy)."""
        return dict(self._written)

    def final(self, name: str) -> Path:
        """Where output ``name`` lies once committed."""
        return self.folder / name

    def drop(self, name: str) -> None:
        """Remove an earlier run's ``name`` at commit (an output this run does not make)."""
        if self.folder.is_dir():
            self._hold()
        tmp = self._written.pop(name, None)
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        self._dropped.add(name)

    def discard(self) -> None:
        """Delete this run's temporaries; the folder keeps what it held."""
        try:
            for tmp in self._written.values():
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
            self._written.clear()
            self._dropped.clear()
        finally:
            self._finish()

    def commit(self) -> None:
        """Put every written output in place and remove the dropped ones, all or none.

        Raises:
            OSError: A rename failed; the folder is as it was before the run. An interrupt
                (KeyboardInterrupt) between two renames is re-raised after the same rollback.
            OutputFolderBusy: Another process is writing into the folder (nothing was changed).
        """
        if (self._written or self._dropped) and self.folder.is_dir():
            self._hold()
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
        self._finish()

    def __enter__(self) -> OutputSet:
        if self.folder.is_dir():  # a second run stops before its work, not at its first output
            self._hold()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            except BaseException:  # an output not written: its temporaries go, and the folder's lock
                self.discard()
                raise
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
            self.folder.mkdir(parents=True, exist_ok=True)
            self._hold()
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

    def _finish(self) -> None:
        """Tidy the hidden subfolders, then let the folder's lock go (the next run may stage in them)."""
        try:
            self._tidy()
        finally:
            super()._finish()

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
