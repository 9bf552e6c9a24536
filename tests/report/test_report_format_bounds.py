"""One EC50 per curve across the report, and no ``inf`` or absurd interval limits in its tables.

The results folder is written here: the shape of a two-line (growth condition)
fit where one line's viability EC50 lies above the top dose (47 µM fitted, 30 µM
tested) and another line's GR curve is active with an interval of 1.8e-20 M to
3.3e10 M, and a QC row whose SSMD is ``-inf`` (controls without spread).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from ferroscreen.report import build_report, figures
from ferroscreen.report.formatting import fmt, molar_range, ratio_range
from ferroscreen.report.lines import line_comparisons
from ferroscreen.report.results import load_results

DOSE_MIN, DOSE_MAX = 3.7037e-7, 3e-5
# group, readout, ec50, ec50_lo, ec50_hi, call, flags
CURVES = [
    ("2 x 10e4/mL", "viability", 7.80917e-6, 4.53516e-6, 1.34468e-5, "active", ""),
    ("4 x 10e4/mL", "viability", 4.71227e-5, 3.02098e-12, 735.043, "active", "at_bound;ec50_out_of_range;incomplete"),
    ("2 x 10e4/mL", "gr", 8.7043e-6, 4.91573e-6, 1.54127e-5, "active", ""),
    ("4 x 10e4/mL", "gr", 2.4375e-5, 1.80038e-20, 3.30008e10, "active", ""),
]


def _results(root):
    root.mkdir()
    fits = pd.DataFrame([
        {"curve": f"PDD | {g}", "readout": r, "model": "ll4", "n_points": 18, "n_doses": 6, "dose_min": DOSE_MIN,
         "dose_max": DOSE_MAX, "bottom": 0.0, "top": 1.0, "hill": 2.0, "ec50": e, "ec50_lo": lo, "ec50_hi": hi,
         "emax": 0.7, "effect": -0.3, "p_value": 1e-3, "q_value": 2e-3, "call": c, "flags": f, "compound": "PDD",
         "treatment": "PDD", "rescue_agent": "", "group": g, "role": "sample", "mode": ""}
        for g, r, e, lo, hi, c, f in CURVES
    ])
    fits.to_csv(root / "fits.csv", index=False)
    lines = pd.DataFrame([
        {"compound": "PDD", "readout": "gr", "line_a": "2 x 10e4/mL", "line_b": "4 x 10e4/mL", "call_a": "active",
         "call_b": "active", "ec50_a": 8.7043e-6, "ec50_b": 2.4375e-5, "ratio": 2.80034, "ratio_lo": 2.06234e-15,
         "ratio_hi": 3.80244e15, "p_value": 0.95, "q_value": 0.95, "verdict": "not_comparable"},
        {"compound": "PDD", "readout": "viability", "line_a": "2 x 10e4/mL", "line_b": "4 x 10e4/mL",
         "call_a": "active", "call_b": "active", "ec50_a": 7.80917e-6, "ec50_b": 4.71227e-5, "ratio": np.nan,
         "ratio_lo": np.nan, "ratio_hi": np.nan, "p_value": np.nan, "q_value": np.nan, "verdict": "not_comparable"},
    ])
    lines.to_csv(root / "lines.csv", index=False)
    pd.DataFrame([{"plate": "P1", "readout": "signal_end", "n_vehicle": 8, "mean_vehicle": 64035.0, "z_prime": 1.0,
                   "ssmd": -math.inf, "cv_vehicle": 0.0, "pass": True}]).to_csv(root / "qc.csv", index=False)
    return root


@pytest.fixture(scope="module")
def held_report(tmp_path_factory):
    root = _results(tmp_path_factory.mktemp("held") / "res")
    return root, build_report(root, root.parent / "report.html").read_text(encoding="utf-8")


def _cells(html: str, table_id_part: str) -> str:
    at = html.index(table_id_part)
    return html[at: html.index("</table>", at)]


def test_an_ec50_above_the_doses_with_an_interval_open_both_ways_is_not_determined(held_report):
    """47 µM fitted, 30 µM tested, 95% CI 3e-12 M to 735 M: the data rule out no EC50, so none is stated
    (the fits table said "> 30 µM", which the interval does not support)."""
    _, html = held_report
    assert "47.1 µM" not in html and "not determined" in html


def test_lines_table_holds_the_ec50_as_the_fits_table_does(held_report):
    root, html = held_report
    res = load_results(root)
    table = line_comparisons(res, [], {})["table"]
    texts = [[c["text"] for c in row] for row in table["rows"]]
    viability = next(t for t in texts if t[1] == "viability")
    assert "47.1 µM" not in html and viability[5] == "not determined"  # was "47.1 µM"; then "> 30 µM"


def test_absurd_intervals_are_unbounded_not_numbers(held_report):
    _, html = held_report
    gr = next(r for r in line_comparisons(load_results(held_report[0]), [], {})["table"]["rows"] if r[1]["text"] == "gr")
    assert gr[7]["text"] == "unbounded"  # ratio CI, was "2.06e-15–3.8e+15"
    assert "3.3e+10" not in html and "1.8e-08 pM" not in html  # fits table's CI, was "1.8e-08 pM–3.3e+10 M"
    assert "e+15" not in html and "e-15" not in html


def test_infinite_statistic_is_na_in_the_qc_table(held_report):
    _, html = held_report
    assert ">-inf<" not in html and ">inf<" not in html  # SSMD of controls without spread was "-inf"
    qc = _cells(html, "signal_end")
    assert ">n/a</td>" in qc


def test_formatting_of_non_finite_and_unsupported_limits():
    assert fmt(math.nan) == "" and fmt(-math.inf) == "n/a" and fmt(math.inf, "ssmd") == "n/a"
    assert fmt(math.inf, "ec50_hi") == "unbounded" and fmt(1.8e-20, "ec50_lo") == "unbounded"
    assert fmt(2.5e-8, "ec50_lo") == "25 nM"
    assert molar_range(2.56e-8, 2.98e-8) == "25.6–29.8 nM"
    assert molar_range(1.80038e-20, 3.30008e10) == "unbounded"
    assert molar_range(2e-6, math.inf) == "2 µM–unbounded"
    assert molar_range(math.nan, 1e-6) == ""
    # with the doses: more than 3 decades beyond them is unbounded, within is a number
    assert molar_range(1e-9, 5e-2, 1e-8, 1e-5) == "1 nM–unbounded"
    assert molar_range(2e-11, 5e-3, 1e-8, 1e-5) == "20 pM–5 mM"
    assert ratio_range(2.06234e-15, 3.80244e15, 81.0) == "unbounded"
    assert ratio_range(1.9, 4.2, 81.0) == "1.9–4.2"
    assert ratio_range(0.5, 2e9, 81.0) == "0.5–unbounded"


def test_ec50_time_figure_draws_out_of_range_ec50s_as_bounds_at_the_tested_limit(monkeypatch):
    drawn = {}
    monkeypatch.setattr(figures, "encode_png", lambda fig: drawn.setdefault("fig", fig) and "uri")
    series = pd.DataFrame({
        "time_h": [40.0, 44.0, 48.0],
        "ec50": [5e-6, 4.3e-5, 3e-6],  # 44 h: 43 µM with a 10 µM top dose
        "ec50_lo": [1.5e-6, 3.8e-7, 1.5e-8],
        "ec50_hi": [2e-5, 4.9e-3, 7.6e-4],
        "dose_min": 3.16e-9, "dose_max": 1e-5, "call": "active",
    })
    assert figures.ec50_time_figure({"necroptosis": series}, ["necroptosis"]) == "uri"
    ax = drawn["fig"].axes[0]
    data_line = ax.containers[0].lines[0]  # the errorbar's line through the estimates
    assert list(data_line.get_xdata()) == [40.0, 48.0] and list(data_line.get_ydata()) == [5e-6, 3e-6]
    held = [c for c in ax.collections if isinstance(c, PathCollection)]  # scatter markers (not error bars)
    assert all(c.get_facecolor().size == 0 for c in held)  # open
    assert [tuple(c.get_offsets()[0]) for c in held] == [(44.0, 1e-5)]  # open marker at the top dose
    assert any("beyond the tested doses" in t.get_text() for t in ax.get_legend().get_texts())


def test_an_open_topped_ec50_is_held_at_its_lower_bound_as_the_ranking_holds_it():
    from ferroscreen.report.formatting import held_ec50

    row = {"ec50": 8e-7, "ec50_lo": 6e-7, "dose_min": 1e-9, "dose_max": 6.6e-6, "flags": "far_plateau_undetermined"}
    assert held_ec50(row) == (">", 6e-7)
    assert held_ec50({**row, "flags": ""}) == ("", 8e-7)
    # a step-like fit's lower bound decades below the doses is held at the lowest dose (was "> 9e-15 pM")
    assert held_ec50({**row, "ec50": 3e-9, "ec50_lo": 9e-27}) == (">", 1e-9)
