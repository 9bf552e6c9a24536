"""Inference precision choice: resolution rules and bf16 outputs close to float32."""

from __future__ import annotations

import pytest
import torch

from ferroscreen.models.death_mode_net import DeathModeNet
from ferroscreen.models.precision import autocast, lightning_precision, native_bf16, resolve_precision


def test_resolution_rules():
    assert resolve_precision("32", "cpu") == "32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu") == ("bf16" if native_bf16("cpu") else "32")
    assert lightning_precision("bf16") == "bf16-mixed" and lightning_precision("32") == "32-true"
    with pytest.raises(ValueError, match="auto, 32, bf16, int8"):
        resolve_precision("fp16", "cpu")


def test_int8_resolution_rules():
    assert resolve_precision("auto", "cpu", int8_available=True) == "int8"
    assert resolve_precision("int8", "cpu", int8_available=True) == "int8"
    assert resolve_precision("32", "cpu", int8_available=True) == "32"
    assert resolve_precision("auto", "gpu", int8_available=True) in ("bf16", "32")  # int8 is CPU-only
    assert lightning_precision("int8") == "32-true"
    with pytest.raises(ValueError, match="CPU only"):
        resolve_precision("int8", "gpu", int8_available=True)
    with pytest.raises(ValueError, match="int8 graph"):
        resolve_precision("int8", "cpu", int8_available=False)


def test_bf16_probabilities_are_float32_normalised_and_close():
    torch.manual_seed(0)
    net = DeathModeNet("mobilenet_v2", 4, "none", input_size=32).for_inference()
    x = torch.rand(16, 1, 24, 24)
    with torch.inference_mode():
        p32 = net.predict_proba(x)
        with autocast("bf16"):
            p16 = net.predict_proba(x)
    assert p16.dtype == torch.float32
    torch.testing.assert_close(p16.sum(1), torch.ones(16))
    assert (p16 - p32).abs().max() < 0.05


def test_bf16_asked_for_where_it_is_emulated_is_said(monkeypatch):
    from ferroscreen.models import precision

    monkeypatch.setattr(precision, "native_bf16", lambda accelerator: False)
    note = precision.emulated_bf16_note("bf16", "cpu")
    assert note.startswith("this CPU has no native bfloat16 arithmetic") and "--precision 32" in note
    assert precision.emulated_bf16_note("auto", "cpu") is None and precision.emulated_bf16_note("32", "cpu") is None
    monkeypatch.setattr(precision, "native_bf16", lambda accelerator: True)
    assert precision.emulated_bf16_note("bf16", "cpu") is None
