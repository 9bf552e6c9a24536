"""``DeathModeClassifier``: the LightningModule that trains :class:`DeathModeNet`.

It expects a datamodule exposing ``classes`` (list of names, same order as the
model's), ``class_counts`` (training items per class) and yielding batches
``(crops, labels[, index])`` with crops (B, C, S, S) normalised per frame
(C = 1, or 2 with next-scan crops) and ``index`` the items' positions in the
training set (needed by ``cleaning_source: running``). Optionally it has
``balanced_sampler`` (class-balanced training batches) and ``sets`` (a
:class:`~ferroscreen.datamodules.crop_base.CropSets`): what the model has to say
about the training (:attr:`DeathModeClassifier.training_notes`) is printed as a
``note:`` at setup and added to ``sets.summary["notes"]``, which the model
bundle's training-data summary and ``ferroscreen train`` carry.

A run resumed from a checkpoint (``--ckpt_path``) goes on as the run it came from
would have: the checkpoint also holds the weights kept so far (``best_state``),
the label-cleaning state (running average, given and cleaned labels, history) and
the augmentation generator (:meth:`DeathModeClassifier.on_save_checkpoint`). A
resume with another ``max_epochs`` puts the cosine schedule on the new horizon
(:meth:`DeathModeClassifier.on_train_start`).
"""

from __future__ import annotations

import copy
import math
import unicodedata

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_info

from ferroscreen.analysis.classification import classification_report, confusion_matrix
from ferroscreen.errors import FerroscreenError
from ferroscreen.models.backbones import BACKBONES
from ferroscreen.models.death_mode_net import FREEZE_MODES, DeathModeNet
from ferroscreen.models.imagenet_weights import ImageNetWeightsNotFound
from ferroscreen.tasks.augment import AugmentConfig, augment_batch
from ferroscreen.tasks.label_cleaning import IGNORE, RunningPredictions, clean_labels, predict_in_batches

DEFAULT_CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]


