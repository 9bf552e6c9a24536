"""A scan whose wells land out of order (the first-stamped wells last) ends as a one-shot score gives.

Instruments that stamp each well as it is imaged give a scan's frames stamps a minute apart, and every
frame takes its scan's first stamp (:mod:`ferroscreen.io.scan_times`): when a scan's first-stamped wells
land after the others, the frames already in the store move to the earlier time. A `--resume` or
`--watch` must move them (not add them again beside a phantom time point of missing frames).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from ferroscreen.score import DONE, FAILED, PENDING, read_store
from ferroscreen.score.plan import MISSING_REASON, update_frame_table
from ferroscreen.score.store import new_frame_table

from .conftest import make_bundle
from .test_score_cli import cells_by_frame_key, comparable_wells, run, score_cmd

pytestmark = pytest.mark.timeout(300)

_NAME = re.compile(r"(?P<head>.+_phase_)(?P<row>[A-P])(?P<col>\d+)_(?P<field>\d+)_(?P<d>\d+)d(?P<h>\d+)h(?P<m>\d+)m\.tif")


def stamp_rows(plate_dir: Path, dst: Path) -> dict[float, dict[str, list[Path]]]:
    """Copy ``plate_dir`` to ``dst`` without images; return its images renamed to IncuCyte absolute times.

    Each row of a scan is stamped a minute after the row before (A at hh:00, B at hh:01): the
    returned ``{scan hour: {row: [image files]}}`` are copies kept beside ``dst``, to land later.
    """
    shutil.copytree(plate_dir, dst, ignore=shutil.ignore_patterns("*.tif"))
    held = dst.parent / f"{dst.name}_held"
    held.mkdir()
    t0 = datetime(2024, 1, 15, 10, 0)
    scans: dict[float, dict[str, list[Path]]] = {}
    for p in sorted((plate_dir / "images").glob("*.tif")):
        m = _NAME.fullmatch(p.name)
        hours = int(m["d"]) * 24 + int(m["h"]) + int(m["m"]) / 60
        t = t0 + timedelta(hours=hours, minutes="ABCDEFGHIJKLMNOP".index(m["row"]))
        name = f"{m['head']}{m['row']}{m['col']}_{m['field']}_{t:%Y}y{t:%m}m{t:%d}d_{t:%H}h{t:%M}m.tif"
        shutil.copy2(p, held / name)
        scans.setdefault(hours, {}).setdefault(m["row"], []).append(held / name)
    return dict(sorted(scans.items()))


def land(dst: Path, files) -> None:
    for p in files:
        shutil.copy2(p, dst / "images" / p.name)


def assert_one_shot(out: Path, reference: Path) -> None:
    """``out`` holds the frames, cells and wells of the one-shot store ``reference`` (as cmp.py compares them)."""
    fr, ref = (read_store(p).frames.sort_values(["well", "field", "time_h"]).reset_index(drop=True)
               for p in (out, reference))
    assert len(fr) == len(ref), (sorted(fr["time_h"].unique()), sorted(ref["time_h"].unique()))
    fr["path"], ref["path"] = (t["path"].map(lambda p: Path(p).name) for t in (fr, ref))
    assert (fr["status"] == DONE).all(), fr[["well", "time_h", "status", "reason"]]
    pd.testing.assert_frame_equal(fr[["well", "field", "time_h", "path", "next_scan", "n_cells"]],
                                  ref[["well", "field", "time_h", "path", "next_scan", "n_cells"]])
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))


@pytest.fixture(scope="module")
def next_bundle(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("ooo_nb") / "next.pt", next_scan=1)


@pytest.fixture(scope="module")
def stamped(plate_dir, tmp_path_factory) -> tuple[Path, dict]:
    """The whole plate stamped row by row (read-only) and its scans."""
    root = tmp_path_factory.mktemp("ooo_full") / "plate"
    scans = stamp_rows(plate_dir, root)
    land(root, [p for rows in scans.values() for files in rows.values() for p in files])
    return root, scans


@pytest.fixture(scope="module")
def one_shot(stamped, next_bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ooo_ref") / "plate.h5"
    run(score_cmd(stamped[0], next_bundle, out), timeout=120)
    fr = read_store(out).frames
    assert sorted(fr["time_h"].unique()) == [0.0, 4.0, 8.0]  # each scan at its first stamp (row A's)
    return out


def test_resume_moves_frames_to_their_scans_time_when_its_first_wells_land_last(
        plate_dir, stamped, next_bundle, one_shot, tmp_path):
    """Scan 0 and row B of scan 1 (stamped 4 h 1 min) are scored; row A (4 h 0 min) and scan 2 land after."""
    scans = list(stamped[1].values())
    src = tmp_path / "plate"
    stamp_rows(plate_dir, src)
    land(src, [p for files in scans[0].values() for p in files] + scans[1]["B"])
    out = tmp_path / "p.h5"
    run(score_cmd(src, next_bundle, out, "--resume"), timeout=120, returncode=3)  # row A of scan 1: missing
    fr = read_store(out).frames
    assert sorted(fr["time_h"].unique()) == pytest.approx([0.0, 4 + 1 / 60], abs=1e-3)  # stamps kept to 0.36 s
    land(src, scans[1]["A"] + [p for files in scans[2].values() for p in files])
    run(score_cmd(src, next_bundle, out, "--resume"), timeout=120)
    assert_one_shot(out, one_shot)


def test_watch_moves_frames_to_their_scans_time_when_its_first_wells_land_last(
        plate_dir, stamped, next_bundle, one_shot, tmp_path):
    """Live: scan 1's row B lands, is scored, then row A (stamped first) and scan 2 land."""
    scans = list(stamped[1].values())
    src = tmp_path / "plate"
    stamp_rows(plate_dir, src)
    land(src, [p for files in scans[0].values() for p in files] + scans[1]["B"])
    out = tmp_path / "w.h5"
    proc = subprocess.Popen(score_cmd(src, next_bundle, out, "--watch", "--poll-s", "0.5", "--idle-exit-s", "5",
                                      "--settle-s", "0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        done_at_4 = False
        while time.time() < deadline and not done_at_4:  # scan 0 scored with row B's 4 h 1 min as next scan
            time.sleep(0.3)
            if out.exists():
                fr = read_store(out).frames
                done_at_4 = ((fr["status"] == DONE) & (fr["time_h"] == 0) & fr["well"].str.startswith("B")).any()
        assert done_at_4
        land(src, scans[1]["A"] + [p for files in scans[2].values() for p in files])
        _, stderr = proc.communicate(timeout=200)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert_one_shot(out, one_shot)


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame([{"plate": "P", "well": w, "field": 1, "channel": "phase", "z": 0, "time_h": t, "path": p}
                         for w, t, p in rows])


def test_update_frame_table_follows_files_to_their_scans_new_time():
    """Frame ids stay; a recorded file moves to its new time, a missing row of the vanished time takes the
    file that landed, and no row is left at a time the plate no longer has."""
    first = _table([("A01", 0.0, "a0"), ("B01", 0.0, "b0"), ("B01", 4.0 + 1 / 60, "b1")])
    table = update_frame_table(None, first)
    assert table["time_h"].tolist() == pytest.approx([0.0, 0.0, 4 + 1 / 60, 4 + 1 / 60])
    table.loc[table["path"] != "", "status"] = DONE  # scored; A01 at 4 h 1 min is missing
    a01_late = int(((table["well"] == "A01") & (table["time_h"] > 1)).idxmax())
    assert table.at[a01_late, "status"] == FAILED and table.at[a01_late, "reason"] == MISSING_REASON
    now = update_frame_table(table, _table([("A01", 0.0, "a0"), ("B01", 0.0, "b0"), ("A01", 4.0, "a1"),
                                            ("B01", 4.0, "b1")]))
    assert len(now) == len(table)  # nothing appended, nothing duplicated
    assert sorted(now["time_h"].unique()) == [0.0, 4.0]
    assert list(now["path"]) == list(table["path"].where(table["path"] != "", "a1"))  # ids kept
    assert (now.loc[now["path"] == "b1", "status"] == DONE).all()  # moved, its cells kept
    assert now.at[a01_late, "status"] == PENDING and now.at[a01_late, "time_h"] == 4.0


def test_update_frame_table_drops_an_unscored_row_of_a_time_the_plate_lost():
    """Two partial stamps merged into one scan: the leftover missing row goes, done rows stay."""
    table = new_frame_table(_table([("A01", 0.0, "a0"), ("B01", 0.0, "b0"), ("A01", 4.05, ""), ("B01", 4.05, "b2"),
                                    ("A01", 4.5, "a1"), ("B01", 4.5, "")]))
    table["status"] = [DONE, DONE, FAILED, DONE, DONE, FAILED]
    now = update_frame_table(table, _table([("A01", 0.0, "a0"), ("B01", 0.0, "b0"), ("A01", 4.0, "a1"),
                                            ("B01", 4.0, "b2")]))
    assert len(now) == 4 and not now.duplicated(["well", "time_h"]).any()
    assert sorted(zip(now["well"], now["time_h"], now["path"], strict=True)) == [
        ("A01", 0.0, "a0"), ("A01", 4.0, "a1"), ("B01", 0.0, "b0"), ("B01", 4.0, "b2")]
    assert (now["status"] == DONE).all()
