"""Report figures draw what was measured: fits solid over the tested doses only, empty wells blank, single-dose
rescue wells as points."""

from __future__ import annotations

import matplotlib.colors
import numpy as np
import pandas as pd
import pytest

from ferroscreen.plate import mode_colors
from ferroscreen.report import figures

DOSES = 1.52415790276e-09 * 3.0 ** np.arange(10)  # the CTG fit's CPD-I: 1.5 nM to 30 µM, 3-fold


@pytest.fixture
def drawn(monkeypatch):
    """The figures the report functions draw, kept instead of encoded."""
    kept = []

    def keep(fig):
        kept.append(fig)
        return "data:image/png;base64,"

    monkeypatch.setattr(figures, "encode_png", keep)
    return kept


def _cpd_i(with_range: bool = True) -> tuple[pd.Series, pd.DataFrame]:
    """CPD-I of the CTG plate-reader fit: EC50 61 µM fitted, above its highest dose (held "> 30 µM")."""
    row = pd.Series({"readout": "viability", "hill": 2.9056, "bottom": 0.0, "top": 1.0071, "ec50": 6.106e-5,
                     "ec50_lo": 9.76e-6, "ec50_hi": np.inf, "asymmetry": 1.0, "call": "active",
                     "flags": "poor_fit;at_bound;ec50_out_of_range;incomplete;far_plateau_undetermined"})
    if with_range:
        row = pd.concat([row, pd.Series({"dose_min": DOSES[0], "dose_max": DOSES[-1]})])
    dose = np.concatenate([[0.0, 0.0], np.repeat(DOSES, 2)])
    return row, pd.DataFrame({"dose": dose, "response": np.where(dose > 2e-5, 0.85, 1.0)})


def _dash(line) -> tuple:
    offset, pattern = line._unscaled_dash_pattern  # get_linestyle() calls every custom dash "--"
    return (offset, tuple(pattern) if pattern is not None else None)


def _fits(ax) -> list:
    return [ln for ln in ax.get_lines() if np.size(ln.get_xdata()) > 2]  # not the vertical guides


@pytest.mark.parametrize("with_range", [True, False], ids=["fits-range", "points-range"])
def test_fit_is_solid_over_the_tested_doses_only_and_thin_dotted_beyond(drawn, with_range):
    # before: one solid line from 0.5 nM to 90 µM, through 0.5 at ~60 µM and 0.25 at 100 µM, never tested
    row, pts = _cpd_i(with_range)
    figures.dose_response_figure({"viability": (row, pts)}, {}, ["viability"])
    ax = drawn[0].axes[0]
    solid = [ln for ln in _fits(ax) if ln.get_linestyle() == "-"]
    assert len(solid) == 1
    x = np.asarray(solid[0].get_xdata(), float)
    assert np.isclose(x.min(), DOSES[0]) and np.isclose(x.max(), DOSES[-1])
    assert np.asarray(solid[0].get_ydata(), float).min() > 0.5  # the drawn fit never claims the EC50
    beyond = [ln for ln in _fits(ax) if ln is not solid[0]]
    assert len(beyond) == 2  # below the lowest dose and above the highest
    for line in beyond:
        assert _dash(line) != _dash(solid[0]) and line.get_linewidth() < solid[0].get_linewidth() / 1.5
        bx = np.asarray(line.get_xdata(), float)
        assert bx.max() <= DOSES[0] * 1.0001 or bx.min() >= DOSES[-1] * 0.9999
    band = [c for c in ax.collections if c.get_paths() and c.get_alpha() == 0.18]
    assert len(band) == 1
    bx = band[0].get_paths()[0].vertices[:, 0]
    assert bx.min() >= DOSES[0] * 0.9999 and bx.max() <= DOSES[-1] * 1.0001  # the EC50 band is no extrapolation
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == [figures.EXTRAPOLATED_LABEL]  # the figure says what the dotted part is


def test_extrapolated_part_is_no_layer_dash_with_three_rescue_agents(drawn):
    # the third group's dash (DASHES[2]) is dotted: the extrapolation must still differ from it, and from every
    # layer's, by its pattern and its width, not by colour alone
    row, pts = _cpd_i()
    rescue = {agent: {"viability": (row, pts)} for agent in ("Fer-1", "Lip-1", "DFO")}
    figures.dose_response_figure({"viability": (row, pts)}, rescue, ["viability"])
    ax = drawn[0].axes[0]
    lines = _fits(ax)
    inside = [ln for ln in lines if np.isclose(np.min(ln.get_xdata()), DOSES[0])
              and np.isclose(np.max(ln.get_xdata()), DOSES[-1])]
    beyond = [ln for ln in lines if ln not in inside]
    assert len(inside) == 4 and len(beyond) == 8
    layer_dashes = {_dash(ln) for ln in inside}
    assert len(layer_dashes) == 4
    assert {_dash(ln) for ln in beyond}.isdisjoint(layer_dashes)
    assert max(ln.get_linewidth() for ln in beyond) < min(ln.get_linewidth() for ln in inside) / 1.5
    assert figures.EXTRAPOLATED["ls"] not in mode_colors.DASHES
    assert figures.EXTRAPOLATED["ls"] not in [ls for ls, _ in figures.REFERENCE_STYLES]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[-1] == figures.EXTRAPOLATED_LABEL and texts.count(texts[-1]) == 1 and len(texts) == 5


def test_inactive_curve_draws_no_fit_and_says_nothing_of_one(drawn):
    row, pts = _cpd_i()
    row["call"] = "inactive"
    figures.dose_response_figure({"viability": (row, pts)}, {}, ["viability"])
    ax = drawn[0].axes[0]
    assert _fits(ax) == [] and ax.get_legend() is None


