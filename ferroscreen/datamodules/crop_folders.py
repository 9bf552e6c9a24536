"""Labelled pre-cut crops: :class:`CropFolderDataModule` over ImageFolder trees.

``root/<class>/*.png`` (torchvision's ImageFolder layout: a class's sub-folders
included), either ``root/train/<class>`` + ``root/val/<class>`` or one tree
(``root`` or ``root/train``) split at random by file (seeded). Files that are not
images are left out and said. Class names are compared in Unicode NFC (macOS
writes folder names in NFD). The bundle's ``training_data`` records one ``images_sha256``
over the names (relative to ``root``) and contents of the ``image_files`` trained and validated on.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from ferroscreen.crops import CropNormalization, normalize_frame
from ferroscreen.crops.crop_extraction import resize_crop
from ferroscreen.datamodules.crop_base import (
    CropDataModule,
    CropSets,
    split_groups,
)
from ferroscreen.errors import FerroscreenError, ImageReadError
from ferroscreen.hashing import files_digest
from ferroscreen.io import load_image

#: Crop image files (``.gif``/``.webp`` as OpenCV reads them; TIFF pages beyond the first are not read).
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
#: Files operating systems leave in folders: never images, never mentioned.
_SYSTEM_FILES = {"thumbs.db", "desktop.ini", "ehthumbs.db"}
#: Crop images whose sides differ by more than this factor (largest / smallest) show cells at scales no
#: single cut of a plate matches: training says so in a note.
MIXED_SIZES_RATIO = 1.5


def nfc(name: str) -> str:
    """A name in Unicode NFC (macOS file systems hand back NFD: ``é`` as ``e`` + accent)."""
    return unicodedata.normalize("NFC", name)


def crop_images(folder: Path, skipped: list[Path] | None = None) -> list[Path]:
    """Image files under ``folder``, its sub-folders included (as torchvision's ImageFolder reads a class).

    Hidden files and folders (``.DS_Store``, macOS ``._name.png`` forks, ``.ipynb_checkpoints``) and
    system files (``Thumbs.db``) are passed over; other files that are not images are appended to
    ``skipped`` when given.
    """
    from ferroscreen.io.segment_outputs import walk_tree  # linked class folders followed, once each

    out = []
    for p in sorted(Path(d) / f for d, _, files in walk_tree(folder) for f in files):
        rel = p.relative_to(folder).parts
        if any(part.startswith(".") for part in rel) or not p.is_file():
            continue
        if p.suffix.lower() in IMAGE_SUFFIXES:
            out.append(p)
        elif skipped is not None and p.name.lower() not in _SYSTEM_FILES:
            skipped.append(p)
    return out


def class_folders(tree: Path, classes: list[str] | None, whose: str = "among the classes") -> dict[str, Path]:
    """The class sub-folders of ``tree`` by class name (names compared in NFC).

    Args:
        tree: Folder of ``<class>/`` sub-folders.
        classes: The classes; ``None``: every sub-folder is one.
        whose: How the error names the class list (``"classes of the model"``).

    Raises:
        FerroscreenError: A sub-folder that is not one of ``classes``, or two sub-folders with one name.
    """
    found: dict[str, Path] = {}
    for p in sorted(tree.iterdir()):
        if not p.is_dir() or p.name.startswith("."):
            continue
        name = nfc(p.name)
        if name in found:
            raise FerroscreenError(f"{tree}: folders '{found[name].name}' and '{p.name}' are one class name "
                                   "written two ways")
        found[name] = p
    if classes is not None:
        extra = sorted(set(found) - {nfc(c) for c in classes})
        if extra:
            raise FerroscreenError(f"{tree}: folders {extra} are not {whose} {list(classes)}")
    return found


def labelled_crop_files(tree: Path, classes: list[str], whose: str = "among the classes",
                        notes: list[str] | None = None) -> tuple[list[Path], list[int]]:
    """Every crop image under ``tree/<class>/`` with its class index; other files said in ``notes``.

    Raises:
        FerroscreenError: See :func:`class_folders`.
    """
    folders = class_folders(tree, classes, whose)
    paths, labels, skipped = [], [], []
    for i, c in enumerate(classes):
        if nfc(c) in folders:
            imgs = crop_images(folders[nfc(c)], skipped)
            paths += imgs
            labels += [i] * len(imgs)
    if skipped and notes is not None:
        shown = ", ".join(str(p.relative_to(tree)) for p in skipped[:3])
        notes.append(f"{tree}: {len(skipped)} file(s) that are not images ({', '.join(IMAGE_SUFFIXES)}) left out: "
                     f"{shown}{', ...' if len(skipped) > 3 else ''}")
    return paths, labels


def load_crop(path: Path, size: int, normalization: CropNormalization | None = None,
              raw: np.ndarray | None = None) -> np.ndarray:
    """One crop image, normalised like a frame and resized to ``size`` × ``size`` (:func:`resize_crop`).

    ``raw``: the image of ``path`` already decoded by :func:`~ferroscreen.io.load_image` (it is
    then not read again).

    ``normalization`` (default: percentile scaling, as crop folders train) is applied to the crop
    image as to a frame: ``background`` takes the crop's median as its background level.

    Raises:
        ImageReadError: The file is unreadable, or a TIFF of several pages (a crop is one image:
            as a frame only its first page would be read), or has no positive background level
            for ``background`` normalisation.
    """
    if raw is None:
        raw = load_image(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            n, shape = len(tif.pages), (tif.series[0].shape if tif.series else None)
        if n > 1:
            raise ImageReadError(f"{path}: a TIFF of {n} pages (shape {shape}) where a crop is one image: "
                                 "save the plane or channel to classify")
    if normalization is None:
        img = normalize_frame(raw)
    else:
        try:
            img = normalization.apply(raw)
        except ValueError as exc:
            raise ImageReadError(f"{path}: {exc}") from None
    return resize_crop(img, size).astype(np.float16)


def crop_image_sides(shapes: list[tuple[int, ...]]) -> dict:
    """The native size of crop images of these ``(height, width)`` shapes, as a bundle records it.

    Returns:
        ``{"median": m, "min": a, "max": b}``: ``m`` the median over the images of each one's
        side (the mean of its height and width), rounded to whole pixels: the side ``score``
        cuts around each plate cell before resizing it to the crop size
        (bundle field ``source_crop_px``); ``a``/``b`` the smallest and largest height or width.
    """
    hw = np.asarray([s[:2] for s in shapes], np.float64).reshape(-1, 2)
    return {"median": int(np.floor(np.median(hw.mean(axis=1)) + 0.5)), "min": int(hw.min()), "max": int(hw.max())}


def mixed_sizes_note(root: Path, sides: dict, size: int) -> str | None:
    """A note when crop images' sides differ by more than :data:`MIXED_SIZES_RATIO` (``None`` otherwise)."""
    if sides["max"] <= MIXED_SIZES_RATIO * sides["min"]:
        return None
    return (f"{root}: crop images from {sides['min']} to {sides['max']} px (median {sides['median']}) are each "
            f"resized to {size} px, so their cells are shown at scales up to {sides['max'] / sides['min']:.1f}x "
            f"apart; on a plate each cell is cut at {sides['median']} px, which matches only the images of about "
            "that size (cut every crop at one size)")


class CropFolderDataModule(CropDataModule):
    """Pre-cut crops in class sub-folders.

    Args:
        root: Folder with ``train/`` and ``val/`` (each ``<class>/`` sub-folders),
            or ``<class>/`` sub-folders directly or under ``train/`` alone (split by
            file, seeded). A class folder's images include those in its sub-folders.
        classes: Class names; default: the sub-folder names, sorted. Every
            class must have training images; folders not in ``classes`` (in
            ``train/`` or ``val/``) are an error.
        val_fraction: Share of each class's images held out for validation
            without a ``val/`` folder; validation needs images, so 0 is an error then.
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
        self.tree = self.root / "train" if (self.root / "train").is_dir() else self.root
        self.val_tree = self.root / "val" if self.tree != self.root and (self.root / "val").is_dir() else None
        classes = [nfc(c) for c in classes] if classes else None
        found = class_folders(self.tree, classes)
        if not found:
            raise FerroscreenError(f"{self.tree}: no class sub-folders (expected {self.tree}/<class>/*.png)")
        classes = classes or sorted(found)
        if self.val_tree is not None:
            class_folders(self.val_tree, classes)
        super().__init__(classes, crop_size, batch_size, num_workers, balanced_sampler, val_fraction, seed)
        self.presplit = self.val_tree is not None

    def build_sets(self) -> CropSets:  # noqa: D102
        size = self.crop_size
        notes: list[str] = []
        if self.val_tree is not None:
            tp, ty = labelled_crop_files(self.tree, self.classes, notes=notes)
            vp, vy = labelled_crop_files(self.val_tree, self.classes, notes=notes)
        else:
            paths, labels = labelled_crop_files(self.tree, self.classes, notes=notes)
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
            raise FerroscreenError(f"{self.tree}: no training images of class(es) {', '.join(empty)}")
        if not vy:
            if self.val_tree is not None:
                where = f"{self.val_tree} holds no crops of the classes (add images, or a val/<class>/ folder)"
            elif self.val_fraction == 0:
                where = (f"{self.tree}: data.val_fraction is 0, so no image is held out (give a share, e.g. "
                         "--data.init_args.val_fraction 0.2, or a val/<class>/ folder beside train/)")
            else:
                where = (f"{self.tree}: no class has 2 images to split into training and validation (add images, "
                         "or a val/<class>/ folder)")
            raise FerroscreenError(f"no validation crops: {where}")

        shapes: list[tuple[int, ...]] = []

        def stack(ps: list[Path]) -> np.ndarray:
            if not ps:
                return np.zeros((0, size, size), np.float16)
            out = []
            for p in ps:
                raw = load_image(p)
                shapes.append(raw.shape)
                out.append(load_crop(p, size, raw=raw))
            return np.stack(out)

        train_x, val_x = stack(tp), stack(vp)
        sides = crop_image_sides(shapes)
        note = mixed_sizes_note(self.root, sides, size)
        if note:
            notes.append(note)
        images_sha256, n_files = files_digest([*tp, *vp], self.root)
        summary = {"source": str(self.root), "presplit": self.presplit, "crop_image_px": sides,
                   "images_sha256": images_sha256, "image_files": n_files}
        if notes:
            summary["notes"] = notes
        return CropSets(
            train_x,
            np.asarray(ty, np.int64),
            val_x,
            np.asarray(vy, np.int64),
            summary,
            None,
            {**CropNormalization.percentile().to_meta(), "scope": "per crop image"},
            source_crop_px=sides["median"],
        )
