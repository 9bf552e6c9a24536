"""Figures draw user names without warnings on stderr, cut long names, and write doses in molar units."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ferroscreen.analysis import knockdown_plots as kp
from ferroscreen.plate.quiet_figure import LABEL_CHARS, short_label
from ferroscreen.report import figures
from ferroscreen.score import gallery

EMOJI = "β-catenin 🧬 µ"  # no glyph for the emoji in the figures' font
LONG = "GENE-" + "X" * 150


def _genes() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    genes = pd.DataFrame({"gene": [f"G{i:03d}" for i in range(n)], "fc_count": rng.normal(1, 0.05, n),
                          "fc_area": rng.normal(1, 0.05, n), "q_count": 0.5, "q_area": 0.5, "hit": False})
    planted = pd.DataFrame({"gene": [LONG, EMOJI], "fc_count": [1.0, 0.4], "fc_area": [2.0, 1.8],
                            "q_count": [1e-10, 1e-8], "q_area": [1e-9, 1e-7], "hit": True})
    return pd.concat([planted, genes], ignore_index=True)


def _drawn_quietly(fig) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures.encode_png(fig)
    return [w for w in caught if issubclass(w.category, UserWarning)]


def test_knockdown_plots_draw_emoji_and_long_names_without_warnings():
    filters = list(warnings.filters)
    for fig in (kp.count_area_quadrant(_genes()), kp.volcano(_genes(), "count")):
        assert _drawn_quietly(fig) == []  # was: "Glyph 129516 ... missing", "constrained_layout not applied"
    assert warnings.filters == filters  # silenced around drawing only, no global filter


def test_long_gene_name_is_cut_and_stays_inside_the_quadrant_figure():
    fig = kp.count_area_quadrant(_genes())
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    names = [t for t in ax.texts if t.get_text().startswith("GENE-")]
    assert len(names) == 1 and len(names[0].get_text()) == LABEL_CHARS and names[0].get_text().endswith("…")
    renderer = canvas.get_renderer()
    page = fig.bbox
    for artist in (names[0], ax.xaxis.label, ax.yaxis.label):
        box = artist.get_window_extent(renderer)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, artist
    assert ax.get_position().width > 0.5  # the axes kept their room (the long name had squeezed them)


def test_report_figures_draw_emoji_names_without_warnings():
    pts = pd.DataFrame({"dose": [0, 1e-8, 1e-7, 1e-6, 1e-5], "response": [0.0, 0.05, 0.2, 0.6, 0.9]})
    row = pd.Series({"readout": "frac_apoptosis", "hill": 1.0, "bottom": 0.0, "top": 1.0, "ec50": 5e-7,
                     "ec50_lo": 3e-7, "ec50_hi": 8e-7, "dose_min": 1e-8, "dose_max": 1e-5, "call": "active"})
    per_line = {EMOJI: {"apoptosis": (row, pts)}, LONG: {"apoptosis": (row, pts)}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert figures.lines_figure(per_line, ["apoptosis"]).startswith("data:image/png;base64,")
    assert [w for w in caught if issubclass(w.category, UserWarning)] == []


def test_short_label():
    assert short_label("RSL3") == "RSL3"
    assert short_label(LONG) == LONG[:39] + "…" and len(short_label(LONG)) == LABEL_CHARS
    assert short_label("abcdef", 4) == "abc…"


def test_gallery_titles_write_doses_in_molar_units_and_cut_names():
    row = {"well": "C05", "time_h": 24.0, "p": 0.91, "compound": "volasertib", "concentration": 1e-7}
    assert gallery._label(row).splitlines()[1] == "volasertib 100 nM"  # was "volasertib 1e-07 M"
    long = gallery._label(row | {"compound": LONG, "concentration": 3.3333e-6})
    assert long.splitlines()[1] == "GENE-XXXXXX… 3.33 µM"  # the dose is never cut off the name
    assert gallery._label(row | {"compound": float("nan")}).count("\n") == 0


def test_gallery_draws_emoji_compound_without_warnings(tmp_path):
    picked = pd.DataFrame([{"class": "apoptosis", "well": "C05", "time_h": 24.0, "p": 0.9, "compound": EMOJI,
                            "concentration": 1e-6}])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gallery._draw(picked, [np.zeros((8, 8))], ["apoptosis"], 2, tmp_path / "g.png")
    assert (tmp_path / "g.png").is_file()
    assert [w for w in caught if issubclass(w.category, UserWarning)] == []
