"""Label-free foreground: local contrast -> textured-pixel mask -> local occupancy."""

from __future__ import annotations

import cv2
import numpy as np

from ferroscreen.crops.normalization import robust_sigma

#: Smallest noise SD assumed, in units of a normalised frame (its 0.5-99.5 percentile range).
NOISE_FLOOR = 1e-3

__all__ = [
    "NOISE_FLOOR",
    "contrast_map",
    "fill_holes",
    "quiet_noise",
    "occupancy_map",
    "remove_small_components",
    "textured_mask",
]

#: Percentile of the local contrast (:func:`contrast_map`) that :func:`local_noise` reads.
QUIET_PERCENTILE = 5.0
#: Frame-wide MAD noise SD over that percentile on the 20 Usiigaci frames (median; 3.9-5.3 over the frames).
QUIET_TO_SD = 4.5


def contrast_map(flat: np.ndarray, sigma: float) -> np.ndarray:
    """Local mean absolute deviation of a background-flattened frame.

    Args:
        flat: Background-flattened frame (float, background ~ 0).
        sigma: Gaussian sigma (px) of the local mean.

    Returns:
        float32 map ``G_sigma(|flat - median(flat)|)``, >= 0. Bright rims,
        halos, dark bodies and granular interiors all raise it; flat
        background stays near the noise level.
    """
    flat = np.asarray(flat, dtype=np.float32)
    med = np.float32(np.median(flat[::2, ::2]))
    return cv2.GaussianBlur(np.abs(flat - med), (0, 0), max(float(sigma), 0.5), borderType=cv2.BORDER_REFLECT)


def textured_mask(
    flat: np.ndarray, sigma: float, threshold: float, noise: float | None = None
) -> np.ndarray:
    """Pixels whose local contrast exceeds ``threshold`` robust noise SDs.

    The noise SD is the MAD-based SD of ``flat`` over the frame (cells cover a
    minority of pixels in a screen frame, so the median and MAD describe the
    background). The factor 0.8 makes ``threshold`` read in SDs of the pixel
    noise (the mean absolute deviation of Gaussian noise is 0.8 SD).

    The noise SD is floored at :data:`NOISE_FLOOR` (in units of the
    normalised frame), so noise-free synthetic frames work and a constant
    frame gives an empty mask.

    ``noise`` (e.g. :func:`quiet_noise`) replaces that frame-wide estimate.

    Returns:
        uint8 mask (0/1).
    """
    if noise is None:
        noise = max(robust_sigma(np.asarray(flat)[::2, ::2]), NOISE_FLOOR)
    contrast = contrast_map(flat, sigma)
    return (contrast > np.float32(threshold * 0.8 * noise)).astype(np.uint8)


def quiet_noise(contrast: np.ndarray) -> float:
    """Noise SD of a flattened frame, read from the quietest pixels of its local contrast.

    The :data:`QUIET_PERCENTILE`-th percentile of the local contrast
    (:func:`contrast_map`, sampled every 2nd pixel) lies in the background
    whatever share of the frame the cells cover, so unlike the frame-wide MAD
    it hardly moves between a sparse and a crowded frame, or between a small
    frame cut from a crowded region and the whole frame (on 256 px tiles of
    the Usiigaci frames it reads 0.85-1.54x the whole frame's, 10-90 %; the
    MAD 0.65-2.09x). Background residuals (an illumination ramp the
    flattening leaves at the frame's edges) do not raise it either. Scaled by
    :data:`QUIET_TO_SD`, so thresholds keep the meaning they had with the
    frame-wide MAD; floored at :data:`NOISE_FLOOR`.
    """
    sample = np.asarray(contrast, np.float32)[::2, ::2]
    return max(float(np.percentile(sample, QUIET_PERCENTILE)) * QUIET_TO_SD, NOISE_FLOOR)


def fill_holes(mask: np.ndarray, max_area: float) -> np.ndarray:
    """Fill enclosed background holes of at most ``max_area`` pixels (4-connected holes).

    Holes touching the frame border are never filled.
    """
    mask = np.asarray(mask, dtype=np.uint8)
    inverse = np.pad((mask == 0).astype(np.uint8), 1, constant_values=1)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    if n <= 2:
        return mask.copy() if n <= 1 else np.where(labels[1:-1, 1:-1] > 0, mask, 1).astype(np.uint8)
    outside = labels[0, 0]
    fill = (stats[:, cv2.CC_STAT_AREA] <= max_area) & (np.arange(n) != outside) & (np.arange(n) != 0)
    out = mask.copy()
    out[fill[labels[1:-1, 1:-1]]] = 1
    return out


def remove_small_components(mask: np.ndarray, min_area: float) -> np.ndarray:
    """Drop 8-connected foreground components smaller than ``min_area`` pixels."""
    mask = np.asarray(mask, dtype=np.uint8)
    if min_area <= 1:
        return mask.copy()
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels].astype(np.uint8)


def occupancy_map(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-weighted fraction of foreground pixels around each pixel, in [0, 1] (float32)."""
    return cv2.GaussianBlur(
        np.asarray(mask, dtype=np.float32), (0, 0), max(float(sigma), 0.5), borderType=cv2.BORDER_REFLECT
    )
