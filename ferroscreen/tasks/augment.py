"""Batch augmentations for grey-level microscopy crops (torch tensors, B×C×S×S; C = 1, or 1 + k with k later scans).

Geometric: flips and 90° rotations (cells have no preferred orientation).
Photometric: brightness/contrast/gamma jitter, Gaussian blur as defocus, and
additive Gaussian noise; every channel of a crop gets the same transform.
Next-scan crops (C = 1 + k) also lose later scans: with probability
``next_scan_dropout`` each, a crop keeps only j = 0 .. k - 1 of them (the
channels after scan j set to the augmented channel j: what a plate's last
scans look like to a next-scan model; k = 1: the next scan is gone with
probability ``next_scan_dropout``).
All draws come from the ``generator`` passed in, so a seeded run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    """Strengths of each augmentation (0 disables it)."""

    flips: bool = True
    rot90: bool = True
    brightness: float = 0.08
    contrast: float = 0.15
    gamma: float = 0.15
    blur_prob: float = 0.25
    blur_sigma: float = 1.2
    noise_std: float = 0.03
    next_scan_dropout: float = 0.15


def _gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    radius = max(1, int(round(2.5 * sigma)))
    x = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def augment_batch(x: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return an augmented copy of ``x`` (B, C, S, S); values stay float32."""
    b = x.shape[0]
    dev = x.device

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator).to(dev)

    x = x.float().clone()
    if cfg.flips:
        flip_h = rand(b) < 0.5
        x[flip_h] = x[flip_h].flip(-1)
    if cfg.rot90:
        k = (rand(b) * 4).long()
        for r in range(1, 4):
            sel = k == r
            if sel.any():
                x[sel] = torch.rot90(x[sel], r, dims=(-2, -1))
    if cfg.blur_prob > 0:
        sel = rand(b) < cfg.blur_prob
        if sel.any():
            sigma = float(0.5 + rand(1).item() * (cfg.blur_sigma - 0.5))
            k = _gaussian_kernel(sigma, dev)
            pad = k.numel() // 2
            xs = x[sel]
            flat = F.pad(xs.reshape(-1, 1, *xs.shape[-2:]), (pad, pad, pad, pad), mode="reflect")
            flat = F.conv2d(flat, k.view(1, 1, 1, -1))
            flat = F.conv2d(flat, k.view(1, 1, -1, 1))
            x[sel] = flat.reshape(xs.shape)
    shape = (b, 1, 1, 1)
    if cfg.gamma > 0:
        g = torch.exp((rand(*shape) * 2 - 1) * cfg.gamma)
        lo = x.amin(dim=(-2, -1), keepdim=True)
        hi = x.amax(dim=(-2, -1), keepdim=True)
        span = (hi - lo).clamp_min(1e-6)
        x = lo + span * ((x - lo) / span).clamp(0, 1) ** g
    if cfg.contrast > 0:
        c = 1 + (rand(*shape) * 2 - 1) * cfg.contrast
        m = x.mean(dim=(-2, -1), keepdim=True)
        x = m + (x - m) * c
    if cfg.brightness > 0:
        x = x + (rand(*shape) * 2 - 1) * cfg.brightness
    if cfg.noise_std > 0:
        noise = torch.randn(x.shape, generator=generator).to(dev)
        x = x + noise * cfg.noise_std * rand(*shape)
    if x.shape[1] >= 2 and cfg.next_scan_dropout > 0:  # last, so a dropped later scan is an exact copy
        r = rand(b)
        p = cfg.next_scan_dropout
        for kept in range(x.shape[1] - 1):
            gone = (r >= kept * p) & (r < (kept + 1) * p)
            x[gone, kept + 1:] = x[gone, kept: kept + 1]
    return x