class DeathModeClassifier(pl.LightningModule):
    """Transfer-learning death-mode classifier.

    Args:
        classes: Class names in output order (must match the datamodule's).
        backbone: torchvision backbone name (see ``ferroscreen.models.backbones``).
        weights: ``imagenet``, ``none`` or a path to a torchvision state dict.
        weights_fallback: If no ImageNet weights file is on the search path
            (:mod:`ferroscreen.models.imagenet_weights`), start from random
            initialisation instead of failing: said in a warning, a training
            note and the bundle (``init`` ``random``). Copies that are there
            but unreadable are an error either way (they name the files).
        input_size: Crops are resized to this side length for the backbone.
        dropout: Dropout before the head.
        optimizer: ``adamw`` or ``adam``.
        lr: Learning rate; ``weight_decay``: decoupled (AdamW) or L2 (Adam).
        scheduler: ``cosine`` (to 0 over max_epochs), ``step`` (× ``step_gamma``
            every ``step_every`` epochs) or ``none``. A run resumed with another
            ``max_epochs`` than its checkpoint's follows the cosine of the new
            ``max_epochs`` from the epoch it resumes at (said in a note): a run
            extended past its schedule's end would otherwise train at rate 0.
        freeze: ``none``, ``stem`` (the low-level layers up to stride 4), ``backbone`` or
            ``all_but_last`` at the start.
        unfreeze_at_epoch: Epoch from which the whole backbone trains (None: never).
        class_weighting: ``balanced`` (inverse class frequency in the loss) or ``none``.
            With a datamodule that already draws class-balanced batches
            (``balanced_sampler``), ``balanced`` leaves the loss unweighted (said in
            a note): both together weight each class by about 1/count², and the
            rarest class swallows the others.
        label_smoothing: Cross-entropy label smoothing.
        augment: Apply microscopy augmentations during training.
        augment_options: Strengths overriding :class:`AugmentConfig`'s defaults,
            e.g. ``{blur_prob: 0}`` (unknown names are an error).
        label_cleaning: ``none``, ``drop`` or ``relabel``: from the start of epoch
            ``cleaning_epoch`` the training items whose prediction confidently
            names another class (see :mod:`ferroscreen.tasks.label_cleaning`)
            leave the loss or take the predicted class. Needs a datamodule whose
            ``train_set`` is a ``TensorDataset(crops, labels[, index])``.
        cleaning_epoch: First epoch (0-based) whose labels are cleaned (>= 1).
        cleaning_threshold: Minimum predicted-class probability to flag an item.
        cleaning_source: ``snapshot``: one eval-mode pass at ``cleaning_epoch``,
            flags final. ``running``: each item's training-step probabilities
            averaged over epochs (from ``cleaning_epoch - 1``, ``cleaning_momentum``
            per observation); the flags are recomputed from the given labels at
            the start of every epoch from ``cleaning_epoch`` on, so an item can
            come back. Needs the ``index`` tensor in ``train_set``.
        cleaning_momentum: Weight of the past in the running average.
        keep_weights: Weights the bundle gets: ``best`` (the epoch with the
            highest validation macro-F1) or ``last`` (the final epoch). With
            well labels the validation labels are as noisy as the training
            ones, and a model that has learned past them (label cleaning)
            agrees *less* with them: ``best`` can then pick a warm-up epoch.
        seed: Seed of the augmentation generator.
    """

    def __init__(
        self,
        classes: list[str] = DEFAULT_CLASSES,
        backbone: str = "mobilenet_v2",
        weights: str = "imagenet",
        weights_fallback: bool = False,
        input_size: int = 96,
        dropout: float = 0.2,
        optimizer: str = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        scheduler: str = "cosine",
        step_every: int = 5,
        step_gamma: float = 0.95,
        freeze: str = "none",
        unfreeze_at_epoch: int | None = None,
        class_weighting: str = "balanced",
        label_smoothing: float = 0.05,
        augment: bool = True,
        augment_options: dict | None = None,
        label_cleaning: str = "none",
        cleaning_epoch: int = 2,
        cleaning_threshold: float = 0.5,
        cleaning_source: str = "snapshot",
        cleaning_momentum: float = 0.5,
        keep_weights: str = "best",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        #: What the run should tell the user (fallbacks, settings overridden, gaps in the data); see the module doc.
        self.training_notes: list[str] = []
        self._notes_said = 0
        self.classes = [unicodedata.normalize("NFC", str(c)) for c in classes]  # as data folders are compared
        if backbone not in BACKBONES:  # before the weights: "falling back to random initialisation" would mislead
            raise FerroscreenError(f"unknown backbone '{backbone}' (one of {', '.join(BACKBONES)})")
        try:
            self.net = DeathModeNet(backbone, len(classes), weights, input_size, dropout)
        except ImageNetWeightsNotFound as exc:
            if weights != "imagenet":
                raise
            if not weights_fallback:  # the way out the message of the weights search cannot know
                raise ImageNetWeightsNotFound(
                    f"{exc} (--model.weights /path/to/{exc.filename}); or --model.weights_fallback true to start "
                    "from random initialisation (usually scores lower)", exc.filename, exc.searched) from None
            self.net = DeathModeNet(backbone, len(classes), "none", input_size, dropout)
            self.training_notes.append(
                f"no ImageNet weights for {backbone} were found ({exc.filename} is not in "
                f"{', '.join(map(str, exc.searched))}): the network starts from random initialisation "
                "(weights_fallback: true), which usually scores lower; put the file in one of those folders "
                "or pass --model.weights /path/to/" + exc.filename)
        if label_cleaning not in ("none", "drop", "relabel"):
            raise FerroscreenError(f"unknown label_cleaning '{label_cleaning}' (none, drop or relabel)")
        if freeze not in FREEZE_MODES:
            raise FerroscreenError(f"unknown freeze '{freeze}' ({', '.join(FREEZE_MODES)})")
        if keep_weights not in ("best", "last"):
            raise FerroscreenError(f"unknown keep_weights '{keep_weights}' (best or last)")
        if cleaning_source not in ("snapshot", "running"):
            raise FerroscreenError(f"unknown cleaning_source '{cleaning_source}' (snapshot or running)")
        if not 0.0 <= cleaning_momentum < 1.0:
            raise FerroscreenError(f"cleaning_momentum must be in [0, 1), got {cleaning_momentum}")
        if label_cleaning != "none" and cleaning_epoch < 1:
            raise FerroscreenError("cleaning_epoch must be >= 1: the model needs a warm-up epoch first")
        self.net.set_frozen(freeze)
        self.cleaning_report: dict | None = None
        self._running: RunningPredictions | None = None
        self._given_labels: torch.Tensor | None = None
        known = set(AugmentConfig.__dataclass_fields__)
        unknown = sorted(set(augment_options or {}) - known)
        if unknown:
            raise FerroscreenError(f"unknown augment_options {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        self.augment_cfg = AugmentConfig(**(augment_options or {}))
        self._gen = torch.Generator().manual_seed(seed)
        self.register_buffer("class_weights", torch.ones(len(classes)))
        self._val_logits: list[torch.Tensor] = []
        self._val_labels: list[torch.Tensor] = []
        self.best_state: dict | None = None
        self._best_step: int | None = None  # the global step best_state was taken at
        self.best_report: dict | None = None
        self.last_report: dict | None = None
        self._resumed_cleaning: dict | None = None  # from a checkpoint, applied in on_train_start

    @property
    def init(self) -> str:
        """How the backbone was initialised (``imagenet:<file>``, ``file:<path>``, ``random``)."""
        return self.net.init

    def setup(self, stage: str) -> None:
        """Check the datamodule's classes, derive class weights from its counts, say the training notes.

        ``class_weighting: balanced`` weights the loss by inverse class frequency unless the
        datamodule samples class-balanced batches already (``balanced_sampler``). Classes
        without validation items are named in a note (their recall and F1 are undefined and
        the validation macro-F1 leaves them out).
        """
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if dm is None:
            return
        dm_classes = list(getattr(dm, "classes", self.classes))
        if dm_classes != self.classes:
            raise FerroscreenError(f"model classes {self.classes} differ from the data's classes {dm_classes}")
        counts = getattr(dm, "class_counts", None)
        if counts is not None and self.hparams.class_weighting == "balanced":
            if getattr(dm, "balanced_sampler", False):
                self.class_weights.fill_(1.0)
                self._note_once("the training batches are drawn class-balanced (data balanced_sampler: true), so "
                                "the loss is not weighted by class as well (class_weighting: balanced would make "
                                "each class count about 1/count^2 and the rarest class swallow the others)")
            else:
                c = torch.as_tensor(np.asarray(counts, dtype=np.float64), dtype=torch.float32)
                w = torch.where(c > 0, c.sum() / (len(c) * c.clamp_min(1)), torch.zeros_like(c))
                self.class_weights.copy_(w)
        self._note_classes_without_validation(dm)
        self._say_notes(dm)

    def _note_once(self, note: str) -> None:
        if note not in self.training_notes:
            self.training_notes.append(note)

    def _note_classes_without_validation(self, dm) -> None:
        """Note the classes without validation items, unless the datamodule's own notes name them already.

        Without any validation item (``val_fraction`` 0) the note says what is then not measured.
        """
        sets = getattr(dm, "sets", None)
        val_y = getattr(sets, "val_y", None)
        if val_y is None:
            return
        if not len(val_y):
            why = " (data val_fraction 0)" if getattr(dm, "val_fraction", None) == 0 else ""
            self._note_once(
                f"no validation items{why}: no validation macro-F1 is measured (the bundle reports 0 crops), the "
                "bundle gets the last epoch's weights (no best epoch to pick), the calibration temperature stays 1.0 "
                "and the int8 graph is checked on training crops; hold out validation items (e.g. data val_fraction "
                "0.25)")
            return
        support = np.bincount(np.asarray(val_y, dtype=np.int64), minlength=len(self.classes))
        said = (getattr(sets, "summary", None) or {}).get("notes", [])  # reference plates name the class's wells
        missing = [c for i, c in enumerate(self.classes)
                   if support[i] == 0 and not any(f"has no {c} crops" in n for n in said)]
        if missing:
            covered = [c for i, c in enumerate(self.classes) if support[i] > 0]
            self._note_once(
                f"validation has no {', '.join(missing)} items: their recall and F1 are not measured, and the "
                f"validation macro-F1 (best epoch, bundle) covers {', '.join(covered)} only; give every class "
                "validation items (more images or annotated images, or a val/ folder)")

    def _say_notes(self, dm) -> None:
        """Print the notes not said yet and add them to the datamodule's summary notes (see the module doc)."""
        summary = getattr(getattr(dm, "sets", None), "summary", None)
        for note in self.training_notes[self._notes_said:]:
            rank_zero_info(f"note: {note}")
            if isinstance(summary, dict):
                notes = summary.setdefault("notes", [])
                if note not in notes:
                    notes.append(note)
        self._notes_said = len(self.training_notes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the network."""
        return self.net(x)

    def on_train_epoch_start(self) -> None:
        """Unfreeze the backbone at ``unfreeze_at_epoch``; clean labels at ``cleaning_epoch``."""
        ue = self.hparams.unfreeze_at_epoch
        if ue is not None and self.current_epoch >= ue:
            self.net.set_frozen("none")
        hp = self.hparams
        if hp.label_cleaning == "none" or self.current_epoch < hp.cleaning_epoch:
            return
        if hp.cleaning_source == "running":
            self._clean_training_labels()
        elif self.current_epoch == hp.cleaning_epoch:
            self._clean_training_labels()

    def _train_tensors(self, need_index: bool) -> tuple[torch.Tensor, ...]:
        dm = getattr(self.trainer, "datamodule", None)
        tensors = getattr(getattr(dm, "train_set", None), "tensors", None)
        if tensors is None or len(tensors) < (3 if need_index else 2):
            what = "TensorDataset(crops, labels, index)" if need_index else "TensorDataset(crops, labels[, index])"
            raise FerroscreenError(f"label_cleaning needs a datamodule whose train_set is {what}")
        return tensors

    def on_train_start(self) -> None:
        """Fit a resumed cosine schedule to ``max_epochs``; set up (or restore) the label-cleaning state.

        The running average of training predictions (``cleaning_source: running``) starts empty, or as
        the checkpoint resumed from left it, with its given and cleaned labels.

        Raises:
            FerroscreenError: The checkpoint's label cleaning covers another number of training items.
        """
        self._fit_schedule_to_max_epochs()
        hp = self.hparams
        if hp.label_cleaning == "none":
            return
        saved, self._resumed_cleaning = self._resumed_cleaning, None
        if hp.cleaning_source == "running":
            _, y, _ = self._train_tensors(need_index=True)[:3]
            self._given_labels = y.clone()
            self._running = RunningPredictions(len(y), len(self.classes), hp.cleaning_momentum)
        if saved:
            self._restore_cleaning(saved)

    def _restore_cleaning(self, saved: dict) -> None:
        """Put the checkpoint's label-cleaning state (:meth:`on_save_checkpoint`) back in place."""
        y = self._train_tensors(need_index=False)[1]
        if len(saved["labels"]) != len(y):
            raise FerroscreenError(
                f"{self.trainer.ckpt_path}: its label cleaning covers {len(saved['labels'])} training crops, the "
                f"data has {len(y)}: resume with the data and settings the checkpoint was trained with, or train "
                "anew without --ckpt_path")
        y.copy_(saved["labels"])
        if self._running is not None and "running" in saved:
            self._running.load_state_dict(saved["running"])
            self._given_labels = saved["given_labels"].clone()

    def _fit_schedule_to_max_epochs(self) -> None:
        """A cosine schedule restored from a checkpoint of another ``max_epochs`` follows this run's (said in a note).

        The learning rate of each epoch from here is the one a run of ``max_epochs`` from the start would
        have used at it; a run resumed with the same ``max_epochs`` is left as the checkpoint had it.
        """
        if self._trainer is None or self.hparams.scheduler != "cosine":
            return
        horizon = max(1, int(self.trainer.max_epochs or 1))
        for config in self.trainer.lr_scheduler_configs:
            sched = config.scheduler
            if not isinstance(sched, torch.optim.lr_scheduler.CosineAnnealingLR) or sched.T_max == horizon:
                continue
            before, epoch = sched.T_max, min(int(sched.last_epoch), horizon)
            lrs = [sched.eta_min + (base - sched.eta_min) * (1 + math.cos(math.pi * epoch / horizon)) / 2
                   for base in sched.base_lrs]
            for group, lr in zip(sched.optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr
            sched.T_max, sched._last_lr = horizon, lrs
            self._note_once(
                f"resumed at epoch {epoch} with max_epochs {horizon} where the checkpoint's run had {before}: the "
                f"cosine learning rate follows {horizon} epochs from here ({lrs[0]:.3g} at epoch {epoch})")
        self._say_notes(getattr(self.trainer, "datamodule", None))

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Save what a resumed run needs to go on as this one would (tensors and plain values only).

        Under ``death_mode``: the kept weights and their report (``best_state`` is ``"weights"`` when it is
        the checkpoint's own), the last validation report, the augmentation generator and, with label
        cleaning, the training labels as cleaned so far, the cleaning report and the running average with
        the given labels.
        """
        state: dict = {"augment_rng": self._gen.get_state(), "best_report": self.best_report,
                       "last_report": self.last_report}
        if self.best_state is not None:
            same = self._best_step == int(self.global_step)  # no optimizer step since: the weights saved
            state["best_state"] = "weights" if same else self.best_state
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        tensors = getattr(getattr(dm, "train_set", None), "tensors", None)
        if self.hparams.label_cleaning != "none" and tensors is not None and len(tensors) >= 2:
            state["cleaning"] = {"labels": tensors[1].clone(), "report": self.cleaning_report}
            if self._running is not None:
                state["cleaning"].update(running=self._running.state_dict(), given_labels=self._given_labels.clone())
        checkpoint["death_mode"] = state

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Take back what :meth:`on_save_checkpoint` saved (nothing in checkpoints written before it)."""
        state = checkpoint.get("death_mode")
        if not state:
            return
        self._gen.set_state(state["augment_rng"])
        self.best_report, self.last_report = state.get("best_report"), state.get("last_report")
        best = state.get("best_state")
        if isinstance(best, str):  # the checkpoint's own weights
            best = {k[len("net."):]: v.detach().cpu().clone() for k, v in checkpoint["state_dict"].items()
                    if k.startswith("net.")}
        self.best_state = best
        self._best_step = None
        cleaning = state.get("cleaning")
        if cleaning:
            self.cleaning_report = cleaning.get("report")
            self._resumed_cleaning = cleaning

    def _clean_training_labels(self) -> None:
        hp = self.hparams
        if hp.cleaning_source == "running":
            y = self._train_tensors(need_index=True)[1]
            probs, given = self._running.probs(), self._given_labels.numpy()
        else:
            x, y = self._train_tensors(need_index=False)[:2]
            probs, given = predict_in_batches(self.net, x, device=self.device), y.numpy()
        new, summary = clean_labels(probs, given, hp.label_cleaning, hp.cleaning_threshold)
        y.copy_(torch.from_numpy(new))  # in place: the running DataLoader reads the same tensor
        history = (self.cleaning_report or {}).get("history", [])
        summary["source"] = hp.cleaning_source
        summary["epoch"] = int(self.current_epoch)
        summary["classes"] = list(self.classes)
        summary["history"] = [*history, {"epoch": int(self.current_epoch), "n_flagged": summary["n_flagged"],
                                         "flagged_per_label": summary["flagged_per_label"]}]
        self.cleaning_report = summary
        self.log("n_labels_cleaned", float(summary["n_flagged"]))

    def training_step(self, batch, batch_idx: int) -> torch.Tensor | None:  # noqa: D102
        x, y, *rest = batch
        if self.hparams.augment:
            x = augment_batch(x, self.augment_cfg, self._gen)
        keep = y != IGNORE
        if self._running is not None:
            logits = self.net(x)  # dropped items too: their running prediction can bring them back
            if self.current_epoch >= self.hparams.cleaning_epoch - 1:
                self._running.update(rest[0].cpu().numpy(), torch.softmax(logits.detach().float(), 1).cpu().numpy())
            logits, y = logits[keep], y[keep]
        elif bool(keep.any()):
            logits, y = self.net(x[keep]), y[keep]
        if not len(y):
            return None  # every item of this batch was dropped by label cleaning
        loss = F.cross_entropy(
            logits, y, weight=self.class_weights, label_smoothing=self.hparams.label_smoothing
        )
        acc = (logits.argmax(1) == y).float().mean()
        self.log("train_loss", loss, prog_bar=True, batch_size=len(y))
        self.log("train_acc", acc, prog_bar=True, batch_size=len(y))
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:  # noqa: D102
        x, y = batch[0], batch[1]
        logits = self.net(x)
        self._val_logits.append(logits.detach().cpu())
        self._val_labels.append(y.detach().cpu())
        self.log("val_loss", F.cross_entropy(logits, y), batch_size=len(y))

    def on_validation_epoch_end(self) -> None:
        """Log macro-F1, per-class F1; keep the best weights in memory."""
        if not self._val_logits:
            return
        logits = torch.cat(self._val_logits)
        labels = torch.cat(self._val_labels)
        self._val_logits.clear()
        self._val_labels.clear()
        cm = confusion_matrix(labels.numpy(), logits.argmax(1).numpy(), len(self.classes))
        report = classification_report(cm, self.classes)
        self.last_report = report
        self.log("val_macro_f1", report["macro_f1"], prog_bar=True)
        self.log("val_acc", report["accuracy"])
        for name, m in report["per_class"].items():
            if m["f1"] is not None:
                self.log(f"val_f1_{name}", m["f1"])
        if self.trainer.sanity_checking:
            return
        last = self.hparams.keep_weights == "last"
        if last or self.best_report is None or report["macro_f1"] >= self.best_report["macro_f1"]:
            self.best_report = report
            self.best_state = copy.deepcopy({k: v.detach().cpu() for k, v in self.net.state_dict().items()})
            self._best_step = int(self.global_step)

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:  # noqa: D102
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        return self.net.predict_proba(x)

    def configure_optimizers(self):  # noqa: D102
        hp = self.hparams
        params = list(self.net.parameters())
        if hp.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=hp.lr, weight_decay=hp.weight_decay)
        elif hp.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay)
        else:
            raise FerroscreenError(f"unknown optimizer '{hp.optimizer}' (adamw or adam)")
        if hp.scheduler == "none":
            return opt
        if hp.scheduler == "step":
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=hp.step_every, gamma=hp.step_gamma)
        elif hp.scheduler == "cosine":
            epochs = max(1, int(self.trainer.max_epochs or 1)) if self._trainer is not None else 1
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        else:
            raise FerroscreenError(f"unknown scheduler '{hp.scheduler}' (cosine, step or none)")
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
