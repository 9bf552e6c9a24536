"""Resuming a classifier run (``--ckpt_path``) goes on as the run it came from would have.

The reported cases: a 2-epoch run extended to 3 trained its third epoch at learning rate 0 (the restored
cosine schedule had ended: its ``T_max`` 2 replaced the new ``max_epochs``), so the bundle's weights were the
checkpoint's; a resumed run rebuilt its running label-cleaning average empty (0 items flagged where the
uninterrupted run flagged 390) and lost the best weights kept in memory; the SIGTERM line named the best
epoch's checkpoint as "its last checkpoint" (the recipes keep no other); data classes given on the command
line were silently replaced by ``model.classes``; ``val_fraction 0`` on a crop folder blamed the images.
"""

from __future__ import annotations

import math
import signal
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from ferroscreen.errors import FerroscreenError
from ferroscreen.tasks.death_mode import DeathModeClassifier

from .test_train_sigterm import _signal_at_step, _train

REPO = Path(__file__).resolve().parents[2]
LR = 1e-3


class _Discs(pl.LightningDataModule):
    """Bright-disc (class 1) vs dark-disc (class 0) crops, 20 % of training labels flipped; items carry their index."""

    def __init__(self, n: int = 160):
        super().__init__()
        self.classes = ["alive", "dead"]
        rng = np.random.default_rng(0)
        s = 24
        yy, xx = np.mgrid[:s, :s]
        disc = ((yy - s / 2) ** 2 + (xx - s / 2) ** 2 < 36).astype(np.float32)
        truth = rng.integers(0, 2, n)
        x = 0.5 + (truth[:, None, None] * 0.8 - 0.4) * disc + rng.normal(0, 0.05, (n, s, s))
        labels = np.where(rng.random(n) < 0.2, 1 - truth, truth)
        xt = torch.tensor(x, dtype=torch.float32).unsqueeze(1)
        self.train_set = TensorDataset(xt, torch.tensor(labels), torch.arange(n))
        self.val_set = TensorDataset(xt[:32], torch.tensor(truth[:32]))
        self.class_counts = np.bincount(labels, minlength=2)

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=40, shuffle=True, generator=torch.Generator().manual_seed(0))

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=64)


class _Record(Callback):
    """Each epoch's learning rate as it starts; stops the run after epoch ``stop_after`` (as a SIGTERM would)."""

    def __init__(self, stop_after: int | None = None):
        self.lrs: dict[int, float] = {}
        self.stop_after = stop_after

    def on_train_epoch_start(self, trainer, pl_module):
        self.lrs[trainer.current_epoch] = trainer.optimizers[0].param_groups[0]["lr"]

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == self.stop_after:
            trainer.should_stop = True


def _fit(tmp_path: Path, epochs: int, ckpt: Path | None = None, stop_after: int | None = None, dm=None, **model_kw):
    """Train on :class:`_Discs`, keeping the latest epoch in ``tmp_path/ckpt``; the model, the LRs and the checkpoint."""
    pl.seed_everything(0)
    model = DeathModeClassifier(classes=["alive", "dead"], backbone="resnet18", weights="none", input_size=32, lr=LR,
                                scheduler="cosine", class_weighting="none", **model_kw)
    record = _Record(stop_after)
    latest = ModelCheckpoint(dirpath=tmp_path / "ckpt", filename="last-{epoch}", save_top_k=1,
                             save_on_train_epoch_end=True)
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, callbacks=[record, latest],
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         default_root_dir=tmp_path)
    dm = dm or _Discs()
    trainer.fit(model, dm, ckpt_path=ckpt)
    return model, record.lrs, Path(latest.best_model_path), dm


def test_a_resume_with_more_epochs_keeps_learning_on_the_new_schedule(tmp_path):
    from ferroscreen.models.checkpoints import load_lightning_checkpoint

    _, lrs, ckpt, _ = _fit(tmp_path / "a", 2, augment=False)
    assert lrs[1] == pytest.approx(LR / 2) and ckpt.name == "last-epoch=1.ckpt"
    saved = load_lightning_checkpoint(ckpt)["state_dict"]  # weights_only: what the checkpoint holds loads safely
    model, lrs, _, _ = _fit(tmp_path / "b", 3, ckpt, augment=False)
    assert list(lrs) == [2]
    assert lrs[2] == pytest.approx(LR * (1 + math.cos(math.pi * 2 / 3)) / 2)  # a 3-epoch cosine at epoch 2: > 0
    changed = [n for n, p in model.net.named_parameters() if not torch.equal(p.detach(), saved[f"net.{n}"])]
    assert len(changed) == len(list(model.net.parameters()))
    assert any(n.startswith("resumed at epoch 2 with max_epochs 3 where the checkpoint's run had 2: the cosine "
                            "learning rate follows 3 epochs from here") for n in model.training_notes)


