"""Nuclei image/mask pairs for training the segmenter (LightningDataModule).

A dataset folder holds ``images/`` (uint8/uint16 PNG or TIFF) and ``masks/``
(uint16 instance TIFFs, 0 = background) with matching file stems, and
optionally ``split.csv`` with columns ``name, split`` (``train``/``val``/...).
Without a split file a fixed, seeded fraction of the images is held out.

Training samples are random ``crop_size`` crops with flips, 90-degree
rotations and intensity jitter; every crop is drawn from a generator seeded by
``(seed, epoch, index)``, so a run is reproducible for a given seed.
Validation samples are whole images.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ferroscreen.errors import FerroscreenError
from ferroscreen.segment.images import IMAGE_SUFFIXES, read_image
from ferroscreen.segment.targets import make_targets, normalize_image, small_object_weights

__all__ = ["NucleiDataModule", "NucleiPairs", "find_pairs"]


def find_pairs(root: str | Path, split: str | None = None) -> list[tuple[Path, Path]]:
    """``(image, mask)`` paths under ``root/images`` and ``root/masks``, matched by stem.

    Args:
        root: Dataset folder.
        split: Keep only names whose ``split.csv`` split equals this; ``None``
            keeps all. Without ``split.csv`` the split is ignored here (see
            :class:`NucleiDataModule` for the held-out fraction).

    Raises:
        FerroscreenError: The folders are missing or an image has no mask.
    """
    root = Path(root)
    img_dir, mask_dir = root / "images", root / "masks"
    if not img_dir.is_dir() or not mask_dir.is_dir():
        raise FerroscreenError(f"{root}: expected sub-folders images/ and masks/")
    masks = {p.stem: p for p in mask_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = []
    for img in sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        if img.stem not in masks:
            raise FerroscreenError(f"{img}: no mask with stem '{img.stem}' in {mask_dir}")
        pairs.append((img, masks[img.stem]))
    split_csv = root / "split.csv"
    if split is not None and split_csv.is_file():
        table = pd.read_csv(split_csv)
        if not {"name", "split"} <= set(table.columns):
            raise FerroscreenError(f"{split_csv}: needs columns 'name' and 'split'")
        names = set(table.loc[table["split"] == split, "name"].astype(str))
        pairs = [pr for pr in pairs if pr[0].stem in names]
    return pairs


class NucleiPairs(Dataset):
    """Normalised images with their targets and instance masks, held in memory.

    Args:
        pairs: ``(image, mask)`` paths.
        crop_size: Side of the random training crop; ``None`` yields whole
            images (validation).
        augment: Apply flips, rotations and intensity jitter.
        samples_per_epoch: Length of the dataset in crop mode.
        seed: Base seed of the crop generator.
        boundary_width: Passed to :func:`make_targets`.
        small_object_area: When > 0, a fourth target channel holds the
            per-pixel loss weights of :func:`small_object_weights` for nuclei
            below this area (pixels); 0 = three channels, uniform weights.
        small_object_max_weight: Cap of those weights.

    Items are dicts with ``image`` ``(1, H, W)`` float32, ``target``
    ``(3 or 4, H, W)`` float32 and, for whole images, ``labels`` ``(H, W)`` int64.
    """

    def __init__(
        self,
        pairs: Sequence[tuple[Path, Path]],
        crop_size: int | None = 256,
        augment: bool = True,
        samples_per_epoch: int = 256,
        seed: int = 0,
        boundary_width: float = 2.0,
        small_object_area: float = 0.0,
        small_object_max_weight: float = 4.0,
    ) -> None:
        if not pairs:
            raise FerroscreenError("nuclei dataset: no image/mask pairs")
        self.crop_size = crop_size
        self.augment = augment
        self.samples_per_epoch = int(samples_per_epoch)
        self.seed = int(seed)
        self.names = [p[0].stem for p in pairs]
        self.images, self.targets, self.labels, areas = [], [], [], []
        for img_path, mask_path in pairs:
            img = read_image(img_path)
            lab = read_image(mask_path).astype(np.int64)
            if img.shape != lab.shape:
                raise FerroscreenError(f"{mask_path}: shape {lab.shape} != image {img.shape}")
            self.images.append(normalize_image(img).astype(np.float16))
            t = make_targets(lab, boundary_width)
            if small_object_area > 0:
                wmap = small_object_weights(lab, small_object_area, small_object_max_weight)
                t = np.concatenate([t, wmap[None]])
            self.targets.append(t.astype(np.float16))
            self.labels.append(lab.astype(np.int32) if crop_size is None else None)
            a = np.bincount(lab.ravel())[1:]
            areas.append(a[a > 0])
        #: Pixel areas of every nucleus of the pairs (what :attr:`nucleus_diameter_px` summarises).
        self.object_areas = np.concatenate(areas) if areas else np.zeros(0, dtype=np.int64)
        sizes = np.array([im.size for im in self.images], dtype=float)
        self._weights = sizes / sizes.sum()

    @property
    def nucleus_diameter_px(self) -> float | None:
        """Equivalent diameter of the median nucleus area (px), or ``None`` without nuclei."""
        if len(self.object_areas) == 0:
            return None
        return float(np.sqrt(4.0 * np.median(self.object_areas) / np.pi))

    def __len__(self) -> int:
        return self.samples_per_epoch if self.crop_size else len(self.images)

    def __getitem__(self, index: int) -> dict:
        if not self.crop_size:
            return {
                "image": torch.from_numpy(self.images[index].astype(np.float32))[None],
                "target": torch.from_numpy(self.targets[index].astype(np.float32)),
                "labels": torch.from_numpy(self.labels[index].astype(np.int64)),
            }
        rng = np.random.default_rng([self.seed, int(index)])
        k = int(rng.choice(len(self.images), p=self._weights))
        img, tgt = self._crop(self.images[k], self.targets[k], rng)
        if self.augment:
            img, tgt = self._augment(img, tgt, rng)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None],
            "target": torch.from_numpy(np.ascontiguousarray(tgt, dtype=np.float32)),
        }

    def _crop(self, img: np.ndarray, tgt: np.ndarray, rng: np.random.Generator):
        c = int(self.crop_size)
        h, w = img.shape
        if h < c or w < c:
            ph, pw = max(c - h, 0), max(c - w, 0)
            img = np.pad(img, ((0, ph), (0, pw)), mode="reflect" if min(h, w) > max(ph, pw) else "edge")
            tgt = np.pad(tgt, ((0, 0), (0, ph), (0, pw)))
            h, w = img.shape
        y = int(rng.integers(0, h - c + 1))
        x = int(rng.integers(0, w - c + 1))
        return img[y : y + c, x : x + c].astype(np.float32), tgt[:, y : y + c, x : x + c].astype(np.float32)

    @staticmethod
    def _augment(img: np.ndarray, tgt: np.ndarray, rng: np.random.Generator):
        k = int(rng.integers(0, 4))
        img, tgt = np.rot90(img, k), np.rot90(tgt, k, axes=(1, 2))
        if rng.random() < 0.5:
            img, tgt = img[:, ::-1], tgt[:, :, ::-1]
        # intensity jitter: contrast, offset and gamma on the normalised image
        scale = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
        offset = float(rng.uniform(-0.05, 0.05))
        img = img * scale + offset
        if rng.random() < 0.3:
            gamma = float(np.exp(rng.uniform(np.log(0.7), np.log(1.4))))
            img = np.sign(img) * np.abs(img) ** gamma
        if rng.random() < 0.3:
            img = img + rng.normal(0.0, rng.uniform(0.0, 0.03), img.shape)
        return img, tgt


class _EpochSampler(Sampler[int]):
    """Yields ``epoch * n + i`` for i in 0..n-1 so every epoch draws fresh, seeded crops."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.epoch * self.n, (self.epoch + 1) * self.n))

    def __len__(self) -> int:
        return self.n


