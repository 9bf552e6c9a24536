"""SIGTERM (kill, timeout, SLURM, docker stop) ends a scoring run as Ctrl-C does: said, exit 143, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pandas as pd
import pytest

from . import test_score_cli
from .test_score_cli import cells_by_frame_key, comparable_wells, run, score_cmd

reference = test_score_cli.reference  # the module's scored store, as a fixture here


def _default_signals() -> None:  # xdist workers may ignore them; a user's shell does not
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def term_when(cmd, ready, group: bool = False, env=None, settle_s: float = 0.0, timeout: float = 60) -> tuple[int, str]:
    """Run ``cmd``; once a line of its stderr is ``ready``, send SIGTERM (to the process, or its whole group).

    Returns ``(returncode, stderr)``; fails the test when no line was ready or SIGTERM did not end the run.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_default_signals, start_new_session=group)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if ready(line):
            break
    else:
        proc.wait(timeout=60)
        pytest.fail("".join(lines))
    time.sleep(settle_s)
    if group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    try:
        rest = proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("SIGTERM did not stop the run")
    return proc.returncode, "".join(lines) + rest


def _term_while_scoring(cmd, group: bool) -> tuple[int, str]:
    """SIGTERM once ``cmd`` is scoring ("scoring N frame(s) ...": the predict loop has started; a batch or two
    scored after 1.5 s), to the process or its whole group; (rc, stderr)."""
    return term_when(cmd, lambda line: line.startswith("scoring "), group, settle_s=1.5)


@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
def test_sigterm_ends_the_run_and_resume_continues(reference, plate_dir, bundle_path, tmp_path, group):
    out = tmp_path / "p.h5"
    cmd = score_cmd(plate_dir, bundle_path, out, "--batch-size", "2", "--workers", "2" if group else "1")
    rc, err = _term_while_scoring(cmd, group)
    assert rc == 143, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("terminated (SIGTERM)"), err
    assert f"--out {out} --resume` continues" in last or "before a frame was saved" in last
    assert "out of memory" not in err and "Traceback" not in err
    run(score_cmd(plate_dir, bundle_path, out, "--resume"), timeout=240)
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))
