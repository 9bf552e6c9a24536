"""What export says of a plate still being imaged, and of frames that failed.

The reported cases (a 384-well plate scored after each scan with ``score --resume``): the newest
scan was classified without its later scans (the model reads two) and the one before with only
one, so their rows changed when later scans landed (mean dead share at a newest scan 0.106, 0.128
once final), yet ``wells.csv`` marked them nowhere and ``export`` said nothing; ``export`` during a
``score --watch`` said the frames reach the store "when it ends" (a watch merges after each pass);
and a store with failed frames (unreadable or missing images) was exported without a note.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ferroscreen.score.export import export_plate, export_wells
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.plan import MISSING_REASON
from ferroscreen.score.shard import ShardWriter
from ferroscreen.score.store import DONE, FAILED, StoreError, new_frame_table
from ferroscreen.score.store_lock import store_lock

from ..conftest import main_in_process

CLASSES = ["alive", "apoptosis"]
TIMES = (0.0, 4.0, 8.0, 12.0)


def _result(frame: int, n: int, next_scan: int, status: int = DONE, reason: str = "") -> dict:
    return {"frame": frame, "status": status, "reason": reason, "n_cells": n, "cell_start": 0, "cell_stop": n,
            "height": 8, "width": 8, "focus": 1.0, "empty": int(n == 0), "file_size": 10, "file_mtime": 1.0,
            "next_scan": next_scan}


def _cells(frame: int, n: int) -> dict:
    prob = np.array([[0.8, 0.2]] * n, np.float32).reshape(n, 2)
    return {"frame": np.full(n, frame, np.int64), "x": np.zeros(n, np.float32), "y": np.zeros(n, np.float32),
            "radius": np.ones(n, np.float32), "score": np.ones(n, np.float32), "prob": prob}


def _store(tmp_path, k: int, failed=None, config=None, scored: bool = True):
    """Wells A01, A02 (one field) at 0, 4, 8, 12 h, scored by a model reading ``k`` later scans.

    A01 reads every later scan there is (up to ``k``); A02 lacks its 4 h image (failed as missing),
    so its 0 h frame reads none past that gap. ``failed``: ``(well, time) -> reason`` of frames failed
    so (unreadable). ``scored`` False: every frame pending (a run that scored nothing yet).
    """
    rows = [{"plate": "P", "well": w, "field": 1, "channel": "ph", "z": 0, "time_h": t,
             "path": str(tmp_path / f"{w}_{t:g}.tif")} for t in TIMES for w in ("A01", "A02")]
    frames = new_frame_table(pd.DataFrame(rows))
    gap = frames["well"].eq("A02") & frames["time_h"].eq(4.0)
    frames.loc[gap, ["path", "status", "reason"]] = ["", FAILED, MISSING_REASON]
    journals = []
    if scored:
        writer = ShardWriter(tmp_path / "rank-00000.h5", len(CLASSES))
        for i, r in frames.iterrows():
            if gap[i]:
                continue
            later = sum(1 for t in TIMES if t > r["time_h"])
            read = 0 if (r["well"], r["time_h"]) == ("A02", 0.0) else min(k, later) if k else -1
            reason = (failed or {}).get((r["well"], r["time_h"]))
            if reason:
                writer.commit([_result(i, 0, -1, FAILED, reason)], _cells(i, 0))
            else:
                writer.commit([_result(i, 10, read)], _cells(i, 10))
        writer.close()
        journals = [tmp_path / "rank-00000.h5"]
    out = tmp_path / "s.h5"
    attrs = {"classes": CLASSES, "plate": "P", "next_scan": k, **({"config": config} if config else {})}
    merge_journals(out, attrs, frames, None, journals, False)
    return out


def _provisional(csv) -> dict:
    wells = pd.read_csv(csv)
    return {(r.well, r.time_h): r.provisional for r in wells.itertuples()}


LIVE = {"watch": False, "live": True}  # scored again with --resume as the plate was imaged


def test_the_newest_scans_a_model_read_short_are_provisional(tmp_path):
    store = _store(tmp_path, k=2, config=LIVE)
    lines = export_plate(store, tmp_path / "e", gallery=0, compound_gallery=0)
    marked = _provisional(tmp_path / "e" / "wells.csv")
    assert marked == {("A01", 0.0): 0, ("A01", 4.0): 0, ("A01", 8.0): 1, ("A01", 12.0): 1,
                      ("A02", 0.0): 0,  # short of its later scans by the gap at 4 h, not by the plate's end
                      ("A02", 4.0): 0, ("A02", 8.0): 1, ("A02", 12.0): 1}
    columns = list(pd.read_csv(tmp_path / "e" / "wells.csv").columns)
    assert columns[columns.index("qc_ok") + 1] == "provisional"
    said = [line for line in lines if "provisional" in line]
    assert len(said) == 1 and "(8, 12 h)" in said[0] and "--resume" in said[0], lines
    record = json.loads((tmp_path / "e" / "export.json").read_text())
    assert any("(8, 12 h) are provisional" in n for n in record["notes"])


def test_a_plate_scored_in_one_run_is_taken_as_imaged_in_full(tmp_path):
    """One score run (no --watch, no --resume): its newest scans are final, read without later scans."""
    store = _store(tmp_path, k=2, config={"watch": False, "live": False})
    lines = export_plate(store, tmp_path / "e", gallery=0, compound_gallery=0)
    assert set(_provisional(tmp_path / "e" / "wells.csv").values()) == {0}
    assert not any("provisional" in line for line in lines)


def test_a_model_that_reads_no_later_scan_has_no_provisional_row(tmp_path):
    store = _store(tmp_path, k=0)
    lines = export_plate(store, tmp_path / "e", gallery=0, compound_gallery=0)
    assert set(_provisional(tmp_path / "e" / "wells.csv").values()) == {0}
    assert not any("provisional" in line for line in lines)


def test_the_column_is_all_that_the_provisional_marks_add_to_wells_csv(tmp_path):
    """Every other column of wells.csv is written as before: the store's /wells, the same numbers."""
    from ferroscreen.score.store import read_store

    store = _store(tmp_path, k=1, config=LIVE)
    csv = export_wells(store, tmp_path / "e")
    written = pd.read_csv(csv)
    stored = read_store(store).wells
    assert written["provisional"].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]  # time-sorted: the 12 h scan of both
    for col in ("n_cells", "n_failed", "qc_ok", "share_alive"):
        np.testing.assert_array_equal(written[col].to_numpy(float), stored[col].to_numpy(float))


