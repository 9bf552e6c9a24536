"""SIGTERM (kill, timeout, SLURM preemption) ends ``train`` as it ends ``score``: one line, exit 143, checkpoints kept.

Was: the run stopped at Lightning's next batch and exited 130 without a word (typer took the interrupt for a
Ctrl-C and said nothing); a SIGTERM before ``fit`` or while the bundle was written killed the process outright.
Now the last line names the run's last checkpoint (its latest epoch's, kept beside the recipe's best one), from
which ``--ckpt_path`` resumes, and a bundle is written whole or not at all. Ctrl-C says the same with "interrupted" (exit 130).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import pytest

from ..score.test_sigterm import term_when

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "train" / "folder.yaml"  # a ModelCheckpoint saving after each validated epoch


@pytest.fixture()
def crops(crop_folder):
    """The classifier tests' ImageFolder of 40 px noise crops (conftest)."""
    return crop_folder


def _train(run_main, crops: Path, out: Path, epochs: int, *extra: str):
    return run_main("train", "--config", CONFIG, "--out", out, "--data.init_args.root", crops,
                    "--trainer.max_epochs", str(epochs), "--trainer.limit_train_batches", "1",
                    "--trainer.limit_val_batches", "1", "--trainer.accelerator", "cpu", "--model.weights", "none",
                    "--model.input_size", "32", "--data.init_args.batch_size", "8",
                    "--trainer.enable_progress_bar", "false", *extra)


def _signal_at_step(monkeypatch, step: int, signum=signal.SIGTERM) -> None:
    """This process gets ``signum`` as the ``step``-th training step (1-based) starts."""
    from ferroscreen.tasks.death_mode import DeathModeClassifier

    real, calls = DeathModeClassifier.training_step, []

    def training_step(self, batch, batch_idx):
        calls.append(1)
        if len(calls) == step:
            os.kill(os.getpid(), signum)
        return real(self, batch, batch_idx)

    monkeypatch.setattr(DeathModeClassifier, "training_step", training_step)


def _last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("entry", [["-m", "ferroscreen.cli", "train"], [str(REPO / "training" / "train.py"), "fit"]],
                         ids=["ferroscreen-train", "train.py"])
def test_a_train_process_sent_sigterm_says_so_and_exits_143(crops, tmp_path, entry):
    """As ``timeout``, SLURM or ``kill`` end it: a separate process, SIGTERM after its second epoch line."""
    out = tmp_path / "model.pt"
    cmd = [sys.executable, *entry, "--config", str(CONFIG), "--out", str(out), "--data.init_args.root", str(crops), "--trainer.max_epochs", "500", "--trainer.limit_train_batches", "1",
           "--trainer.limit_val_batches", "1", "--trainer.accelerator", "cpu", "--model.weights", "none",
           "--model.input_size", "32", "--data.init_args.batch_size", "8",
           "--trainer.default_root_dir", str(tmp_path / "runs")]
    rc, err = term_when(cmd, lambda line: re.match(r"epoch 2/500: ", line))
    last = err.strip().splitlines()[-1]
    assert rc == 143, err[-3000:]
    assert re.fullmatch(rf"terminated \(SIGTERM\): no bundle written to {re.escape(str(out))}; the same command "
                        rf"with --ckpt_path (\S+\.ckpt) resumes from its last checkpoint", last), err[-3000:]
    assert Path(last.split("--ckpt_path ")[1].split()[0]).is_file()
    assert "Traceback" not in err and not out.exists()


def test_sigterm_mid_training_names_the_last_checkpoint_and_resume_finishes(crops, tmp_path, monkeypatch,
                                                                          run_main, sigterm_fails_the_test):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "model.pt"
    _signal_at_step(monkeypatch, 2)  # epoch 2 of 3: epoch 1 saved a checkpoint
    code, stdout, err = _train(run_main, crops, out, 3)
    kept = sorted(p.name for p in (tmp_path / "runs").rglob("*.ckpt"))
    assert kept == ["best-epoch=0.ckpt", "last-epoch=0.ckpt"], err  # the recipe's best epoch, and the latest
    ckpt = next((tmp_path / "runs").rglob("last-epoch=0.ckpt")).absolute()
    assert code == 143 and "wrote" not in stdout, err
    assert _last_line(err) == (f"terminated (SIGTERM): no bundle written to {out}; the same command with "
                               f"--ckpt_path {ckpt} resumes from its last checkpoint")
    assert "Traceback" not in err and "Received SIGTERM" not in err and "Detected KeyboardInterrupt" not in err
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    assert signal.getsignal(signal.SIGTERM) is sigterm_fails_the_test  # the command's handler is gone

    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    code, stdout, err = _train(run_main, crops, out, 3, "--ckpt_path", str(ckpt))
    assert code == 0, err
    assert f"wrote {out}: " in stdout and out.is_file()


def test_sigterm_before_the_first_checkpoint_says_so(crops, tmp_path, monkeypatch, run_main, sigterm_fails_the_test):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "model.pt"
    _signal_at_step(monkeypatch, 1)
    code, stdout, err = _train(run_main, crops, out, 2)
    assert code == 143 and "wrote" not in stdout, err
    assert _last_line(err) == f"terminated (SIGTERM) before the first checkpoint: no bundle written to {out}"
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_sigterm_while_the_bundle_is_written_leaves_none(crops, tmp_path, monkeypatch, run_main, sigterm_fails_the_test):
    """The bundle is written to a temporary file renamed at the end: cut short, neither is left."""
    import ferroscreen.models.bundle as bundle

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "model.pt"
    real_save = bundle.torch.save

    def save_then_sigterm(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        if str(getattr(f, "name", "")).endswith(".tmp"):  # the bundle's temporary file, not a checkpoint
            os.kill(os.getpid(), signal.SIGTERM)  # before the rename

    monkeypatch.setattr(bundle.torch, "save", save_then_sigterm)
    code, stdout, err = _train(run_main, crops, out, 1)
    ckpt = next((tmp_path / "runs").rglob("last-epoch=0.ckpt")).absolute()
    assert code == 143 and "wrote" not in stdout, err
    assert _last_line(err) == (f"terminated (SIGTERM): no bundle written to {out}; the same command with "
                               f"--ckpt_path {ckpt} resumes from its last checkpoint")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # no bundle, no temporary file


def test_ctrl_c_says_it_was_interrupted(crops, tmp_path, monkeypatch, run_main, sigterm_fails_the_test):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "model.pt"
    _signal_at_step(monkeypatch, 2, signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a shell (pytest may leave it so too)
    code, stdout, err = _train(run_main, crops, out, 3)
    ckpt = next((tmp_path / "runs").rglob("last-epoch=0.ckpt")).absolute()
    assert code == 130 and "wrote" not in stdout, err
    assert _last_line(err) == (f"interrupted: no bundle written to {out}; the same command with --ckpt_path {ckpt} "
                               f"resumes from its last checkpoint")
