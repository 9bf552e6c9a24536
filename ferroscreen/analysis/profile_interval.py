"""Profile-likelihood intervals of the EC50 for curves the data do not bracket.

A Wald interval ``ln e ± q · se`` assumes the log-likelihood is quadratic in ``ln e``.
Where the EC50 lies beyond the tested doses it is not: the data bound such an EC50 from
one side (an EC50 above the highest dose, from below, around the upper part of the tested
range) and hardly from the other, while the Hessian at the optimum is nearly singular, so
the Wald limits ran 5-70 decades past the doses (the demo's FSC-102 ``frac_ferroptosis``:
a lower limit of 1e-23 M, its profile limit 2.0e-7 M; drc's own Wald intervals do the same).

Here ``ln e`` is fixed on a grid across the fitting window, the other free parameters are
refitted at each point (:func:`~ferroscreen.analysis.fitting.fit_batch`, within the fit's
own bounds), and the interval is the range of ``ln e`` where the profile statistic stays
below the critical value ``q^2`` (``q`` the fit's two-sided Wald quantile):

* least squares: ``(RSS(e) - RSS) / s^2``, ``s^2`` the fit's residual variance and ``q`` the
  ``t`` quantile with its residual df (the F statistic on 1 and ``df`` degrees of freedom of
  drc/nls profiling);
* binomial: the deviance difference ``2 (nll(e) - nll)`` over the dispersion ``phi`` where
  overdispersion inflates the fit (quasi-likelihood; ``t`` quantile with ``phi``'s df), over 1
  otherwise (likelihood ratio, normal quantile).

A fraction readout fitted by least squares with the sandwich covariance
(:func:`~ferroscreen.analysis.dose_response.sandwich_covariance`) has its statistic divided by the
ratio of the sandwich's variance of ``e`` to drc's (between 1 and :data:`MAX_SANDWICH_WIDENING`; a
robust, "adjusted" profile likelihood): a fraction's noise is largest mid-curve, where the EC50 is
decided; profile intervals of EC50s under the lowest dose covered 0.92-0.96 without it, 0.94-0.97
with it (4 x 300 curves).

The interval is the hull of the grid points (and the fitted point) inside the set; a limit sits
where the root of the statistic, interpolated between the last point inside and the first outside
and refined by refits there (regula falsi, Illinois), crosses ``q``. An end the profile does not
cross inside the fitting window is open: ``0`` (lower) or ``inf`` (upper). The window's edges are
fitted first: a curve whose edges both lie inside (a flat curve) needs no grid.

Which curves: :func:`needs_profile` (a fitted EC50 outside the tested doses, or a Wald limit more
than :data:`WALD_REACH_DECADES` beyond them or not a positive number); the others keep their Wald
limits to the digit. In simulation (8 doses 3-fold, 3 or 1 wells a dose, 300 curves each; viability
with normal noise and death fractions by LL.4 least squares, complete kills by LL.2), for a true EC50
0-1.5 decades above the top dose, 0.79-0.99 of fitted curves took the profile, coverage of all fitted
curves 0.90-0.99 (Wald 0.85-0.97) and of the profiled ones 0.95-0.99; for a true EC50 0-1 decade under
the lowest dose 0.97-1.0 took it, coverage 0.96-0.99 (Wald 0.80-0.99). No finite lower limit fell
below 1/100 of the lowest dose (Wald: 7-60 % of fitted curves, up to 20 % of active ones above the
doses); an EC50 under the doses is open below (0) on 39-76 % of curves, as the data leave it.
"""

from __future__ import annotations

import numpy as np

from ferroscreen.analysis.fitting import LN10, Bounds, CurveBatch, fit_batch
from ferroscreen.analysis.models import E, ModelSpec

#: Grid step of the profile, in decades of the EC50.
PROFILE_STEP_DECADES = 0.25

#: Refits at the interpolated crossing that sharpen each limit.
PROFILE_REFINE = 4

#: Stopping rules of the profile's refits (:func:`~ferroscreen.analysis.fitting.fit_batch`), looser than
#: the fit's: a limit needs the objective to about 1e-3 of itself (the critical value is ~4 residual
#: variances, 4/df of the RSS); the limits moved by under 0.001 decades and the refits ran up to 30 % faster.
_PROFILE_TOL = {"tol": 1e-6, "stall_tol": 1e-4, "stall_window_tol": 1e-4}

#: Profile fits per chunk (curves x grid points), to bound memory.
_CHUNK = 50_000

