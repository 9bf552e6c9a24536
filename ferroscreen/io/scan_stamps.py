"""Each scan's time from its images' own stamps, and a place on the plate's clock for scans without one.

Readers whose instrument stamps images (TIFF ``DateTime``, MetaSeries ``acquisition-time-local``)
ask one image a scan (:func:`scan_stamps`), a further one only when that cannot be read (a copy in
progress). A scan without a readable stamp among stamped scans is placed by the plate's own interval
(:func:`stamped_step`, :func:`place_unstamped`) and named in one note (:func:`placed_note`); the
readers that number scans by timepoint alone take all of it from :func:`timepoint_hours`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from ferroscreen.io.frames import tiff_problem
from ferroscreen.io.scan_interval import unstamped_interval

K = TypeVar("K", bound=Hashable)

#: How many scans without a stamp a note names.
NAMED_SCANS = 3


def scan_stamps(
    scans: dict[K, list[str]], read: Callable[[Path], datetime | None], what: str
) -> tuple[dict[K, datetime], dict[K, str]]:
    """Each scan's time stamp: that of its first image (in the order given) whose stamp can be read.

    One image a scan is opened unless it cannot be read (empty, truncated, not a
    TIFF: :func:`~ferroscreen.io.frames.tiff_problem` says so; a copy in progress): then the
    scan's next image is asked, and so on. An image that can be read but carries no stamp ends
    the search for its scan (the instrument wrote none; asking on would open every image of an
    unstamped plate).

    Args:
        scans: Each scan's image paths, the one to ask first first.
        read: The stamp of one image, ``None`` when it has none or cannot be read.
        what: The stamp's name for the reasons (``DateTime tag``).

    Returns:
        ``(stamps, why)``: the stamp of each scan that has one, and for each other scan why not
        (``B2_02_1_1_GFP_003.tif: no DateTime tag``, ``none of its 4 images can be read
        (B2_02_1_1_GFP_003.tif: empty file)``).
    """
    stamps: dict[K, datetime] = {}
    why: dict[K, str] = {}
    for key, paths in scans.items():
        first_problem = None
        for path in paths:
            stamp = read(Path(path))
            if stamp is not None:
                stamps[key] = stamp
                break
            problem = tiff_problem(path)
            if problem is None:
                why[key] = f"{Path(path).name}: no {what}"
                break
            first_problem = first_problem or f"{Path(path).name}: {problem}"
        else:
            many = f"none of its {len(paths)} images can be read" if len(paths) > 1 else "its image cannot be read"
            why[key] = f"{many} ({first_problem})"
    return stamps, why


def stamped_step(hours: dict[K, float], index: Callable[[K], int], group: Callable[[K], Hashable]) -> float | None:
    """The plate's own hours per timepoint step, from its stamped scans; ``None`` when no two give one.

    The median, over consecutive stamped scans of one group (run folder) in index order, of
    the hours between them over the index steps between them.
    """
    by_group: dict[Hashable, list[K]] = {}
    for k in sorted(hours, key=index):
        by_group.setdefault(group(k), []).append(k)
    rates = [(hours[b] - hours[a]) / (index(b) - index(a))
             for keys in by_group.values() for a, b in zip(keys[:-1], keys[1:], strict=True) if index(b) > index(a)]
    return float(np.median(rates)) if rates else None


def place_unstamped(
    hours: dict[K, float],
    missing: Iterable[K],
    step: float,
    index: Callable[[K], int],
    group: Callable[[K], Hashable] = lambda k: None,
    fixed: dict[K, float] | None = None,
) -> dict[K, float]:
    """Hours of every scan of a plate, those without a stamp placed ``step`` per timepoint from a stamped one.

    A scan in ``missing`` is placed from the stamped scan of its group nearest to it in index
    (the earlier on a tie; any group's when its own has none): that scan's hours plus the index
    steps between them times ``step``. Scans in ``fixed`` keep the hours given. The plate's first
    scan is then at 0 h.

    Args:
        hours: Hours of the stamped scans (at least one).
        missing: Scans without a stamp.
        step: Hours per timepoint (:func:`stamped_step`, else the interval the user gave).
        index: A scan's timepoint number.
        group: A scan's group (run folder); timepoints are counted within it.
        fixed: Hours of scans placed otherwise, on the same clock as ``hours``.
    """
    out = {**hours, **(fixed or {})}
    for k in missing:
        refs = [r for r in hours if group(r) == group(k)] or list(hours)
        ref = min(refs, key=lambda r: (abs(index(r) - index(k)), index(r) > index(k)))
        out[k] = hours[ref] + (index(k) - index(ref)) * step
    t0 = min(out.values())
    return {k: h - t0 for k, h in out.items()}


def placed_note(plate: str, why: dict[K, str], hours: dict[K, float], label: Callable[[K], str], how: str) -> str:
    """One line naming the scans of ``plate`` without a readable stamp, the hours each was placed at, and how."""
    keys = sorted(why, key=lambda k: hours[k])
    shown = "; ".join(f"{label(k)} at {hours[k]:g} h ({why[k]})" for k in keys[:NAMED_SCANS])
    more = f"; and {len(keys) - NAMED_SCANS} more" if len(keys) > NAMED_SCANS else ""
    return f"{plate}: no readable time stamp for {len(keys)} scan(s), placed {how}: {shown}{more}"


def interval_how(step: float, own: bool, unit: str) -> str:
    """How :func:`place_unstamped` placed scans, for :func:`placed_note`."""
    if own:
        return f"at the plate's own interval ({step:g} h per {unit}, from its stamped scans)"
    return f"{step:g} h per {unit} (--interval-h; the plate's stamped scans give no interval)"


def timepoint_hours(
    plate: str, stamps: dict[int, datetime], why: dict[int, str], interval_h: float | None, notes: list[str],
    label: Callable[[int], str], unit: str,
) -> dict[int, float]:
    """Hours of a plate's scans numbered by timepoint, from their stamps (:func:`scan_stamps`, at least one).

    The plate's first stamped scan is at 0 h; scans without a stamp are placed by the plate's own
    interval (:func:`stamped_step`, else ``interval_h``; :func:`place_unstamped`), in one note
    naming them (``label``: ``TimePoint_3``; ``unit``: what a step counts, ``TimePoint``).

    Raises:
        NoScanInterval: Scans without a stamp, stamped ones that give no interval and no ``interval_h``
            (:func:`~ferroscreen.io.scan_interval.unstamped_interval`).
    """
    t0 = min(stamps.values())
    hours = {t: (s - t0).total_seconds() / 3600 for t, s in stamps.items()}
    if not why:
        return hours
    own = stamped_step(hours, index=int, group=lambda t: None)
    step = own if own is not None else unstamped_interval(
        interval_h, len(why), plate, f"{', '.join(label(t) for t in sorted(why)[:NAMED_SCANS])}"
        f"{', …' if len(why) > NAMED_SCANS else ''}; its stamped scans give no interval", needed=True)
    hours = place_unstamped(hours, why, step, index=int)
    notes.append(placed_note(plate, why, hours, label, interval_how(step, own is not None, unit)))
    return hours
