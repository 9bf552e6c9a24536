"""Instance post-processing: probability maps to a uint16 label image (numpy/scikit-image).

Seeded watershed: seeds are the connected cores where the predicted
normalised distance is high and the boundary probability is low; they are
flooded over the inverted distance map within the foreground mask. Foreground
components that hold no seed become objects of their own, so no predicted
nucleus is silently lost.

The network sees images stretched by percentiles, so a field of camera noise
alone (a lethal knockdown: every cell gone) looks to it like dim nuclei.
:func:`drop_faint_objects` therefore checks the predicted objects against the
raw image: an object whose mean intensity is not above the background by a few
noise standard deviations (:func:`background_noise`) is noise, and a field
whose brightest object is not clearly above it holds no stained nucleus at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["PostprocessParams", "background_noise", "drop_faint_objects", "instances_from_maps", "object_contrast"]


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
        min_contrast: Objects whose mean raw intensity is less than this many
            background noise sds above the background level are removed
            (:func:`drop_faint_objects`; 0 keeps all). Applied where the raw
            image is known (:meth:`NucleiModel.segment`), not by
            :func:`instances_from_maps`.
        field_contrast: A field whose brightest object is less than this many
            noise sds above the background holds no stained nucleus: all its
            objects are removed (0 keeps them).

    The defaults were set on measurements: objects the shipped model finds in
    generated noise fields (uint8/uint16 Poisson and Gaussian, with camera
    offsets, spatially smoothed, segmented at scale 1 and 2) reach at most
    3.1 noise sds (1 in 8,144 above 3), while the brightest ground-truth
    nucleus of every Aits (40) and DSB2018 fluorescence (541) image is at
    least 17 sds above its background; 48 of the 23,096 DSB2018 nuclei and
    none of the 1,658 Aits nuclei (none even under 3) are under 2.5 sds.
    """

    fg_threshold: float = 0.5
    seed_threshold: float = 0.5
    boundary_threshold: float = 0.5
    min_seed_size: int = 5
    min_size: int = 10
    fill_holes: bool = True
    min_contrast: float = 2.5
    field_contrast: float = 5.0

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


def _clipped_sd(values: np.ndarray, iterations: int = 3) -> float:
    """Sd of ``values`` clipped at 3 sd around their median.

    Robust to bright outliers, and not quantised to whole grey levels as a MAD
    of integer pixels is.
    """
    v = np.asarray(values, dtype=np.float64)
    for _ in range(iterations):
        m, s = float(np.median(v)), float(v.std())
        keep = np.abs(v - m) <= 3 * s
        if s == 0 or keep.all():
            break
        v = v[keep]
    return float(v.std())


