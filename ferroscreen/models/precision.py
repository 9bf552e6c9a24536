"""Inference precision: float32, bfloat16 autocast where the hardware runs it natively, or int8.

bfloat16 autocast keeps float32 weights and runs convolutions and matrix
products in bfloat16. Where the processor has native bfloat16 arithmetic (CPUs
with AVX512-BF16 or AMX, recent NVIDIA GPUs) it is 2-2.5x faster for the
networks used here, and class probabilities move by ~0.002 on average (argmax
unchanged for > 99% of crops). Without native support it is emulated and slower,
so ``auto`` only picks it where it is native.

``int8`` runs the bundle's statically quantised graph with ONNX Runtime on CPU
(:mod:`ferroscreen.models.int8`): ~2.5x the crops/s of bfloat16 for MobileNetV2
at 64 px, top class unchanged for ~99 % of crops. ``auto`` picks it on CPU
when the bundle carries an int8 graph and ONNX Runtime is installed.
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("auto", "32", "bf16", "int8")


def native_bf16(accelerator: str) -> bool:
    """Whether ``accelerator`` (``cpu``, ``gpu``/``cuda``, ``auto``) runs bfloat16 natively."""
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def on_cpu(accelerator: str) -> bool:
    """Whether ``accelerator`` runs on the CPU (``auto`` does when no GPU is visible)."""
    return accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())


def resolve_precision(requested: str, accelerator: str, int8_available: bool = False) -> str:
    """``"32"``, ``"bf16"`` or ``"int8"`` for a requested precision (one of :data:`PRECISIONS`).

    Args:
        requested: One of :data:`PRECISIONS`.
        accelerator: ``cpu``, ``gpu``/``cuda`` or ``auto``.
        int8_available: The bundle has an int8 graph and ONNX Runtime imports.

    Raises:
        ValueError: ``requested`` is not one of :data:`PRECISIONS`, or is
            ``int8`` where it cannot run (off the CPU, or no int8 graph).
    """
    requested = str(requested)
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not '{requested}'")
    if requested == "int8":
        if not on_cpu(accelerator):
            raise ValueError("int8 runs on the CPU only; use --precision bf16 or 32 on a GPU")
        if not int8_available:
            raise ValueError("int8 needs a bundle with an int8 graph (`ferroscreen quantize`) and onnxruntime")
    if requested == "auto":
        if int8_available and on_cpu(accelerator):
            return "int8"
        return "bf16" if native_bf16(accelerator) else "32"
    return requested


def emulated_bf16_note(requested: str, accelerator: str) -> str | None:
    """A note when bfloat16 was asked for by name where the hardware only emulates it (slower than 32)."""
    if str(requested) != "bf16" or native_bf16(accelerator):
        return None
    where = "this CPU" if on_cpu(accelerator) else "this GPU"
    return (f"{where} has no native bfloat16 arithmetic: bf16 is emulated there and runs slower than "
            f"--precision 32 (auto picks the faster)")


def lightning_precision(precision: str) -> str:
    """The Lightning ``Trainer(precision=...)`` value for a resolved precision (int8 runs outside torch)."""
    return "bf16-mixed" if precision == "bf16" else "32-true"


def autocast(precision: str, device_type: str = "cpu"):
    """A context running a torch forward pass at ``precision`` (a no-op for ``"32"`` and ``"int8"``)."""
    if precision == "bf16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
