"""How long ``score --watch`` waits with nothing new before it stops.

An incubator imager scans a plate every 1-4 h, so a fixed wait of minutes ends a watch between
two scans. Unless ``--idle-exit-s`` is given, the wait is :data:`IDLE_SCANS` of the plate's scan
intervals (:func:`ferroscreen.io.scans.scan_interval_h`: the median gap between the scans seen so
far; :data:`FIRST_INTERVAL_H` before a second scan has landed), at least :data:`MIN_IDLE_S`.
Before the first scan it is the wait of one scan seen: ``IDLE_SCANS x FIRST_INTERVAL_H``.
"""

from __future__ import annotations

import pandas as pd

from ferroscreen.io.scans import scan_interval_h

__all__ = ["FIRST_INTERVAL_H", "IDLE_SCANS", "MIN_IDLE_S", "describe_wait", "idle_limit_s"]

#: Scan intervals a watch waits with nothing new before it stops (default ``--idle-exit-s``).
IDLE_SCANS = 2.5
#: The scan interval assumed before a plate's second scan lands: the slowest common incubator schedule.
FIRST_INTERVAL_H = 4.0
#: The shortest default wait, in seconds.
MIN_IDLE_S = 600.0


def idle_limit_s(idle_exit_s: float | None, frames: pd.DataFrame | None = None) -> tuple[float, str]:
    """Seconds to wait with nothing new, and why (empty when ``idle_exit_s`` was given).

    ``frames`` is the plate's frame table so far (``time_h``); None or without two scans: the interval
    is :data:`FIRST_INTERVAL_H`.
    """
    if idle_exit_s is not None:
        return float(idle_exit_s), ""
    seen = scan_interval_h(frames) if frames is not None and len(frames) else None
    interval = seen if seen is not None and seen > 0 else FIRST_INTERVAL_H
    why = (f"{IDLE_SCANS:g} scan intervals of {describe_wait(interval * 3600)}"
           + ("" if seen else " (assumed before a second scan)"))
    if IDLE_SCANS * interval * 3600 < MIN_IDLE_S:
        return MIN_IDLE_S, f"at least {describe_wait(MIN_IDLE_S)}; {why} is less"
    return IDLE_SCANS * interval * 3600, why


def describe_wait(seconds: float) -> str:
    """``seconds`` as a person reads a wait: ``45 s``, ``10 min``, ``2 h 30 min``."""
    if seconds < 120:
        return f"{seconds:g} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")
