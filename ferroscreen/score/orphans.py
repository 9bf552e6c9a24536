"""Spawned scoring ranks end with the process that spawned them.

``score --devices N`` runs its ranks as spawned processes (Lightning ``ddp_spawn``). A ``kill -9``
of the main process (an out-of-memory kill, a scheduler's hard kill) ends nothing else: the ranks
went on writing journals into a store whose lock had gone with the main process, so a rerun could
merge journals still being written. :func:`end_with_parent` asks the Linux kernel to send the rank
``SIGKILL`` when its parent exits (``prctl(PR_SET_PDEATHSIG)``); a journal keeps the frames it
committed (a ``--resume`` recovers them), as after a kill of a one-process run. Elsewhere it does
nothing.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys

__all__ = ["end_with_parent"]

#: ``prctl`` option: the signal the process gets when its parent exits (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def end_with_parent() -> bool:
    """In a spawned child process on Linux, be killed when the parent exits; whether that was set.

    A parent already gone (before the request took effect) kills the process at once.
    """
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent.pid:  # the parent exited before the request: re-parented already
        os.kill(os.getpid(), signal.SIGKILL)
    return True
