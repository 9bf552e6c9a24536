"""``ferroscreen`` runs for the tests: separate processes that start in milliseconds, not ~10 s.

A command-line run that loads a model pays ~9 s here importing torch, torchvision
and Lightning before it does anything; the suite makes a few hundred such runs.
:func:`run_command` is a drop-in for ``subprocess.run`` that serves
``[sys.executable, "-m", "ferroscreen.cli", ...]`` from a *zygote*: one helper
process per test process (:mod:`tests.cli_zygote`) that imports those libraries
once and forks a child for each run. The child is a fresh process as a user's
would be (its own state, exit code, stdout and stderr, atexit handlers and
interpreter shutdown), with the caller's working folder and environment, run as
``python -m ferroscreen.cli`` runs (``runpy``, ``__main__``).

Anything else goes to ``subprocess.run`` unchanged: other commands, ``input=``,
output not captured as text, an environment that changes what the interpreter or
its native libraries read at start-up (``PYTHON*``, ``OMP_*``, ``MKL_*``,
``LD_*``, ...), and every run when ``FERROSCREEN_TEST_ZYGOTE=0``. Tests that
signal or kill a run keep using ``subprocess.Popen``.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["FERROSCREEN", "run_command"]

#: The command line that runs ferroscreen as a user would (``python -m ferroscreen.cli``).
FERROSCREEN = [sys.executable, "-m", "ferroscreen.cli"]

_ZYGOTE_FILE = Path(__file__).with_name("cli_zygote.py")

#: Environment variables read when an interpreter or its native libraries start: a run whose
#: environment differs from the zygote's in one of these gets a process of its own.
_STARTUP_PREFIXES = ("PYTHON", "OMP_", "MKL_", "KMP_", "GOMP_", "OPENBLAS_", "LD_", "MALLOC_", "CUDA_", "NVIDIA_",
                     "HDF5_PLUGIN", "LANG", "LC_")

_SERVED_OPTIONS = {"capture_output", "text", "timeout", "cwd", "env", "check"}


class _Zygote:
    """The helper process of this test process (started on first use, restarted if it died)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        #: Why the zygote cannot serve runs (it forks only while single-threaded), else ``None``.
        self.unavailable: str | None = None
        self.env: dict[str, str] = {}
        self.lock = threading.Lock()
        self.scratch = Path(tempfile.mkdtemp(prefix="ferroscreen-zygote-"))

    def start(self) -> bool:
        """Start the zygote; ``False`` (and :attr:`unavailable` set) when it cannot fork safely here."""
        self.env = dict(os.environ)
        with open(self.scratch / "zygote.log", "ab") as log:
            self.proc = subprocess.Popen([sys.executable, str(_ZYGOTE_FILE)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log, text=True, cwd=self.scratch,
                                         env=self.env)
        ready = json.loads(self.proc.stdout.readline() or "{}")
        if ready.get("ready") is not True:
            # e.g. OpenBLAS and OpenCV start worker threads at import unless OMP_NUM_THREADS=1 (set under xdist)
            self.stop()
            self.unavailable = f"the zygote would fork with {ready.get('threads', '?')} threads"
            return False
        return True

    def close(self) -> None:
        """Stop the zygote and remove its scratch folder (at the test process's exit)."""
        self.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def serves(self, env: dict[str, str]) -> bool:
        """Whether a run in ``env`` starts as the zygote's children start."""
        keys = {k for k in set(env) | set(self.env) if k.startswith(_STARTUP_PREFIXES)}
        return all(env.get(k) == self.env.get(k) for k in keys)

    def run(self, argv: list[str], cwd: str, env: dict[str, str],
            timeout: float | None) -> tuple[int, str, str, bool] | None:
        """The run's exit code, stdout, stderr and whether it timed out; ``None`` when the zygote cannot serve it."""
        with self.lock:
            if self.unavailable:
                return None
            if (self.proc is None or self.proc.poll() is not None) and not self.start():
                return None
            if not self.serves(env):
                return None
            out, err = self.scratch / "stdout", self.scratch / "stderr"
            request = {"argv": argv, "cwd": cwd, "env": env, "stdout": str(out), "stderr": str(err),
                       "timeout": timeout}
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self.proc.stdout.readline() or "{}")
            if "returncode" not in reply:
                self.stop()
                raise RuntimeError("the ferroscreen test zygote stopped while serving a run")
            stdout, stderr = (p.read_text(errors="replace") for p in (out, err))
            return reply["returncode"], stdout, stderr, bool(reply.get("timed_out"))


_zygote: _Zygote | None = None


def _served(cmd, kwargs) -> bool:
    if os.environ.get("FERROSCREEN_TEST_ZYGOTE", "1") == "0" or not hasattr(os, "fork"):
        return False
    if not isinstance(cmd, list | tuple) or [str(c) for c in cmd[:3]] != FERROSCREEN:
        return False
    return set(kwargs) <= _SERVED_OPTIONS and kwargs.get("capture_output") is True and kwargs.get("text") is True


def run_command(cmd, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, **kwargs)``, with ``python -m ferroscreen.cli`` runs forked from the zygote."""
    global _zygote
    if not _served(cmd, kwargs):
        return subprocess.run(cmd, **kwargs)
    env = {str(k): str(v) for k, v in (kwargs.get("env") if kwargs.get("env") is not None else os.environ).items()}
    if _zygote is None:
        _zygote = _Zygote()
        atexit.register(_zygote.close)
    cwd = os.fspath(kwargs["cwd"]) if kwargs.get("cwd") is not None else os.getcwd()
    timeout = kwargs.get("timeout")
    served = _zygote.run([str(c) for c in cmd[3:]], cwd, env, timeout)
    if served is None:
        return subprocess.run(cmd, **kwargs)
    code, stdout, stderr, timed_out = served
    if timed_out:
        raise subprocess.TimeoutExpired(cmd, timeout, output=stdout, stderr=stderr)
    done = subprocess.CompletedProcess(cmd, code, stdout, stderr)
    if kwargs.get("check"):
        done.check_returncode()
    return done
