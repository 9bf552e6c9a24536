"""Radial-symmetry votes: round cells as centres that their rim edges point away from.

In phase contrast and defocused brightfield every round suspension cell, whatever
its state (alive, shrunken apoptotic, pale swollen ferroptotic ghost with a thin
bright rim, granular necroptotic), is darker inside than on its bright rim or
halo. Along that inner edge the intensity gradient points *outwards*, so each
strong-gradient pixel ``p`` casts one vote at ``p - r * g / |g|`` for every
candidate radius ``r``: the votes of a cell's rim pile up at its centre, touching
cells each collect their own, and straight edges or noise spread out. This is a
simplified fast radial-symmetry transform (orientation votes weighted by a capped
edge strength), written for this package.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["background_edge_stats", "best_votes", "fill_missing", "radial_vote_map", "radial_vote_stack", "radius_at"]

#: Edge strengths (in robust noise SDs above the background's median) at which a vote reaches full weight.
FULL_WEIGHT = 6.0
#: Pixels sampled (on a regular grid) for the background's edge statistics.
MAX_SAMPLE = 16_384
#: Percentile of the sampled gradient magnitudes from which the background's edge noise is read
#: (see :func:`background_edge_stats`).
NOISE_PERCENTILE = 10.0
#: Gradient magnitudes at most this share of the sample's largest count as flat (no texture, no noise).
FLAT_EDGE = 1.0e-6
#: Median and robust SD (1.4826 x MAD) of a Rayleigh distribution of scale 1.
RAYLEIGH_MEDIAN = math.sqrt(2.0 * math.log(2.0))
RAYLEIGH_ROBUST_SD = 0.66487657
#: Vote pooling kernels reach this many sigmas each side.
TRUNCATE = 3.0
#: Votes pooled by a Gaussian at least this wide (px) are pooled at half resolution and upsampled (cubic).
HALF_RES_SIGMA = 2.0


def fill_missing(frame: np.ndarray) -> np.ndarray:
    """``frame`` as float32 with its non-finite pixels (NaN/inf: no data) set to the median of the finite ones.

    A flat patch of the frame's typical level casts no votes and takes no part in
    :func:`background_edge_stats`, so the cells in the finite part are found as in the
    same frame without the missing pixels. All pixels missing: all zeros. ``frame``
    itself is never modified; a frame without missing pixels is returned as float32
    (the input itself when it already is).
    """
    frame = np.asarray(frame)
    x = frame.astype(np.float32, copy=False)
    if frame.dtype.kind != "f":  # integer frames have no missing pixels
        return x
    missing = ~np.isfinite(x)
    if not missing.any():
        return x
    fill = np.float32(np.median(x[~missing])) if not missing.all() else np.float32(0.0)
    return np.where(missing, fill, x)


def radial_vote_stack(
    frame: np.ndarray,
    radii: np.ndarray,
    edge_threshold: float,
    vote_sigma: float,
    smooth_sigma: float = 1.0,
) -> list[np.ndarray]:
    """Pooled radial-symmetry votes for every candidate radius.

    Args:
        frame: 2-D float frame (any offset; only gradients matter). Non-finite
            pixels (no data) are read as the median of the finite ones
            (:func:`fill_missing`).
        radii: Candidate radii (px, > 0), e.g. ``np.geomspace(r_min, r_max, 7)``.
        edge_threshold: A pixel votes when its gradient magnitude exceeds the
            background's median magnitude by this many of the background's
            robust SDs of the magnitude (:func:`background_edge_stats`, on a
            regular grid of at most :data:`MAX_SAMPLE` pixels): the bar stays
            where it is however much of the frame the cells cover.
        vote_sigma: Votes for radius ``r`` are pooled by a Gaussian of
            ``max(vote_sigma * r, 0.7)`` px, truncated at :data:`TRUNCATE` sigmas
            (outlines are not perfect circles). Pooling at least
            :data:`HALF_RES_SIGMA` px wide runs on 2x2 block means of the
            votes, with the sigma reduced for the blocks' own spread, and is
            upsampled bicubically: a quarter of the work. Votes lose their
            position within a block, so the maps differ from full-resolution
            pooling by up to ~6 % of a map's maximum on simulated plates
            (more on the flanks of an artificially crisp peak), ~2 % at peaks.
        smooth_sigma: Gaussian sigma (px) applied before the gradients.

    Returns:
        One float32 map of the frame's shape per radius: the pooled,
        edge-weighted vote count divided by the circumference ``2 pi r``, i.e.
        roughly the fraction of a rim seen, times the width (px) of its edge
        band (a crisp full rim gives ~1.5-3). All zeros where no pixel votes.
        Deterministic.
    """
    x = cv2.GaussianBlur(fill_missing(frame), (0, 0), smooth_sigma, borderType=cv2.BORDER_REFLECT)
    gx = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3)
    # numpy, not cv2.magnitude: OpenCV's result depends on the arrays' memory alignment in the last bit
    mag = np.sqrt(np.square(gx) + np.square(gy))
    h, w = x.shape
    radii = np.asarray(radii, np.float64)
    step = max(2, math.ceil(math.sqrt(h * w / MAX_SAMPLE)))
    med, noise = background_edge_stats(mag[::step, ::step])
    # The noise floor is relative to the frame's scale: the votes do not depend on an affine
    # intensity map of the frame, so raw counts and normalised frames detect alike.
    scale = max(float(np.abs(x[::step, ::step]).max(initial=0.0)), 1.0e-30)
    noise = max(noise, 1e-6 * scale)
    voters = np.flatnonzero(mag > med + edge_threshold * noise)
    if len(voters) == 0:
        return [np.zeros((h, w), np.float32) for _ in radii]
    m = mag.ravel()[voters]
    ux, uy = gx.ravel()[voters] / m, gy.ravel()[voters] / m
    weight = np.minimum((m - med) / (FULL_WEIGHT * noise), 1.0).astype(np.float32)
    ys, xs = np.divmod(voters, w)
    xs, ys = xs.astype(np.float32), ys.astype(np.float32)
    # Votes land in a buffer padded by more than the largest radius, so no vote needs a bounds check;
    # pooling gets a view of the frame's part (zero beyond, as for any array): votes off the frame count for nothing.
    pad = int(math.ceil(float(radii.max()))) + 1
    hp, wp = h + 2 * pad, w + 2 * pad
    t = np.empty_like(ux)
    at = np.empty(len(ux), np.int32)
    # one vote buffer for all radii, cleared after each is pooled (the pooled maps are new arrays)
    votes = np.zeros(hp * wp, np.float32)
    grid = votes.reshape(hp, wp)
    frame_votes = grid[pad : pad + h, pad : pad + w]
    he, we = h + h % 2, w + w % 2  # half-resolution pooling covers an even extent
    even_votes = grid[pad : pad + he, pad : pad + we]
    maps = []
    for r in radii:
        sigma = max(vote_sigma * r, 0.7)
        np.multiply(uy, np.float32(r), out=t)
        np.subtract(ys, t, out=t)
        np.rint(t, out=t)
        at[:] = t
        at *= wp
        np.multiply(ux, np.float32(r), out=t)
        np.subtract(xs, t, out=t)
        np.rint(t, out=t)
        at += t.astype(np.int32)
        at += pad * wp + pad
        # Gaussian pooling keeps the sum; x 2 pi sigma^2 / (2 pi r) turns a pooled blob's peak into votes per rim px.
        np.add.at(votes, at, weight * np.float32(sigma * sigma / r))
        if sigma >= HALF_RES_SIGMA and min(h, w) >= 8:
            maps.append(_pool_half_res(grid, even_votes, pad, (h, w), sigma))
        else:
            half = math.ceil(TRUNCATE * sigma)
            maps.append(cv2.GaussianBlur(frame_votes, (2 * half + 1, 2 * half + 1), sigma,
                                         borderType=cv2.BORDER_CONSTANT))
        votes.fill(0.0)
    return maps


def background_edge_stats(magnitude: np.ndarray) -> tuple[float, float]:
    """Median and robust SD of the background's gradient magnitude, whatever the cells' coverage.

    Where there is no edge, the two gradient components of a smoothed frame are
    pixel noise: about Gaussian, zero-mean, of one SD ``s``, so the magnitude
    follows a Rayleigh distribution of scale ``s`` (median 1.18 ``s``, robust SD
    0.66 ``s``). ``s`` is read from the :data:`NOISE_PERCENTILE`-th percentile of
    ``magnitude``: pixels between cells, inside them and on the crests of their
    rims are that quiet, rim edges are not, so the estimate moves little as cells
    crowd the frame. On simulated 512 x 512 wells with 7 / 30 / 75 % of the frame
    within 5 px of a cell it reads the background's own median +3 / +20 / +90 %;
    the whole frame's median reads +5 / +35 / +300 % (its robust SD x5.7 at 75 %):
    with it, the estimate before, the vote threshold rose with the cells until
    only the crispest of them voted.

    Pixels without any gradient (a flat region: a stitched frame's zero padding,
    a masked or clipped area) are no background noise and are left out; with
    them, a frame 10 % flat read a noise of 0 and every faint texture voted.

    Non-finite magnitudes (from missing pixels) are left out too.

    Args:
        magnitude: Gradient magnitudes (any shape; a regular sample of the frame).

    Returns:
        ``(median, robust_sd)`` of the background's magnitude (0 for an all-zero or all-NaN input).
    """
    magnitude = np.asarray(magnitude, np.float64).ravel()
    magnitude = magnitude[np.isfinite(magnitude)]
    top = float(magnitude.max(initial=0.0))
    textured = magnitude[magnitude > FLAT_EDGE * top]
    if textured.size == 0:
        return 0.0, 0.0
    s = float(np.percentile(textured, NOISE_PERCENTILE)) / math.sqrt(-2.0 * math.log1p(-NOISE_PERCENTILE / 100))
    return RAYLEIGH_MEDIAN * s, RAYLEIGH_ROBUST_SD * s


def _pool_half_res(grid: np.ndarray, even_votes: np.ndarray, pad: int, shape: tuple[int, int],
                   sigma: float) -> np.ndarray:
    """Gaussian pooling (``sigma`` px) of the frame's votes in ``grid``, computed on 2x2 block means.

    A 2x2 block mean spreads votes by 1/4 px^2 per axis; the half-resolution
    Gaussian makes up the rest of ``sigma``. Votes beyond the frame count
    for nothing (the even extent's extra row/column is cleared first).
    """
    h, w = shape
    he, we = even_votes.shape
    if he != h:
        grid[pad + h, :] = 0.0
    if we != w:
        grid[:, pad + w] = 0.0
    small = cv2.resize(even_votes, (we // 2, he // 2), interpolation=cv2.INTER_AREA)
    s2 = math.sqrt(sigma * sigma - 0.25) / 2
    half = math.ceil(TRUNCATE * s2)
    pooled = cv2.GaussianBlur(small, (2 * half + 1, 2 * half + 1), s2, borderType=cv2.BORDER_CONSTANT)
    up = cv2.resize(pooled, (we, he), interpolation=cv2.INTER_CUBIC)
    return up if (he, we) == (h, w) else np.ascontiguousarray(up[:h, :w])


def best_votes(maps: list[np.ndarray]) -> np.ndarray:
    """Pixel-wise maximum over the per-radius vote maps of :func:`radial_vote_stack`."""
    best = maps[0].copy()
    for votes in maps[1:]:
        np.maximum(best, votes, out=best)
    return best


def radius_at(maps: list[np.ndarray], radii: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The radius with the most votes at each pixel ``(rows[i], cols[i])`` (first on ties; 0 without votes)."""
    if len(rows) == 0:
        return np.zeros(0)
    at = np.stack([votes[rows, cols] for votes in maps])
    return np.where(at.max(axis=0) > 0, np.asarray(radii, np.float64)[at.argmax(axis=0)], 0.0)


def radial_vote_map(
    frame: np.ndarray,
    radii: np.ndarray,
    edge_threshold: float,
    vote_sigma: float,
    smooth_sigma: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Best radial-symmetry vote and its radius at every pixel.

    Same arguments as :func:`radial_vote_stack`. Returns ``(votes, radius)``,
    float32 maps of the frame's shape: the maximum over radii of the stack
    (a crisp full rim gives ~1.5-3) and the radius that gave it (0 where no
    vote landed; votes come from the rim's inner edge, so it reads 1-3 px
    below the outline). Detection only needs the radius at its peaks and uses
    :func:`radius_at` instead of the full radius map.
    """
    maps = radial_vote_stack(frame, radii, edge_threshold, vote_sigma, smooth_sigma)
    best = best_votes(maps)
    rows, cols = np.indices(best.shape).reshape(2, -1)
    return best, radius_at(maps, radii, rows, cols).astype(np.float32).reshape(best.shape)
