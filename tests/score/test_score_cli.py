"""End-to-end scoring, export, resume after SIGKILL, watch mode and DDP equality."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from ferroscreen.score import DONE, read_cells, read_store

from ..cli_process import run_command
from .conftest import make_bundle

CMD = [sys.executable, "-m", "ferroscreen.cli"]


def score_cmd(plate, bundle, out, *extra):
    return [*CMD, "score", str(plate), "--model", str(bundle), "--out", str(out), "--workers", "1",
            "--batch-size", "8", *map(str, extra)]


def run(cmd, timeout=300, returncode=0):
    """``cmd`` run to its end with ``returncode`` (3: a score run that left frames failed, the others scored)."""
    proc = run_command(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == returncode, proc.stderr
    return proc


def comparable_wells(path: Path) -> pd.DataFrame:
    return read_store(path).wells.sort_values(["well", "time_h"]).reset_index(drop=True)


def cells_by_frame_key(path: Path) -> pd.DataFrame:
    """Cells keyed by (well, field, time) rather than frame id, in a canonical order."""
    store = read_store(path)
    cells = read_cells(path)
    fr = store.frames
    for col in ("well", "field", "time_h"):
        cells[col] = fr[col].to_numpy()[cells["frame"].to_numpy()]
    cells = cells.drop(columns="frame")
    return cells.sort_values(["well", "field", "time_h", "x", "y"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(plate_dir, bundle_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "plate.h5"
    run(score_cmd(plate_dir, bundle_path, out, "--interval-h", "1"))  # recorded: a resume with another is refused
    return out


def test_store_schema_and_export(reference, tmp_path, plate_dir):
    with h5py.File(reference, "r") as f:  # plain h5py, no swmr flag needed
        assert f.attrs["schema"] == "ferroscreen-score-store"
        assert list(f.attrs["classes"]) == ["alive", "apoptosis", "ferroptosis", "necroptosis"]
        assert len(f.attrs["bundle_sha256"]) == 64
        n = f["cells/frame"].shape[0]
        assert f["cells/prob"].shape == (n, 4)
        assert np.allclose(f["cells/prob"][()].sum(1), 1, atol=1e-5)
        status = f["frames/status"][()]
        assert (status == DONE).all() and len(status) == 12
        starts, stops = f["frames/cell_start"][()], f["frames/cell_stop"][()]
        frame = f["cells/frame"][()]
        for i, (a, b) in enumerate(zip(starts, stops, strict=True)):
            assert (frame[a:b] == i).all()
        assert (np.diff(frame) >= 0).all()  # grouped in frame-id order
    proc = run([*CMD, "export", str(reference), "--out", str(tmp_path)])
    assert "wells.csv" in proc.stdout
    wells = pd.read_csv(tmp_path / "wells.csv")
    assert list(wells.columns[:8]) == ["plate", "well", "time_h", "n_cells", "frac_alive", "frac_apoptosis",
                                       "frac_ferroptosis", "frac_necroptosis"]
    for col in ("share_alive", "corr_ferroptosis", "mean_confidence", "qc_empty", "qc_count_outlier", "compound",
                "concentration", "role", "mode"):
        assert col in wells.columns
    assert len(wells) == 12 and wells["n_cells"].sum() == n
    assert np.allclose(wells[[c for c in wells.columns if c.startswith("corr_")]].sum(1), 1)
    assert set(wells["role"]) == {"vehicle", "reference"}
    assert (wells["fraction_estimate"] == "share").all()  # the default: the share of cells called each class
    for c in ("alive", "apoptosis", "ferroptosis", "necroptosis"):
        np.testing.assert_allclose(wells[f"frac_{c}"], wells[f"share_{c}"])

    run([*CMD, "export", str(reference), "--out", str(tmp_path / "mean"), "--fractions", "frac"])
    mean = pd.read_csv(tmp_path / "mean" / "wells.csv")
    assert (mean["fraction_estimate"] == "frac").all() and not any(c.startswith("pmean_") for c in mean.columns)
    for c in ("alive", "apoptosis", "ferroptosis", "necroptosis"):
        np.testing.assert_allclose(wells[f"pmean_{c}"], mean[f"frac_{c}"])  # the store's mean probabilities


def test_export_gallery_picks_each_wells_best_call_deterministically(reference, plate_dir, tmp_path):
    from ferroscreen.score.store import iter_cells

    cells = read_cells(reference)
    pd.testing.assert_frame_equal(pd.concat(list(iter_cells(reference, chunk=5))), cells)
    proc = run([*CMD, "export", str(reference), "--out", str(tmp_path / "a"), "--gallery", "2"])
    assert "gallery.png (" in proc.stdout
    gal = pd.read_csv(tmp_path / "a" / "gallery.csv")
    classes = ["alive", "apoptosis", "ferroptosis", "necroptosis"]
    prob = cells[[f"p_{c}" for c in classes]].to_numpy()
    frames = read_store(reference).frames
    cells["cls"], cells["p"] = np.array(classes)[prob.argmax(1)], prob.max(1)
    cells["well"] = frames["well"].to_numpy()[cells["frame"]]
    for c in classes:
        best = cells[cells["cls"] == c].groupby("well")["p"].max().sort_values(ascending=False)
        got = gal[gal["class"] == c]
        assert list(got["rank"]) == list(range(1, len(got) + 1)) and len(got) == min(2, len(best))
        assert list(got["well"]) == list(best.index[:2]), c  # each well's best cell first, best wells first
        np.testing.assert_allclose(got["p"], best.iloc[:2], rtol=1e-5)
    assert set(gal["compound"].dropna()) <= set(pd.read_csv(plate_dir / "layout.csv")["compound"].dropna())
    run([*CMD, "export", str(reference), "--out", str(tmp_path / "b"), "--gallery", "2"])
    for name in ("gallery.csv", "gallery.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    png = (tmp_path / "a" / "gallery.png").read_bytes()
    assert png.startswith(b"\x89PNG")

    moved = tmp_path / "moved.h5"  # a store whose images are gone: wells.csv, a note, no gallery
    with h5py.File(moved, "w") as g, h5py.File(reference, "r") as f:
        for k, v in f.attrs.items():
            g.attrs[k] = v
        for name in f:
            f.copy(name, g)
        del g["frames/path"]
        g["frames/path"] = np.array([f"/nowhere/{i}.tif".encode() for i in range(len(frames))])
    proc = run([*CMD, "export", str(moved), "--out", str(tmp_path / "c")])
    assert proc.returncode == 0 and (tmp_path / "c" / "wells.csv").is_file()
    assert re.search(r"note: \d+ frame\(s\) of the store could not be read", proc.stdout), proc.stdout
    assert "note: no cell to show" in proc.stdout
    assert not (tmp_path / "c" / "gallery.png").exists()
    # another store exported into a folder holding a gallery: the earlier cells go, said
    proc = run([*CMD, "export", str(moved), "--out", str(tmp_path / "a"), "--compound-gallery", "0"])
    assert not (tmp_path / "a" / "gallery.csv").exists() and not (tmp_path / "a" / "gallery.png").exists()
    assert f"note: removed an earlier export's gallery.csv, gallery.png from {tmp_path / 'a'}" in proc.stdout


def half_scored(reference: Path, out: Path) -> Path:
    """A copy of the store ``reference`` with every other frame pending (not scored yet)."""
    with h5py.File(out, "w") as g, h5py.File(reference, "r") as f:
        for k, v in f.attrs.items():
            g.attrs[k] = v
        for name in f:
            f.copy(name, g)
        status = g["frames/status"][()]
        status[::2] = 0  # pending
        g["frames/status"][...] = status
    return out


def test_export_of_an_unfinished_store_says_so(reference, tmp_path):
    from ferroscreen.score.export import store_notes

    half = half_scored(reference, tmp_path / "half.h5")
    (tmp_path / "half.h5.parts").mkdir()
    (tmp_path / "half.h5.parts" / "rank-00000.h5").write_bytes(b"")
    def own(notes):  # score's warnings of the plate (an untrained bundle calls its vehicle wells dead) apart
        return [n for n in notes if not n.startswith("plate VID1: ")]

    notes = own(store_notes(half))
    assert notes[0].startswith(f"{half}: 6 of its 12 frames are not scored yet")
    assert "--resume` merges them" in notes[1]
    assert own(store_notes(reference)) == []


def test_overlay_draws_each_wells_frames_with_class_colours(reference, tmp_path, user_error):
    from ferroscreen.plate.mode_colors import mode_color
    from ferroscreen.score.overlay import _panel, pick_times

    proc = run([*CMD, "overlay", str(reference), "--wells", "A01, b2", "--out", str(tmp_path), "--max-times", "2"])
    pngs = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in pngs] == ["VID1_A01_f1.png", "VID1_B02_f1.png"] and str(pngs[0]) in proc.stdout
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    proc = run([*CMD, "overlay", str(reference), "--wells", "A02", "--out", str(tmp_path), "--times", "0, 100"])
    assert (tmp_path / "VID1_A02_f1.png").is_file()
    assert pick_times(np.array([0.0, 4, 8, 12, 16]), None, 3) == [0, 2, 4]
    assert pick_times(np.array([0.0, 4, 8]), [1, 2, 100], 6) == [0, 2]
    cells = pd.DataFrame({"x": [20.0], "y": [20.0], "radius": [6.0], "p_alive": [0.1], "p_ferroptosis": [0.9]})
    rgb = _panel(np.full((40, 40), 100, np.uint16), cells, ["alive", "ferroptosis"])
    want = np.array([int(mode_color("ferroptosis")[i:i + 2], 16) for i in (1, 3, 5)], float)
    yy, xx = np.mgrid[:40, :40]
    ring = rgb[np.abs(np.hypot(xx - 20, yy - 20) - 6) < 0.5].astype(float)
    tint = (ring - ring.mean(1, keepdims=True)).mean(0)  # the ring's colour cast (anti-aliased onto grey)
    assert np.corrcoef(tint, want - want.mean())[0, 1] > 0.95
    assert len(set(rgb[20, 20])) == 1 and len(set(rgb[2, 2])) == 1  # inside and far away: grey
    for args, fragment in ((["--wells", "C13"], "not in this store"), (["--wells", "Q99x"], "--wells"),
                           (["--wells", "A01", "--times", "1h"], "--times"), (["--wells", "A01", "--field", "3"],
                                                                             "no scored frame of field 3")):
        proc = run_command([*CMD, "overlay", str(reference), "--out", str(tmp_path / "x"), *args],
                              capture_output=True, text=True, timeout=120)
        user_error(proc, fragment)
    assert not (tmp_path / "x").exists()


def test_existing_store_needs_resume(reference, bundle_path, plate_dir, tmp_path, user_error):
    out = tmp_path / "p.h5"
    shutil.copy(reference, out)
    proc = run_command(score_cmd(plate_dir, bundle_path, out), capture_output=True, text=True, timeout=120)
    user_error(proc, str(out), "--resume")
    proc = run(score_cmd(plate_dir, bundle_path, out, "--resume"))  # nothing left to do
    assert "0 frames scored" in proc.stdout
    assert "--watch" not in proc.stderr
    proc = run(score_cmd(plate_dir, bundle_path, out, "--resume", "--poll-s", "5", "--settle-s", "30"))
    assert "note: --poll-s, --settle-s only applies with --watch" in proc.stderr  # the user forgot --watch
    assert "0 frames scored" in proc.stdout
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))


def test_kill_and_resume_equals_uninterrupted(reference, plate_dir, bundle_path, tmp_path):
    out = tmp_path / "p.h5"
    rng = random.Random(5)
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen(score_cmd(plate_dir, bundle_path, out, "--resume", "--batch-size", "4"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(2.0, 9.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        if out.exists():  # whatever moment the kill came at, the store reads with plain h5py
            with h5py.File(out, "r") as f:
                assert f["frames/status"].shape[0] == 12
    run(score_cmd(plate_dir, bundle_path, out, "--resume"))
    assert not out.with_name(out.name + ".parts").exists()
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    a, b = cells_by_frame_key(out), cells_by_frame_key(reference)
    assert len(a) == len(b)  # nothing lost, nothing duplicated
    pd.testing.assert_frame_equal(a, b)
    print(f"{kills} kills")



def test_resume_with_a_damaged_journal_scores_its_frames_again(reference, plate_dir, bundle_path, tmp_path):
    """A journal cut short (disk full, a copy of the run cut short) made --resume hang for good in
    HDF5's SWMR reader; it is said to be damaged, and its frames are scored again."""
    from ferroscreen.score.shard import ShardWriter
    from ferroscreen.score.store import CELL_SCHEMA

    out = half_scored(reference, tmp_path / "p.h5")  # the killed run was scoring the other half
    journal = tmp_path / "p.h5.parts" / "rank-00000.h5"
    w = ShardWriter(journal, 4)
    for fid in range(0, 12, 2):
        cells = {c: np.full(3, fid, dt) for c, dt in CELL_SCHEMA.items()}
        cells["prob"] = np.full((3, 4), 0.25, np.float32)
        w.commit([{"frame": fid, "status": 1, "n_cells": 3, "cell_start": 0, "cell_stop": 3, "height": 128,
                   "width": 128, "focus": 1.0, "empty": 0, "file_size": 1, "file_mtime": 0.0, "reason": ""}], cells)
    w.f.flush()
    w.f.id.close()  # killed: the SWMR writer flags stay set
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) // 3])
    proc = run(score_cmd(plate_dir, bundle_path, out, "--resume"), timeout=240)
    assert f"note: {journal}: journal of the interrupted run is damaged (" in proc.stdout + proc.stderr
    assert "recovered" not in proc.stdout + proc.stderr
    assert not journal.parent.exists()
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))


