"""Batched log-logistic fitting: drc agreement, models, zero doses, bounds, flags."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import AnalysisInputError, fit_curves
from ferroscreen.analysis.fitting import build_batch
from ferroscreen.analysis.models import effective_dose, hessian, jacobian, response

from .conftest import shared_path


def _sig(a: float, b: float, digits: int = 4) -> bool:
    """Equal to ``digits`` significant digits (relative difference below half a unit)."""
    return abs(a - b) <= 0.5 * 10 ** (np.floor(np.log10(abs(b))) - digits + 1)


@pytest.fixture(scope="module")
def ryegrass():
    data = pd.read_csv(shared_path("doseresponse", "ryegrass.csv"))
    ref = pd.read_csv(shared_path("doseresponse", "ryegrass_drc_reference.csv"))
    table = pd.DataFrame({"curve": "ryegrass", "dose": data["conc"], "response": data["rootl"]})
    return table, ref


def _ref(ref: pd.DataFrame, model: str, prefix: str) -> pd.Series:
    rows = ref[(ref["model"] == model) & ref["quantity"].str.startswith(prefix)]
    assert len(rows) == 1, (model, prefix)
    return rows.iloc[0]


def test_ryegrass_ll4_matches_drc(ryegrass):
    table, ref = ryegrass
    fit = fit_curves(table, model="ll4", ci_scale="linear").iloc[0]
    for prefix, col in (("b", "hill"), ("c", "bottom"), ("d", "top"), ("e", "ec50")):
        r = _ref(ref, "LL.4", prefix + " ")
        assert _sig(fit[col], r.published_estimate), (col, fit[col], r.published_estimate)
        assert _sig(fit[f"{col}_se"], r.published_se), (col, fit[f"{col}_se"], r.published_se)
        assert _sig(fit[f"{col}_lo"], r.published_ci_low), col
        assert _sig(fit[f"{col}_hi"], r.published_ci_high), col
    assert _sig(fit["rse"], _ref(ref, "LL.4", "residual SE").published_estimate)
    assert fit["df"] == 20
    for pct in (10, 50, 90):
        r = _ref(ref, "LL.4", f"ED{pct} delta")
        name = "ec50" if pct == 50 else f"ed{pct}"
        assert _sig(fit[name], r.published_estimate), name
        assert _sig(fit[f"{name}_se"], r.published_se), name
        assert _sig(fit[f"{name}_lo"], r.published_ci_low), name
        assert _sig(fit[f"{name}_hi"], r.published_ci_high), name


def test_ryegrass_ll3_matches_drc(ryegrass):
    table, ref = ryegrass
    fit = fit_curves(table, model="ll3").iloc[0]
    for prefix, col in (("b", "hill"), ("d", "top"), ("e", "ec50")):
        r = _ref(ref, "LL.3", prefix)
        assert _sig(fit[col], r.published_estimate), (col, fit[col])
        assert _sig(fit[f"{col}_se"], r.published_se), (col, fit[f"{col}_se"])
    assert _sig(fit["rse"], _ref(ref, "LL.3", "residual SE").published_estimate)
    assert fit["bottom"] == 0 and np.isnan(fit["bottom_se"])


def test_ryegrass_hessian_ses_exceed_gauss_newton(ryegrass):
    """drc's Hessian SEs differ from J'J ones (the README's ~1.5 %)."""
    table, _ = ryegrass
    fit = fit_curves(table).iloc[0]
    batch = build_batch(np.zeros(len(table), int), table["dose"], table["response"], 1)
    params = np.array([[fit.hill, fit.bottom, fit.top, fit.ec50, 1.0]])
    _, jac = jacobian(params, batch.logx, batch.zero)
    jtj = np.einsum("cn,cnp,cnq->cpq", batch.w, jac[..., :4], jac[..., :4])[0]
    se_gn = np.sqrt(np.diag(np.linalg.inv(jtj)) * fit.rse**2)
    assert se_gn[0] < fit.hill_se and abs(se_gn[0] / fit.hill_se - 1) > 0.005


def test_zero_dose_is_control_limit():
    params = np.array([[1.5, 0.1, 0.9, 1e-6, 1.0], [-1.5, 0.1, 0.9, 1e-6, 1.0]])
    logx = np.log(np.array([[1e-6, 1.0], [1e-6, 1.0]]))
    zero = np.array([[False, True], [False, True]])
    f = response(params, logx, zero)
    assert f[0, 1] == pytest.approx(0.9) and f[1, 1] == pytest.approx(0.1)
    assert f[0, 0] == pytest.approx(0.5) and f[1, 0] == pytest.approx(0.5)
    _, jac = jacobian(params, logx, zero)
    assert np.all(np.abs(jac[:, 1, [0, 3]]) < 1e-12)


def test_jacobian_and_hessian_match_finite_differences():
    rng = np.random.default_rng(0)
    params = np.array([[1.3, 0.2, 1.1, 2e-6, 0.7], [-0.8, 0.05, 0.8, 3e-8, 1.6]])
    logx = np.log(rng.uniform(1e-9, 1e-4, (2, 6)))
    zero = np.zeros((2, 6), bool)
    _, jac = jacobian(params, logx, zero)
    hess = hessian(params, logx, zero)
    for k in range(5):
        h = 1e-6 * np.abs(params[:, k])
        up, dn = params.copy(), params.copy()
        up[:, k] += h
        dn[:, k] -= h
        num = (response(up, logx, zero) - response(dn, logx, zero)) / (2 * h[:, None])
        np.testing.assert_allclose(jac[..., k], num, rtol=1e-5, atol=1e-9)
        _, j_up = jacobian(up, logx, zero)
        _, j_dn = jacobian(dn, logx, zero)
        np.testing.assert_allclose(hess[..., k, :], (j_up - j_dn) / (2 * h[:, None, None]),
                                   rtol=1e-3, atol=1e-6 * np.abs(hess).max())


def test_effective_dose_orders_ed10_below_ed90():
    params = np.array([[2.0, 0.0, 1.0, 1e-6, 1.0], [-2.0, 0.0, 1.0, 1e-6, 1.0]])
    ed10, ed90 = effective_dose(params, 10), effective_dose(params, 90)
    assert np.all(ed10 < 1e-6) and np.all(ed90 > 1e-6)
    np.testing.assert_allclose(ed10, 1e-6 * (1 / 9) ** 0.5)


def _curves(rng, n, ec50s, hill=-1.5, noise=0.03, top=0.8):
    doses = np.repeat(np.concatenate([[0.0], 10.0 ** np.arange(-9, -4.4, 0.5)]), 3)
    rows = []
    for i in range(n):
        mean = 0.05 + (top - 0.05) / (1 + np.exp(hill * (np.log(np.maximum(doses, 1e-30))
                                                          - np.log(ec50s[i]))))
        mean[doses == 0] = 0.05
        rows.append(pd.DataFrame({"curve": f"c{i}", "dose": doses,
                                  "response": mean + rng.normal(0, noise, doses.size)}))
    return pd.concat(rows, ignore_index=True)


def test_batched_equals_one_at_a_time():
    rng = np.random.default_rng(1)
    table = _curves(rng, 12, 10 ** rng.uniform(-8, -6, 12))
    together = fit_curves(table)
    alone = pd.concat([fit_curves(g) for _, g in table.groupby("curve", sort=False)])
    np.testing.assert_allclose(together["ec50"], alone["ec50"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(together["ec50_se"], alone["ec50_se"].to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(together["p_value"], alone["p_value"].to_numpy(), rtol=1e-4,
                               atol=1e-12)


def test_output_columns_and_drc_sign():
    rng = np.random.default_rng(2)
    fits = fit_curves(_curves(rng, 3, [1e-7, 1e-7, 1e-7]))
    required = ("curve, readout, model, n_points, bottom, bottom_se, top, top_se, hill, hill_se, "
                "ec50, ec50_se, ec50_lo, ec50_hi, emax, auc, rse, p_value, q_value, call, flags")
    assert set(required.split(", ")) <= set(fits.columns)
    assert (fits["hill"] < 0).all()  # rising curve: drc's b is negative
    assert (fits["bottom"] < fits["top"]).all()
    assert (fits["call"] == "active").all()
    assert (fits["ec50_lo"] < fits["ec50"]).all() and (fits["ec50"] < fits["ec50_hi"]).all()


def test_ec50_window_and_out_of_range_flag():
    rng = np.random.default_rng(3)
    fits = fit_curves(_curves(rng, 1, [3e-5], hill=-2.5, noise=0.01))
    row = fits.iloc[0]
    assert row["ec50"] <= 3.17e-5 * 10 * (1 + 1e-6)  # at most one decade above the top dose
    assert "ec50_out_of_range" in row["flags"] or "incomplete" in row["flags"]


def test_too_few_points_failed_and_flat():
    table = pd.DataFrame({"curve": ["a"] * 4 + ["flat"] * 30,
                          "dose": [0, 1e-6, 0, 1e-6] + list(np.repeat(10.0 ** np.arange(-9, -4), 6)),
                          "response": [0.1, 0.5, 0.12, 0.52]
                          + list(np.random.default_rng(4).normal(0.2, 0.02, 30))})
    fits = fit_curves(table).set_index("curve")
    assert fits.loc["a", "call"] == "failed"
    assert "too_few_points" in fits.loc["a", "flags"] and "failed" in fits.loc["a", "flags"]
    assert fits.loc["flat", "call"] == "inactive"


def test_ll5_and_ll2_binomial():
    rng = np.random.default_rng(5)
    doses = np.repeat(np.concatenate([[0.0], 10.0 ** np.arange(-9, -4.4, 0.5)]), 3)
    p = 1 / (1 + (2e-7 / np.maximum(doses, 1e-30)) ** 1.4)
    n = rng.integers(300, 600, doses.size)
    k = rng.binomial(n, p)
    table = pd.DataFrame({"curve": "x", "dose": doses, "response": k / n, "n": n})
    fit = fit_curves(table, model="ll2").iloc[0]
    assert fit["model"] == "ll2" and fit["call"] == "active"
    assert abs(np.log10(fit["ec50"] / 2e-7)) < 0.1
    assert fit["ec50_lo"] < 2e-7 < fit["ec50_hi"]
    assert fit["hill"] == pytest.approx(-1.4, abs=0.2)
    fit5 = fit_curves(table.drop(columns="n"), model="ll5").iloc[0]
    assert np.isfinite(fit5["asymmetry"]) and abs(np.log10(fit5["ec50"] / 2e-7)) < 0.15


def test_input_errors_name_the_source():
    with pytest.raises(AnalysisInputError, match="mydata.csv: missing column"):
        fit_curves(pd.DataFrame({"curve": ["a"], "dose": [1.0]}), source="mydata.csv")
    with pytest.raises(AnalysisInputError, match="dose must be a finite number >= 0"):
        fit_curves(pd.DataFrame({"curve": ["a"], "dose": [-1.0], "response": [1.0]}))
    with pytest.raises(AnalysisInputError, match="needs a column 'n'"):
        fit_curves(pd.DataFrame({"curve": ["a"], "dose": [1.0], "response": [0.5]}), model="ll2")
    with pytest.raises(AnalysisInputError, match="not a number"):
        fit_curves(pd.DataFrame({"curve": ["a"], "dose": ["x"], "response": [0.5]}))


def test_sarcoma_every_curve_has_a_result_or_flag():
    table = pd.read_csv(shared_path("doseresponse", "sarcoma1000_long.csv"))
    table = table.rename(columns={"dose_M": "dose"})
    names = table["curve"].unique()[:150]
    fits = fit_curves(table[table["curve"].isin(names)])
    assert len(fits) == 150
    assert (np.isfinite(fits["ec50"]) | (fits["flags"] != "")).all()
    assert set(fits["call"]) <= {"active", "inactive", "failed"}


def test_standard_errors_do_not_depend_on_the_dose_scale():
    """The same curve at micromolar and at picomolar potency: the same relative EC50 SE and Hill SE
    (the Hessian's step on the EC50 was floored at 1e-12 M: 4 % off at 1 pM, NaN below)."""
    rng = np.random.default_rng(0)
    rel = np.tile(10.0 ** np.arange(-3, 3.01, 0.5), 3)
    response = 0.05 + 0.9 / (1 + rel**1.3) + rng.normal(0, 0.03, rel.size)
    fits = {}
    for ec50 in (1e-6, 1e-12, 1e-14):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            fits[ec50] = fit_curves(pd.DataFrame({"curve": "c", "dose": rel * ec50, "response": response})).iloc[0]
    for ec50 in (1e-12, 1e-14):
        assert fits[ec50]["ec50"] / ec50 == pytest.approx(fits[1e-6]["ec50"] / 1e-6, rel=1e-6)
        assert fits[ec50]["ec50_se"] / fits[ec50]["ec50"] == pytest.approx(
            fits[1e-6]["ec50_se"] / fits[1e-6]["ec50"], rel=1e-3)
        assert fits[ec50]["hill_se"] == pytest.approx(fits[1e-6]["hill_se"], rel=1e-3)
