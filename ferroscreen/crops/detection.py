"""Label-free cell detection in brightfield / phase-contrast frames.

Pipeline (all on a frame block-averaged by ``config.factor``):

1. :func:`~ferroscreen.crops.normalize_frame` (percentiles 0.5/99.5 -> 0/1, not clipped);
2. background flattening (subtract a Gaussian of ``background_scale * max_radius``);

``method="radial"`` (round suspension cells, the default; no flattening needed):

2. radial-symmetry votes of the rim edges at ``radial_steps`` radii
   (:func:`~ferroscreen.crops.radial_votes.radial_vote_stack`);
3. seeds = vote maxima with score >= ``min_score``, at least ``peak_distance * min_radius``
   apart; non-maximum suppression within ``overlap`` x the stronger seed's radius (one
   detection per fragmented apoptotic cell); radius = the best-voting radius.

``method="phase"`` (spread adherent cells in phase contrast): dark-body and bright-blob
seeds of :func:`~ferroscreen.crops.phase_bodies.phase_seeds`; radius as for ``"texture"``.

``method="halo"`` (the earlier suspension detector):

3. smooth, threshold the bright halo/rim pixels at ``threshold`` robust noise SDs;
4. seeds = maxima of the distance to the nearest halo pixel (the centres of the
   enclosed interiors), at least ``peak_distance * min_radius`` apart, inscribed
   radius <= ``max_radius``;
5. keep seeds enclosed by halo (``min_enclosure`` of 16 rays) whose ring is brighter than
   their centre by ``ring_contrast`` noise SDs; non-maximum suppression (``overlap``);
6. radius = inscribed radius + 1 px, clipped; score = enclosure fraction.

``method="texture"`` (spread adherent cells, any polarity):

3. textured-pixel mask: local mean absolute deviation above ``threshold`` robust noise
   SDs (bright rims and halos, dark bodies, granular interiors all count), enclosed holes
   filled (pale ghost cells), debris-sized components dropped;
4. occupancy = Gaussian-smoothed mask; foreground = occupancy >= ``min_occupancy``;
5. seeds: maxima of the foreground's distance transform (``split_touching``: touching round
   cells give one maximum each) or of the occupancy, at least ``peak_distance * min_radius``
   apart; seeds joined by a segment without a neck are merged (non-maximum suppression);
6. radius = equivalent radius of the seed's share (nearest-seed region) of its foreground
   component, clipped to ``[min_radius, max_radius]``; score = occupancy at the centre.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import cv2
import numpy as np
import pandas as pd

from ferroscreen.crops.background import flatten_background
from ferroscreen.crops.config import PRESETS, DetectorConfig, detector_config
from ferroscreen.crops.enclosure import enclosure_scores, suppress_overlaps
from ferroscreen.crops.foreground import (
    NOISE_FLOOR,
    fill_holes,
    occupancy_map,
    remove_small_components,
    textured_mask,
)
from ferroscreen.crops.normalization import normalize_frame, robust_sigma
from ferroscreen.crops.peaks import local_maxima, merge_without_neck
from ferroscreen.crops.phase_bodies import phase_seeds
from ferroscreen.crops.radial_votes import best_votes, fill_missing, radial_vote_stack, radius_at
from ferroscreen.crops.tiles import tile_boxes

__all__ = ["DETECTION_COLUMNS", "detect_cells", "detections_frame"]

#: Columns of a detection table, in order.
DETECTION_COLUMNS = ("x", "y", "radius", "x0", "y0", "x1", "y1", "score")


def detections_frame(
    x: np.ndarray, y: np.ndarray, radius: np.ndarray, score: np.ndarray, shape: tuple[int, int]
) -> pd.DataFrame:
    """Build a detection table from centres and radii (boxes derived and clipped).

    Args:
        x: Column coordinates of the centres (px, pixel centres at integers).
        y: Row coordinates of the centres.
        radius: Radii (px).
        score: Detection scores.
        shape: ``(height, width)`` of the frame, used to clip the boxes.

    Returns:
        DataFrame with :data:`DETECTION_COLUMNS`: ``x, y, radius, score`` float64,
        ``x0, y0, x1, y1`` int64 with ``x1``/``y1`` exclusive, so
        ``image[y0:y1, x0:x1]`` is the box; boxes span ``centre +- radius`` clipped
        to the frame.
    """
    h, w = shape
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    r = np.asarray(radius, np.float64)
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "radius": r,
            "x0": np.clip(np.floor(x - r), 0, w).astype(np.int64),
            "y0": np.clip(np.floor(y - r), 0, h).astype(np.int64),
            "x1": np.clip(np.ceil(x + r) + 1, 0, w).astype(np.int64),
            "y1": np.clip(np.ceil(y + r) + 1, 0, h).astype(np.int64),
            "score": np.asarray(score, np.float64),
        },
        columns=list(DETECTION_COLUMNS),
    )


def _seed_radii(fg: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Equivalent radius of each seed's nearest-seed share of its own foreground component."""
    seeds = np.ones(fg.shape, np.uint8)
    seeds[rows, cols] = 0
    _, nearest = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP)
    _, comp = cv2.connectedComponents(fg, connectivity=8)
    seed_label = nearest[rows, cols]
    seed_comp = np.zeros(int(nearest.max()) + 1, np.int64)
    seed_comp[seed_label] = comp[rows, cols]
    inside = (fg > 0) & (comp == seed_comp[nearest])
    area = np.bincount(nearest[inside], minlength=len(seed_comp))
    return np.sqrt(area[seed_label] / math.pi)


