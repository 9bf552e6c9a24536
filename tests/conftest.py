"""Fixtures shared by the whole suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests using it skip when it is absent (a user's fresh clone)."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not present")
    return path


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``ferroscreen ARGS`` in a subprocess as a user would (text output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "ferroscreen.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """A one-line user error: exit 2, message on stderr naming the fragments, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    err = proc.stderr.strip()
    assert err.startswith("error: "), err
    assert len(err.splitlines()) == 1, err
    for frag in fragments:
        assert frag in err, (frag, err)


@pytest.fixture(scope="session")
def cli():
    """The :func:`run_cli` function (``cli("inspect", path)``)."""
    return run_cli


@pytest.fixture(scope="session")
def user_error():
    """The :func:`assert_user_error` check."""
    return assert_user_error