def test_a_resume_keeps_label_cleaning_and_the_best_weights(tmp_path, monkeypatch):
    import ferroscreen.tasks.death_mode as death_mode

    real_report = death_mode.classification_report

    def plant(*f1s):  # validation macro-F1 per epoch: the best epoch is the first
        it = iter(f1s)
        monkeypatch.setattr(death_mode, "classification_report",
                            lambda cm, classes: {**real_report(cm, classes), "macro_f1": next(it)})

    cleaning = {"label_cleaning": "drop", "cleaning_epoch": 2, "cleaning_source": "running",
                "cleaning_threshold": 0.6, "augment": True, "keep_weights": "best"}
    plant(0.9, 0.5, 0.7)
    whole, whole_lrs, _, whole_dm = _fit(tmp_path / "whole", 3, **cleaning)
    plant(0.9, 0.5)
    stopped, _, ckpt, _ = _fit(tmp_path / "stopped", 3, stop_after=1, **cleaning)
    assert ckpt.name == "last-epoch=1.ckpt" and stopped.best_report["macro_f1"] == 0.9
    plant(0.7)
    resumed, lrs, _, dm = _fit(tmp_path / "resumed", 3, ckpt, **cleaning)

    flagged = whole.cleaning_report["history"]
    assert flagged[0]["epoch"] == 2 and flagged[0]["n_flagged"] > 0
    assert resumed.cleaning_report["history"] == flagged  # was: n_flagged 0 (the running average rebuilt empty)
    assert torch.equal(dm.train_set.tensors[1], whole_dm.train_set.tensors[1])
    assert torch.equal(resumed._given_labels, whole._given_labels)
    assert resumed.best_report["macro_f1"] == 0.9  # was 0.7: "best" covered only the epochs after the resume
    assert all(torch.equal(v, stopped.best_state[k]) for k, v in resumed.best_state.items())
    assert lrs[2] == pytest.approx(whole_lrs[2])  # a resume of the same length keeps the checkpoint's schedule
    assert not any(n.startswith("resumed at") for n in resumed.training_notes)


def test_a_resume_on_other_data_is_refused_in_one_line(tmp_path):
    cleaning = {"label_cleaning": "drop", "cleaning_epoch": 1, "cleaning_source": "running", "augment": False}
    _, _, ckpt, _ = _fit(tmp_path / "a", 1, **cleaning)
    with pytest.raises(FerroscreenError) as err:
        _fit(tmp_path / "b", 2, ckpt, dm=_Discs(n=120), **cleaning)
    assert str(err.value) == (f"{ckpt}: its label cleaning covers 160 training crops, the data has 120: resume with "
                              "the data and settings the checkpoint was trained with, or train anew without --ckpt_path")


def test_sigterm_names_the_latest_epoch_not_the_best_one_and_the_resume_finishes(crop_folder, tmp_path, monkeypatch,
                                                                                 run_main, sigterm_fails_the_test):
    import ferroscreen.tasks.death_mode as death_mode
    from ferroscreen.models.checkpoints import load_lightning_checkpoint

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "model.pt"
    real_report = death_mode.classification_report
    f1s = iter([0.9, 0.5])  # the best epoch is the first; the second is the latest when the third is stopped
    monkeypatch.setattr(death_mode, "classification_report",
                        lambda cm, classes: {**real_report(cm, classes), "macro_f1": next(f1s)})
    _signal_at_step(monkeypatch, 3)  # one step per epoch: epoch 3 of 3
    code, stdout, err = _train(run_main, crop_folder, out, 3)
    last = err.strip().splitlines()[-1]
    assert code == 143, err
    assert last.endswith(" resumes from its last checkpoint"), last
    ckpt = Path(last.split("--ckpt_path ")[1].split()[0])
    assert ckpt.name == "last-epoch=1.ckpt" and load_lightning_checkpoint(ckpt)["epoch"] == 1  # was best-epoch=0

    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    code, stdout, err = _train(run_main, crop_folder, out, 3, "--ckpt_path", str(ckpt))
    assert code == 0 and f"wrote {out}: " in stdout, err
    from ferroscreen.models.bundle import load_bundle

    assert load_bundle(out).meta["epochs_trained"] == 3


