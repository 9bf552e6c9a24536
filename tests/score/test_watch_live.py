"""`score --watch`/`--resume` beside a live imager: scans that land late, half-written, replaced or re-read.

Whatever order the files land in, the store a watch (or a resume) ends with must equal a one-shot
`score` of the complete folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from ferroscreen.score import DONE, read_store

from .conftest import make_bundle
from .test_score_cli import cells_by_frame_key, comparable_wells, run, score_cmd

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def next_bundle(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("live_nb") / "next.pt", next_scan=1)


@pytest.fixture(scope="module")
def next_reference(plate_dir, next_bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("live_nref") / "plate.h5"
    run(score_cmd(plate_dir, next_bundle, out), timeout=120)
    return out


@pytest.fixture(scope="module")
def single_reference(plate_dir, bundle_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("live_ref") / "plate.h5"
    run(score_cmd(plate_dir, bundle_path, out), timeout=120)
    return out


def images_by_time(plate_dir: Path) -> dict[str, list[Path]]:
    by_time: dict[str, list[Path]] = {}
    for p in sorted((plate_dir / "images").glob("*.tif")):
        by_time.setdefault(p.stem.rsplit("_", 1)[1], []).append(p)
    return dict(sorted(by_time.items()))


def empty_plate(plate_dir: Path, dst: Path) -> Path:
    shutil.copytree(plate_dir, dst, ignore=shutil.ignore_patterns("*.tif"))
    return dst


def land(src: Path, files) -> None:
    for p in files:
        shutil.copy(p, src / "images" / p.name)


def assert_same_store(out: Path, reference: Path) -> None:
    fr, ref = (read_store(p).frames.sort_values(["well", "field", "time_h"]).reset_index(drop=True)
               for p in (out, reference))
    assert (fr["status"] == DONE).all(), fr[["well", "time_h", "status", "reason"]]
    pd.testing.assert_series_equal(fr["next_scan"], ref["next_scan"])
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))


def test_resume_reads_the_next_scan_that_landed_after_a_watch_scored_the_newest_frames(
        plate_dir, next_bundle, next_reference, tmp_path):
    """A watch that stopped scored its newest frames without a next scan; a resume once it landed reads it."""
    times = images_by_time(plate_dir)
    src = empty_plate(plate_dir, tmp_path / "plate")
    first, second, third = times.values()
    land(src, first + second)
    out = tmp_path / "p.h5"
    run(score_cmd(src, next_bundle, out), timeout=120)
    assert (read_store(out).frames["next_scan"] == 0).sum() == 4  # the 4 h scan: no next scan yet
    land(src, third)
    proc = run(score_cmd(src, next_bundle, out, "--resume"), timeout=120)
    assert "scoring 4 scored frame(s) again (4 whose later scans changed or landed since)" in proc.stderr
    assert_same_store(out, next_reference)


def test_a_frame_scored_while_its_next_scan_was_half_written_is_scored_again(
        plate_dir, next_bundle, next_reference, tmp_path):
    """A next scan cut short (the imager still writing it) is read once it is whole, not left out for good."""
    src = tmp_path / "plate"
    shutil.copytree(plate_dir, src)
    half = list(images_by_time(plate_dir).values())[1]
    for p in half:
        data = p.read_bytes()
        (src / "images" / p.name).write_bytes(data[: len(data) // 2])
        os.utime(src / "images" / p.name, (time.time() - 60, time.time() - 60))  # settled, yet cut short
    out = tmp_path / "p.h5"
    run(score_cmd(src, next_bundle, out), timeout=120, returncode=3)  # the 4 h frames failed: a partial plate
    fr = read_store(out).frames
    assert (fr.loc[fr["time_h"] == 0, "next_scan"] == 0).all()  # the 4 h scan could not be read
    land(src, half)  # written out
    run(score_cmd(src, next_bundle, out, "--resume"), timeout=120)
    assert_same_store(out, next_reference)
    proc = run(score_cmd(src, next_bundle, out, "--resume"), timeout=120)  # nothing left to do
    assert "frame(s)" not in proc.stderr


def test_a_field_that_lands_late_becomes_the_next_scan_of_the_frame_before(
        plate_dir, next_bundle, next_reference, tmp_path):
    """A01 at 4 h lands after the 8 h scan: A01 at 0 h was read with the 8 h scan, and is read again."""
    src = tmp_path / "plate"
    shutil.copytree(plate_dir, src)
    late = next(p for p in (src / "images").glob("*_A1_*.tif") if "00d04h" in p.name)
    kept = tmp_path / late.name
    late.rename(kept)
    out = tmp_path / "p.h5"
    run(score_cmd(src, next_bundle, out), timeout=120, returncode=3)  # A01 at 4 h failed as missing
    shutil.copy(kept, late)
    run(score_cmd(src, next_bundle, out, "--resume"), timeout=120)
    assert_same_store(out, next_reference)


def test_an_image_replaced_after_it_was_scored_is_scored_again_and_a_deleted_one_keeps_its_cells(
        plate_dir, bundle_path, single_reference, tmp_path):
    src = tmp_path / "plate"
    shutil.copytree(plate_dir, src)
    images = sorted((src / "images").glob("*.tif"))
    first, other = images[0], images[1]
    shutil.copy(other, first)  # a wrong export, re-exported after it was scored
    out = tmp_path / "p.h5"
    run(score_cmd(src, bundle_path, out), timeout=120)
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(single_reference))
    shutil.copy(plate_dir / "images" / first.name, first)
    # a time stamp of its own whatever the clock's grain, an hour ahead (an imager PC's clock ahead of this one's)
    os.utime(first, (time.time() + 3600, time.time() + 3600))
    images[-1].unlink()  # deleted after it was scored: its cells stay
    proc = run(score_cmd(src, bundle_path, out, "--resume"), timeout=120)
    assert "scoring 1 scored frame(s) again (1 image file(s) replaced since scored)" in proc.stderr
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(single_reference))
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(single_reference))


def test_watch_holds_the_frame_before_a_field_that_has_not_landed(plate_dir, next_bundle, next_reference, tmp_path):
    """Live: A01's 4 h scan lands after the 8 h scan; A01 at 0 h waits for it instead of reading the 8 h scan."""
    times = list(images_by_time(plate_dir).values())
    src = empty_plate(plate_dir, tmp_path / "plate")
    late = next(p for p in times[1] if "_A1_" in p.name)
    land(src, [p for t in times for p in t if p != late])
    out = tmp_path / "w.h5"
    proc = subprocess.Popen(score_cmd(src, next_bundle, out, "--watch", "--poll-s", "0.5", "--idle-exit-s", "6"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out.exists() and (read_store(out).frames["status"] == DONE).sum()):
            time.sleep(0.3)
        fr = read_store(out).frames
        a01_0 = (fr["well"] == "A01") & (fr["time_h"] == 0)
        assert (fr.loc[a01_0, "status"] != DONE).all()  # held: its next scan has not landed
        land(src, [late])
        _, stderr = proc.communicate(timeout=150)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "again" not in stderr
    assert_same_store(out, next_reference)


def test_a_stopped_watch_says_to_resume_watching(run_main, monkeypatch, tmp_path):
    """Ctrl-C on `--watch` told the lab to `--resume`, which scores what is there and stops watching."""
    import ferroscreen.score.runner as runner

    monkeypatch.chdir(tmp_path)

    def stopped(*args, **kwargs):
        (tmp_path / "p.h5.parts").mkdir()
        (tmp_path / "p.h5.parts" / "rank-00000.h5").write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "score_plate", stopped)
    got, _, err = run_main("score", "plate", "--model", "m.pt", "--out", "p.h5", "--watch")
    assert got == 130
    assert err.strip() == ("interrupted: p.h5 and its journals keep the frames scored so far; `ferroscreen score "
                           "plate --model m.pt --out p.h5 --resume --watch` continues")


