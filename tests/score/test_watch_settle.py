"""`score --watch --settle-s`: when a file that landed counts as written out, clocks ahead of this one's included.

An imager PC writing to a share stamps its files with its own clock, often ahead of the analysis
machine's: a file stamped in the future must not wait until this clock reaches its stamp (an hour
ahead: an hour). A file seen unchanged (size and time stamp) for ``settle_s`` is settled too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from ferroscreen.score import DONE, read_store
from ferroscreen.score.plan import file_settled, frames_to_score
from ferroscreen.score.store import PENDING, new_frame_table

from ..cli_process import FERROSCREEN, run_command

HOUR = 3600.0


def landed(path: Path, size: int = 100, ahead_s: float = HOUR) -> Path:
    """A file of ``size`` bytes stamped ``ahead_s`` seconds after this clock's now."""
    path.write_bytes(b"x" * size)
    stamp = time.time() + ahead_s
    os.utime(path, (stamp, stamp))
    return path


def sig(path: Path) -> tuple[int, float]:
    st = path.stat()
    return st.st_size, st.st_mtime


class Clock:
    """A settable ``time`` module stand-in (``time()`` only) for the modules that read the clock."""

    def __init__(self, monkeypatch, *modules) -> None:
        self.now = time.time()
        for module in modules:
            monkeypatch.setattr(module, "time", SimpleNamespace(time=lambda: self.now))

    def advance(self, seconds: float) -> None:
        self.now += seconds


def one_frame(path: Path, status: str = PENDING) -> pd.DataFrame:
    frames = new_frame_table(pd.DataFrame({"plate": ["P"], "well": ["A01"], "field": [1], "time_h": [0.0],
                                           "channel": ["phase"], "z": [0], "path": [str(path)]}))
    frames["status"] = status
    return frames


# ---------------------------------------------------------------- file_settled


def test_a_file_stamped_in_the_future_settles_once_seen_unchanged_for_settle_s(tmp_path):
    f = landed(tmp_path / "A01.tif")
    size, mtime = sig(f)
    now = time.time()
    seen: dict = {}
    assert not file_settled(str(f), size, mtime, now, 2.0, seen)  # first seen: recorded
    assert str(f) in seen
    assert not file_settled(str(f), size, mtime, now + 1.9, 2.0, seen)
    assert file_settled(str(f), size, mtime, now + 2.0, 2.0, seen)
    assert file_settled(str(f), size, mtime, now + 60, 2.0, seen)  # and stays so
    assert not file_settled(str(f), size, mtime, now + 60, 2.0)  # without a record only the age counts


def test_a_file_that_changes_between_polls_starts_its_wait_again(tmp_path):
    f = landed(tmp_path / "A01.tif", size=100)
    now = time.time()
    seen: dict = {}
    assert not file_settled(str(f), *sig(f), now, 2.0, seen)
    stamp = f.stat().st_mtime
    with open(f, "ab") as fh:  # still being written: it grew, same (coarse) time stamp
        fh.write(b"y" * 50)
    os.utime(f, (stamp, stamp))
    assert sig(f) == (150, stamp)
    assert not file_settled(str(f), *sig(f), now + 3, 2.0, seen)  # changed: seen 0 s ago
    assert not file_settled(str(f), *sig(f), now + 4.5, 2.0, seen)
    assert file_settled(str(f), *sig(f), now + 5, 2.0, seen)
    landed(f, size=150, ahead_s=HOUR + 30)  # same size, a new time stamp: rewritten
    assert not file_settled(str(f), *sig(f), now + 6, 2.0, seen)
    assert file_settled(str(f), *sig(f), now + 8, 2.0, seen)


def test_settle_zero_checks_nothing_and_agreeing_clocks_settle_by_age(tmp_path):
    f = landed(tmp_path / "A01.tif")
    now = time.time()
    seen: dict = {}
    assert file_settled(str(f), *sig(f), now, 0.0, seen) and not seen  # one-shot: no check, the future too
    g = landed(tmp_path / "A02.tif", ahead_s=-1.0)  # written a second ago by this clock
    assert not file_settled(str(g), *sig(g), now, 2.0, seen)
    assert file_settled(str(g), *sig(g), now + 1.1, 2.0, seen)  # by its age, before the record's 2 s
    h = landed(tmp_path / "A03.tif", ahead_s=-1.0)
    assert not file_settled(str(h), *sig(h), now + 0.5, 2.0, seen)  # seen 0.5 s after it was written
    assert not file_settled(str(h), *sig(h), now + 0.9, 2.0, seen)  # the record never settles it sooner
    old = landed(tmp_path / "A04.tif", ahead_s=-10.0)
    assert file_settled(str(old), *sig(old), now, 2.0, seen) and str(old) not in seen  # nothing to remember


# ---------------------------------------------------------------- where the watch asks


def test_frames_to_score_takes_a_future_stamped_frame_on_the_next_poll(tmp_path, monkeypatch):
    import ferroscreen.score.plan as plan

    clock = Clock(monkeypatch, plan)
    frames = one_frame(landed(tmp_path / "A01.tif"))
    assert list(frames_to_score(frames, 0.0)) == [0]  # one-shot: no settling, a clock an hour behind or not
    seen: dict = {}
    assert list(frames_to_score(frames, 2.0, seen)) == []
    clock.advance(0.5)  # --poll-s 0.5
    assert list(frames_to_score(frames, 2.0, seen)) == []
    clock.advance(2.0)
    assert list(frames_to_score(frames, 2.0, seen)) == [0]  # not an hour later
    assert list(frames_to_score(frames, 2.0, {})) == []  # a record of its own each watch


