"""One time per scan: frames of one pass over a plate stamped a minute or two apart.

Instruments that stamp each well (or field) as it is imaged (Operetta/Harmony per-well
times, ImageXpress time-lapse, Cytation, some IncuCyte exports) give the frames of one
scan of a plate slightly different times. Read as they are, each stamp is a time point
of its own: a 7-scan plate becomes 19 time points, every well "missing" at most of them.
:func:`group_scan_times` takes such stamps as one scan.

The rule, per plate:

1. The plate's *scan interval* is the median, over its sites (``well, field, channel,
   z``), of the gaps between a site's consecutive stamps: each site is imaged once a
   scan, so this is the time between scans whatever the stamps of the other wells, and
   it follows an irregular schedule's usual interval (hourly, then every 4 h: 1 h or 4 h).
2. The *tolerance* is a quarter of that interval, at most :data:`MAX_TOLERANCE_H`
   (30 min); 30 min when no site is imaged twice (a single scan).
3. The plate's distinct stamps are walked in time order. A stamp joins the scan being
   built when it comes less than the tolerance after that scan's latest stamp *and*
   images none of the sites the scan holds already; otherwise it starts a scan. A long
   scan (a 384-well plate stamped well by well over 40 min) is one scan as long as its
   stamps follow each other closely; a time-lapse imaged every few minutes is never
   merged, since each of its stamps images the sites the previous one did.
4. Every frame of a scan takes the scan's **first** stamp: the first scan stays at 0 h,
   the time is the scan's start as IncuCyte and Harmony label scans, and it does not move
   while a scan's later wells are still landing (``score --watch``: frames already scored
   keep their time). Wells stamped earlier that land after the others (copied out of order)
   move the scan to their stamp, and a score store moves its frames with it. The frame's own
   stamp is kept in the column :data:`STAMP_COLUMN`, added to the frame table only when some
   time changed.

A site imaged twice within one scan window (a well re-imaged a minute later) is never
merged with itself: its second stamp starts a scan of its own, kept apart as a separate
time point, and a note names it.

Plates whose frames of a scan share one time (the simulator's, most exports) are
returned unchanged, without the extra column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.io.scans import SITE_KEYS

__all__ = ["MAX_TOLERANCE_H", "STAMP_COLUMN", "TOLERANCE_FRACTION", "group_scan_times", "scan_tolerance_h"]

#: The largest gap between a scan's consecutive stamps (hours).
MAX_TOLERANCE_H = 0.5
#: The tolerance as a fraction of the plate's scan interval.
TOLERANCE_FRACTION = 0.25
#: The frame-table column holding each frame's own time stamp when stamps were grouped.
STAMP_COLUMN = "time_stamp_h"
#: How many re-imaged sites a note names.
NAMED_REPEATS = 3

_SORT = ["plate", "time_h", "well", "field", "channel", "z"]


def scan_tolerance_h(site: np.ndarray, times: np.ndarray) -> float:
    """The grouping tolerance of one plate (hours): a quarter of its scan interval, at most 30 min.

    Args:
        site: An integer code per frame naming its site.
        times: Each frame's time stamp in hours (no NaN).
    """
    order = np.lexsort((times, site))
    t, s = times[order], site[order]
    gaps = np.diff(t)
    gaps = gaps[(s[1:] == s[:-1]) & (gaps > 0)]
    if not gaps.size:
        return MAX_TOLERANCE_H
    return float(min(MAX_TOLERANCE_H, TOLERANCE_FRACTION * np.median(gaps)))


def group_scan_times(frames: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Give every frame of a scan the scan's time (see the module docstring for the rule).

    Args:
        frames: A frame table.

    Returns:
        The frame table (the same object when no stamp was grouped; else re-sorted, with
        ``time_h`` the scan's first stamp and :data:`STAMP_COLUMN` the frame's own), and
        notes: one line when stamps were grouped, one naming sites imaged twice within one
        scan window (kept apart).
    """
    if frames.empty or "time_h" not in frames.columns or "plate" not in frames.columns:
        return frames, []
    keys = [k for k in SITE_KEYS if k in frames.columns]
    times = frames["time_h"].to_numpy(float)
    snapped = times.copy()
    n_stamps = n_scans = n_plates = 0
    spread = 0.0
    repeats: list[str] = []
    several = frames["plate"].nunique() > 1
    for rows in frames.groupby("plate", sort=False).indices.values():
        rows = rows[~np.isnan(times[rows])]
        t = times[rows]
        stamps = np.unique(t)
        if len(stamps) < 2 or not (np.diff(stamps) < MAX_TOLERANCE_H).any():
            continue
        sites = frames.iloc[rows]
        site = sites.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
        tol = scan_tolerance_h(site, t)
        pos = np.searchsorted(stamps, t)
        start, found = _walk(stamps, pos, site, tol)
        for j, code in found:  # a site imaged again within the tolerance: kept apart
            again = np.flatnonzero(site == code)
            before = t[again][t[again] < stamps[j]].max()
            row = sites.iloc[int(again[pos[again] == j][0])]
            repeats.append(f"{_site(row, keys, several)} at {before:g} h and {stamps[j]:g} h")
        scans = np.unique(start)
        if len(scans) == len(stamps):
            continue
        snapped[rows] = start[pos]
        n_plates += 1
        n_stamps += len(stamps)
        n_scans += len(scans)
        spread = max(spread, float(np.max(stamps - start)))
    notes = []
    if n_plates:
        where = f" in {n_plates} plates" if n_plates > 1 else ""
        notes.append(f"time stamps within {_minutes(spread)} of each other taken as one scan ({n_stamps} stamps -> "
                     f"{n_scans} scans{where}; each frame at its scan's first stamp, its own in {STAMP_COLUMN})")
    if repeats:
        shown = "; ".join(repeats[:NAMED_REPEATS]) + (" …" if len(repeats) > NAMED_REPEATS else "")
        notes.append(f"{len(repeats)} site(s) imaged twice within one scan window, kept as separate time points "
                     f"({shown})")
    if not n_plates:
        return frames, notes
    out = frames.copy()
    own = out[STAMP_COLUMN].to_numpy(float) if STAMP_COLUMN in out.columns else times
    out[STAMP_COLUMN] = np.where(np.isnan(own), times, own)
    out["time_h"] = snapped
    order = [c for c in _SORT if c in out.columns]
    out = out.sort_values(order, kind="stable").reset_index(drop=True)
    out.attrs = dict(frames.attrs)
    return out, notes


