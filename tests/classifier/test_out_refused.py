"""``train`` and ``quantize`` refuse an existing ``--out`` bundle before any work, as ``score`` refuses its store.

Was: both silently replaced the bundle at ``--out`` (perhaps an hour of training), ``train`` after training.
The demo's own bundle (:func:`~ferroscreen.tasks.training_run.run_training` with given arguments) is still
replaced on a re-run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "train" / "folder.yaml"
EARLIER = b"an earlier bundle"


def _tiny(crop_folder: Path) -> list[str]:
    return ["--data.init_args.root", str(crop_folder), "--trainer.max_epochs", "1", "--trainer.limit_train_batches",
            "1", "--trainer.limit_val_batches", "1", "--trainer.accelerator", "cpu", "--model.weights", "none",
            "--model.input_size", "32", "--data.init_args.batch_size", "8"]


def test_train_refuses_an_existing_bundle_before_training(crop_folder, tmp_path, cli, user_error):
    out = tmp_path / "m.pt"
    out.write_bytes(EARLIER)
    proc = cli("train", "--config", CONFIG, "--out", out, *_tiny(crop_folder), cwd=tmp_path)
    user_error(proc, f"error: {out}: already exists", "choose another --out")
    assert out.read_bytes() == EARLIER and not (tmp_path / "runs").exists()  # nothing trained, no logs


def test_the_training_script_refuses_an_existing_bundle_before_training(crop_folder, tmp_path):
    out = tmp_path / "m.pt"
    out.write_bytes(EARLIER)
    proc = subprocess.run([sys.executable, str(REPO / "training" / "train.py"), "fit", "--config", str(CONFIG),
                           "--out", str(out), *_tiny(crop_folder)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 2 and f"{out}: already exists" in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # after Lightning's own lines (seed, devices)
    assert "Traceback" not in proc.stderr and last.startswith(f"error: {out}: already exists"), proc.stderr
    assert "epoch 1/1" not in proc.stderr
    assert out.read_bytes() == EARLIER and not list((tmp_path / "runs").rglob("*.ckpt"))


def test_the_demo_training_still_replaces_its_own_bundle(crop_folder, tmp_path):
    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.tasks.training_run import run_training

    out = tmp_path / "model.pt"
    out.write_bytes(EARLIER)
    run_training(CONFIG, out, [*_tiny(crop_folder), "--trainer.default_root_dir", str(tmp_path / "runs")])
    assert load_bundle(out).classes == ["alive", "apoptosis", "ferroptosis", "necroptosis"]


def test_quantize_refuses_an_existing_bundle(tmp_path, run_main):
    from ..score.conftest import make_bundle

    model = make_bundle(tmp_path / "m.pt")
    out = tmp_path / "q.pt"
    out.write_bytes(EARLIER)
    code, _, err = run_main("quantize", model, "--data", tmp_path, "--out", out)
    assert code == 2 and err.strip() == (f"error: {out}: already exists; a bundle is not overwritten: remove it or "
                                         f"choose another --out"), err
    assert out.read_bytes() == EARLIER
    code, _, err = run_main("quantize", model, "--data", tmp_path, "--out", model)  # its own check stands
    assert code == 2 and "would overwrite the input bundle" in err