#: Largest factor by which a sandwich curve's profile statistic is divided (the sandwich's variance of
#: ``e`` over drc's). Its median was 1 and its 90th percentile 2.5-2.9 on fraction curves under the
#: doses, but a well of leverage near 1 (one well a dose, the EC50 on the window's bound) left the
#: sandwich ratios of 30-250: the demo's FSC-102 ``frac_ferroptosis`` (31) came out open below, 8e-10 M
#: with a cap of 4, 2.0e-7 M with 2. Caps of 2, 3 and 4 gave the same coverage in simulation (profiled
#: fraction curves under the doses 0.935-0.973, 4 x 300 curves; 0.918-0.963 without the widening).
MAX_SANDWICH_WIDENING = 2.0

#: Decades beyond the tested doses that a Wald limit may reach before the profile takes over.
WALD_REACH_DECADES = 2.0


def needs_profile(
    fitted: np.ndarray,
    ec50: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    dose_min: np.ndarray,
    dose_max: np.ndarray,
    reach: float = WALD_REACH_DECADES,
) -> np.ndarray:
    """Curves whose EC50 interval comes from the profile rather than Wald.

    Args:
        fitted: ``(C,)`` curves that got parameters.
        ec50: ``(C,)`` fitted EC50.
        lo: ``(C,)`` Wald lower limit.
        hi: ``(C,)`` Wald upper limit (before any open-top ``inf``).
        dose_min: ``(C,)`` lowest positive tested dose.
        dose_max: ``(C,)`` highest tested dose.
        reach: Decades beyond the tested doses that a Wald limit may reach.

    Returns:
        ``(C,)`` bool: fitted, and the EC50 lies outside ``[dose_min, dose_max]``, or a Wald
        limit lies more than ``reach`` decades beyond it or is not a positive finite number
        (singular information, a negative linear-scale limit).
    """
    span = 10.0**reach
    with np.errstate(invalid="ignore"):
        outside = (ec50 < dose_min * (1 - 1e-9)) | (ec50 > dose_max * (1 + 1e-9))
        far = ~(lo >= dose_min / span) | ~(hi <= dose_max * span)
    return np.asarray(fitted, bool) & np.isfinite(ec50) & (outside | far)


def _profile_fits(
    batch: CurveBatch, spec: ModelSpec, bounds: Bounds, rows: np.ndarray, le: np.ndarray, max_iter: int
) -> np.ndarray:
    """Objective of each curve ``rows[i]`` refitted with ``ln e`` fixed at ``le[i]`` (collapsed data)."""
    out = np.empty(rows.size)
    for start in range(0, rows.size, _CHUNK):
        sl = slice(start, min(rows.size, start + _CHUNK))
        r = rows[sl]
        lower, upper = bounds.lower[r].copy(), bounds.upper[r].copy()
        lower[:, E] = upper[:, E] = le[sl]
        res = fit_batch(batch.take(r), spec, Bounds(lower, upper), max_iter=max_iter, **_PROFILE_TOL)
        out[sl] = res.objective
    return out


