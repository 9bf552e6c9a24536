"""Failed HDF5 writes (a full disk, a quota reached): one clear ``OSError``, and handles let go safely.

h5py reports a failed ``write()`` of HDF5 as a ``RuntimeError`` (or ``OSError``) whose text
holds ``errno = 28, error message = 'No space left on device'``. Worse, HDF5 retries its
unwritten data on every later flush or close, and each failure raises again (from object
destructors: "Exception ignored in ... __dealloc__"); HDF5 2.0 can then crash the process
(a segfault). :func:`abandon` avoids that: it points the file's descriptor at ``/dev/null``
(which neither fills up nor counts against a file size limit), so what HDF5 still writes goes
nowhere and the file on disk stays as the failed write left it (for a journal: as if its
writer had been killed, which a resumed run recovers from; a store's temporary file is deleted).
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

__all__ = ["abandon", "require_space", "write_failure"]

_ERRNO = re.compile(r"errno = (\d+), error message = '([^']*)'")


def write_failure(exc: BaseException, path: str | Path) -> OSError | None:
    """``exc`` as an ``OSError(errno, reason, path)`` when it is a failed write of the operating system, else ``None``.

    ``OSError`` raised by Python itself (``errno`` set) is returned with ``path`` as its file name
    when it names none.
    """
    if isinstance(exc, OSError) and exc.errno is not None and not _ERRNO.search(str(exc)):  # Python's own
        if exc.filename is None:
            return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))
        return exc
    if not isinstance(exc, OSError | RuntimeError):
        return None
    found = _ERRNO.search(str(exc))
    if found is None:
        return None
    code = int(found.group(1))
    return OSError(code, os.strerror(code) if code else found.group(2), str(path))


def require_space(path: str | Path, nbytes: int) -> None:
    """Raise ``OSError(ENOSPC)`` naming ``path`` when its folder's file system has less than ``nbytes`` free.

    HDF5 cannot always let go of a file cleanly after a failed write, so a write that will not fit
    is refused before it starts. A file system that reports no sizes (``f_blocks`` 0) is not checked.
    """
    try:
        st = os.statvfs(Path(path).parent)
    except (OSError, AttributeError):
        return
    if st.f_blocks and st.f_bavail * st.f_frsize < nbytes:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def abandon(f) -> None:
    """Close h5py file ``f`` after a failed write without HDF5 writing to the disk again.

    Its descriptor is replaced by ``/dev/null``: HDF5's flush on close then succeeds and the data
    it writes is dropped (what it reads back past that is zeros, never needed to close).
    Errors while closing are swallowed: the file is given up.
    """
    if f is None:
        return
    try:
        fd = f.id.get_vfd_handle()
    except Exception:  # noqa: BLE001 - closed already, or a driver without a descriptor
        fd = None
    if isinstance(fd, int) and fd >= 0 and _is_file_of(fd, f):
        try:
            sink = os.open(os.devnull, os.O_RDWR)
            os.dup2(sink, fd)
            os.close(sink)
        except OSError:
            pass
    try:
        f.close()
    except Exception:  # noqa: BLE001 - given up: nothing left to report
        pass


def _is_file_of(fd: int, f) -> bool:
    """Whether descriptor ``fd`` is still open on ``f``'s file (not a number reused for another file)."""
    try:
        held, named = os.fstat(fd), os.stat(f.filename)
    except (OSError, ValueError, AttributeError):
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)
