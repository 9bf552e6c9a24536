"""``score --watch`` waits a few of the plate's scan intervals before it stops, not a fixed 10 minutes.

Was: the default ``--idle-exit-s`` of 600 s ended a watch of a plate scanned every 2-4 h after its
first scan (``no new frames for 600 s; stopping``), with most of the experiment still to come.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from ferroscreen.score import idle
from ferroscreen.score.idle import describe_wait, idle_limit_s
from ferroscreen.score.runner import score_plate

pytestmark = pytest.mark.timeout(240)


def _frames(times_h) -> pd.DataFrame:
    return pd.DataFrame({"well": ["A01"] * len(times_h), "time_h": list(times_h)})


def test_the_default_wait_follows_the_plates_scan_interval():
    assert idle_limit_s(None, _frames([0, 2, 4, 6]))[0] == 2.5 * 2 * 3600
    assert idle_limit_s(None, _frames([0, 4, 8, 9, 13]))[0] == 2.5 * 4 * 3600  # the median gap
    secs, why = idle_limit_s(None, _frames([0, 1, 2]))
    assert secs == 9000 and why == "2.5 scan intervals of 1 h"
    secs, why = idle_limit_s(None, _frames([0.0]))  # one scan seen: 4 h assumed
    assert secs == 2.5 * 4 * 3600 and why == "2.5 scan intervals of 4 h (assumed before a second scan)"
    assert idle_limit_s(None, None)[0] == 36000.0
    secs, why = idle_limit_s(None, _frames([0, 1 / 60, 2 / 60]))  # a fast test schedule: never under 600 s
    assert secs == 600.0 and why == "at least 10 min; 2.5 scan intervals of 60 s is less"


def test_a_given_idle_exit_s_stands():
    assert idle_limit_s(30.0, _frames([0, 4, 8])) == (30.0, "")
    assert idle_limit_s(0.0, None) == (0.0, "")


@pytest.mark.parametrize(("seconds", "text"), [(1.0, "1 s"), (45.5, "45.5 s"), (600, "10 min"), (9000, "2 h 30 min"),
                                                (36000, "10 h")])
def test_waits_read_as_a_person_says_them(seconds, text):
    assert describe_wait(seconds) == text


def _stamp(plate, seconds_from_now: float) -> None:
    """Give every file of ``plate`` a modification time ``seconds_from_now`` from now."""
    import os

    when = time.time() + seconds_from_now
    for p in plate.rglob("*"):
        if p.is_file():
            os.utime(p, (when, when))


def _watch(plate, bundle_path, tmp_path, lines):
    return score_plate(plate, bundle_path, tmp_path / "p.h5", watch=True, poll_s=0.2, settle_s=0.0, workers=0,
                       batch_size=8, precision="32", log=lines.append)


def test_a_watch_without_idle_exit_s_stops_after_its_plates_scan_intervals(plate_copy, bundle_path, tmp_path,
                                                                           monkeypatch):
    """The plate's own interval sets the wait (scaled down here so the test takes seconds), counted from its
    newest file."""
    from ferroscreen.io import open_acquisition
    from ferroscreen.io.scans import scan_interval_h

    interval_h = scan_interval_h(open_acquisition(plate_copy).frames)
    monkeypatch.setattr(idle, "MIN_IDLE_S", 0.0)
    monkeypatch.setattr(idle, "IDLE_SCANS", 1.5 / (interval_h * 3600))  # 1.5 s
    lines: list[str] = []
    _stamp(plate_copy, 0.0)  # the scan just landed
    t0 = time.monotonic()
    s = _watch(plate_copy, bundle_path, tmp_path, lines)
    assert 1.5 <= time.monotonic() - t0 < 120
    assert s["done"] == 12
    stop = [line for line in lines if line.startswith("no new frames for")]
    assert stop == [f"no new frames for 1.5 s ({idle.IDLE_SCANS:g} scan intervals of "
                    f"{describe_wait(interval_h * 3600)}); stopping"], lines


def test_a_watch_of_a_plate_whose_imaging_ended_stops_after_its_first_pass(plate_copy, bundle_path, tmp_path):
    """Was: the wait counted from the watch's start, so a watch (or a requeued job) on a finished plate sat
    another 10 h; its newest file is two days old, so it stops once the files there are scored."""
    _stamp(plate_copy, -2 * 86400)
    lines: list[str] = []
    t0 = time.monotonic()
    s = _watch(plate_copy, bundle_path, tmp_path, lines)
    assert time.monotonic() - t0 < 120 and s["done"] == 12
    assert any(line.startswith("no new frames for 10 h (2.5 scan intervals of 4 h)") for line in lines), lines


def test_file_times_ahead_of_the_clock_fall_back_to_the_watchs_own_time(plate_copy, bundle_path, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(idle, "MIN_IDLE_S", 0.0)
    monkeypatch.setattr(idle, "IDLE_SCANS", 2.0 / (4 * 3600))  # 2 s on the 4-hourly plate
    _stamp(plate_copy, 86400)  # an imager whose clock runs a day ahead
    lines: list[str] = []
    t0 = time.monotonic()
    s = _watch(plate_copy, bundle_path, tmp_path, lines)
    assert 2.0 <= time.monotonic() - t0 < 120 and s["done"] == 12
