"""Quality flags of fitted curves.

Flags are short names joined with ``;`` in the ``flags`` column of a fits
table (empty when none applies):

``too_few_points``
    fewer distinct doses than parameters + 1 (the fit is attempted when
    there are at least as many distinct doses as parameters and a residual
    degree of freedom; otherwise the curve is also ``failed``).
``failed``
    no fit: too little data, or non-finite results.
``poor_fit``
    the optimiser hit its iteration cap, or an active curve explains less
    than half the variance (``r2 < 0.5``), or an active curve's EC50 standard
    error cannot be computed (singular information).
``at_bound``
    a parameter ended on the fitting window (:func:`~ferroscreen.analysis.fitting.default_bounds`).
``ec50_out_of_range``
    active curve whose EC50 lies outside the tested positive doses.
``incomplete``
    active curve reaching less than 80 % of its fitted effect at the highest
    tested dose (the far plateau is extrapolated).
``non_monotone``
    the dose means reverse direction by more than ``t·sigma·sqrt(2/m)`` and by
    more than 20 % of the fitted effect (e.g. a death fraction that falls again
    at top doses as cells detach, a hormetic bump). ``m`` is the replicate count
    of the least-replicated dose, ``sigma`` a noise SD that lack of fit does not
    inflate (least squares: the pooled within-dose replicate SD, vehicle wells
    included, else the rse; binomial: the cells' SD at p = 1/2, see
    :func:`~ferroscreen.analysis.dose_response.replicate_noise_sd`) and ``t`` the
    t quantile of the one-sided 3-sigma tail with sigma's degrees of freedom
    (3 with infinite df).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ferroscreen.analysis.fitting import CurveBatch

#: One-sided tail of three normal SDs; the ``non_monotone`` critical value is the t quantile
#: of this tail with the noise estimate's degrees of freedom (3 with infinite df).
_THREE_SIGMA = stats.norm.cdf(3.0)

FLAG_NAMES = (
    "too_few_points",
    "failed",
    "poor_fit",
    "at_bound",
    "ec50_out_of_range",
    "incomplete",
    "non_monotone",
)


def max_reversal(batch: CurveBatch, direction: np.ndarray) -> np.ndarray:
    """Largest drop of the dose means against ``direction`` (+1 rising, -1 falling)."""
    valid = batch.w > 0
    sy = np.where(valid, direction[:, None] * batch.y, -np.inf)
    run = np.maximum.accumulate(sy, axis=1)
    prev = np.concatenate([np.full((sy.shape[0], 1), -np.inf), run[:, :-1]], axis=1)
    with np.errstate(invalid="ignore"):
        drop = np.where(valid & np.isfinite(prev), prev - sy, 0.0)
    return drop.max(axis=1) if drop.shape[1] else np.zeros(sy.shape[0])


def curve_flags(
    batch: CurveBatch,
    *,
    n_params: int,
    fitted: np.ndarray,
    converged: np.ndarray,
    at_bound: np.ndarray,
    active: np.ndarray,
    ec50: np.ndarray,
    ec50_se: np.ndarray,
    effect: np.ndarray,
    effect_at_max: np.ndarray,
    r2: np.ndarray,
    noise_sd: np.ndarray,
    noise_df: np.ndarray | None = None,
) -> np.ndarray:
    """One ``;``-joined flag string per curve.

    Args:
        batch: The data.
        n_params: Free parameters of the model.
        fitted: Curves that got parameters.
        converged: Optimiser converged.
        at_bound: A parameter ended on a bound.
        active: Activity call is ``active``.
        ec50: Fitted EC50.
        ec50_se: Its standard error.
        effect: Fitted ``f(highest dose) - f(0)``.
        effect_at_max: Share (0–1) of the full fitted effect reached at the highest dose.
        r2: ``1 - RSS/TSS``.
        noise_sd: Noise SD of one observation (weight 1), an estimate that lack of fit
            does not inflate (:func:`~ferroscreen.analysis.dose_response.replicate_noise_sd`).
        noise_df: Degrees of freedom of ``noise_sd`` (None: known, normal quantiles).
    """
    n = batch.n_curves
    flags: dict[str, np.ndarray] = {}
    flags["too_few_points"] = batch.n_doses < n_params + 1
    flags["failed"] = ~fitted
    flags["poor_fit"] = fitted & (
        ~converged | (active & (r2 < 0.5)) | (active & ~np.isfinite(ec50_se))
    )
    flags["at_bound"] = fitted & at_bound
    with np.errstate(invalid="ignore"):
        flags["ec50_out_of_range"] = active & (
            (ec50 < batch.dose_min * (1 - 1e-9)) | (ec50 > batch.dose_max * (1 + 1e-9))
        )
        flags["incomplete"] = active & (effect_at_max < 0.8)
        direction = np.where(effect >= 0, 1.0, -1.0)
        rev = max_reversal(batch, direction)
        fewest = np.min(np.where(batch.w > 0, batch.w, np.inf), axis=1, initial=np.inf)
        noise = noise_sd * np.sqrt(2.0 / np.clip(fewest, 1e-12, None))
        df = np.full(n, np.inf) if noise_df is None else np.asarray(noise_df, float)
        crit = stats.t.ppf(_THREE_SIGMA, np.where(df > 0, df, np.nan))
        flags["non_monotone"] = fitted & (rev > crit * noise) & (rev > 0.2 * np.abs(effect))
    stacked = np.stack([flags[k] for k in FLAG_NAMES], axis=1)
    codes = stacked.astype(np.int64) @ (1 << np.arange(len(FLAG_NAMES)))
    patterns, inverse = np.unique(codes, return_inverse=True)
    text = np.array(
        [";".join(f for b, f in enumerate(FLAG_NAMES) if code >> b & 1) for code in patterns],
        dtype=object,
    )
    return text[inverse.reshape(n)] if n else np.empty(0, dtype=object)
