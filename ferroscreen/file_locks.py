"""Exclusive ``flock`` locks on lock files, for one writer at a time (score stores, output folders).

A lock file holds its holder's pid; the kernel releases the lock when the process ends however
it ends, so a killed run's lock file blocks no one. Where ``fcntl`` is missing (Windows), or the
file system has no ``flock`` (Lustre mounted without it), nothing is locked.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: runs are not locked
    fcntl = None

__all__ = ["LockHeld", "let_go", "lock_holder", "take_lock"]

#: A lock found held is tried again this many times, this long apart: a reader's look (:func:`lock_holder`) is brief.
_BUSY_TRIES, _BUSY_WAIT_S = 5, 0.02
#: ``flock`` errors of a file system that has no locks: runs there go unlocked rather than fail.
_NO_FLOCK = {errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


class LockHeld(Exception):
    """:func:`take_lock` found the lock held; ``pid``: the holder's pid as its lock file says, else None."""

    def __init__(self, pid: int | None) -> None:
        super().__init__(pid)
        self.pid = pid


def _pid_in(fd: int) -> int | None:
    text = os.read(fd, 32).decode(errors="replace").strip()
    return int(text) if text.isdecimal() else None


def _still_named(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (a holder letting go unlinks it)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def take_lock(path: str | Path) -> int | None:
    """Take the exclusive ``flock`` of lock file ``path`` (made when missing) and write this pid into it.

    The holder's :func:`let_go` unlinks the file while still holding it; a process that locked the
    unlinked file meanwhile sees that ``path`` names another file now and locks that one instead, so
    two processes never both hold the lock of one path.

    Returns:
        The open descriptor to give :func:`let_go`; None (nothing locked) where there is no ``fcntl``
        or the file system has no ``flock`` (``ENOLCK``, ``ENOSYS``, ``EOPNOTSUPP``).

    Raises:
        LockHeld: Another process holds it (tried again for a moment first).
        OSError: The lock file cannot be made (a read-only folder).
    """
    if fcntl is None:
        return None
    busy = 0
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid_in(fd)
            os.close(fd)
            busy += 1
            if busy == _BUSY_TRIES:
                raise LockHeld(pid) from None
            time.sleep(_BUSY_WAIT_S)
            continue
        except OSError as exc:
            os.close(fd)
            if exc.errno not in _NO_FLOCK:
                raise
            with contextlib.suppress(OSError):
                Path(path).unlink()
            return None  # a file system without flock (Lustre mounted without it): run unlocked, as before
        except BaseException:
            os.close(fd)
            raise
        if _still_named(path, fd):
            break
        os.close(fd)  # the file of a holder that let go just now: lock the one the path names now
    try:  # the pid is for messages only: a full disk holds the lock without it, and the run's own writes say so
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    except OSError:
        pass
    return fd


def let_go(path: str | Path, fd: int | None) -> None:
    """Release a lock :func:`take_lock` took: unlink ``path`` while still holding it, then close ``fd``."""
    if fd is None:
        return
    try:
        with contextlib.suppress(OSError):
            Path(path).unlink()
    finally:
        os.close(fd)


def lock_holder(path: str | Path) -> int | None:
    """The pid of the live process holding lock file ``path`` (0: held, its pid not written yet); None: not held.

    Looks without waiting and makes no file; a stale lock file (its process ended) is not held.
    """
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _pid_in(fd) or 0
    except OSError:
        return None
    finally:
        os.close(fd)
    return None
