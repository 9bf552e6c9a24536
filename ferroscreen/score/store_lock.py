"""One writer per score store: an advisory lock beside the store for the length of a run.

Two ``score`` runs into one ``--out`` write the same journals (``<store>.parts/rank-*.h5``) at
once; HDF5 then waits forever on metadata the other process rewrote, and the store is left with
journals no ``--resume`` can read. :func:`holding_store_lock` makes the second run stop at once
with one line instead. The lock is ``<store>.lock`` (holding the writer's pid), taken with
``flock`` (:func:`ferroscreen.file_locks.take_lock`): the kernel releases it when the process ends
however it ends, so a killed run leaves no lock that blocks the next. The store's folder is made
first when missing, so runs into a new folder are locked too (and removed again, when the run
left it empty). Where ``fcntl`` is missing (Windows) runs are not locked.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ferroscreen.file_locks import LockHeld, let_go, lock_holder, take_lock
from ferroscreen.score.store import StoreError


def lock_path(out: str | Path) -> Path:
    """The lock file of store ``out``."""
    out = Path(out)
    return out.with_name(out.name + ".lock")


def store_writer(out: str | Path) -> int | None:
    """The pid of the live ``score`` run writing store ``out`` (0: one is, its pid not written yet); None: none."""
    return lock_holder(lock_path(out))


def _make_folder(out: Path, folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; those it made, deepest first."""
    made = []
    for parent in (folder, *folder.parents):
        if os.path.lexists(parent):
            break
        made.append(parent)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = ("a file stands where a folder is needed" if isinstance(exc, FileExistsError | NotADirectoryError)
                  else exc.strerror or exc)
        raise StoreError(f"{out}: cannot make its folder {folder} ({reason})") from None
    return made


@contextlib.contextmanager
def store_lock(out: str | Path) -> Iterator[None]:
    """Hold the writer's lock of store ``out`` (see the module docstring), making its folder when missing.

    Raises:
        StoreError: Another process holds it (naming its pid when the lock file says it), or the
            store's folder cannot be made or takes no new file (a read-only or protected folder: said
            before any work).
    """
    path = lock_path(out)
    made = _make_folder(Path(out), path.parent)
    try:
        try:
            fd = take_lock(path)
        except LockHeld as held:
            who = f" (pid {held.pid})" if held.pid else ""
            raise StoreError(f"{out}: another score is writing it{who}; wait for it to end, or choose another "
                             f"--out") from None
        except OSError as exc:
            raise StoreError(f"{out}: cannot write in {path.parent.resolve()} ({exc.strerror or exc})") from None
        try:
            yield
        finally:
            let_go(path, fd)
    finally:
        for folder in made:  # a run that stopped before writing leaves no new empty folder
            with contextlib.suppress(OSError):
                folder.rmdir()


def holding_store_lock(func: Callable) -> Callable:
    """Run ``func`` holding the lock of the store its ``out`` argument names."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def locked(*args, **kwargs):
        with store_lock(signature.bind(*args, **kwargs).arguments["out"]):
            return func(*args, **kwargs)

    return locked
