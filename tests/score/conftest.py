"""Fixtures for the scoring tests: a tiny simulated plate and a tiny untrained bundle."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ..cli_process import run_command

CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]


def make_bundle(path: Path, classes=CLASSES, seed: int = 0, confusion=None, normalization=None,
                next_scan: bool | int = False, training_data: dict | None = None) -> Path:
    """A tiny untrained bundle (random resnet18 at 32 px); ``normalization`` meta as given (default: none)."""
    from ferroscreen.models.bundle import save_bundle
    from ferroscreen.models.death_mode_net import DeathModeNet

    torch.manual_seed(seed)
    net = DeathModeNet("resnet18", len(classes), "none", input_size=32)  # random mobilenets output constants
    k = len(classes)
    if confusion is None:
        confusion = (np.eye(k) * 90 + 10 / k).round().astype(int).tolist()
    meta = {
        "classes": list(classes),
        "crop_size": 24,
        "input_size": 32,
        "backbone": "resnet18",
        "detector": {"preset": "suspension"},
        "temperature": 1.0,
        "validation": {"confusion": confusion},
    }
    if normalization is not None:
        meta["normalization"] = normalization
    if next_scan:
        meta["next_scan"] = next_scan  # true: as bundles written before two later scans were possible
    if training_data is not None:
        meta["training_data"] = training_data
    return save_bundle(path, net, meta)


def simulate(out: Path, wells: str = "A01,A02,B01,B02", hours: float = 8, fields: int = 1, size: int = 128,
             seed: int = 1) -> Path:
    proc = run_command(
        [sys.executable, "-m", "ferroscreen.cli", "simulate", str(out), "--fields", str(fields), "--hours",
         str(hours), "--interval-h", "4", "--image-size", str(size), str(size), "--wells", wells, "--seed",
         str(seed), "--workers", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="session")
def plate_dir(tmp_path_factory) -> Path:
    """A 4-well, 1-field, 3-timepoint, 128 px simulated plate (read-only: copy before changing)."""
    return simulate(tmp_path_factory.mktemp("plate") / "plate")


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle") / "tiny.pt")


@pytest.fixture()
def plate_copy(plate_dir, tmp_path) -> Path:
    dst = tmp_path / "plate"
    shutil.copytree(plate_dir, dst)
    return dst


def copy_later(pairs: list[tuple[Path, Path]], delay_s: float = 2.0) -> threading.Thread:
    """A started thread that, after ``delay_s``, copies each ``(source, destination)`` as transfer tools do.

    Each file is written under a temporary name beside its destination and renamed into place.
    """
    def copy() -> None:
        time.sleep(delay_s)
        for src, dst in pairs:
            tmp = dst.with_name("~" + dst.name)
            shutil.copy(src, tmp)
            tmp.replace(dst)

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread
