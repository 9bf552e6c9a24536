"""Keep freed heap memory for reuse in frame-processing processes (glibc only).

Decoding, detecting and cropping a frame allocates and frees a few dozen
frame-sized arrays (1-5 MB each). glibc serves such blocks with fresh ``mmap``
pages and returns them on ``free``, so every frame pays thousands of page
faults; on virtual machines a fault costs microseconds, and preparation spent
~20 % of its time in the kernel on the development VM (2,000-2,600 faults per
512 px frame). :func:`keep_freed_memory` raises glibc's mmap and trim
thresholds so that these blocks come from, and go back to, the process heap:
a process's memory then stays at its peak instead of shrinking between frames,
which is bounded by one frame's work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

#: Blocks below this size (bytes) come from the heap (glibc's ceiling on 64-bit systems).
MMAP_THRESHOLD = 32 << 20
#: Free heap memory above this much (bytes) is returned to the system.
TRIM_THRESHOLD = 512 << 20

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's mmap/trim thresholds (:data:`MMAP_THRESHOLD`, :data:`TRIM_THRESHOLD`) for this process.

    Idempotent; a no-op (returns ``False``) off Linux, without glibc, or when
    ``mallopt`` refuses. Forked children inherit the setting. Returns ``True``
    when both thresholds are in force.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
