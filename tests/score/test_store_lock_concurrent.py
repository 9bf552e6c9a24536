"""One writer per score store, also when the store's folder is new (:mod:`ferroscreen.score.store_lock`).

The reported case: two ``score P1 --out dup/P1.h5 --resume`` runs started before ``dup/`` existed took no
lock (it was skipped for a missing folder), both exited 0, and the store ended empty: the first run's
frames lost.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import subprocess
import sys

import pytest

from ferroscreen.score import StoreError
from ferroscreen.score.store_lock import lock_path, store_lock, store_writer

from ..cli_process import FERROSCREEN, run_command

#: A process holding the lock of store ``argv[1]`` until told on stdin.
HOLDER = """
import sys
from ferroscreen.score.store_lock import store_lock
with store_lock(sys.argv[1]):
    print("holding", flush=True)
    sys.stdin.readline()
"""


@contextlib.contextmanager
def holder(out):
    """A process holding store ``out``'s lock for the length of the block."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline() == "holding\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.communicate("end\n", timeout=30)


def _busy(out, pid) -> str:
    return re.escape(f"{out}: another score is writing it (pid {pid}); wait for it to end, or choose another --out")


def test_a_run_into_a_new_folder_holds_the_lock(tmp_path):
    out = tmp_path / "dup" / "sub" / "P1.h5"
    with store_lock(out):
        assert lock_path(out).read_text() == str(os.getpid())
        with pytest.raises(StoreError, match=_busy(out, os.getpid())), store_lock(out):
            pass
    assert not (tmp_path / "dup").exists()  # made for the lock, left empty: gone again


def test_a_second_score_into_a_new_folder_stops_at_once(plate_dir, bundle_path, tmp_path):
    out = tmp_path / "dup" / "P1.h5"
    with holder(out) as proc:
        run = run_command([*FERROSCREEN, "score", str(plate_dir), "--model", str(bundle_path), "--out", str(out),
                           "--resume", "--workers", "1"], capture_output=True, text=True, timeout=300)
        assert run.returncode == 2 and re.fullmatch(f"error: {_busy(out, proc.pid)}\n", run.stderr), run.stderr
        assert not out.exists()
    assert not (tmp_path / "dup").exists()


def test_a_lock_let_go_while_it_is_being_taken_is_not_held_twice(tmp_path, monkeypatch):
    """The holder unlinks the lock file as it lets go: a run that opened that file just before, and locks it just
    after, must not hold it beside a third run that made and locked the new file meanwhile."""
    out = tmp_path / "p.h5"
    first, third = store_lock(out), store_lock(out)
    first.__enter__()
    real = fcntl.flock
    raced = []

    def flock(fd, operation):
        if not raced:  # the second run has opened the first's lock file and is about to lock it
            raced.append(fd)
            first.__exit__(None, None, None)  # the first ends: its file unlinked, its lock let go
            third.__enter__()  # a third run makes the lock file anew and takes it
        return real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    try:
        with pytest.raises(StoreError, match=_busy(out, os.getpid())), store_lock(out):
            pass
        assert raced
    finally:
        third.__exit__(None, None, None)
    assert not lock_path(out).exists()


def test_the_writer_of_a_store_is_told_while_it_runs(tmp_path):
    out = tmp_path / "live" / "P3.h5"
    assert store_writer(out) is None
    with holder(out) as proc:
        assert store_writer(out) == proc.pid
        with pytest.raises(StoreError, match=_busy(out, proc.pid)), store_lock(out):
            pass
    assert store_writer(out) is None
    out.parent.mkdir()
    lock_path(out).write_text("12345")  # left by a killed run: its flock went with it
    assert store_writer(out) is None
    with store_lock(out):
        pass
    assert not lock_path(out).exists()


def test_a_file_system_without_flock_scores_unlocked(tmp_path, monkeypatch):
    """Lustre mounted without flock answers ENOSYS: that refused every score run ("Function not implemented")."""

    def no_flock(fd, operation):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    out = tmp_path / "p.h5"
    with store_lock(out):
        assert not lock_path(out).exists()
    assert store_writer(out) is None


def test_a_file_where_the_folder_goes_is_said_in_one_line(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    out = tmp_path / "runs" / "p.h5"
    with pytest.raises(StoreError, match=re.escape(f"{out}: cannot make its folder {out.parent} (a file stands "
                                                   f"where a folder is needed)")), store_lock(out):
        pass


def test_inspect_of_a_store_a_run_is_writing_says_so_not_a_stopped_run(tmp_path):
    from ferroscreen.report.output_info import _store_lines, describe_output

    from ..analysis.toy_stores import toy_store

    out = toy_store(tmp_path)
    parts = out.with_name(out.name + ".parts")
    parts.mkdir()
    (parts / "rank-0.h5").write_bytes(b"")  # the running rank's journal
    with holder(out) as proc:
        lines = "\n".join(_store_lines(describe_output(out)))
        assert f"a score run (pid {proc.pid}) is writing it" in lines
        assert "a stopped run left" not in lines and "--resume" not in lines
    assert "a stopped run left frame results" in "\n".join(_store_lines(describe_output(out)))


def test_store_notes_of_a_store_a_run_is_writing_name_the_run(tmp_path):
    from ferroscreen.score.export import store_notes

    from ..analysis.toy_stores import toy_store

    out = toy_store(tmp_path)
    parts = out.with_name(out.name + ".parts")
    parts.mkdir()
    (parts / "rank-0.h5").write_bytes(b"")
    with holder(out) as proc:
        notes = store_notes(out)
    assert len(notes) == 1 and f"a score run (pid {proc.pid}) is writing it" in notes[0]
    assert "a stopped run left" in " ".join(store_notes(out))
