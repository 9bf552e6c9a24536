"""Intensity normalisation of frames or crops (uint8/uint16/float aware): percentile or background-relative."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CropNormalization",
    "background_level",
    "contrast_levels",
    "normalize_frame",
    "normalize_to_background",
    "robust_sigma",
]


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
        to ``low``) gives all zeros. Pixels that are not finite (NaN padding of a
        float image) take no part in the percentiles and map to 0, as padding does.

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
    return _nonfinite_to_zero(out.astype(np.float32, copy=False))


def _nonfinite_to_zero(out: np.ndarray) -> np.ndarray:
    """``out`` with NaN/inf pixels (no data in a float image) set to 0, in place when it holds any."""
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        out[~np.isfinite(out)] = 0.0
    return out


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
    sample = sample.astype(np.float32, copy=False)
    if not np.isfinite(sample).all():  # NaN padding of float images is no data
        sample = sample[np.isfinite(sample)]
        if not sample.size:
            return 0.0, 0.0
    lo, hi = np.percentile(sample, [low, high])
    return float(lo), float(hi)


def robust_sigma(values: np.ndarray) -> float:
    """Noise SD estimated as 1.4826 x the median absolute deviation (0 for constant input)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    med = np.median(values)
    return float(1.4826 * np.median(np.abs(values - med)))


def background_level(image: np.ndarray, sample_step: int = 2) -> float:
    """The frame's background grey level: the median of every ``sample_step``-th pixel.

    In brightfield and phase contrast most of a frame is background, so the
    median is the background level whatever the number of cells.
    """
    image = np.asarray(image)
    step = max(1, sample_step)
    med, _ = _percentiles(image[::step, ::step], 50.0, 50.0)
    return med


