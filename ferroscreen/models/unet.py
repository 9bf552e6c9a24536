"""A compact U-Net for dense prediction (plain ``nn.Module``, no Lightning).

The network maps an image ``(N, in_channels, H, W)`` to per-pixel logits
``(N, out_channels, H, W)`` of the same spatial size. ``H`` and ``W`` need not
be multiples of ``2**depth``: the input is padded by reflection to the next
multiple and the output cropped back, so any field size (e.g. 1104 x 1104)
can be predicted in one pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["UNet"]


class _DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by batch norm and ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """U-Net with max-pool encoder, bilinear-upsampling decoder and skip connections.

    Args:
        in_channels: Image channels (1 for a nuclear stain).
        out_channels: Output maps (logits); the nuclei task uses 3
            (foreground, boundary, normalised distance).
        widths: Feature channels per level, shallow to deep; its length minus
            one is the number of 2x down-samplings (the depth).

    The architecture (``in_channels``, ``out_channels``, ``widths``) is what a
    weights file must match; :meth:`config` returns it for saving beside the
    state dict.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        widths: tuple[int, ...] | list[int] = (16, 32, 64, 128, 128),
    ) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2:
            raise ValueError("UNet needs at least two levels (widths of length >= 2)")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.widths = widths
        self.down = nn.ModuleList()
        c_prev = self.in_channels
        for w in widths:
            self.down.append(_DoubleConv(c_prev, w))
            c_prev = w
        self.up = nn.ModuleList()
        for skip_w, w in zip(reversed(widths[:-1]), reversed(widths[:-1]), strict=True):
            self.up.append(_DoubleConv(c_prev + skip_w, w))
            c_prev = w
        self.head = nn.Conv2d(c_prev, self.out_channels, 1)

    @property
    def depth(self) -> int:
        """Number of 2x down-samplings."""
        return len(self.widths) - 1

    def config(self) -> dict:
        """Constructor arguments, enough to rebuild the module for a state dict."""
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "widths": list(self.widths),
        }

    def for_inference(self) -> UNet:
        """An eval-mode copy whose convolutions absorb their batch norms (same outputs, 5-15 % faster on CPU).

        Every ``Conv2d -> BatchNorm2d`` pair is folded into one convolution with
        a bias (the batch norm becomes an identity), so the copy is for
        prediction only: its state dict no longer fits :class:`UNet`. ``self``
        is not modified.
        """
        import copy

        from torch.nn.utils import fuse_conv_bn_eval

        net = copy.deepcopy(self).eval()
        for block in net.modules():
            if not isinstance(block, nn.Sequential):
                continue
            names = list(block._modules)
            for a, b in zip(names, names[1:], strict=False):
                conv, bn = block._modules[a], block._modules[b]
                if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                    block._modules[a] = fuse_conv_bn_eval(conv, bn)
                    block._modules[b] = nn.Identity()
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(N, out_channels, H, W)`` for ``x`` of shape ``(N, C, H, W)``."""
        h, w = x.shape[-2:]
        m = 2**self.depth
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            mode = "reflect" if min(h, w) > max(ph, pw) else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        x = self.head(x)
        return x[..., :h, :w]