def _cells(collection) -> set[tuple[int, int]]:
    """The ``(row, col)`` of each well a patch collection covers."""
    return {tuple(int(v) for v in np.round(p.get_extents().get_points().mean(axis=0)[::-1]))
            for p in collection.get_paths()}


def test_empty_wells_are_left_blank_not_hatched_as_no_data(drawn):
    # before: the layout's empty wells (NaN, as the report passes them) drawn grey-hatched like a well without data,
    # while the caption says they are "left blank"
    end = pd.DataFrame({"well": ["A01", "B01", "A02", "B02", "C02"],
                        "role": ["empty", "empty", "sample", "sample", "vehicle"],
                        "n_cells": [np.nan, 9.0, 100.0, np.nan, 120.0],  # B01: debris counted in an empty well
                        "frac_x": [np.nan, 0.9, 0.2, np.nan, 0.0]})
    figures.plate_heatmaps(end, [("n_cells", "count", "count"), ("frac_x", "x", "#8e0c00")])
    for ax in drawn[0].axes[::2]:  # the maps, not their colour bars
        hatched = [c for c in ax.collections if c.get_hatch()]
        assert len(hatched) == 1
        missing = _cells(hatched[0])
        assert (1, 1) in missing and (0, 0) not in missing and (1, 0) not in missing
        assert len(missing) == 96 - 5 + 1
        white = [c for c in ax.collections if not c.get_hatch()
                 and matplotlib.colors.to_hex(c.get_facecolor()[0]) == "#ffffff"]
        assert white and all(_cells(c) == {(0, 0), (1, 0)} for c in white)
        outlined = [c for c in white if (np.asarray(c.get_linewidths()) > 0).all()]
        assert len(outlined) == 1
        assert matplotlib.colors.to_hex(outlined[0].get_edgecolor()[0]) != "#ffffff"
        image = ax.get_images()[0]
        assert image.get_array().mask[1, 0]  # B01's debris is in no colour scale
    assert drawn[0].axes[0].get_images()[0].get_clim()[1] == 120.0


def test_plate_map_without_roles_draws_no_blank_wells(drawn):
    end = pd.DataFrame({"well": ["A01", "A02"], "n_cells": [np.nan, 100.0]})
    figures.plate_heatmaps(end, [("n_cells", "count", "count")])
    ax = drawn[0].axes[0]
    assert [len(_cells(c)) for c in ax.collections] == [95]  # only the hatched no-data wells


def test_single_dose_rescue_wells_are_points_at_their_dose_with_their_own_marker_and_legend(drawn):
    # before: volasertib + Fer-1 (one dose, no fit) had no point in any figure
    row, pts = _cpd_i()
    arm = pd.DataFrame({"dose": [0.0, 0.0, 3e-7, 3e-7], "response": [1.0, 0.98, 0.97, 0.99]})
    figures.dose_response_figure({"viability": (row, pts)}, {}, ["viability"], single={"Fer-1": {"viability": arm}})
    ax = drawn[0].axes[0]
    at_dose = [c for c in ax.collections if len(c.get_offsets())
               and np.allclose(np.asarray(c.get_offsets())[:, 0], 3e-7)]
    assert len(at_dose) == 1 and len(at_dose[0].get_offsets()) == 2  # its vehicle points are not drawn again
    alone = next(c for c in ax.collections if len(c.get_offsets()) == len(pts[pts["dose"] > 0]))
    shape = at_dose[0].get_paths()[0].vertices.round(3).tobytes()
    assert shape != alone.get_paths()[0].vertices.round(3).tobytes()
    assert (np.asarray(at_dose[0].get_linewidths()) > 0).all()  # edged, seen over the curve's points
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["alone", "+ Fer-1, one dose", figures.EXTRAPOLATED_LABEL]
    handle = legend.legend_handles[1]
    assert handle.get_marker() == figures.SINGLE_DOSE_MARKERS[0] and handle.get_linestyle() == "None"
    assert figures.SINGLE_DOSE_MARKERS[0] not in set(mode_colors.MODE_MARKERS.values()) | set(
        mode_colors.GROUP_MARKERS)


def test_single_dose_arm_of_a_fitted_agent_or_another_mode_draws_nothing_more(drawn):
    row, pts = _cpd_i()
    arm = pd.DataFrame({"dose": [3e-7], "response": [0.9]})
    figures.dose_response_figure({"viability": (row, pts)}, {"Fer-1": {"viability": (row, pts)}}, ["viability"],
                                 single={"Fer-1": {"viability": arm}, "Nec-1": {"necroptosis": arm}})
    ax = drawn[0].axes[0]
    assert not any(np.allclose(np.asarray(c.get_offsets())[:, 0], 3e-7) for c in ax.collections
                   if len(c.get_offsets()))
    assert len(drawn[0].axes) == 1


def test_a_rescue_arm_without_a_curve_is_drawn_as_its_wells_and_captioned(results_dir, tmp_path):
    """The rescue wells of an agent with no fitted curve (a single dose, or too few) reach the section's figure."""
    import shutil

    from ferroscreen.report.build import build_report

    folder = tmp_path / "res"
    shutil.copytree(results_dir, folder, ignore=shutil.ignore_patterns("report.html", "rescue.csv"))
    fits = pd.read_csv(folder / "fits.csv")
    fits[~fits["curve"].astype(str).str.contains(" + Fer-1", regex=False)].to_csv(folder / "fits.csv", index=False)
    page = build_report(folder, tmp_path / "r.html").read_text()
    assert "Rescue wells at one dose (Fer-1): large outlined points, no curve." in page
