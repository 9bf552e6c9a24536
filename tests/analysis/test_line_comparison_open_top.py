"""compare_lines on a line whose EC50 is bounded from below only: ``differs`` needs the README's 2-fold too."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis.line_comparison import compare_lines, comparison_sentence


def _fit(treatment, group, ec50, lo, hi, flags=""):
    return dict(curve=f"{treatment} | {group}", readout="viability", model="ll4", call="active", ec50=ec50,
                ec50_se=0.1 * ec50, ec50_lo=lo, ec50_hi=hi, df=20.0, rse=0.02, effect=-0.7, flags=flags,
                treatment=treatment, rescue_agent="", group=group, role="sample")


def _pairs():
    open_top = "far_plateau_undetermined"
    return pd.DataFrame([
        # L1's EC50 bounded from below only, 1.01x above L2's upper limit: the null case of lines_null.py
        _fit("A", "L2", 1e-6, 8e-7, 1.2e-6), _fit("A", "L1", 5e-6, 1.212e-6, np.nan, open_top),
        _fit("B", "L2", 1e-6, 8e-7, 1.2e-6), _fit("B", "L1", 8e-6, 3e-6, np.nan, open_top),  # at least 2.5x
        _fit("C", "L2", 1e-6, 8e-7, 1.2e-6), _fit("C", "L1", 2e-6, 6e-7, np.nan, open_top),  # bounds overlap
    ])


def test_a_lower_bound_barely_clearing_the_other_line_is_no_difference():
    # before: A "differs" with note "L1's EC50 is bounded from below only (far plateau undetermined): at least
    # 1.01x", no p or q, though min_fold is 2
    out = compare_lines(_pairs()).set_index("compound")
    assert out.loc["A", "verdict"] == "not_comparable"
    assert out.loc["A", "ratio_lo"] == np.float64(1.212e-6 / 1.2e-6)
    assert out.loc["A", "note"] == ("L1's EC50 is bounded from below only (far plateau undetermined): at least "
                                    "1.01x, which does not show the 2-fold a difference is called at")
    assert comparison_sentence(out.loc["A"]).startswith("L2 vs L1: not comparable (L1's EC50 is bounded")
    assert out.loc["B", "verdict"] == "differs" and out.loc["B", "ratio_lo"] == 3e-6 / 1.2e-6
    assert np.isinf(out.loc["B", "ratio_hi"]) and np.isnan(out.loc["B", "p_value"])
    assert comparison_sentence(out.loc["B"]).startswith("L1 at least 2.5x less sensitive than L2")
    assert out.loc["C", "verdict"] == "not_comparable"
    assert out.loc["C", "note"] == "L1: EC50 bounded from below only (far plateau undetermined)"


def test_min_fold_sets_how_far_the_lower_bound_must_clear():
    by_min = compare_lines(_pairs(), min_fold=1.005).set_index("compound")["verdict"]
    assert (by_min["A"], by_min["B"], by_min["C"]) == ("differs", "differs", "not_comparable")
    assert compare_lines(_pairs(), min_fold=3.0).set_index("compound").loc["B", "verdict"] == "not_comparable"
