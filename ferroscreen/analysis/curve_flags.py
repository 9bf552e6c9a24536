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
    data do not pin down: its standard error exceeds a share of the fitted
    effect span ``|far - zero-dose level|`` that falls with the EC50's distance
    below the highest tested dose: :data:`MAX_FAR_PLATEAU_REL_SE` (15 %) from
    :data:`MIN_FAR_DECADES` (one decade) down, falling linearly to 0 at
    :data:`MIN_NEAR_DECADES` (0.8 decades), under which (or above the
    highest dose) every free far plateau counts as undetermined. An EC50 just
    under a decade below the top dose is thus flagged only where its plateau is
    loose (the rule before flagged wherever the curve reached less than 99 %
    of its effect at the top dose: a coin flip, 46 % of 300 curves, for a
    well-measured EC50 one decade below it; and it let steep made-up plateaus
    through). Exempt, whatever the SE: a curve whose plateau two doses show and
    whose data reject an EC50 at the top dose, i.e. its EC50 lies
    :data:`MIN_EXCLUDED_DECADES` (0.3 decades) or more below the top dose, the
    fit reaches :data:`MIN_SECOND_DOSE_SHARE` (80 %) of its effect at the
    second-highest dose, and the profile statistic with the EC50 fixed at the
    top dose (the other parameters refitted) exceeds the critical value of
    level :data:`TOP_EXCLUSION_ALPHA` (0.001). A steep curve (hill 3-6) with
    its EC50 0.3-0.8 decades under the top dose was flagged 97 % of the time
    without it (2-fold dilutions: 99.6 %); see :data:`MIN_SECOND_DOSE_SHARE`.
    Such a fit can end on a plateau of its own making halfway up a curve whose
    true EC50 lies near or above the highest dose; the curve then reaches that
    plateau, so ``incomplete`` and ``at_bound`` stay silent, and its EC50 is
    the midpoint of a made-up partial effect, biased low, with an interval
    that misses the truth often (for a true EC50 within 0.3 decades of the
    highest dose fitted 0.3-0.8 decades under it: coverage 0.78 over the
    simulation of :data:`MIN_FAR_DECADES`, 0.42-0.52 in its worst designs). The data
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

#: Decades from the EC50 up to the highest tested dose from which a free far plateau counts as measured when
#: its SE is at most :data:`MAX_FAR_PLATEAU_REL_SE` of the effect span; closer to the top dose the allowed SE
#: falls linearly to 0 at :data:`MIN_NEAR_DECADES`. Calibrated in simulation (LL.4, hill 0.8-2.5, 2-, 3-,
#: 3.16- and 10-fold dilutions, 8 or 10 doses, 1-3 wells a dose and 6 vehicle wells, normal noise 3, 5 and 10 %
#: of the effect or binomial fractions over 30-500 cells, true EC50 from 2 decades below to 1 decade above
#: the top dose; 96 designs, about 5000 active curves each). The rule before this ramp flagged every curve
#: with an EC50 less than a decade below the top dose reaching < 99 % of its effect there; against it:
#: flagged with a true EC50 a decade or more below the top dose 4.3 % -> 3.1 % (1.0-1.3 decades below:
#: 10.9 % -> 6.7 %; the rest loose plateaus of 1-well designs); flagged with a true EC50 above or less than
#: 0.3 decades below the top dose 84 % -> 98.5 % (worst design 47 % -> 83 %); coverage of the unflagged curves'
#: EC50 intervals per design 0.853-0.980 (19 designs under 0.92) -> 0.902-0.976 (6 under 0.92, all one well per
#: dose, five of them binomial: there the curves 1.2 decades or more below the top dose, which no rule
#: here flags, covered 0.88-0.94 themselves); one-sided ``[ec50_lo, inf)`` of the flagged 0.993 -> 0.995.
#: 300 curves of one design (EC50 3 uM, hill 1.5, ten 3-fold doses to 30 uM, 3 wells, 5 % noise, fitted
#: plateau SE 2-8 % of the span): flagged 46 % -> 2 %.
MIN_FAR_DECADES = 1.0

#: Decades from the EC50 up to the highest tested dose under which no free far plateau counts as measured.
#: Fits that invent a plateau halfway up a curve whose true EC50 lies near or above the top dose mostly end
#: 0.3-0.8 decades under it, often steep (the plateau one or two top doses) with a small SE, which vouches
#: for little there: fits 0.3-0.7 decades under the top dose with an SE under 5 % of the span covered
#: 0.87-0.91 (simulation of :data:`MIN_FAR_DECADES`); unflagged fits 0.8-1 decade under it, 0.94-0.97.
#: Starting the ramp at 0.7 (0.6) decades flagged 96 % (95 %) of the curves with a true EC50 near or above
#: the top dose instead of 98.5 %, for no better coverage; at 0.9, 8 % of the tester's curves instead of 2 %.
#: drc's ryegrass (EC50 0.99 decades below the top dose, plateau SE 2.9 % of the span) is not flagged.
MIN_NEAR_DECADES = 0.8