def test_ome_zarr_plate_scores_like_its_tiffs_and_resumes_as_scans_land(reference, plate_dir, bundle_path, tmp_path):
    """The plate as OME-Zarr (t axis sized ahead; the last scan's chunks written later) scores like the TIFFs."""
    pytest.importorskip("zarr")
    from ferroscreen.io import open_acquisition
    from ferroscreen.io.omezarr_write import write_omezarr

    zdir = tmp_path / "zarr"
    plate = write_omezarr(open_acquisition(plate_dir), zdir)[0]
    shutil.copy(plate_dir / "layout.csv", zdir / "layout.csv")
    later = sorted(plate.glob("*/*/*/0/2.0.0.0.0"))  # scan 3 of each field: not taken yet
    assert len(later) == 4
    for p in later:
        p.rename(p.with_name("later"))
    out = tmp_path / "z.h5"
    proc = run(score_cmd(zdir, bundle_path, out))
    assert "8 frames done" in proc.stdout + proc.stderr
    for p in later:
        p.with_name("later").rename(p)
    proc = run(score_cmd(zdir, bundle_path, out, "--resume"))
    assert "scoring 4 frame(s)" in proc.stdout + proc.stderr
    store = read_store(out)
    assert store.frames["path"].str.contains(r"VID\d+\.zarr/[A-B]/[12]/0#t=\d,c=0,z=0$").all()
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))
    proc = run(score_cmd(zdir, bundle_path, out, "--resume"))  # chunk files unchanged: nothing to redo
    assert "0 frames scored" in proc.stdout

