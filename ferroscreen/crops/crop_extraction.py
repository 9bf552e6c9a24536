"""Cell-centred crops of a fixed size, vectorised."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["cells_and_crops", "crops_scaled_each", "extract_crops", "mask_surroundings", "crops_for_detections",
           "raw_crops", "resize_crop", "with_next_scan"]


def _check_crop_args(caller: str, image: np.ndarray, detections: pd.DataFrame, size: int) -> None:
    """Raise ValueError for a non-2-D frame, a crop size < 1, detections without ``x``/``y`` or non-finite centres."""
    if image.ndim != 2:
        raise ValueError(f"{caller} expects a 2-D frame, got shape {image.shape}")
    if size < 1:
        raise ValueError(f"crop size must be >= 1, got {size}")
    if not {"x", "y"} <= set(detections.columns):
        raise ValueError(f"detections need 'x' and 'y' columns, got {list(detections.columns)}")
    centres = detections[["x", "y"]].to_numpy(np.float64)
    bad = int((~np.isfinite(centres)).any(axis=1).sum())
    if bad:
        raise ValueError(f"{caller}: {bad} of {len(detections)} detection(s) have a non-finite centre (NaN/inf "
                         f"x or y); drop or fix them first (e.g. detections.dropna(subset=['x', 'y']))")


def extract_crops(
    image_normalized: np.ndarray, detections: pd.DataFrame, size: int, pad_value: float = 0.0
) -> np.ndarray:
    """Square crops of ``size`` px centred on each detection.

    The crop of a detection at ``(x, y)`` spans columns
    ``round(x) - size // 2 .. round(x) - size // 2 + size - 1`` (and likewise
    rows), so for odd sizes the centre pixel is the crop's middle pixel and for
    even sizes it is pixel ``size // 2``. Parts outside the frame are
    **constant-padded** with ``pad_value`` (default 0, i.e. the dark end of a
    :func:`~ferroscreen.crops.normalize_frame` frame): padding never invents
    cells mirrored from inside the frame, and border crops stay centred.

    Args:
        image_normalized: 2-D frame (any real dtype; returned as float32).
        detections: Table with float ``x`` (column) and ``y`` (row) columns,
            e.g. from :func:`~ferroscreen.crops.detect_cells`.
        size: Crop edge (px, >= 1).
        pad_value: Fill for pixels outside the frame.

    Returns:
        float32 array ``(N, size, size)`` in the order of ``detections`` rows
        (``(0, size, size)`` when there are none).

    Raises:
        ValueError: For a non-2-D image, a size < 1, missing ``x``/``y`` columns, or
            centres that are not finite (NaN/inf ``x`` or ``y``; the message says how many).
    """
    image = np.asarray(image_normalized, dtype=np.float32)
    _check_crop_args("extract_crops", image, detections, size)
    n = len(detections)
    if n == 0:
        return np.zeros((0, size, size), np.float32)
    half = size // 2
    h, w = image.shape
    # Centres far outside the frame are clamped so that their crop is all padding.
    x0 = np.clip(np.rint(detections["x"].to_numpy(np.float64)).astype(np.int64) - half, -size, w)
    y0 = np.clip(np.rint(detections["y"].to_numpy(np.float64)).astype(np.int64) - half, -size, h)
    inside = (x0 >= 0) & (y0 >= 0) & (x0 + size <= w) & (y0 + size <= h)
    if inside.all():
        return np.ascontiguousarray(sliding_window_view(image, (size, size))[y0, x0])
    crops = np.full((n, size, size), pad_value, np.float32)
    if inside.any():
        crops[inside] = sliding_window_view(image, (size, size))[y0[inside], x0[inside]]
    for i in np.flatnonzero(~inside):  # crossing the frame's edge: copy the part inside
        ya, yb = max(y0[i], 0), min(y0[i] + size, h)
        xa, xb = max(x0[i], 0), min(x0[i] + size, w)
        if ya < yb and xa < xb:
            crops[i, ya - y0[i] : yb - y0[i], xa - x0[i] : xb - x0[i]] = image[ya:yb, xa:xb]
    return crops


def mask_surroundings(
    crops: np.ndarray, radii: np.ndarray, scale: float, background: float | np.ndarray, edge_px: float = 3.0
) -> np.ndarray:
    """Blend each crop to ``background`` beyond ``scale * radius`` of its centre.

    The weight is 1 within ``scale * radius`` px of the crop's centre pixel
    (``size // 2``, as in :func:`extract_crops`), falls as a half cosine to 0
    over ``edge_px`` and is 0 beyond; ``crops`` (N, S, S) are modified in place
    and returned. ``background`` is one grey level for all crops, or an (N,)
    array of one per crop.
    """
    if len(crops) == 0:
        return crops
    w = _surround_weights(np.asarray(radii, np.float32), float(scale), crops.shape[-1], float(edge_px))
    bg = np.float32(background) if np.ndim(background) == 0 else np.asarray(background, np.float32)[:, None, None]
    crops -= bg
    crops *= w
    crops += bg
    return crops


_last_weights: list = [(None, None)]  # (key, weights) of the latest call: a next-scan crop reuses its scan's weights


def _surround_weights(radii: np.ndarray, scale: float, size: int, edge_px: float) -> np.ndarray:
    """(N, S, S) float32 weights of :func:`mask_surroundings` (the latest result is reused for the same input)."""
    key = (radii.tobytes(), scale, size, edge_px)
    last_key, last = _last_weights[0]  # one read: safe when threads share the cache
    if last_key == key:
        return last
    c = size // 2
    yy, xx = np.mgrid[:size, :size]
    dist = np.hypot(yy - c, xx - c).astype(np.float32)
    inner = (radii * np.float32(scale))[:, None, None]
    t = np.clip((dist[None] - inner) / np.float32(max(edge_px, 1e-3)), 0.0, 1.0)
    w = np.float32(0.5) * (np.float32(1.0) + np.cos(np.float32(np.pi) * t))
    _last_weights[0] = (key, w)
    return w


def crops_for_detections(normalized: np.ndarray, detections: pd.DataFrame, config, crop_size: int) -> np.ndarray:
    """Crops as the model sees them: :func:`extract_crops`, then the config's ``crop_mask`` if set.

    ``normalized`` is the crop frame (see :class:`~ferroscreen.crops.CropNormalization`);
    the masked surroundings get its median grey level.
    """
    crops = extract_crops(normalized, detections, crop_size)
    scale = getattr(config, "crop_mask", None)
    if scale is not None and len(crops) and "radius" in detections.columns:
        background = float(np.median(normalized[::4, ::4]))
        mask_surroundings(crops, detections["radius"].to_numpy(np.float32), scale, background)
    return crops


def raw_crops(raw: np.ndarray, detections: pd.DataFrame, size: int) -> list[np.ndarray]:
    """The boxes of :func:`extract_crops` cut from the frame as decoded, one array per detection.

    A box inside the frame keeps the frame's dtype and pixels (what a crop image saved
    losslessly from the frame holds); a box crossing the frame's edge is float32 with
    NaN where it lies outside the frame (no data: :func:`~ferroscreen.crops.normalize_frame`
    leaves such pixels out of its levels and maps them to 0, the padding of :func:`extract_crops`).

    Raises:
        ValueError: As :func:`extract_crops`.
    """
    raw = np.asarray(raw)
    _check_crop_args("raw_crops", raw, detections, size)
    half = size // 2
    h, w = raw.shape
    x0 = np.clip(np.rint(detections["x"].to_numpy(np.float64)).astype(np.int64) - half, -size, w)
    y0 = np.clip(np.rint(detections["y"].to_numpy(np.float64)).astype(np.int64) - half, -size, h)
    out = []
    for xa0, ya0 in zip(x0.tolist(), y0.tolist(), strict=True):
        if xa0 >= 0 and ya0 >= 0 and xa0 + size <= w and ya0 + size <= h:
            out.append(raw[ya0 : ya0 + size, xa0 : xa0 + size])
            continue
        crop = np.full((size, size), np.nan, np.float32)
        ya, yb, xa, xb = max(ya0, 0), min(ya0 + size, h), max(xa0, 0), min(xa0 + size, w)
        if ya < yb and xa < xb:
            crop[ya - ya0 : yb - ya0, xa - xa0 : xb - xa0] = raw[ya:yb, xa:xb]
        out.append(crop)
    return out


def resize_crop(crop: np.ndarray, size: int) -> np.ndarray:
    """A 2-D crop resized to ``size`` x ``size`` px (area interpolation; returned as is when it has that shape).

    The one resize of crop images in training
    (:func:`ferroscreen.datamodules.crop_folders.load_crop`) and of the boxes cut for a
    bundle trained on them (:func:`crops_scaled_each`), so both show cells at one scale.
    """
    if crop.shape == (size, size):
        return crop
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def crops_scaled_each(raw: np.ndarray, detections: pd.DataFrame, config, crop_size: int,
                      normalization) -> np.ndarray:
    """Crops as a model trained on crop images sees them: each box of the raw frame scaled by its own levels.

    Each detection's box (as :func:`extract_crops` places it) of ``normalization.source_px``
    px (the side its training crop images had; ``None``: ``crop_size``) is cut from the frame
    as decoded (:func:`raw_crops`), normalised alone with ``normalization.apply`` (its own
    percentiles, or its own median as background) and resized to ``crop_size``
    (:func:`resize_crop`), as :func:`ferroscreen.datamodules.crop_folders.load_crop` loads a
    crop image of that size in training: a crop inside the frame gives the same values as
    the crop image saved losslessly from the frame, and cells are shown at the scale the
    network learned. Outside the frame is 0. The config's ``crop_mask``, if set, blends each
    crop to its own median grey level beyond ``crop_mask`` radii, the radii (frame px) scaled
    by ``crop_size / source_px`` like the cells.

    Args:
        raw: The frame as decoded (2-D, any real dtype).
        detections: Table with ``x``, ``y`` (and ``radius`` for ``crop_mask``).
        config: A :class:`ferroscreen.crops.DetectorConfig`.
        crop_size: Crop side length in pixels (the network's).
        normalization: A :class:`~ferroscreen.crops.CropNormalization` (each crop is one image to it).

    Returns:
        float32 ``(N, crop_size, crop_size)`` in the order of ``detections``.

    Raises:
        ValueError: As :func:`extract_crops`, or from the normalisation (background normalisation
            of a crop without a positive median).
    """
    side = getattr(normalization, "source_px", None) or crop_size
    boxes = raw_crops(raw, detections, side)
    crops = np.zeros((len(boxes), side, side), np.float32)
    raw_dtype = np.asarray(raw).dtype
    whole = [i for i, b in enumerate(boxes) if b.dtype == raw_dtype] if _batched(normalization, raw_dtype) else []
    if whole:
        crops[whole] = _percentile_scaled(np.stack([boxes[i] for i in whole]), normalization.low, normalization.high)
    done = set(whole)
    for i, box in enumerate(boxes):
        if i not in done:
            crops[i] = normalization.apply(box)
    if side != crop_size:
        crops = (np.stack([resize_crop(c, crop_size) for c in crops]) if len(crops)
                 else np.zeros((0, crop_size, crop_size), np.float32))
    scale = getattr(config, "crop_mask", None)
    if scale is not None and len(crops) and "radius" in detections.columns:
        background = np.median(crops.reshape(len(crops), -1), axis=1)
        radii = detections["radius"].to_numpy(np.float32) * np.float32(crop_size / side)
        mask_surroundings(crops, radii, scale, background)
    return crops


def _batched(normalization, dtype) -> bool:
    """Whether :func:`_percentile_scaled` gives ``normalization.apply`` of each crop (8/16-bit percentile scaling)."""
    return getattr(normalization, "method", None) == "percentile" and dtype in (np.uint8, np.uint16)


def _percentile_scaled(crops: np.ndarray, low: float, high: float) -> np.ndarray:
    """:func:`~ferroscreen.crops.normalize_frame` (``sample_step`` 2, clipped) of each 8/16-bit crop (N, S, S), at once.

    The same values bit for bit: the percentiles interpolate between the k-th and (k+1)-th
    smallest sampled values as the exact histogram path of ``normalize_frame`` does.
    """
    n = len(crops)
    sample = np.sort(crops[:, ::2, ::2].reshape(n, -1), axis=1)
    size = sample.shape[1]
    levels = []
    for q in (low, high):
        pos = q / 100 * (size - 1)
        k = int(np.floor(pos))
        a = sample[:, k].astype(np.float64)
        b = sample[:, min(k + 1, size - 1)].astype(np.float64)
        levels.append(a + (pos - k) * (b - a))
    lo, hi = levels
    out = np.zeros(crops.shape, np.float32)
    ok = hi > lo  # a flat crop gives zeros
    if ok.any():
        scale = (1.0 / (hi[ok] - lo[ok])).astype(np.float32)[:, None, None]
        x = crops[ok].astype(np.float32)
        x -= lo[ok].astype(np.float32)[:, None, None]
        x *= scale
        np.clip(x, 0.0, 1.0, out=x)
        out[ok] = x
    return out


def cells_and_crops(normalized: np.ndarray, config, crop_size: int, crop_frame: np.ndarray | None = None):
    """Detect cells in a normalised frame and cut their crops: the one step training and scoring share.

    Args:
        normalized: Output of :func:`ferroscreen.crops.normalize_frame` (what the detector sees).
        config: A :class:`ferroscreen.crops.DetectorConfig`.
        crop_size: Crop side length in pixels.
        crop_frame: The frame the crops are cut from, from
            :meth:`ferroscreen.crops.CropNormalization.apply` (default: ``normalized``).

    Returns:
        ``(detections, crops)`` as from :func:`detect_cells` and :func:`crops_for_detections`.
    """
    from ferroscreen.crops.detection import detect_cells

    det = detect_cells(normalized, config)
    source = normalized if crop_frame is None else crop_frame
    return det, crops_for_detections(source, det, config, crop_size)


def with_next_scan(
    crops: np.ndarray, detections: pd.DataFrame, config, crop_size: int,
    next_crop_frame: np.ndarray | None | Sequence[np.ndarray | None],
    cut: Callable[[np.ndarray, pd.DataFrame], np.ndarray] | None = None,
) -> np.ndarray:
    """Crops with later scans ``(N, 1 + k, S, S)``: each crop, then the same box cut from the site's next k scans.

    Args:
        crops: This scan's crops ``(N, S, S)`` from :func:`crops_for_detections`.
        detections: The detections they were cut around (this scan's: later
            scans are not detected, so a cell that moved shows off-centre).
        config: The detector config (its ``crop_mask`` applies to every channel).
        crop_size: Crop side length in pixels.
        next_crop_frame: The next scan's crop frame (k = 1), or a sequence of
            the next k scans' crop frames, normalised like this scan's. A
            ``None`` (past the site's last scan, or a scan that cannot be read
            or has another size) repeats the channel before it, and so does
            every later channel: a next-scan model is trained to read an
            unchanged channel as "no later scan".
        cut: How a later frame's crops are cut, ``cut(frame, detections)``
            (default: :func:`crops_for_detections`; e.g. :func:`crops_scaled_each`
            over raw later frames for a model trained on crop images).

    Returns:
        float32 ``(N, 1 + k, S, S)``.
    """
    crops = np.asarray(crops, np.float32)
    later = [next_crop_frame] if next_crop_frame is None or isinstance(next_crop_frame, np.ndarray) else list(
        next_crop_frame)
    channels, gone = [crops], len(crops) == 0
    for frame in later:
        gone = gone or frame is None
        if gone:
            channels.append(channels[-1])
        else:
            channels.append(crops_for_detections(frame, detections, config, crop_size) if cut is None
                            else cut(frame, detections))
    return np.ascontiguousarray(np.stack(channels, axis=1), dtype=np.float32)
