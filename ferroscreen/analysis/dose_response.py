"""``fit_curves``: the public entry point of batched dose-response fitting.

:func:`fit_curves_with_params` does the same fit and also keeps each curve's
natural parameters and their covariance (a :class:`FittedCurves`), so that the
fitted response at any dose can be predicted with a delta-method interval
(:meth:`FittedCurves.predict`), e.g. the compound alone at the dose of a
single-dose rescue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ferroscreen.analysis.activity import (
    activity_calls,
    bh_qvalues,
    flat_objective,
    flatness_test,
    min_effect_per_curve,
    tested_weights,
)
from ferroscreen.analysis.curve_flags import TOP_EXCLUSION_ALPHA, curve_flags, far_plateau_undetermined, ll2_misfit
from ferroscreen.analysis.fitting import (
    _P_EPS,
    CurveBatch,
    build_batch,
    default_bounds,
    fit_batch,
    normalise_direction,
    objective,
)
from ferroscreen.analysis.inference import (
    delta_method,
    effective_doses,
    infer,
    pearson_dispersion,
    safe_inverse,
    wald_interval,
)
from ferroscreen.analysis.inputs import confidence_level, validate_tidy
from ferroscreen.analysis.models import (
    LL4_BINOMIAL,
    B,
    C,
    D,
    E,
    F,
    ModelSpec,
    get_model,
    hessian,
    jacobian,
    response,
)
from ferroscreen.analysis.potency import ec50_bounds
from ferroscreen.analysis.profile_interval import MAX_SANDWICH_WIDENING, profile_statistic, profiled_limits
from ferroscreen.analysis.readouts import FRACTION_PREFIXES

#: Columns every fits table has, in order.
FIT_COLUMNS = [
    "curve", "readout", "model", "n_points", "n_doses", "dose_min", "dose_max",
    "bottom", "bottom_se", "bottom_lo", "bottom_hi",
    "top", "top_se", "top_lo", "top_hi",
    "hill", "hill_se", "hill_lo", "hill_hi",
    "ec50", "ec50_se", "ec50_lo", "ec50_hi", "pec50",
    "ed10", "ed10_se", "ed10_lo", "ed10_hi",
    "ed90", "ed90_se", "ed90_lo", "ed90_hi",
    "asymmetry", "asymmetry_se",
    "e0", "emax", "effect", "auc", "rse", "r2", "df", "f_stat",
    "p_value", "q_value", "call", "flags", "converged", "n_iter", "ec50_reportable",
    "ec50_ci_method", "ec50_bound", "cov_method",
]  # fmt: skip

_AUC_GRID = 33


def _saturated_nll(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(y > 0, y * np.log(np.clip(y, _P_EPS, 1)), 0.0)
        b = np.where(y < 1, (1 - y) * np.log(np.clip(1 - y, _P_EPS, 1)), 0.0)
    return -np.sum(w * (a + b), axis=1)


#: Fewest within-dose degrees of freedom for the replicate (pure-error) SD to stand in for the rse.
MIN_PURE_ERROR_DF = 3


def replicate_noise_sd(
    batch: CurveBatch, rse: np.ndarray, rse_df: np.ndarray, min_df: int = MIN_PURE_ERROR_DF
) -> tuple[np.ndarray, np.ndarray]:
    """Noise SD of one observation that a misfit of the curve does not inflate (least squares).

    The pooled within-dose SD of the replicates, ``sqrt(pure_ss / (n_obs - n_doses))``
    (the "pure error" of a lack-of-fit test; the vehicle wells at dose 0 are the
    curve's replicates there, so with one well per dose it is the vehicle wells' SD),
    where it has at least ``min_df`` degrees of freedom, else the fit's residual SD
    ``rse``. The rse holds the lack of fit as well as the noise, so a hormetic bump
    the sigmoid cannot follow inflates it and hides itself from the ``non_monotone``
    flag (:mod:`ferroscreen.analysis.curve_flags`); the replicate SD does not.

    Args:
        batch: The fitted data (``pure_ss``, ``n_obs``, ``n_doses``).
        rse: ``(C,)`` residual standard errors, the fallback.
        rse_df: ``(C,)`` their degrees of freedom.
        min_df: Fewest pure-error degrees of freedom to use the replicate SD.

    Returns:
        ``(sd, df)``: per curve the noise SD and the degrees of freedom of that estimate.
    """
    pure_df = (batch.n_obs - batch.n_doses).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pure_sd = np.sqrt(batch.pure_ss / np.where(pure_df > 0, pure_df, np.nan))
    use = (pure_df >= min_df) & np.isfinite(pure_sd)
    return np.where(use, pure_sd, rse), np.where(use, pure_df, rse_df)


def sandwich_covariance(
    batch: CurveBatch, params: np.ndarray, spec: ModelSpec, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Heteroscedasticity-consistent (HC2) covariance of least-squares fits, with Bell–McCaffrey df.

    drc's covariance ``s^2 H^-1`` assumes one noise variance for every observation. A death
    fraction's variance is ``p (1 - p) / n`` (more between wells): near nil at the vehicle and
    the plateaus, largest mid-curve, where the EC50 is decided, so the pooled ``s^2`` understated
    the EC50's spread (95 % intervals covered 0.87-0.89 of binomial and beta-binomial curves).
    The sandwich ``A^-1 (sum_i J_i J_i' e_i^2 / (1 - h_i)) A^-1`` takes each observation's own
    squared residual instead (``A``: the same observed information as drc's, ``J_i`` the model
    gradient at observation ``i``, ``e_i`` its residual, ``h_i`` its leverage). Its intervals use
    ``t`` quantiles with the Bell–McCaffrey (Satterthwaite) degrees of freedom of the ``ln e``
    variance: ``(sum_i g_i M_ii)^2 / sum_ij g_i g_j M_ij^2`` with ``g_i`` the weight of ``e_i^2`` in
    that variance and ``M = I - H`` (as if the noise were homoscedastic); a few doses carry the
    EC50, so this is well below ``n - p`` (a median near 7 for 8 doses x 3 wells + 6 vehicle
    wells). Point estimates are unchanged.

    Args:
        batch: The fitted data, raw observations included.
        params: ``(C, 5)`` natural parameters.
        spec: The model (least squares).
        rows: ``(C,)`` curves to compute.

    Returns:
        ``(cov, df)``: ``(C, 5, 5)`` covariance (zero rows and columns for fixed parameters) and
        ``(C,)`` degrees of freedom; NaN for curves not asked for or where the sandwich cannot be
        formed (singular ``J'J``, or an observation of leverage 1 that fits itself exactly).
    """
    n = batch.n_curves
    free = list(spec.free)
    k = len(free)
    cov = np.full((n, 5, 5), np.nan)
    dof = np.full(n, np.nan)
    idx = np.flatnonzero(np.asarray(rows, bool) & np.all(np.isfinite(params), axis=1))
    if idx.size == 0 or batch.obs_curve.size == 0:
        return cov, dof
    lx, zr, w = batch.logx[idx], batch.zero[idx], batch.w[idx]
    fval, jac = jacobian(params[idx], lx, zr, with_f=F in spec.free)
    jac = jac[..., free]
    hess = hessian(params[idx], lx, zr, tuple(free))[..., free, :][..., free]
    gauss_newton = np.einsum("cn,cnp,cnq->cpq", w, jac, jac)
    bread = safe_inverse(gauss_newton - np.einsum("cn,cnpq->cpq", w * (batch.y[idx] - fval), hess))
    gn_inv = safe_inverse(gauss_newton)
    pos = np.full(n, -1)
    pos[idx] = np.arange(idx.size)
    sel = pos[batch.obs_curve] >= 0
    oc, slot = pos[batch.obs_curve[sel]], batch.obs_slot[sel]
    jo = jac[oc, slot]
    resid = batch.obs_y[sel] - fval[oc, slot]
    if batch.obs_w is not None:  # weighted least squares: the whitened observations sqrt(w_i) (y_i, J_i)
        root = np.sqrt(batch.obs_w[sel])
        jo = jo * root[:, None]
        resid = resid * root
    lev = np.einsum("mp,mpq,mq->m", jo, gn_inv[oc], jo)
    lone = ~(1.0 - lev > 1e-6)  # NaN too (singular J'J)
    rest = np.where(lone, 1.0, 1.0 - lev)

    def per_curve(values: np.ndarray) -> np.ndarray:
        return np.bincount(oc, weights=values, minlength=idx.size)

    def outer_sum(weight: np.ndarray) -> np.ndarray:
        out = np.empty((idx.size, k, k))
        for p in range(k):
            for q in range(p, k):
                out[:, p, q] = out[:, q, p] = per_curve(weight * jo[:, p] * jo[:, q])
        return out

    meat = outer_sum(resid**2 / rest)
    cov_free = bread @ meat @ bread
    # Bell–McCaffrey df of the variance of e (the EC50 of LL.3/LL.4)
    infl = np.einsum("mp,mp->m", jo, bread[oc, :, free.index(E)])
    g = infl**2 / rest
    gs = gn_inv @ outer_sum(g)
    with np.errstate(invalid="ignore", divide="ignore"):
        df_e = per_curve(infl**2) ** 2 / (
            per_curve(g**2 * (1.0 - 2.0 * lev)) + np.einsum("cij,cji->c", gs, gs)
        )
    ok = (per_curve(lone.astype(float)) == 0) & np.all(np.isfinite(cov_free), axis=(1, 2))
    ok &= np.isfinite(df_e) & (df_e > 0)
    block = np.zeros((idx.size, 5, 5))
    block[:, np.ix_(free, free)[0], np.ix_(free, free)[1]] = cov_free
    cov[idx[ok]] = block[ok]
    dof[idx[ok]] = df_e[ok]
    return cov, dof


