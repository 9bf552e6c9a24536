"""What DeathModeClassifier tells the user about a run: one class balancing, classes without validation
items, and ImageNet weights it could not use (each in a note printed at setup and kept in the bundle)."""

import logging
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import yaml

from ferroscreen.datamodules.crop_base import CropDataModule, CropSets
from ferroscreen.errors import ModelBundleError
from ferroscreen.models import imagenet_weights
from ferroscreen.models.backbones import imagenet_filename
from ferroscreen.tasks.bundle_export import finalize_and_export
from ferroscreen.tasks.death_mode import DeathModeClassifier

REPO = Path(__file__).resolve().parents[2]
CLASSES = ["alive", "apoptosis", "necroptosis"]


class _Crops(CropDataModule):
    """Noise crops: 12 / 4 / 2 training items, and validation items of the classes in ``val_counts``."""

    def __init__(self, val_counts=(3, 2, 1), **kw):
        super().__init__(CLASSES, crop_size=16, batch_size=8, val_fraction=0.25, **kw)
        self.val_counts = val_counts

    def build_sets(self) -> CropSets:
        rng = np.random.default_rng(0)
        ty = np.repeat(np.arange(3), (12, 4, 2))
        vy = np.repeat(np.arange(3), self.val_counts)
        return CropSets(rng.random((len(ty), 16, 16)).astype(np.float16), ty,
                        rng.random((len(vy), 16, 16)).astype(np.float16), vy, {"source": "noise"})


def _fit(model, dm, tmp_path):
    pl.Trainer(fast_dev_run=True, accelerator="cpu", logger=False, enable_progress_bar=False,
               enable_model_summary=False, default_root_dir=tmp_path).fit(model, dm)
    return finalize_and_export(model, dm, None, "")


def _model(**kw):
    return DeathModeClassifier(CLASSES, backbone="resnet18", **{"weights": "none", "input_size": 32, **kw})


def test_a_balanced_sampler_leaves_the_loss_unweighted_and_says_so(tmp_path, caplog):
    model = _model(class_weighting="balanced")
    with caplog.at_level(logging.INFO):
        meta = _fit(model, _Crops(balanced_sampler=True), tmp_path)
    assert torch.equal(model.class_weights, torch.ones(3))  # was 18 / (3 x count): 0.5, 1.5, 3 (x the sampler's)
    notes = [n for n in meta["training_data"]["notes"] if "balanced_sampler" in n]
    assert len(notes) == 1 and "not weighted by class" in notes[0]
    assert f"note: {notes[0]}" in caplog.text  # said before training, not only in the bundle


def test_without_a_balanced_sampler_the_loss_is_weighted(tmp_path):
    model = _model(class_weighting="balanced")
    meta = _fit(model, _Crops(), tmp_path)
    assert model.class_weights.tolist() == pytest.approx([0.5, 1.5, 3.0])
    assert not [n for n in meta["training_data"].get("notes", []) if "balanced" in n]


def test_no_training_config_balances_the_classes_twice():
    for config in sorted((REPO / "configs" / "train").glob("*.yaml")):
        cfg = yaml.safe_load(config.read_text())
        weighting = (cfg.get("model") or {}).get("class_weighting", "balanced")  # the model's default
        sampler = ((cfg.get("data") or {}).get("init_args") or {}).get("balanced_sampler", False)
        assert not (sampler and weighting == "balanced"), config.name


def test_classes_without_validation_items_are_named(tmp_path, caplog):
    model = _model(class_weighting="none")
    with caplog.at_level(logging.INFO):
        meta = _fit(model, _Crops(val_counts=(3, 2, 0)), tmp_path)
    notes = [n for n in meta["training_data"]["notes"] if n.startswith("validation has no")]
    assert notes == [notes[0]] and notes[0].startswith("validation has no necroptosis items: ")
    assert "covers alive, apoptosis only" in notes[0] and f"note: {notes[0]}" in caplog.text
    assert meta["validation"]["macro_f1_classes"] == ["alive", "apoptosis"]
    assert meta["validation"]["per_class"]["necroptosis"]["recall"] is None


def test_every_class_in_validation_gives_no_such_note(tmp_path):
    meta = _fit(_model(class_weighting="none"), _Crops(), tmp_path)
    assert not [n for n in meta["training_data"].get("notes", []) if "validation has no" in n]


def test_the_weights_fallback_is_said_in_a_note_and_the_bundle(tmp_path, monkeypatch):
    monkeypatch.setattr(imagenet_weights, "weights_search_dirs", lambda: [tmp_path / "nothing"])
    import warnings

    with warnings.catch_warnings():  # said once, in the run's notes (a warning repeated it, as Lightning's)
        warnings.simplefilter("error")
        model = _model(weights="imagenet", weights_fallback=True, class_weighting="none")
    meta = _fit(model, _Crops(), tmp_path)
    assert meta["init"] == "random"
    notes = [n for n in meta["training_data"]["notes"] if "random initialisation" in n]
    assert len(notes) == 1 and imagenet_filename("resnet18") in notes[0] and "weights_fallback: true" in notes[0]


def test_without_the_fallback_the_error_names_it(tmp_path, monkeypatch):
    from ferroscreen.models.imagenet_weights import ImageNetWeightsNotFound

    monkeypatch.setattr(imagenet_weights, "weights_search_dirs", lambda: [tmp_path / "nothing"])
    with pytest.raises(ImageNetWeightsNotFound) as exc:
        _model(weights="imagenet", class_weighting="none")
    message = str(exc.value)
    assert "--model.weights_fallback true" in message and f"--model.weights /path/to/{imagenet_filename('resnet18')}" \
        in message and "\n" not in message


def test_a_damaged_weights_file_is_an_error_even_with_the_fallback(tmp_path, monkeypatch):
    (tmp_path / imagenet_filename("resnet18")).write_bytes(b"PK\x03\x04 cut short")
    monkeypatch.setattr(imagenet_weights, "weights_search_dirs", lambda: [tmp_path])
    with pytest.raises(ModelBundleError, match=r"no copy of resnet18-f37072fd.pth on the search path can be used "
                                               r"\(.*resnet18-f37072fd.pth: not a loadable weights file"):
        _model(weights="imagenet", weights_fallback=True)
