"""Nucleus size and the scale at which a nuclei model sees an image.

A U-Net learns nuclei at the size its training images show them (the shipped
``nuclei-aits`` model: U2OS Hoechst at 20x on a CellInsight CX7, median
nucleus ~44 px across). Images taken at another magnification or binning show
nuclei 2-4x smaller or larger, and the model then splits, misses or merges
them. Like Cellpose's ``diameter``, segmentation resamples each image by
``scale = model diameter / image diameter`` before the network, resamples the
probability maps back and runs the watershed at the image's own resolution,
so labels, areas and centroids stay in the image's pixels.

Diameters are *equivalent* diameters, ``sqrt(4 * area / pi)`` of the median
nucleus area.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AUTO_DEAD_BAND",
    "MAX_SCALE",
    "MIN_ESTIMATE_NUCLEI",
    "ScaleChoice",
    "choose_scale",
    "median_diameter",
    "parse_diameter",
]

#: ``auto`` leaves images at their own scale when the estimated ratio lies within this factor of 1.
AUTO_DEAD_BAND = 1.25
#: Scales are clipped to ``[1 / MAX_SCALE, MAX_SCALE]``.
MAX_SCALE = 4.0
#: ``auto`` needs at least this many nuclei in its sample to estimate a diameter.
MIN_ESTIMATE_NUCLEI = 10


def median_diameter(label_images: Iterable[np.ndarray], min_area: int = 1) -> tuple[float | None, int]:
    """Equivalent diameter (px) of the median object area over label images, and the object count.

    Objects smaller than ``min_area`` pixels are ignored. Returns ``(None, 0)`` without objects.
    """
    areas = []
    for lab in label_images:
        a = np.bincount(np.asarray(lab).ravel().astype(np.int64))[1:]
        areas.append(a[a >= max(1, min_area)])
    pooled = np.concatenate(areas) if areas else np.zeros(0)
    if len(pooled) == 0:
        return None, 0
    return float(np.sqrt(4.0 * np.median(pooled) / np.pi)), int(len(pooled))


def parse_diameter(text: str | float | None) -> str | float:
    """``auto``, ``each``, ``model`` or a positive number of pixels from a CLI/config value.

    Raises:
        ValueError: Anything else (the message says what is accepted).
    """
    if text is None:
        return "auto"
    if isinstance(text, str) and text.strip().lower() in ("auto", "each", "model"):
        return text.strip().lower()
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"diameter must be 'auto', 'each', 'model' or a positive number of pixels, not {text!r}")
    return value


@dataclass(frozen=True)
class ScaleChoice:
    """How images are resampled for the model, and why.

    Attributes:
        scale: Resampling factor applied before the network (1 = as they are).
        image_diameter_px: The images' nucleus diameter (given or estimated; ``None`` if unknown).
        model_diameter_px: The training nuclei's diameter the model file records (``None`` if it records none).
        source: ``given``, ``estimated``, ``model`` (left as is on request) or a reason it was left as is.
        n_nuclei: Nuclei the estimate rests on (0 unless estimated).
    """

    scale: float
    image_diameter_px: float | None
    model_diameter_px: float | None
    source: str
    n_nuclei: int = 0

    def to_dict(self) -> dict:
        """Plain dict (for ``segment.json``)."""
        return {
            "scale": self.scale,  # exact: a resumed run reuses it
            "image_diameter_px": None if self.image_diameter_px is None else round(self.image_diameter_px, 2),
            "model_diameter_px": self.model_diameter_px,
            "source": self.source,
            "n_nuclei": self.n_nuclei,
        }


def choose_scale(
    diameter: str | float,
    model_diameter_px: float | None,
    estimate: tuple[float | None, int] | None = None,
) -> ScaleChoice:
    """The resampling factor for ``diameter`` (``auto``, ``model`` or pixels).

    * a number: ``model / diameter``, clipped to ``[1/MAX_SCALE, MAX_SCALE]``;
    * ``model``: 1 (images as they are);
    * ``auto``: from ``estimate`` = :func:`median_diameter` of a first pass at
      scale 1; left at 1 when the ratio is within :data:`AUTO_DEAD_BAND` of 1 or
      fewer than :data:`MIN_ESTIMATE_NUCLEI` nuclei were found.

    A model file that records no training diameter leaves every image at scale 1
    unless ``diameter`` is a number, which then cannot be honoured either (the
    reason is in ``source``).
    """
    if diameter == "model":
        return ScaleChoice(1.0, None, model_diameter_px, "model")
    if model_diameter_px is None:
        return ScaleChoice(1.0, None, None, "model file records no nucleus diameter; images left as they are")
    if diameter == "auto":
        est, n = estimate if estimate is not None else (None, 0)
        if est is None or n < MIN_ESTIMATE_NUCLEI:
            reason = f"too few nuclei ({n}) to estimate; images left as they are"
            return ScaleChoice(1.0, est, model_diameter_px, reason, n)
        ratio = model_diameter_px / est
        if 1 / AUTO_DEAD_BAND < ratio < AUTO_DEAD_BAND:
            return ScaleChoice(1.0, est, model_diameter_px, "estimated", n)
        return ScaleChoice(float(np.clip(ratio, 1 / MAX_SCALE, MAX_SCALE)), est, model_diameter_px, "estimated", n)
    d = float(diameter)
    return ScaleChoice(float(np.clip(model_diameter_px / d, 1 / MAX_SCALE, MAX_SCALE)), d, model_diameter_px, "given")