#: Readouts whose least-squares fits weigh each well by its inverse variance when its cell count ``n``
#: is known (:func:`fraction_weights`): the endpoint fractions of cells in a mode.
WEIGHTED_PREFIXES = ("frac_",)
#: Module switch of :func:`fit_curves_with_params`'s default ``weights`` (None: by readout name).
FRACTION_WEIGHTS = True
#: Robust SD of a normal sample from its median absolute deviation.
_MAD_SD = 1.4826


def fraction_weights(curve: np.ndarray, dose: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Inverse-variance weights of fraction observations, ``1 / (p (1 - p) / n_i + tau^2)``, mean 1 per curve.

    A beta-binomial-like variance per well: the binomial part of its ``n_i`` cells at the curve's
    pooled fraction ``p`` (all its wells' cells together), plus ``tau^2``, the between-well variance
    beyond it, estimated robustly from the curve's vehicle (dose-0) wells (the plate's, in a screen):
    ``(1.4826 MAD)^2`` of their fractions less their mean binomial variance, floored at 0 (0 with
    fewer than 3 vehicle wells). Wells without a count get the curve's smallest count. Fractions of 20
    cells then weigh ~1/30 of a vehicle well of 600 (at ``tau = 0``), not the same.

    Args:
        curve: ``(M,)`` integer curve codes.
        dose: ``(M,)`` doses (0: vehicle).
        y: ``(M,)`` fractions.
        n: ``(M,)`` cell counts behind each fraction (NaN or <= 0: unknown).

    Returns:
        ``(M,)`` weights, mean 1 over each curve's observations.
    """
    curve = np.asarray(curve, np.int64)
    m = curve.size
    out = np.ones(m)
    if m == 0:
        return out
    y = np.asarray(y, float)
    n = np.asarray(n, float)
    known = np.isfinite(n) & (n > 0) & np.isfinite(y)
    frame = pd.DataFrame({"c": curve, "d": np.asarray(dose, float), "y": y, "n": np.where(known, n, np.nan)})
    frame["yn"] = frame["y"] * frame["n"]
    g = frame.groupby("c")
    # a well without a count (a suspect endpoint count, left out of the readouts) weighs as the curve's
    # fewest-cells well: it may be a defocused last scan of a handful of cells, never a full one
    low_n = g["n"].transform("min").to_numpy()
    n_eff = np.where(known, n, low_n)
    cells = g["n"].transform("sum").to_numpy()  # the curve's cells, all wells together
    with np.errstate(invalid="ignore", divide="ignore"):
        p = g["yn"].transform("sum").to_numpy() / cells
    half_cell = 0.5 / np.maximum(np.nan_to_num(cells), 1.0)
    p = np.clip(np.nan_to_num(p, nan=0.5), half_cell, 1.0 - half_cell)
    # a well of few cells: its fraction moves by 1 / n_i with each cell, so its binomial variance is taken at
    # a rate of at least 1 / n_i (at most 1/2) from each end: one ferroptotic cell of 3 at p = 0.01 is no
    # 10-sigma outlier
    edge = np.minimum(1.0 / n_eff, 0.5)
    p_i = np.clip(p, edge, 1.0 - edge)
    binom = p_i * (1.0 - p_i) / n_eff
    veh = frame[(frame["d"] == 0) & known]
    tau2 = pd.Series(0.0, index=pd.Index(np.unique(curve)))
    if not veh.empty:
        vg = veh.groupby("c")
        mad = vg["y"].agg(lambda v: np.median(np.abs(v - np.median(v))))
        pv = vg["yn"].sum() / vg["n"].sum()
        b_v = vg["n"].agg(lambda v: np.mean(1.0 / v)) * pv * (1.0 - pv)
        est = ((_MAD_SD * mad) ** 2 - b_v).clip(lower=0.0)
        est[vg.size() < 3] = 0.0
        tau2.loc[est.index] = est.to_numpy()
    var = binom + tau2.reindex(curve).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        w = 1.0 / var
    w = np.where(np.isfinite(w) & (w > 0), w, np.nan)
    fill = pd.Series(w).groupby(curve).transform("median").to_numpy()
    w = np.where(np.isfinite(w), w, np.nan_to_num(fill, nan=1.0))
    mean = pd.Series(w).groupby(curve).transform("mean").to_numpy()
    return w / mean


def ll2_against_ll4(
    batch: CurveBatch, params: np.ndarray, fitted: np.ndarray, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What freeing both plateaus gains over an LL.2 fit, for ``ll2_misfit``.

    LL.4 with the binomial loss (:data:`~ferroscreen.analysis.models.LL4_BINOMIAL`) is fitted to
    the dosed wells of each fitted curve (LL.2 fixes the vehicle's level, so they are left out
    of both), within plateau bounds ``(0, 1)``.

    Args:
        batch: The LL.2 fit's data, raw observations included.
        params: ``(C, 5)`` the LL.2 parameters.
        fitted: ``(C,)`` curves that got them.
        max_iter: Levenberg–Marquardt iteration cap.

    Returns:
        ``(gain, phi, df)`` per curve: the binomial deviance of LL.2 less LL.4's on the dosed
        wells, and LL.4's Pearson dispersion with its degrees of freedom (NaN where LL.4 was not
        fitted: under 5 dosed doses or observations).
    """
    n = batch.n_curves
    dosed = ~batch.zero[batch.obs_curve, batch.obs_slot]
    curve = batch.obs_curve[dosed]
    alt = build_batch(
        curve, batch.dose[curve, batch.obs_slot[dosed]], batch.obs_y[dosed], n, batch.obs_n[dosed]
    )
    k = LL4_BINOMIAL.n_params
    mask = np.asarray(fitted, bool) & (alt.n_doses >= k + 1) & (alt.n_obs > k)
    bounds = default_bounds(alt, plateau_bounds=(0.0, 1.0))
    res = fit_batch(alt, LL4_BINOMIAL, bounds, fit_mask=mask, max_iter=max_iter)
    safe = np.where(np.isfinite(params), params, 1.0)
    nll2 = objective(response(safe, alt.logx, alt.zero), alt.y, alt.w, "binomial")
    phi, df = pearson_dispersion(alt, res.params, k, with_df=True)
    ok = mask & np.isfinite(res.objective)
    gain = np.where(ok, 2.0 * (nll2 - res.objective), np.nan)
    return gain, np.where(ok, phi, np.nan), np.where(ok, df, np.nan)


def fit_curves(table: pd.DataFrame, model: str = "ll4", **kwargs) -> pd.DataFrame:
    """Fit a log-logistic model to every curve of a tidy table at once.

    The model is drc's ``f(x) = c + (d - c) / (1 + exp(b (ln x - ln e)))``
    (``**f`` for LL.5; see :mod:`ferroscreen.analysis.models`), fitted by a
    vectorised bounded Levenberg–Marquardt over all curves
    (:mod:`ferroscreen.analysis.fitting`). Zero doses are the control limit
    of the model. Standard errors come from the Hessian of the residual sum
    of squares as in drc (:mod:`ferroscreen.analysis.inference`), except for
    fraction readouts (``frac_``/``auc_``/``peak_``), whose noise grows
    towards mid-curve: theirs are a sandwich (:func:`sandwich_covariance`), activity
    calls from an F-test against a flat line with Benjamini–Hochberg FDR per
    readout plus a minimal effect (:mod:`ferroscreen.analysis.activity`).
    ``ll2`` models a ``0 -> 1`` response (complete kill, no background): its
    zero-dose level is fixed, so the vehicle points (dose 0) only pick the
    curve's direction, and its activity test and ``r2`` leave them out as its
    fit does (:func:`~ferroscreen.analysis.activity.tested_weights`); a
    background death in the vehicle is not modelled (``ll4`` fits both plateaus).

    Args:
        table: Columns ``curve, dose, response``; optional ``n`` (binomial
            totals, required for ``ll2``) and ``readout`` (curves are fitted
            per ``readout × curve`` and the FDR is taken per readout).
            Doses in molar so that ``pec50 = -log10(ec50)`` is meaningful.
        model: ``"ll4"`` (default), ``"ll3"``, ``"ll5"`` or ``"ll2"`` (binomial).
        **kwargs: Keyword options of :func:`fit_curves_with_params`
            (``level, ci_scale, ec50_window, plateau_bounds, plateau_margin,
            hill_range, min_effect, alpha, overdispersion, sandwich, profile_ci, max_iter, source``).

    Returns:
        One row per curve (per readout), columns :data:`FIT_COLUMNS`:
        ``bottom``/``top`` are drc's ``c``/``d`` (for LL.4 ``bottom <= top``),
        ``hill`` is drc's ``b`` (positive for falling curves), ``ec50`` the
        dose of half effect (``e`` except for LL.5) with delta-method SE and
        interval, ``ed10``/``ed90`` the doses of 10 % and 90 % effect counted
        from the zero-dose level, ``e0`` the fitted zero-dose level, ``emax``
        the fitted response at the highest tested dose, ``effect`` their
        difference, ``auc`` the mean fitted response over the tested log-dose
        range, ``rse`` the residual standard error over all observations
        (drc's; square root of the dispersion for ``ll2``), ``df`` the
        degrees of freedom of the intervals: drc's ``n - p``, or the dosed
        points' (fractional: ``n_dosed - (p - h0)``) where the vehicle wells
        are quieter (:func:`ferroscreen.analysis.inference.dosed_noise`),
        ``call`` one of ``active``/``inactive``/
        ``failed`` and ``flags`` the ``;``-joined flags of
        :mod:`ferroscreen.analysis.curve_flags`. A curve flagged
        ``far_plateau_undetermined`` (its free high-dose plateau is not
        pinned by the data) has ``ec50_hi`` and ``ed90_hi`` ``inf``: its
        EC50 is bounded from below (``ec50_lo``) only, as the point estimate
        is biased low when the true EC50 lies near or above the highest
        dose. ``ec50_ci_method`` says where ``ec50_lo``/``ec50_hi`` come from:
        ``wald`` (the delta-method SE above, ``ci_scale``), or ``profile`` for a
        curve the data do not bracket (its fitted EC50 outside the tested doses,
        or a Wald limit more than 2 decades beyond them): the profile likelihood
        of the EC50 (:mod:`~ferroscreen.analysis.profile_interval`), ``0`` or
        ``inf`` for an end it leaves open inside the fitting window; ``""`` for a
        curve not fitted. ``ec50_se`` stays the delta-method SE, and ``ed10``/``ed90``
        keep Wald limits. The fitted parameters are
        kept for every fitted curve, but ``ec50_reportable`` is True only
        for ``active`` curves with a finite EC50: the EC50 (``pec50``,
        ``ed10``, ``ed90``, ``hill``) of an ``inactive`` curve is a point of
        a flat fit's window, not a potency, and the ranking and the report
        leave it out. Reportable is not "a point estimate": ``ec50_bound``
        says which it is (:func:`~ferroscreen.analysis.potency.ec50_bounds`,
        the report's rule): ``""`` a point estimate (inside the tested doses,
        far plateau measured), ``">"`` bounded from below only (above the
        doses, or ``far_plateau_undetermined``; the bound is ``ec50_lo`` held
        to the top dose), ``"<"`` from above only (below the doses; ``ec50_hi``
        held to the lowest dose), ``"?"`` not determined (that limit is open
        too); ``""`` as well where ``ec50_reportable`` is False. A bounded
        EC50 stays reportable: :func:`~ferroscreen.analysis.potency_ratio`
        gives its ratio an interval from the two EC50 intervals.
        ``cov_method`` says which covariance the SEs and Wald intervals (and
        the profile's scale) rest on: ``drc`` (``s^2 H^-1``), ``hc2`` (the
        :func:`sandwich_covariance` of a fraction readout, or ``sandwich``),
        ``binomial`` (LL.2's inverse information) or ``quasibinomial`` (that,
        scaled by a Pearson dispersion above 1); ``""`` for a curve not fitted.

    Raises:
        AnalysisInputError: If the table lacks columns or holds invalid values (a row
            with a response but no curve or readout), or ``level`` is not a fraction in (0, 1).

    Example:
        >>> import numpy as np, pandas as pd
        >>> from ferroscreen.analysis import fit_curves
        >>> dose = np.repeat([0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4], 3)
        >>> frac = 0.05 + 0.85 / (1 + (1e-6 / np.maximum(dose, 1e-30)) ** 1.2)
        >>> noise = np.random.default_rng(0).normal(0, 0.02, dose.size)
        >>> tab = pd.DataFrame({"curve": "erastin", "dose": dose, "response": frac + noise})
        >>> fit = fit_curves(tab, model="ll4").iloc[0]
        >>> bool(abs(np.log10(fit.ec50) + 6) < 0.2), fit.call, bool(fit.hill < 0)
        (True, 'active', True)
    """
    return fit_curves_with_params(table, model, **kwargs).table


@dataclass
class FittedCurves:
    """A batch fit with the parameters behind its table.

    Attributes:
        table: The fits table of :func:`fit_curves` (one row per curve × readout).
        params: ``(C, 5)`` natural parameters ``b, c, d, e, f`` in the
            table's row order (NaN rows for curves that were not fitted).
        cov: ``(C, 5, 5)`` their covariance (zero for fixed parameters).
        dof: ``(C,)`` degrees of freedom of the intervals: the residual df,
            ``inf`` where normal quantiles apply (binomial without overdispersion).
        spec: The model.
    """

    table: pd.DataFrame
    params: np.ndarray
    cov: np.ndarray
    dof: np.ndarray
    spec: ModelSpec

    def row_of(self, curve: str, readout: str) -> int | None:
        """Row index of ``curve`` × ``readout`` in :attr:`table`, or None when absent."""
        hit = np.flatnonzero(
            (self.table["curve"].to_numpy() == curve) & (self.table["readout"].to_numpy() == readout)
        )
        return int(hit[0]) if hit.size else None

    def predict(self, row: int, doses, level: float = 0.95) -> pd.DataFrame:
        """Fitted response of one curve at ``doses`` with delta-method intervals.

        The standard error of ``f(x)`` is ``sqrt(g' V g)`` with ``g`` the
        gradient of ``f(x)`` in the natural parameters and ``V`` their
        covariance; the interval is ``f ± t(dof) · se`` with the curve's
        :attr:`dof`.

        Args:
            row: Row of :attr:`table` (see :meth:`row_of`).
            doses: Doses (molar, ``>= 0``; 0 is the control limit).
            level: Confidence level.

        Returns:
            Columns ``dose, value, se, lo, hi, df`` (NaN for a curve that was not fitted).

        Raises:
            AnalysisInputError: ``level`` is not a fraction in (0, 1).
        """
        level = confidence_level(level)
        doses = np.atleast_1d(np.asarray(doses, dtype=float))
        n = doses.size
        params = np.repeat(self.params[row : row + 1], n, axis=0)
        cov = np.repeat(self.cov[row : row + 1], n, axis=0)
        zero = doses <= 0
        logx = np.log(np.where(zero, 1.0, doses))

        def at_dose(th: np.ndarray) -> np.ndarray:
            return response(th, logx[:, None], zero[:, None])[:, 0]

        if np.all(np.isfinite(params)):
            value, se = delta_method(at_dose, params, cov)
        else:
            value = se = np.full(n, np.nan)
        dof = float(self.dof[row])
        dof = dof if np.isfinite(dof) and dof > 0 else np.inf
        q = stats.t.ppf(0.5 + level / 2, dof)
        return pd.DataFrame(
            {"dose": doses, "value": value, "se": se, "lo": value - q * se, "hi": value + q * se, "df": dof}
        )


def share_at_second_dose(
    batch: CurveBatch, params: np.ndarray, zero_level: np.ndarray, far_level: np.ndarray
) -> np.ndarray:
    """Share (0-1) of the fitted effect reached at each curve's second-highest positive dose.

    ``(f(dose) - f(0)) / (far plateau - f(0))`` of the fitted curve; NaN where a curve has fewer
    than two positive doses.
    """
    positive = (batch.w > 0) & ~batch.zero & (batch.dose > 0)
    ranked = np.sort(np.where(positive, batch.dose, -np.inf), axis=1)
    second = ranked[:, -2] if ranked.shape[1] >= 2 else np.full(batch.n_curves, -np.inf)
    ok = np.isfinite(second) & (second > 0)
    lx = np.log(np.where(ok, second, 1.0))[:, None]
    level = response(params, lx, np.zeros(lx.shape, dtype=bool))[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, (level - zero_level) / (far_level - zero_level), np.nan)


def fit_curves_with_params(
    table: pd.DataFrame,
    model: str = "ll4",
    *,
    level: float = 0.95,
    ci_scale: str = "log",
    ec50_window: float = 1.0,
    plateau_bounds: tuple[float, float] | None = None,
    plateau_margin: float = 1.0,
    hill_range: tuple[float, float] = (0.05, 20.0),
    min_effect: float | Mapping[str, float] = 0.1,
    alpha: float = 0.05,
    overdispersion: bool = True,
    sandwich: bool | None = None,
    profile_ci: bool = True,
    weights: bool | None = None,
    max_iter: int = 100,
    source=None,
) -> FittedCurves:
    """:func:`fit_curves`, keeping each curve's parameters and covariance.

    Args:
        table: Tidy ``curve, dose, response[, n][, readout]`` table (see :func:`fit_curves`).
        model: ``"ll4"`` (default), ``"ll3"``, ``"ll5"`` or ``"ll2"`` (binomial).
        level: Confidence level of all intervals, a fraction (0.95).
        ci_scale: ``"log"`` (default): EC50/ED intervals
            ``ec50 · exp(± q · se / ec50)``, always positive; ``"linear"``:
            drc's ``ec50 ± q · se``.
        ec50_window: EC50 search window, in decades beyond the lowest and
            the highest positive tested dose.
        plateau_bounds: Absolute bounds for both plateaus (e.g. ``(0, 1)``
            for fractions); default: ``plateau_margin`` times the span of the
            dose means beyond their extremes.
        plateau_margin: See ``plateau_bounds``.
        hill_range: Bounds of ``|hill|``.
        min_effect: Minimal ``|f(highest dose) - f(0)|`` (response units) for
            an ``active`` call: one number, or a mapping ``readout -> number`` (a readout
            it lacks: 0.1; :func:`~ferroscreen.analysis.activity.min_effect_per_curve`).
        alpha: FDR level for ``active`` calls.
        overdispersion: ``ll2`` only: inflate SEs by the Pearson dispersion when above 1.
        sandwich: Least squares only: covariance, SEs and intervals from the heteroscedasticity-
            consistent :func:`sandwich_covariance` (its degrees of freedom in ``df``) instead of
            drc's pooled ``s^2``; None (default): for readouts named ``frac_``, ``auc_`` or
            ``peak_`` (fractions of cells, :data:`~ferroscreen.analysis.readouts.FRACTION_PREFIXES`),
            whose binomial noise is not the same at every dose. A curve keeps drc's covariance
            where its sandwich cannot be formed or gives ``e`` a smaller variance than drc's: on a
            weak, poorly determined curve the sandwich came out up to 30-fold smaller by chance
            (its few informative residuals happened to be small), and null rescue pairs confirmed
            8 % of the time instead of 4 %. In simulation (LL.4 truth, 8 doses x 3 wells + 6
            vehicle, 1500 curves each) EC50 intervals of binomial fractions covered 0.956 (drc's:
            0.891), beta-binomial 0.951-0.957 (0.890-0.895); of normal noise 0.973 (0.963). A
            curve whose EC50 interval is open above (``far_plateau_undetermined``) keeps the
            sandwich's variance but drc's df where Bell–McCaffrey's is fewer: one top-dose well
            can carry such an EC50, its df fell to ~1.3 (t quantile ~10) and lower limits to 5-50
            decades under the lowest dose (one well per dose, EC50 in the top decade: 2.1 % of
            lower limits under 1/100 of the lowest dose, now 0.3 %, drc's 0.2 %; coverage 0.966,
            drc's 0.943).
        profile_ci: EC50 limits from the profile likelihood
            (:mod:`~ferroscreen.analysis.profile_interval`) instead of Wald's for the curves
            :func:`~ferroscreen.analysis.profile_interval.needs_profile` picks (a fitted EC50
            outside the tested doses, or a Wald limit more than 2 decades beyond them or not a
            positive number), whose Wald limits ran 5-70 decades past the doses; LL.2/LL.3/LL.4
            only (LL.5's EC50 is not ``e``). The statistic is drc's: its residual variance and
            ``t`` quantile (dosed points' where :func:`~ferroscreen.analysis.inference.dosed_noise`
            applies), over the binomial dispersion for ``ll2``; a sandwich curve's statistic is
            divided by the ratio of the sandwich's variance of ``e`` to drc's (1 to 2). False:
            Wald everywhere. ``ec50_ci_method`` says which each curve got.
        weights: Least squares only: weigh each observation by its inverse variance under a
            beta-binomial-like model (:func:`fraction_weights`, from the table's ``n``) throughout:
            dose means, pure-error and residual sums of squares (the F test), leverages (the
            sandwich). None (default): for readouts named ``frac_`` (:data:`WEIGHTED_PREFIXES`) when the
            table has ``n`` (:data:`FRACTION_WEIGHTS`); False: every observation weighs 1.
        max_iter: Levenberg–Marquardt iteration cap.
        source: Name used in error messages (e.g. the input file).

    Returns:
        A :class:`FittedCurves` whose ``table`` is exactly what :func:`fit_curves` returns.

    Raises:
        AnalysisInputError: If the table lacks columns or holds invalid values (a row with
            no curve or readout), or ``level`` is not a fraction in (0, 1).
    """
    level = confidence_level(level)
    spec = get_model(model)
    binomial = spec.loss == "binomial"
    tidy = validate_tidy(table, binomial=binomial, source=source)
    readout_codes, readout_names = pd.factorize(tidy["readout"], sort=False)
    curve_codes, curve_names = pd.factorize(tidy["curve"], sort=False)
    combined = readout_codes.astype(np.int64) * max(len(curve_names), 1) + curve_codes
    codes, uniq = pd.factorize(combined, sort=False)
    n_curves = len(uniq)
    uniq = np.asarray(uniq, dtype=np.int64)
    curve_of = np.asarray(curve_names, dtype=object)[uniq % max(len(curve_names), 1)]
    readout_of = np.asarray(readout_names, dtype=object)[uniq // max(len(curve_names), 1)]

    totals = tidy["n"].to_numpy(float) if binomial else None
    obs_w = None
    if not binomial and "n" in tidy.columns and weights is not False:
        if weights is None:
            named = np.array([str(r).startswith(WEIGHTED_PREFIXES) for r in readout_names], dtype=bool)
            weigh = named[readout_codes] & FRACTION_WEIGHTS
        else:
            weigh = np.ones(len(tidy), dtype=bool)
        if weigh.any():
            w_all = fraction_weights(codes, tidy["dose"].to_numpy(float), tidy["response"].to_numpy(float),
                                     tidy["n"].to_numpy(float))
            obs_w = np.where(weigh, w_all, 1.0)
    batch = build_batch(
        codes, tidy["dose"].to_numpy(float), tidy["response"].to_numpy(float), n_curves, totals, obs_w
    )
    k = spec.n_params
    fit_mask = (batch.n_doses >= k) & (batch.n_obs > k) & np.isfinite(batch.dose_min)
    if binomial:
        plateau_bounds = (0.0, 1.0)
    bounds = default_bounds(
        batch, ec50_window=ec50_window, plateau_bounds=plateau_bounds,
        plateau_margin=plateau_margin, hill_range=hill_range,
    )  # fmt: skip
    res = fit_batch(batch, spec, bounds, fit_mask=fit_mask, max_iter=max_iter)
    params = normalise_direction(res.params, spec)
    fitted = fit_mask & np.all(np.isfinite(params), axis=1)
    params[~fitted] = np.nan
    inf = infer(batch, params, spec, level=level, overdispersion=overdispersion)
    drc_q = inf.quantile.copy()  # the profile's critical value: drc's df, whatever the sandwich's
    drc_var_e = inf.cov[:, E, E].copy()
    hc = np.zeros(n_curves, dtype=bool)
    drc_df = inf.df.copy()
    if not binomial:
        if sandwich is None:
            fraction = np.array([str(r).startswith(FRACTION_PREFIXES) for r in readout_names], dtype=bool)
            robust = fraction[uniq // max(len(curve_names), 1)]
        else:
            robust = np.full(n_curves, bool(sandwich))
        cov_hc, df_hc = sandwich_covariance(batch, params, spec, robust & fitted)
        with np.errstate(invalid="ignore"):
            hc = np.isfinite(df_hc) & ~(cov_hc[:, E, E] < inf.cov[:, E, E])
        inf.cov[hc], inf.df[hc] = cov_hc[hc], df_hc[hc]
        inf.quantile[hc] = stats.t.ppf(0.5 + level / 2, df_hc[hc])
    se = inf.se()
    q = inf.quantile

    eds = effective_doses(params, inf.cov, (10, 50, 90))
    b = params[:, B]
    zero_level = np.where(b > 0, params[:, D], params[:, C])
    far_level = np.where(b > 0, params[:, C], params[:, D])
    with np.errstate(invalid="ignore", divide="ignore"):
        lx_max = np.log(batch.dose_max)[:, None]
        lx_min = np.log(batch.dose_min)[:, None]
        no_zero = np.zeros((n_curves, 1), dtype=bool)
        safe = np.where(np.isfinite(params), params, 1.0)
        f_max = response(safe, np.nan_to_num(lx_max), no_zero)[:, 0]
        effect = f_max - zero_level
        share = effect / (far_level - zero_level)
        grid = lx_min + (lx_max - lx_min) * np.linspace(0.0, 1.0, _AUC_GRID)[None, :]
        curve_grid = response(
            safe, np.nan_to_num(grid), np.zeros(grid.shape, dtype=bool)
        )
        auc = np.trapezoid(curve_grid, axis=1) / (_AUC_GRID - 1)

    # goodness of fit and activity
    tested = tested_weights(batch, spec)  # LL.2: its vehicle points out, as in effect from its fit
    obj_flat = flat_objective(batch, spec.loss, tested)
    if binomial:
        sat = _saturated_nll(batch.y, tested)
        obj_model = objective(response(safe, batch.logx, batch.zero), batch.y, tested, spec.loss)
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = 1 - (obj_model - sat) / (obj_flat - sat)
        dispersion = inf.sigma2
        rse = np.sqrt(dispersion)
        # one cell's binomial SD at p = 1/2, not the Pearson dispersion (a misfit inflates that, as the
        # rse); curve_flags scales it by the cells per dose
        noise_sd = np.full(n_curves, 0.5)
        noise_df = np.full(n_curves, np.inf)
    else:
        obj_model = inf.rss
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = 1 - obj_model / obj_flat
            # drc's residual SE over all observations; the intervals may use the dosed points' (infer)
            rse = np.sqrt(inf.pooled_sigma2)
        dispersion = None
        noise_sd, noise_df = replicate_noise_sd(batch, rse, np.asarray(inf.pooled_df, float))
    # binomial: the F-test's denominator df are the dispersion's (its informative observations, not all)
    n_for_test = np.asarray(inf.df, float) + k if spec.loss == "binomial" else batch.n_obs
    stat, pval = flatness_test(obj_model, obj_flat, n_for_test, k, spec.loss, dispersion)
    pval[~fitted] = np.nan
    stat[~fitted] = np.nan
    qval = np.full(n_curves, np.nan)
    for r in range(len(readout_names)):
        sel = (uniq // max(len(curve_names), 1)) == r
        qval[sel] = bh_qvalues(pval[sel])
    effect_for_call = np.where(fitted, effect, 0.0)
    calls = activity_calls(qval, effect_for_call, fitted, alpha=alpha,
                           min_effect=min_effect_per_curve(min_effect, readout_of))
    active = calls == "active"
    ec50, ec50_se = eds[50]
    far_idx = np.where(b > 0, C, D)
    rows = np.arange(n_curves)
    # the profile's scale: a sandwich curve's statistic scaled down as its variance of e exceeds drc's
    with np.errstate(invalid="ignore", divide="ignore"):
        widen = np.nan_to_num(np.where(hc, inf.cov[:, E, E] / drc_var_e, 1.0), nan=1.0)
    profile_scale = inf.sigma2 * np.clip(widen, 1.0, MAX_SANDWICH_WIDENING)
    far_args = {
        "active": active, "ec50": ec50, "far_free": np.isin(far_idx, spec.free),
        "far_se": se[rows, far_idx], "span": np.abs(far_level - zero_level),
    }  # fmt: skip
    open_top = far_plateau_undetermined(batch, **far_args)
    if F not in spec.free and open_top.any():
        # a loose or near plateau, yet the data may still reject an EC50 at the highest dose
        with np.errstate(divide="ignore", invalid="ignore"):
            at_top = profile_statistic(
                batch, spec, bounds, open_top, le=np.log(batch.dose_max), objective=res.objective,
                scale=profile_scale, max_iter=max_iter,
            )  # fmt: skip
            # drc's quantile: t on its residual df, normal for counts the fit does not scale up
            dof = np.where(binomial & ~(np.nan_to_num(inf.sigma2, nan=1.0) > 1.0), np.inf, drc_df)
            crit = stats.t.ppf(1.0 - TOP_EXCLUSION_ALPHA / 2.0, np.where(dof > 0, dof, np.nan)) ** 2
        open_top = far_plateau_undetermined(
            batch, **far_args, top_excluded=at_top > crit,
            share_second=share_at_second_dose(batch, safe, zero_level, far_level),
        )  # fmt: skip
    # an EC50 the data bound from below only: the sandwich keeps drc's df where Bell-McCaffrey's is fewer
    few = hc & open_top & (inf.df < drc_df)
    inf.df[few] = drc_df[few]
    inf.quantile[few] = stats.t.ppf(0.5 + level / 2, drc_df[few])
    misfit = ll2_misfit(*ll2_against_ll4(batch, params, fitted, max_iter)) if spec.name == "ll2" else None
    flags = curve_flags(
        batch, n_params=k, fitted=fitted, converged=res.converged, at_bound=res.at_bound,
        active=active, ec50=ec50, ec50_se=ec50_se, effect=effect_for_call,
        effect_at_max=share, r2=r2, noise_sd=noise_sd, noise_df=noise_df, far_undetermined=open_top,
        ll2_rejected=misfit,
    )  # fmt: skip

    out: dict[str, object] = {
        "curve": curve_of,
        "readout": readout_of,
        "model": spec.name,
        "n_points": batch.n_obs,
        "n_doses": batch.n_doses,
        "dose_min": batch.dose_min,
        "dose_max": batch.dose_max,
    }
    for name, idx in (("bottom", C), ("top", D), ("hill", B)):
        lo, hi = wald_interval(params[:, idx], se[:, idx], q, "linear")
        fixed = idx not in spec.free
        out[name] = params[:, idx]
        out[f"{name}_se"] = np.where(fixed, np.nan, se[:, idx])
        out[f"{name}_lo"] = np.where(fixed, np.nan, lo)
        out[f"{name}_hi"] = np.where(fixed, np.nan, hi)
    profiled = np.zeros(n_curves, dtype=bool)
    for name, pct in (("ec50", 50), ("ed10", 10), ("ed90", 90)):
        value, sev = eds[pct]
        lo, hi = wald_interval(value, sev, q, ci_scale)
        if name == "ec50" and profile_ci and F not in spec.free:
            lo, hi, profiled = profiled_limits(
                batch, spec, bounds, fitted=fitted, ec50=value, wald=(lo, hi), objective=res.objective,
                scale=profile_scale, quantile=drc_q, max_iter=max_iter,
            )  # fmt: skip
        if name in ("ec50", "ed90"):
            # far plateau undetermined: the data bound these doses from below only
            hi = np.where(open_top, np.inf, hi)
        out[name] = value
        out[f"{name}_se"] = sev
        out[f"{name}_lo"] = lo
        out[f"{name}_hi"] = hi
        if name == "ec50":
            with np.errstate(invalid="ignore", divide="ignore"):
                out["pec50"] = -np.log10(value)
    out["asymmetry"] = params[:, F]
    out["asymmetry_se"] = np.where(F in spec.free, se[:, F], np.nan)
    out["e0"] = zero_level
    out["emax"] = np.where(fitted, f_max, np.nan)
    out["effect"] = np.where(fitted, effect, np.nan)
    out["auc"] = np.where(fitted, auc, np.nan)
    out["rse"] = rse
    out["r2"] = np.where(fitted, r2, np.nan)
    out["df"] = inf.df
    out["f_stat"] = stat
    out["p_value"] = pval
    out["q_value"] = qval
    out["call"] = calls
    out["flags"] = flags
    out["converged"] = res.converged
    out["n_iter"] = res.n_iter
    with np.errstate(invalid="ignore"):
        out["ec50_reportable"] = active & np.isfinite(ec50) & (ec50 > 0)
    out["ec50_ci_method"] = np.where(profiled, "profile", np.where(fitted, "wald", ""))
    out["ec50_bound"] = ""
    normal = binomial & ~(np.nan_to_num(inf.sigma2, nan=1.0) > 1.0)
    if binomial:
        method = np.where(normal, "binomial", "quasibinomial")
    else:
        method = np.where(hc, "hc2", "drc")
    out["cov_method"] = np.where(fitted, method, "")
    dof = np.where(normal, np.inf, inf.df)
    table = pd.DataFrame(out, columns=FIT_COLUMNS)
    # a point estimate, or a bound the data set (the report's rule); none where the EC50 is no potency
    table["ec50_bound"] = np.where(out["ec50_reportable"], ec50_bounds(table)[0], "")
    return FittedCurves(table, params, inf.cov, dof, spec)
