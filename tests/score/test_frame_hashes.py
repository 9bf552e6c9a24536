"""What a store records of the inputs it scored: each frame file's sha256, a plate digest, the layout's sha256.

A store named its frames by path, size and time stamp only, and its layout by path: an image or a
layout edited in place under the same name could not be told. Each frame's ``file_sha256`` is now
taken as the frame is read for scoring, kept through merges, and summed up in ``frames_sha256``;
the layout's sha256 is ``layout_sha256``; both travel with the scoring record (``SCORING_ATTRS``).
"""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pandas as pd

from ferroscreen.hashing import file_sha256
from ferroscreen.score import merge as merge_module
from ferroscreen.score import read_store, score_plate
from ferroscreen.score.dataset import process_frame
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.shard import ShardReader, ShardWriter
from ferroscreen.score.store import DONE, SCORING_ATTRS, frames_digest, new_frame_table

CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]


def _images(plate):
    return sorted((plate / "images").glob("*.tif"))


def test_a_scored_frame_records_the_sha256_of_its_file(plate_dir):
    from ferroscreen.crops import detector_config

    path = _images(plate_dir)[0]
    res = process_frame(0, str(path), detector_config({"preset": "suspension"}), 24, None)
    assert res.record["status"] == DONE
    assert res.record["file_sha256"] == file_sha256(path)  # before: the record had no digest
    missing = process_frame(1, str(path.with_name("gone.tif")), detector_config({"preset": "suspension"}), 24, None)
    assert missing.record["file_sha256"] == ""


def _frames(n):
    df = pd.DataFrame({"plate": "P", "well": [f"A{i + 1:02d}" for i in range(n)], "field": 1, "channel": "ph",
                       "z": 0, "time_h": 0.0, "path": [f"/x/{i}.tif" for i in range(n)]})
    return new_frame_table(df)


def _journal(path, frames: list[int]):
    w = ShardWriter(path, 4)
    for fr in frames:
        p = np.full((2, 4), 0.25, np.float32)
        w.commit([{"frame": fr, "status": DONE, "reason": "", "n_cells": 2, "cell_start": 0, "cell_stop": 2,
                   "height": 8, "width": 8, "focus": 1.0, "empty": 0, "file_size": 10, "file_mtime": 1.0}],
                 {"frame": np.full(2, fr, np.int64), "x": np.zeros(2, np.float32), "y": np.zeros(2, np.float32),
                  "radius": np.ones(2, np.float32), "score": np.ones(2, np.float32), "prob": p})
    w.close()
    return path


def test_merges_keep_each_frames_digest_and_the_store_records_the_plate_digest(tmp_path, monkeypatch):
    digests = {0: "a" * 64, 2: "c" * 64, 3: "b" * 64}

    class WithDigests(ShardReader):  # a journal's results as they carry the digests the worker took
        def __init__(self, path, n_classes):
            super().__init__(path, n_classes)
            self.results = self.results.assign(file_sha256=[digests[int(f)] for f in self.results["frame"]])

    monkeypatch.setattr(merge_module, "ShardReader", WithDigests)
    attrs = {"classes": CLASSES, "confusion": np.eye(4).tolist(), "plate": "P"}
    out = tmp_path / "s.h5"
    store, _ = merge_journals(out, attrs, _frames(4), None, [_journal(tmp_path / "j0.h5", [0, 2])], False)
    store, _ = merge_journals(out, attrs, store.frames, None, [_journal(tmp_path / "j1.h5", [3])], True)  # a resume
    again = read_store(out)
    assert list(again.frames["file_sha256"]) == ["a" * 64, "", "c" * 64, "b" * 64]  # before: no such column
    want = hashlib.sha256(("a" * 64 + "\n" + "b" * 64 + "\n" + "c" * 64 + "\n").encode()).hexdigest()
    assert again.attrs["frames_sha256"] == want and again.attrs["frames_hashed"] == 3
    assert frames_digest(again.frames) == (want, 3)
    assert {"frames_sha256", "frames_hashed", "layout_sha256"} <= set(SCORING_ATTRS)  # export's and fit's record


def test_a_store_written_before_frame_digests_still_reads(tmp_path):
    attrs = {"classes": CLASSES, "confusion": np.eye(4).tolist(), "plate": "P"}
    out = tmp_path / "s.h5"
    merge_journals(out, attrs, _frames(2), None, [_journal(tmp_path / "j.h5", [0])], False)
    with h5py.File(out, "r+") as f:  # as an older ferroscreen wrote it
        del f["frames/file_sha256"]
    old = read_store(out)
    assert list(old.frames["file_sha256"]) == ["", ""]
    assert frames_digest(old.frames) == ("", 0)


def test_the_store_records_the_layout_files_sha256(plate_dir, bundle_path, tmp_path):
    out = tmp_path / "p.h5"
    score_plate(plate_dir, bundle_path, out, workers=0, batch_size=8, precision="32")
    attrs = read_store(out).attrs
    layout = plate_dir / "layout.csv"
    assert attrs["layout_source"] == str(layout.resolve())
    assert attrs["layout_sha256"] == file_sha256(layout)  # before: the path only


def test_a_scored_store_holds_each_frames_sha256_through_a_resume(plate_copy, bundle_path, tmp_path):
    # needs the journal to carry the digest (score/shard.py: /results/file_sha256)
    out = tmp_path / "p.h5"
    images = _images(plate_copy)
    held = images[-1].read_bytes()
    images[-1].unlink()  # a frame that lands later: failed now, scored by the resume
    score_plate(plate_copy, bundle_path, out, workers=0, batch_size=8, precision="32")
    images[-1].write_bytes(held)
    score_plate(plate_copy, bundle_path, out, workers=0, batch_size=8, precision="32", resume=True)
    store = read_store(out)
    frames = store.frames
    assert (frames["status"] == DONE).all()
    assert [frames.loc[frames["path"] == str(p), "file_sha256"].item() for p in images] == \
           [file_sha256(p) for p in images]
    want = hashlib.sha256("".join(f"{file_sha256(p)}\n" for p in sorted(images, key=file_sha256)).encode())
    assert store.attrs["frames_sha256"] == want.hexdigest() and store.attrs["frames_hashed"] == len(images)
