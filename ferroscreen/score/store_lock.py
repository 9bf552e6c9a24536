"""One writer per score store: an advisory lock beside the store for the length of a run.

Two ``score`` runs into one ``--out`` write the same journals (``<store>.parts/rank-*.h5``) at
once; HDF5 then waits forever on metadata the other process rewrote, and the store is left with
journals no ``--resume`` can read. :func:`holding_store_lock` makes the second run stop at once
with one line instead. The lock is ``<store>.lock`` (holding the writer's pid), taken with
``flock``: the kernel releases it when the process ends however it ends, so a killed run leaves
no lock that blocks the next. Where ``fcntl`` is missing (Windows) runs are not locked.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ferroscreen.score.store import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def lock_path(out: str | Path) -> Path:
    """The lock file of store ``out``."""
    out = Path(out)
    return out.with_name(out.name + ".lock")


@contextlib.contextmanager
def store_lock(out: str | Path) -> Iterator[None]:
    """Hold the writer's lock of store ``out`` (see the module docstring).

    Raises:
        StoreError: Another process holds it (naming its pid when the lock file says it), or the
            store's folder takes no new file (a read-only or protected folder: said before any work).
    """
    path = lock_path(out)
    if fcntl is None or not path.parent.is_dir():  # a missing folder: the run's own checks say so
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{out}: cannot write in {path.parent.resolve()} ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            who = f" (pid {holder})" if holder.isdecimal() else ""
            raise StoreError(f"{out}: another score is writing it{who}; wait for it to end, or choose another "
                             f"--out") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
    finally:
        os.close(fd)


def holding_store_lock(func: Callable) -> Callable:
    """Run ``func`` holding the lock of the store its ``out`` argument names."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def locked(*args, **kwargs):
        with store_lock(signature.bind(*args, **kwargs).arguments["out"]):
            return func(*args, **kwargs)

    return locked
