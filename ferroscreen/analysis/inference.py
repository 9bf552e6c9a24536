"""Standard errors, Wald intervals and delta-method effective doses.

Least squares (LL.3/LL.4/LL.5) follows drc: the covariance of the estimates
is ``2 s^2 H^-1`` with ``H`` the Hessian of the residual sum of squares at the
optimum (observed information, including the second-derivative term that the
Gauss–Newton ``J'J`` drops) and ``s^2 = RSS / (n - p)``. Intervals are
``estimate ± t(1 - alpha/2, df) · SE``.

The vehicle wells (dose 0) share that pooled ``s^2`` only when they are about
as noisy as the dosed points (:func:`dosed_noise`): a fraction near 0 or 1 has
almost no binomial variance at the vehicle, and pooling its wells shrank
``s^2`` and added their count to ``df``, so the EC50 intervals of death
fractions narrowed five-fold with 36 vehicle wells and covered the truth 32 %
of the time though the EC50 was no better determined. Where the vehicle's
within-well variance is significantly smaller than the dosed points' residual
variance, ``s^2`` and ``df`` come from the dosed points alone.

Binomial (LL.2) uses the Hessian of the negative log-likelihood, scaled by
the quasi-binomial dispersion ``phi = max(1, Pearson X^2 / (m - p))`` (over the ``m``
informative, non-saturated observations, :func:`pearson_dispersion`) when overdispersion
is allowed, with normal quantiles when ``phi == 1`` and ``t`` quantiles otherwise.

The EC50 of a curve the data do not bracket takes profile-likelihood limits instead of
:func:`wald_interval`'s (:mod:`ferroscreen.analysis.profile_interval`), with this module's
residual variance or dispersion and critical value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ferroscreen.analysis.fitting import _P_EPS, CurveBatch
from ferroscreen.analysis.models import F, ModelSpec, effective_dose, hessian, jacobian


@dataclass
class Inference:
    """Per-curve uncertainty of a batch fit.

    Attributes:
        cov: ``(C, 5, 5)`` covariance of the natural parameters (zero rows
            and columns for fixed parameters, NaN where not estimable).
        rss: ``(C,)`` residual sum of squares over all raw observations
            (least squares) or the Pearson X^2 (binomial).
        df: ``(C,)`` degrees of freedom of ``sigma2`` and of the intervals: ``n_obs - p``,
            or the dosed points' ``n_dosed - (p - h0)`` where :func:`dosed_noise` applies
            (binomial: those of the dispersion, ``m - p`` over its ``m`` informative
            observations).
        sigma2: ``(C,)`` variance that scales the covariance: the residual variance
            (least squares; see :func:`dosed_noise`) or the dispersion (binomial).
        quantile: ``(C,)`` the two-sided critical value used for intervals.
        pooled_sigma2: ``(C,)`` drc's residual variance ``RSS / (n_obs - p)`` over all
            observations (least squares; the dispersion for binomial), the fit's
            residual standard error squared whatever scales the intervals.
        pooled_df: ``(C,)`` its degrees of freedom.
    """

    cov: np.ndarray
    rss: np.ndarray
    df: np.ndarray
    sigma2: np.ndarray
    quantile: np.ndarray
    pooled_sigma2: np.ndarray
    pooled_df: np.ndarray

    def se(self) -> np.ndarray:
        """``(C, 5)`` standard errors (0 for fixed parameters)."""
        return np.sqrt(np.diagonal(self.cov, axis1=1, axis2=2))


def safe_inverse(mat: np.ndarray) -> np.ndarray:
    """Batched inverse of symmetric matrices; NaN where not positive definite.

    The matrices are first scaled to unit diagonal so that parameters on very
    different scales (an EC50 of 1e-7 M next to plateaus near 1) do not look
    singular.
    """
    out = np.full_like(mat, np.nan)
    diag = np.diagonal(mat, axis1=1, axis2=2)
    usable = np.all(np.isfinite(mat), axis=(1, 2)) & np.all(diag > 0, axis=1)
    if not np.any(usable):
        return out
    scale = np.sqrt(diag[usable])
    outer = scale[:, :, None] * scale[:, None, :]
    vals, vecs = np.linalg.eigh(mat[usable] / outer)
    ok = np.all(vals > 1e-10, axis=1)
    inv = np.einsum("cij,cj,ckj->cik", vecs, 1.0 / np.where(vals > 0, vals, 1.0), vecs) / outer
    inv[~ok] = np.nan
    out[usable] = inv
    return out


#: Fewest expected cells of the rarer outcome (``n · min(p, 1 - p)`` at the fitted ``p``) for an
#: observation to count in the Pearson dispersion (:func:`pearson_dispersion`).
MIN_EXPECTED_COUNT = 5.0


def pearson_dispersion(
    batch: CurveBatch,
    params: np.ndarray,
    n_params: int,
    min_expected: float = MIN_EXPECTED_COUNT,
    with_df: bool = False,
):
    """Quasi-binomial dispersion ``X^2 / (m - p)`` over the informative raw observations.

    An observation counts when its fitted binomial expects at least
    ``min_expected`` cells of the rarer outcome (``n · min(p, 1 - p)``);
    ``m`` is the number of such observations. A saturated dose (``p`` near 0
    or 1: the vehicle of a rising fraction, the doses past the far plateau)
    holds almost no information on the dispersion: its Pearson term is 0 in
    most wells and huge in the odd well that has one event, so it added a
    degree of freedom but, typically, nothing to ``X^2``, and the dispersion
    came out low (median ``sqrt(phi)`` 1.5–1.8 where the truth was 2.0, with
    EC50 intervals covering 0.81–0.90). Where fewer than ``n_params + 1``
    observations are informative, all of them count.

    Args:
        batch: The data (raw observations ``obs_*``).
        params: ``(C, 5)`` natural parameters.
        n_params: Free parameters of the model.
        min_expected: Fewest expected cells of the rarer outcome.
        with_df: Also return the degrees of freedom ``m - n_params``.

    Returns:
        ``(C,)`` dispersion (NaN where no residual degree of freedom is left),
        and with ``with_df`` its ``(C,)`` degrees of freedom.
    """
    fval = jacobian(params, batch.logx, batch.zero)[0]
    p = np.clip(fval[batch.obs_curve, batch.obs_slot], _P_EPS, 1 - _P_EPS)
    contrib = batch.obs_n * (batch.obs_y - p) ** 2 / (p * (1 - p))
    informative = batch.obs_n * np.minimum(p, 1 - p) >= min_expected
    m = np.bincount(batch.obs_curve, weights=informative.astype(float), minlength=batch.n_curves)
    use_all = (m - n_params <= 0)[batch.obs_curve]
    keep = informative | use_all
    x2 = np.bincount(batch.obs_curve, weights=np.where(keep, contrib, 0.0), minlength=batch.n_curves)
    df = np.bincount(batch.obs_curve, weights=keep.astype(float), minlength=batch.n_curves) - n_params
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(df > 0, x2 / df, np.nan)
    return (phi, df) if with_df else phi


#: One-sided level of the F-test that finds the vehicle wells quieter than the dosed points
#: (:func:`dosed_noise`).
VEHICLE_QUIET_ALPHA = 0.05


def _vehicle_pure_ss(batch: CurveBatch) -> np.ndarray:
    """``(C,)`` within-dose sum of squares of the dose-0 wells (NaN where the raw observations are gone)."""
    if batch.obs_curve.size == 0:
        return np.where(batch.n_obs > 0, np.nan, 0.0)
    zero = batch.zero[batch.obs_curve, batch.obs_slot]
    resid = batch.obs_y - batch.y[batch.obs_curve, batch.obs_slot]
    sq = resid**2 if batch.obs_w is None else batch.obs_w * resid**2
    return np.bincount(batch.obs_curve, weights=np.where(zero, sq, 0.0), minlength=batch.n_curves)


def dosed_noise(
    batch: CurveBatch,
    rows: np.ndarray,
    wresid2: np.ndarray,
    leverage: np.ndarray,
    n_params: int,
    alpha: float = VEHICLE_QUIET_ALPHA,
):
    """Residual variance of the dosed points where the vehicle wells are quieter (least squares).

    The homoscedastic model pools every residual into ``s^2 = RSS / (n_obs - p)``. A
    death fraction breaks it at the vehicle: near 0 its binomial variance is almost
    nil, so each vehicle well added a degree of freedom and nothing to the RSS, while
    the EC50 rests on the mid-curve doses, the noisiest. Hence, per curve, the dosed
    points' own estimate ``s_d^2 = RSS_dosed / (n_dosed - (p - h0))`` -- the residuals
    and within-dose squares of the wells at positive doses over their observations less
    the parameters they carry, ``h0`` being the leverage of the vehicle mean (near 1
    with many wells: the vehicle pins the zero-dose plateau) so that ``s_d^2`` is
    unbiased under homoscedastic noise -- replaces ``s^2`` where the vehicle's
    within-well variance ``s_v^2`` (``w0 - 1`` df) is significantly smaller: one-sided
    F-test ``s_d^2 / s_v^2``, p below ``alpha`` (``s_v^2 = 0``, all vehicle wells equal,
    counts as smaller). Otherwise the vehicle shares the dosed points' noise (a
    viability readout) and drc's pooled ``s^2`` stands. Curves without at least two
    vehicle wells or with under one dosed degree of freedom keep ``s^2``.

    Args:
        batch: The data (padded ``w``, ``zero``; raw observations for the vehicle's
            within-well squares).
        rows: ``(R,)`` the curves of ``batch`` that ``wresid2`` and ``leverage`` hold.
        wresid2: ``(C, N)`` weighted squared residuals of the dose means ``w (y - f)^2``.
        leverage: ``(C, N)`` hat-matrix diagonal of the dose means (sums to ``p``).
        n_params: Free parameters ``p``.
        alpha: Level of the F-test.

    Returns:
        ``(use, s2, df)``: ``(R,)`` where the dosed estimate applies, and that estimate
        with its degrees of freedom (NaN elsewhere).
    """
    zero = batch.zero[rows] & (batch.w[rows] > 0)
    w0 = np.sum(np.where(zero, batch.counts[rows], 0.0), axis=1)  # vehicle wells (not their weight)
    h0 = np.sum(np.where(zero, leverage, 0.0), axis=1)
    pure_v = _vehicle_pure_ss(batch)[rows]
    rss_d = np.sum(np.where(zero, 0.0, wresid2), axis=1) + batch.pure_ss[rows] - pure_v
    df_d = batch.n_obs[rows] - w0 - (n_params - h0)
    df_v = w0 - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        s2_d = rss_d / df_d
        s2_v = pure_v / df_v
        pval = np.where(
            s2_v > 0, stats.f.sf(s2_d / np.where(s2_v > 0, s2_v, 1.0), df_d, df_v), 0.0
        )
    use = (df_v >= 1) & (df_d >= 1) & np.isfinite(s2_d) & np.isfinite(pure_v) & (pval < alpha)
    return use, np.where(use, s2_d, np.nan), np.where(use, df_d, np.nan)


def infer(
    batch: CurveBatch,
    params: np.ndarray,
    spec: ModelSpec,
    level: float = 0.95,
    overdispersion: bool = True,
) -> Inference:
    """Covariance of the natural parameters at the fitted ``params``.

    Args:
        batch: The data the parameters were fitted to.
        params: ``(C, 5)`` natural parameters (NaN rows are skipped).
        spec: The model.
        level: Confidence level of the intervals.
        overdispersion: Binomial only: scale by the Pearson dispersion when above 1.
    """
    n = batch.n_curves
    free = list(spec.free)
    k = len(free)
    ok = np.all(np.isfinite(params), axis=1)
    cov = np.full((n, 5, 5), np.nan)
    rss = np.full(n, np.nan)
    sigma2 = np.full(n, np.nan)
    df = (batch.n_obs - k).astype(float)
    pooled_s2 = np.full(n, np.nan)
    pooled_df = df.copy()
    quant = np.full(n, np.nan)
    idx = np.flatnonzero(ok)
    if idx.size:
        pr = params[idx]
        lx, zr, y, w = batch.logx[idx], batch.zero[idx], batch.y[idx], batch.w[idx]
        fval, jac = jacobian(pr, lx, zr, with_f=F in spec.free)
        jac = jac[..., free]
        hess = hessian(pr, lx, zr, tuple(free))[..., free, :][..., free]
        dfi = df[idx]
        if spec.loss == "gaussian":
            resid = y - fval
            rss_i = np.sum(w * resid**2, axis=1) + batch.pure_ss[idx]
            # half the Hessian of RSS:  sum w (J J' - r d2f)
            info = np.einsum("cn,cnp,cnq->cpq", w, jac, jac) - np.einsum(
                "cn,cnpq->cpq", w * resid, hess
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                s2 = np.where(dfi > 0, rss_i / dfi, np.nan)
            pooled_s2[idx] = s2
            gn_inv = safe_inverse(np.einsum("cn,cnp,cnq->cpq", w, jac, jac))
            leverage = w * np.einsum("cnp,cpq,cnq->cn", jac, gn_inv, jac)
            use, s2_d, df_d = dosed_noise(batch, idx, w * resid**2, leverage, k)
            s2 = np.where(use, s2_d, s2)
            dfi = np.where(use, df_d, dfi)
            df[idx] = dfi
            scale = s2
            q = stats.t.ppf(0.5 + level / 2, np.where(dfi > 0, dfi, np.nan))
        else:
            p = np.clip(fval, _P_EPS, 1 - _P_EPS)
            d1 = w * (y / p - (1 - y) / (1 - p))
            d2 = w * (y / p**2 + (1 - y) / (1 - p) ** 2)
            info = np.einsum("cn,cnp,cnq->cpq", d2, jac, jac) - np.einsum(
                "cn,cnpq->cpq", d1, hess
            )
            phi, phi_df = pearson_dispersion(batch, params, k, with_df=True)
            phi, dfi = phi[idx], phi_df[idx]
            df[idx] = dfi
            pooled_s2[idx] = phi
            pooled_df[idx] = dfi
            rss_i = phi * dfi
            if overdispersion:
                scale = np.where(np.isfinite(phi), np.maximum(phi, 1.0), 1.0)
            else:
                scale = np.ones(idx.size)
            s2 = scale
            inflated = scale > 1.0
            q = np.where(
                inflated,
                stats.t.ppf(0.5 + level / 2, np.where(dfi > 0, dfi, np.nan)),
                stats.norm.ppf(0.5 + level / 2),
            )
        inv = safe_inverse(info) * scale[:, None, None]
        block = np.zeros((idx.size, 5, 5))
        block[:, np.ix_(free, free)[0], np.ix_(free, free)[1]] = inv
        cov[idx] = block
        rss[idx] = rss_i
        sigma2[idx] = s2
        quant[idx] = q
    return Inference(cov, rss, df, sigma2, quant, pooled_s2, pooled_df)


def delta_method(fn, params: np.ndarray, cov: np.ndarray, rel_step: float = 1e-6):
    """Estimate and delta-method SE of a scalar function of the parameters.

    Args:
        fn: Maps ``(C, 5)`` natural parameters to ``(C,)`` values.
        params: ``(C, 5)`` natural parameters.
        cov: ``(C, 5, 5)`` their covariance.
        rel_step: Relative central-difference step for the gradient.

    Returns:
        ``(value, se)``, each ``(C,)``.
    """
    value = fn(params)
    grad = np.zeros(params.shape)
    for k in range(5):
        if not np.any(np.isfinite(cov[:, k, k]) & (cov[:, k, k] > 0)):
            continue
        h = rel_step * np.maximum(np.abs(params[:, k]), 1e-8)
        up = params.copy()
        dn = params.copy()
        up[:, k] += h
        dn[:, k] -= h
        grad[:, k] = (fn(up) - fn(dn)) / (2 * h)
    var = np.einsum("ci,cij,cj->c", grad, np.nan_to_num(cov), grad)
    bad = ~np.all(np.isfinite(cov), axis=(1, 2))
    se = np.sqrt(np.maximum(var, 0.0))
    se[bad] = np.nan
    return value, se


def wald_interval(estimate, se, quantile, scale: str = "linear"):
    """Two-sided Wald interval.

    Args:
        estimate: Point estimates.
        se: Their standard errors.
        quantile: Critical values (``t`` or normal).
        scale: ``"linear"`` (``estimate ± q·se``, drc's default) or ``"log"``
            (``estimate · exp(± q·se/estimate)``, always positive; for doses).

    Returns:
        ``(lower, upper)`` arrays.
    """
    estimate = np.asarray(estimate, float)
    se = np.asarray(se, float)
    if scale == "log":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            half = quantile * se / estimate
            return estimate * np.exp(-half), estimate * np.exp(half)
    if scale != "linear":
        raise ValueError(f"unknown interval scale '{scale}' (expected 'linear' or 'log')")
    return estimate - quantile * se, estimate + quantile * se


def effective_doses(params: np.ndarray, cov: np.ndarray, percents=(10, 50, 90)):
    """Delta-method effective doses: ``{p: (ED_p, SE)}`` for each ``p`` in ``percents``."""
    return {p: delta_method(lambda th, p=p: effective_dose(th, p), params, cov) for p in percents}
