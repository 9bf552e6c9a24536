"""A training run that ends without a bundle removes the log folders it created (was: runs/<name>/.../version_N/).

What such a run used to leave: ``runs/train-folder/lightning_logs/version_N/`` holding
``config.yaml`` (Lightning's config save, at setup) and ``hparams.yaml`` (the logger's
finalize), plus ``metrics.csv`` and ``checkpoints/`` once an epoch ended.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ferroscreen.errors import FerroscreenError

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "train" / "folder.yaml"  # logs to runs/train-folder/lightning_logs/version_N


@pytest.fixture()
def sigint_kept():
    """Lightning ignores SIGINT once it has handled a KeyboardInterrupt: give pytest its handler back."""
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


def train(folder: Path, tmp_path: Path, *extra: str) -> dict:
    from ferroscreen.tasks.training_run import run_training

    return run_training(CONFIG, tmp_path / "model.pt", [
        "--data.init_args.root", str(folder), "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1",
        "--trainer.limit_val_batches", "1", "--trainer.accelerator", "cpu", "--model.weights", "none",
        "--model.input_size", "32", "--data.init_args.batch_size", "8", *extra])


def _fail_training_step(monkeypatch, exc: BaseException) -> None:
    from ferroscreen.tasks.death_mode import DeathModeClassifier

    def step(self, batch, batch_idx):
        raise exc

    monkeypatch.setattr(DeathModeClassifier, "training_step", step)


def test_an_interrupted_run_removes_its_version_folder_and_keeps_earlier_runs(crop_folder, tmp_path, monkeypatch,
                                                                            sigint_kept):
    monkeypatch.chdir(tmp_path)
    earlier = tmp_path / "runs" / "train-folder" / "lightning_logs" / "version_0"
    earlier.mkdir(parents=True)
    (earlier / "config.yaml").write_text("an earlier run\n")
    _fail_training_step(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        train(crop_folder, tmp_path)
    assert sorted(p.name for p in earlier.parent.iterdir()) == ["version_0"]
    assert (earlier / "config.yaml").read_text() == "an earlier run\n"
    assert not (tmp_path / "model.pt").exists()


def test_a_failed_run_leaves_no_runs_folder(crop_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _fail_training_step(monkeypatch, RuntimeError("out of memory, say"))
    with pytest.raises(RuntimeError, match="out of memory"):
        train(crop_folder, tmp_path)
    assert not (tmp_path / "runs").exists()
    assert not (tmp_path / "model.pt").exists()


def test_a_run_with_no_training_step_leaves_no_runs_folder(crop_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FerroscreenError, match="no training step ran"):
        train(crop_folder, tmp_path, "--trainer.max_epochs", "0")
    assert not (tmp_path / "runs").exists()


def test_a_run_that_fails_after_a_checkpoint_keeps_it(crop_folder, tmp_path, monkeypatch, capsys):
    """Trained weights are not thrown away: the folder is kept, and said."""
    from ferroscreen.tasks import lightning_cli

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lightning_cli, "finalize_and_export", fail)
    with pytest.raises(OSError, match="disk full"):
        train(crop_folder, tmp_path)
    kept = sorted((tmp_path / "runs").rglob("*.ckpt"))
    assert [p.name for p in kept] == ["best-epoch=0.ckpt", "last-epoch=0.ckpt"]  # the recipe's best, the latest
    assert f"its checkpoint is kept: {kept[1]} (and 1 more in " in capsys.readouterr().err


def test_a_finished_run_keeps_its_folder(crop_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(crop_folder, tmp_path)
    assert (tmp_path / "model.pt").is_file()
    assert (tmp_path / "runs" / "train-folder" / "lightning_logs" / "version_0" / "config.yaml").is_file()
