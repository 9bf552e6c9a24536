"""Activity calls: does a curve differ from a flat line, by enough to matter?

A curve is **active** when two conditions hold:

1. the fitted model explains significantly more than a flat model (the mean
   response, one parameter): an extra-sum-of-squares F-test for least squares,
   ``F = ((RSS0 - RSS1) / (p - 1)) / (RSS1 / (n - p))``; for binomial fits the
   likelihood-ratio statistic, divided by the dispersion when it exceeds 1
   (then compared with ``F(p - 1, n - p)``, else with ``chi2(p - 1)``); the
   p-values are adjusted with the Benjamini–Hochberg FDR across all curves
   of a readout (``statsmodels.stats.multitest.multipletests``), and the
   adjusted ``q`` must be at most ``alpha``;
2. the fitted effect over the tested range, ``|f(highest dose) - f(0)|``, is at
   least ``min_effect`` (response units).

Otherwise the call is ``inactive``; curves that could not be fitted are
``failed`` and take no part in the FDR.

Model and flat line are compared on the points the model is fitted to
(:func:`tested_weights`): a model that fixes its zero-dose level (LL.2, a
``0 -> 1`` response) leaves the vehicle points out, as its fit does.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ferroscreen.analysis.fitting import _P_EPS, CurveBatch
from ferroscreen.analysis.models import C, D, ModelSpec


def tested_weights(batch: CurveBatch, spec: ModelSpec) -> np.ndarray:
    """``(C, N)`` weights of the points a curve's activity test compares model and flat line on.

    Every point (``batch.w``), except the zero-dose (vehicle) points of a model that fixes both
    plateaus (LL.2: 0 at one end, 1 at the other). Such a model predicts exactly its fixed level at
    dose 0 whatever its slope and EC50, so the vehicle wells carry nothing on them: the fit leaves
    them out in effect (they only pick the direction of the curve), while a flat line through a
    vehicle with background death fits them, and a test over all points would call every curve of
    a screen with a background flat (a 3 % background cost LL.2 ``n · 0.03 · ln 1e10`` per well).
    """
    if C in spec.free or D in spec.free:
        return batch.w
    return np.where(batch.zero, 0.0, batch.w)


def flat_objective(batch: CurveBatch, loss: str, w: np.ndarray | None = None) -> np.ndarray:
    """Objective of the flat (mean-only) model: total SS, or binomial NLL at the pooled rate.

    ``w``: the points' weights (default ``batch.w``; :func:`tested_weights`).
    """
    w, y = (batch.w if w is None else w), batch.y
    tot = np.sum(w, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.sum(w * y, axis=1) / tot
    if loss == "gaussian":
        return np.sum(w * (y - mean[:, None]) ** 2, axis=1) + batch.pure_ss
    p = np.clip(mean, _P_EPS, 1 - _P_EPS)[:, None]
    return -np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p)), axis=1)


def flatness_test(
    obj_model: np.ndarray,
    obj_flat: np.ndarray,
    n_obs: np.ndarray,
    n_params: int,
    loss: str,
    dispersion: np.ndarray | None = None,
):
    """p-values of the model against the flat model.

    Args:
        obj_model: Least squares: the model's full RSS; binomial: its NLL.
        obj_flat: The same for the flat model.
        n_obs: Observations per curve.
        n_params: Parameters of the model.
        loss: ``"gaussian"`` or ``"binomial"``.
        dispersion: Binomial only: Pearson dispersion per curve (values
            above 1 switch to a quasi-likelihood F-test).

    Returns:
        ``(statistic, p_value)`` arrays (NaN where not computable).
    """
    df1 = n_params - 1
    df2 = (n_obs - n_params).astype(float)
    valid = (df2 > 0) & np.isfinite(obj_model) & np.isfinite(obj_flat)
    stat = np.full(obj_model.shape, np.nan)
    pval = np.full(obj_model.shape, np.nan)
    gain = np.maximum(obj_flat - obj_model, 0.0)
    if loss == "gaussian":
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (gain / df1) / (obj_model / np.where(df2 > 0, df2, np.nan))
        f = np.where((obj_model <= 0) & (gain > 0), np.inf, f)
        stat[valid] = f[valid]
        pval[valid] = stats.f.sf(f[valid], df1, df2[valid])
        return stat, pval
    lr = 2.0 * gain
    phi = np.ones_like(lr) if dispersion is None else np.nan_to_num(dispersion, nan=1.0)
    quasi = phi > 1.0
    chi = valid & ~quasi
    stat[chi] = lr[chi]
    pval[chi] = stats.chi2.sf(lr[chi], df1)
    fq = valid & quasi
    stat[fq] = lr[fq] / df1 / phi[fq]
    pval[fq] = stats.f.sf(stat[fq], df1, df2[fq])
    return stat, pval


def bh_qvalues(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values; NaN inputs stay NaN and are not counted."""
    p_values = np.asarray(p_values, float)
    q = np.full(p_values.shape, np.nan)
    ok = np.isfinite(p_values)
    if np.any(ok):
        q[ok] = multipletests(p_values[ok], method="fdr_bh")[1]
    return q


def activity_calls(
    q_values: np.ndarray,
    effect: np.ndarray,
    fitted: np.ndarray,
    alpha: float = 0.05,
    min_effect: float = 0.1,
) -> np.ndarray:
    """``active`` / ``inactive`` / ``failed`` per curve (see the module docstring)."""
    active = (q_values <= alpha) & (np.abs(effect) >= min_effect)
    calls = np.where(active, "active", "inactive").astype(object)
    calls[~fitted] = "failed"
    return calls
