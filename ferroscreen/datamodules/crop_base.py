"""Shared machinery of the crop-classification datamodules.

A subclass implements :meth:`CropDataModule.build_sets`, returning labelled
train/validation crops; this base turns them into tensors (float16 in memory,
(N, C, S, S): C = 1, or 2 for next-scan crops), seeded DataLoaders (optionally a class-balanced sampler) and the
training-data summary stored in the model bundle.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

from ferroscreen.crops import CropNormalization, contrast_levels
from ferroscreen.errors import FerroscreenError
from ferroscreen.io import load_image


@dataclass
class CropSets:
    """Labelled crops split into train and validation.

    Attributes:
        train_x, val_x: float arrays (N, S, S), normalised per frame, or
            (N, 2, S, S) with each cell's next scan as the second channel.
        train_y, val_y: int class indices.
        summary: JSON-ready description (sources, groups per split, counts).
        detector: The detector settings used (dict) or ``None`` (pre-cut crops).
        normalization: How the crops were normalised
            (:meth:`ferroscreen.crops.CropNormalization.to_meta`).
        source_crop_px: Crop images only: the native side (px) the crops were cut at before
            being resized to the crop size (the median of the images'); ``None``: cut from
            frames at the crop size.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    summary: dict = field(default_factory=dict)
    detector: dict | None = None
    normalization: dict | None = None
    source_crop_px: int | None = None


def resolve_normalization(spec: str | dict | None, frames: Callable[[], Iterable[np.ndarray]]) -> CropNormalization:
    """The crop normalisation a datamodule's ``normalization`` argument asks for.

    ``spec`` is ``None`` or ``"background"`` (background-relative, levels
    ``auto``), ``"percentile"`` (0.5 / 99.5), or a dict ``{method, low, high}``.
    ``auto`` levels of the background method are the medians, over the frames
    ``frames()`` yields (raw, e.g. a seeded sample of the training frames), of
    each frame's 0.5 / 99.5 percentiles relative to its background, so typical
    cells span the [0, 1] range whatever the imaging contrast.

    Raises:
        FerroscreenError: A malformed spec, or ``auto`` levels with no usable frame.
    """
    d = {"method": spec} if spec is None or isinstance(spec, str) else dict(spec)
    method = d.get("method") or "background"
    try:
        if method == "percentile":
            return CropNormalization.percentile(float(d.get("low", 0.5)), float(d.get("high", 99.5)))
        low, high = d.get("low", "auto"), d.get("high", "auto")
        if low == "auto" or high == "auto":
            levels = []
            for img in frames():
                try:
                    levels.append(contrast_levels(img))
                except ValueError:
                    continue
            if not levels:
                raise FerroscreenError("normalization: no frame with a positive background to set 'auto' levels from")
            lv = np.median(np.asarray(levels), axis=0)
            low = round(float(lv[0]), 4) if low == "auto" else low
            high = round(float(lv[1]), 4) if high == "auto" else high
        return CropNormalization(str(method), float(low), float(high))
    except (TypeError, ValueError) as exc:
        raise FerroscreenError(f"normalization {spec!r}: {exc}") from None


def frame_sample(paths: list[str], seed: int, n: int = 64) -> Callable[[], Iterator[np.ndarray]]:
    """A seeded sample of up to ``n`` of ``paths``, loaded lazily (for ``auto`` normalisation levels)."""

    def frames() -> Iterator[np.ndarray]:
        rng = np.random.default_rng(seed)
        for k in np.sort(rng.choice(len(paths), min(n, len(paths)), replace=False)):
            yield load_image(paths[int(k)])

    return frames


def split_groups(groups_by_class: dict[int, list[str]], val_fraction: float, seed: int) -> set[str]:
    """Choose validation groups (wells, images) per class, seeded.

    Each class with at least two groups gives ``ceil(val_fraction × n)`` of
    them (at least one) to validation, so no group feeds both splits. Groups
    holding several classes (annotated images) are shared between classes; a
    class left without any training group gets one back.
    """
    rng = np.random.default_rng(seed)
    val: set[str] = set()
    for cls in sorted(groups_by_class):
        groups = sorted(set(groups_by_class[cls]))
        if len(groups) < 2 or val_fraction <= 0:
            continue
        n_val = min(len(groups) - 1, max(1, int(np.ceil(val_fraction * len(groups)))))
        n_val -= len(val.intersection(groups))
        free = [g for g in groups if g not in val]
        if n_val > 0 and len(free) > 1:
            val.update(rng.permutation(free)[: min(n_val, len(free) - 1)].tolist())
    for cls in sorted(groups_by_class):
        groups = sorted(set(groups_by_class[cls]))
        if len(groups) and all(g in val for g in groups):
            val.discard(groups[0])
    return val


class CropDataModule(pl.LightningDataModule):
    """Base datamodule over in-memory labelled crops.

    Args:
        classes: Class names; label indices follow this order.
        crop_size: Crop side length in pixels.
        batch_size: Batch size of both loaders.
        num_workers: DataLoader workers (crops are in memory; 0 is usually fastest).
        balanced_sampler: Draw training batches class-balanced (with replacement).
        val_fraction: Share of groups (wells/images) held out for validation.
        seed: Seed of the split, the shuffling and the sampler.
    """

    #: How many later scans each crop carries as extra channels (0: none; set by datamodules that can).
    next_scan: int = 0

    def __init__(
        self,
        classes: list[str],
        crop_size: int = 48,
        batch_size: int = 128,
        num_workers: int = 0,
        balanced_sampler: bool = False,
        val_fraction: float = 0.25,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.classes = [unicodedata.normalize("NFC", str(c)) for c in classes]  # as folder names are compared
        if len(set(self.classes)) < 2 or len(set(self.classes)) < len(self.classes):
            raise FerroscreenError(f"classes {self.classes}: a classifier needs two or more different classes")
        for name, value in (("crop_size", crop_size), ("batch_size", batch_size)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise FerroscreenError(f"data.{name} {value}: expected a whole number of 1 or more")
        if not 0 <= float(val_fraction) < 1:
            raise FerroscreenError(f"data.val_fraction {val_fraction}: expected a share from 0 up to (not including) 1")
        if isinstance(num_workers, bool) or int(num_workers) != num_workers or num_workers < 0:
            raise FerroscreenError(f"data.num_workers {num_workers}: expected a whole number of 0 or more")
        self.crop_size = int(crop_size)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.balanced_sampler = balanced_sampler
        self.val_fraction = float(val_fraction)
        self.seed = int(seed)
        self.sets: CropSets | None = None
        self.train_set: TensorDataset | None = None
        self.val_set: TensorDataset | None = None

    def build_sets(self) -> CropSets:
        """Return the labelled crops (implemented by subclasses)."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        """Build the crop sets once (idempotent)."""
        if self.sets is not None:
            return
        sets = self.build_sets()
        if len(sets.train_y) == 0:
            raise FerroscreenError("no training crops found: check the classes, layout roles and onset window")
        self.sets = sets

        def tensors(x: np.ndarray, y: np.ndarray, index: bool) -> TensorDataset:
            xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float16))
            xt = xt.unsqueeze(1) if xt.ndim == 3 else xt
            # labels are copied: label cleaning edits the training tensor, never ``self.sets``
            yt = torch.tensor(np.asarray(y, dtype=np.int64))
            return TensorDataset(xt, yt, torch.arange(len(yt))) if index else TensorDataset(xt, yt)

        # training items carry their index (running label cleaning tracks each item's predictions)
        self.train_set = tensors(sets.train_x, sets.train_y, index=True)
        self.val_set = tensors(sets.val_x, sets.val_y, index=False)

    @property
    def class_counts(self) -> np.ndarray:
        """Training crops per class (after :meth:`setup`)."""
        if self.sets is None:
            self.setup()
        return np.bincount(self.sets.train_y, minlength=len(self.classes))

    @property
    def detector(self) -> dict | None:
        """Detector settings used to cut the crops (``None`` for pre-cut crops)."""
        if self.sets is None:
            self.setup()
        return self.sets.detector

    @property
    def normalization(self) -> dict:
        """How the crops were normalised, as recorded in the model bundle."""
        if self.sets is None:
            self.setup()
        return self.sets.normalization or CropNormalization.percentile().to_meta()

    @property
    def source_crop_px(self) -> int | None:
        """The native side (px) of the crop images the crops were resized from (``None``: cut from frames).

        Recorded in the model bundle (``source_crop_px``), so ``score`` cuts plate cells at that side
        and resizes them to the crop size as training did.
        """
        if self.sets is None:
            self.setup()
        return self.sets.source_crop_px

    def _per_class(self, y: np.ndarray) -> dict[str, int]:
        return dict(zip(self.classes, np.bincount(y, minlength=len(self.classes)).tolist(), strict=True))

    def summary(self) -> dict:
        """Training-data summary for the model bundle."""
        if self.sets is None:
            self.setup()
        s = self.sets
        return {
            "datamodule": type(self).__name__,
            "crop_size": self.crop_size,
            "n_train": int(len(s.train_y)),
            "n_val": int(len(s.val_y)),
            "train_per_class": self._per_class(s.train_y),
            "val_per_class": self._per_class(s.val_y),
            **s.summary,
        }

    def train_dataloader(self) -> DataLoader:  # noqa: D102
        gen = torch.Generator().manual_seed(self.seed)
        if self.balanced_sampler:
            counts = self.class_counts.astype(float)
            w = 1.0 / np.maximum(counts, 1)
            weights = torch.as_tensor(w[self.sets.train_y], dtype=torch.double)
            sampler = WeightedRandomSampler(weights, num_samples=len(weights), replacement=True, generator=gen)
            return DataLoader(self.train_set, batch_size=self.batch_size, sampler=sampler, num_workers=self.num_workers)
        return DataLoader(
            self.train_set, batch_size=self.batch_size, shuffle=True, generator=gen, num_workers=self.num_workers
        )

    def val_dataloader(self) -> DataLoader:  # noqa: D102
        return DataLoader(self.val_set, batch_size=self.batch_size * 2, shuffle=False, num_workers=self.num_workers)
