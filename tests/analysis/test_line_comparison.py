"""compare_lines: EC50 ratios of one compound across cell lines, with hand-computed intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferroscreen.analysis.line_comparison import COMPARISON_COLUMNS, compare_lines, comparison_sentence


def _fit(treatment, group, ec50=1e-7, se=1e-8, call="active", effect=0.8, flags="", agent="", readout="frac_ferroptosis",
         df=20.0):
    return dict(curve=f"{treatment} | {group}" if group else treatment, readout=readout, model="ll4", call=call,
                ec50=ec50 if call == "active" else np.nan, ec50_se=se if call == "active" else np.nan, df=df,
                rse=0.02, effect=effect if call == "active" else 0.01, flags=flags, treatment=treatment,
                rescue_agent=agent, group=group, role="sample")


def test_ratio_interval_and_p_value_match_the_hand_computed_ones():
    fits = pd.DataFrame([_fit("A", "REH", ec50=2e-6, se=4e-7), _fit("A", "Nalm6", ec50=1e-7, se=1e-8)])
    out = compare_lines(fits)
    assert list(out.columns) == COMPARISON_COLUMNS and len(out) == 1
    r = out.iloc[0]
    assert (r["line_a"], r["line_b"]) == ("Nalm6", "REH")  # the more sensitive line first
    rel = np.hypot(0.2, 0.1)  # relative SEs of the two EC50s
    q = stats.t.ppf(0.975, (0.04 + 0.01) ** 2 / ((0.04**2 + 0.01**2) / 20.0))  # Welch-Satterthwaite df
    assert r["ratio"] == pytest.approx(20.0)
    assert r["ratio_lo"] == pytest.approx(20.0 * np.exp(-q * rel)) and r["ratio_hi"] == pytest.approx(
        20.0 * np.exp(q * rel))
    assert r["verdict"] == "differs" and r["q_value"] == pytest.approx(r["p_value"]) and r["p_value"] < 1e-6
    assert comparison_sentence(r).startswith("REH 20x less sensitive than Nalm6 (CI ")


def test_equal_potency_is_similar_and_a_small_significant_shift_is_not_called_a_difference():
    fits = pd.DataFrame([
        _fit("A", "L1", ec50=1e-7, se=2e-8), _fit("A", "L2", ec50=1.1e-7, se=2e-8),
        _fit("B", "L1", ec50=1e-7, se=1e-9), _fit("B", "L2", ec50=1.5e-7, se=1e-9),  # 1.5x, p tiny
    ])
    out = compare_lines(fits).set_index("compound")
    assert out.loc["A", "verdict"] == "similar" and out.loc["A", "ratio_lo"] < 1 < out.loc["A", "ratio_hi"]
    assert out.loc["B", "q_value"] < 1e-6 and out.loc["B", "verdict"] == "similar"  # under min_fold 2
    assert compare_lines(fits, min_fold=1.2).set_index("compound").loc["B", "verdict"] == "differs"


def test_active_in_one_line_only_is_selective_unless_its_effect_is_tiny():
    fits = pd.DataFrame([_fit("A", "L1", call="inactive"), _fit("A", "L2", ec50=3e-7, effect=0.6),
                         _fit("B", "L1", call="inactive"), _fit("B", "L2", effect=0.05)])
    out = compare_lines(fits)
    assert len(out) == 1
    r = out.iloc[0]
    assert (r["compound"], r["line_a"], r["line_b"], r["verdict"]) == ("A", "L2", "L1", "selective")
    assert np.isnan(r["ratio"]) and np.isnan(r["ec50_b"])
    assert comparison_sentence(r) == "active in L2 (effect 0.60), inactive in L1"


def test_unusable_curves_are_not_compared_and_say_why():
    fits = pd.DataFrame([_fit("A", "L1"), _fit("A", "L2", ec50=3e-5, flags="ec50_out_of_range;incomplete"),
                         _fit("B", "L1"), _fit("B", "L2", se=np.nan),
                         _fit("C", "L1"), _fit("C", "L2", call="failed", flags="failed"),
                         _fit("D", "L1"), _fit("D", "L2", flags="far_plateau_undetermined")])
    out = compare_lines(fits).set_index("compound")
    assert set(out["verdict"]) == {"not_comparable"}
    assert out.loc["D", "note"] == "L2: EC50 bounded from below only (far plateau undetermined)"
    assert out.loc["A", "note"] == "L2: EC50 outside the tested doses"
    assert out.loc["B", "note"] == "L2: no EC50 standard error"
    assert out.loc["C", "note"] == "L2: fit failed" and np.isnan(out.loc["C", "ratio"])


def test_rescue_curves_single_groups_and_inactive_pairs_are_left_out():
    fits = pd.DataFrame([
        _fit("A", "L1"), _fit("A", "L2", ec50=4e-7),
        _fit("A", "L1", agent="Fer-1", ec50=1e-5), _fit("A", "L2", agent="Fer-1", ec50=1e-5),  # rescue curves
        _fit("B", "L1"),  # one line only
        _fit("C", "L1", call="inactive"), _fit("C", "L2", call="inactive"),
        _fit("D", ""),  # ungrouped
    ])
    out = compare_lines(fits)
    assert out[["compound", "line_a", "line_b"]].values.tolist() == [["A", "L1", "L2"]]
    assert out.iloc[0]["ratio"] == pytest.approx(4.0)


def test_three_lines_give_every_pair_and_bh_adjusts_over_all_rows():
    fits = pd.DataFrame([_fit("A", "L1", ec50=1e-7), _fit("A", "L2", ec50=1e-6, se=1e-7),
                         _fit("A", "L3", ec50=1.2e-7, se=1.2e-8),
                         _fit("A", "L1", ec50=1e-7, readout="viability"), _fit("A", "L2", ec50=1e-6, se=1e-7,
                                                                              readout="viability")])
    out = compare_lines(fits)
    ferro = out[out["readout"] == "frac_ferroptosis"]
    assert sorted(map(tuple, ferro[["line_a", "line_b"]].values.tolist())) == [("L1", "L2"), ("L1", "L3"),
                                                                               ("L3", "L2")]
    p = out["p_value"].to_numpy()
    order = np.argsort(p)
    expected = np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    assert out["q_value"].to_numpy()[order] == pytest.approx(np.minimum(expected, 1))


def test_no_groups_gives_an_empty_table_with_the_columns():
    out = compare_lines(pd.DataFrame([_fit("A", ""), _fit("B", "")]))
    assert out.empty and list(out.columns) == COMPARISON_COLUMNS
    assert compare_lines(pd.DataFrame()).empty


def test_pairs_with_unequal_plateaus_say_so():
    fits = pd.DataFrame([_fit("A", "L1", effect=0.85), _fit("A", "L2", ec50=4e-7, effect=0.4),
                         _fit("B", "L1", effect=0.85), _fit("B", "L2", ec50=4e-7, effect=0.75)])
    out = compare_lines(fits).set_index("compound")
    assert out.loc["A", "note"] == ("plateaus differ (effect 0.85 vs 0.40): the EC50s are half-way points of "
                                    "unequal effects")
    assert out.loc["B", "note"] == "" and out.loc["A", "verdict"] == out.loc["B", "verdict"] == "differs"
    assert comparison_sentence(out.loc["A"]).endswith("; plateaus differ (effect 0.85 vs 0.40): the EC50s are "
                                                      "half-way points of unequal effects")


def test_an_inactive_line_with_an_equal_effect_and_an_uninformative_interval_are_not_comparable():
    same = _fit("A", "L1", call="inactive")
    same["effect"] = -0.62  # as large as the active line's: inactive for its few points, not for no effect
    fits = pd.DataFrame([same, _fit("A", "L2", effect=-0.64),
                         _fit("B", "L1", ec50=2e-7, se=2e-6, df=2.0), _fit("B", "L2", ec50=4e-7, se=4e-6, df=2.0)])
    out = compare_lines(fits).set_index("compound")
    assert out.loc["A", "verdict"] == "not_comparable"
    assert "L1: called inactive, but its effect (-0.62) is as large as L2's (-0.64)" in out.loc["A", "note"]
    b = out.loc["B"]
    assert np.log10(b["ratio_hi"] / b["ratio_lo"]) > 4 and b["verdict"] == "not_comparable"
    assert b["note"].startswith("the EC50s are too uncertain to compare (ratio 2x, CI ")
