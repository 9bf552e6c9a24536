"""The tests' way of running ferroscreen (tests/cli_process.py): a run forked from the zygote is a user's run."""

from __future__ import annotations

import subprocess

import pytest

from .cli_process import FERROSCREEN, run_command


def _both(args, **kw):
    """The run through run_command (the zygote where it can serve) and as a fresh interpreter."""
    kw = {"capture_output": True, "text": True, "timeout": 120, **kw}
    return run_command([*FERROSCREEN, *map(str, args)], **kw), subprocess.run([*FERROSCREEN, *map(str, args)], **kw)


def test_output_and_exit_codes_are_a_fresh_interpreters(tmp_path):
    for args in (["--version"], ["inspect", tmp_path / "none"], ["fit", "--bogus"]):
        served, fresh = _both(args)
        assert (served.returncode, served.stdout, served.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert served.returncode == 2 and served.stderr.startswith("error: ")


def test_the_callers_folder_and_environment_reach_the_run(tmp_path, monkeypatch):
    """A relative --out lands in cwd; monkeypatched variables are the run's (a fork keeps the zygote's otherwise)."""
    monkeypatch.setenv("COLUMNS", "40")  # the help text wraps to it
    served, fresh = _both(["simulate", "--help"])
    monkeypatch.setenv("COLUMNS", "200")
    assert served.stdout == fresh.stdout != _both(["simulate", "--help"])[0].stdout
    monkeypatch.chdir(tmp_path)
    proc = run_command([*FERROSCREEN, "simulate", "rel", "--wells", "A01", "--hours", "0", "--fields", "1",
                        "--image-size", "64", "64", "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "rel" / "layout.csv").is_file() and not (tmp_path.parent / "rel").exists()


def test_a_run_past_its_timeout_is_killed(tmp_path):
    """As subprocess.run: TimeoutExpired, and the run stops."""
    import time

    out = tmp_path / "big"
    with pytest.raises(subprocess.TimeoutExpired):  # a whole 96-well plate over two days takes minutes
        run_command([*FERROSCREEN, "simulate", str(out), "--workers", "1"], capture_output=True, text=True,
                    timeout=4)
    time.sleep(1)
    written = sorted(out.rglob("*"))
    time.sleep(3)
    assert sorted(out.rglob("*")) == written