#: Largest standard error of a free far plateau, as a share of the fitted effect span, for it to count as measured
#: (an EC50 :data:`MIN_FAR_DECADES` or more below the highest dose; less closer to it).
MAX_FAR_PLATEAU_REL_SE = 0.15

#: Level of the profile test that exempts a curve from ``far_plateau_undetermined``: the data reject an EC50
#: at the highest tested dose (:func:`~ferroscreen.analysis.profile_interval.profile_statistic` there beyond
#: the squared two-sided ``t`` quantile of this level, drc's residual df).
TOP_EXCLUSION_ALPHA = 0.001

#: Decades an EC50 must lie below the highest tested dose for the profile test to exempt it.
MIN_EXCLUDED_DECADES = 0.3

#: Share of the fitted effect a curve must reach at its second-highest dose for the profile test to exempt it.
#: Calibrated in the simulation of :data:`MIN_FAR_DECADES` (hill 0.8-2.5, two seeds) and the same 96 designs with
#: hill 3-6 (2000 curves each): steep curves with a true EC50 0.3-0.8 decades under the top dose flagged 96.6 % ->
#: 66.4 % (2-fold dilutions 99.6 % -> 35.6 %, 3-fold 96.5 % -> 66 %, 10-fold 93 %, where no second dose shows a
#: plateau, unchanged); curves with a true EC50 near or above the top dose still flagged 98.4 % (hill 0.8-2.5) and
#: 99.7 % (hill 3-6); the exempted curves' two-sided intervals covered 0.92 (0.95 with hill 3-6), the unflagged
#: curves' per-design coverage unchanged (minimum 0.907 and 0.892 over the two seeds). Without this condition the
#: profile test alone exempted 5 % of those near or above the top dose (binomial fractions fitted by least squares,
#: 30-500 cells a well, 8 %, up to 26 % in one design): with unequal well variances its statistic runs large.
MIN_SECOND_DOSE_SHARE = 0.8

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
    min_far_decades: float = MIN_FAR_DECADES,
    min_near_decades: float = MIN_NEAR_DECADES,
    max_rel_se: float = MAX_FAR_PLATEAU_REL_SE,
    top_excluded: np.ndarray | None = None,
    share_second: np.ndarray | None = None,
) -> np.ndarray:
    """Active curves whose free far (high-dose) plateau the data leave open (``far_plateau_undetermined``).

    Args:
        batch: The data (``dose_max``, the highest tested dose).
        active: Activity call is ``active``.
        ec50: Fitted EC50 (molar).
        far_free: The far plateau is a free parameter of the model (False where the model fixes it).
        far_se: Standard error of the far plateau.
        span: ``|far plateau - zero-dose level|``, the fitted effect span.
        min_far_decades: Decades from the EC50 up to the highest tested dose from which ``max_rel_se``
            applies in full.
        min_near_decades: Decades under which no free far plateau counts as measured.
        max_rel_se: Largest ``far_se / span`` at ``min_far_decades`` or more below the highest dose.
        top_excluded: Curves whose data reject an EC50 at the highest tested dose (the profile
            statistic there beyond the critical value; None: none).
        share_second: Share (0-1) of the fitted effect reached at the second-highest positive dose.
            A curve in ``top_excluded`` whose EC50 lies :data:`MIN_EXCLUDED_DECADES` or more below the
            highest dose and whose ``share_second`` is at least :data:`MIN_SECOND_DOSE_SHARE` (its
            plateau shown by two doses) counts as pinned whatever the rest says.

    Returns:
        ``(C,)`` bool: active, far plateau free, and ``far_se / span`` above ``max_rel_se`` times
        ``(decades - min_near_decades) / (min_far_decades - min_near_decades)`` clipped to ``[0, 1]``,
        ``decades`` the EC50's distance below the highest tested dose (so every such curve with the EC50
        less than ``min_near_decades`` below that dose, or above it; a non-finite EC50, SE or span counts
        as undetermined).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        decades = np.log10(batch.dose_max / ec50)
        allowed = max_rel_se * np.clip((decades - min_near_decades) / (min_far_decades - min_near_decades), 0.0, 1.0)
        pinned = (far_se / span <= allowed) & (decades >= min_near_decades)
    if top_excluded is not None and share_second is not None:
        with np.errstate(invalid="ignore"):
            shown = (decades >= MIN_EXCLUDED_DECADES) & (share_second >= MIN_SECOND_DOSE_SHARE)
        pinned |= np.asarray(top_excluded, bool) & shown
    return np.asarray(active, bool) & np.asarray(far_free, bool) & ~pinned


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
        # wells per dose (not their summed weights: a dose of few cells must not hide every reversal)
        fewest = np.min(np.where(batch.w > 0, batch.counts, np.inf), axis=1, initial=np.inf)
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
