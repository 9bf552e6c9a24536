"""SIGTERM ends a scoring run as Ctrl-C does (``kill``, ``timeout``, SLURM, ``docker stop``).

Lightning's own SIGTERM handler only records the signal for its fit loop; ``Trainer.predict``
never looks, so the run would score on. :func:`ending_on_sigterm` installs a handler that
raises :class:`Terminated` (a ``KeyboardInterrupt``, so Lightning tears down as for Ctrl-C),
except while a journal commit is being written (:func:`uninterrupted`): then the commit
finishes first and :class:`Terminated` is raised right after it.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Terminated", "ending_on_sigterm", "received", "uninterrupted"]


class Terminated(KeyboardInterrupt):
    """The run got SIGTERM (exit status 143 by convention)."""

    signal_name = "SIGTERM"
    exit_code = 128 + int(signal.SIGTERM)


_state = {"installed": 0, "received": False, "critical": 0, "pending": False}


def received() -> bool:
    """Whether SIGTERM arrived while :func:`ending_on_sigterm` was active."""
    return bool(_state["received"])


def _quiet_worker_teardown(unraisable) -> None:
    """``sys.unraisablehook`` after a SIGTERM: a DataLoader worker the signal ended is no error to print.

    A SIGTERM sent to the whole process group (``timeout``, SLURM, ``docker stop``) ends the DataLoader
    workers too; the loader's ``__del__``, run as the teardown frees it, then reports each as
    ``RuntimeError: DataLoader worker ... is killed by signal: Terminated`` with a traceback under the
    run's own one-line "terminated (SIGTERM)". Anything else goes to the hook that was there.
    """
    exc = unraisable.exc_value
    if isinstance(exc, RuntimeError) and "killed by signal: Terminated" in str(exc):
        return
    _previous_hook(unraisable)


_previous_hook = sys.unraisablehook


def _handler(signum, frame) -> None:
    if _state["received"]:
        return  # one is enough: the teardown it started runs on
    _state["received"] = True
    sys.unraisablehook = _quiet_worker_teardown  # for the rest of this process: it is ending
    if _state["critical"]:
        _state["pending"] = True
        return
    raise Terminated()


@contextmanager
def ending_on_sigterm() -> Iterator[None]:
    """Within: SIGTERM raises :class:`Terminated` (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread() or _state["installed"]:
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    _state.update(installed=1, received=False, critical=0, pending=False)
    signal.signal(signal.SIGTERM, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        _state.update(installed=0, received=False, critical=0, pending=False)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Within: a SIGTERM waits until the block is done (a journal commit is written whole)."""
    _state["critical"] += 1
    try:
        yield
    except BaseException:
        _state["critical"] -= 1
        raise
    _state["critical"] -= 1
    if not _state["critical"] and _state["pending"]:
        _state["pending"] = False
        raise Terminated()
