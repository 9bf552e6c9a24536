"""The colour of each class in every figure and overlay (report, gallery, well overlays)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

#: Colour of each death mode (others get tab10 colours in order).
MODE_COLORS = {
    "alive": "#4d9221",
    "apoptosis": "#2166ac",
    "ferroptosis": "#c0392b",
    "necroptosis": "#7b3294",
    "autophagy": "#e08214",
    "pyroptosis": "#c51b7d",
    "necrosis": "#8c510a",
    "parthanatos": "#01665e",
    "cytostatic": "#737373",
}
#: matplotlib's tab10 palette, for classes without a fixed colour.
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf")


def mode_color(mode: str, order: Sequence[str] = ()) -> str:
    """The ``#rrggbb`` colour of ``mode``.

    Fixed for known modes; else tab10 by its position in ``order`` (by a hash
    of its name when it is not in ``order``).
    """
    if mode in MODE_COLORS:
        return MODE_COLORS[mode]
    idx = list(order).index(mode) if mode in order else zlib.crc32(mode.encode()) % 10
    return TAB10[idx % 10]


def mode_bgr(mode: str, order: Sequence[str] = ()) -> tuple[int, int, int]:
    """:func:`mode_color` as an OpenCV ``(b, g, r)`` tuple."""
    h = mode_color(mode, order).lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return b, g, r
