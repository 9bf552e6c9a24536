"""Image normalisation and training targets for nuclei segmentation (numpy only).

The segmenter predicts three maps per pixel (see :func:`make_targets`):

* ``foreground``: 1 inside any nucleus;
* ``boundary``: 1 on the inner rim of each nucleus (pixels within
  ``boundary_width`` of another label or the background), which is where
  touching nuclei meet;
* ``distance``: the Euclidean distance to the nucleus edge divided by that
  nucleus's maximum, so 1 at its centre and small near its rim. Seeds for the
  watershed are the high-distance cores.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["instance_distance", "make_targets", "normalize_image", "small_object_weights"]


def normalize_image(
    image: np.ndarray, low: float = 1.0, high: float = 99.8, min_range: float | None = None
) -> np.ndarray:
    """Scale an intensity image to about ``[0, 1]`` by percentiles.

    Args:
        image: 2-D array of any numeric dtype (uint8, uint16, float).
        low: Lower percentile mapped to 0.
        high: Upper percentile mapped to 1.
        min_range: Smallest ``hi - lo`` allowed, in the image's own units, so
            that a nearly empty field is not stretched until its noise looks
            like nuclei. Default for integer images: 2 % of the range of the
            smallest bit depth (8, 10, 12, 14 or 16 bits) that holds the
            image maximum (a 12-bit camera in a uint16 file gets 2 % of 4095);
            a tiny epsilon for floats.

    Returns:
        float32 array of the same shape; values outside the percentiles are
        not clipped.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"normalize_image expects a 2-D image, got shape {img.shape}")
    if min_range is None:
        min_range = 1e-6
        if img.dtype.kind in "ui" and img.size:
            top = int(img.max())
            bits = next((b for b in (8, 10, 12, 14, 16, 32, 64) if top < 2**b), 64)
            min_range = 0.02 * (2**bits - 1)
    x = img.astype(np.float32)
    lo, hi = np.percentile(x, [low, high])
    hi = max(float(hi), float(lo) + float(min_range))
    return ((x - lo) / (hi - lo)).astype(np.float32)


def instance_distance(labels: np.ndarray) -> np.ndarray:
    """Per-pixel distance to the edge of its own instance (0 on background).

    Touching instances are treated separately: a pixel's distance is to the
    nearest pixel that is not of its own label.
    """
    labels = np.asarray(labels)
    dist = np.zeros(labels.shape, dtype=np.float32)
    for i, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None:
            continue
        sl = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in sl)
        obj = labels[sl] == i
        padded = np.pad(obj, 1)
        d = ndi.distance_transform_edt(padded)[1:-1, 1:-1]
        dist[sl][obj] = d[obj]
    return dist


def make_targets(labels: np.ndarray, boundary_width: float = 2.0) -> np.ndarray:
    """Training targets ``(3, H, W)`` float32 from a uint instance mask (0 = background).

    Channels: foreground, boundary (inner rim ``distance <= boundary_width``),
    and per-instance normalised distance in ``[0, 1]``.
    """
    labels = np.asarray(labels)
    dist = instance_distance(labels)
    fg = labels > 0
    out = np.zeros((3, *labels.shape), dtype=np.float32)
    out[0] = fg
    out[1] = fg & (dist <= boundary_width)
    if fg.any():
        idx = np.arange(1, int(labels.max()) + 1)
        peak = ndi.maximum(dist, labels, idx).astype(np.float32)
        lut = np.concatenate([[1.0], np.maximum(peak, 1.0)]).astype(np.float32)
        out[2] = dist / lut[labels]
    return out


def small_object_weights(
    labels: np.ndarray, reference_area: float, max_weight: float = 4.0, ring: int = 2
) -> np.ndarray:
    """Per-pixel loss weights ``(H, W)`` float32 that emphasise small nuclei.

    A nucleus of ``area`` pixels below ``reference_area`` gets weight
    ``min(max_weight, reference_area / area)`` on its own pixels and on a
    background ring ``ring`` pixels wide around it (where its outline is
    decided); every other pixel weighs 1. Where rings of several nuclei meet,
    the larger weight wins. Pixel losses summed over a crop are dominated by
    large nuclei; these weights let micronuclei and fragments (a tenth of the
    objects in Hoechst screens, a few pixels each) count.
    """
    labels = np.asarray(labels)
    weights = np.ones(labels.shape, dtype=np.float32)
    if reference_area <= 0 or not labels.any():
        return weights
    areas = np.bincount(labels.ravel())
    h, w = labels.shape
    for i, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None or areas[i] >= reference_area:
            continue
        wi = float(min(max_weight, reference_area / areas[i]))
        sl = tuple(slice(max(s.start - ring, 0), min(s.stop + ring, n)) for s, n in zip(sl, (h, w), strict=True))
        obj = labels[sl] == i
        zone = ndi.binary_dilation(obj, iterations=ring) if ring > 0 else obj
        zone &= (labels[sl] == 0) | obj
        weights[sl][zone] = np.maximum(weights[sl][zone], wi)
    return weights
