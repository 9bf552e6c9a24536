"""Generic reader: a user regular expression over file paths.

The pattern is matched (``re.fullmatch``) against each image's path relative
to the root, in POSIX form, or against the file name alone when the pattern
contains no ``/``. Named groups: ``well`` (required), ``field``, ``time``
(numeric, in ``time_unit``: ``h``, ``min``, ``s`` or ``d``) or ``timepoint`` (a scan number, times
``interval_h``: ``t01`` is 0 h; without ``interval_h`` a plate of several is refused), ``channel``,
``plate``, ``z``. Missing groups default to field 1, time 0, channel
``ch1``, plate = the root folder name, z 0.
"""

from __future__ import annotations

import re
from pathlib import Path

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.acquisition import Acquisition
from ferroscreen.io.frames import make_frame_table
from ferroscreen.io.incucyte import IMAGE_SUFFIXES
from ferroscreen.io.scan_interval import unstamped_interval
from ferroscreen.io.segment_outputs import input_paths
from ferroscreen.plate.wells import normalize_well

_UNITS = {"h": 1.0, "min": 1 / 60, "s": 1 / 3600, "d": 24.0}


def read_pattern(root: str | Path, pattern: str, time_unit: str = "h", interval_h: float | None = None
                 ) -> Acquisition:
    """Read images whose paths match ``pattern``.

    Hidden files (macOS ``._x.tif`` forks) and temporary ones are never read
    (:func:`~ferroscreen.io.segment_outputs.input_paths`).

    Raises:
        AcquisitionError: If the pattern is invalid, lacks a ``well`` group,
            ``time_unit`` is unknown, no file matches, or a plate of several scan numbers
            (``timepoint`` group) is read without ``interval_h``
            (:func:`~ferroscreen.io.scan_interval.unstamped_interval`).
    """
    root = Path(root)
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise AcquisitionError(f"--pattern '{pattern}': invalid regular expression ({exc})") from None
    if "well" not in rx.groupindex:
        raise AcquisitionError(f"--pattern '{pattern}': needs a named group (?P<well>...)")
    if {"time", "timepoint"} <= set(rx.groupindex):
        raise AcquisitionError(f"--pattern '{pattern}': a (?P<time>...) group or a (?P<timepoint>...) group, not both")
    if time_unit not in _UNITS:
        raise AcquisitionError(f"unknown time unit '{time_unit}' (use h, min, s or d)")
    scale = _UNITS[time_unit]
    on_name = "/" not in pattern
    records, skipped = [], []
    walk = input_paths(root)  # earlier segment outputs' label images carry the images' names: not input
    for p in walk.paths:
        if not p.is_file() or p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        target = p.name if on_name else p.relative_to(root).as_posix()
        m = rx.fullmatch(target)
        if not m:
            skipped.append((str(p), "does not match the pattern"))
            continue
        g = m.groupdict()

        def number(group: str, default: float, kind=float, g=g):
            text = g.get(group)
            try:
                return kind(text) if text else default
            except ValueError:
                raise ValueError(f"its {group} group matched '{text}', which is not a number") from None

        try:
            records.append(
                {
                    "plate": g.get("plate") or root.name,
                    "well": normalize_well(g["well"]),
                    "field": number("field", 1, int),
                    "channel": g.get("channel") or "ch1",
                    "z": number("z", 0, int),
                    "time_h": (number("timepoint", 0.0) if g.get("timepoint")  # a scan number until placed below
                               else number("time", 0.0) * scale),
                    "path": str(p.resolve()),
                }
            )
        except (ValueError, WellError) as exc:
            skipped.append((str(p), str(exc)))
    if not records:
        unread = next(((f, why) for f, why in skipped if why != "does not match the pattern"), None)
        if unread is not None:  # files the pattern matched, none readable: say why
            raise AcquisitionError(f"{root}: no image read with --pattern '{pattern}': {Path(unread[0]).name}: "
                                   f"{unread[1]}")
        raise AcquisitionError(f"{root}: no image matches --pattern '{pattern}'")
    if "timepoint" in rx.groupindex:  # scan numbers count from the first scan (t01 or t00 is 0 h)
        first = min(r["time_h"] for r in records)
        for plate in sorted({r["plate"] for r in records}):
            numbers = sorted({r["time_h"] for r in records if r["plate"] == plate})
            step = unstamped_interval(interval_h, len(numbers), plate,
                                      f"the timepoint group's {numbers[0]:g}-{numbers[-1]:g}")
            for r in records:
                if r["plate"] == plate:
                    r["time_h"] = (r["time_h"] - first) * step
    return Acquisition(root, "pattern", make_frame_table(records), skipped, [walk.note] if walk.note else [])
