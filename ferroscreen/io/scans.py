"""Time order within a site: which frame is the same site's next scan.

A *site* is one ``plate, well, field, channel, z`` of the frame table; its
scans are its frames in ``time_h`` order. A classifier that looks one scan
ahead (a cell's look at ``t`` and, cut at the same place, at the next scan)
needs, for every frame, the path of that next scan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SITE_KEYS", "later_scan_paths", "later_scans", "next_scan_paths", "scan_interval_h"]

#: Frame-table columns that name a site (those present are used).
SITE_KEYS = ("plate", "well", "field", "channel", "z")


def next_scan_paths(frames: pd.DataFrame, max_gap_h: float | None = None, step: int = 1) -> pd.Series:
    """The path of each frame's next scan of its site (``step``: the step-th later one), aligned with ``frames.index``.

    Args:
        frames: A frame table (at least ``well``, ``time_h`` and ``path``).
        max_gap_h: When set, a later scan more than ``step`` x this many hours
            later is not used (a gap in imaging: the cell has moved or changed too much).
        step: 1 for the next scan, 2 for the one after it, ...

    Returns:
        Series of ``str`` paths, ``None`` where the site has no ``step``-th
        later scan (or past a gap). Frames of one site at the same time
        (duplicates) all point at the first frame of that later time.
    """
    keys = [k for k in SITE_KEYS if k in frames.columns]
    out = pd.Series([None] * len(frames), index=frames.index, dtype=object)
    if frames.empty:
        return out
    for _, site in frames.groupby(keys, sort=False, dropna=False):
        site = site.sort_values("time_h", kind="stable")
        times = site["time_h"].to_numpy(float)
        paths = site["path"].astype(str).to_numpy()
        distinct, first = np.unique(times, return_index=True)
        k = np.searchsorted(distinct, times) + int(step)
        has_next = k < len(distinct)
        nxt_t = distinct[np.minimum(k, len(distinct) - 1)]
        if max_gap_h is not None:
            has_next &= nxt_t - times <= max_gap_h * int(step)
        nxt_path = paths[first[np.minimum(k, len(distinct) - 1)]]
        out.loc[site.index[has_next]] = nxt_path[has_next]
    return out


def later_scan_paths(frames: pd.DataFrame, n: int, max_gap_h: float | None = None) -> pd.Series:
    """Each frame's ``n`` later scans of its site as a tuple of paths (``None`` where there is none).

    ``n = 0`` gives empty tuples. See :func:`next_scan_paths` for ``max_gap_h``.
    """
    steps = [next_scan_paths(frames, max_gap_h, step).tolist() for step in range(1, int(n) + 1)]
    rows = list(zip(*steps, strict=True)) if steps else [()] * len(frames)
    return pd.Series(rows, index=frames.index, dtype=object)


def later_scans(frames: pd.DataFrame, k: int, max_gap_h: float | None = None) -> pd.Series | None:
    """Per frame, the later scans a model reading ``k`` of them needs.

    ``None`` for k = 0; the next scan's path (``None`` where none) for k = 1;
    a tuple of the next k paths for k >= 2.
    """
    if not k:
        return None
    if k == 1:
        nxt = next_scan_paths(frames, max_gap_h)
        return nxt.astype(object).where(nxt.notna(), None)
    return later_scan_paths(frames, k, max_gap_h)


def scan_interval_h(frames: pd.DataFrame) -> float | None:
    """The plate's typical time between scans: the median gap between its distinct ``time_h`` values.

    ``None`` with fewer than two timepoints.
    """
    times = np.unique(frames["time_h"].to_numpy(float)) if len(frames) else np.zeros(0)
    return float(np.median(np.diff(times))) if len(times) > 1 else None
