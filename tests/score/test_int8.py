"""Int8 scoring: `ferroscreen quantize`, the graph in the bundle, `score`/`evaluate --precision int8`."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import torch

from ferroscreen.score import read_cells, read_store

from ..cli_process import run_command

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

CMD = [sys.executable, "-m", "ferroscreen.cli"]


def run(*args, timeout=300):
    return run_command([*CMD, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def score(plate, bundle, out, *extra):
    return run("score", plate, "--model", bundle, "--out", out, "--workers", "1", "--batch-size", "8", *extra)


@pytest.fixture(scope="module")
def int8_bundle(bundle_path, plate_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8") / "int8.pt"
    proc = run("quantize", bundle_path, "--data", plate_dir, "--out", out, "--frames", "6")
    assert proc.returncode == 0, proc.stderr
    assert "int8 graph calibrated on" in proc.stdout and str(out) in proc.stdout
    assert "crops are few to calibrate on" in proc.stdout and "(--frames, 6 now)" in proc.stdout  # a tiny plate
    return out


def test_quantized_bundle_records_its_graph_and_agreement(int8_bundle, bundle_path):
    from ferroscreen.models.bundle import load_bundle

    b, f = load_bundle(int8_bundle), load_bundle(bundle_path)
    info = b.meta["int8"]
    assert b.int8_graph is not None and len(info["sha256"]) == 64
    assert info["calibration_crops"] > 0 and info["check_crops"] > 0
    assert info["argmax_agreement"] >= 0.9
    assert b.classes == f.classes and b.crop_size == f.crop_size
    for k, v in f.net.state_dict().items():  # the float network is kept as it was
        assert torch.equal(v, b.net.state_dict()[k])
    assert f.int8_graph is None and "int8" not in f.meta


def test_int8_probabilities_match_float_and_survive_pickling(int8_bundle):
    from ferroscreen.models.bundle import load_bundle

    b = load_bundle(int8_bundle)
    x = torch.rand(40, b.crop_size, b.crop_size, generator=torch.Generator().manual_seed(0))
    fwd = b.int8_forward()
    p8 = fwd.predict_proba(x)
    with torch.no_grad():
        p32 = b.net.predict_proba(x)
    assert p8.dtype == torch.float32 and p8.shape == p32.shape
    np.testing.assert_allclose(p8.sum(1).numpy(), 1.0, atol=1e-5)
    assert float((p8 - p32).abs().mean()) < 0.03
    from ferroscreen.models.int8 import Int8Forward

    for threads in (1, 3):  # a batch shared by single-threaded sessions, in chunks, gives the same numbers
        alone = Int8Forward(b.int8_graph, float(b.meta["temperature"]), threads=threads)
        alone.CHUNK = 7
        np.testing.assert_array_equal(alone.predict_proba(x).numpy(), p8.numpy())
        # batches started before earlier ones are collected: each gets its own crops' logits
        pending = [alone.submit(x[i : i + 20].numpy()) for i in (0, 20)]
        np.testing.assert_array_equal(np.concatenate([p.result() for p in pending[::-1]][::-1]), alone.logits(x.numpy()))
        assert alone.logits(x[:0].numpy()).shape == (0, p8.shape[1])
    clone = pickle.loads(pickle.dumps(fwd))  # what spawned DDP ranks receive: bytes, no session
    assert clone._sessions is None
    np.testing.assert_array_equal(clone.predict_proba(x).numpy(), p8.numpy())


@pytest.mark.slow  # ~27 s: three whole scores; int8 agreement is also checked at quantize time
def test_score_auto_uses_int8_close_to_fp32(int8_bundle, bundle_path, plate_dir, tmp_path):
    auto, f32 = tmp_path / "auto.h5", tmp_path / "f32.h5"
    proc = score(plate_dir, int8_bundle, auto)
    assert proc.returncode == 0 and "quantize" not in proc.stderr
    proc = score(plate_dir, bundle_path, tmp_path / "nograph.h5")  # an older bundle: told how to speed up
    assert proc.returncode == 0 and "no int8 graph" in proc.stderr and "ferroscreen quantize" in proc.stderr
    assert score(plate_dir, int8_bundle, f32, "--precision", "32").returncode == 0
    assert read_store(auto).attrs["precision"] == "int8"
    assert read_store(f32).attrs["precision"] == "32"
    a, b = (read_cells(p).sort_values(["frame", "x", "y"]).reset_index(drop=True) for p in (auto, f32))
    assert len(a) == len(b) > 0
    p_cols = [c for c in a.columns if c.startswith("p_")]
    assert np.abs(a[p_cols].to_numpy() - b[p_cols].to_numpy()).mean() < 0.03
    wa, wb = read_store(auto).wells, read_store(f32).wells
    np.testing.assert_allclose(wa["frac_alive"].to_numpy(), wb["frac_alive"].to_numpy(), atol=0.05)


def test_int8_misuse_is_one_line(int8_bundle, bundle_path, plate_dir, tmp_path, user_error):
    user_error(score(plate_dir, bundle_path, tmp_path / "a.h5", "--precision", "int8"), str(bundle_path), "int8")
    assert not (tmp_path / "a.h5").exists()
    out = tmp_path / "b.h5"
    assert score(plate_dir, int8_bundle, out).returncode == 0
    user_error(score(plate_dir, int8_bundle, out, "--resume", "--precision", "32"), str(out), "precision int8")
    user_error(run("quantize", int8_bundle, "--data", plate_dir, "--out", int8_bundle), str(int8_bundle),
               "overwrite")
    user_error(run("quantize", bundle_path, "--data", tmp_path / "nowhere", "--out", tmp_path / "c.pt"),
               "nowhere", "")
    assert not (tmp_path / "c.pt").exists()


def test_damaged_int8_graph_is_refused(int8_bundle, tmp_path, user_error):
    payload = torch.load(int8_bundle, weights_only=True)
    graph = payload["int8_graph"].clone()
    graph[len(graph) // 2] ^= 0xFF
    payload["int8_graph"] = graph
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    user_error(run("evaluate", tmp_path, "--model", bad), str(bad), "sha256")


def test_evaluate_reports_the_precision_it_ran(int8_bundle, plate_dir):
    import json

    proc = run("evaluate", plate_dir, "--model", int8_bundle, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["precision"] == "int8"
    proc = run("evaluate", plate_dir, "--model", int8_bundle, "--precision", "32")
    assert proc.returncode == 0 and "precision 32" in proc.stdout


@pytest.mark.slow  # ~25 s: two processes; like test_score_cli's float DDP check, run with -m slow
def test_int8_ddp_two_processes_equals_one(int8_bundle, plate_dir, tmp_path):
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    assert score(plate_dir, int8_bundle, one).returncode == 0
    proc = run("score", plate_dir, "--model", int8_bundle, "--out", two, "--devices", "2", "--workers", "0",
               "--batch-size", "8", timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert read_store(two).attrs["precision"] == "int8"
    a, b = (read_store(p).wells.sort_values(["well", "time_h"]).reset_index(drop=True) for p in (one, two))
    num = a.select_dtypes("number").columns
    np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), atol=1e-6)


def test_int8_scoring_with_tta_averages_the_int8_graph_over_views(int8_bundle):
    """--tta with the int8 graph: the 8 views run through the graph (not deferred) and are averaged."""
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.models.tta import VIEWS, dihedral_view
    from ferroscreen.score.module import ScoringModule

    bundle = load_bundle(int8_bundle)
    int8 = bundle.int8_forward()
    rng = np.random.default_rng(1)
    shape = (6, bundle.crop_size, bundle.crop_size) if bundle.channels == 1 else (
        6, bundle.channels, bundle.crop_size, bundle.crop_size)
    crops = torch.from_numpy(rng.random(shape, np.float32))
    module = ScoringModule(bundle.net, int8, defer=True, tta=True)
    got = module.predict_step({"crops": crops}, 0)
    assert isinstance(got, torch.Tensor)  # not a deferred PendingProbs
    want = sum(int8.predict_proba(dihedral_view(crops, k)) for k in range(VIEWS)) / VIEWS
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("option", "said"), [
    ({"n_frames": 0}, "--frames 0: calibration needs at least one frame"),
    ({"seed": -1}, "--seed -1: a seed is 0 or more"),
    ({"out": "folder"}, "is a folder; --out is the bundle file to write"),
])
def test_quantize_settings_are_checked_first(bundle_path, plate_dir, tmp_path, option, said):
    from ferroscreen.errors import FerroscreenError
    from ferroscreen.score.quantize import quantize_bundle

    (tmp_path / "folder").mkdir()
    kwargs = {"out": tmp_path / "q.pt", **option}
    kwargs["out"] = tmp_path / kwargs["out"]
    with pytest.raises(FerroscreenError, match=said):
        quantize_bundle(bundle_path, plate_dir, **kwargs)
    assert not (tmp_path / "q.pt").exists()