def _crossing(le_out, r_out, le_in, r_in):
    """``ln e`` where ``r`` is 0, ``r`` linear between an outside point (``r_out >= 0``) and an inside one.

    ``r`` is the root of the profile statistic less the critical root ``q``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        t = r_out / (r_out - r_in)
    return le_out + np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0) * (le_in - le_out)


def profile_ec50(
    batch: CurveBatch,
    spec: ModelSpec,
    bounds: Bounds,
    rows: np.ndarray,
    *,
    ec50: np.ndarray,
    objective: np.ndarray,
    scale: np.ndarray,
    quantile: np.ndarray,
    step: float = PROFILE_STEP_DECADES,
    refine: int = PROFILE_REFINE,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Profile-likelihood interval of the EC50 (``e``) of the curves ``rows``.

    For models whose EC50 is ``e`` (LL.2, LL.3, LL.4). The interval is the hull of the grid
    points of the fitting window (``bounds``' ``ln e`` range, ``step`` decades apart) where the
    statistic stays below ``quantile^2``, each end moved to the interpolated crossing and
    refined by ``refine`` refits; an end inside the window at the grid's edge is open.

    Args:
        batch: The fitted data.
        spec: The model (least squares or binomial).
        bounds: The fit's bounds (the profile keeps all but ``e``'s).
        rows: ``(C,)`` bool, curves to profile.
        ec50: ``(C,)`` fitted EC50 (``e``), a point of the profile with the fit's objective.
        objective: ``(C,)`` the fit's objective (:func:`~ferroscreen.analysis.fitting.objective`
            on the collapsed data: ``RSS`` less ``pure_ss``, or the negative log-likelihood).
        scale: ``(C,)`` residual variance ``s^2`` (least squares) or the dispersion that scales
            the binomial fit (``max(phi, 1)``, 1 without overdispersion).
        quantile: ``(C,)`` two-sided critical value of the fit's Wald intervals (``t`` or normal).
        step: Grid step in decades.
        refine: Refits at the interpolated crossing per limit.
        max_iter: Levenberg–Marquardt iteration cap of each refit.

    Returns:
        ``(lo, hi)``: ``(C,)`` EC50 limits (molar) for ``rows``, ``0``/``inf`` for an open end,
        NaN elsewhere or where the statistic cannot be formed (no residual df, non-finite scale).
    """
    n = batch.n_curves
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        le_hat = np.log(ec50)
    ok = np.asarray(rows, bool) & np.isfinite(objective) & np.isfinite(scale) & (scale > 0)
    ok &= np.isfinite(quantile) & np.isfinite(le_hat)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return lo, hi
    factor = 2.0 if spec.loss == "binomial" else 1.0
    m = idx.size
    crit = quantile[idx] ** 2
    le_lo, le_hi, le_fit = bounds.lower[idx, E], bounds.upper[idx, E], le_hat[idx]
    # the window's edges first: an edge inside the confidence set leaves that end open whatever lies between
    edges = np.stack([le_lo, le_hi], axis=1)
    obj_edges = _profile_fits(batch, spec, bounds, np.repeat(idx, 2), edges.ravel(), max_iter).reshape(m, 2)
    best = np.fmin(objective[idx], np.min(np.where(np.isfinite(obj_edges), obj_edges, np.inf), axis=1))
    with np.errstate(invalid="ignore"):
        open_edge = factor * (obj_edges - best[:, None]) / scale[idx, None] < crit[:, None]
    # the grid spans what the edges leave undecided: from the fitted EC50 to each edge outside the set
    start, stop = np.where(open_edge[:, 0], le_fit, le_lo), np.where(open_edge[:, 1], le_fit, le_hi)
    count = np.where(stop > start, np.ceil((stop - start) / (step * LN10)).astype(int) + 1, 0)
    grid = np.repeat(le_fit[:, None], max(int(count.max()), 2), axis=1)
    obj = np.repeat(objective[idx, None], grid.shape[1], axis=1)
    if count.any():  # curve i's grid fills the first count[i] columns, the fitted point pads the rest
        row = np.repeat(np.arange(m), count)
        col = np.arange(row.size) - np.repeat(np.cumsum(count) - count, count)
        grid[row, col] = start[row] + (stop - start)[row] * col / (count[row] - 1)
        obj[row, col] = _profile_fits(batch, spec, bounds, idx[row], grid[row, col], max_iter)
    # the edges and the fitted point join the grid, so that the interval always holds the estimate
    grid = np.concatenate([grid, edges, le_fit[:, None]], axis=1)
    obj = np.concatenate([obj, obj_edges, objective[idx, None]], axis=1)
    order = np.argsort(grid, axis=1, kind="stable")
    grid, obj = np.take_along_axis(grid, order, axis=1), np.take_along_axis(obj, order, axis=1)
    g = grid.shape[1]
    best = np.fmin(best, np.min(np.where(np.isfinite(obj), obj, np.inf), axis=1))
    stat = np.where(np.isfinite(obj), factor * (obj - best[:, None]) / scale[idx, None], np.inf)
    inside = stat < crit[:, None]  # the best point at least
    first = np.argmax(inside, axis=1)
    last = g - 1 - np.argmax(inside[:, ::-1], axis=1)
    # both ends at once: rows 0..m-1 the lower limits, m..2m-1 the upper ones
    pos = np.concatenate([first, last])
    out_pos = np.clip(np.concatenate([first - 1, last + 1]), 0, g - 1)
    two = np.tile(np.arange(m), 2)
    open_end = np.concatenate([first == 0, last == g - 1])
    root_crit, best2, scale2 = np.sqrt(crit[two]), best[two], scale[idx][two]

    def root(value, at=slice(None)):
        # the root statistic less its critical value, at most that value: a point far outside (a failed
        # refit: not finite) would pull the interpolated crossing towards itself on a steep profile
        cap = 4 * root_crit[at] ** 2
        return np.sqrt(np.where(np.isfinite(value), np.clip(value, 0.0, cap), cap)) - root_crit[at]

    le_in, r_in = grid[two, pos], root(stat[two, pos])
    le_out, r_out = grid[two, out_pos], root(stat[two, out_pos])
    est = _crossing(le_out, r_out, le_in, r_in)
    kept = np.zeros(2 * m, dtype=int)  # +1: the outside point was kept last round, -1: the inside one
    sel = np.flatnonzero(~open_end)
    for _ in range(refine if sel.size else 0):
        fit_obj = _profile_fits(batch, spec, bounds, idx[two[sel]], est[sel], max_iter)
        r_new = np.full(2 * m, np.nan)
        r_new[sel] = root(factor * (fit_obj - best2[sel]) / scale2[sel], sel)
        outside = r_new >= 0
        step_in, step_out = np.isin(np.arange(2 * m), sel) & ~outside, outside
        # Illinois: a point kept twice in a row counts half, so that the crossing closes in from both sides
        r_in = np.where(step_out & (kept == -1), r_in / 2, r_in)
        r_out = np.where(step_in & (kept == 1), r_out / 2, r_out)
        le_out, r_out = np.where(step_out, est, le_out), np.where(step_out, r_new, r_out)
        le_in, r_in = np.where(step_in, est, le_in), np.where(step_in, r_new, r_in)
        kept = np.where(step_out, -1, np.where(step_in, 1, kept))
        est = _crossing(le_out, r_out, le_in, r_in)
    limit = np.where(open_end, np.concatenate([np.zeros(m), np.full(m, np.inf)]), np.exp(est))
    lo[idx], hi[idx] = limit[:m], limit[m:]
    return lo, hi