def test_a_checkpoint_of_the_best_epoch_is_not_called_the_last():
    from ferroscreen.tasks.training_run import TrainingInterrupted

    line = TrainingInterrupted(True, Path("m.pt"), False, Path("best-epoch=0.ckpt"), latest=False).line()
    assert line == ("terminated (SIGTERM): no bundle written to m.pt; the same command with --ckpt_path "
                    "best-epoch=0.ckpt resumes from the checkpoint of its best epoch so far (the epochs after it are "
                    "trained again)")


def test_data_classes_that_differ_from_the_models_are_refused(crop_folder, tmp_path, run_main):
    code, stdout, err = run_main(
        "train", "--config", REPO / "configs" / "train" / "folder.yaml", "--out", tmp_path / "m.pt",
        "--data.init_args.root", crop_folder, "--data.init_args.classes", "[alive, apoptosis, ferroptosis]",
        "--trainer.max_epochs", "1", "--trainer.default_root_dir", tmp_path / "runs")
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        "error: invalid training configuration: data.init_args.classes [alive, apoptosis, ferroptosis] differ from "
        "model.classes [alive, apoptosis, ferroptosis, necroptosis]; the data's classes are the model's: give them "
        "as --model.classes '[alive, apoptosis, ferroptosis]'")
    assert not (tmp_path / "m.pt").exists()


def test_data_classes_given_as_the_models_or_left_to_the_default_are_taken(crop_folder, tmp_path):
    from jsonargparse import Namespace

    from ferroscreen.tasks.lightning_cli import _given_data_classes, cli_main

    order = "[necroptosis, alive, apoptosis, ferroptosis]"
    cli = cli_main(["--config", str(REPO / "configs" / "train" / "folder.yaml"), "--data.init_args.root",
                    str(crop_folder), "--model.classes", order, "--data.init_args.classes", order,
                    "--model.weights", "none", "--trainer.default_root_dir", str(tmp_path / "runs")], run=False)
    assert cli.datamodule.classes == cli.model.classes == ["necroptosis", "alive", "apoptosis", "ferroptosis"]
    plate = "ferroscreen.datamodules.ReferencePlateDataModule"  # its classes default to the four modes
    default = Namespace(class_path=plate, init_args=Namespace(classes=["alive", "apoptosis", "ferroptosis",
                                                                       "necroptosis"]))
    assert _given_data_classes(default) is None
    given = Namespace(class_path=plate, init_args=Namespace(classes=["alive", "ferroptosis"]))
    assert _given_data_classes(given) == ["alive", "ferroptosis"]


def test_val_fraction_0_on_a_crop_folder_is_named_as_the_cause(crop_folder):
    from ferroscreen.datamodules import CropFolderDataModule

    with pytest.raises(FerroscreenError) as err:
        CropFolderDataModule(str(crop_folder), val_fraction=0).setup()
    assert str(err.value) == (f"no validation crops: {crop_folder}: data.val_fraction is 0, so no image is held out "
                              "(give a share, e.g. --data.init_args.val_fraction 0.2, or a val/<class>/ folder "
                              "beside train/)")


def test_training_without_validation_items_says_what_goes_unmeasured():
    from types import SimpleNamespace

    from ferroscreen.datamodules.crop_base import CropSets

    sets = CropSets(np.zeros((4, 8, 8)), np.array([0, 1, 0, 1]), np.zeros((0, 8, 8)), np.zeros(0, np.int64), {})
    dm = SimpleNamespace(classes=["alive", "dead"], sets=sets, val_fraction=0.0)
    model = DeathModeClassifier(classes=["alive", "dead"], backbone="resnet18", weights="none")
    model._note_classes_without_validation(dm)
    assert model.training_notes == [
        "no validation items (data val_fraction 0): no validation macro-F1 is measured (the bundle reports 0 crops), "
        "the bundle gets the last epoch's weights (no best epoch to pick), the calibration temperature stays 1.0 and "
        "the int8 graph is checked on training crops; hold out validation items (e.g. data val_fraction 0.25)"]


@pytest.fixture(autouse=True)
def _sigint_kept():
    """Lightning ignores SIGINT once it has handled a KeyboardInterrupt: give pytest its handler back."""
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)
