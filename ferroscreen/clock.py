"""Durations as progress lines write them."""

from __future__ import annotations

import math


def clock(seconds: float) -> str:
    """``H:MM:SS`` of a duration in seconds (``?`` when not finite)."""
    if not math.isfinite(seconds):
        return "?"
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