def test_cellvoyager_measurement_scores_like_its_tiffs_as_time_points_land(reference, plate_dir, bundle_path,
                                                                             tmp_path, cellvoyager_writer):
    """The plate as a CQ1 measurement folder (.mlf listing only the scans taken so far) scores like the TIFFs."""
    from ferroscreen.io import open_acquisition

    frames = open_acquisition(plate_dir).frames
    meas = cellvoyager_writer(frames, tmp_path / str(frames["plate"].iloc[0]))
    shutil.copy(plate_dir / "layout.csv", meas / "layout.csv")
    mlf = meas / "MeasurementData.mlf"
    full = mlf.read_text(encoding="utf-8")
    mlf.write_text("\n".join(ln for ln in full.splitlines() if 'TimePoint="3"' not in ln), encoding="utf-8")
    later = sorted(meas.glob("*_T0003F*.tif"))
    assert len(later) == 4
    for p in later:
        p.rename(p.with_suffix(".later"))
    out = tmp_path / "cv.h5"
    proc = run(score_cmd(meas, bundle_path, out))
    assert "8 frames done" in proc.stdout + proc.stderr
    for p in later:
        p.with_suffix(".later").rename(p)
    mlf.write_text(full, encoding="utf-8")
    proc = run(score_cmd(meas, bundle_path, out, "--resume"))
    assert "scoring 4 frame(s)" in proc.stdout + proc.stderr
    assert read_store(out).frames["path"].str.contains(r"_T000\dF00\dL01A01Z01C01\.tif$").all()
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))


def _write_mmstack(frames, tmp_path, plate_dir, writer):
    ds = writer(frames, tmp_path / str(frames["plate"].iloc[0]))
    shutil.copy(plate_dir / "layout.csv", ds / "layout.csv")
    return ds