def profile_statistic(
    batch: CurveBatch,
    spec: ModelSpec,
    bounds: Bounds,
    rows: np.ndarray,
    *,
    le: np.ndarray,
    objective: np.ndarray,
    scale: np.ndarray,
    max_iter: int = 100,
) -> np.ndarray:
    """The profile statistic of :func:`profile_ec50` at one ``ln e`` per curve.

    Args:
        batch: The fitted data.
        spec: The model (its EC50 is ``e``: LL.2, LL.3, LL.4).
        bounds: The fit's bounds (the refit keeps all but ``e``'s; ``le`` may lie outside them).
        rows: ``(C,)`` bool, curves to refit.
        le: ``(C,)`` the natural-log EC50 at which to refit.
        objective: ``(C,)`` the fit's objective.
        scale: ``(C,)`` the statistic's scale.
        max_iter: Iteration cap of each refit.

    Returns:
        ``(C,)`` the statistic (compare with the square of the critical value; 0 where the refit
        beats the fit), NaN outside ``rows`` or where it cannot be formed.
    """
    out = np.full(batch.n_curves, np.nan)
    ok = np.asarray(rows, bool) & np.isfinite(objective) & np.isfinite(scale) & (scale > 0) & np.isfinite(le)
    idx = np.flatnonzero(ok)
    if idx.size:
        factor = 2.0 if spec.loss == "binomial" else 1.0
        obj = _profile_fits(batch, spec, bounds, idx, le[idx], max_iter)
        with np.errstate(invalid="ignore"):
            out[idx] = np.where(np.isfinite(obj), factor * np.maximum(obj - objective[idx], 0.0) / scale[idx], np.nan)
    return out


def profiled_limits(
    batch: CurveBatch,
    spec: ModelSpec,
    bounds: Bounds,
    *,
    fitted: np.ndarray,
    ec50: np.ndarray,
    wald: tuple[np.ndarray, np.ndarray],
    objective: np.ndarray,
    scale: np.ndarray,
    quantile: np.ndarray,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EC50 limits: the profile's (:func:`profile_ec50`) where :func:`needs_profile` says so, else Wald's.

    Args:
        batch: The fitted data.
        spec: The model.
        bounds: The fit's bounds.
        fitted: ``(C,)`` curves that got parameters.
        ec50: ``(C,)`` fitted EC50.
        wald: ``(lo, hi)`` the Wald limits (before any open-top ``inf``).
        objective: ``(C,)`` the fit's objective, as for :func:`profile_ec50`.
        scale: ``(C,)`` the statistic's scale, as for :func:`profile_ec50`.
        quantile: ``(C,)`` the critical root, as for :func:`profile_ec50`.
        max_iter: Iteration cap of each refit.

    Returns:
        ``(lo, hi, profiled)``: the limits, and the curves whose limits are the profile's (a
        triggered curve whose profile cannot be formed keeps its Wald limits).
    """
    lo, hi = wald
    todo = needs_profile(fitted, ec50, lo, hi, batch.dose_min, batch.dose_max)
    if not np.any(todo):
        return lo, hi, todo
    p_lo, p_hi = profile_ec50(
        batch, spec, bounds, todo, ec50=ec50, objective=objective, scale=scale, quantile=quantile,
        max_iter=max_iter,
    )  # fmt: skip
    done = todo & ~np.isnan(p_lo) & ~np.isnan(p_hi)
    return np.where(done, p_lo, lo), np.where(done, p_hi, hi), done
