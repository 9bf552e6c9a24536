"""``train`` with a full temporary folder: one line naming it (and TMPDIR) and how to add the int8 graph later.

The reported case: ``no int8 graph (OSError: [Errno 28] No space left on device): CPU scoring runs in
float`` after a raw ``UserWarning`` (file and line) from ``bundle_export``, neither naming the folder.
"""

from __future__ import annotations

import errno
import os
import tempfile
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ferroscreen.models import int8
from ferroscreen.tasks.bundle_export import int8_graph


def _skipped(monkeypatch, tmp_path, exc: BaseException) -> str:
    """``meta["int8"]["skipped"]`` of :func:`int8_graph` when building the graph raises ``exc`` (TMPDIR: ``tmp_path``)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(int8, "runtime_available", lambda: True)

    def build(*args, **kwargs):
        raise exc

    monkeypatch.setattr(int8, "build_int8", build)
    crops = np.zeros((4, 1, 8, 8), np.float32)
    datamodule = SimpleNamespace(sets=SimpleNamespace(train_x=crops, val_x=crops), crop_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw warning: the reason is said once, by the caller
        graph, info = int8_graph(SimpleNamespace(net=torch.nn.Linear(2, 2)), datamodule)
    assert graph is None and set(info) == {"skipped"}
    return info["skipped"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_temporary_folder_is_named_with_tmpdir(monkeypatch, tmp_path, code):
    exc = OSError(code, os.strerror(code))  # as the quantiser's write raised it: no file named
    reason = _skipped(monkeypatch, tmp_path, exc)
    assert reason == f"no room in the temporary folder {tmp_path} (TMPDIR): {os.strerror(code)}"


def test_another_error_in_the_temporary_folder_names_it(monkeypatch, tmp_path):
    exc = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "ferroscreen-int8-x" / "f32.onnx"))
    assert _skipped(monkeypatch, tmp_path, exc) == f"the temporary folder {tmp_path} (TMPDIR): Permission denied"


def test_an_exporter_error_is_its_type_and_message(monkeypatch, tmp_path):
    assert _skipped(monkeypatch, tmp_path, RuntimeError("unsupported operator")) == "RuntimeError: unsupported operator"