@pytest.mark.parametrize(("size_delta", "mtime_delta", "sizes_only", "again"), [
    (0, 0.0, False, False),
    (0, 1.5, False, False),  # FAT/exFAT and some shares keep 2 s steps: the same file
    (0, 30.0, False, True),  # a re-export of the same size
    (0, 30.0, True, False),  # a folder copied elsewhere without its time stamps
    (10, 0.0, True, True),   # another size: replaced, wherever the folder is
])
def test_which_scored_files_count_as_replaced(tmp_path, size_delta, mtime_delta, sizes_only, again):
    from ferroscreen.score.runner import _rescore_stale
    from ferroscreen.score.store import new_frame_table

    f = tmp_path / "A01.tif"
    f.write_bytes(b"x" * 100)
    st = f.stat()
    os.utime(f, (st.st_atime, st.st_mtime - 100))  # settled long ago
    st = f.stat()
    frames = new_frame_table(pd.DataFrame({"plate": ["P"], "well": ["A01"], "field": [1], "time_h": [0.0],
                                           "channel": ["phase"], "z": [0], "path": [str(f)]}))
    frames["status"] = DONE
    frames["file_size"] = st.st_size - size_delta
    frames["file_mtime"] = st.st_mtime - mtime_delta
    notes: list[str] = []
    out = _rescore_stale(frames, frames, 0, 2.0, {}, notes.append, sizes_only=sizes_only)
    assert (out["status"].iloc[0] != DONE) == again
    assert bool(notes) == again
