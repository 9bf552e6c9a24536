"""The death-mode classification network: a plain ``nn.Module`` (no Lightning).

Input: grey-level crops normalised per frame by
:func:`ferroscreen.crops.normalize_frame` (roughly in [0, 1]), shape
(B, 1, S, S) or (B, S, S); or next-scan crops (B, 2, S, S) (the cell, then
the same box one scan later) or (B, 3, S, S) (and two scans later). The
network resizes them to ``input_size``, maps them to RGB (grey: replicated;
one next scan: R = B = this scan, G = the next; two: R, G, B = this scan and
the next two, so ImageNet's colour-opponent filters see the change), applies
ImageNet mean/std (channels-last
memory layout, much faster for depthwise convolutions on CPU), runs the
backbone and a dropout + linear head, and returns logits (B, n_classes).
Integer crops (raw uint8/uint16 pixels) and channel counts other than the
network's (:attr:`DeathModeNet.channels`, when known) are refused with a
``ValueError``: they would give confident nonsense, not an error.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ferroscreen.models.backbones import build_backbone, last_block, stem_layers

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Values of :meth:`DeathModeNet.set_frozen`.
FREEZE_MODES = ("none", "stem", "backbone", "all_but_last")


class DeathModeNet(nn.Module):
    """Backbone + head classifying cell crops into death modes.

    Args:
        backbone: A name from :data:`ferroscreen.models.backbones.BACKBONES`.
        n_classes: Number of output classes.
        weights: ``"imagenet"``, ``"none"`` or a path (see :func:`build_backbone`).
        input_size: Side length the crops are resized to before the backbone.
        dropout: Dropout before the linear head.
        channels: Crop channels it is trained for (1 + the later scans it reads;
            a loaded bundle's :attr:`~ferroscreen.models.bundle.Bundle.channels`), or
            ``None``: any of 1-3 is accepted (the input mapping above).
    """

    def __init__(
        self,
        backbone: str = "mobilenet_v2",
        n_classes: int = 4,
        weights: str | Path | None = "none",
        input_size: int = 96,
        dropout: float = 0.2,
        channels: int | None = None,
    ) -> None:
        super().__init__()
        if channels is not None and channels not in (1, 2, 3):
            raise ValueError(f"DeathModeNet reads 1-3 crop channels, got channels={channels}")
        self.backbone_name = backbone
        self.input_size = int(input_size)
        self.channels = channels
        self.features, n_features, self.init = build_backbone(backbone, weights)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_features, n_classes))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.register_buffer("temperature", torch.ones(()))
        # NHWC: oneDNN's depthwise convolutions (MobileNets, EfficientNet) are ~9x faster on CPU
        self.to(memory_format=torch.channels_last)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Crops (B, S, S) or (B, C, S, S), C = 1..3 -> normalised RGB (B, 3, input_size, input_size).

        Raises:
            TypeError: For crops that are not a tensor (a numpy array: ``torch.from_numpy``).
            ValueError: For integer (or bool) crops: crops are float, roughly in [0, 1], as the crop
                extraction / a bundle's normalisation gives them; for another shape, or a channel
                count other than :attr:`channels` (when set). O(1): shape and dtype only.
        """
        self._check_crops(x)
        if x.ndim == 3:
            x = x.unsqueeze(1)
        x = x.float()
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        if x.shape[1] == 2:
            x = torch.cat([x[:, :1], x[:, 1:2], x[:, :1]], 1)
        elif x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last)

    def _check_crops(self, x: torch.Tensor) -> None:
        """Raise unless ``x`` is a float tensor of crops (B, S, S) or (B, C, S, S) with the channels it reads."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"crops must be a torch.Tensor, got {type(x).__name__} "
                            "(torch.from_numpy(crops) for an array)")
        if not x.is_floating_point():
            raise ValueError(f"crops must be float in [0, 1], as normalised by the crop extraction or the bundle's "
                             f"normalisation (CropNormalization), got {x.dtype}; do not feed raw pixel values")
        if x.ndim not in (3, 4):
            raise ValueError(f"crops must be (B, S, S) or (B, C, S, S), got shape {tuple(x.shape)}")
        given = 1 if x.ndim == 3 else x.shape[1]
        trained = getattr(self, "channels", None)  # None also for a network pickled before it was recorded
        expected = trained if trained is not None else given
        if given != expected or given not in (1, 2, 3):
            want = f"{expected}" if trained is not None else "1-3"
            raise ValueError(f"this network reads {want} crop channel(s) (the cell, then its box in the next scans), "
                             f"got {given} (crops of shape {tuple(x.shape)})")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes), before temperature scaling."""
        return self.head(self.features(self.prepare(x)))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Calibrated class probabilities: softmax(logits / temperature), float32 even under autocast."""
        return torch.softmax(self.forward(x).float() / self.temperature, dim=1)

    def for_inference(self) -> DeathModeNet:
        """An eval-mode copy whose convolutions absorb their batch norms (same outputs, faster).

        The backbone is traced with ``torch.fx`` and every conv -> batch-norm
        pair is folded into one convolution (about 1.5x the crops/s of
        MobileNetV2 on CPU). A backbone that cannot be traced is kept as it is.
        ``self`` is not modified.
        """
        import copy
        import warnings

        from torch.fx.experimental.optimization import fuse

        net = copy.deepcopy(self).eval()
        try:
            net.features = fuse(net.features)
        except Exception as exc:  # noqa: BLE001 - untraceable backbone: unfused is still correct
            warnings.warn(f"{self.backbone_name}: batch norms not folded ({type(exc).__name__}); scoring unfused",
                          stacklevel=2)
        return net.to(memory_format=torch.channels_last)

    def set_frozen(self, freeze: str) -> None:
        """Freeze backbone parameters: ``"none"``, ``"stem"``, ``"backbone"`` or ``"all_but_last"``.

        ``"stem"`` freezes only the low-level layers up to stride 4
        (:func:`~ferroscreen.models.backbones.stem_layers`): generic edge and
        blob filters, and at small inputs the costliest layers to train.
        Frozen blocks also keep their batch-norm layers in eval mode (ImageNet
        running statistics) while the rest trains: the usual transfer-learning
        set-up, and much cheaper on CPU.

        Raises:
            ValueError: For another value.
        """
        if freeze not in FREEZE_MODES:
            raise ValueError(f"unknown freeze '{freeze}' ({', '.join(FREEZE_MODES)})")
        for p in self.features.parameters():
            p.requires_grad = freeze in ("none", "stem")
        if freeze == "all_but_last":
            for p in last_block(self.features, self.backbone_name).parameters():
                p.requires_grad = True
        if freeze == "stem":
            for layer in stem_layers(self.features, self.backbone_name):
                for p in layer.parameters():
                    p.requires_grad = False
        self.train(self.training)

    def train(self, mode: bool = True) -> DeathModeNet:
        """Set train/eval mode; batch-norm layers whose parameters are all frozen stay in eval mode."""
        super().train(mode)
        if mode:
            for m in self.features.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(
                    p.requires_grad for p in m.parameters()
                ):
                    m.eval()
        return self
