"""``git_dirty`` counts untracked files the run may have used: new modules and configs, not ignored files or notes.

The reported case: a run from a checkout holding an untracked, modified module under ``ferroscreen/``
was recorded as clean (``git status --untracked-files=no``).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ferroscreen.provenance import RESULT_FOLDERS, git_state

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root, *args) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def checkout(tmp_path):
    """A clean checkout shaped like ferroscreen's: a package, configs, a .gitignore; and its commit."""
    (tmp_path / "ferroscreen").mkdir()
    (tmp_path / "ferroscreen" / "core.py").write_text("x = 1\n")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "train.yaml").write_text("a: 1\n")
    (tmp_path / ".gitignore").write_text("__pycache__/\n*.log\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "one")
    git_state.cache_clear()
    yield tmp_path, _git(tmp_path, "rev-parse", "HEAD")
    git_state.cache_clear()


def _state(root):
    git_state.cache_clear()
    return git_state(root)


@pytest.mark.parametrize("name", ["ferroscreen/patched.py", "ferroscreen/sub/new_module.py", "configs/local.yaml"])
def test_an_untracked_module_or_config_makes_the_checkout_dirty(checkout, name):
    # before: git status --untracked-files=no: recorded as clean
    root, head = checkout
    assert _state(root) == (head, False)
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text("x = 2\n")
    assert _state(root) == (head, True)


def test_ignored_files_and_untracked_files_outside_the_package_do_not(checkout):
    root, head = checkout
    (root / "ferroscreen" / "__pycache__").mkdir()
    (root / "ferroscreen" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"\0")
    (root / "configs" / "run.log").write_text("ignored\n")
    (root / "notes.md").write_text("not a result's input\n")
    (root / "out").mkdir()
    (root / "out" / "fits.csv").write_text("a\n")
    assert _state(root) == (head, False)
    (root / "ferroscreen" / "core.py").write_text("x = 3\n")  # a tracked change still counts
    assert _state(root) == (head, True)
    assert RESULT_FOLDERS == ("ferroscreen", "configs")
