"""Per-frame robust intensity normalisation (uint8/uint16/float aware)."""

from __future__ import annotations

import numpy as np

__all__ = ["normalize_frame", "robust_sigma"]


def normalize_frame(
    image: np.ndarray,
    low: float = 0.5,
    high: float = 99.5,
    clip: bool = True,
    sample_step: int = 2,
) -> np.ndarray:
    """Map a frame's ``low``/``high`` intensity percentiles to 0/1.

    The percentiles are computed on every ``sample_step``-th pixel in each
    direction (deterministic, and fast on large frames), so the result depends
    only on the frame itself, never on its dtype range: a uint16 frame that uses
    12 bits and the same frame as uint8 normalise alike.

    Args:
        image: 2-D array, any real dtype (uint8, uint16, float).
        low: Lower percentile, mapped to 0.
        high: Upper percentile, mapped to 1.
        clip: Clip the result to ``[0, 1]`` (saturated halos and dark debris
            then cannot dominate a crop).
        sample_step: Subsampling step for the percentile estimate (1 = all pixels).

    Returns:
        float32 array of the same shape. A flat frame (``high`` percentile equal
        to ``low``) gives all zeros.

    Raises:
        ValueError: If ``image`` is not 2-D or the percentiles are not ordered.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"normalize_frame expects a 2-D frame, got shape {image.shape}")
    if not (0 <= low < high <= 100):
        raise ValueError(f"need 0 <= low < high <= 100, got {low}, {high}")
    step = max(1, sample_step)
    lo, hi = _percentiles(image[::step, ::step], low, high)
    x = image.astype(np.float32, copy=False)
    if not hi > lo:
        return np.zeros(image.shape, np.float32)
    out = (x - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32, copy=False)


def _percentiles(sample: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """``np.percentile(sample, [low, high])`` (linear interpolation); exact histogram path for 8/16-bit ints."""
    if sample.dtype in (np.uint8, np.uint16) and sample.size:
        counts = np.cumsum(np.bincount(sample.ravel(), minlength=2))
        out = []
        for q in (low, high):
            pos = q / 100 * (sample.size - 1)
            k = int(np.floor(pos))
            a = int(np.searchsorted(counts, k, side="right"))  # value of the k-th smallest (0-based)
            b = int(np.searchsorted(counts, min(k + 1, sample.size - 1), side="right"))
            out.append(a + (pos - k) * (b - a))
        return float(out[0]), float(out[1])
    lo, hi = np.percentile(sample.astype(np.float32, copy=False), [low, high])
    return float(lo), float(hi)


def robust_sigma(values: np.ndarray) -> float:
    """Noise SD estimated as 1.4826 x the median absolute deviation (0 for constant input)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    med = np.median(values)
    return float(1.4826 * np.median(np.abs(values - med)))