def _walk(stamps: np.ndarray, pos: np.ndarray, site: np.ndarray, tol: float) -> tuple[np.ndarray, list]:
    """Each stamp's scan start, and the stamps that re-image a site of the scan within ``tol``.

    Args:
        stamps: The plate's distinct stamps, ascending.
        pos: Each frame's index into ``stamps``.
        site: Each frame's site code.
        tol: The tolerance (hours).

    Returns:
        ``(start, repeats)``: per stamp, the first stamp of its scan; ``(stamp index, site code)``
        for each stamp kept apart because it re-images a site (the first such) of the scan before it
        within ``tol`` of that site's own previous stamp (back-to-back scans, whose next scan begins
        within ``tol`` of the last one's end, re-image their sites a whole interval later: no repeat).
    """
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(len(stamps) + 1))
    seen = np.zeros(int(site.max()) + 1, dtype=bool)
    site_last = np.full(len(seen), -np.inf)
    held: list[np.ndarray] = []
    start = np.empty(len(stamps))
    repeats = []
    first = last = stamps[0]
    for j, stamp in enumerate(stamps):
        here = site[order[bounds[j]:bounds[j + 1]]]
        join = j > 0 and stamp - last < tol
        if join and seen[here].any():
            again = here[seen[here]]
            close = again[stamp - site_last[again] < tol]
            if len(close):
                repeats.append((j, int(close[0])))
            join = False
        if not join:
            for h in held:
                seen[h] = False
            held = []
            first = stamp
        seen[here] = True
        site_last[here] = stamp
        held.append(here)
        start[j] = first
        last = stamp
    return start, repeats


def _site(row: pd.Series, keys: list[str], several: bool) -> str:
    """``B02 field 1 phase`` (``P1 B02 ...`` when ``several`` plates; ``z2`` when not plane 0)."""
    parts = [str(row["plate"])] if several else []
    parts.append(str(row.get("well", "")))
    if "field" in keys:
        parts.append(f"field {row['field']}")
    if "channel" in keys and str(row["channel"]):
        parts.append(str(row["channel"]))
    if "z" in keys and int(row["z"]):
        parts.append(f"z{int(row['z'])}")
    return " ".join(parts)


def _minutes(hours: float) -> str:
    """A span in hours as ``3 min`` (``40 s`` under a minute)."""
    seconds = hours * 3600
    if seconds < 59.5:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60, 1):g} min"
