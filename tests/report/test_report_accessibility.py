"""The reports as an accessibility reviewer read them: colour-blind-safe colours, never colour alone, keyboard
focus, reflow at 320 px, print, contrast, landmarks.

Colour differences are CIEDE2000 on sRGB colours, as seen and as simulated for the three dichromacies
(Machado et al. 2009, severity 1, in linear RGB). The browser checks skip without Chromium.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import knockdown_plots as kp
from ferroscreen.plate import mode_colors
from ferroscreen.report import figures
from ferroscreen.report.build import build_report

from .chromium import headless_chromium

TEMPLATES = Path(figures.__file__).parent / "templates"
CSS = (TEMPLATES / "style.css.j2").read_text("utf-8")

_MACHADO = {
    "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _linear(rgb):
    rgb = np.asarray(rgb, float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(hex_colour: str, vision: str) -> np.ndarray:
    lin = _linear([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    if vision != "normal":  # simulated in linear RGB, clipped to the displayable colours
        lin = np.clip(np.array(_MACHADO[vision]) @ lin, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > 0.008856, np.cbrt(f), 7.787 * f + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _de2000(lab1, lab2) -> float:
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dh = 0.0 if c1p * c2p == 0 else (h2 - h1 + 180) % 360 - 180
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    h_bar = h1 + h2 if c1p * c2p == 0 else (h1 + h2) / 2 if abs(h1 - h2) <= 180 else (h1 + h2 + 360) / 2
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.2 * np.cos(np.radians(4 * h_bar - 63)))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = -2 * np.sin(np.radians(60 * np.exp(-(((h_bar - 275) / 25) ** 2)))) * np.sqrt(cp_bar**7 / (cp_bar**7 + 25**7))
    dl, dc = (l2 - l1) / s_l, (c2p - c1p) / s_c
    return float(np.sqrt(dl**2 + dc**2 + (d_h / s_h) ** 2 + r_t * dc * (d_h / s_h)))


def _contrast(fg: str, bg: str) -> float:
    lum = [float(_linear([int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)]) @ [0.2126, 0.7152, 0.0722]) for c in (fg, bg)]
    return (max(lum) + 0.05) / (min(lum) + 0.05)


def test_de2000_matches_the_published_test_pair():
    assert _de2000((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)  # Sharma


@pytest.mark.parametrize("vision", ["normal", "deutan", "protan", "tritan"])
def test_every_pair_of_mode_colours_and_the_rescue_colour_stays_apart_in_every_vision(vision):
    # before: apoptosis/necroptosis 4.5 and alive/ferroptosis 4.4 apart under deuteranopia, 2.5 at worst
    palette = {**mode_colors.MODE_COLORS, "rescue": mode_colors.RESCUE_COLOR}
    assert {"alive", "apoptosis", "ferroptosis", "necroptosis", "autophagy"} <= set(palette)
    worst = min((_de2000(_lab(palette[a], vision), _lab(palette[b], vision)), a, b)
                for a, b in itertools.combinations(palette, 2))
    assert worst[0] >= 15, worst
    assert figures.RESCUE_COLOR == mode_colors.RESCUE_COLOR
    name = {"normal": "normal", "deutan": "deuteranopia", "protan": "protanopia", "tritan": "tritanopia"}[vision]
    stated = re.search(name + r"\s+([\d.]+)", mode_colors.__doc__)
    assert stated and float(stated.group(1)) == pytest.approx(worst[0], abs=0.06)  # the docstring tells the truth


def test_each_mode_has_its_own_marker_and_no_mode_a_held_ec50_triangle():
    modes = list(mode_colors.MODE_COLORS)
    styles = [mode_colors.mode_style(m, modes) for m in modes]
    assert len({m for m, _ in styles}) == len(modes) and not {"^", "v"} & {m for m, _ in styles}
    assert len({str(d) for _, d in styles[:len(mode_colors.DASHES)]}) == len(mode_colors.DASHES)


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib figure each report figure function draws (instead of its PNG)."""
    figs = []
    monkeypatch.setattr(figures, "encode_png", lambda fig: figs.append(fig) or "data:")
    return figs


def _curve(ec50: float, call: str = "active"):
    row = pd.Series({"hill": 1.2, "bottom": 0.0, "top": 0.9, "ec50": ec50, "ec50_lo": ec50 / 2, "ec50_hi": ec50 * 2,
                     "dose_min": 1e-9, "dose_max": 1e-5, "call": call})
    pts = pd.DataFrame({"dose": [0.0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5], "response": [0, 0.02, 0.1, 0.4, 0.8, 0.9]})
    return row, pts


