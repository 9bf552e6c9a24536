"""``score`` as a batch job runs it: stderr to a file or pipe, inside a SLURM allocation.

Was: with stderr not a terminal a run printed only its start and its summary (a 2-hour job showed
nothing in between); and ``--devices 2`` in a SLURM allocation crashed (Lightning took the ranks from
``SLURM_*``: two ranks each "rank 0 of 1", racing for one port: ``DistNetworkError`` EADDRINUSE).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from .test_score_cli import score_cmd
from .test_sigterm import term_when

#: The ``sbatch`` variables of a one-task allocation (as the failing job had them).
SLURM = {"SLURM_JOB_ID": "4243", "SLURM_NTASKS": "1", "SLURM_NTASKS_PER_NODE": "1", "SLURM_JOB_NAME": "x",
         "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0", "SLURM_NODELIST": "localhost",
         "SLURM_JOB_NUM_NODES": "1"}

#: ``ferroscreen`` with a progress line after every commit (the minute and 10 % of a real run, shortened).
QUICK_LINES = ("import sys, ferroscreen.score.progress as p; p.EVERY_S, p.STEP, p.MIN_GAP_S = 1e9, 1e-6, 0.0; "
               "from ferroscreen.cli import main; sys.argv[0] = 'ferroscreen'; main()")

LINE = re.compile(r"^progress( \(rank 0 of 2\))?: (\d+)/(\d+) frames \(\d+%\), [\d.]+ frames/s, "
                  r"\d+:\d\d:\d\d elapsed, ETA (\d+:\d\d:\d\d|\?)$")


def _quick(cmd: list[str]) -> list[str]:
    """``cmd`` (``python -m ferroscreen.cli ...``) with :data:`QUICK_LINES`."""
    return [sys.executable, "-c", QUICK_LINES, *cmd[3:]]


def _progress(stderr: str) -> list[re.Match]:
    return [m for m in map(LINE.match, stderr.splitlines()) if m]


def test_score_without_a_terminal_prints_plain_progress_lines(plate_dir, bundle_path, tmp_path):
    out = tmp_path / "p.h5"
    proc = subprocess.run(_quick(score_cmd(plate_dir, bundle_path, out, "--batch-size", "2")), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = _progress(proc.stderr)
    assert lines, proc.stderr
    assert [m.group(3) for m in lines] == ["12"] * len(lines)  # 4 wells x 3 timepoints
    assert lines[-1].group(2) == "12" and lines[-1].group(4) == "0:00:00"
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    assert "12 frames done" in proc.stdout


def test_lines_come_each_step_or_interval_but_not_closer_than_the_gap(monkeypatch, capsys):
    from ferroscreen.score import progress

    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    p = progress.ProgressLines(100, every_s=60, step=0.1, min_gap_s=5)
    for _ in range(30):  # 30 frames in 3 s: three steps of 10 %, all within the gap
        now[0] += 0.1
        p.update(1)
    assert capsys.readouterr().err == ""
    now[0] += 3  # 6 s after the start
    p.update(1)
    assert capsys.readouterr().err == "progress: 31/100 frames (31%), 5.17 frames/s, 0:00:06 elapsed, ETA 0:00:13\n"
    now[0] += 30  # neither a step nor a minute since the line before
    p.update(1)
    assert capsys.readouterr().err == ""
    now[0] += 30  # a minute
    p.update(1)
    assert capsys.readouterr().err.startswith("progress: 33/100 frames (33%), ")


def test_devices_2_inside_a_slurm_allocation_scores(plate_dir, bundle_path, tmp_path):
    """The ranks are this run's own, on this node: SLURM's variables do not make each of them rank 0 of 1."""
    out = tmp_path / "p.h5"
    cmd = _quick([*score_cmd(plate_dir, bundle_path, out)[:-4], "--devices", "2", "--workers", "0",
                  "--batch-size", "4"])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, **SLURM})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "SLURM auto-requeueing" not in proc.stderr
    assert "MEMBER: 2/2" in proc.stderr
    assert "12 frames done, 0 failed, 0 pending" in proc.stdout
    lines = _progress(proc.stderr)  # rank 0 reports its share: frames 0, 2, ... of 12
    assert lines and all(m.group(1) and m.group(3) == "6" for m in lines), proc.stderr[-3000:]
    assert lines[-1].group(2) == "6"


def test_sigterm_ends_a_devices_2_run_inside_a_slurm_allocation(plate_dir, bundle_path, tmp_path):
    """SIGTERM stays ferroscreen's (exit 143, resumable), not Lightning's SLURM handler ("Bypassing SIGTERM")."""
    out = tmp_path / "p.h5"
    cmd = _quick([*score_cmd(plate_dir, bundle_path, out)[:-4], "--devices", "2", "--workers", "0",
                  "--batch-size", "1"])
    rc, err = term_when(cmd, lambda line: LINE.match(line.rstrip("\n")), env={**os.environ, **SLURM},
                        timeout=120)  # a progress line: the ranks are scoring
    assert rc == 143, err[-3000:]
    assert any(line.startswith("terminated (SIGTERM): ") for line in err.splitlines()), err[-3000:]
    assert "Bypassing SIGTERM" not in err and "Traceback" not in err