def _resolve_config(config: DetectorConfig | str | Mapping | None) -> DetectorConfig:
    """``config`` itself, or the :class:`DetectorConfig` of a preset name / dict of settings (``None``: defaults)."""
    if isinstance(config, DetectorConfig):
        return config
    if config is None or isinstance(config, str | Mapping):
        return detector_config(config)
    raise TypeError(f"detect_cells: config must be a DetectorConfig, a preset name ({', '.join(PRESETS)}) "
                    f"or a dict of settings, got {type(config).__name__}")


def _working_frame(image: np.ndarray, method: str) -> np.ndarray:
    """The float32 frame a detector reads, non-finite pixels (no data) at the median of the finite ones.

    ``"radial"`` votes are invariant to an affine intensity map (see
    :func:`~ferroscreen.crops.radial_votes.radial_vote_stack`): the frame as it is. The
    other methods read :func:`~ferroscreen.crops.normalize_frame` (``clip=False``),
    whose percentiles leave missing pixels out. A missing pixel then reads as the
    frame's typical level (flat: no edge, no texture), not as the dark end, so the
    cells of the finite part are found as without the missing pixels.
    """
    if method == "radial":
        return fill_missing(image)
    frame = normalize_frame(image, clip=False)
    if image.dtype.kind == "f":
        missing = ~np.isfinite(image)
        if missing.any():
            frame[missing] = np.median(frame[~missing]) if not missing.all() else 0.0
    return frame


