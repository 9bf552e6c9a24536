"""Unit tests: correction, journals surviving a torn commit, merge without duplicates."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pandas as pd
import pytest

from ferroscreen.score.correction import adjusted_fractions, confusion_rates, project_to_simplex
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.shard import ShardReader, ShardWriter
from ferroscreen.score.store import (
    DONE,
    PENDING,
    iter_cells,
    new_frame_table,
    one_version,
    read_cells,
    read_frame_cells,
    read_store,
)

CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]


def test_simplex_projection():
    p = project_to_simplex(np.array([[0.5, 0.7, -0.1, 0.0], [np.nan, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]]))
    assert np.allclose(p[0].sum(), 1) and (p[0] >= 0).all()
    assert np.isnan(p[1]).all()
    assert np.allclose(p[2], 0.25)


def test_adjusted_classify_and_count_removes_false_ferroptosis():
    conf = np.array([[95, 0, 5, 0], [2, 90, 4, 4], [1, 2, 95, 2], [3, 3, 4, 90]])
    rates = confusion_rates(conf)
    rng = np.random.default_rng(0)
    truths = np.array([[1, 0, 0, 0], [0.5, 0.1, 0.4, 0.0], [0.2, 0.3, 0.2, 0.3]])
    for truth in truths:
        n = 4000
        true_cls = rng.choice(4, n, p=truth)
        pred = np.array([rng.choice(4, p=rates[c]) for c in true_cls])
        share = np.bincount(pred, minlength=4) / n
        corr = adjusted_fractions(share, conf)
        assert np.abs(corr - truth).sum() < np.abs(share - truth).sum()
        assert np.isclose(corr.sum(), 1) and (corr >= 0).all()
    vehicle = adjusted_fractions(np.array([0.95, 0.0, 0.05, 0.0]), conf)
    assert vehicle[2] < 0.005 and vehicle[0] > 0.99


def _frames(n):
    df = pd.DataFrame({"plate": "P", "well": [f"A{i + 1:02d}" for i in range(n)], "field": 1, "channel": "ph",
                       "z": 0, "time_h": 0.0, "path": [f"/x/{i}.tif" for i in range(n)]})
    return new_frame_table(df)


def _result(frame, n):
    return {"frame": frame, "status": DONE, "reason": "", "n_cells": n, "cell_start": 0, "cell_stop": n,
            "height": 8, "width": 8, "focus": 1.0, "empty": 0, "file_size": 10, "file_mtime": 1.0}


def _cells(frame, n, seed):
    rng = np.random.default_rng(seed)
    p = rng.random((n, 4)).astype(np.float32)
    return {"frame": np.full(n, frame, np.int64), "x": rng.random(n, dtype=np.float32),
            "y": rng.random(n, dtype=np.float32), "radius": np.ones(n, np.float32), "score": np.ones(n, np.float32),
            "prob": p / p.sum(1, keepdims=True)}


def test_torn_commit_is_ignored_and_replay_does_not_duplicate(tmp_path):
    j = tmp_path / "rank-00000.h5"
    w = ShardWriter(j, 4)
    w.commit([_result(0, 3)], _cells(0, 3, 0))
    w.commit([_result(2, 2)], _cells(2, 2, 1))
    # a torn commit: cells appended and flushed, the process dies before its result rows
    g = w.f["cells"]
    for col in ("frame", "x", "y", "radius", "score", "prob"):
        g[col].resize(g[col].shape[0] + 5, axis=0)
    w.f.flush()
    w.f.id.close()  # no clean close: the SWMR writer flag stays set, like after SIGKILL
    with ShardReader(j, 4) as r:
        assert list(r.results["frame"]) == [0, 2]
    attrs = {"classes": CLASSES, "confusion": np.eye(4).tolist(), "plate": "P"}
    out = tmp_path / "s.h5"
    frames = _frames(4)
    store, applied = merge_journals(out, attrs, frames, None, [j], False)
    assert applied == 2 and store.attrs["n_cells"] == 5
    # replaying the same journal on the merged store (killed before deleting it) adds nothing
    again, applied = merge_journals(out, attrs, store.frames, None, [j], True)
    assert applied == 0 and again.attrs["n_cells"] == 5
    with h5py.File(out, "r") as f:
        assert list(f["frames/status"][()]) == [DONE, PENDING, DONE, PENDING]
        assert list(f["cells/frame"][()]) == [0, 0, 0, 2, 2]
    cells = read_cells(out)
    assert np.allclose(cells[[f"p_{c}" for c in CLASSES]].to_numpy()[:3], _cells(0, 3, 0)["prob"])
    wells = read_store(out).wells.set_index("well")
    assert wells.loc["A01", "n_cells"] == 3 and np.isnan(wells.loc["A02", "frac_alive"])
    assert wells.loc["A02", "n_pending"] == 1


def _store(path, frames_cells: dict[int, int], tmp_path, name: str):
    j = tmp_path / f"{name}.h5"
    w = ShardWriter(j, 4)
    for frame, n in frames_cells.items():
        w.commit([_result(frame, n)], _cells(frame, n, frame))
    w.close()
    attrs = {"classes": CLASSES, "confusion": np.eye(4).tolist(), "plate": "P"}
    return merge_journals(path, attrs, _frames(4), None, [j], False)[0]


def test_reads_inside_one_version_see_the_store_as_it_was_when_a_watch_replaces_it(tmp_path):
    """export/overlay read a store several times; a --watch renaming a new store over it meanwhile changes none."""
    out = tmp_path / "s.h5"
    _store(out, {0: 3}, tmp_path, "j1")
    newer = tmp_path / "newer" / "s.h5"
    newer.parent.mkdir()
    _store(newer, {0: 3, 2: 2}, tmp_path, "j2")
    with one_version(out):
        before = read_store(out)
        os.replace(newer, out)  # as the watch's write_store swaps a store in
        with one_version(out):  # nested: the outer block's version
            assert read_store(out).attrs["n_cells"] == 3
        assert read_store(tmp_path / "." / "s.h5").attrs["n_cells"] == 3  # the same file by another spelling
        assert len(read_cells(out)) == 3 and sum(len(b) for b in iter_cells(out)) == 3
        assert len(read_frame_cells(out, [2])[2]) == 0
        assert list(read_store(out).frames["status"]) == list(before.frames["status"])
    assert read_store(out).attrs["n_cells"] == 5 and len(read_frame_cells(out, [2])[2]) == 2


def test_select_fractions_rejects_unknown_or_missing_estimates():
    import pytest

    from ferroscreen.score.export import select_fractions
    from ferroscreen.score.store import StoreError

    wells = pd.DataFrame({"frac_alive": [0.9], "frac_dead": [0.1], "share_alive": [1.0], "share_dead": [0.0]})
    out = select_fractions(wells, ["alive", "dead"], "share")
    assert out["frac_dead"].tolist() == [0.0] and out["pmean_dead"].tolist() == [0.1]
    with pytest.raises(StoreError, match="corr_alive"):
        select_fractions(wells, ["alive", "dead"], "corr", "w.csv")
    with pytest.raises(StoreError, match="frac, share, corr"):
        select_fractions(wells, ["alive", "dead"], "median")


def test_deferred_predictions_journal_like_immediate_ones(tmp_path):
    """Batches whose probabilities resolve one batch later (int8 scoring) give the same journal."""
    import torch

    from ferroscreen.score.writer import JournalWriter

    class Trainer:
        global_rank = 0
        world_size = 1

    class Later:  # what ScoringModule returns when deferring: resolved by the writer
        def __init__(self, probs):
            self.probs, self.resolved = probs, False

        def result(self):
            assert not written or written[-1] is made[made.index(self) - 1]  # batches are written in order
            written.append(self)
            self.resolved = True
            return self.probs

    rng = np.random.default_rng(3)
    sizes = [(0, 5), (1, 9), (2, 0), (3, 4), (4, 0)]  # (frame, cells); frame 1 spans two batches; 2 and 4: none
    frame = np.concatenate([np.full(n, f, np.int64) for f, n in sizes])
    recs = {f: {**_result(f, n), "next_scan": -1} for f, n in sizes}
    probs = torch.from_numpy(rng.dirichlet(np.ones(4), len(frame)).astype(np.float32))
    xyrs = torch.from_numpy(rng.random((len(frame), 4), dtype=np.float32))
    batches = [(slice(0, 8), [recs[0]]), (slice(8, 14), [recs[1], recs[2]]), (slice(14, 18), [recs[3]]),
               (slice(18, 18), [recs[4]]), (slice(18, 18), [])]
    journals = {}
    for deferred in (False, True):
        w = JournalWriter(tmp_path / str(deferred), 4, commit_every_s=0)
        w.on_predict_start(Trainer(), None)
        made, written = [], []
        for i, (sl, records) in enumerate(batches):
            # ScoringModule answers a batch without crops at once, deferring or not
            pred = Later(probs[sl]) if deferred and sl.stop > sl.start else probs[sl]
            made.append(pred)
            batch = {"frame": torch.from_numpy(frame[sl]), "xyrs": xyrs[sl], "records": records}
            w.write_on_batch_end(Trainer(), None, pred, None, batch, i)
            if isinstance(pred, Later):  # the batch just given is still running; the one before has been written
                assert not pred.resolved and (i == 0 or not isinstance(made[i - 1], Later) or made[i - 1].resolved)
            elif deferred:  # an immediate batch writes the deferred one before it first
                assert all(p.resolved for p in made if isinstance(p, Later))
        w.on_predict_end(Trainer(), None)
        assert all(p.resolved for p in made if isinstance(p, Later))
        with ShardReader(tmp_path / str(deferred) / "rank-00000.h5", 4) as r:
            journals[deferred] = (r.results.drop(columns="reason").copy(), {k: r.cells[k][:] for k in r.cells})
    pd.testing.assert_frame_equal(journals[True][0], journals[False][0])
    assert sorted(journals[True][0]["frame"]) == [0, 1, 2, 3, 4]
    for k, v in journals[False][1].items():
        np.testing.assert_array_equal(journals[True][1][k], v)


@pytest.mark.parametrize("slack", [4096, 0])
def test_journals_in_any_order_merge_into_frame_order(tmp_path, monkeypatch, slack):
    """Frames interleaved across two journals and permuted within them (several workers, DDP ranks) land in
    frame-id order, whether a source's runs are read as one span or (no slack, small windows) one by one."""
    import ferroscreen.score.store as store_mod

    monkeypatch.setattr(store_mod, "SPAN_SLACK", slack)
    n = 12
    sizes = [(f * 7) % 5 + 1 for f in range(n)]
    rng = np.random.default_rng(5)
    order = {0: [f for f in range(n) if f % 2 == 0], 1: [f for f in range(n) if f % 2]}
    for frames_of in order.values():
        rng.shuffle(frames_of)
    journals = []
    for rank, frames_of in order.items():
        j = tmp_path / f"rank-{rank:05d}.h5"
        w = ShardWriter(j, 4)
        for f in frames_of:  # one commit per frame: the journal holds them in this shuffled order
            w.commit([_result(f, sizes[f])], _cells(f, sizes[f], seed=f))
        w.close()
        journals.append(j)
    attrs = {"classes": CLASSES, "confusion": np.eye(4).tolist(), "plate": "P"}
    monkeypatch.setattr(store_mod.write_store, "__defaults__", (24, None))  # copy_rows: windows of up to 8 cells
    store, applied = merge_journals(tmp_path / "s.h5", attrs, _frames(n), None, journals, False)
    assert applied == n and store.attrs["n_cells"] == sum(sizes)
    cells = read_cells(tmp_path / "s.h5")
    assert list(cells["frame"]) == [f for f in range(n) for _ in range(sizes[f])]
    want = np.concatenate([_cells(f, sizes[f], seed=f)["prob"] for f in range(n)])
    np.testing.assert_allclose(cells[[f"p_{c}" for c in CLASSES]].to_numpy(), want, rtol=1e-6)
    starts = store.frames["cell_start"].to_numpy()
    assert list(np.diff(starts)) == sizes[:-1]
