"""Inference precision: full float32 or bfloat16 autocast where the hardware runs it natively.

bfloat16 autocast keeps float32 weights and runs convolutions and matrix
products in bfloat16. Where the processor has native bfloat16 arithmetic (CPUs
with AVX512-BF16 or AMX, recent NVIDIA GPUs) it is 2-2.5x faster for the
networks used here, and class probabilities move by ~0.002 on average (argmax
unchanged for > 99% of crops). Without native support it is emulated and slower,
so ``auto`` only picks it where it is native.
"""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("auto", "32", "bf16")


def native_bf16(accelerator: str) -> bool:
    """Whether ``accelerator`` (``cpu``, ``gpu``/``cuda``, ``auto``) runs bfloat16 natively."""
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(requested: str, accelerator: str) -> str:
    """``"32"`` or ``"bf16"`` for a requested precision (one of :data:`PRECISIONS`).

    Raises:
        ValueError: ``requested`` is not one of :data:`PRECISIONS`.
    """
    requested = str(requested)
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not '{requested}'")
    if requested == "auto":
        return "bf16" if native_bf16(accelerator) else "32"
    return requested


def lightning_precision(precision: str) -> str:
    """The Lightning ``Trainer(precision=...)`` value for a resolved precision."""
    return "bf16-mixed" if precision == "bf16" else "32-true"


def autocast(precision: str, device_type: str = "cpu"):
    """A context running the forward pass at ``precision`` (a no-op for ``"32"``)."""
    if precision == "bf16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