def _write_czi(frames, tmp_path, plate_dir, writer):
    shutil.copy(plate_dir / "layout.csv", tmp_path / "layout.csv")
    return writer(frames, tmp_path / f"{frames['plate'].iloc[0]}.czi")


@pytest.mark.parametrize(("write", "writer", "frame_path"), [
    (_write_mmstack, "mmstack_writer", r"_MMStack_[A-B][12]-Site_0\.ome\.tif#page=[0-2]$"),
    (_write_czi, "czi_writer", r"\.czi#scene=[0-3],t=[0-2],c=0,z=0$"),
], ids=["micromanager-ome-tiff", "zeiss-czi"])
def test_multi_plane_files_score_like_their_tiffs(reference, plate_dir, bundle_path, tmp_path, request, write, writer,
                                                  frame_path):
    """The plate as a Micro-Manager multi-position OME-TIFF dataset (one master XML), or as one Celldiscoverer 7 CZI
    file (a scene per field, TimeStamps attachment), scores like the TIFFs; a resume finds nothing to redo."""
    from ferroscreen.io import open_acquisition

    source = write(open_acquisition(plate_dir).frames, tmp_path, plate_dir, request.getfixturevalue(writer))
    out = tmp_path / "plate.h5"
    proc = run(score_cmd(source, bundle_path, out))
    assert "12 frames done" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert read_store(out).frames["path"].str.contains(frame_path).all()
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    pd.testing.assert_frame_equal(cells_by_frame_key(out), cells_by_frame_key(reference))
    proc = run(score_cmd(source, bundle_path, out, "--resume"))
    assert "0 frames scored" in proc.stdout


