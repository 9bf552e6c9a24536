"""A well x time with no scored frame is not read, a part-read one counts all its fields, and unmerged results are named.

The reported cases: a well x time whose frames were all missing or failed was written with
``n_cells`` 0, read by ``fit`` as "no cell left" (a vehicle well's viability 0, every other
viability on the plate inflated, 0.98 -> 1.37); a well x time with one of its four fields unread
summed three, a quarter of its cells "lost"; ``qc_missing`` counted the frames of no listed file
but not a listed file absent on disk (reason "image file not found"); and ``export`` of a stopped
store whose scored frames all wait in ``<store>.parts`` said "no frame is scored yet".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.score.merge import merge_journals
from ferroscreen.score.plan import MISSING_REASON
from ferroscreen.score.shard import ShardWriter
from ferroscreen.score.store import DONE, FAILED, new_frame_table, read_store

from ..conftest import main_in_process

CLASSES = ["alive", "apoptosis"]


def _result(frame: int, n: int, status: int = DONE, reason: str = "") -> dict:
    return {"frame": frame, "status": status, "reason": reason, "n_cells": n, "cell_start": 0, "cell_stop": n,
            "height": 8, "width": 8, "focus": 1.0, "empty": int(n == 0), "file_size": 10, "file_mtime": 1.0}


def _cells(frame: int, n: int, dead: int) -> dict:
    prob = np.array([[0.1, 0.9]] * dead + [[0.8, 0.2]] * (n - dead), np.float32).reshape(n, 2)
    return {"frame": np.full(n, frame, np.int64), "x": np.zeros(n, np.float32), "y": np.zeros(n, np.float32),
            "radius": np.ones(n, np.float32), "score": np.ones(n, np.float32), "prob": prob}


def _store(tmp_path, outcomes: dict[tuple[str, int, float], object], missing_paths=()) -> pd.DataFrame:
    """A store of wells A01, A02 x fields 1-4 at 0 and 24 h; its ``/wells`` (indexed by well, time).

    Every frame is scored with 12 cells (3 dead), except those in ``outcomes``: ``(well, field,
    time) -> (n, dead)`` scored so, or ``-> reason`` failed with it. ``missing_paths``: frames listed
    with no file (empty path, failed as ``plan`` marks them).
    """
    rows = [{"plate": "P", "well": w, "field": f, "channel": "ph", "z": 0, "time_h": t,
             "path": str(tmp_path / f"{w}_{f}_{t:g}.tif")} for t in (0.0, 24.0) for w in ("A01", "A02")
            for f in (1, 2, 3, 4)]
    frames = new_frame_table(pd.DataFrame(rows))
    writer = ShardWriter(tmp_path / "rank-00000.h5", len(CLASSES))
    for i, r in frames.iterrows():
        key = (r["well"], r["field"], r["time_h"])
        if key in missing_paths:
            frames.loc[i, ["path", "status", "reason"]] = ["", FAILED, MISSING_REASON]
            continue
        outcome = outcomes.get(key, (12, 3))
        if isinstance(outcome, str):
            writer.commit([_result(i, 0, FAILED, outcome)], _cells(i, 0, 0))
        else:
            writer.commit([_result(i, outcome[0])], _cells(i, *outcome))
    writer.close()
    out = tmp_path / "s.h5"
    merge_journals(out, {"classes": CLASSES, "plate": "P"}, frames, None, [tmp_path / "rank-00000.h5"], False)
    return read_store(out).wells.set_index(["well", "time_h"])


def test_a_well_time_with_no_scored_frame_has_no_count_not_zero(tmp_path):
    failed = {("A02", f, 24.0): f"{tmp_path}/A02_{f}_24.tif: image file not found" for f in (1, 2)}
    wells = _store(tmp_path, failed, missing_paths={("A02", 3, 24.0), ("A02", 4, 24.0)})
    row = wells.loc[("A02", 24.0)]
    assert row["n_done"] == 0 and row["n_failed"] == 4
    assert np.isnan(row["n_cells"]) and np.isnan(row["n_cells_read"])  # before: n_cells 0, "no cell left"
    assert np.isnan(row["frac_alive"])
    assert wells.loc[("A01", 24.0), "n_cells"] == 48 and wells.loc[("A02", 0.0), "n_cells"] == 48


def test_a_part_read_well_time_counts_all_its_fields_and_keeps_its_fractions(tmp_path):
    wells = _store(tmp_path, {("A01", 4, 24.0): "detection failed (ValueError: bad)", ("A01", 1, 24.0): (12, 6)})
    row = wells.loc[("A01", 24.0)]
    assert row["n_done"] == 3 and row["n_cells_read"] == 36
    assert row["n_cells"] == 48  # 36 cells in 3 of 4 fields; before: 36, a quarter of the cells "lost"
    assert np.isclose(row["share_apoptosis"], 12 / 36)  # the fractions are those of the cells read
    empty = _store(tmp_path, {("A01", 4, 24.0): "detection failed (ValueError: bad)", ("A01", 1, 24.0): (0, 0),
                              ("A01", 2, 24.0): (0, 0), ("A01", 3, 24.0): (0, 0)})
    assert empty.loc[("A01", 24.0), "n_cells"] == 0  # empty frames are read: no cell left there


def test_qc_missing_counts_a_listed_file_absent_on_disk_whatever_the_reason(tmp_path):
    present = tmp_path / "A01_3_24.tif"
    present.write_bytes(b"not an image")
    wells = _store(tmp_path, {
        ("A01", 1, 24.0): f"image file not found: {tmp_path}/A01_1_24.tif",  # score.dataset's reason
        ("A01", 2, 24.0): f"{tmp_path}/A01_2_24.tif: unreadable image (No such file or directory)",  # gone since
        ("A01", 3, 24.0): f"{present}: unreadable image (not a TIFF)",  # there, but unreadable: not missing
    }, missing_paths={("A01", 4, 24.0)})
    # before: 1 (only the frame listed with no file, whose reason starts with "missing")
    assert wells.loc[("A01", 24.0), "qc_missing"] == 3
    assert wells.loc[("A01", 24.0), "n_failed"] == 4


def test_export_of_a_store_whose_scored_frames_wait_in_its_journals_says_merge(tmp_path, monkeypatch, capsys):
    rows = [{"plate": "P", "well": w, "field": 1, "channel": "ph", "z": 0, "time_h": t, "path": f"/x/{w}_{t:g}.tif"}
            for t in (0.0, 24.0) for w in ("A01", "A02")]
    frames = new_frame_table(pd.DataFrame(rows))
    store = tmp_path / "s.h5"
    merge_journals(store, {"classes": CLASSES, "plate": "P"}, frames, None, [], False)  # every frame pending
    parts = tmp_path / "s.h5.parts"
    parts.mkdir()
    writer = ShardWriter(parts / "rank-00000.h5", len(CLASSES))  # a stopped run's results, never merged
    for i in (0, 1, 2):
        writer.commit([_result(i, 5)], _cells(i, 5, 1))
    writer.close()
    code, out, err = main_in_process(["export", store, "--out", tmp_path / "e"], monkeypatch, capsys)
    assert code == 2 and out == "" and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    # before: "no frame is scored yet (4 of 4 pending): score it to the end ... first"
    assert err.startswith(f"error: {store}: no frame is scored yet (4 of 4 pending)"), err
    assert f"a stopped run left 3 scored frame(s) in {parts}, not merged" in err, err
    assert f"--out {store} --resume" in err and "merges them" in err, err
    assert not (tmp_path / "e").exists()
