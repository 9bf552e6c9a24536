"""SIGTERM sent to the main process of a ``score --devices 2`` run alone stops every rank, not just the main one.

Was: the main process said "terminated (SIGTERM)" and then waited at exit for its spawned ranks (no daemons),
which scored their whole share of the plate on (Lightning's SIGTERM handler in a rank only notes the signal);
a resume then found nothing left to score. Now the ranks are stopped at once; their journals keep what they
committed, and a resume finishes the plate as one uninterrupted run scores it.
"""

from __future__ import annotations

import subprocess
import time

import pandas as pd
import psutil
import pytest

from .conftest import simulate
from .test_score_cli import cells_by_frame_key, comparable_wells, run, score_cmd
from .test_score_log_file import LINE, _quick
from .test_sigterm import _default_signals

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def longer_plate(tmp_path_factory):
    """8 wells x 2 fields x 12 scans (192 frames): ~10 s of work per rank at one crop a batch."""
    return simulate(tmp_path_factory.mktemp("plate") / "plate", wells="A01,A02,B01,B02,C01,C02,D01,D02",
                    hours=44, fields=2)


def test_sigterm_to_the_main_process_stops_the_ranks_and_resume_finishes(longer_plate, bundle_path, tmp_path):
    out = tmp_path / "p.h5"
    cmd = _quick([*score_cmd(longer_plate, bundle_path, out)[:-4], "--devices", "2", "--workers", "0",
                  "--batch-size", "1"])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_signals)
    lines = []
    for line in proc.stderr:  # a progress line: rank 0 committed its first frames
        lines.append(line)
        if LINE.match(line.rstrip("\n")):
            break
    else:
        proc.wait(timeout=60)
        pytest.fail("".join(lines))
    ranks = [p for p in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(ranks) == 2, [p.cmdline() for p in psutil.Process(proc.pid).children()]
    sent = time.monotonic()
    proc.terminate()  # SIGTERM to the main process alone (kill PID)
    try:
        err = "".join(lines) + proc.communicate(timeout=120)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("SIGTERM did not stop the run")
    took = time.monotonic() - sent
    assert proc.returncode == 143, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("terminated (SIGTERM): ") and f"--out {out} --resume` continues" in last, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert not [p.pid for p in ranks if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    resumed = run(score_cmd(longer_plate, bundle_path, out, "--resume"), timeout=300).stdout
    left = int(resumed.split(" frames scored")[0].rsplit("; ", 1)[1])
    assert left > 0, (took, resumed)  # the ranks had not scored their shares to the end
    assert "192 frames done, 0 failed, 0 pending" in resumed
    reference = tmp_path / "ref.h5"
    run(score_cmd(longer_plate, bundle_path, reference), timeout=300)
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))