def detect_cells(image: np.ndarray, config: DetectorConfig | str | Mapping | None = None) -> pd.DataFrame:
    """Find cells in one brightfield / phase-contrast frame, label-free.

    Args:
        image: 2-D frame, uint8, uint16 or float, any intensity range (the
            ``"radial"`` votes do not change under an affine intensity map; the
            other methods normalise the frame first).
        config: Detector settings: a :class:`DetectorConfig`, a preset name
            (:data:`~ferroscreen.crops.PRESETS`) or a dict of settings (``"preset"``
            plus overrides), resolved by :func:`~ferroscreen.crops.detector_config`
            as ``ferroscreen detect --detector`` resolves them (default
            ``DetectorConfig()``, the ``"suspension"`` preset). In ``mode="tiles"`` the tile grid of
            :func:`~ferroscreen.crops.tile_boxes` is returned instead
            (radius = half the tile, score 1).

    Returns:
        One row per detected cell with :data:`DETECTION_COLUMNS` (see
        :func:`detections_frame`): centre ``x`` (column) and ``y`` (row) in
        input-frame pixels, ``radius`` in ``[min_radius, max_radius]``, the clipped
        box, and ``score`` in [0, 1] (``"radial"``: pooled rim votes / 2, ~1 for a
        crisp full rim; ``"halo"``: fraction of the ring closed; ``"texture"``/``"phase"``:
        foreground occupancy around the centre). Rows are in raster order of the centres.
        A featureless frame gives an empty table with these columns. The result
        is deterministic.

        Non-finite pixels of a float frame (NaN padding: no data) read as the
        frame's median level: the cells of the finite part are found as without them.

    Raises:
        ValueError: If ``image`` is not a non-empty 2-D array, or for an unknown
            preset or a bad setting.
        TypeError: For unknown setting names, or a ``config`` of another type.
    """
    cfg = _resolve_config(config)
    image = np.asarray(image)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"detect_cells expects a non-empty 2-D frame, got shape {image.shape}")
    h, w = image.shape
    if cfg.mode == "tiles":
        boxes = tile_boxes((h, w), cfg.tile_size, cfg.tile_stride)
        return detections_frame(
            boxes["x"], boxes["y"], np.full(len(boxes), cfg.tile_size / 2), np.ones(len(boxes)), (h, w)
        )

    frame = _working_frame(image, cfg.method)
    f = cfg.factor
    hs, ws = max(1, h // f), max(1, w // f)
    if (hs, ws) != (h, w):
        frame = cv2.resize(frame, (ws, hs), interpolation=cv2.INTER_AREA)
    sx, sy = w / ws, h / hs
    scale = (sx + sy) / 2
    r0, r1 = cfg.min_radius / scale, cfg.max_radius / scale

    if cfg.method == "radial":
        rows, cols, radius, score = _detect_radial(frame, r0, r1, cfg)
    else:
        flat = flatten_background(frame, cfg.background_scale * r1)
        detector = {"halo": _detect_halo, "phase": _detect_phase, "texture": _detect_texture}[cfg.method]
        rows, cols, radius, score = detector(flat, r0, r1, cfg)
    if len(rows) == 0:
        return detections_frame(*(np.zeros(0),) * 4, (h, w))
    order = np.lexsort((cols, rows))
    rows, cols, radius, score = rows[order], cols[order], radius[order] * scale, score[order]
    x, y = (cols + 0.5) * sx - 0.5, (rows + 0.5) * sy - 0.5
    if cfg.border_margin > 0:
        inside = np.minimum.reduce([x, y, w - 1 - x, h - 1 - y]) >= cfg.border_margin
        x, y, radius, score = x[inside], y[inside], radius[inside], score[inside]
    return detections_frame(x, y, radius, score, (h, w))


def _detect_radial(
    frame: np.ndarray, r0: float, r1: float, cfg: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Radial-symmetry seeds on a working-scale float frame (any intensity scale) -> rows, cols, radius, score."""
    radii = np.geomspace(r0, r1, cfg.radial_steps)
    maps = radial_vote_stack(frame, radii, cfg.edge_threshold, cfg.vote_sigma)
    votes = best_votes(maps)
    rows, cols = local_maxima(votes, cfg.peak_distance * r0 / 2, 2 * cfg.min_score)
    radius = radius_at(maps, radii, rows, cols)
    score = votes[rows, cols].astype(np.float64) / 2
    keep = suppress_overlaps(rows, cols, radius, score, cfg.overlap)
    return rows[keep], cols[keep], np.clip(radius[keep], r0, r1), np.clip(score[keep], 0.0, 1.0)


def _detect_phase(
    flat: np.ndarray, r0: float, r1: float, cfg: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dark-body / bright-blob seeds on a flattened working-scale frame -> rows, cols, radius, score."""
    rows, cols, fg, score = phase_seeds(flat, r0, r1, cfg)
    if len(rows) == 0:
        return rows, cols, np.zeros(0), np.zeros(0)
    return rows, cols, np.clip(_seed_radii(fg, rows, cols), r0, r1), score


def _detect_halo(
    flat: np.ndarray, r0: float, r1: float, cfg: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Halo-enclosure seeds on a flattened working-scale frame -> rows, cols, radius, score."""
    smooth = cv2.GaussianBlur(flat, (0, 0), max(cfg.contrast_sigma * r0, 0.5), borderType=cv2.BORDER_REFLECT)
    sample = smooth[::2, ::2]
    noise = max(robust_sigma(sample), NOISE_FLOOR)
    bright = (smooth > np.float32(np.median(sample) + cfg.threshold * noise)).astype(np.uint8)
    inside = cv2.distanceTransform(1 - bright, cv2.DIST_L2, 5)
    np.minimum(inside, np.float32(1.5 * r1 + 1), out=inside)
    rows, cols = local_maxima(inside, cfg.peak_distance * r0, 0.3 * r0)
    d0 = inside[rows, cols].astype(np.float64)
    ok = d0 <= r1
    rows, cols, d0 = rows[ok], cols[ok], d0[ok]
    if len(rows) == 0:
        return rows, cols, d0, d0
    enclosure, ring = enclosure_scores(bright, smooth, rows, cols, 1.5 * d0 + 1.5)
    centre = cv2.GaussianBlur(smooth, (0, 0), max(0.4 * r0, 1.0))[rows, cols]
    ok = (enclosure >= cfg.min_enclosure) & ((ring - centre) >= cfg.ring_contrast * noise)
    rows, cols, d0, enclosure = rows[ok], cols[ok], d0[ok], enclosure[ok]
    keep = suppress_overlaps(rows, cols, d0 + 2, d0, cfg.overlap)
    rows, cols, d0, enclosure = rows[keep], cols[keep], d0[keep], enclosure[keep]
    if not cfg.split_touching and len(rows) > 1:
        order = np.lexsort((cols, rows, -inside[rows, cols]))
        rows, cols, d0, enclosure = rows[order], cols[order], d0[order], enclosure[order]
        keep = merge_without_neck(inside, rows, cols, 2 * r1, cfg.neck_ratio)
        rows, cols, d0, enclosure = rows[keep], cols[keep], d0[keep], enclosure[keep]
    return rows, cols, np.clip(d0 + 1.0, r0, r1), enclosure


def _detect_texture(
    flat: np.ndarray, r0: float, r1: float, cfg: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Local-contrast seeds on a flattened working-scale frame -> rows, cols, radius, score."""
    mask = textured_mask(flat, cfg.contrast_sigma * r0, cfg.threshold)
    if cfg.fill_holes:
        mask = fill_holes(mask, math.pi * (2 * r1) ** 2)
    mask = remove_small_components(mask, cfg.min_area * math.pi * r0**2)
    occupancy = occupancy_map(mask, cfg.occupancy_sigma * r0)
    fg = (occupancy >= max(cfg.min_occupancy, 1e-6)).astype(np.uint8)

    if cfg.split_touching:
        dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
        seed_map = cv2.GaussianBlur(dist, (0, 0), 1.0)
        rows, cols = local_maxima(seed_map, cfg.peak_distance * r0, 0.5 * r0 if r0 > 1 else 0.5)
    else:
        seed_map = occupancy
        rows, cols = local_maxima(seed_map, cfg.peak_distance * r0, cfg.min_occupancy)
    if len(rows):
        keep = merge_without_neck(seed_map, rows, cols, 2 * r1, cfg.neck_ratio)
        rows, cols = rows[keep], cols[keep]
    if len(rows) == 0:
        empty = np.zeros(0)
        return rows, cols, empty, empty
    radius = np.clip(_seed_radii(fg, rows, cols), r0, r1)
    return rows, cols, radius, np.clip(occupancy[rows, cols], 0.0, 1.0).astype(np.float64)
