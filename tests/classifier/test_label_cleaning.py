"""Label cleaning: the flagging rule on hand cases and the in-training drop on planted label noise."""

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ferroscreen.errors import FerroscreenError
from ferroscreen.tasks.death_mode import DeathModeClassifier
from ferroscreen.tasks.label_cleaning import IGNORE, RunningPredictions, clean_labels, label_issues


def test_label_issues_hand_case():
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.55, 0.45], [0.2, 0.8], [0.6, 0.4]])
    labels = np.array([0, 0, 1, 1, IGNORE])
    flags, pred = label_issues(probs, labels, threshold=0.6)
    assert flags.tolist() == [False, True, False, False, False]  # item 2: 0.55 < threshold; item 4: ignored
    assert pred.tolist() == [0, 1, 0, 1, 0]


def test_clean_labels_drop_and_relabel():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9]])
    labels = np.array([0, 0, 1])
    dropped, s = clean_labels(probs, labels, "drop")
    assert dropped.tolist() == [0, IGNORE, 1] and labels.tolist() == [0, 0, 1]
    assert s["n_flagged"] == 1 and s["flagged_per_label"] == [1, 0] and s["items_per_label"] == [2, 1]
    relabelled, _ = clean_labels(probs, labels, "relabel")
    assert relabelled.tolist() == [0, 1, 1]


def test_running_predictions_average():
    run = RunningPredictions(3, 2, momentum=0.75)
    assert run.n_seen == 0 and np.allclose(run.probs(), 0.5)  # never seen: uniform, flags nothing
    run.update(np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]))  # first sight is taken as it is
    run.update(np.array([0]), np.array([[0.0, 1.0]]))
    assert np.allclose(run.probs(), [[0.75, 0.25], [0.0, 1.0], [0.5, 0.5]]) and run.n_seen == 2
    flags, _ = label_issues(run.probs(), np.array([1, 0, 0]), threshold=0.6)
    assert flags.tolist() == [True, True, False]
    with pytest.raises(ValueError, match="momentum"):
        RunningPredictions(3, 2, momentum=1.0)


class _Planted(pl.LightningDataModule):
    """Bright-disc (class 1) vs dark-disc (class 0) crops, 20 % of training labels flipped."""

    def __init__(self, index: bool = False):
        super().__init__()
        self.classes = ["alive", "dead"]
        rng = np.random.default_rng(0)
        n, s = 400, 24
        yy, xx = np.mgrid[:s, :s]
        disc = ((yy - s / 2) ** 2 + (xx - s / 2) ** 2 < 36).astype(np.float32)
        truth = rng.integers(0, 2, n)
        x = 0.5 + (truth[:, None, None] * 0.8 - 0.4) * disc + rng.normal(0, 0.05, (n, s, s))
        noisy = rng.random(n) < 0.2
        self.truth, self.noisy = truth, noisy
        labels = np.where(noisy, 1 - truth, truth)
        xt, yt = torch.tensor(x, dtype=torch.float32).unsqueeze(1), torch.tensor(labels)
        self.train_set = TensorDataset(xt, yt, torch.arange(n)) if index else TensorDataset(xt, yt)
        self.val_set = TensorDataset(self.train_set.tensors[0][:64], torch.tensor(truth[:64]))
        self.class_counts = np.bincount(labels, minlength=2)

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(0))

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=64)


def _fit_cleaning(dm, tmp_path, **cleaning):
    """Train 4 epochs with label_cleaning="drop"; returns the model, the labels after training and the dropped mask."""
    model = DeathModeClassifier(classes=dm.classes, backbone="resnet18", weights="none", input_size=32, lr=1e-3,
                                class_weighting="none", augment=False, label_cleaning="drop", **cleaning)
    trainer = pl.Trainer(max_epochs=4, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(model, dm)
    labels = dm.train_set.tensors[1].numpy()
    return model, labels, labels == IGNORE


def test_training_drops_planted_noise(tmp_path):
    pl.seed_everything(0)
    dm = _Planted()
    model, labels, dropped = _fit_cleaning(dm, tmp_path, cleaning_epoch=3)
    rep = model.cleaning_report
    assert rep["epoch"] == 3 and rep["n_flagged"] == int(dropped.sum())
    # most planted flips are dropped, few clean items are
    assert dropped[dm.noisy].mean() > 0.8
    assert dropped[~dm.noisy].mean() < 0.1


@pytest.mark.slow  # ~27 s; the snapshot source (test above) covers the cleaning itself
def test_training_drops_planted_noise_running(tmp_path):
    pl.seed_everything(0)
    dm = _Planted(index=True)
    given = dm.train_set.tensors[1].clone()
    model, labels, dropped = _fit_cleaning(dm, tmp_path, cleaning_epoch=2, cleaning_source="running",
                                           cleaning_momentum=0.5)
    rep = model.cleaning_report
    assert rep["source"] == "running" and [h["epoch"] for h in rep["history"]] == [2, 3]
    assert rep["epoch"] == 3 and rep["n_flagged"] == int(dropped.sum())
    assert torch.equal(model._given_labels, given)  # flags are recomputed from the given labels each epoch
    assert np.array_equal(labels[~dropped], given.numpy()[~dropped])
    assert dropped[dm.noisy].mean() > 0.8
    assert dropped[~dm.noisy].mean() < 0.1


def test_running_cleaning_needs_item_index(tmp_path):
    dm = _Planted(index=False)
    model = DeathModeClassifier(classes=dm.classes, backbone="resnet18", weights="none", input_size=32,
                                label_cleaning="drop", cleaning_source="running")
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    with pytest.raises(FerroscreenError, match=r"TensorDataset\(crops, labels, index\)"):
        trainer.fit(model, dm)
    for bad in ({"cleaning_source": "ema"}, {"cleaning_momentum": 1.0}):
        with pytest.raises(FerroscreenError, match=next(iter(bad))):
            DeathModeClassifier(classes=dm.classes, backbone="resnet18", weights="none", **bad)


def test_keep_weights_best_or_last(tmp_path, monkeypatch):
    with pytest.raises(FerroscreenError, match="keep_weights"):
        DeathModeClassifier(classes=["alive", "dead"], backbone="resnet18", weights="none", keep_weights="first")
    import ferroscreen.tasks.death_mode as death_mode

    planted = [0.9, 0.5, 0.7]  # validation macro-F1 per epoch: the best epoch is the first, not the last
    real_report = death_mode.classification_report
    for keep in ("best", "last"):
        pl.seed_everything(0)
        f1s = iter(planted)
        monkeypatch.setattr(death_mode, "classification_report",
                            lambda cm, classes, f1s=f1s: {**real_report(cm, classes), "macro_f1": next(f1s)})
        dm = _Planted()
        model = DeathModeClassifier(classes=dm.classes, backbone="resnet18", weights="none", input_size=32, lr=3e-3,
                                    class_weighting="none", augment=False, keep_weights=keep)
        states = []
        model.on_validation_epoch_end = (lambda m=model, f=model.on_validation_epoch_end, s=states: (
            f(), s.append({k: v.detach().cpu().clone() for k, v in m.net.state_dict().items()})))
        trainer = pl.Trainer(max_epochs=len(planted), limit_train_batches=2, accelerator="cpu", logger=False,
                             enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                             num_sanity_val_steps=0, default_root_dir=tmp_path)
        trainer.fit(model, dm)
        kept = 0 if keep == "best" else -1
        assert model.best_report["macro_f1"] == planted[kept]
        assert all(torch.equal(model.best_state[k], v) for k, v in states[kept].items())
        assert not all(torch.equal(model.best_state[k], v) for k, v in states[1].items())  # training moved on
