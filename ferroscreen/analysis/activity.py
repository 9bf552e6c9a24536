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
   least ``min_effect`` (response units: 0.1, a fraction readout's, unless given;
   ``fit`` gives each readout of a tidy table on another scale 10 % of its
   reference level, :func:`default_min_effect`).

Otherwise the call is ``inactive``; curves that could not be fitted are
``failed`` and take no part in the FDR.

Model and flat line are compared on the points the model is fitted to
(:func:`tested_weights`): a model that fixes its zero-dose level (LL.2, a
``0 -> 1`` response) leaves the vehicle points out, as its fit does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ferroscreen.analysis.fitting import _P_EPS, CurveBatch
from ferroscreen.analysis.models import C, D, ModelSpec

#: The default ``min_effect`` of a readout on a fraction scale: 10 % of its full scale, 1.
FRACTION_MIN_EFFECT = 0.1
#: A readout whose 95th percentile of ``|response|`` is at most this is on a fraction scale.
FRACTION_SCALE_MAX = 2.0
#: The share of a readout's reference level a default ``min_effect`` is (as 0.1 is of a fraction's 1).
REFERENCE_SHARE = 0.1


@dataclass(frozen=True)
class EffectThreshold:
    """A readout's default ``min_effect`` and what it was taken from.

    Attributes:
        value: The threshold, in the readout's response units.
        basis: ``fraction`` (the responses are on a fraction scale: :data:`FRACTION_MIN_EFFECT`),
            ``vehicle`` (10 % of the median response at dose 0) or ``upper`` (10 % of the 95th
            percentile of ``|response|``).
        reference: The level ``value`` is 10 % of (None for ``fraction``).
        vehicle: The median response at dose 0 (None without dose-0 rows).
    """

    value: float
    basis: str
    reference: float | None = None
    vehicle: float | None = None

    def describe(self) -> str:
        """The threshold and its origin in words (``9.99, 10 % of the vehicle (dose 0) median response 99.9``)."""
        if self.basis == "fraction":
            return f"{self.value:.3g}, the threshold of fractions (0-1)"
        if self.basis == "vehicle":
            return f"{self.value:.3g}, 10 % of the vehicle (dose 0) median response {self.reference:.4g}"
        why = ("no dose-0 rows" if self.vehicle is None
               else f"the vehicle (dose 0) median, {self.vehicle:.3g}, lies below half of it")
        return f"{self.value:.3g}, 10 % of the 95th percentile of |response| {self.reference:.4g} ({why})"


def default_min_effect(dose, response) -> EffectThreshold:
    """The ``min_effect`` a readout of a tidy table gets when none is given: 10 % of its full scale.

    A fraction readout (viability relative to vehicle, a fraction of dead cells) gets 0.1, as it always
    has; other scales (percent of control, percent inhibition, raw luminescence) get 10 % of the
    readout's reference level, so that the same data on another scale call the same curves. The
    detection is conservative and reads the readout's values only (every curve's rows together):

    1. the finite responses' 95th percentile of ``|response|`` (the *upper level*) is at most
       :data:`FRACTION_SCALE_MAX` (2): a fraction scale, :data:`FRACTION_MIN_EFFECT` (0.1). Every
       table of fractions, with noise, proliferation or a background, stays here; so does any
       readout of small numbers (an absorbance below 2, a growth rate per hour);
    2. else, where there are dose-0 (vehicle) rows whose median response is clearly non-zero (its
       magnitude at least half the upper level: the vehicle is the readout's top, as for % viability
       ~100 or a raw luminescence): 10 % of that median's magnitude;
    3. else (no dose-0 rows, or a vehicle near the readout's bottom, as for % inhibition ~0 with kills
       ~100 or a dead-cell signal over its background): 10 % of the upper level. This level is
       the top of the readout only when some curves reach it: a readout of mostly flat curves gets a
       lower threshold; set ``min_effect`` (``fit --min-effect``) for such a screen.

    Args:
        dose: The rows' doses (dose 0: vehicle); anything not a number is left out.
        response: The rows' responses; anything not a finite number is left out.

    Returns:
        The :class:`EffectThreshold` (``basis`` says which rule gave it).
    """
    dose = np.asarray(pd.to_numeric(pd.Series(np.asarray(dose, dtype=object)), errors="coerce"), float)
    y = np.asarray(pd.to_numeric(pd.Series(np.asarray(response, dtype=object)), errors="coerce"), float)
    read = np.isfinite(y)
    if not read.any():
        return EffectThreshold(FRACTION_MIN_EFFECT, "fraction")
    upper = float(np.quantile(np.abs(y[read]), 0.95))
    if upper <= FRACTION_SCALE_MAX:
        return EffectThreshold(FRACTION_MIN_EFFECT, "fraction")
    zero = read & (dose == 0)
    vehicle = float(np.median(y[zero])) if zero.any() else None
    if vehicle is not None and abs(vehicle) >= 0.5 * upper:
        return EffectThreshold(REFERENCE_SHARE * abs(vehicle), "vehicle", abs(vehicle), vehicle)
    return EffectThreshold(REFERENCE_SHARE * upper, "upper", upper, vehicle)


def min_effect_per_curve(min_effect, readout_of: np.ndarray) -> float | np.ndarray:
    """``min_effect`` as :func:`activity_calls` takes it: a number, or one per curve from a mapping by readout.

    Args:
        min_effect: A number for every readout, or a mapping ``readout -> number`` (a readout it
            lacks gets :data:`FRACTION_MIN_EFFECT`).
        readout_of: Each curve's readout.
    """
    if not isinstance(min_effect, Mapping):
        return float(min_effect)
    return np.array([float(min_effect.get(str(r), FRACTION_MIN_EFFECT)) for r in readout_of], dtype=float)


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
    min_effect: float | np.ndarray = FRACTION_MIN_EFFECT,
) -> np.ndarray:
    """``active`` / ``inactive`` / ``failed`` per curve (see the module docstring).

    ``min_effect``: one threshold for every curve, or one per curve (:func:`min_effect_per_curve`).
    """
    active = (q_values <= alpha) & (np.abs(effect) >= min_effect)
    calls = np.where(active, "active", "inactive").astype(object)
    calls[~fitted] = "failed"
    return calls
