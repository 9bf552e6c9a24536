"""Adherent cells in phase contrast: one seed per dark cell body, plus phase-bright round cells.

Spread adherent cells in phase contrast have a dark, granular body (nucleus and
perinuclear cytoplasm) inside a paler spread cytoplasm, ringed by a bright halo;
touching cells are separated by bright halo lines. Cells that round up (mitosis,
detachment) turn phase-bright instead. So:

* foreground = locally textured pixels (see :func:`~ferroscreen.crops.foreground.textured_mask`),
  opened, holes filled, debris dropped;
* body seeds = maxima of the smoothed *darkness* (how far below the background
  the frame is, in noise SDs of :func:`~ferroscreen.crops.foreground.quiet_noise`,
  which does not grow with the cells' coverage) inside the foreground, merged when no neck
  separates them and no bright halo line crosses between them, kept where
  the foreground occupies most of the neighbourhood (isolated debris and thin
  halo fragments do not);
* bright seeds = compact bright blobs (a difference of Gaussians) far from every
  body seed.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy.spatial import cKDTree

from ferroscreen.crops.config import DetectorConfig
from ferroscreen.crops.foreground import (
    contrast_map,
    fill_holes,
    occupancy_map,
    quiet_noise,
    remove_small_components,
    textured_mask,
)
from ferroscreen.crops.peaks import local_maxima, merge_without_neck

__all__ = ["phase_seeds"]


def _foreground(flat: np.ndarray, r0: float, r1: float, cfg: DetectorConfig, noise: float) -> np.ndarray:
    mask = textured_mask(flat, cfg.contrast_sigma * r0, cfg.threshold, noise)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    if cfg.fill_holes:
        mask = fill_holes(mask, math.pi * (2 * r1) ** 2)
    return remove_small_components(mask, cfg.min_area * math.pi * r0**2)


def _bright_seeds(z: np.ndarray, sigma: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    bright = np.maximum(z, 0)
    blob = cv2.GaussianBlur(bright, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) - cv2.GaussianBlur(
        bright, (0, 0), 2.5 * sigma, borderType=cv2.BORDER_REFLECT
    )
    return local_maxima(blob, 2 * sigma, level)


def _unseeded_components(
    fg: np.ndarray, rows: np.ndarray, cols: np.ndarray, min_area: float
) -> tuple[np.ndarray, np.ndarray]:
    """One seed (the innermost pixel) per foreground component of ``min_area`` px or more that holds no seed.

    Thin spread cells (spindles, long processes) fill too little of their
    neighbourhood to pass the occupancy test, yet form a foreground component
    of their own; without this they would be lost.
    """
    n, lab, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    seeded = np.zeros(n, bool)
    seeded[lab[rows, cols]] = True
    seeded[0] = True
    todo = np.flatnonzero(~seeded & (stats[:, cv2.CC_STAT_AREA] >= min_area))
    if len(todo) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    dist = cv2.distanceTransform(fg, cv2.DIST_L2, 5)
    order = np.argsort(-dist, axis=None, kind="stable")  # innermost pixel first
    flat_lab = lab.ravel()[order]
    wanted = np.zeros(n, bool)
    wanted[todo] = True
    sel = wanted[flat_lab]
    first = np.unique(flat_lab[sel], return_index=True)[1]
    idx = order[np.flatnonzero(sel)[first]]
    r, c = np.divmod(idx, fg.shape[1])
    return r.astype(np.int64), c.astype(np.int64)


def phase_seeds(
    flat: np.ndarray, r0: float, r1: float, cfg: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cell seeds of a background-flattened working-scale phase-contrast frame.

    Args:
        flat: Background-flattened frame (background ~ 0).
        r0: Smallest cell radius at the working scale (px); every relative
            setting of ``cfg`` is in units of it.
        r1: Largest cell radius at the working scale (px).
        cfg: Detector settings (``method="phase"``): ``threshold``,
            ``contrast_sigma``, ``min_area``, ``fill_holes`` (foreground);
            ``body_sigma``, ``min_darkness``, ``peak_distance``,
            ``neck_ratio``, ``neck_barrier``, ``barrier_sigma`` (body seeds);
            ``occupancy_sigma``, ``min_occupancy`` (seed filter);
            ``bright_threshold``, ``bright_sigma``, ``bright_separation``
            (bright seeds; ``bright_threshold=0`` disables them).

    Returns:
        ``(rows, cols, foreground, score)``: seed positions (int arrays), the
        uint8 foreground mask, and per-seed scores in [0, 1] (foreground
        occupancy around the seed).
    """
    noise = quiet_noise(contrast_map(flat, cfg.contrast_sigma * r0))
    fg = _foreground(flat, r0, r1, cfg, noise)
    sample = flat[::2, ::2]
    z = (flat - np.float32(np.median(sample))) / np.float32(noise)
    body_sigma = max(cfg.body_sigma * r0, 0.5)
    dark = cv2.GaussianBlur(np.maximum(-z, 0) * fg, (0, 0), body_sigma, borderType=cv2.BORDER_REFLECT) * fg
    rows, cols = local_maxima(dark, cfg.peak_distance * r0, cfg.min_darkness)
    if len(rows):
        barrier = None
        if cfg.neck_barrier > 0:
            barrier = cv2.GaussianBlur(z, (0, 0), max(cfg.barrier_sigma * r0, 0.3), borderType=cv2.BORDER_REFLECT)
        keep = merge_without_neck(
            dark, rows, cols, 2 * r1, cfg.neck_ratio, barrier=barrier, barrier_level=cfg.neck_barrier
        )
        rows, cols = rows[keep], cols[keep]
    occupancy = occupancy_map(fg, cfg.occupancy_sigma * r0)
    ok = occupancy[rows, cols] >= cfg.min_occupancy
    rows, cols = rows[ok], cols[ok]
    if cfg.rescue_min_area > 0:
        rr, rc = _unseeded_components(fg, rows, cols, cfg.rescue_min_area * math.pi * r0**2)
        rows, cols = np.r_[rows, rr].astype(np.int64), np.r_[cols, rc].astype(np.int64)
    if cfg.bright_threshold > 0:
        br, bc = _bright_seeds(z, max(cfg.bright_sigma * r0, 0.5), cfg.bright_threshold)
        if len(br) and len(rows):
            gap, _ = cKDTree(np.column_stack([rows, cols])).query(np.column_stack([br, bc]))
            far = gap > cfg.bright_separation * r0
            br, bc = br[far], bc[far]
        rows, cols = np.r_[rows, br].astype(np.int64), np.r_[cols, bc].astype(np.int64)
    score = np.clip(occupancy[rows, cols], 0.0, 1.0).astype(np.float64)
    return rows, cols, fg, score