def test_ec50_over_time_gives_each_mode_its_own_marker_and_dash(drawn):
    # before: every mode drawn with "o" and a solid line, told apart by colour alone
    series = {m: pd.DataFrame({"time_h": [12.0, 24, 48], "ec50": [1e-6, 5e-7, 2e-7], "ec50_lo": [5e-7, 2e-7, 1e-7],
                               "ec50_hi": [2e-6, 1e-6, 4e-7]}) for m in ("apoptosis", "ferroptosis", "necroptosis")}
    figures.ec50_time_figure(series, list(series))
    lines = [ln for ln in drawn[0].axes[0].get_lines() if np.size(ln.get_xdata()) == 3 and ln.get_linestyle() != "None"]
    assert len(lines) == 3
    assert len({ln.get_marker() for ln in lines}) == 3 and len({_dash(ln) for ln in lines}) == 3


def test_cell_lines_are_told_apart_by_marker_and_dash_in_colour_blind_safe_colours(drawn):
    # before: tab10 colours, every line "o" and solid
    per_line = {line: {"ferroptosis": _curve(1e-7 * (k + 1))} for k, line in enumerate(("HT-1080", "A549", "786-O"))}
    figures.lines_figure(per_line, ["ferroptosis"])
    ax = drawn[0].axes[0]
    points = [c for c in ax.collections if len(c.get_offsets()) == 5]
    assert len({c.get_paths()[0].vertices.round(3).tobytes() for c in points}) == 3
    curves = [ln for ln in ax.get_lines() if np.size(ln.get_xdata()) == 160]
    assert len({_dash(ln) for ln in curves}) == 3
    colours = {matplotlib_hex(c.get_facecolor()[0]) for c in points}
    assert colours <= {c.lower() for c in mode_colors.GROUP_COLORS}
    legend = ax.get_legend()
    lines = [h for h, t in zip(legend.legend_handles, legend.get_texts(), strict=True)
             if t.get_text() != figures.EXTRAPOLATED_LABEL]
    assert len({h.get_marker() for h in lines}) == 3  # the legend shows each line's marker


def _dash(line) -> str:
    return str(line._unscaled_dash_pattern)  # get_linestyle() calls every custom dash "--"


def matplotlib_hex(rgba) -> str:
    import matplotlib.colors

    return matplotlib.colors.to_hex(rgba).lower()


def test_rescue_curves_are_dashed_with_their_own_marker(drawn):
    figures.dose_response_figure({"ferroptosis": _curve(1e-7)}, {"Fer-1": {"ferroptosis": _curve(3e-6)}},
                                 ["ferroptosis"])
    ax = drawn[0].axes[0]
    curves = [ln for ln in ax.get_lines() if np.size(ln.get_xdata()) == 160]
    assert len({_dash(ln) for ln in curves}) == 2  # before: both solid, green against the mode colour
    points = [c for c in ax.collections if len(c.get_offsets()) == 5]
    assert len({c.get_paths()[0].vertices.round(3).tobytes() for c in points}) == 2


def _genes() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({"gene": [f"G{i}" for i in range(n)], "fc_count": rng.uniform(0.2, 1.5, n),
                         "fc_area": rng.uniform(0.8, 2.5, n), "q_count": rng.uniform(1e-6, 1, n),
                         "hit": np.arange(n) < 6})


def test_knockdown_hits_differ_by_marker_or_edge_not_by_colour_alone():
    # before: red and grey dots of one size, without edges
    ax = kp.volcano(_genes(), "count").axes[0]
    shapes = {c.get_label(): c.get_paths()[0].vertices.round(3).tobytes() for c in ax.collections}
    hits = next(c for c in ax.collections if c.get_label().startswith("hit"))
    assert len(set(shapes.values())) == 2 and (hits.get_linewidths() > 0).all()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["not a hit (34 genes)", "hit (6 genes)"]
    quadrant = kp.count_area_quadrant(_genes()).axes[0].collections[0]
    widths = np.broadcast_to(quadrant.get_linewidths(), (len(quadrant.get_offsets()),))
    assert (widths[:6] > 0).all() and (widths[6:] == 0).all()  # the hits edged, the others not


def test_plate_map_hatches_wells_without_data_and_outlines_the_qc_cross(drawn):
    # before: no data a flat #e6e6e6, next to white zeros; the QC cross black, lost on dark wells
    end = pd.DataFrame({"well": ["A01", "A02", "B01"], "n_cells": [100.0, np.nan, 0.0], "frac_x": [0.0, 0.5, 1.0]})
    figures.plate_heatmaps(end, [("n_cells", "count", "count"), ("frac_x", "x", "#8e0c00")], flagged=["A01"])
    for ax in drawn[0].axes[::2]:  # the maps, not their colour bars
        hatched = [c for c in ax.collections if c.get_hatch()]
        assert len(hatched) == 1
        cells = {tuple(np.round(p.get_extents().get_points()[0] + 0.5).astype(int)) for p in hatched[0].get_paths()}
        assert len(cells) == 96 - 3 + ax.get_title().startswith("count")  # every well without a value: A02 too
        cross = next(c for c in ax.collections if not c.get_hatch())
        assert matplotlib_hex(cross.get_edgecolor()[0]) == "#ffffff" and cross.get_path_effects()


