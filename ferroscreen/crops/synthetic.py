"""Small synthetic brightfield frames with known cells, for tests and benchmarks.

Not a plate simulator (that is :mod:`ferroscreen.simulate`): one frame, drawn
deterministically from a seed, with the cell looks the detector must handle.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

__all__ = ["CELL_LOOKS", "draw_cells", "random_cells"]

#: Cell appearances :func:`draw_cells` knows.
CELL_LOOKS = ("alive", "apoptotic", "ghost", "granular")


def random_cells(
    shape: tuple[int, int],
    n: int,
    radius: tuple[float, float] = (6.0, 10.0),
    touching_pairs: int = 0,
    seed: int = 0,
    looks: tuple[str, ...] = CELL_LOOKS,
    margin: float = 0.0,
) -> pd.DataFrame:
    """Non-overlapping random cells (plus ``touching_pairs`` pairs of cells in contact).

    Args:
        shape: Frame ``(height, width)``.
        n: Number of isolated cells to place (fewer if the frame is too crowded).
        radius: Range of radii (px).
        touching_pairs: Pairs of equal cells whose rims touch (centres ``2 r`` apart).
        seed: Random seed.
        looks: Looks to draw from (cycled in order).
        margin: Minimum distance of a centre from the frame edge, in radii
            (0 allows cells cut by the border).

    Returns:
        DataFrame ``x, y, radius, look`` (float centres, column ``x``).
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    cells: list[tuple[float, float, float]] = []

    def free(x: float, y: float, r: float) -> bool:
        return all(np.hypot(x - cx, y - cy) > r + cr + 3 for cx, cy, cr in cells)

    for _ in range(touching_pairs):
        for _try in range(200):
            r = rng.uniform(*radius)
            ang = rng.uniform(0, np.pi)
            x, y = rng.uniform(2 * r, w - 2 * r), rng.uniform(2 * r, h - 2 * r)
            x2, y2 = x + 2 * r * np.cos(ang), y + 2 * r * np.sin(ang)
            if 0 <= x2 < w and 0 <= y2 < h and free(x, y, r) and free(x2, y2, r):
                cells += [(x, y, r), (x2, y2, r)]
                break
    for _ in range(n):
        for _try in range(200):
            r = rng.uniform(*radius)
            lo = margin * r
            x, y = rng.uniform(lo, w - 1 - lo), rng.uniform(lo, h - 1 - lo)
            if free(x, y, r):
                cells.append((x, y, r))
                break
    arr = np.array(cells, np.float64).reshape(-1, 3)
    return pd.DataFrame(
        {"x": arr[:, 0], "y": arr[:, 1], "radius": arr[:, 2], "look": [looks[i % len(looks)] for i in range(len(arr))]}
    )


def draw_cells(
    cells: pd.DataFrame,
    shape: tuple[int, int],
    background: float = 0.5,
    noise: float = 0.02,
    seed: int = 0,
    dtype: type = np.float32,
    gradient: float = 0.0,
) -> np.ndarray:
    """Draw cells on a flat background.

    Looks: ``alive`` (dark textured body, bright halo outside a dark rim),
    ``apoptotic`` (shrunken dark body, radius x0.6), ``ghost`` (swollen pale
    interior at background level with a thin bright rim), ``granular``
    (swollen, strongly speckled interior).

    Args:
        cells: Table with ``x, y, radius`` and optional ``look`` (default ``alive``).
        shape: Frame ``(height, width)``.
        background: Background level in [0, 1].
        noise: Gaussian pixel-noise SD (relative to a [0, 1] range).
        seed: Random seed for texture and noise.
        dtype: Output dtype: float32 (values ~[0, 1]), uint8 or uint16 (scaled to the type's range).
        gradient: Add a left-to-right illumination ramp of this amplitude.

    Returns:
        The frame as ``dtype``.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.full(shape, background, np.float32)
    texture = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), 1.0)
    looks = cells["look"] if "look" in cells else ["alive"] * len(cells)
    for x, y, r, look in zip(cells["x"], cells["y"], cells["radius"], looks, strict=True):
        x0, x1 = int(max(0, x - 2 * r - 3)), int(min(w, x + 2 * r + 4))
        y0, y1 = int(max(0, y - 2 * r - 3)), int(min(h, y + 2 * r + 4))
        if x0 >= x1 or y0 >= y1:
            continue
        d = np.hypot(xx[y0:y1, x0:x1] - x, yy[y0:y1, x0:x1] - y)
        tex = texture[y0:y1, x0:x1]
        patch = img[y0:y1, x0:x1]
        if look == "apoptotic":
            rr = 0.6 * r
            patch += np.where(d < rr, -0.30 + 0.05 * tex, 0) + 0.12 * np.exp(-((d - rr - 1.0) ** 2) / 2.0)
        elif look == "ghost":
            patch += 0.25 * np.exp(-((d - r) ** 2) / 1.0) + np.where(d < r, 0.02 * tex, 0)
        elif look == "granular":
            patch += np.where(d < r, -0.08 + 0.15 * tex, 0) + 0.15 * np.exp(-((d - r - 1.0) ** 2) / 2.0)
        else:
            patch += (
                np.where(d < r, -0.15 + 0.06 * tex, 0)
                - 0.10 * np.exp(-((d - r + 1.0) ** 2) / 1.5)
                + 0.25 * np.exp(-((d - r - 1.5) ** 2) / 3.0)
            )
    if gradient:
        img += gradient * (xx / max(w - 1, 1) - 0.5)
    img += noise * rng.standard_normal(shape).astype(np.float32)
    if np.dtype(dtype) == np.float32:
        return img
    top = np.iinfo(dtype).max
    return np.clip(img * top * 0.8, 0, top).astype(dtype)
