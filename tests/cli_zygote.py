"""The zygote of :mod:`tests.cli_process`: imports ferroscreen's heavy libraries once, forks a child per run.

Protocol (one JSON object per line): the zygote writes ``{"ready": true}`` once
its imports are done; then for each request ``{"argv", "cwd", "env", "stdout",
"stderr", "timeout"}`` read from stdin it forks a child that runs
``python -m ferroscreen.cli ARGV`` in ``cwd`` with ``env``, its output in the
two files, and answers ``{"returncode", "timed_out"}`` when the child has ended
(a child past ``timeout`` seconds is killed with its process group). End of
stdin ends the zygote.

The zygote never runs torch code, so no thread pool exists when it forks
(checked at start: a second thread would be copied without its state).
"""

import json
import os
import signal
import sys
import time


def _preload() -> None:
    """What most runs import: torch, torchvision, Lightning and the rest of ferroscreen's stack."""
    import h5py  # noqa: F401
    import pytorch_lightning  # noqa: F401
    import tifffile  # noqa: F401
    import torch  # noqa: F401
    import torchvision  # noqa: F401

    import ferroscreen.cli  # noqa: F401
    import ferroscreen.models.bundle  # noqa: F401
    import ferroscreen.score.module  # noqa: F401
    import ferroscreen.score.runner  # noqa: F401


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _child(request: dict, control: tuple) -> None:
    """Become ``python -m ferroscreen.cli ARGV``; returns only by raising SystemExit (or the run's exception)."""
    for channel in control:
        channel.close()
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.path[0] = os.getcwd()  # as `python -m` puts the working folder first
    sys.argv = ["-m", *request["argv"]]
    # `python -m` runs the module as __main__ only: drop the preloaded copy (runpy warns of it otherwise)
    sys.modules.pop("ferroscreen.cli", None)
    vars(sys.modules["ferroscreen"]).pop("cli", None)
    import runpy

    runpy.run_module("ferroscreen.cli", run_name="__main__", alter_sys=True)
    raise SystemExit(0)


def _wait(pid: int, timeout: float | None) -> tuple[int, bool]:
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.002
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if deadline is not None and time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status), True
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def main() -> None:
    # the control channel leaves fds 0/1, which the children take over
    control_in, control_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    requests = os.fdopen(control_in, "r")
    replies = os.fdopen(control_out, "w")
    _preload()
    threads = _threads()
    if threads != 1:
        replies.write(json.dumps({"ready": False, "threads": threads}) + "\n")
        replies.flush()
        return
    import gc

    gc.freeze()  # children leave the preloaded objects to the parent: no copy-on-write of them at collection or exit
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, (requests, replies))
        code, timed_out = _wait(pid, request.get("timeout"))
        replies.write(json.dumps({"returncode": code, "timed_out": timed_out}) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
