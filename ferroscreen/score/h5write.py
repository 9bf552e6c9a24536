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

__all__ = ["abandon", "write_failure"]

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


def no_space(exc: BaseException) -> bool:
    """Whether ``exc`` is a full disk or an exhausted quota."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


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
    if isinstance(fd, int) and fd >= 0:
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
