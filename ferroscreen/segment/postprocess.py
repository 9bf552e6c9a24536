"""Instance post-processing: probability maps to a uint16 label image (numpy/scikit-image).

Seeded watershed: seeds are the connected cores where the predicted
normalised distance is high and the boundary probability is low; they are
flooded over the inverted distance map within the foreground mask. Foreground
components that hold no seed become objects of their own, so no predicted
nucleus is silently lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["PostprocessParams", "instances_from_maps"]


@dataclass(frozen=True)
class PostprocessParams:
    """Thresholds of :func:`instances_from_maps`.

    Attributes:
        fg_threshold: Foreground probability above which a pixel is nucleus.
        seed_threshold: Normalised distance above which a pixel can be a seed.
        boundary_threshold: Boundary probability below which a pixel can be a seed.
        min_seed_size: Seeds smaller than this (pixels) are discarded.
        min_size: Final objects smaller than this (pixels) are removed.
        fill_holes: Fill holes inside each object.
    """

    fg_threshold: float = 0.5
    seed_threshold: float = 0.5
    boundary_threshold: float = 0.5
    min_seed_size: int = 5
    min_size: int = 10
    fill_holes: bool = True

    def to_dict(self) -> dict:
        """Plain dict (for model metadata and YAML)."""
        return asdict(self)


def instances_from_maps(
    foreground: np.ndarray,
    boundary: np.ndarray,
    distance: np.ndarray,
    params: PostprocessParams | None = None,
) -> np.ndarray:
    """Label nuclei from per-pixel probability maps.

    Args:
        foreground: Foreground probability ``(H, W)`` in ``[0, 1]``.
        boundary: Boundary probability ``(H, W)``.
        distance: Predicted normalised distance to the nucleus edge ``(H, W)``.
        params: Thresholds (defaults of :class:`PostprocessParams`).

    Returns:
        uint16 label image, 0 = background, objects numbered 1..n in raster order.
    """
    from skimage.segmentation import watershed

    p = params or PostprocessParams()
    mask = foreground > p.fg_threshold
    seeds_mask = mask & (distance > p.seed_threshold) & (boundary < p.boundary_threshold)
    seeds, n_seeds = ndi.label(seeds_mask)
    if n_seeds and p.min_seed_size > 1:
        sizes = np.bincount(seeds.ravel())
        keep = sizes >= p.min_seed_size
        keep[0] = False
        seeds = np.where(keep[seeds], seeds, 0)
    labels = watershed(-distance.astype(np.float32), markers=seeds, mask=mask)
    # foreground components that no seed reached become objects of their own
    orphan, n_orphan = ndi.label(mask & (labels == 0))
    if n_orphan:
        labels = np.where(orphan > 0, orphan + labels.max(), labels)
    if p.fill_holes:
        labels = _fill_holes(labels)
    if p.min_size > 1:
        sizes = np.bincount(labels.ravel())
        small = sizes < p.min_size
        small[0] = False
        labels[small[labels]] = 0
    return _renumber(labels)


def _fill_holes(labels: np.ndarray) -> np.ndarray:
    """Fill background holes enclosed by a single object."""
    holes = ndi.binary_fill_holes(labels > 0) & (labels == 0)
    if not holes.any():
        return labels
    hole_lab, n = ndi.label(holes)
    out = labels.copy()
    for i, sl in enumerate(ndi.find_objects(hole_lab), start=1):
        sl = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in sl)
        region = hole_lab[sl] == i
        ring = ndi.binary_dilation(region) & ~region
        owners = np.unique(labels[sl][ring])
        owners = owners[owners > 0]
        if len(owners) == 1:
            out[sl][region] = owners[0]
    return out


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Consecutive labels 1..n in raster order of first appearance, as uint16."""
    flat = labels.ravel()
    uniq, first = np.unique(flat, return_index=True)
    order = uniq[np.argsort(first)]
    order = order[order > 0]
    if len(order) > np.iinfo(np.uint16).max:
        raise ValueError("more than 65535 objects do not fit a uint16 label image")
    lut = np.zeros(int(labels.max(initial=0)) + 1, dtype=np.uint16)
    lut[order] = np.arange(1, len(order) + 1, dtype=np.uint16)
    return lut[labels]
