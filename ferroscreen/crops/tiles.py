"""Fixed-tile mode: cut a frame into a regular grid of square tiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["tile_boxes", "tile_frame"]


def _starts(length: int, tile: int, stride: int) -> np.ndarray:
    """Tile starts along one axis: every ``stride`` px, plus a last tile flush with the end."""
    if length <= tile:
        return np.zeros(1, np.int64)
    starts = np.arange(0, length - tile + 1, stride, dtype=np.int64)
    if starts[-1] != length - tile:
        starts = np.append(starts, length - tile)
    return starts


def tile_boxes(shape: tuple[int, int], tile: int = 224, stride: int | None = None) -> pd.DataFrame:
    """The tile grid of a frame of ``shape`` (no pixels needed).

    Tiles start at 0 and every ``stride`` px; when the grid does not end flush
    with the frame one more tile is placed flush with the far edge (overlapping
    its neighbour), so the tiles always cover every pixel. A frame smaller
    than ``tile`` gets one tile, padded by :func:`tile_frame`.

    Args:
        shape: ``(height, width)``.
        tile: Tile edge (px).
        stride: Step between tile starts (px); default ``tile`` (no overlap).

    Returns:
        DataFrame with ``x, y`` (float tile centre, same convention as
        :func:`~ferroscreen.crops.detect_cells`), ``x0, y0, x1, y1`` (int,
        ``x1``/``y1`` exclusive, clipped to the frame), ``row``, ``col`` (grid
        indices); raster order.

    Raises:
        ValueError: For a non-positive tile or stride.
    """
    stride = tile if stride is None else stride
    if tile < 1 or stride < 1:
        raise ValueError(f"tile and stride must be >= 1, got {tile}, {stride}")
    h, w = shape
    ys, xs = _starts(h, tile, stride), _starts(w, tile, stride)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    gr, gc = np.meshgrid(np.arange(len(ys)), np.arange(len(xs)), indexing="ij")
    y0, x0 = gy.ravel(), gx.ravel()
    return pd.DataFrame(
        {
            "x": x0 + (tile - 1) / 2.0,
            "y": y0 + (tile - 1) / 2.0,
            "x0": x0,
            "y0": y0,
            "x1": np.minimum(x0 + tile, w),
            "y1": np.minimum(y0 + tile, h),
            "row": gr.ravel(),
            "col": gc.ravel(),
        }
    )


def tile_frame(
    image_normalized: np.ndarray, tile: int = 224, stride: int | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Cut a (normalised) frame into square tiles.

    Args:
        image_normalized: 2-D frame, typically from :func:`~ferroscreen.crops.normalize_frame`.
        tile: Tile edge (px); the reference study used 224.
        stride: Step between tiles (px); default ``tile``.

    Returns:
        ``(tiles, boxes)``: float32 array ``(N, tile, tile)`` and the
        :func:`tile_boxes` table (row ``i`` describes ``tiles[i]``). The tiles
        cover every pixel; a frame smaller than ``tile`` is zero-padded at the
        bottom/right to one full tile.
    """
    image = np.asarray(image_normalized, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"tile_frame expects a 2-D frame, got shape {image.shape}")
    boxes = tile_boxes(image.shape, tile, stride)
    h, w = image.shape
    if h < tile or w < tile:
        image = np.pad(image, ((0, max(0, tile - h)), (0, max(0, tile - w))))
    win = np.lib.stride_tricks.sliding_window_view(image, (tile, tile))
    tiles = win[boxes["y0"].to_numpy(), boxes["x0"].to_numpy()]
    return np.ascontiguousarray(tiles, dtype=np.float32), boxes
