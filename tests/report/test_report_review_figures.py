"""Report figures as a reviewer read them: EC50 bounds drawn as what they are, legends that fit, references apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ferroscreen.report import figures


@pytest.fixture
def drawn(monkeypatch):
    """The figures the report functions draw, kept instead of encoded."""
    kept = []

    def keep(fig):
        kept.append(fig)
        return "data:image/png;base64,"

    monkeypatch.setattr(figures, "encode_png", keep)
    return kept


def _offsets(artist) -> np.ndarray:
    return np.asarray(artist.get_offsets(), float).reshape(-1, 2)


def test_far_plateau_ec50_is_drawn_at_its_fit_with_an_open_upper_end_not_as_a_drop(drawn):
    # the demo's FSC-101 peak_apoptosis: 40-48 h fitted EC50 1.03 µM, upper CI end open (far plateau undetermined)
    series = {"apoptosis": pd.DataFrame({
        "time_h": [24.0, 32.0, 40.0, 48.0],
        "ec50": [1.2e-6, 1.1e-6, 1.03e-6, 1.03e-6],
        "ec50_lo": [8e-7, 7e-7, 3.98e-7, 3.98e-7],
        "ec50_hi": [1.8e-6, 1.7e-6, np.inf, np.inf],
        "dose_min": 1e-9, "dose_max": 1e-5, "call": "active",
        "flags": ["", "", "at_bound;far_plateau_undetermined", "at_bound;far_plateau_undetermined"],
    })}
    assert figures.ec50_time_figure(series, ["apoptosis"]) is not None
    ax = drawn[0].axes[0]
    points = np.vstack([_offsets(c) for c in ax.collections if hasattr(c, "get_offsets") and len(_offsets(c))])
    late = points[points[:, 0] >= 40]
    assert len(late) and (late[:, 1] >= 1.03e-6 * 0.999).all()  # was: open triangles at 398 nM, a false fall
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("upper CI end not" in t for t in texts)
    assert not any("beyond the tested doses" in t for t in texts)  # none lies beyond the doses here


def test_ec50_beyond_the_doses_is_still_a_triangle_at_the_limit(drawn):
    series = {"apoptosis": pd.DataFrame({"time_h": [24.0, 48.0], "ec50": [3e-5, 1e-6], "ec50_lo": [1e-5, 5e-7],
                                         "ec50_hi": [9e-5, 2e-6], "dose_min": 1e-9, "dose_max": 1e-5})}
    figures.ec50_time_figure(series, ["apoptosis"])
    ax = drawn[0].axes[0]
    at_limit = [c for c in ax.collections if len(_offsets(c)) and np.allclose(_offsets(c)[:, 1], 1e-5)]
    assert at_limit
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("beyond the tested doses" in t for t in texts) and not any("upper CI end" in t for t in texts)


def test_cell_line_legend_keeps_the_ec50_and_ci_inside_the_figure(drawn):
    pts = pd.DataFrame({"dose": [0, 1e-8, 1e-7, 1e-6, 1e-5], "response": [0.0, 0.05, 0.2, 0.6, 0.9]})
    row = pd.Series({"readout": "frac_apoptosis", "hill": 1.0, "bottom": 0.0, "top": 1.0, "ec50": 5.13e-7,
                     "ec50_lo": 3.21e-7, "ec50_hi": 8.04e-7, "dose_min": 1e-8, "dose_max": 1e-5, "call": "active"})
    long_name = 'line "x" ' + "Z" * 60
    per_line = {long_name: {"apoptosis": (row, pts)}, "HT-1080": {"apoptosis": (row, pts)}}
    figures.lines_figure(per_line, ["apoptosis"])
    fig = drawn[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = fig.axes[0].get_legend().get_texts()
    joined = "\n".join(t.get_text() for t in texts)
    assert joined.count("EC50 513 nM [321–804 nM]") == 2  # every line's EC50 and CI whole
    for text in texts:
        box = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 + 0.5, text.get_text()  # was cut at the edge
        assert fig.bbox.y0 <= box.y0, text.get_text()
    name_part = next(t.get_text() for t in texts if t.get_text().startswith("line"))
    assert len(name_part.split("\n")[0]) <= figures.LEGEND_NAME_CHARS + 1 and "…" in name_part


def _courses() -> dict[str, pd.DataFrame]:
    times = [0.0, 12.0, 24.0, 48.0]
    doses = pd.DataFrame([{"concentration": c, "time_h": t, "frac_apoptosis": 0.1 * t / 48, "frac_ferroptosis": 0.05,
                           "n_cells": 1000.0} for c in (1e-7, 1e-6) for t in times])
    vehicle = pd.DataFrame([{"time_h": t, "frac_apoptosis": 0.02, "frac_ferroptosis": 0.02, "n_cells": 1100.0}
                            for t in times])
    refs = pd.DataFrame([{"compound": name, "mode": mode, "concentration": conc, "time_h": t,
                          "frac_apoptosis": 0.5 * t / 48, "frac_ferroptosis": 0.6 * t / 48, "n_cells": 400.0}
                         for name, mode, conc in (("RSL3", "ferroptosis", 1e-6), ("erastin", "ferroptosis", 1e-5),
                                                  ("staurosporine", "apoptosis", 1e-6))
                         for t in times])
    return {"doses": doses, "vehicle": vehicle, "references": refs}


def test_time_course_references_differ_and_each_panel_names_only_its_own(drawn):
    panels = [("frac_apoptosis", "apoptosis", "apoptosis"), ("frac_ferroptosis", "ferroptosis", "ferroptosis"),
              ("n_cells", "cell count", "")]
    figures.time_course_figure(_courses(), panels)
    fig = drawn[0]
    apo, ferro, count = fig.axes
    refs = [line for ax in fig.axes for line in ax.get_lines() if line.get_label().startswith("ref. ")]
    assert len(refs) == 3
    assert len({(line.get_linestyle(), line.get_color()) for line in refs}) == 3  # was all black dotted
    named = {ax: [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else [] for ax in fig.axes}
    assert named[ferro] == ["ref. RSL3 1 µM", "ref. erastin 10 µM"]
    assert named[apo] == ["ref. staurosporine 1 µM"]
    assert named[count] == []  # the cell-count panel draws no reference
    shared = [t.get_text() for t in fig.legends[0].get_texts()]
    assert not any(t.startswith("ref. ") for t in shared) and "vehicle" in shared
