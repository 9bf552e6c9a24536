"""``ferroscreen.provenance``: the software record every output carries, found without imports or errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from ferroscreen import __version__
from ferroscreen.provenance import command_line, created_now, environment, git_state, replaced_run_note

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                   capture_output=True)


@needs_git
def test_git_state_writes_nothing_in_the_checkout(tmp_path):
    """``git status`` refreshed (rewrote) the index of a checkout whose files were touched, under index.lock.

    Every job of a shared writable install did so at once, racing for ``.git/index.lock``.
    """
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "a.py")
    _git(tmp_path, "commit", "-q", "-m", "one")
    index = tmp_path / ".git" / "index"
    os.utime(index, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    os.utime(tmp_path / "a.py", ns=(1_100_000_000_000_000_000, 1_100_000_000_000_000_000))  # same content, touched
    before = index.read_bytes(), index.stat().st_mtime_ns
    git_state.cache_clear()
    assert git_state(tmp_path) is not None and git_state(tmp_path)[1] is False
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    assert not (tmp_path / ".git" / "index.lock").exists()


@needs_git
def test_git_state_gives_the_commit_and_whether_tracked_files_changed(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "a.py")
    _git(tmp_path, "commit", "-q", "-m", "one")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert git_state(tmp_path) == (head, False)
    (tmp_path / "new.txt").write_text("untracked files do not count\n")
    git_state.cache_clear()
    assert git_state(tmp_path) == (head, False)
    (tmp_path / "a.py").write_text("x = 2\n")
    git_state.cache_clear()
    assert git_state(tmp_path) == (head, True)


def test_no_checkout_or_no_git_gives_none_not_an_error(tmp_path, monkeypatch):
    assert git_state(tmp_path / "not-a-checkout") is None
    (tmp_path / "c" / ".git").mkdir(parents=True)  # a broken checkout: git fails
    assert git_state(tmp_path / "c") is None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no git at all
    git_state.cache_clear()
    try:
        assert git_state(tmp_path / "c") is None
        env = environment()
    finally:
        git_state.cache_clear()
    assert "git_commit" not in env and env["ferroscreen"] == __version__


def test_the_environment_names_the_libraries_without_importing_them():
    code = ("import json, sys; from ferroscreen.provenance import environment; e = environment(); "
            "print(json.dumps([e, sorted(m for m in ('torch', 'torchvision', 'pytorch_lightning', 'scipy', "
            "'statsmodels') if m in sys.modules)]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    env, imported = json.loads(done.stdout.splitlines()[-1])
    assert imported == []  # before: there was no record at all; now it is read from the installed metadata
    import torch

    assert env["torch"] == str(torch.__version__)  # the build too (+cuXXX), as an imported torch says
    for name in ("ferroscreen", "python", "numpy", "pandas", "scipy", "statsmodels", "torchvision", "lightning",
                 "platform"):
        assert env[name], name


def test_command_line_and_created():
    cmd = command_line()
    assert cmd["argv"] == sys.argv and cmd["cwd"] == os.getcwd()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", created_now())


def test_replaced_run_note(tmp_path):
    path = tmp_path / "provenance.json"
    assert replaced_run_note(path) is None  # none there
    path.write_text("{not json")
    assert replaced_run_note(path) is None
    now = {"ferroscreen": "1.0", "git_commit": "a" * 40}
    path.write_text(json.dumps({"ferroscreen_version": "1.0", "environment": {"ferroscreen": "1.0",
                                                                               "git_commit": "a" * 40}}))
    assert replaced_run_note(path, now) is None
    path.write_text(json.dumps({"ferroscreen_version": "0.9"}))
    note = replaced_run_note(path, now)
    assert note == (f"{path} was written by ferroscreen 0.9, no commit recorded; this run (ferroscreen 1.0, "
                    f"commit {'a' * 12}) replaces it and the results beside it")
    path.write_text(json.dumps({"ferroscreen_version": "1.0", "environment": {"git_commit": "b" * 40}}))
    assert "commit bbbbbbbbbbbb" in replaced_run_note(path, now)
