"""fits.csv says whether an EC50 is a point estimate or a bound, and which covariance its intervals used.

Was: ``ec50_reportable`` was True for every active curve with a finite EC50, including EC50s beyond the
tested doses and curves flagged ``far_plateau_undetermined`` (``ec50_hi`` inf), which the report shows
as a bound (``EC50 > 2.74 µM``); fits.csv had nothing that said so. Nor did it say whether a fraction
curve's interval came from the HC2 sandwich or drc's covariance.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import FIT_COLUMNS, fit_curves
from ferroscreen.analysis.potency import ec50_bounds

DOSES = 1e-9 * 3.0 ** np.arange(9)  # 1 nM .. 6.56 µM, three-fold
D0, D1 = DOSES[0], DOSES[-1]


def _viability(seed: int, log10_ec50s, reps: int = 3, sd: float = 0.04, readout: str = "viability") -> pd.DataFrame:
    """Falling responses (1 -> 0.05, hill 1.2), ``reps`` wells per dose and at the vehicle."""
    rng = np.random.default_rng(seed)
    dose = np.concatenate([np.zeros(reps), np.repeat(DOSES, reps)])
    frames = []
    for i, le in enumerate(log10_ec50s):
        mean = np.where(dose > 0, 0.05 + 0.95 / (1 + (np.maximum(dose, 1e-300) / 10.0**le) ** 1.2), 1.0)
        frames.append(pd.DataFrame({"curve": f"c{i}", "readout": readout, "dose": dose,
                                    "response": mean + rng.normal(0, sd, dose.size)}))
    return pd.concat(frames, ignore_index=True)


def _fractions(seed: int, n: int, rho: float = 0.0, readout: str = "frac_dead", span=(0.05, 0.85)) -> pd.DataFrame:
    """Rising death fractions (``span``) counted in 200 cells a well (beta-binomial with ``rho`` > 0)."""
    rng = np.random.default_rng(seed)
    dose = np.concatenate([np.zeros(6), np.repeat(DOSES, 3)])
    frames = []
    for i in range(n):
        low, high = span
        p = low + (high - low) / (1 + (10.0 ** rng.uniform(-8, -6.5) / np.maximum(dose, 1e-300)))
        p = np.clip(p, 1e-4, 1 - 1e-4)
        if rho > 0:
            a = p * (1 / rho - 1)
            p = rng.beta(a, a * (1 - p) / p)
        dead = rng.binomial(200, p)
        frames.append(pd.DataFrame({"curve": f"c{i}", "readout": readout, "dose": dose,
                                    "response": dead / 200, "n": 200}))
    return pd.concat(frames, ignore_index=True)


def _row(ec50, lo, hi, flags="", dose_min=D0, dose_max=D1):
    return {"ec50": ec50, "ec50_lo": lo, "ec50_hi": hi, "flags": flags, "dose_min": dose_min, "dose_max": dose_max}


def test_the_rule_names_point_estimates_bounds_and_ec50s_the_data_leave_open():
    table = pd.DataFrame([
        _row(1e-7, 5e-8, 2e-7),                                         # inside: a point estimate
        _row(2e-5, 4e-6, np.inf),                                       # above the doses: > ec50_lo
        _row(2e-5, 3e-5, np.inf),                                       # ... ec50_lo above the top dose: > top
        _row(1e-10, 0.0, 5e-10),                                        # below: < lowest dose (ec50_hi under it)
        _row(1e-10, 0.0, 3e-9),                                         # ... < ec50_hi
        _row(3e-6, 1e-6, np.inf, "far_plateau_undetermined"),          # open-topped inside the doses
        _row(3e-6, 1e-20, np.inf, "at_bound;far_plateau_undetermined"),  # ... its lower limit no dose bounds
        _row(2e-5, 0.0, np.inf),                                        # above, interval open both ways
        _row(2e-5, np.nan, np.nan),                                     # above, no interval: held at the top
        _row(3e-6, np.nan, np.nan, "far_plateau_undetermined"),         # open-topped, no interval
        _row(np.nan, np.nan, np.nan),                                   # not fitted
    ])
    bound, value = ec50_bounds(table)
    assert bound.tolist() == ["", ">", ">", "<", "<", ">", "?", "?", ">", "?", ""]
    expected = [1e-7, 4e-6, D1, D0, 3e-9, 1e-6, np.nan, np.nan, D1, np.nan, np.nan]
    np.testing.assert_allclose(value, expected, equal_nan=True)


def test_fits_mark_an_ec50_bounded_from_below_as_the_report_shows_it():
    # the walk-through's case: true EC50 1.5 µM, top dose 6.56 µM; the report writes "EC50 > ..."
    fit = fit_curves(_viability(5, [np.log10(1.5e-6)])).iloc[0]
    assert fit["call"] == "active" and "far_plateau_undetermined" in fit["flags"].split(";")
    assert fit["ec50_bound"] == ">"
    # a bound still gives an interval-based potency ratio (potency_ratio), so it stays reportable
    assert bool(fit["ec50_reportable"])


def test_every_fitted_bound_is_the_one_the_report_states(tmp_path):
    from ferroscreen.report.formatting import ec50_bound as report_bound

    rng = np.random.default_rng(11)
    fits = fit_curves(_viability(12, rng.uniform(-11, -4, 80)))
    said = fits["ec50_bound"].tolist()
    assert {"", ">", "<"} <= set(said)
    for row, bound in zip(fits.drop(columns="ec50_bound").to_dict("records"), said, strict=True):
        if bool(row["ec50_reportable"]):
            assert bound == report_bound(row)[0], row
        else:
            assert bound == ""  # no potency at all: the report writes n/a (inactive)
    # fits.csv read back gives the same bounds
    fits.to_csv(tmp_path / "fits.csv", index=False)
    back = pd.read_csv(tmp_path / "fits.csv")
    again = np.where(back["ec50_reportable"], ec50_bounds(back)[0], "")
    assert again.tolist() == said
    assert back["ec50_bound"].fillna("").tolist() == said


def test_fit_columns_end_with_the_bound_and_the_covariance():
    assert FIT_COLUMNS[-2:] == ["ec50_bound", "cov_method"]
    assert list(fit_curves(_viability(1, [-7.0])).columns) == FIT_COLUMNS


def test_cov_method_says_which_covariance_least_squares_fraction_curves_used():
    table = _fractions(3, 30).drop(columns="n")
    fits = fit_curves(table)
    drc = fit_curves(table, sandwich=False)
    assert set(drc["cov_method"]) == {"drc"}
    assert set(fits["cov_method"]) == {"hc2", "drc"}  # a curve keeps drc's where the sandwich is narrower
    hc2 = (fits["cov_method"] == "hc2").to_numpy()
    assert hc2.sum() >= 10
    np.testing.assert_allclose(fits.loc[~hc2, "ec50_se"], drc.loc[~hc2, "ec50_se"], rtol=1e-9)
    assert (fits.loc[hc2, "ec50_se"].to_numpy() > drc.loc[hc2, "ec50_se"].to_numpy()).all()
    # viability is no fraction of cells: drc's covariance unless asked
    assert set(fit_curves(_viability(2, [-7.0, -6.5]))["cov_method"]) == {"drc"}
    assert set(fit_curves(_viability(2, [-7.0, -6.5]), sandwich=True)["cov_method"]) <= {"hc2", "drc"}


def test_cov_method_of_binomial_fits_says_whether_the_dispersion_scaled_them():
    plain = fit_curves(_fractions(4, 12, span=(0, 1)), model="ll2")  # LL.2's 0 -> 1, binomial counts
    over = fit_curves(_fractions(4, 12, rho=0.05, span=(0, 1)), model="ll2")
    both = pd.concat([plain, over], ignore_index=True)
    scaled = both["rse"] > 1.0  # the Pearson dispersion, sqrt: above 1 it scales the covariance
    assert scaled.any() and (~scaled).any()
    assert (both.loc[scaled, "cov_method"] == "quasibinomial").all()
    assert (both.loc[~scaled, "cov_method"] == "binomial").all()
    unscaled = fit_curves(_fractions(4, 12, rho=0.05, span=(0, 1)), model="ll2", overdispersion=False)
    assert set(unscaled["cov_method"]) == {"binomial"}


def test_a_curve_not_fitted_has_no_cov_method_and_no_bound():
    table = pd.DataFrame({"curve": "two", "dose": [0, 0, 1e-7, 1e-7, 1e-6, 1e-6],
                          "response": [1.0, 1.0, 0.8, 0.82, 0.3, 0.31]})
    fit = fit_curves(table).iloc[0]
    assert fit["call"] == "failed"
    assert fit["cov_method"] == "" and fit["ec50_bound"] == ""
    assert math.isnan(fit["ec50"])


@pytest.mark.parametrize("model", ["ll3", "ll5"])
def test_other_models_fill_both_columns(model):
    fits = fit_curves(_viability(6, [-7.0, -5.0]), model=model)
    assert set(fits["cov_method"]) == {"drc"}
    assert set(fits["ec50_bound"]) <= {"", ">", "<", "?"}
