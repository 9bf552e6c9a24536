"""Figures that draw user text without matplotlib's warnings on stderr (report, gallery, knockdown plots).

Compound and gene names are the user's: an emoji has no glyph in the figures'
font (drawn as an empty box), a 150-character name left no room for the axes
(matplotlib then gives up its layout). :class:`QuietFigure` draws with those
two warnings silenced, around its own drawing only (no global filter), and
:func:`short_label` keeps a name to :data:`LABEL_CHARS` characters. Import this
module where figures are drawn: it imports matplotlib.
"""

from __future__ import annotations

import warnings

from matplotlib.figure import Figure

#: Most characters of a user name drawn in a figure (legend, title, annotation); longer ones end in "…".
LABEL_CHARS = 40
#: matplotlib's UserWarnings about user text that a figure silences while it draws.
_QUIET = (
    r"Glyph \d+ .*missing from (current )?font",
    r"Matplotlib currently does not support .* natively",
    r"constrained_layout not applied",
)


def short_label(text: object, limit: int = LABEL_CHARS) -> str:
    """``text`` as a figure label: at most ``limit`` characters, the last an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


class QuietFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` whose drawing (``savefig``) warns of no missing glyph or failed layout.

    A missing glyph is drawn as an empty box and a layout that does not fit is
    left as it was: neither is the user's to act on from a line on stderr.
    """

    def draw(self, renderer) -> None:
        """Draw as :class:`~matplotlib.figure.Figure` does, with the warnings of :data:`_QUIET` silenced."""
        with warnings.catch_warnings():
            for message in _QUIET:
                warnings.filterwarnings("ignore", message=message, category=UserWarning)
            super().draw(renderer)


__all__ = ["LABEL_CHARS", "QuietFigure", "short_label"]
