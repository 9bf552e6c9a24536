"""Activity calls with FDR, potency ratios, and the simulated-truth validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from ferroscreen.analysis import fit_curves, potency_ratio
from ferroscreen.analysis.activity import bh_qvalues
from ferroscreen.analysis.potency import ratio_intervals
from ferroscreen.analysis.validation import recovery_summary, simulate_curves


def test_bh_matches_statsmodels_and_skips_nan():
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.5])
    q = bh_qvalues(p)
    ref = multipletests(p[~np.isnan(p)], method="fdr_bh")[1]
    np.testing.assert_allclose(q[~np.isnan(p)], ref)
    assert np.isnan(q[1])


def test_fieller_and_delta_intervals():
    out = ratio_intervals(10.0, 1.0, 20, 2.0, 0.2, 20)
    assert out["ratio"] == pytest.approx(5.0)
    assert out["fieller_lo"] < 5.0 < out["fieller_hi"]
    assert out["delta_lo"] < 5.0 < out["delta_hi"]
    # Fieller's limits solve (a - r b)^2 = q^2 (va + r^2 vb)
    from scipy import stats

    q = stats.t.ppf(0.975, out["df"])
    for r in (out["fieller_lo"], out["fieller_hi"]):
        assert (10 - r * 2) ** 2 == pytest.approx(q**2 * (1 + r**2 * 0.04), rel=1e-9)
    unbounded = ratio_intervals(1.0, 0.1, 10, 0.1, 0.2, 10)  # denominator not significant
    assert np.isnan(unbounded["fieller_lo"]) and np.isnan(unbounded["fieller_hi"])


def test_potency_ratio_detects_rescue_shift():
    rng = np.random.default_rng(1)
    dose = np.repeat([0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4], 3)

    def curve(name, ec50):
        frac = 0.05 + 0.85 / (1 + ec50 / np.maximum(dose, 1e-30))
        return pd.DataFrame({"curve": name, "dose": dose,
                             "response": frac + rng.normal(0, 0.02, dose.size)})

    fits = fit_curves(pd.concat([curve("RSL3", 1e-7), curve("RSL3 + Fer-1", 3e-6)]))
    r = potency_ratio(fits, "RSL3 + Fer-1", "RSL3")
    assert 15 < r["ratio"] < 60
    assert r["log_lo"] > 1 and r["fieller_lo"] > 1 and r["p_value"] < 0.001
    with pytest.raises(Exception, match="no curve named 'nope'"):
        potency_ratio(fits, "nope", "RSL3")


def test_simulated_truth_recovery():
    """>= 500 synthetic curves: EC50 error, CI coverage in [0.90, 0.98], false calls <= 5%."""
    table, truth = simulate_curves(n_active=600, n_flat=500, seed=11)
    summary = recovery_summary(fit_curves(table), truth)
    assert summary["n_active"] == 600 and summary["n_flat"] == 500
    assert summary["median_abs_log10_ec50_error"] < 0.1
    assert 0.90 <= summary["ec50_ci_coverage"] <= 0.98, summary
    assert summary["false_active_rate"] <= 0.05, summary
    assert summary["true_active_rate"] > 0.95, summary


def test_analysis_does_not_import_torch_or_io():
    import subprocess
    import sys

    code = (
        "import sys, ferroscreen.analysis, ferroscreen.analysis.fit_run; "
        "bad = [m for m in ('torch', 'ferroscreen.io', 'ferroscreen.score') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_docstring_examples_run():
    import doctest

    import ferroscreen.analysis.dose_response as dr
    import ferroscreen.analysis.potency as po

    for module in (dr, po):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0


def test_the_default_minimal_effect_follows_the_readout_scale():
    """Fractions keep 0.1; % viability, raw luminescence and % inhibition get 10 % of their reference level."""
    from ferroscreen.analysis.activity import default_min_effect

    rng = np.random.default_rng(4)
    dose = np.repeat([0.0, 1e-8, 1e-7, 1e-6, 1e-5], 6)
    viability = np.clip(1 / (1 + dose / 1e-7) + rng.normal(0, 0.05, dose.size), -0.01, None)
    for scale in (1, 100, 40000):
        found = default_min_effect(dose, viability * scale)
        assert found.value == pytest.approx(0.1 * np.median(viability[dose == 0]) * scale if scale > 1 else 0.1)
        assert found.basis == ("fraction" if scale == 1 else "vehicle")
    assert default_min_effect(dose, viability * 1.5).value == 0.1  # fractions above 1 (growth) stay fractions
    inhibition = (1 - viability) * 100  # vehicle ~0, kills ~100: the vehicle is not the reference
    found = default_min_effect(dose, inhibition)
    assert found.basis == "upper" and found.value == pytest.approx(0.1 * np.quantile(np.abs(inhibition), 0.95))
    assert default_min_effect(dose[dose > 0], viability[dose > 0] * 100).basis == "upper"  # no vehicle rows
    assert default_min_effect(dose, ["n/a"] * dose.size).value == 0.1  # nothing read: as before


def test_fit_curves_takes_a_minimal_effect_per_readout():
    rng = np.random.default_rng(2)
    dose = np.repeat([0.0, 1e-8, 1e-7, 1e-6, 1e-5], 4)
    small = 1 - 0.05 / (1 + 1e-7 / np.maximum(dose, 1e-30)) + rng.normal(0, 0.004, dose.size)
    table = pd.concat([pd.DataFrame({"curve": "c", "dose": dose, "response": small, "readout": "frac"}),
                       pd.DataFrame({"curve": "c", "dose": dose, "response": small * 100, "readout": "pct"})])
    fits = fit_curves(table, min_effect={"pct": 10.0}).set_index("readout")
    assert fits.loc["frac", "q_value"] < 0.05 and fits.loc["pct", "q_value"] < 0.05
    assert fits.loc["frac", "call"] == "inactive"  # 0.05 < 0.1, the default of a readout not named
    assert fits.loc["pct", "call"] == "inactive"  # 5 < 10
    assert fit_curves(table, min_effect={"pct": 2.0}).set_index("readout").loc["pct", "call"] == "active"