def test_overlay_rings_have_a_dash_per_class():
    from ferroscreen.score.overlay import _panel

    classes = ["alive", "ferroptosis"]
    yy, xx = np.mgrid[:80, :80]
    on_ring = np.abs(np.hypot(xx - 40, yy - 40) - 30) < 0.5
    coloured = []
    for k in range(2):
        cells = pd.DataFrame({"x": [40.0], "y": [40.0], "radius": [30.0], "p_alive": [1.0 - k],
                              "p_ferroptosis": [float(k)]})
        ring = _panel(np.full((80, 80), 100, np.uint16), cells, classes)[on_ring].astype(int)
        coloured.append(float((np.ptp(ring, axis=1) > 40).mean()))
    assert coloured[0] > 0.95 and 0.3 < coloured[1] < 0.9  # alive solid, ferroptosis dashed


def _rule(selector: str, css: str = CSS) -> str:
    found = re.findall(rf"(?:^|\}})\s*{re.escape(selector)}\s*\{{([^}}]*)\}}", css, re.M)
    return " ".join(found)


def _print_css() -> str:
    return " ".join(re.findall(r"@media print \{(.*?)\n\}", CSS, re.S))


def test_css_focus_reflow_and_print_rules():
    assert "outline" in _rule("table.sortable thead th button:focus-visible")  # before: all: unset, no outline
    grids = re.findall(r"grid-template-columns:\s*repeat\(auto-fit,\s*minmax\((.*?), 1fr\)\)", CSS)
    assert len(grids) == 2 and all(re.fullmatch(r"min\(\d+px, 100%\)", g) for g in grids), grids  # 320 px wide
    assert "inline-block" not in _rule("h2")  # a heading on its own line (knockdown "Plates" beside a map)
    printed = _print_css()
    assert "avoid-page" not in _rule(".card", printed) and "break-inside: avoid" in _rule("figure", printed)
    size = re.search(r"font-size:\s*([\d.]+)(pt|px)", _rule("table.data", printed))
    assert (float(size.group(1)) * (0.75 if size.group(2) == "px" else 1)) >= 8.5  # before: 7 px, 5.25 pt


def test_css_contrast_of_muted_text_code_ok_cells_and_the_filter_border():
    var = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))
    for bg in ("#ffffff", var["bg"], "#f8f9fb", "#eceef3", "#f0f2f6", var["ok-bg"]):  # card, page, stat, code, th
        assert _contrast(var["muted"], bg) >= 4.5, bg  # before: 4.16 on code, 4.43 on the page
    assert _contrast(var["ok"], var["ok-bg"]) >= 4.5  # before: 4.47
    border = re.search(r"border:\s*1px solid (#[0-9a-fA-F]{6})", _rule(".table-filter input")).group(1)
    assert _contrast(border, "#ffffff") >= 3  # before: var(--line), 1.25:1


@pytest.fixture(scope="module")
def report_html(results_dir, tmp_path_factory) -> Path:
    return build_report(results_dir, tmp_path_factory.mktemp("a11y") / "report.html")


def test_report_html_landmarks_reasons_and_script_only_controls(report_html):
    html = report_html.read_text("utf-8")
    navs = re.findall(r"<nav\b[^>]*>", html)
    assert len(navs) == 2 and 'aria-label="Report sections"' in navs[0]  # before: two unnamed navs, alike
    fail = re.search(r'<span class="badge fail">fail</span>(.*?)</td>', html, re.S)
    assert fail and re.search(r"\w", re.sub(r"<[^>]+>", "", fail.group(1)))  # before: the reasons only in a title
    assert 'title="' not in re.search(r'<table class="data compact" id="plates">.*?</table>', html, re.S).group(0)
    assert all(" hidden>" in box for box in re.findall(r'<div class="table-filter"[^>]*>', html))
    assert "sort-arrow" not in html.split("<body>", 1)[1].split("<script")[0]  # arrows come with the script that sorts
    kd = (TEMPLATES / "knockdown.html.j2").read_text("utf-8")
    assert all("aria-label=" in n for n in re.findall(r"<nav\b[^>]*>", kd))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(tmp_path_factory, width=1200, height=900)
    yield driver
    driver.quit()


def test_report_in_chromium_reflows_at_320px_and_sort_buttons_show_focus(browser, report_html):
    browser.get(report_html.resolve().as_uri())
    button = browser.find_element("css selector", "#qc-table thead th button")
    arrow = button.find_element("css selector", ".sort-arrow")
    assert arrow.get_attribute("aria-hidden") == "true"
    assert browser.execute_script("return getComputedStyle(arguments[0], '::after').content", arrow) != "none"
    browser.execute_script("arguments[0].focus()", button)
    browser.switch_to.active_element.send_keys("")  # keyboard focus: :focus-visible
    style = browser.execute_script("var s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth]",
                                   button)
    assert style[0] != "none" and float(style[1].rstrip("px")) >= 1  # before: none, 0px
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 320, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    try:
        width = browser.execute_script("return [document.documentElement.clientWidth, "
                                       "document.documentElement.scrollWidth]")
        assert width[1] <= width[0] + 1, width  # before: 680 px of page in a 320 px window
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
