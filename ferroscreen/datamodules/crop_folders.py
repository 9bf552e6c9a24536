"""Labelled crops from image files: ImageFolder trees and point annotations.

* :class:`CropFolderDataModule` — ``root/<class>/*.png`` (torchvision
  ImageFolder layout), either ``root/train/<class>`` + ``root/val/<class>`` or
  one tree split at random by file (seeded).
* :class:`PointAnnotationDataModule` — whole frames with cell positions: a CSV
  ``image,x,y,class`` (image paths relative to the CSV) or QuPath GeoJSON
  exports (``<image stem>.geojson`` beside the images; Point geometries or the
  centroid of Polygons; class from ``properties.classification.name``). Crops
  are cut around each point; images are split between train and validation.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ferroscreen.crops import CropNormalization, extract_crops, normalize_frame
from ferroscreen.datamodules.crop_base import (
    CropDataModule,
    CropSets,
    frame_sample,
    resolve_normalization,
    split_groups,
)
from ferroscreen.errors import FerroscreenError
from ferroscreen.io import load_image

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


def crop_images(folder: Path) -> list[Path]:
    """Image files in ``folder``; hidden ones (``.DS_Store``, macOS ``._name.png`` forks) are not images."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def load_crop(path: Path, size: int) -> np.ndarray:
    """One crop image, normalised like a frame and resized to ``size`` × ``size``."""
    img = normalize_frame(load_image(path))
    if img.shape != (size, size):
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return img.astype(np.float16)


