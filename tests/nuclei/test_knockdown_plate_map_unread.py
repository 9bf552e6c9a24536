"""Knockdown plate maps: a well with no reading is drawn and legended, not left blank like a well never plated;
the non-targeting marker is seen in the legend (it was a white ring on the white legend)."""

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Rectangle

from ferroscreen.analysis import knockdown_plots as kp


def _wells():
    places = [(r, c) for r in range(4) for c in range(6)]
    rows, cols = zip(*places, strict=True)
    w = pd.DataFrame({"plate": "P1", "row": rows, "col": cols, "fc_count": np.linspace(0.5, 1.5, len(places)),
                      "is_control": [c == 0 for c in cols]})
    w.loc[(w["row"] == 2) & (w["col"] == 3), "fc_count"] = np.nan  # its 4 fields all unreadable
    return w


def _crossed(ax) -> list[tuple[float, float]]:
    return [(p.get_x() + 0.5, p.get_y() + 0.5) for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]


def test_a_well_without_a_reading_is_crossed_and_legended():
    ax = kp.plate_heatmap(_wells(), "fc_count", "P1").axes[0]
    assert _crossed(ax) == [(3.0, 2.0)]  # (col, row) of C04; wells the table lacks (rows E-H, columns 7-12) stay blank
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["non-targeting", "no reading (1 well)"]


def test_a_plate_read_whole_says_nothing_of_missing_readings():
    wells = _wells().fillna({"fc_count": 1.0})
    ax = kp.plate_heatmap(wells, "fc_count", "P1").axes[0]
    assert _crossed(ax) == []
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["non-targeting"]


def test_the_non_targeting_marker_is_seen_in_the_legend():
    fig = kp.plate_heatmap(_wells(), "fc_count", "P1")
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(float) / 255
    legend = fig.axes[0].get_legend()
    box, text = legend.get_window_extent(), legend.get_texts()[0].get_window_extent()
    height = pixels.shape[0]
    x0, x1 = int(box.x0) + 3, int(text.x0) - 1  # between the legend's frame and its label: the marker
    y0, y1 = height - int(text.y1), height - int(text.y0)
    marker = pixels[y0:y1, x0:x1].mean(axis=2)
    assert marker.size and marker.min() < 0.5  # something dark: the ring's outline
