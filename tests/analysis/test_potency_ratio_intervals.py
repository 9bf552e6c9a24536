"""potency_ratio where an EC50 is not bracketed (profile or open interval) or is no potency (inactive curve)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import fit_curves, potency_ratio

DOSE = np.repeat([0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5], 3)


def _ll4(x, ec50):
    return 0.05 + 0.85 / (1 + (ec50 / np.maximum(x, 1e-30)) ** 1.2)


@pytest.fixture(scope="module")
def fits():
    """RSL3 below the doses (profile interval), RSL3 + Fer-1 bracketed (Wald), a flat curve (inactive).

    (An EC50 above the doses has a far plateau no dose reaches: ``far_plateau_undetermined``, open above.)
    """
    rng = np.random.default_rng(7)
    table = pd.concat([
        pd.DataFrame({"curve": name, "dose": DOSE, "response": _ll4(DOSE, ec50) + rng.normal(0, 0.03, DOSE.size)})
        for name, ec50 in [("RSL3", 3e-10), ("RSL3 + Fer-1", 1e-7), ("flat", 1e3)]
    ])
    return fit_curves(table).set_index("curve", drop=False)


def _row(curve, ec50, se, lo, hi, method="wald", flags="", call="active", reportable=True):
    return {"curve": curve, "readout": "response", "ec50": ec50, "ec50_se": se, "df": 14.0, "ec50_lo": lo,
            "ec50_hi": hi, "ec50_ci_method": method, "flags": flags, "call": call, "ec50_reportable": reportable}


def test_a_profile_interval_gives_the_ratio_the_bounds_of_the_two_ec50_intervals(fits):
    num, den = fits.loc["RSL3 + Fer-1"], fits.loc["RSL3"]
    assert num["ec50_ci_method"] == "wald" and den["ec50_ci_method"] == "profile"  # one of each
    r = potency_ratio(fits, "RSL3 + Fer-1", "RSL3")
    # no Wald interval from an SE larger than the EC50: nothing negative, no "no shift" p-value
    for col in ("delta_lo", "fieller_lo", "log_lo", "ratio_lo"):
        assert not r[col] < 0, col
    assert np.isnan(r["p_value"]) and np.isnan(r["delta_lo"]) and np.isnan(r["log_hi"])
    assert r["ci_method"] == "intervals" and "profile" in r["note"]
    assert r["ratio_lo"] == pytest.approx(num["ec50_lo"] / den["ec50_hi"])
    assert r["ratio_hi"] == pytest.approx(num["ec50_hi"] / den["ec50_lo"])
    assert r["ratio_level"] == pytest.approx(0.90)  # each limit at >= 95 %, the pair at >= 90 %
    assert 1 < r["ratio_lo"] < r["ratio"] < r["ratio_hi"]  # the EC50 intervals do not overlap: a shift


def test_an_inactive_curve_has_no_ratio_and_a_note_says_why(fits):
    assert not fits.loc["flat", "ec50_reportable"]
    r = potency_ratio(fits, "flat", "RSL3")
    assert np.isnan(r["ratio"]) and np.isnan(r["ratio_lo"]) and np.isnan(r["ratio_hi"])
    assert "'flat' is called inactive" in r["note"]
    back = potency_ratio(fits, "RSL3", "flat")
    assert np.isnan(back["ratio"]) and "'flat'" in back["note"]


def test_a_curve_with_an_unreportable_ec50_read_from_csv_has_no_ratio():
    fits = pd.DataFrame([_row("A", 1e-7, 1e-8, 8e-8, 1.2e-7), _row("B", 1e-6, 1e-7, 8e-7, 1.2e-6, reportable="False")])
    r = potency_ratio(fits, "B", "A")
    assert np.isnan(r["ratio"]) and "ec50_reportable False" in r["note"]


def test_an_ec50_bounded_from_below_only_gives_an_open_ratio():
    fits = pd.DataFrame([
        _row("A", 1e-7, 1e-8, 8e-8, 1.25e-7),
        _row("A + Fer-1", 2e-6, 5e-7, 1e-6, np.inf, flags="far_plateau_undetermined"),
    ])
    r = potency_ratio(fits, "A + Fer-1", "A")
    assert r["ratio_lo"] == pytest.approx(1e-6 / 1.25e-7) and r["ratio_hi"] == np.inf
    assert r["ratio_level"] == pytest.approx(0.95)  # one finite limit: one-sided at the fits' level
    assert np.isnan(r["p_value"]) and "far plateau" in r["note"]


def test_wald_limits_of_a_wide_ratio_stay_positive_and_keep_their_p_value():
    fits = pd.DataFrame([_row("A", 1e-7, 1e-8, 8e-8, 1.25e-7), _row("B", 3e-7, 2.5e-7, 1e-7, 9e-7)])
    r = potency_ratio(fits, "B", "A")
    assert r["ci_method"] == "wald" and np.isfinite(r["p_value"])
    assert r["delta_lo"] == 0.0 and r["fieller_lo"] == 0.0  # linear-scale limits below 0 truncated
    assert (r["ratio_lo"], r["ratio_hi"]) == (r["log_lo"], r["log_hi"]) and r["ratio_lo"] > 0


def test_a_table_without_interval_columns_keeps_the_wald_ratio():
    fits = pd.DataFrame({"curve": ["A", "B"], "readout": "r", "ec50": [1e-7, 1e-6], "ec50_se": [1e-8, 1e-7],
                         "df": [14.0, 14.0]})
    r = potency_ratio(fits, "B", "A")
    assert r["ci_method"] == "wald" and r["ratio"] == pytest.approx(10) and r["p_value"] < 1e-6
    assert r["fieller_lo"] > 1 and r["note"] == ""


def test_an_interval_open_below_in_the_denominator_gives_an_open_upper_ratio():
    from ferroscreen.analysis.potency import interval_ratio

    num = pd.Series({"ec50_lo": 1e-7, "ec50_hi": 3e-7})
    den = pd.Series({"ec50_lo": 0.0, "ec50_hi": 2e-8})
    out = interval_ratio(num, den, 0.95)
    assert out["ratio_lo"] == 5.0 and out["ratio_hi"] == np.inf and np.isclose(out["ratio_level"], 0.95)
