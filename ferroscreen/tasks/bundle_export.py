"""Turning a trained :class:`DeathModeClassifier` into a model bundle."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ferroscreen import __version__
from ferroscreen.analysis.classification import classification_report, confusion_matrix
from ferroscreen.crops import DetectorConfig
from ferroscreen.hashing import payload_content_sha256
from ferroscreen.models.bundle import save_bundle
from ferroscreen.provenance import created_now, environment
from ferroscreen.tasks.calibration import fit_temperature
from ferroscreen.tasks.death_mode import DeathModeClassifier

MAX_CHECK_CROPS = 4096


@torch.no_grad()
def validation_logits(model: DeathModeClassifier, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels of every validation batch (eval mode, CPU)."""
    net = model.net.eval()
    logits, labels = [], []
    for x, y in loader:
        logits.append(net(x.to(model.device)).cpu())
        labels.append(y)
    if not logits:
        return torch.zeros(0, len(model.classes)), torch.zeros(0, dtype=torch.long)
    return torch.cat(logits), torch.cat(labels)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> float:
    """ECE of top-class confidence over equal-width bins."""
    if len(labels) == 0:
        return 0.0
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)


def finalize_and_export(model: DeathModeClassifier, datamodule, out: str | Path | None, config: dict | str) -> dict:
    """Restore the best weights, fit the temperature, measure, and write the bundle.

    Called after ``Trainer.fit``: ``epochs_trained`` is the number of epochs that ran (Lightning's
    ``current_epoch`` then counts the completed epochs, so it is not advanced by one here).
    ``source_crop_px`` is the datamodule's (crop images' native side; left out when ``None``).
    ``environment`` is the software it was trained with (:func:`ferroscreen.provenance.environment`);
    ``content_sha256`` (only in a bundle written to ``out``) is
    :func:`ferroscreen.hashing.bundle_content_sha256` of it: the same for two bundles trained alike,
    whenever and wherever they were written (``created`` and ``environment`` are left out).

    Returns the bundle metadata (also when ``out`` is ``None``: nothing is written).
    """
    if model.best_state is not None:
        model.net.load_state_dict(model.best_state)
    logits, labels = validation_logits(model, datamodule.val_dataloader())
    temperature = fit_temperature(logits, labels) if len(labels) else 1.0
    model.net.temperature.fill_(temperature)
    n_classes = len(model.classes)
    preds = logits.argmax(1).numpy() if len(labels) else np.zeros(0, int)
    report = classification_report(confusion_matrix(labels.numpy(), preds, n_classes), model.classes)
    probs_raw = torch.softmax(logits, 1).numpy()
    probs_cal = torch.softmax(logits / temperature, 1).numpy()
    report["ece_uncalibrated"] = expected_calibration_error(probs_raw, labels.numpy())
    report["ece_calibrated"] = expected_calibration_error(probs_cal, labels.numpy())
    detector = datamodule.detector or asdict(DetectorConfig.preset("suspension"))
    hp = model.hparams
    meta = {
        "task": "death-mode",
        "classes": model.classes,
        "crop_size": int(datamodule.crop_size),
        "input_size": int(hp.input_size),
        "backbone": hp.backbone,
        "init": model.init,
        "normalization": datamodule.normalization,
        "detector": detector,
        "next_scan": int(getattr(datamodule, "next_scan", 0)),
        "temperature": float(temperature),
        "training_data": {**datamodule.summary(), "label_cleaning": getattr(model, "cleaning_report", None)},
        "validation": report,
        "hyperparameters": {k: v for k, v in dict(hp).items() if isinstance(v, (str, int, float, bool, type(None)))},
        "epochs_trained": int(model.current_epoch) if model._trainer is not None else 0,
        "ferroscreen_version": __version__,
        "environment": environment(),
        "created": created_now(),
        "config": config if isinstance(config, str) else str(config),
    }
    source = getattr(datamodule, "source_crop_px", None)
    if source is not None:
        meta["source_crop_px"] = int(source)
    if out is not None:
        graph, meta["int8"] = int8_graph(model, datamodule)
        if graph is not None:  # as save_bundle records it, so that the digest covers the meta written
            meta["int8"] = {**meta["int8"], "sha256": hashlib.sha256(graph).hexdigest()}
        state = {k: v.detach().cpu() for k, v in model.net.state_dict().items()}
        meta["content_sha256"] = payload_content_sha256(state, meta, graph)
        save_bundle(out, model.net, meta, graph)
    return meta


def int8_graph(model: DeathModeClassifier, datamodule, seed: int = 0) -> tuple[bytes | None, dict]:
    """The int8 graph for the bundle, calibrated on training crops and checked on validation crops.

    Both are seeded random subsets: at most :data:`MAX_CALIBRATION_CROPS` and
    :data:`MAX_CHECK_CROPS` (the check runs float32 and int8 on the CPU).

    Returns ``(None, {"skipped": reason})`` when ONNX Runtime is not installed, the network cannot be
    exported or quantised, or the temporary folder the quantiser writes to is full (``reason`` names it
    and ``TMPDIR``); the bundle then scores in float, and ``ferroscreen quantize`` adds the graph later.
    Nothing is warned: the caller says the reason (``train`` in one line).
    """
    from ferroscreen.models.int8 import MAX_CALIBRATION_CROPS, build_int8, runtime_available

    if not runtime_available():
        return None, {"skipped": "onnxruntime not installed"}
    sets = getattr(datamodule, "sets", None)
    if sets is None or len(sets.train_x) == 0:
        return None, {"skipped": "no training crops"}
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(sets.train_x), size=min(MAX_CALIBRATION_CROPS, len(sets.train_x)), replace=False)
    check = rng.choice(len(sets.val_x), size=min(MAX_CHECK_CROPS, len(sets.val_x)), replace=False)
    net = model.net.cpu().eval()
    try:
        graph, info = build_int8(net, int(datamodule.crop_size), np.asarray(sets.train_x[pick], np.float32),
                                 np.asarray(sets.val_x[np.sort(check)], np.float32) if len(check) else None)
    except OSError as exc:  # the quantiser's files go to the temporary folder: a small TMPDIR fills up
        tmp = tempfile.gettempdir()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return None, {"skipped": f"no room in the temporary folder {tmp} (TMPDIR): {os.strerror(exc.errno)}"}
        if exc.filename is not None and os.path.abspath(str(exc.filename)).startswith(os.path.join(tmp, "")):
            return None, {"skipped": f"the temporary folder {tmp} (TMPDIR): {exc.strerror or exc}"}
        return None, {"skipped": f"{type(exc).__name__}: {str(exc)[:150]}"}
    except Exception as exc:  # noqa: BLE001 - exporter/quantiser errors come in many types
        return None, {"skipped": f"{type(exc).__name__}: {str(exc)[:150]}"}
    info.update(calibration_source="training crops", calibration_seed=seed,
                check_source="validation crops" if len(check) else "training crops (no validation crops)")
    return graph, info