class NucleiDataModule(pl.LightningDataModule):
    """Train/val nuclei pairs from one or more dataset folders.

    Args:
        root: Main dataset folder (``images/``, ``masks/``, optional ``split.csv``).
        extra_train_roots: More folders whose pairs are all added to training
            (e.g. DSB2018 fluorescence nuclei).
        train_split: ``split.csv`` value of training images.
        val_split: ``split.csv`` value of validation images.
        val_fraction: Held-out fraction when ``root`` has no ``split.csv``.
        crop_size: Training crop side in pixels.
        batch_size: Training batch size (validation uses 1 whole image).
        samples_per_epoch: Crops per training epoch.
        num_workers: DataLoader workers.
        seed: Seed of crops and of the held-out split.
        boundary_width: Boundary rim width of the targets, in pixels.
        max_val_images: Validate on at most this many images (``None`` = all).
        small_object_area: Weight the loss on nuclei smaller than this many
            pixels (and a 2-pixel ring around them) by ``small_object_area / area``,
            capped at ``small_object_max_weight``; 0 = off.
        small_object_max_weight: Cap of the small-object weights.
    """

    def __init__(
        self,
        root: str,
        extra_train_roots: list[str] | None = None,
        train_split: str = "train",
        val_split: str = "val",
        val_fraction: float = 0.25,
        crop_size: int = 256,
        batch_size: int = 8,
        samples_per_epoch: int = 256,
        num_workers: int = 0,
        seed: int = 0,
        boundary_width: float = 2.0,
        max_val_images: int | None = None,
        small_object_area: float = 0.0,
        small_object_max_weight: float = 4.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.train_ds: NucleiPairs | None = None
        self.val_ds: NucleiPairs | None = None

    def _split_pairs(self) -> tuple[list, list]:
        hp = self.hparams
        root = Path(hp.root)
        if (root / "split.csv").is_file():
            train = find_pairs(root, hp.train_split)
            val = find_pairs(root, hp.val_split)
        else:
            pairs = find_pairs(root)
            order = np.random.default_rng(hp.seed).permutation(len(pairs))
            n_val = max(1, int(round(hp.val_fraction * len(pairs)))) if len(pairs) > 1 else 0
            val = [pairs[i] for i in sorted(order[:n_val])]
            train = [pairs[i] for i in sorted(order[n_val:])]
        for extra in hp.extra_train_roots or []:
            train = train + find_pairs(extra)
        if hp.max_val_images is not None:
            val = val[: hp.max_val_images]
        return train, val

    def setup(self, stage: str | None = None) -> None:
        """Load pairs into memory (once)."""
        if self.train_ds is not None:
            return
        hp = self.hparams
        train, val = self._split_pairs()
        weighting = {"small_object_area": hp.small_object_area, "small_object_max_weight": hp.small_object_max_weight}
        self.train_ds = NucleiPairs(
            train, hp.crop_size, True, hp.samples_per_epoch, hp.seed, hp.boundary_width, **weighting
        )
        self.val_ds = NucleiPairs(val, None, False, 0, hp.seed, hp.boundary_width, **weighting) if val else None

    @property
    def nucleus_diameter_px(self) -> float | None:
        """Median nucleus diameter (px) of the training pairs (after :meth:`setup`; else ``None``).

        The model file records it so that ``segment`` can resample images whose nuclei differ in size.
        """
        return self.train_ds.nucleus_diameter_px if self.train_ds is not None else None

    def train_dataloader(self) -> DataLoader:
        """Seeded random crops; the sampler advances with the epoch."""
        return DataLoader(
            self.train_ds,
            batch_size=self.hparams.batch_size,
            sampler=_EpochSampler(len(self.train_ds)),
            num_workers=self.hparams.num_workers,
            drop_last=False,
        )

    def val_dataloader(self) -> DataLoader:
        """Whole validation images, one per batch."""
        if self.val_ds is None:
            return []
        return DataLoader(self.val_ds, batch_size=1, num_workers=self.hparams.num_workers)