def normalize_to_background(
    image: np.ndarray,
    dark: float = -0.4,
    bright: float = 0.3,
    clip: bool = True,
    sample_step: int = 2,
) -> np.ndarray:
    """Map a frame's contrast relative to its background to [0, 1].

    Each pixel becomes ``(I / b - 1 - dark) / (bright - dark)`` where ``b`` is
    :func:`background_level`: the relative contrast ``dark`` maps to 0, the
    background to ``-dark / (bright - dark)``, ``bright`` to 1. In transmitted
    light a cell darkens or brightens the light behind it by a fraction, so this
    is the same for a cell whatever the lamp, exposure or bit depth, and —
    unlike percentile scaling — whatever the number of cells in the frame: a
    frame with few cells is not stretched.

    Raises:
        ValueError: If ``image`` is not 2-D, ``bright <= dark``, or the
            background level is not positive (the frame is not a transmitted-light
            image, or is already background-subtracted).
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"normalize_to_background expects a 2-D frame, got shape {image.shape}")
    if not bright > dark:
        raise ValueError(f"need dark < bright, got {dark}, {bright}")
    b = background_level(image, sample_step)
    if not b > 0:
        raise ValueError(f"background level {b:g} is not positive: background normalisation needs "
                         "transmitted-light frames (use percentile normalisation)")
    scale = np.float32(1.0 / (b * (bright - dark)))
    out = image.astype(np.float32) * scale - np.float32((1.0 + dark) / (bright - dark))
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return _nonfinite_to_zero(out)


@dataclass(frozen=True)
class CropNormalization:
    """How frames (or crops) are turned into the [0, 1] grey levels the classifier's crops hold.

    Attributes:
        method: ``background`` (:func:`normalize_to_background`: contrast
            relative to the frame's background, independent of the number of
            cells) or ``percentile`` (:func:`normalize_frame`: the frame's
            ``low``/``high`` percentiles to 0/1; a frame with few cells is
            stretched, which a classifier can learn as a cue).
        low, high: ``background``: the relative contrasts mapped to 0 and 1
            (``dark``/``bright``); ``percentile``: the percentiles mapped to 0
            and 1.
        scope: ``frame`` (the levels are those of the whole frame; crops are
            cut from the normalised frame) or ``crop`` (each crop is scaled by
            its own levels, as crop images of an ImageFolder are in training:
            on a plate, cut the raw crops and scale each with
            :func:`ferroscreen.crops.crop_extraction.crops_scaled_each`).
        source_px: ``crop`` scope only: the side (px of the frame) each cell's box is cut at
            before it is scaled and resized to the crop size, as crop images of that size
            were resized in training (the median side of the training crop images, bundle
            field ``source_crop_px``); ``None``: boxes of the crop size itself (no resize).

    Model bundles record it (:meth:`to_meta`); bundles written before it existed
    used ``percentile`` 0.5 / 99.5 per frame.
    """

    method: str = "background"
    low: float = -0.4
    high: float = 0.3
    scope: str = "frame"
    source_px: int | None = None

    def __post_init__(self) -> None:
        if self.method not in NORMALIZATION_METHODS:
            raise ValueError(f"normalization method must be one of {', '.join(NORMALIZATION_METHODS)}, "
                             f"not {self.method!r}")
        if not float(self.high) > float(self.low):
            raise ValueError(f"normalization needs low < high, got {self.low}, {self.high}")
        if self.scope not in NORMALIZATION_SCOPES:
            raise ValueError(f"normalization scope must be one of {', '.join(NORMALIZATION_SCOPES)}, "
                             f"not {self.scope!r}")
        if self.source_px is not None:
            try:
                whole = not isinstance(self.source_px, bool | str) and int(self.source_px) == self.source_px >= 1
            except (TypeError, ValueError, OverflowError):
                whole = False
            if not whole:
                raise ValueError(f"source_crop_px must be a whole number of pixels of 1 or more, "
                                 f"not {self.source_px!r}")
            if not self.per_crop:
                raise ValueError("source_crop_px belongs to crops scaled each by its own levels (crop scope), "
                                 "not to a per-frame normalisation")
            object.__setattr__(self, "source_px", int(self.source_px))

    @classmethod
    def percentile(cls, low: float = 0.5, high: float = 99.5, scope: str = "frame",
                   source_px: int | None = None) -> CropNormalization:
        """Percentile scaling (the detector's own normalisation), per frame unless ``scope`` is ``crop``."""
        return cls("percentile", low, high, scope, source_px)

    @property
    def per_crop(self) -> bool:
        """Whether each crop is scaled by its own levels (crop-image training), not by its frame's."""
        return self.scope == "crop"

    def apply(self, image: np.ndarray, normalized: np.ndarray | None = None) -> np.ndarray:
        """``image`` scaled by its own levels (float32, clipped to [0, 1]): a frame, or for ``crop`` scope one crop.

        ``normalized`` may hold ``normalize_frame(image)`` of a whole frame already computed for
        detection; it is returned as is when this normalisation is the same.

        Raises:
            ValueError: ``normalized`` given for a ``crop`` scope (a whole frame's crop frame was
                asked of a normalisation that scales each crop by itself), and see the functions.
        """
        if self.per_crop and normalized is not None:
            raise ValueError("this normalisation scales each crop by its own levels, not the frame: "
                             "cut raw crops and scale them with crops_scaled_each")
        if self.method == "percentile":
            if normalized is not None and (self.low, self.high) == (0.5, 99.5):
                return normalized
            return normalize_frame(image, self.low, self.high)
        return normalize_to_background(image, self.low, self.high)

    def to_meta(self) -> dict:
        """JSON-ready description (``scope``: ``per frame`` or ``per crop image``; ``source_crop_px`` when set).

        A model bundle keeps ``source_crop_px`` as a field of its own beside ``crop_size``
        (:attr:`ferroscreen.models.bundle.Bundle.normalization` joins them); a score store's
        ``normalization`` records this whole description.
        """
        scope = "per crop image" if self.per_crop else "per frame"
        if self.method == "percentile":
            out = {"method": "percentile", "low_percentile": self.low, "high_percentile": self.high,
                   "clip": True, "scope": scope}
        else:
            out = {"method": "background", "dark": self.low, "bright": self.high, "clip": True,
                   "background": "median of the crop" if self.per_crop else "median of the frame", "scope": scope}
        if self.source_px is not None:
            out["source_crop_px"] = self.source_px
        return out

    @classmethod
    def from_meta(cls, meta: dict | None) -> CropNormalization:
        """Inverse of :meth:`to_meta`; ``None`` or a dict without ``method`` is the old percentile default.

        ``scope`` ``per crop image`` gives the ``crop`` scope; any other or none, ``frame``.
        ``source_crop_px`` (absent or ``None``: none) gives :attr:`source_px`.

        Raises:
            ValueError: An unknown method, bad levels or a bad ``source_crop_px``.
        """
        meta = meta or {}
        method = meta.get("method", "percentile")
        scope = "crop" if meta.get("scope") == "per crop image" else "frame"
        source = meta.get("source_crop_px")
        if method == "percentile":
            return cls.percentile(float(meta.get("low_percentile", 0.5)), float(meta.get("high_percentile", 99.5)),
                                  scope, source)
        if method == "background":
            return cls("background", float(meta["dark"]), float(meta["bright"]), scope, source)
        raise ValueError(f"unknown normalization method {method!r}")


NORMALIZATION_METHODS = ("background", "percentile")
NORMALIZATION_SCOPES = ("frame", "crop")


def contrast_levels(
    image: np.ndarray, low: float = 0.5, high: float = 99.5, sample_step: int = 2
) -> tuple[float, float]:
    """The frame's ``low``/``high`` percentiles as contrasts relative to its background (``I / b - 1``)."""
    image = np.asarray(image)
    step = max(1, sample_step)
    b = background_level(image, step)
    lo, hi = _percentiles(image[::step, ::step], low, high)
    if not b > 0:
        raise ValueError(f"background level {b:g} is not positive")
    return lo / b - 1.0, hi / b - 1.0
