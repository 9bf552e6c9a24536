"""The colour, marker and dash of each class in every figure and overlay (report, gallery, well overlays).

The fixed colours (:data:`MODE_COLORS` and :data:`RESCUE_COLOR`) start from the Okabe–Ito hues and were
tuned so that every pair of them stays apart for readers with a colour-vision deficiency: the smallest
CIEDE2000 difference between any two of the ten, measured on the colours as seen with normal vision and as
simulated (Machado et al. 2009, severity 1) for deuteranopia, protanopia and tritanopia, is

=============  ========  =========================
vision         min ΔE00  closest pair
=============  ========  =========================
normal         17.9      autophagy / rescue
deuteranopia   15.2      autophagy / rescue
protanopia     15.6      apoptosis / parthanatos
tritanopia     15.3      ferroptosis / necrosis
=============  ========  =========================

(alive, apoptosis, ferroptosis, necroptosis, autophagy and rescue alone: at least 15.2). Colour is never the
only cue: each mode also has its own filled marker (:data:`MODE_MARKERS`, none a triangle, which marks an
EC50 held at a tested limit) and line dash (:func:`mode_style`).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

#: Colour of each death mode (others get tab10 colours in order).
MODE_COLORS = {
    "alive": "#117d61",
    "apoptosis": "#205efe",
    "ferroptosis": "#8e0c00",
    "necroptosis": "#f86f9a",
    "autophagy": "#966d06",
    "pyroptosis": "#392394",
    "necrosis": "#661f3e",
    "parthanatos": "#0da7fe",
    "cytostatic": "#606484",
}
#: Colour of the first rescue agent's curves, apart from every mode's colour (module doc).
RESCUE_COLOR = "#b89f04"
#: matplotlib's tab10 palette, for classes without a fixed colour.
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf")
#: Colour-blind-safe cycle (Okabe–Ito, without its yellow, too pale on white) for groups that are not modes
#: (cell lines, further rescue agents); always drawn with :data:`GROUP_MARKERS` and :data:`DASHES` as well.
GROUP_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: Filled marker of each death mode; others take :data:`MARKERS` in order.
MODE_MARKERS = {
    "alive": "o",
    "apoptosis": "s",
    "ferroptosis": "D",
    "necroptosis": "p",
    "autophagy": "h",
    "pyroptosis": "X",
    "necrosis": "P",
    "parthanatos": "<",
    "cytostatic": ">",
}
#: Markers for modes without a fixed one, by position.
MARKERS = ("o", "s", "D", "p", "h", "X", "P", "<", ">")
#: Markers of groups (cell lines, rescue agents), by position: a cycle of another length than the colours'.
GROUP_MARKERS = ("o", "s", "^", "D", "v", "p")
#: Line dashes, by position (solid first).
DASHES = ("-", (0, (5, 2)), (0, (1.5, 1.5)), (0, (6, 2, 1.5, 2)), (0, (3, 1.5, 1, 1.5, 1, 1.5)), (0, (9, 3)))


def _position(mode: str, order: Sequence[str]) -> int:
    return list(order).index(mode) if mode in order else zlib.crc32(mode.encode()) % 10


def mode_color(mode: str, order: Sequence[str] = ()) -> str:
    """The ``#rrggbb`` colour of ``mode``.

    Fixed for known modes; else tab10 by its position in ``order`` (by a hash
    of its name when it is not in ``order``).
    """
    if mode in MODE_COLORS:
        return MODE_COLORS[mode]
    return TAB10[_position(mode, order) % 10]


def mode_style(mode: str, order: Sequence[str] = ()) -> tuple[str, str | tuple]:
    """``(marker, dash)`` of ``mode``'s points and lines, so that no figure tells modes apart by colour alone.

    The marker is fixed for known modes (:data:`MODE_MARKERS`), else taken from
    :data:`MARKERS` by position as :func:`mode_color` takes its colour; the dash
    is :data:`DASHES` by the mode's position in ``order`` (known modes not in
    ``order`` by their place in :data:`MODE_COLORS`).
    """
    pos = _position(mode, order) if mode in order or mode not in MODE_COLORS else list(MODE_COLORS).index(mode)
    marker = MODE_MARKERS.get(mode, MARKERS[pos % len(MARKERS)])
    return marker, DASHES[pos % len(DASHES)]


def group_style(k: int) -> tuple[str, str, str | tuple]:
    """``(colour, marker, dash)`` of the ``k``-th group (cell line, rescue agent) drawn in one panel.

    Colours come from the colour-blind-safe :data:`GROUP_COLORS`; marker and dash
    cycles of other lengths keep the first 42 groups' combinations apart.
    """
    return GROUP_COLORS[k % len(GROUP_COLORS)], GROUP_MARKERS[k % len(GROUP_MARKERS)], DASHES[k % len(DASHES)]


def mode_bgr(mode: str, order: Sequence[str] = ()) -> tuple[int, int, int]:
    """:func:`mode_color` as an OpenCV ``(b, g, r)`` tuple."""
    h = mode_color(mode, order).lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return b, g, r
