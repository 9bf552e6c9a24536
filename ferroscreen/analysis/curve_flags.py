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
``far_plateau_undetermined``
    active curve whose far (high-dose) plateau is a free parameter that the
    data do not pin down: the EC50 lies less than :data:`MIN_FAR_DECADES`
    (one decade) below the highest tested dose and the curve reaches less than
    :data:`MIN_SHARE_AT_TOP` (99 %) of its fitted effect there, or the far plateau's standard error exceeds
    :data:`MAX_FAR_PLATEAU_REL_SE` of the fitted effect span ``|far - zero-dose level|``.
    Such a fit can end on a plateau of its own making halfway up a curve whose
    true EC50 lies near or above the highest dose; the curve then reaches that
    plateau, so ``incomplete`` and ``at_bound`` stay silent, and its EC50 is
    the midpoint of a made-up partial effect, biased low, with a Wald
    interval that misses the truth most of the time (coverage 0.3–0.6 in
    simulation for a true EC50 within 0.3 decades of the highest dose). The data
    bound such an EC50 from below only:
    :func:`~ferroscreen.analysis.dose_response.fit_curves` reports its
    ``ec50_hi`` and ``ed90_hi`` as ``inf`` and keeps ``ec50_lo`` (the profile
    likelihood's where the fitted EC50 lies beyond the tested doses or the Wald
    limit more than 2 decades under them, ``ec50_ci_method`` ``profile``:
    :mod:`~ferroscreen.analysis.profile_interval`). Not raised
    where the far plateau is fixed by the model (``ll2``; ``ll3`` falling).
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
``ll2_misfit``
    an ``ll2`` fit that the data reject in favour of LL.4 (both plateaus free), fitted with the
    same binomial loss to the same dosed points (the vehicle wells, whose level LL.2 fixes at 0,
    left out of both): quasi-likelihood F-test ``(D_ll2 - D_ll4) / (2 phi)`` on ``(2, m - 4)`` df,
    ``phi`` the LL.4 fit's Pearson dispersion (at least 1, over its ``m`` informative wells), p
    below :data:`LL2_MISFIT_ALPHA`. LL.2 assumes a complete ``0 -> 1`` kill with no background:
    on fractions rising from a 5 % background to an 85 % plateau its EC50 came out 0.2 decades
    high and its interval covered the truth 16 % of the time, with nothing flagged; use ``ll4``
    for such curves. Raised only for ``ll2``.
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
    "far_plateau_undetermined",
    "ll2_misfit",
)

#: Fewest decades from the EC50 up to the highest tested dose for the far plateau to count as measured.
#: In simulation (LL.4, hill 0.8-2.5, 2-, 3-, 3.16- and 10-fold dilutions) the Wald EC50 interval of
#: curves whose fitted EC50 lay 0.3-0.9 decades below the highest dose covered the truth 0.59-0.90 of
#: the time; a decade or more below, 0.92-0.98. A count of doses would depend on the dilution step.
MIN_FAR_DECADES = 1.0

#: Share of its fitted effect that a curve must reach at the highest dose to count as on its far plateau
#: even with an EC50 less than :data:`MIN_FAR_DECADES` below that dose (a steep curve that runs flat inside
#: the tested doses, as drc's ryegrass: EC50 0.99 decades below the top dose, hill 2.98, 99.9 % reached).
#: Exempting such curves kept the unflagged coverage of the simulation above at 0.92-0.99.
MIN_SHARE_AT_TOP = 0.99

#: Largest standard error of a free far plateau, as a share of the fitted effect span, for it to count as measured.
MAX_FAR_PLATEAU_REL_SE = 0.15

#: Level of the F-test of ``ll2`` against LL.4 (``ll2_misfit``). The test is conservative (a dispersion
#: under 1 counts as 1): in simulation (500 curves each, 8 doses x 3 wells, 30-500 cells) it flagged
#: 0-0.4 % of true ``0 -> 1`` curves (binomial and beta-binomial, rho 0.02-0.05), 99 % of binomial
#: curves over a 5 % background reaching 85 % (87 % over 1 % reaching 97 %), and 54-81 % of
#: beta-binomial ones (rho 0.02-0.05) over a 2-5 % background.
LL2_MISFIT_ALPHA = 0.01


