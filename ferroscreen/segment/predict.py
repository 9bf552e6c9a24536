"""Running a nuclei U-Net on images (plain torch, no Lightning).

:class:`NucleiModel` bundles the network with its normalisation and
post-processing so that ``NucleiModel.from_name("nuclei-aits").segment(img)``
turns an image into a uint16 label image (``scale`` resamples it for the
network first, see :mod:`ferroscreen.segment.scale`). Large images are predicted in
overlapping tiles whose centres are stitched (each output pixel comes from the
tile where it lies farthest from an edge), so memory stays bounded and results
do not depend on the tile grid beyond the network's edge effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ferroscreen.models.unet import UNet
from ferroscreen.segment.postprocess import PostprocessParams, drop_faint_objects, instances_from_maps
from ferroscreen.segment.scale import ScaleChoice, choose_scale, median_diameter
from ferroscreen.segment.targets import normalize_image

__all__ = ["NucleiModel", "predict_maps", "resample", "tile_starts"]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``length`` with at least ``overlap``."""
    if length <= tile:
        return [0]
    step = tile - overlap
    n = int(np.ceil((length - tile) / step)) + 1
    return [int(round(i * (length - tile) / (n - 1))) for i in range(n)]


def _edge_distance(n: int, image_start: bool, image_end: bool) -> np.ndarray:
    """Distance of each of ``n`` tile positions to the nearest tile edge that is not an image edge."""
    i = np.arange(n)
    d = np.minimum(i + 1, n - i).astype(np.float32)
    if image_start:
        d = np.where(i < n // 2, n, d)
    if image_end:
        d = np.where(i >= n // 2, n, d)
    return d


@torch.no_grad()
def predict_maps(
    net: UNet,
    image: np.ndarray,
    tile: int | None = 1152,
    overlap: int = 64,
    tta: bool = False,
) -> np.ndarray:
    """Probability maps ``(3, H, W)`` float32 (foreground, boundary, distance).

    Args:
        net: Network in eval mode.
        image: Normalised 2-D float image.
        tile: Tile side; ``None`` or a size >= the image predicts in one pass.
        overlap: Overlap between neighbouring tiles in pixels.
        tta: Average over the 8 flips/rotations (8x slower, slightly smoother).
    """
    img = np.asarray(image, dtype=np.float32)
    h, w = img.shape
    device = next(net.parameters()).device

    def run(x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(x))[None, None].to(device)
        if not tta:
            return torch.sigmoid(net(t))[0].cpu().numpy()
        acc = torch.zeros((net.out_channels, *t.shape[-2:]), device=device)
        for k in range(4):
            for flip in (False, True):
                v = torch.rot90(t, k, dims=(-2, -1))
                v = torch.flip(v, dims=(-1,)) if flip else v
                y = torch.sigmoid(net(v))
                y = torch.flip(y, dims=(-1,)) if flip else y
                acc += torch.rot90(y, -k, dims=(-2, -1))[0]
        return (acc / 8).cpu().numpy()

    if tile is None or (h <= tile and w <= tile):
        return run(img)
    out = np.zeros((net.out_channels, h, w), dtype=np.float32)
    best = np.full((h, w), -1.0, dtype=np.float32)
    for y0 in tile_starts(h, tile, overlap):
        for x0 in tile_starts(w, tile, overlap):
            th, tw = min(tile, h), min(tile, w)
            pred = run(img[y0 : y0 + th, x0 : x0 + tw])
            yy = _edge_distance(th, y0 == 0, y0 + th == h)
            xx = _edge_distance(tw, x0 == 0, x0 + tw == w)
            score = np.minimum(yy[:, None], xx[None, :]).astype(np.float32)
            region = (slice(y0, y0 + th), slice(x0, x0 + tw))
            better = score > best[region]
            out[(slice(None), *region)][:, better] = pred[:, better]
            best[region][better] = score[better]
    return out


def resample(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """2-D float32 ``image`` resampled to ``shape`` (area averaging when shrinking, bilinear when growing)."""
    import cv2

    h, w = shape
    shrink = h * w < image.shape[0] * image.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image, dtype=np.float32), (w, h), interpolation=interp)


@dataclass
class NucleiModel:
    """A nuclei U-Net with its inference settings.

    Attributes:
        net: The network (eval mode; from a file, batch norms folded by
            :meth:`UNet.for_inference`).
        normalize: Keyword arguments of :func:`normalize_image`.
        postprocess: Watershed thresholds.
        info: The model file's metadata (``meta``, ``arch``...).
        path: Where it was loaded from.
    """

    net: UNet
    normalize: dict = field(default_factory=dict)
    postprocess: PostprocessParams = field(default_factory=PostprocessParams)
    info: dict = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> NucleiModel:
        """Load a model file (see :mod:`ferroscreen.segment.model_file`)."""
        from ferroscreen.segment.model_file import load_model_file

        net, info = load_model_file(path)
        net = net.for_inference()
        pp = PostprocessParams(**info.get("postprocess", {}))
        return cls(net, dict(info.get("normalize", {})), pp, info, Path(path))

    @classmethod
    def from_name(cls, name_or_path: str | Path) -> NucleiModel:
        """Load a registered model (hash-checked) or a model file path."""
        import ferroscreen.models.pretrained  # noqa: F401  (registers shipped models)
        from ferroscreen.models.registry import resolve_model

        return cls.from_file(resolve_model(name_or_path, task="nuclei-segmentation"))

    @property
    def diameter_px(self) -> float | None:
        """Median equivalent diameter (px) of the training nuclei, as the model file records it (or ``None``)."""
        d = (self.info.get("meta") or {}).get("nucleus_diameter_px")
        return float(d) if d else None

    def predict_maps(
        self, image: np.ndarray, tile: int | None = 1152, tta: bool = False, scale: float = 1.0
    ) -> np.ndarray:
        """Probability maps ``(3, H, W)`` of a raw 2-D image, predicted at ``scale`` and resampled back."""
        img = normalize_image(image, **self.normalize)
        h, w = img.shape
        if abs(scale - 1.0) < 1e-6:
            return predict_maps(self.net, img, tile=tile, tta=tta)
        inner = (max(1, round(h * scale)), max(1, round(w * scale)))
        maps = predict_maps(self.net, resample(img, inner), tile=tile, tta=tta)
        return np.stack([resample(m, (h, w)) for m in maps])

    def segment(
        self,
        image: np.ndarray,
        tile: int | None = 1152,
        tta: bool = False,
        params: PostprocessParams | None = None,
        scale: float = 1.0,
    ) -> np.ndarray:
        """uint16 label image of a raw 2-D image (0 = background), in the image's own pixels.

        With ``scale`` != 1 the network sees the image resampled by ``scale``;
        the watershed runs on the maps resampled back, its minimum sizes
        divided by ``scale**2``. Objects no brighter in the raw image than its
        background noise are then removed (``min_contrast``, ``field_contrast``
        of :class:`PostprocessParams`; see
        :func:`~ferroscreen.segment.postprocess.drop_faint_objects`): the
        percentile stretch makes camera noise look like nuclei to the network,
        and a field of noise alone (every cell dead) must count 0.
        """
        maps = self.predict_maps(image, tile=tile, tta=tta, scale=scale)
        pp = params or self.postprocess
        if abs(scale - 1.0) >= 1e-6:
            area = 1.0 / scale**2
            pp = replace(pp, min_size=max(1, round(pp.min_size * area)),
                         min_seed_size=max(1, round(pp.min_seed_size * area)))
        labels = instances_from_maps(maps[0], maps[1], maps[2], pp)
        if pp.min_contrast > 0 or pp.field_contrast > 0:
            labels = drop_faint_objects(labels, image, pp.min_contrast, pp.field_contrast)
        return labels

    def choose_scale(
        self, images: Sequence[np.ndarray], diameter: str | float = "auto", tile: int | None = 1152
    ) -> ScaleChoice:
        """The scale for images like ``images`` (see :func:`ferroscreen.segment.scale.choose_scale`).

        ``auto`` segments ``images`` (a sample of the run) at scale 1 and takes
        the median size of the nuclei found. Objects under the model's
        ``min_size`` do not count (lowering it let debris pull the estimate of
        large nuclei down 3-fold on a DSB2018 image), so nuclei under ~7 px
        across (``min_size`` 40) need ``diameter`` given.
        """
        estimate = None
        if diameter == "auto" and self.diameter_px is not None:
            _, estimate = self.native_estimate(images, tile=tile)
        return choose_scale(diameter, self.diameter_px, estimate)

    def native_estimate(
        self, images: Sequence[np.ndarray], tile: int | None = 1152
    ) -> tuple[list[np.ndarray], tuple[float | None, int]]:
        """Labels of ``images`` at scale 1 and their :func:`median_diameter` (objects of at least ``min_size``)."""
        labels = [self.segment(im, tile=tile) for im in images]
        return labels, median_diameter(labels, min_area=self.postprocess.min_size)