def _block_sds(x: np.ndarray, bg: np.ndarray, tile: int) -> np.ndarray:
    """Sigma-clipped sd of each block's background pixels around a plane fitted to them.

    Blocks are ``tile`` x ``tile`` and at least half background, all computed
    at once; a ragged edge strip is left out.
    """
    h, w = x.shape
    th, tw = min(tile, h), min(tile, w)
    nh, nw = h // th, w // tw

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[: nh * th, : nw * tw].reshape(nh, th, nw, tw).transpose(0, 2, 1, 3).reshape(nh * nw, th * tw)

    xb, mb = blocks(x), blocks(bg)
    keep = mb.sum(axis=1) >= max(0.5 * th * tw, 16)
    xb, mb = xb[keep], mb[keep].astype(np.float64)
    if not len(xb):
        return np.zeros(0)
    yy, xx = np.mgrid[:th, :tw]
    design = np.column_stack([np.ones(th * tw), yy.ravel() - th / 2, xx.ravel() - tw / 2])
    normal = np.einsum("kp,pi,pj->kij", mb, design, design)
    rhs = np.einsum("kp,pi->ki", mb * xb, design)
    coef = np.linalg.solve(normal, rhs[..., None])[..., 0]  # the block's shading is not noise
    r = np.where(mb > 0, xb - coef @ design.T, np.nan)
    rows = np.arange(len(r))
    for _ in range(3):
        n = np.sum(np.isfinite(r), axis=1)
        ordered = np.sort(r, axis=1)  # NaN last
        med = 0.5 * (ordered[rows, (n - 1) // 2] + ordered[rows, n // 2])
        sd = np.nanstd(r, axis=1)
        r = np.where(np.abs(r - med[:, None]) <= 3 * sd[:, None], r, np.nan)
    return np.nanstd(r, axis=1)


def background_noise(
    image: np.ndarray, labels: np.ndarray | None = None, tile: int = 64, grow: int = 3
) -> tuple[float, float]:
    """Background level and per-pixel noise sd of a raw image.

    Background pixels are those more than ``grow`` pixels from any object of
    ``labels`` (all pixels without labels). The level is their median; the
    noise sd is the median over ``tile`` x ``tile`` blocks (at least half
    background) of each block's sigma-clipped sd around a plane fitted to it,
    so that uneven illumination across the field does not count as noise.
    The sd is at least the rounding noise of integer pixels (``1/sqrt(12)``).

    Returns:
        ``(level, sd)``; both NaN when fewer than 100 background pixels remain
        (a confluent field: nothing to compare against).
    """
    x = np.asarray(image)
    integer = x.dtype.kind in "uib"
    x = x.astype(np.float64)
    if labels is not None and np.any(labels):
        bg = ~ndi.binary_dilation(np.asarray(labels) > 0, iterations=grow)
    else:
        bg = np.ones(x.shape, bool)
    if bg.sum() < 100:
        return float("nan"), float("nan")
    level = float(np.median(x[bg]))
    sds = _block_sds(x, bg, tile)
    sd = float(np.median(sds)) if len(sds) else _clipped_sd(x[bg])
    floor = 1 / np.sqrt(12) if integer else 1e-6 * max(float(np.max(np.abs(x[bg]))), 1e-30)
    return level, max(sd, floor)


def object_contrast(
    labels: np.ndarray, image: np.ndarray, noise: tuple[float, float] | None = None
) -> np.ndarray:
    """Per object ``1..labels.max()``: (mean raw intensity - background level) / noise sd.

    ``noise`` is :func:`background_noise` of the field (computed when not
    given); NaN for every object when it cannot be estimated, and for label
    numbers that hold no pixel.
    """
    labels = np.asarray(labels)
    n = int(labels.max(initial=0))
    if n == 0:
        return np.zeros(0)
    level, sd = noise if noise is not None else background_noise(image, labels)
    flat = labels.ravel().astype(np.int64)
    sums = np.bincount(flat, weights=np.asarray(image, dtype=np.float64).ravel(), minlength=n + 1)[1:]
    counts = np.bincount(flat, minlength=n + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts - level) / sd


def drop_faint_objects(
    labels: np.ndarray, image: np.ndarray, min_contrast: float = 2.5, field_contrast: float = 5.0
) -> np.ndarray:
    """Remove objects that are not brighter than the field's background noise (see :func:`object_contrast`).

    All objects go when the brightest is under ``field_contrast`` (a field of
    noise, no stained nucleus); otherwise those under ``min_contrast``. Labels
    are kept as they are when the noise cannot be estimated.

    Returns:
        uint16 labels numbered 1..n in raster order.
    """
    c = object_contrast(labels, image)
    ok = np.isfinite(c)  # NaN: noise not estimable (confluent field), or a label number without pixels
    if not ok.any():
        return np.asarray(labels)
    drop = np.zeros(len(c) + 1, bool)
    drop[1:] = ok & ((c < min_contrast) | (np.max(c[ok]) < field_contrast))
    if not drop.any():
        return np.asarray(labels)
    labels = np.asarray(labels).copy()
    labels[drop[labels]] = 0
    return _renumber(labels)
