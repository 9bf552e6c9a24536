"""``train`` as a batch job runs it: output to files, logs where ``--trainer.default_root_dir`` says.

Was: without a terminal the Rich bar showed only its last state once training had ended (nothing
while a long job ran); and every config's ``logger.init_args.save_dir`` kept the logs and
checkpoints in ``runs/train-<name>`` whatever ``--trainer.default_root_dir`` said.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "train" / "folder.yaml"

EPOCH = re.compile(r"^epoch (\d+)/2: train loss \d+\.\d{4}, val macro-F1 [01]\.\d{4}, \d+:\d\d:\d\d elapsed$")


def _train(cli, crop_folder: Path, cwd: Path, *extra: str):
    return cli("train", "--config", CONFIG, "--out", cwd / "model.pt", "--data.init_args.root", crop_folder,
               "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
               "--trainer.accelerator", "cpu", "--model.weights", "none", "--model.input_size", "32",
               "--data.init_args.batch_size", "8", *extra, cwd=cwd)


def test_train_without_a_terminal_prints_a_plain_line_per_epoch(cli, crop_folder, tmp_path):
    proc = _train(cli, crop_folder, tmp_path)
    assert proc.returncode == 0, proc.stderr
    epochs = [m.group(1) for m in map(EPOCH.match, proc.stderr.splitlines()) if m]
    assert epochs == ["1", "2"], proc.stderr
    for text in (proc.stdout, proc.stderr):
        assert "\r" not in text and "\x1b" not in text
    assert "━" not in proc.stdout + proc.stderr  # no bar drawn at the end either


def test_default_root_dir_moves_the_logs_and_checkpoints(cli, crop_folder, tmp_path):
    proc = _train(cli, crop_folder, tmp_path, "--trainer.default_root_dir", "elsewhere")
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "elsewhere" / "lightning_logs" / "version_0"
    assert (run / "metrics.csv").is_file() and (run / "config.yaml").is_file()
    assert list((run / "checkpoints").glob("*.ckpt"))
    assert not (tmp_path / "runs").exists()
