"""What a ``score --watch`` with a next-scan bundle says while it follows a plate scan by scan.

The reported cases: a watch begun on the first scan never warned that the bundle was trained on
another scan interval (it was checked once, on one scan; every ``--resume`` warned); it said nothing
for hours while it held each scan's frames for the next scan; and its closing line gave the whole
watch's seconds, waiting included, as if they were the scoring time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

from ferroscreen.score import DONE, read_store

from .conftest import make_bundle
from .test_score_cli import score_cmd

WARNING = "trained on scans every 1 h and this plate is imaged every 4 h"


@pytest.fixture(scope="module")
def watched(plate_dir, tmp_path_factory):
    """stdout and stderr of a watch begun on the first of the plate's 3 scans (4 h apart), the others landing later."""
    tmp = tmp_path_factory.mktemp("watch_messages")
    hourly = make_bundle(tmp / "hourly.pt", next_scan=True, training_data={"scan_interval_h": 1.0})
    src = tmp / "incoming"
    shutil.copytree(plate_dir, src, ignore=shutil.ignore_patterns("*.tif"))
    by_time: dict[str, list] = {}
    for p in sorted((plate_dir / "images").glob("*.tif")):
        by_time.setdefault(p.stem.rsplit("_", 1)[1], []).append(p)
    times = sorted(by_time)
    out = tmp / "w.h5"

    def done() -> int:
        try:
            return int((read_store(out).frames["status"] == DONE).sum()) if out.exists() else 0
        except Exception:  # noqa: BLE001 - replaced as it is read: try again
            return -1

    def land(t):
        for p in by_time[t]:
            shutil.copy(p, src / "images" / p.name)

    land(times[0])
    proc = subprocess.Popen(score_cmd(src, hourly, out, "--watch", "--poll-s", "0.5", "--idle-exit-s", "8"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        time.sleep(4)  # several polls with the first scan held
        for k, t in enumerate(times[1:], start=1):
            land(t)
            while time.time() < deadline and done() < 4 * k:
                time.sleep(0.5)
            time.sleep(2)  # more polls with the new scan held
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    return stdout, stderr


def test_a_watch_begun_on_one_scan_warns_of_the_interval_once_it_is_known(watched):
    _, stderr = watched
    assert stderr.count(WARNING) == 1, stderr


def test_a_watch_says_once_per_scan_which_frames_wait_for_their_next_scan(watched):
    _, stderr = watched
    held = [line for line in stderr.splitlines() if "wait for their next scan" in line]
    assert len(held) == 3, stderr  # 0 h until 4 h lands, 4 h until 8 h, 8 h until the watch stops: not every poll
    assert re.fullmatch(r"\d\d:\d\d:\d\d 4 frame\(s\) of plate \S+ at 0 h wait for their next scan, .*", held[0])
    assert " at 4 h wait for their next scan" in held[1] and " at 8 h wait for their next scan" in held[2]
    assert stderr.index(held[0]) < stderr.index("scoring 4 frame(s)")  # said before the silence, not after it


def test_the_closing_line_gives_the_scoring_time_apart_from_the_watch(watched):
    stdout, _ = watched
    found = re.search(r"; 12 frames scored in ([\d.]+) s of scoring, ([\d.]+) frames/s; watched ([\d.]+) s in all ",
                      stdout)
    assert found, stdout
    scoring, rate, watching = map(float, found.groups())
    assert 0 < scoring < watching and rate == pytest.approx(12 / scoring, rel=0.05, abs=0.1)