def test_export_names_failed_frames_and_how_to_score_them_again(tmp_path):
    (tmp_path / "A01_8.tif").write_bytes(b"II*\x00")  # there, but cut short
    store = _store(tmp_path, k=0, failed={("A01", 8.0): "unreadable image (truncated TIFF)"})
    lines = export_plate(store, tmp_path / "e", gallery=0, compound_gallery=0)
    said = [line for line in lines if "frames failed" in line]
    assert len(said) == 1, lines
    assert "2 of its 8 frames failed, 1 of them without an image file" in said[0]
    assert "--resume" in said[0] and "fixed" in said[0]
    record = json.loads((tmp_path / "e" / "export.json").read_text())
    assert any("2 of its 8 frames failed" in n for n in record["notes"])


@pytest.mark.parametrize("watch", [True, False])
def test_export_during_a_live_run_says_when_its_frames_reach_the_store(tmp_path, watch, monkeypatch, capsys):
    store = _store(tmp_path, k=1, config={"watch": watch}, scored=False)
    with store_lock(store):
        with pytest.raises(StoreError) as err:
            export_wells(store, tmp_path / "e")
        code, _, stderr = main_in_process(["export", store, "--out", tmp_path / "e"], monkeypatch, capsys)
    message = str(err.value)
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    if watch:  # a watch merges what it scored after each pass, not when it ends
        assert "score --watch" in message and "each pass" in message and "when it ends" not in message, message
        assert "1 later scan" in message, message  # and holds each site's frames until those land
    else:
        assert "reach the store when it ends" in message, message
