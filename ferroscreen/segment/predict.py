"""Running a nuclei U-Net on images (plain torch, no Lightning).

:class:`NucleiModel` bundles the network with its normalisation and
post-processing so that ``NucleiModel.from_name("nuclei-aits").segment(img)``
turns an image into a uint16 label image. Large images are predicted in
overlapping tiles whose centres are stitched (each output pixel comes from the
tile where it lies farthest from an edge), so memory stays bounded and results
do not depend on the tile grid beyond the network's edge effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ferroscreen.models.unet import UNet
from ferroscreen.segment.postprocess import PostprocessParams, instances_from_maps
from ferroscreen.segment.targets import normalize_image

__all__ = ["NucleiModel", "predict_maps", "tile_starts"]


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

    def predict_maps(self, image: np.ndarray, tile: int | None = 1152, tta: bool = False) -> np.ndarray:
        """Probability maps ``(3, H, W)`` of a raw 2-D image."""
        return predict_maps(self.net, normalize_image(image, **self.normalize), tile=tile, tta=tta)

    def segment(
        self,
        image: np.ndarray,
        tile: int | None = 1152,
        tta: bool = False,
        params: PostprocessParams | None = None,
    ) -> np.ndarray:
        """uint16 label image of a raw 2-D image (0 = background)."""
        maps = self.predict_maps(image, tile=tile, tta=tta)
        return instances_from_maps(maps[0], maps[1], maps[2], params or self.postprocess)
