"""A score store's content digest: the same for two stores holding the same data, whenever and wherever written.

The reported case: two from-scratch runs with identical data gave stores whose provenance could only
be compared by ``store_sha256``, the file's bytes, which differ with HDF5 file metadata, the
creation times and the paths the store records.
"""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis.fit_inputs import export_record
from ferroscreen.hashing import file_sha256
from ferroscreen.score import store as store_mod
from ferroscreen.score.aggregate import frame_qc, well_aggregates
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.store import (
    DONE,
    STORE_VOLATILE,
    StoreError,
    new_frame_table,
    read_store,
    stamp_run,
    store_content_sha256,
    write_store,
)

from ..conftest import main_in_process
from .test_export_all_or_nothing import _store

CLASSES = ["alive", "apoptosis", "ferroptosis"]
WELLS = ("A01", "A02")
PER_FRAME = 3


def _write(path, run: str, monkeypatch):
    """The same scored plate written to ``path`` as run ``run`` would: its own times, software, paths, file times."""
    root = f"/data/{run}"
    frames = new_frame_table(pd.DataFrame(
        [{"plate": "P1", "well": w, "field": 1, "channel": "phase", "z": 0, "time_h": t, "path": f"{root}/{w}_{t:g}.tif"}
         for t in (0.0, 24.0) for w in WELLS]))
    n = len(frames)
    frames["status"] = DONE
    frames["height"] = frames["width"] = 64
    frames["focus"] = 1.0
    frames["file_size"] = 4096
    frames["file_mtime"] = 1.7e9 + (1000.0 if run == "b" else 0.0) + np.arange(n)
    frames["file_sha256"] = [f"{i:064x}" for i in range(n)]
    rng = np.random.default_rng(0)
    prob = rng.random((n * PER_FRAME, len(CLASSES))).astype(np.float32)
    cells = {"frame": np.repeat(np.arange(n), PER_FRAME), "x": rng.random(n * PER_FRAME, dtype=np.float32),
             "y": rng.random(n * PER_FRAME, dtype=np.float32), "radius": np.full(n * PER_FRAME, 4, np.float32),
             "score": np.ones(n * PER_FRAME, np.float32), "prob": prob / prob.sum(1, keepdims=True)}
    runs = [(i, "c", i * PER_FRAME, (i + 1) * PER_FRAME) for i in range(n)]
    attrs = {"classes": CLASSES, "confusion": np.eye(3).tolist(), "plate": "P1", "temperature": 1.5,
             "bundle_content_sha256": "c" * 64, "config": {"batch_size": 8},
             "acquisition": root, "bundle_path": f"{root}/model.pt", "bundle_sha256": run * 64,
             "bundle_training": {"created": f"2025-01-0{1 + (run == 'b')}T00:00:00+00:00"},
             "created": f"2025-02-0{1 + (run == 'b')}T00:00:00+00:00"}
    env = {"ferroscreen": "0.1.0", "git_commit": run * 40, "platform": f"Linux-{run}"}
    monkeypatch.setattr(store_mod, "now_iso", lambda: f"2025-03-0{1 + (run == 'b')}T00:00:00+00:00")

    def finalize(fr, sums):
        fr = frame_qc(fr)
        return fr, well_aggregates(fr, sums, CLASSES, np.eye(3))

    return write_store(path, stamp_run(attrs, env, {"argv": ["ferroscreen", "score", root], "cwd": root}),
                       frames, None, {"c": cells}, runs, finalize)


@pytest.fixture()
def two(tmp_path, monkeypatch):
    """The same data written by two runs ``a`` and ``b`` that differ in every volatile thing."""
    a, b = tmp_path / "a" / "P1.h5", tmp_path / "b" / "P1.h5"
    _write(a, "a", monkeypatch)
    _write(b, "b", monkeypatch)
    return a, b


def test_stores_with_the_same_data_have_one_content_digest(two):
    # before: score recorded no content digest; only the file's sha256, different for these two
    a, b = two
    assert file_sha256(a) != file_sha256(b)
    sa, sb = read_store(a), read_store(b)
    assert sa.attrs["created"] != sb.attrs["created"] and sa.attrs["updated"] != sb.attrs["updated"]
    assert list(sa.frames["path"]) != list(sb.frames["path"])
    assert store_content_sha256(a) == store_content_sha256(b)
    assert sa.attrs["content_sha256"] == sb.attrs["content_sha256"] == store_content_sha256(a)


