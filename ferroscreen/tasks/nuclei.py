"""``NucleiSegmenter``: trains a :class:`~ferroscreen.models.unet.UNet` for nuclei instances.

The network predicts three logit maps: foreground, boundary (inner rim) and
normalised distance to the nucleus edge (targets from
:func:`ferroscreen.segment.targets.make_targets`). The loss is

    BCE(foreground) + dice_weight * soft-Dice(foreground)
    + boundary_weight * BCE(boundary) + distance_weight * BCE(distance | foreground)

where the distance term is averaged over foreground pixels only. When the
targets carry a fourth channel (per-pixel weights, see
:func:`ferroscreen.segment.targets.small_object_weights`), the foreground and
boundary BCE terms are weighted means under it. Validation
turns whole images into label images with the seeded watershed of
:mod:`ferroscreen.segment.postprocess` and logs instance F1 at IoU 0.5 and 0.9
(pooled over the validation images).
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ferroscreen.analysis.matching import match_counts
from ferroscreen.models.checkpoints import load_lightning_checkpoint
from ferroscreen.models.unet import UNet
from ferroscreen.segment.postprocess import PostprocessParams, instances_from_maps

__all__ = ["NucleiSegmenter"]


def _initial_state(source: str) -> dict:
    """U-Net state dict from a registered name, model file or Lightning checkpoint."""
    if str(source).endswith(".ckpt"):
        blob = load_lightning_checkpoint(source)
        return {k[4:]: v for k, v in blob["state_dict"].items() if k.startswith("net.")}
    import ferroscreen.models.pretrained  # noqa: F401  (registers shipped models)
    from ferroscreen.models.registry import resolve_model
    from ferroscreen.segment.model_file import load_model_file

    net, _ = load_model_file(resolve_model(source, task="nuclei-segmentation"))
    return net.state_dict()


def _weighted_bce(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Mean BCE, or its ``weight``-weighted mean (same shape as ``target``)."""
    if weight is None:
        return F.binary_cross_entropy_with_logits(logits, target)
    px = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (px * weight).sum() / weight.sum().clamp_min(1e-6)


class NucleiSegmenter(pl.LightningModule):
    """LightningModule around a U-Net with three output maps.

    Args:
        widths: U-Net feature widths per level (see :class:`UNet`).
        lr: AdamW learning rate (cosine-annealed to 1 % over ``max_steps``
            when ``max_steps`` > 0).
        weight_decay: AdamW weight decay.
        dice_weight: Weight of the soft-Dice foreground term.
        boundary_weight: Weight of the boundary BCE term.
        distance_weight: Weight of the distance BCE term.
        max_steps: Length of the cosine schedule (0 = constant rate).
        postprocess: Keyword arguments of :class:`PostprocessParams` used in validation.
        init_weights: Start from these U-Net weights (fine-tuning): a registered
            model name (e.g. ``nuclei-aits``), a model file, or a
            ``NucleiSegmenter`` checkpoint; the architecture must match ``widths``.
    """

    def __init__(
        self,
        widths: list[int] | None = None,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        dice_weight: float = 1.0,
        boundary_weight: float = 1.0,
        distance_weight: float = 1.0,
        max_steps: int = 0,
        postprocess: dict | None = None,
        init_weights: str | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = UNet(1, 3, tuple(widths or (8, 16, 32, 64, 128)))
        if init_weights:
            self.net.load_state_dict(_initial_state(init_weights))
        self.pp = PostprocessParams(**(postprocess or {}))
        self._val_counts: list[dict] = []
        self.nucleus_diameter_px: float | None = None

    def on_fit_start(self) -> None:
        """Take the training nuclei's median diameter from the datamodule (checkpoints keep it)."""
        d = getattr(getattr(self.trainer, "datamodule", None), "nucleus_diameter_px", None)
        if d:
            self.nucleus_diameter_px = float(d)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Record ``nucleus_diameter_px`` (``export_checkpoint`` puts it in the model file)."""
        if self.nucleus_diameter_px:
            checkpoint["nucleus_diameter_px"] = float(self.nucleus_diameter_px)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Restore ``nucleus_diameter_px``."""
        self.nucleus_diameter_px = checkpoint.get("nucleus_diameter_px")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, 3, H, W)``."""
        return self.net(x)

    def compute_loss(self, logits: torch.Tensor, target: torch.Tensor) -> dict:
        """Loss terms (dict with ``loss`` and its parts) for logits ``(N, 3, H, W)`` and targets ``(N, 3|4, H, W)``."""
        hp = self.hparams
        fg_t, bd_t, dist_t = target[:, 0], target[:, 1], target[:, 2]
        fg_l, bd_l, dist_l = logits[:, 0], logits[:, 1], logits[:, 2]
        weight = target[:, 3] if target.shape[1] > 3 else None
        bce_fg = _weighted_bce(fg_l, fg_t, weight)
        prob = torch.sigmoid(fg_l)
        inter = (prob * fg_t).sum()
        dice = 1 - (2 * inter + 1) / (prob.sum() + fg_t.sum() + 1)
        bce_bd = _weighted_bce(bd_l, bd_t, weight)
        dist_px = F.binary_cross_entropy_with_logits(dist_l, dist_t, reduction="none")
        bce_dist = (dist_px * fg_t).sum() / fg_t.sum().clamp_min(1.0)
        loss = bce_fg + hp.dice_weight * dice + hp.boundary_weight * bce_bd
        loss = loss + hp.distance_weight * bce_dist
        return {"loss": loss, "bce_fg": bce_fg, "dice": dice, "bce_bd": bce_bd, "dist": bce_dist}

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        """One optimisation step on a batch of crops."""
        parts = self.compute_loss(self(batch["image"]), batch["target"])
        self.log_dict({f"train/{k}": v for k, v in parts.items()}, prog_bar=False, batch_size=batch["image"].shape[0])
        self.log("train_loss", parts["loss"], prog_bar=True, batch_size=batch["image"].shape[0])
        return parts["loss"]

    def on_validation_epoch_start(self) -> None:
        """Reset the pooled matching counts."""
        self._val_counts = []

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Loss and instance matching counts on one whole image."""
        logits = self(batch["image"])
        parts = self.compute_loss(logits, batch["target"])
        self.log("val_loss", parts["loss"], prog_bar=True, batch_size=1)
        prob = torch.sigmoid(logits[0]).float().cpu().numpy()
        pred = instances_from_maps(prob[0], prob[1], prob[2], self.pp)
        true = batch["labels"][0].cpu().numpy()
        self._val_counts.extend(match_counts(true, pred, thresholds=(0.5, 0.9)))

    def on_validation_epoch_end(self) -> None:
        """Log pooled F1 at IoU 0.5 and 0.9."""
        for t in (0.5, 0.9):
            rows = [r for r in self._val_counts if r["thresh"] == t]
            tp = sum(r["tp"] for r in rows)
            fp = sum(r["fp"] for r in rows)
            fn = sum(r["fn"] for r in rows)
            f1 = 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 0.0
            self.log(f"val_f1_{int(round(t * 100)):02d}", float(f1), prog_bar=True)

    def configure_optimizers(self):
        """AdamW with an optional cosine schedule over ``max_steps``."""
        opt = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        if self.hparams.max_steps and self.hparams.max_steps > 0:
            total = int(self.hparams.max_steps)
            warm = max(1, min(100, total // 20))

            def factor(step: int) -> float:
                if step < warm:
                    return (step + 1) / warm
                frac = min(1.0, (step - warm) / max(1, total - warm))
                return float(0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * frac)))

            sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        return opt
