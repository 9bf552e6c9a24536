"""Scoring with a next-scan bundle: the second channel, the last scan, and --watch holding the newest scan."""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from ferroscreen.score import DONE, read_cells, read_store

from .conftest import make_bundle
from .test_score_cli import comparable_wells, run, score_cmd


@pytest.fixture(scope="module")
def next_bundle(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("nb") / "next.pt", next_scan=True)


@pytest.fixture(scope="module")
def next_reference(plate_dir, next_bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("nref") / "plate.h5"
    run(score_cmd(plate_dir, next_bundle, out))
    return out


def test_next_scan_is_read_except_on_the_last_scan(next_reference, plate_dir, bundle_path, tmp_path):
    single = tmp_path / "single.h5"
    run(score_cmd(plate_dir, bundle_path, single))  # the same weights, reading one scan
    store = read_store(next_reference)
    fr = store.frames
    assert store.attrs["next_scan"] == 1 and read_store(single).attrs["next_scan"] == 0
    last = fr["time_h"] == fr["time_h"].max()
    assert (fr.loc[last, "next_scan"] == 0).all() and (fr.loc[~last, "next_scan"] == 1).all()
    assert (read_store(single).frames["next_scan"] == -1).all()
    a, b = read_cells(next_reference), read_cells(single)
    np.testing.assert_array_equal(a["x"].to_numpy(), b["x"].to_numpy())  # same cells found
    prob = [c.filter(like="p_").to_numpy() for c in (a, b)]
    on_last = last.to_numpy()[a["frame"].to_numpy()]
    np.testing.assert_allclose(prob[0][on_last], prob[1][on_last], atol=1e-5)  # no next scan: the single input
    assert not np.allclose(prob[0][~on_last], prob[1][~on_last], atol=1e-3)


def test_watch_holds_each_sites_newest_scan_until_the_next_lands(next_reference, plate_dir, next_bundle, tmp_path):
    src = tmp_path / "incoming"
    shutil.copytree(plate_dir, src, ignore=shutil.ignore_patterns("*.tif"))
    by_time: dict[str, list] = {}
    for p in sorted((plate_dir / "images").glob("*.tif")):
        by_time.setdefault(p.stem.rsplit("_", 1)[1], []).append(p)
    times = sorted(by_time)
    out = tmp_path / "w.h5"

    def done() -> int:
        return int((read_store(out).frames["status"] == DONE).sum()) if out.exists() else 0

    def land(t):
        for p in by_time[t]:
            shutil.copy(p, src / "images" / p.name)

    land(times[0])
    proc = subprocess.Popen(score_cmd(src, next_bundle, out, "--watch", "--poll-s", "0.5", "--idle-exit-s", "8"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    time.sleep(4)
    assert done() == 0  # the first scan waits for its next scan
    for k, t in enumerate(times[1:], start=1):
        land(t)
        while time.time() < deadline and done() < 4 * k:
            time.sleep(0.5)
        assert done() == 4 * k
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert "without a next scan" in stderr
    fr = read_store(out).frames
    assert (fr["status"] == DONE).all()
    ref = read_store(next_reference).frames
    pd.testing.assert_series_equal(fr.sort_values(["well", "time_h"])["next_scan"].reset_index(drop=True),
                                   ref.sort_values(["well", "time_h"])["next_scan"].reset_index(drop=True))
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(next_reference))


@pytest.mark.parametrize("k", [1, pytest.param(2, marks=pytest.mark.slow)])  # k=2 scores in tests/classifier
def test_quantize_next_scan_bundle(plate_dir, next_bundle, tmp_path, k):
    pytest.importorskip("onnxruntime")
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.score.quantize import calibration_crops, quantize_bundle

    if k == 2:
        next_bundle = make_bundle(tmp_path / "next2.pt", next_scan=2)
    crops = calibration_crops(plate_dir / "images", load_bundle(next_bundle), n_frames=4)
    assert crops.ndim == 4 and crops.shape[1] == 1 + k
    out = tmp_path / "q.pt"
    info = quantize_bundle(next_bundle, plate_dir / "images", out, n_frames=6)
    assert info["argmax_agreement"] > 0.8
    store = tmp_path / "q.h5"
    run(score_cmd(plate_dir, out, store, "--precision", "int8"))
    assert read_store(store).attrs["precision"] == "int8"
    assert (read_store(store).frames["status"] == DONE).all()


def test_a_plate_imaged_at_another_interval_is_warned_about(plate_dir, tmp_path):
    hourly = make_bundle(tmp_path / "hourly.pt", next_scan=True, training_data={"scan_interval_h": 1.0})
    proc = run(score_cmd(plate_dir, hourly, tmp_path / "a.h5"))
    assert "trained on scans every 1 h and this plate is imaged every 4 h" in proc.stderr
    from ferroscreen.io import open_acquisition
    from ferroscreen.models.bundle import load_bundle

    frames = open_acquisition(plate_dir / "images").frames
    for trained, warned in ((4.0, False), (3.0, False), (7.0, True), (None, False)):
        b = load_bundle(make_bundle(tmp_path / f"b{trained}.pt", next_scan=True,
                                    training_data={"scan_interval_h": trained}))
        assert bool(b.interval_mismatch(frames)) is warned
    from ferroscreen.tasks.evaluation import evaluate_path

    notes = evaluate_path(plate_dir, hourly, precision="32").get("notes", [])  # evaluate says it as score does
    assert any("trained on scans every 1 h and this plate is imaged every 4 h" in n for n in notes), notes


def test_a_two_scan_bundle_holds_each_frame_until_both_later_scans_land(tmp_path):
    from ferroscreen.score.runner import _due
    from ferroscreen.score.store import new_frame_table

    paths = []
    for t in (0, 4, 8):
        p = tmp_path / f"a{t}.tif"
        p.write_bytes(b"x")
        paths.append(str(p))
    frames = new_frame_table(pd.DataFrame({"plate": "P", "well": "A01", "field": 1, "channel": "phase", "z": 0,
                                           "time_h": [0.0, 4.0, 8.0], "path": paths}))
    ids, following = _due(frames, 0.0, 2, hold=True)
    assert list(ids) == [0]
    assert list(following) == [(paths[1], paths[2]), (paths[2], None), (None, None)]
    assert list(_due(frames, 0.0, 2, hold=False)[0]) == [0, 1, 2]  # the last pass: with the scans there are
    assert list(_due(frames, 0.0, 1, hold=True)[0]) == [0, 1]
    assert list(_due(frames, 3600.0, 2, hold=True)[0]) == []  # the later scans are still being written


def test_next_scan_beyond_two_is_a_config_error(tmp_path):
    from ferroscreen.datamodules import ReferencePlateDataModule
    from ferroscreen.errors import FerroscreenError

    for bad in (3, -1, "two"):
        with pytest.raises(FerroscreenError, match="next_scan: expected true/false or 0..2"):
            ReferencePlateDataModule(str(tmp_path), next_scan=bad)
    assert ReferencePlateDataModule(str(tmp_path), next_scan=True).next_scan == 1