def ll2_misfit(
    deviance_gain: np.ndarray, dispersion: np.ndarray, df: np.ndarray, alpha: float = LL2_MISFIT_ALPHA
) -> np.ndarray:
    """``ll2`` fits that LL.4 explains significantly better (``ll2_misfit``).

    Args:
        deviance_gain: ``(C,)`` binomial deviance of the LL.2 fit less that of LL.4 on the same
            points (twice the difference of their negative log-likelihoods).
        dispersion: ``(C,)`` Pearson dispersion of the LL.4 fit (values under 1 count as 1).
        df: ``(C,)`` its degrees of freedom.
        alpha: Level of the test.

    Returns:
        ``(C,)`` bool: quasi-likelihood F ``gain / (2 max(phi, 1))`` beyond the ``1 - alpha``
        quantile of ``F(2, df)`` (False where any input is not finite or ``df <= 0``).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.maximum(deviance_gain, 0.0) / (2.0 * np.fmax(dispersion, 1.0))
        pval = stats.f.sf(stat, 2, np.where(df > 0, df, np.nan))
    return np.isfinite(pval) & (pval < alpha)


def far_plateau_undetermined(
    batch: CurveBatch,
    *,
    active: np.ndarray,
    ec50: np.ndarray,
    far_free: np.ndarray,
    far_se: np.ndarray,
    span: np.ndarray,
    share_at_top: np.ndarray,
    min_far_decades: float = MIN_FAR_DECADES,
    min_share: float = MIN_SHARE_AT_TOP,
    max_rel_se: float = MAX_FAR_PLATEAU_REL_SE,
) -> np.ndarray:
    """Active curves whose free far (high-dose) plateau the data leave open (``far_plateau_undetermined``).

    Args:
        batch: The data (``dose_max``, the highest tested dose).
        active: Activity call is ``active``.
        ec50: Fitted EC50 (molar).
        far_free: The far plateau is a free parameter of the model (False where the model fixes it).
        far_se: Standard error of the far plateau.
        span: ``|far plateau - zero-dose level|``, the fitted effect span.
        share_at_top: Share (0–1) of the fitted effect reached at the highest tested dose.
        min_far_decades: Fewest decades from the EC50 up to the highest tested dose.
        min_share: Share at the highest dose that exempts a curve from ``min_far_decades``.
        max_rel_se: Largest ``far_se / span``.

    Returns:
        ``(C,)`` bool: active, far plateau free, and either the EC50 less than
        ``min_far_decades`` below the highest tested dose (or above it) with
        less than ``min_share`` of the effect reached there, or
        ``far_se > max_rel_se * span`` (a non-finite EC50, SE, span or share
        counts as undetermined).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        decades = np.log10(batch.dose_max / ec50)
        rel = far_se / span
    near_top = ~(decades >= min_far_decades) & ~(share_at_top >= min_share)
    loose = ~(rel <= max_rel_se)
    return np.asarray(active, bool) & np.asarray(far_free, bool) & (near_top | loose)


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
    far_undetermined: np.ndarray | None = None,
    ll2_rejected: np.ndarray | None = None,
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
        far_undetermined: ``far_plateau_undetermined`` per curve, from
            :func:`far_plateau_undetermined` (None: raised nowhere).
        ll2_rejected: ``ll2_misfit`` per curve, from :func:`ll2_misfit` (None: raised nowhere).
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
    flags["far_plateau_undetermined"] = (
        np.zeros(n, dtype=bool) if far_undetermined is None else fitted & np.asarray(far_undetermined, bool)
    )
    flags["ll2_misfit"] = (
        np.zeros(n, dtype=bool) if ll2_rejected is None else fitted & np.asarray(ll2_rejected, bool)
    )
    stacked = np.stack([flags[k] for k in FLAG_NAMES], axis=1)
    codes = stacked.astype(np.int64) @ (1 << np.arange(len(FLAG_NAMES)))
    patterns, inverse = np.unique(codes, return_inverse=True)
    text = np.array(
        [";".join(f for b, f in enumerate(FLAG_NAMES) if code >> b & 1) for code in patterns],
        dtype=object,
    )
    return text[inverse.reshape(n)] if n else np.empty(0, dtype=object)