class CropFolderDataModule(CropDataModule):
    """Pre-cut crops in class sub-folders.

    Args:
        root: Folder with ``train/`` and ``val/`` (each ``<class>/`` sub-folders)
            or directly ``<class>/`` sub-folders (split by file, seeded).
        classes: Class names; default: the sub-folder names, sorted. Every
            class must have a folder; folders not in ``classes`` are an error.
        Other args: see :class:`CropDataModule`.
    """

    def __init__(
        self,
        root: str,
        classes: list[str] | None = None,
        crop_size: int = 48,
        batch_size: int = 128,
        num_workers: int = 0,
        balanced_sampler: bool = False,
        val_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FerroscreenError(f"{self.root}: crop folder not found")
        split = (self.root / "train").is_dir()
        tree = self.root / "train" if split else self.root
        found = sorted(p.name for p in tree.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not found:
            raise FerroscreenError(f"{tree}: no class sub-folders (expected {tree}/<class>/*.png)")
        classes = list(classes) if classes else found
        extra = sorted(set(found) - set(classes))
        if extra:
            raise FerroscreenError(f"{tree}: folders {extra} are not among the classes {classes}")
        super().__init__(classes, crop_size, batch_size, num_workers, balanced_sampler, val_fraction, seed)
        self.presplit = split

    def _collect(self, tree: Path) -> tuple[list[Path], list[int]]:
        paths, labels = [], []
        for i, c in enumerate(self.classes):
            if (tree / c).is_dir():
                imgs = crop_images(tree / c)
                paths += imgs
                labels += [i] * len(imgs)
        return paths, labels

    def build_sets(self) -> CropSets:  # noqa: D102
        size = self.crop_size
        if self.presplit:
            tp, ty = self._collect(self.root / "train")
            vp, vy = self._collect(self.root / "val")
        else:
            paths, labels = self._collect(self.root)
            by_class: dict[int, list[str]] = {}
            for p, y in zip(paths, labels, strict=True):
                by_class.setdefault(y, []).append(str(p))
            val = split_groups(by_class, self.val_fraction, self.seed)
            tp = [p for p in paths if str(p) not in val]
            ty = [y for p, y in zip(paths, labels, strict=True) if str(p) not in val]
            vp = [p for p in paths if str(p) in val]
            vy = [y for p, y in zip(paths, labels, strict=True) if str(p) in val]
        empty = [c for i, c in enumerate(self.classes) if i not in set(ty)]
        if empty:
            tree = self.root / "train" if self.presplit else self.root
            raise FerroscreenError(f"{tree}: no training images of class(es) {', '.join(empty)}")

        def stack(ps: list[Path]) -> np.ndarray:
            if not ps:
                return np.zeros((0, size, size), np.float16)
            return np.stack([load_crop(p, size) for p in ps])

        return CropSets(
            stack(tp),
            np.asarray(ty, np.int64),
            stack(vp),
            np.asarray(vy, np.int64),
            {"source": str(self.root), "presplit": self.presplit},
            None,
            {**CropNormalization.percentile().to_meta(), "scope": "per crop image"},
        )


def read_point_annotations(path: Path) -> pd.DataFrame:
    """Point annotations as a table ``image, x, y, class`` (image = absolute path).

    ``path`` is a CSV with columns ``image,x,y,class`` or a folder of QuPath
    GeoJSON files named after their images.

    Raises:
        FerroscreenError: Missing columns, non-numeric coordinates, unknown
            geometry types, or images that cannot be found.
    """
    path = Path(path)
    rows = []
    if path.is_file() and path.suffix.lower() == ".csv":
        df = pd.read_csv(path)
        missing = {"image", "x", "y", "class"} - set(df.columns)
        if missing:
            raise FerroscreenError(f"{path}: missing column(s) {sorted(missing)} (need image,x,y,class)")
        for i, r in enumerate(df.itertuples(index=False), start=2):
            try:
                x, y = float(r.x), float(r.y)
            except ValueError:
                raise FerroscreenError(f"{path}:{i}: x/y '{r.x}', '{r.y}' are not numbers") from None
            rows.append((str((path.parent / str(r.image)).resolve()), x, y, str(r._3)))
    elif path.is_dir():
        for gj in sorted(path.glob("*.geojson")):
            images = [p for p in path.glob(gj.stem + ".*") if p.suffix.lower() in IMAGE_SUFFIXES]
            if not images:
                raise FerroscreenError(f"{gj}: no image named {gj.stem}.<png|tif|...> beside it")
            try:
                data = json.loads(gj.read_text())
            except json.JSONDecodeError as exc:
                raise FerroscreenError(f"{gj}: invalid GeoJSON ({exc})") from None
            feats = data.get("features", []) if isinstance(data, dict) else data
            for f in feats:
                geom = f.get("geometry") or {}
                props = f.get("properties") or {}
                cls = (props.get("classification") or {}).get("name") or props.get("name")
                if geom.get("type") == "Point":
                    x, y = geom["coordinates"][:2]
                elif geom.get("type") == "Polygon":
                    ring = np.asarray(geom["coordinates"][0], float)
                    x, y = ring[:, 0].mean(), ring[:, 1].mean()
                else:
                    raise FerroscreenError(f"{gj}: geometry type {geom.get('type')!r} is not Point or Polygon")
                if cls:
                    rows.append((str(images[0].resolve()), float(x), float(y), str(cls)))
    else:
        raise FerroscreenError(f"{path}: expected a CSV (image,x,y,class) or a folder of QuPath .geojson files")
    return pd.DataFrame(rows, columns=["image", "x", "y", "class"])


class PointAnnotationDataModule(CropDataModule):
    """Crops around annotated points in whole frames, split by image.

    Args:
        annotations: CSV ``image,x,y,class`` or a folder of QuPath GeoJSON files.
        classes: Class names; annotations of other classes are an error.
        normalization: How crops are normalised (see
            :func:`~ferroscreen.datamodules.crop_base.resolve_normalization`;
            ``auto`` levels from up to 64 of the annotated images).
        Other args: see :class:`CropDataModule`.
    """

    def __init__(
        self,
        annotations: str,
        classes: list[str] = ("alive", "apoptosis", "ferroptosis", "necroptosis"),
        crop_size: int = 48,
        batch_size: int = 128,
        num_workers: int = 0,
        balanced_sampler: bool = False,
        val_fraction: float = 0.25,
        seed: int = 0,
        normalization: str | dict | None = "percentile",
    ) -> None:
        super().__init__(list(classes), crop_size, batch_size, num_workers, balanced_sampler, val_fraction, seed)
        self.annotations = Path(annotations)
        self.normalization_spec = normalization

    def build_sets(self) -> CropSets:  # noqa: D102
        ann = read_point_annotations(self.annotations)
        unknown = sorted(set(ann["class"]) - set(self.classes))
        if unknown:
            raise FerroscreenError(f"{self.annotations}: classes {unknown} are not among {self.classes}")
        ann["label"] = [self.classes.index(c) for c in ann["class"]]
        by_class: dict[int, list[str]] = {}
        for img, lab in zip(ann["image"], ann["label"], strict=True):
            by_class.setdefault(lab, []).append(img)
        val_images = split_groups(by_class, self.val_fraction, self.seed)
        parts = {True: ([], []), False: ([], [])}
        norm = resolve_normalization(self.normalization_spec, frame_sample(sorted(set(ann["image"])), self.seed))
        for img, grp in ann.groupby("image", sort=True):
            frame = norm.apply(load_image(img))
            det = pd.DataFrame({"x": grp["x"].to_numpy(), "y": grp["y"].to_numpy()})
            crops = extract_crops(frame, det, self.crop_size).astype(np.float16)
            xs, ys = parts[img in val_images]
            xs.append(crops)
            ys.append(grp["label"].to_numpy())
        empty = np.zeros((0, self.crop_size, self.crop_size), np.float16)

        def cat(arrs, fallback):
            return np.concatenate(arrs) if arrs else fallback

        return CropSets(
            cat(parts[False][0], empty),
            cat(parts[False][1], np.zeros(0, np.int64)),
            cat(parts[True][0], empty),
            cat(parts[True][1], np.zeros(0, np.int64)),
            {"source": str(self.annotations), "val_images": sorted(val_images)},
            None,
            norm.to_meta(),
        )