def test_a_next_scan_stamped_in_the_future_releases_the_frame_before_it(tmp_path, monkeypatch):
    import ferroscreen.score.plan as plan
    import ferroscreen.score.runner as runner

    clock = Clock(monkeypatch, plan, runner)
    later = landed(tmp_path / "A01_4h.tif")
    assert runner._settled(str(later), clock.now, 0.0)  # settle 0: whether it is there, whatever its stamp
    assert not runner._settled(str(tmp_path / "gone.tif"), clock.now, 0.0)
    first = tmp_path / "A01_0h.tif"
    first.write_bytes(b"x" * 100)
    os.utime(first, (clock.now - 60, clock.now - 60))
    frames = new_frame_table(pd.DataFrame({"plate": ["P"] * 2, "well": ["A01"] * 2, "field": [1, 1],
                                           "time_h": [0.0, 4.0], "channel": ["phase"] * 2, "z": [0, 0],
                                           "path": [str(first), str(later)]}))
    seen: dict = {}
    ids, _ = runner._due(frames, 2.0, 1, hold=True, seen=seen)
    assert list(ids) == []  # its next scan is still settling, and so is the 4 h frame itself
    clock.advance(2.5)
    ids, following = runner._due(frames, 2.0, 1, hold=True, seen=seen)
    assert list(ids) == [0] and following.iat[0] == str(later)  # the 4 h frame waits for its own next scan


def test_a_replacement_stamped_in_the_future_is_scored_again_on_the_next_poll(tmp_path, monkeypatch):
    import ferroscreen.score.runner as runner

    clock = Clock(monkeypatch, runner)
    f = landed(tmp_path / "A01.tif", size=100, ahead_s=-100)
    frames = one_frame(f, DONE)
    frames["file_size"], frames["file_mtime"] = sig(f)
    landed(f, size=120)  # re-exported by a PC whose clock is an hour ahead
    notes: list[str] = []
    seen: dict = {}
    out = runner._rescore_stale(frames, frames, 0, 2.0, {}, notes.append, seen=seen)
    assert (out["status"] == DONE).all() and not notes  # maybe still being written
    clock.advance(3.0)
    out = runner._rescore_stale(frames, frames, 0, 2.0, {}, notes.append, seen=seen)
    assert (out["status"] != DONE).all()
    assert notes == [f"note: scoring 1 scored frame(s) again (1 image file(s) replaced since scored), e.g. {f}"]
    out = runner._rescore_stale(frames, frames, 0, 0.0, {}, notes.append)  # a resume: no settling
    assert (out["status"] != DONE).all()


# ---------------------------------------------------------------- the command line


def test_a_negative_settle_s_is_one_line(tmp_path, user_error):
    proc = run_command([*FERROSCREEN, "score", str(tmp_path / "plate"), "--model", str(tmp_path / "m.pt"), "--out",
                        str(tmp_path / "p.h5"), "--watch", "--settle-s", "-1"],
                       capture_output=True, text=True, timeout=120)
    user_error(proc, "--settle-s must be a number >= 0, not -1")
    assert not (tmp_path / "p.h5").exists()


def test_settle_s_reaches_the_run(run_main, monkeypatch, tmp_path):
    import ferroscreen.score.runner as runner

    got: dict = {}

    def stopped(*args, **kwargs):
        got.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "score_plate", stopped)
    monkeypatch.chdir(tmp_path)
    assert run_main("score", "plate", "--model", "m.pt", "--out", "p.h5", "--watch", "--settle-s", "30")[0] == 130
    assert got["settle_s"] == 30.0 and got["watch"] is True
    assert run_main("score", "plate", "--model", "m.pt", "--out", "p.h5", "--watch")[0] == 130
    assert got["settle_s"] == 2.0
    # like --poll-s and --idle-exit-s, accepted without --watch (a one-shot run does not settle)
    assert run_main("score", "plate", "--model", "m.pt", "--out", "p.h5", "--settle-s", "5")[0] == 130


# ---------------------------------------------------------------- live


@pytest.mark.slow  # ~25 s alone, a minute and more on a loaded 2-core runner
@pytest.mark.timeout(240)
def test_watch_scores_a_scan_stamped_an_hour_ahead_before_it_stops(plate_dir, bundle_path, tmp_path):
    """The last scan lands from an imager whose clock is an hour ahead: scored by the watch, not an hour later."""
    from .test_score_cli import score_cmd

    src = tmp_path / "plate"
    shutil.copytree(plate_dir, src, ignore=shutil.ignore_patterns("*.tif"))
    images = sorted((plate_dir / "images").glob("*.tif"))
    by_time: dict[str, list[Path]] = {}
    for p in images:
        by_time.setdefault(p.stem.rsplit("_", 1)[1], []).append(p)
    *early, last = [by_time[k] for k in sorted(by_time)]
    for p in (q for t in early for q in t):
        shutil.copy(p, src / "images" / p.name)
    out = tmp_path / "w.h5"
    proc = subprocess.Popen(score_cmd(src, bundle_path, out, "--watch", "--poll-s", "0.5", "--idle-exit-s", "6"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out.exists() and (read_store(out).frames["status"] == DONE).sum()):
            time.sleep(0.3)
        assert out.exists(), "the watch scored nothing"
        for p in last:
            dst = src / "images" / p.name
            shutil.copy(p, dst)
            ahead = time.time() + HOUR
            os.utime(dst, (ahead, ahead))
        _, stderr = proc.communicate(timeout=150)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    fr = read_store(out).frames
    assert len(fr) == len(images) and (fr["status"] == DONE).all(), fr[["well", "time_h", "status", "reason"]]
    assert "held" not in stderr and "without" not in stderr  # scored on a poll, not by the watch's last pass