@pytest.mark.slow  # ~30 s; the plane choice itself is unit-tested in tests/io/test_planes.py
def test_z_stack_scores_the_plane_asked_for(reference, plate_dir, bundle_path, tmp_path, zstack_writer):
    """Of a two-plane stack, --z-plane 1 scores exactly like the plain plate; by default the lowest, said so."""
    from ferroscreen.io import open_acquisition

    frames = open_acquisition(plate_dir).frames
    meas = zstack_writer(frames, tmp_path / str(frames["plate"].iloc[0]))
    shutil.copy(plate_dir / "layout.csv", meas / "layout.csv")
    focused = tmp_path / "z1.h5"
    run(score_cmd(meas, bundle_path, focused, "--z-plane", "1"))
    store = read_store(focused)
    assert store.attrs["z_plane"] == 1 and (store.frames["z"] == 1).all() and len(store.frames) == 12
    pd.testing.assert_frame_equal(comparable_wells(focused), comparable_wells(reference))
    pd.testing.assert_frame_equal(cells_by_frame_key(focused), cells_by_frame_key(reference))
    lowest = tmp_path / "z0.h5"
    proc = run(score_cmd(meas, bundle_path, lowest))
    assert "z plane 0 (the lowest) of planes 0, 1; --z-plane picks another" in proc.stderr
    assert read_store(lowest).attrs["z_plane"] == 0
    proc = run_command(score_cmd(meas, bundle_path, lowest, "--resume", "--z-plane", "1"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "was scored on z plane 0" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_command(score_cmd(meas, bundle_path, tmp_path / "z5.h5", "--z-plane", "5"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "no z plane 5 (planes 0, 1" in proc.stderr and not (tmp_path / "z5.h5").exists()
    trained = make_bundle(tmp_path / "z1.pt", training_data={"z_plane": 1})  # same weights as bundle_path
    proc = run(score_cmd(meas, trained, tmp_path / "trained.h5"))
    assert "z plane 1 (the model was trained on it) of planes 0, 1" in proc.stderr
    pd.testing.assert_frame_equal(cells_by_frame_key(tmp_path / "trained.h5"), cells_by_frame_key(reference))


@pytest.mark.slow
def test_ddp_two_processes_equals_one(reference, plate_dir, bundle_path, tmp_path):
    out = tmp_path / "ddp.h5"
    cmd = [*CMD, "score", str(plate_dir), "--model", str(bundle_path), "--out", str(out), "--devices", "2",
           "--workers", "0", "--batch-size", "8"]  # score_cmd's [:-4] had cut --devices 2: one process was compared
    assert "MEMBER: 2/2" in run(cmd, timeout=600).stderr  # two ranks scored

    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    with h5py.File(out, "r") as f, h5py.File(reference, "r") as g:
        for col in ("frame", "x", "y", "radius", "prob"):
            assert np.array_equal(f["cells"][col][()], g["cells"][col][()]), col  # identical layout


@pytest.mark.slow
def test_watch_scores_new_timepoints_once(reference, plate_dir, bundle_path, tmp_path):
    src = tmp_path / "incoming"
    shutil.copytree(plate_dir, src, ignore=shutil.ignore_patterns("*.tif"))
    images = sorted((plate_dir / "images").glob("*.tif"))
    by_time = {}
    for p in images:
        by_time.setdefault(p.stem.rsplit("_", 1)[1], []).append(p)
    times = sorted(by_time)
    for p in by_time[times[0]]:
        shutil.copy(p, src / "images" / p.name)
    out = tmp_path / "w.h5"
    proc = subprocess.Popen(score_cmd(src, bundle_path, out, "--watch", "--poll-s", "0.5", "--idle-exit-s", "6"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 200
    for t in times[1:]:
        while time.time() < deadline:
            if out.exists() and (read_store(out).frames["status"] == DONE).sum() >= 4:
                break
            time.sleep(0.5)
        for p in by_time[t]:
            shutil.copy(p, src / "images" / p.name)
        n_before = (read_store(out).frames["status"] == DONE).sum()
        while time.time() < deadline and (read_store(out).frames["status"] == DONE).sum() == n_before:
            time.sleep(0.5)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    scored = [int(line.split()[1]) for line in stderr.splitlines() if line.startswith("scoring ")]
    assert sum(scored) == 12, stderr  # every frame scored exactly once
    assert "no new frames" in stderr
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))
    assert len(cells_by_frame_key(out)) == len(cells_by_frame_key(reference))


def test_confusion_file_recorrects_and_is_kept(reference, bundle_path, plate_dir, tmp_path, user_error):
    from ferroscreen.score.correction import adjusted_fractions

    classes = ["alive", "apoptosis", "ferroptosis", "necroptosis"]
    cm = [[80, 10, 5, 5], [20, 70, 5, 5], [10, 0, 90, 0], [30, 0, 0, 70]]
    good = tmp_path / "eval.json"
    good.write_text(json.dumps({"macro_f1": 0.8, "classes": classes, "confusion": cm}))
    out = tmp_path / "p.h5"
    shutil.copy(reference, out)
    proc = run(score_cmd(plate_dir, bundle_path, out, "--resume", "--confusion", good))
    assert (f"note: {out}: corrected fractions (corr_*) of every well recomputed with the confusion of "
            f"{good.resolve()} (were bundle validation (well labels)'s)") in proc.stderr
    store = read_store(out)
    assert store.attrs["confusion_source"] == str(good.resolve())
    w = store.wells
    share = w[[f"share_{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(w[[f"corr_{c}" for c in classes]].to_numpy(), adjusted_fractions(share, np.array(cm)),
                               atol=1e-9)
    assert not np.allclose(w[[f"corr_{c}" for c in classes]].to_numpy(),
                           comparable_wells(reference)[[f"corr_{c}" for c in classes]].to_numpy())
    run(score_cmd(plate_dir, bundle_path, out, "--resume"))  # a later resume keeps the file's matrix
    assert read_store(out).attrs["confusion_source"] == str(good.resolve())
    assert read_store(out).attrs["config"]["live"] is False  # a resume of a one-run plate is no live plate

    bad_classes = tmp_path / "other.json"
    bad_classes.write_text(json.dumps({"classes": ["alive", "dead"], "confusion": [[1, 0], [0, 1]]}))
    not_json = tmp_path / "broken.json"
    not_json.write_text("{oops")
    other_model = tmp_path / "other_model.json"  # evaluate --json of another bundle of the same classes
    other_model.write_text(json.dumps({"classes": classes, "confusion": cm, "model": "other.pt",
                                       "model_sha256": "ab" * 32, "model_content_sha256": "cd" * 32}))
    for path, fragment in [(bad_classes, "classes"), (not_json, "not a JSON"), (tmp_path / "none.json", "not found"),
                           (other_model, "the evaluation of another model")]:
        proc = run_command(score_cmd(plate_dir, bundle_path, out, "--resume", "--confusion", path),
                              capture_output=True, text=True, timeout=120)
        user_error(proc, str(path), fragment)
    assert read_store(out).attrs["confusion_source"] == str(good.resolve())  # nothing lost


def test_precision_is_recorded_close_to_fp32_and_kept_on_resume(reference, bundle_path, plate_dir, tmp_path,
                                                                user_error):
    from ferroscreen.models.precision import resolve_precision

    out = tmp_path / "fp32.h5"
    run(score_cmd(plate_dir, bundle_path, out, "--precision", "32"))
    assert read_store(out).attrs["precision"] == "32"
    assert read_store(reference).attrs["precision"] == resolve_precision("auto", "cpu")
    ref, f32 = cells_by_frame_key(reference), cells_by_frame_key(out)
    assert len(ref) == len(f32)  # detection does not depend on the precision
    p_cols = [c for c in ref.columns if c.startswith("p_")]
    np.testing.assert_allclose(ref[p_cols].to_numpy(), f32[p_cols].to_numpy(), atol=0.05)

    proc = run_command(score_cmd(plate_dir, bundle_path, out, "--resume", "--precision", "bf16"),
                          capture_output=True, text=True, timeout=120)
    user_error(proc, str(out), "precision 32")
    run(score_cmd(plate_dir, bundle_path, out, "--resume"))  # auto keeps the store's precision
    assert read_store(out).attrs["precision"] == "32"


def test_evaluate_on_a_simulated_plate_reports_detection_classes_and_stages(plate_dir, bundle_path, cli):
    proc = cli("evaluate", str(plate_dir), "--model", str(bundle_path), "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["kind"] == "simulated_plate" and r["detection"]["tp"] > 0
    truth = pd.read_csv(plate_dir / "truth_cells.csv")
    stages = json.loads((plate_dir / "truth.json").read_text())["stages"]
    by_class = {}
    for row in r["per_stage"]:
        assert row["stage"] in stages[row["class"]] and 0.0 <= row["recall"] <= 1.0
        assert sum(row["predicted"].values()) == row["n"]
        by_class.setdefault(row["class"], []).append(row)
    for name, rows in by_class.items():
        assert sum(x["n"] for x in rows) == r["per_class"][name]["support"]
        order = [stages[name].index(x["stage"]) for x in rows]
        assert order == sorted(order)
        correct = sum(x["predicted"][name] for x in rows)
        assert correct == r["confusion"][r["classes"].index(name)][r["classes"].index(name)]
    assert set(by_class) <= set(truth["class"])
    text = cli("evaluate", str(plate_dir), "--model", str(bundle_path))
    assert text.returncode == 0 and "recall per true stage" in text.stdout


def test_evaluate_frames_draws_that_many_frames_or_all(plate_dir, bundle_path, cli):
    """The 300-frame draw was fixed: a plate of more frames could not be evaluated whole."""
    counts = []
    for n in ("3", "0"):
        proc = cli("evaluate", str(plate_dir), "--model", str(bundle_path), "--json", "--frames", n)
        assert proc.returncode == 0, proc.stderr
        counts.append(json.loads(proc.stdout)["n_frames"])
    assert counts[0] == 3 and counts[1] == len(list((plate_dir / "images").rglob("*.tif"))) > 3, counts



def test_evaluate_names_a_plate_without_truth_and_a_cut_truth_file(plate_dir, bundle_path, cli, tmp_path):
    """A plate without truth_cells.csv was sent to the crop-folder path ("the model reads each cell's next
    scan too; a crop folder..."); a truth file cut mid-row was read as far as it went."""
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(plate_dir / "images", bare / "images")
    shutil.copy(plate_dir / "layout.csv", bare / "layout.csv")
    proc = cli("evaluate", str(bare), "--model", str(bundle_path))
    assert proc.returncode == 2 and f"{bare}: a plate without truth_cells.csv" in proc.stderr, proc.stderr
    (tmp_path / "empty").mkdir()
    proc = cli("evaluate", str(tmp_path / "empty"), "--model", str(bundle_path))
    assert proc.returncode == 2 and "empty folder" in proc.stderr, proc.stderr
    text = (plate_dir / "truth_cells.csv").read_text()
    shutil.copy(plate_dir / "layout.csv", bare / "layout.csv")
    (bare / "truth_cells.csv").write_text(text[: len(text) // 2].rsplit(",", 3)[0])
    proc = cli("evaluate", str(bare), "--model", str(bundle_path))
    assert proc.returncode == 2 and "truth_cells.csv" in proc.stderr and "fields" in proc.stderr, proc.stderr


def test_phase_channel_is_scored_beside_a_fluorescence_channel(reference, plate_dir, bundle_path, tmp_path):
    """IncuCyte phase + green (a Cytotox dye): 'green' sorts first, but the phase channel is the one scored."""
    import tifffile

    src = tmp_path / "two"
    shutil.copytree(plate_dir, src)
    for p in sorted((src / "images").glob("*_phase_*.tif")):
        tifffile.imwrite(p.with_name(p.name.replace("_phase_", "_green_")), ~tifffile.imread(p))  # inverted
    out = tmp_path / "two.h5"
    proc = run(score_cmd(src, bundle_path, out))
    assert "scoring channel 'phase' (the brightfield/phase) of green, phase" in proc.stdout + proc.stderr
    assert read_store(out).attrs["channel"] == "phase"
    pd.testing.assert_frame_equal(comparable_wells(out).drop(columns="channel", errors="ignore"),
                                  comparable_wells(reference).drop(columns="channel", errors="ignore"))


def test_folder_of_two_plates_scores_the_one_picked(reference, plate_dir, bundle_path, tmp_path, user_error):
    src = tmp_path / "two"
    shutil.copytree(plate_dir, src)
    for p in sorted((src / "images").glob("VID1_*.tif")):
        shutil.copy(p, p.with_name("VID2" + p.name[4:]))
    out = tmp_path / "vid2.h5"
    proc = run_command(score_cmd(src, bundle_path, out), capture_output=True, text=True, timeout=120)
    user_error(proc, str(src), "holds plates VID1, VID2", "--plate")
    proc = run_command(score_cmd(src, bundle_path, out, "--plate", "VID3"), capture_output=True, text=True,
                          timeout=120)
    user_error(proc, "no plate 'VID3' (found VID1, VID2)")
    run(score_cmd(src, bundle_path, out, "--plate", "VID2"))
    assert read_store(out).attrs["plate"] == "VID2"
    assert "0 frames scored" in run(score_cmd(src, bundle_path, out, "--resume")).stdout  # the store's plate
    pd.testing.assert_frame_equal(comparable_wells(out).drop(columns="plate"),
                                  comparable_wells(reference).drop(columns="plate"))


def test_compound_galleries_pick_each_treatments_best_calls_per_mode(reference, plate_dir, tmp_path):
    """One gallery per treatment (here staurosporine, A02 and B02; vehicle wells have none), death modes only,
    each mode's cells spread over the treatment's wells, best first; the same bytes on a second run."""
    from ferroscreen.score.gallery import write_compound_galleries

    a = write_compound_galleries(reference, tmp_path / "a", per_mode=2, min_prob=0.0)
    gal = pd.read_csv(tmp_path / "a" / "gallery_compounds.csv")
    assert set(gal["compound"]) == {"staurosporine"} and set(gal["well"]) <= {"A02", "B02"}
    assert list(gal["image"].unique()) == ["galleries/g001.png"] and "alive" not in set(gal["class"])
    cells = read_cells(reference)
    classes = ["alive", "apoptosis", "ferroptosis", "necroptosis"]
    prob = cells[[f"p_{c}" for c in classes]].to_numpy()
    cells["cls"], cells["p"] = np.array(classes)[prob.argmax(1)], prob.max(1)
    cells["well"] = read_store(reference).frames["well"].to_numpy()[cells["frame"]]
    treated = cells[cells["well"].isin(["A02", "B02"])]
    for c in classes[1:]:
        best = treated[treated["cls"] == c].groupby("well")["p"].max().sort_values(ascending=False)
        got = gal[gal["class"] == c]
        assert list(got["well"]) == list(best.index[:2]), c  # each well's best cell first
        np.testing.assert_allclose(got["p"], best.iloc[:2], rtol=1e-5)
    png = (tmp_path / "a" / "galleries" / "g001.png").read_bytes()
    assert png.startswith(b"\x89PNG") and a.png == tmp_path / "a" / "galleries"
    write_compound_galleries(reference, tmp_path / "b", per_mode=2, min_prob=0.0)
    assert (tmp_path / "b" / "galleries" / "g001.png").read_bytes() == png
    assert (tmp_path / "b" / "gallery_compounds.csv").read_bytes() == (tmp_path / "a" / "gallery_compounds.csv"
                                                                          ).read_bytes()
    none = write_compound_galleries(reference, tmp_path / "c", per_mode=2, min_prob=1.01)
    assert none.csv is None and "no cell of a treated well called a death mode with p >= 1.01" in none.notes[0]
    run([*CMD, "export", str(reference), "--out", str(tmp_path / "d"), "--gallery", "0", "--compound-gallery", "0"])
    assert not (tmp_path / "d" / "gallery_compounds.csv").exists() and not (tmp_path / "d" / "galleries").exists()


def _renamed_plate(plate_dir, tmp_path) -> tuple[Path, str, int]:
    """The plate renamed as a microscope of unknown naming writes it (scan numbers, not hours), its pattern,
    and its frame count."""
    from ferroscreen.io import open_acquisition

    frames = open_acquisition(plate_dir).frames
    plate = tmp_path / str(frames["plate"].iloc[0])
    plate.mkdir()
    for row in frames.itertuples(index=False):
        scan = int(round(row.time_h / 4)) + 1
        shutil.copy(row.path, plate / f"exp1__{row.well}__s{row.field}__scan{scan:02d}.tif")
    shutil.copy(plate_dir / "layout.csv", plate / "layout.csv")
    return plate, r"exp1__(?P<well>[A-P]\d+)__s(?P<field>\d+)__scan(?P<timepoint>\d+)\.tif", len(frames)


def test_a_pattern_reads_images_named_some_other_way(plate_dir, tmp_path):
    plate, pattern, _ = _renamed_plate(plate_dir, tmp_path)
    for extra, message in ((["--format", "pattern"], "--format pattern needs --pattern REGEX"),
                           (["--format", "incucyte", "--pattern", pattern], "--pattern goes with --format pattern")):
        proc = run_command([*CMD, "inspect", str(plate), *extra], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = run([*CMD, "inspect", str(plate), "--pattern", pattern, "--interval-h", "4"])
    assert "pattern" in proc.stdout and "timepoints: 3 from 0 h to 8 h, every 4 h" in proc.stdout
    proc = run_command([*CMD, "inspect", str(plate), "--pattern", pattern, "--interval-h", "-4"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--interval-h must be a number > 0, not -4" in proc.stderr
    run([*CMD, "detect", str(plate), "--pattern", pattern, "--interval-h", "4", "--overlays", "0", "--out",
         str(tmp_path / "det")])
    assert sorted(pd.read_csv(tmp_path / "det" / "images.csv")["time_h"].unique()) == [0, 4, 8]


@pytest.mark.slow  # ~18 s; the reader and the option are checked by the test above
def test_images_named_some_other_way_score_with_a_pattern(reference, plate_dir, bundle_path, tmp_path):
    """--pattern reads the renamed plate, --interval-h gives the scan spacing, and the store equals the
    IncuCyte-named plate's."""
    plate, pattern, n_frames = _renamed_plate(plate_dir, tmp_path)
    out = tmp_path / "p.h5"
    run([*score_cmd(plate, bundle_path, out), "--pattern", pattern, "--interval-h", "4"])
    assert len(read_store(out).frames) == n_frames and "pattern:exp1__" in str(read_store(out).attrs.get("config"))
    pd.testing.assert_frame_equal(comparable_wells(out), comparable_wells(reference))


def test_evaluate_at_bf16_where_it_is_emulated_says_so(plate_dir, bundle_path, monkeypatch):
    from ferroscreen.models import precision
    from ferroscreen.tasks.evaluation import evaluate_path

    monkeypatch.setattr(precision, "native_bf16", lambda accelerator: False)
    r = evaluate_path(plate_dir, bundle_path, max_frames=2, precision="bf16")
    assert r["precision"] == "bf16" and any("no native bfloat16" in n for n in r["notes"])
    assert "notes" not in evaluate_path(plate_dir, bundle_path, max_frames=2, precision="32")


def test_inspect_describes_a_score_store(reference, plate_dir, bundle_path, tmp_path):
    from typer.testing import CliRunner

    from ferroscreen.cli import app

    res = CliRunner().invoke(app, ["inspect", str(reference)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == f"{reference}: score store of plate VID1 ({plate_dir.resolve()})"
    assert f"model: {bundle_path.resolve()} (sha256 " in lines[1] and "alive, apoptosis, ferroptosis" in lines[1]
    assert "frames: 12 (4 wells, 3 timepoints, 0-8 h): 12 done, 0 failed, 0 pending" in res.output
    info = json.loads(CliRunner().invoke(app, ["inspect", str(reference), "--json"]).output)
    assert info["kind"] == "score_store" and info["n_cells"] == int(read_store(reference).frames["n_cells"].sum())
    res = CliRunner().invoke(app, ["inspect", str(reference), "--layout", str(plate_dir / "layout.csv")])
    assert res.exit_code != 0 and "a score store is ferroscreen's output" in str(res.exception)
    (tmp_path / "other.h5").write_bytes(b"not hdf5")
    res = CliRunner().invoke(app, ["inspect", str(tmp_path / "other.h5")])
    assert res.exit_code != 0 and str(tmp_path / "other.h5") in str(res.exception)
    stopped = tmp_path / "stopped.h5"
    shutil.copy(reference, stopped)
    (tmp_path / "stopped.h5.parts").mkdir()
    (tmp_path / "stopped.h5.parts" / "rank-0.h5").write_bytes(b"")  # a stopped run's journal
    res = CliRunner().invoke(app, ["inspect", str(stopped)])
    assert f"a stopped run left frame results in {tmp_path / 'stopped.h5.parts'}" in res.output
    assert "left frame results" not in CliRunner().invoke(app, ["inspect", str(reference)]).output


def test_fit_of_an_exported_wells_table_takes_the_layout_it_carries(reference, tmp_path):
    from typer.testing import CliRunner

    from ferroscreen.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["export", str(reference), "--out", str(tmp_path / "e"), "--gallery", "0",
                               "--compound-gallery", "0"]).exit_code == 0
    res = runner.invoke(app, ["fit", str(tmp_path / "e" / "wells.csv"), "--out", str(tmp_path / "f")])
    from ferroscreen.score.export import exported_scoring

    record = exported_scoring(tmp_path / "e" / "wells.csv")  # how the exported wells were scored, for fit
    assert record["store"] == str(reference.resolve())
    assert record["scoring"]["bundle_sha256"] == read_store(reference).attrs["bundle_sha256"]
    with open(tmp_path / "e" / "wells.csv", "a") as fh:
        fh.write("\n")
    assert exported_scoring(tmp_path / "e" / "wells.csv") is None  # no longer the exported file
    # the four wells' layout is taken (it was "holds no doses; pass --layout"); they hold no dose series
    assert str(res.exception) == (f"{tmp_path / 'e' / 'wells.csv'}: no compound has two or more positive molar "
                                  f"concentrations with data, so there is no dose-response curve to fit")


def test_overlay_says_which_frame_stands_in_for_an_unscored_time(reference, tmp_path):
    from ferroscreen.score.overlay import write_well_overlays

    failed = tmp_path / "failed.h5"
    shutil.copy(reference, failed)
    with h5py.File(failed, "r+") as f:
        frames = read_store(reference).frames
        at = int(np.flatnonzero((frames["well"] == "A02") & (frames["time_h"] == 4.0))[0])
        f["frames/status"][at] = 2
        reason = f["frames/reason"][()]
        reason[at] = b"unreadable image (truncated TIFF)"
        del f["frames/reason"]
        f["frames/reason"] = reason
    result = write_well_overlays(failed, "A02", tmp_path / "o", times=[0.0, 4.0, 100.0])
    assert result.notes == ["A02 f1 at 4 h: its frame failed (unreadable image (truncated TIFF)); showing 0 h",
                            "A02 f1 at 100 h: not imaged; showing 8 h"]
    assert write_well_overlays(reference, "A02", tmp_path / "r", times=[0.0, 4.0]).notes == []


@pytest.mark.parametrize("n_times", [1, 2, 3])
def test_overlay_legend_lies_within_the_figure(reference, tmp_path, monkeypatch, n_times):
    """One panel is 3.4 in wide: four classes in one legend row were cut at both sides."""
    from matplotlib.figure import Figure

    from ferroscreen.score.overlay import write_well_overlays

    seen = []
    save = Figure.savefig

    def checked(fig, *args, **kwargs):
        fig.canvas.draw()
        box = fig.legends[0].get_window_extent()
        seen.append((box.x0, box.y0, box.x1, box.y1, fig.bbox.width, fig.bbox.height))
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", checked)
    write_well_overlays(reference, "A01", tmp_path, max_times=n_times)
    (x0, y0, x1, y1, w, h), = seen
    assert 0 <= x0 and x1 <= w and 0 <= y0 and y1 <= h


def test_gallery_draws_compound_names_with_dollar_signs_as_text(tmp_path):
    """export wrote wells.csv, then crashed drawing the gallery of a compound named Z$\\q$ (mathtext)."""
    from ferroscreen.score.gallery import _draw

    row = {"class": "alive", "well": "A01", "time_h": 4.0, "p": 0.9, "compound": "Z$\\q$", "concentration": 1e-6}
    path = _draw(pd.DataFrame([row]), [np.zeros((8, 8))], ["alive", "ferroptosis"], 2, tmp_path / "g.png",
                 labels={"alive": "alive $y$"})
    assert path.read_bytes().startswith(b"\x89PNG")


def test_a_bundle_trained_on_crop_images_scales_each_crop_and_says_so(plate_dir, bundle_path, tmp_path):
    """An ImageFolder bundle scaled each crop by its own percentiles; score does so too, and says so."""
    from ferroscreen.models.bundle import load_bundle

    from .conftest import make_bundle

    folder = make_bundle(tmp_path / "folder.pt", normalization={
        "method": "percentile", "low_percentile": 0.5, "high_percentile": 99.5, "clip": True,
        "scope": "per crop image"})
    assert load_bundle(bundle_path).frame_note == ""
    proc = run(score_cmd(plate_dir, folder, tmp_path / "p.h5"))
    assert (f"note: {folder}: trained on crop images: each cell's crop is scaled by its own percentiles, as its "
            f"training crops were") in proc.stderr


def test_a_resume_keeps_the_stores_layout_and_time_axis(reference, bundle_path, plate_dir, tmp_path, user_error):
    """A resume without --layout took the layout.csv beside the images in place of the stored one (another
    compound per well, silently); another --interval-h moved every stored time point (exit 0)."""
    from ferroscreen.score.store import read_store

    out = tmp_path / "p.h5"
    shutil.copy(reference, out)
    (plate_dir / "layout.csv").rename(plate_dir / "layout.keep")
    try:
        changed = (plate_dir / "layout.keep").read_text().replace("DMSO", "ALT-DMSO")
        (plate_dir / "layout.csv").write_text(changed)
        run(score_cmd(plate_dir, bundle_path, out, "--resume", "--interval-h", "1"))  # as the store was scored
        compounds = set(read_store(out).layout["compound"].astype(str))
        assert "DMSO" in compounds and "ALT-DMSO" not in compounds
        proc = run_command(score_cmd(plate_dir, bundle_path, out, "--resume", "--interval-h", "8"),
                           capture_output=True, text=True, timeout=120)
        user_error(proc, str(out), "was scored with --interval-h 1; resume it with the same")
    finally:
        (plate_dir / "layout.csv").unlink(missing_ok=True)
        (plate_dir / "layout.keep").rename(plate_dir / "layout.csv")
