"""Knockdown figures keep every gene and every well: zero counts on a log axis, whole plate maps."""

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import knockdown_plots as kp


def _genes(fc_count, fc_area):
    n = len(fc_count)
    return pd.DataFrame({"rank": range(1, n + 1), "gene": [f"G{i:04d}" for i in range(n)],
                         "fc_count": fc_count, "fc_area": fc_area, "hit": [True] * 3 + [False] * (n - 3)})


def _points(fig) -> np.ndarray:
    return np.concatenate([c.get_offsets() for c in fig.axes[0].collections if len(c.get_offsets())])


def _legend(fig) -> list[str]:
    legend = fig.axes[0].get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def test_quadrant_draws_zero_counts_at_a_floor_and_missing_areas_on_a_strip():
    """The most lethal gene (count 0, rank 1) and genes without an area reading are all drawn and said."""
    genes = _genes([0.0, 0.004, 0.3, 0.9, 1.0, 1.1, 1.2], [1.4, 1.0, np.nan, 1.0, np.nan, 0.95, 1.05])
    fig = kp.count_area_quadrant(genes)
    points = _points(fig)
    assert len(points) == len(genes)  # no gene left out
    assert np.isfinite(points).all() and (points > 0).all()  # every point has a place on the log axes
    assert points[:, 0].min() == pytest.approx(0.002)  # 0 at half the smallest positive count
    strip = points[:, 1].min()
    assert strip == pytest.approx(0.95 / 4)  # no area: below every area reading
    assert sorted(np.round(points[:, 1], 6)).count(round(strip, 6)) == 2
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "G0000" in texts  # rank 1, count 0: named like the other top hits
    legend = _legend(fig)
    assert "0 counts drawn at 0.002 (1 gene)" in legend
    assert "no area reading: on the grey strip (2 genes)" in legend
    markers = {c.get_paths()[0].vertices.round(3).tobytes() for c in fig.axes[0].collections if len(c.get_offsets())}
    assert len(markers) == 2  # the floored gene has its own marker


def test_quadrant_without_zeros_or_gaps_has_no_legend():
    """Positive readings only: drawn as they are, nothing to say."""
    genes = _genes([0.2, 0.5, 0.9, 1.0], [1.8, 1.0, 1.1, 0.9])
    fig = kp.count_area_quadrant(genes)
    np.testing.assert_allclose(np.sort(_points(fig)[:, 0]), [0.2, 0.5, 0.9, 1.0])
    assert _legend(fig) == []


def test_quadrant_with_no_positive_count_uses_the_fixed_floor():
    genes = _genes([0.0, 0.0, 0.0], [1.0, 1.2, np.nan])
    points = _points(kp.count_area_quadrant(genes))
    assert len(points) == 3 and np.allclose(points[:, 0], kp.ZERO_FLOOR)


def _wells(places, plate="P1"):
    rows, cols = zip(*places, strict=True)
    return pd.DataFrame({"plate": plate, "row": rows, "col": cols, "fc_count": np.linspace(0.5, 1.5, len(places)),
                         "is_control": [False] * len(places)})


@pytest.mark.parametrize(
    ("rows", "cols", "shape"),
    [
        (16, 23, (16, 24)),  # a 384-well plate whose column 24 is empty
        (7, 12, (8, 12)),  # a 96-well plate whose row H is empty
        (8, 13, (16, 24)),  # one well past column 12: a 384-well plate
        (3, 4, (8, 12)),  # a few wells: drawn on a 96-well plate at least
    ],
)
def test_plate_heatmap_shows_the_whole_plate(rows, cols, shape):
    wells = _wells([(r, c) for r in range(rows) for c in range(cols)])
    ax = kp.plate_heatmap(wells, "fc_count", "P1").axes[0]
    grid = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
    assert grid.shape == shape
    assert np.isnan(grid[rows:, :]).all() and np.isnan(grid[:, cols:]).all()  # empty wells: no data
    assert len(ax.get_xticklabels()) == shape[1] and ax.get_xticklabels()[-1].get_text() == str(shape[1])


def test_plate_heatmap_takes_the_format_of_the_screen():
    """A plate holding data only in its first 96 wells is drawn as the 384-well plate its screen uses."""
    full = _wells([(r, c) for r in range(16) for c in range(24)], "P1")
    partial = _wells([(r, c) for r in range(8) for c in range(12)], "P2")
    fig = kp.plate_heatmap(pd.concat([full, partial], ignore_index=True), "fc_count", "P2")
    assert fig.axes[0].images[0].get_array().shape == (16, 24)
