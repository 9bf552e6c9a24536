"""Time order within a site: which frame is the same site's next scan.

A *site* is one ``plate, well, field, channel, z`` of the frame table; its
scans are its frames in ``time_h`` order. A classifier that looks one scan
ahead (a cell's look at ``t`` and, cut at the same place, at the next scan)
needs, for every frame, the path of that next scan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SITE_KEYS", "next_scan_paths", "scan_interval_h"]

#: Frame-table columns that name a site (those present are used).
SITE_KEYS = ("plate", "well", "field", "channel", "z")


def next_scan_paths(frames: pd.DataFrame, max_gap_h: float | None = None) -> pd.Series:
    """The path of each frame's next scan of the same site, aligned with ``frames.index``.

    Args:
        frames: A frame table (at least ``well``, ``time_h`` and ``path``).
        max_gap_h: When set, a next scan more than this many hours later is
            not used (a gap in imaging: the cell has moved or changed too much).

    Returns:
        Series of ``str`` paths, ``None`` for a site's last scan (or past a gap).
        Frames of one site at the same time (duplicates) all point at the
        first later scan.
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
        k = np.searchsorted(distinct, times) + 1
        has_next = k < len(distinct)
        nxt_t = distinct[np.minimum(k, len(distinct) - 1)]
        if max_gap_h is not None:
            has_next &= nxt_t - times <= max_gap_h
        nxt_path = paths[first[np.minimum(k, len(distinct) - 1)]]
        out.loc[site.index[has_next]] = nxt_path[has_next]
    return out


def scan_interval_h(frames: pd.DataFrame) -> float | None:
    """The plate's typical time between scans: the median gap between its distinct ``time_h`` values.

    ``None`` with fewer than two timepoints.
    """
    times = np.unique(frames["time_h"].to_numpy(float)) if len(frames) else np.zeros(0)
    return float(np.median(np.diff(times))) if len(times) > 1 else None