def test_a_rewrite_of_the_store_as_a_resume_makes_it_records_the_same_digest(two):
    a, _ = two
    before = read_store(a)
    again, applied = merge_journals(a, before.attrs, before.frames, None, [], True)  # a resume with nothing new
    assert applied == 0
    assert again.attrs["content_sha256"] == read_store(a).attrs["content_sha256"] == before.attrs["content_sha256"]


def _changed(src, dst, change) -> str:
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        change(f)
    return store_content_sha256(dst)


def test_one_changed_value_changes_the_digest_and_a_volatile_one_does_not(two, tmp_path):
    a, _ = two
    base = store_content_sha256(a)

    def prob(f):
        f["cells/prob"][1, 2] = np.nextafter(f["cells/prob"][1, 2], np.float32(1))

    def frame_count(f):
        f["frames/n_cells"][0] = f["frames/n_cells"][0] + 1

    def well_text(f):
        wells = f["wells/well"].asstr()[()]
        wells[0] = "B01"
        f["wells/well"][0] = wells[0]

    def temperature(f):
        f.attrs["temperature"] = 1.25

    def group_attr(f):
        f["cells"].attrs["prob_columns"] = list(reversed(CLASSES))

    for n, change in enumerate((prob, frame_count, well_text, temperature, group_attr)):
        assert _changed(a, tmp_path / f"{n}.h5", change) != base, change.__name__

    def volatile(f):
        f.attrs["environment"] = json.dumps({"ferroscreen": "9.9", "platform": "elsewhere"})
        f.attrs["updated"] = "2030-01-01T00:00:00+00:00"
        f["frames/file_mtime"][0] = 0.0

    assert _changed(a, tmp_path / "v.h5", volatile) == base
    assert {"created", "updated", "environment", "command", "content_sha256", "/frames/path"} <= STORE_VOLATILE


def test_inspect_export_and_fit_provenance_carry_the_digest(tmp_path, monkeypatch, capsys):
    store = _store(tmp_path, "plate", ["RSL3"])
    digest = store_content_sha256(store)
    code, out, err = main_in_process(["inspect", store], monkeypatch, capsys)
    assert code == 0 and f"content digest sha256 {digest}" in out, (out, err)
    code, _, err = main_in_process(["export", store, "--out", tmp_path / "e", "--gallery", "0",
                                    "--compound-gallery", "0"], monkeypatch, capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "e" / "export.json").read_text())
    assert record["store_content_sha256"] == digest and record["store_sha256"] == file_sha256(store)
    carried, _ = export_record(tmp_path / "e" / "wells.csv")
    assert carried["store_content_sha256"] == digest


def test_a_digest_left_stale_by_a_later_write_is_not_claimed(tmp_path, monkeypatch, capsys):
    """Was: a store extended by an older ferroscreen (its `updated` moved, its data grew) kept the digest of its
    earlier contents, and inspect, export and fit all stated it as the store's."""
    from ferroscreen.score.store import current_content_digest

    store = _store(tmp_path, "plate", ["RSL3"])
    recorded = read_store(store).attrs["content_sha256"]
    assert current_content_digest(read_store(store).attrs) == recorded
    with h5py.File(store, "r+") as f:  # as an older version's resume writes it: new data, a new time, no digest
        f["frames/n_cells"][0] = f["frames/n_cells"][0] + 1
        f.attrs["updated"] = "2030-01-01T00:00:00+00:00"
    fresh = store_content_sha256(store)
    assert fresh != recorded and current_content_digest(read_store(store).attrs) is None
    code, out, err = main_in_process(["inspect", store], monkeypatch, capsys)
    assert code == 0 and recorded not in out, out
    code, _, err = main_in_process(["export", store, "--out", tmp_path / "e", "--gallery", "0",
                                    "--compound-gallery", "0"], monkeypatch, capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "e" / "export.json").read_text())
    assert record["store_content_sha256"] == fresh and "content_sha256" not in record["scoring"]


def test_a_file_that_is_no_store_is_one_line(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f.attrs["a"] = 1
    for path in (tmp_path / "x.h5", tmp_path / "y.h5", tmp_path / "missing.h5"):
        with pytest.raises(StoreError) as err:
            store_content_sha256(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
