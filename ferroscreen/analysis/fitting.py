"""Batched bounded Levenberg–Marquardt fitting of log-logistic curves.

Thousands of curves are fitted at once: the data of every curve are padded
into ``(C, N)`` arrays (one row per curve, one column per distinct dose) and
every Levenberg–Marquardt step solves ``C`` small linear systems in one numpy
call. Replicates at the same dose are collapsed into their mean with the
replicate count as weight, which leaves the least-squares and binomial
objectives unchanged up to a constant (the pure-error sum of squares, kept so
that the residual sum of squares is the one over all observations).

Parameters are optimised internally as ``(b, c, d, ln e, ln f)`` (free ones
only) inside box bounds (:func:`default_bounds`); after convergence they are
reported in natural units. Starting values come from a grid over ``(b, ln e)``
where the plateaus, on which the model is linear, are solved exactly
(variable projection), so the search does not depend on a lucky guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferroscreen.analysis.models import _ZERO_LOGX, B, C, D, E, F, ModelSpec

LN10 = np.log(10.0)


@dataclass
class CurveBatch:
    """Dose-response data of many curves, padded to a rectangle.

    Attributes:
        logx: ``(C, N)`` natural-log doses (0 where the dose is zero or padded).
        zero: ``(C, N)`` True where the dose is zero (a control).
        dose: ``(C, N)`` doses (0 for controls and padding).
        y: ``(C, N)`` mean response at each dose (a fraction for binomial data).
        w: ``(C, N)`` weight of each dose: the replicate count (least squares)
            or the summed totals ``n`` (binomial); 0 marks padding.
        pure_ss: ``(C,)`` within-dose sum of squares of the raw observations.
        n_obs: ``(C,)`` number of raw observations.
        n_doses: ``(C,)`` number of distinct doses (zero included).
        dose_min: ``(C,)`` smallest positive dose (NaN when none).
        dose_max: ``(C,)`` largest dose (NaN when no positive dose).
        obs_curve: ``(M,)`` curve index of each raw observation (input order).
        obs_slot: ``(M,)`` column of each raw observation in the padded arrays.
        obs_y: ``(M,)`` raw responses.
        obs_n: ``(M,)`` raw totals (ones for least squares).
        obs_w: ``(M,)`` least-squares weight of each raw observation (None: all 1).
        count: ``(C, N)`` raw observations at each dose (None: ``w``, the unweighted case).
    """

    logx: np.ndarray
    zero: np.ndarray
    dose: np.ndarray
    y: np.ndarray
    w: np.ndarray
    pure_ss: np.ndarray
    n_obs: np.ndarray
    n_doses: np.ndarray
    dose_min: np.ndarray
    dose_max: np.ndarray
    obs_curve: np.ndarray
    obs_slot: np.ndarray
    obs_y: np.ndarray
    obs_n: np.ndarray
    obs_w: np.ndarray | None = None
    count: np.ndarray | None = None

    @property
    def n_curves(self) -> int:
        """Number of curves ``C``."""
        return self.y.shape[0]

    def take(self, idx: np.ndarray) -> CurveBatch:
        """The sub-batch of curves ``idx`` (raw observations are not carried)."""
        empty = np.zeros(0, dtype=int)
        return CurveBatch(
            self.logx[idx], self.zero[idx], self.dose[idx], self.y[idx], self.w[idx],
            self.pure_ss[idx], self.n_obs[idx], self.n_doses[idx], self.dose_min[idx],
            self.dose_max[idx], empty, empty, np.zeros(0), np.zeros(0),
            None, None if self.count is None else self.count[idx],
        )

    @property
    def counts(self) -> np.ndarray:
        """``(C, N)`` raw observations per dose (``w`` unless observations carry weights)."""
        return self.w if self.count is None else self.count


def build_batch(
    curve: np.ndarray,
    dose: np.ndarray,
    y: np.ndarray,
    n_curves: int,
    totals: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> CurveBatch:
    """Pad long-format observations into a :class:`CurveBatch`.

    Args:
        curve: ``(M,)`` integer curve index of each observation, ``0 <= curve < n_curves``.
        dose: ``(M,)`` non-negative doses.
        y: ``(M,)`` responses (fractions in [0, 1] when ``totals`` is given).
        n_curves: Number of curves; curves without observations get empty rows.
        totals: ``(M,)`` binomial totals, or None for least squares.
        weights: ``(M,)`` least squares only: observation weights (inverse variances up to one
            scale); each dose then holds the weighted mean with the summed weight, and
            ``pure_ss`` is the weighted within-dose sum of squares. None: all 1.
    """
    curve = np.asarray(curve, dtype=np.int64)
    dose = np.asarray(dose, dtype=float)
    y = np.asarray(y, dtype=float)
    n = np.ones_like(y) if totals is None else np.asarray(totals, dtype=float)
    order = np.lexsort((dose, curve))
    cs, ds, ys, ns = curve[order], dose[order], y[order], n[order]
    m = cs.size
    new_group = np.ones(m, dtype=bool)
    if m > 1:
        new_group[1:] = (cs[1:] != cs[:-1]) | (ds[1:] != ds[:-1])
    group = np.cumsum(new_group) - 1
    first = np.flatnonzero(new_group)
    g_curve = cs[first]
    g_dose = ds[first]
    curve_start = np.searchsorted(g_curve, np.arange(n_curves))
    slot_of_group = np.arange(first.size) - curve_start[g_curve]
    width = int(slot_of_group.max()) + 1 if m else 1

    g_count = None
    if totals is None and weights is not None:
        ow = np.asarray(weights, dtype=float)[order]
        g_count = np.bincount(group, minlength=first.size).astype(float)
        g_w = np.bincount(group, weights=ow, minlength=first.size)
        g_y = np.bincount(group, weights=ys * ow, minlength=first.size) / g_w
        resid = ys - g_y[group]
        pure = np.bincount(cs, weights=ow * resid**2, minlength=n_curves)
    elif totals is None:
        g_w = np.bincount(group, minlength=first.size).astype(float)
        g_y = np.bincount(group, weights=ys, minlength=first.size) / g_w
        resid = ys - g_y[group]
        pure = np.bincount(cs, weights=resid**2, minlength=n_curves)
    else:
        g_w = np.bincount(group, weights=ns, minlength=first.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            g_y = np.bincount(group, weights=ys * ns, minlength=first.size) / g_w
        g_y = np.nan_to_num(g_y)
        pure = np.zeros(n_curves)

    shape = (n_curves, width)
    logx = np.zeros(shape)
    zero = np.zeros(shape, dtype=bool)
    dose_pad = np.zeros(shape)
    ybar = np.zeros(shape)
    weight = np.zeros(shape)
    positive = g_dose > 0
    logx[g_curve, slot_of_group] = np.where(positive, np.log(np.where(positive, g_dose, 1.0)), 0.0)
    zero[g_curve, slot_of_group] = ~positive
    dose_pad[g_curve, slot_of_group] = g_dose
    ybar[g_curve, slot_of_group] = g_y
    weight[g_curve, slot_of_group] = g_w
    count = None
    if g_count is not None:
        count = np.zeros(shape)
        count[g_curve, slot_of_group] = g_count

    n_obs = np.bincount(cs, minlength=n_curves)
    n_doses = np.bincount(g_curve, minlength=n_curves)
    pos_dose = np.where(positive, g_dose, np.inf)
    dmin = np.full(n_curves, np.inf)
    np.minimum.at(dmin, g_curve, pos_dose)
    dmax = np.zeros(n_curves)
    np.maximum.at(dmax, g_curve, g_dose)
    no_positive = ~np.isfinite(dmin)
    dmin[no_positive] = np.nan
    dmax[no_positive] = np.nan

    obs_slot = np.empty(m, dtype=np.int64)
    obs_slot[order] = slot_of_group[group]
    return CurveBatch(
        logx, zero, dose_pad, ybar, weight, pure, n_obs, n_doses, dmin, dmax,
        curve, obs_slot, y, n,
        None if weights is None or totals is not None else np.asarray(weights, dtype=float), count,
    )


@dataclass
class Bounds:
    """Box bounds in the internal parameterisation ``(b, c, d, ln e, ln f)``.

    Attributes:
        lower: ``(C, 5)`` lower bounds.
        upper: ``(C, 5)`` upper bounds.
    """

    lower: np.ndarray
    upper: np.ndarray


def default_bounds(
    batch: CurveBatch,
    ec50_window: float = 1.0,
    plateau_bounds: tuple[float, float] | None = None,
    plateau_margin: float = 1.0,
    hill_range: tuple[float, float] = (0.05, 20.0),
    asymmetry_range: tuple[float, float] = (0.05, 20.0),
) -> Bounds:
    """The documented fitting window.

    * ``e`` (the inflection dose / EC50) lies within ``ec50_window`` decades
      below the lowest and above the highest positive tested dose.
    * Plateaus ``c`` and ``d`` lie within ``plateau_margin`` times the span of
      the dose means beyond the lowest and highest dose mean, or inside the
      absolute ``plateau_bounds`` when given (e.g. ``(0, 1)`` for fractions).
    * ``|b|`` lies in ``hill_range``; its sign is fixed per curve by the start
      values (both signs are searched), so a fit never jumps between the two
      zero-dose limits.
    * The LL.5 asymmetry ``f`` lies in ``asymmetry_range``.

    Returns:
        Bounds whose ``b`` columns hold ``(hill_range)``; the sign is applied
        by :func:`fit_batch`.
    """
    n = batch.n_curves
    lower = np.empty((n, 5))
    upper = np.empty((n, 5))
    lower[:, B], upper[:, B] = hill_range
    valid = batch.w > 0
    ymin = np.where(valid, batch.y, np.inf).min(axis=1)
    ymax = np.where(valid, batch.y, -np.inf).max(axis=1)
    if plateau_bounds is not None:
        lower[:, C] = lower[:, D] = plateau_bounds[0]
        upper[:, C] = upper[:, D] = plateau_bounds[1]
    else:
        span = ymax - ymin
        span = np.maximum(span, 1e-6 * np.maximum(np.abs(ymax), np.abs(ymin)) + 1e-12)
        lower[:, C] = lower[:, D] = ymin - plateau_margin * span
        upper[:, C] = upper[:, D] = ymax + plateau_margin * span
    lower[:, E] = np.log(batch.dose_min) - ec50_window * LN10
    upper[:, E] = np.log(batch.dose_max) + ec50_window * LN10
    lower[:, F], upper[:, F] = np.log(asymmetry_range[0]), np.log(asymmetry_range[1])
    return Bounds(lower, upper)


def to_natural(theta: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Internal free parameters ``(C, P)`` -> natural ``(C, 5)`` (``e``, ``f`` exponentiated)."""
    out = np.empty((theta.shape[0], 5))
    for idx, value in spec.fixed.items():
        out[:, idx] = value
    for j, k in enumerate(spec.free):
        out[:, k] = np.exp(theta[:, j]) if k in (E, F) else theta[:, j]
    return out


def to_internal(params: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Natural ``(C, 5)`` -> internal free parameters ``(C, P)``."""
    theta = params[:, list(spec.free)].copy()
    for j, k in enumerate(spec.free):
        if k in (E, F):
            theta[:, j] = np.log(theta[:, j])
    return theta


def _internal_model(theta: np.ndarray, lx: np.ndarray, spec: ModelSpec, with_jac: bool):
    """Model (and Jacobian in internal coordinates) straight from free parameters.

    ``lx`` holds log doses with zero doses already replaced by a very small
    stand-in (see :data:`~ferroscreen.analysis.models._ZERO_LOGX`), so the
    logistic term saturates to the exact zero-dose limit. Derivatives are with
    respect to ``(b, c, d, ln e, ln f)`` (free ones, in ``spec.free`` order).
    """
    cols = {k: theta[:, j, None] for j, k in enumerate(spec.free)}
    b = cols.get(B, spec.fixed.get(B))
    c = cols.get(C, spec.fixed.get(C))
    d = cols.get(D, spec.fixed.get(D))
    le = cols[E]
    fpar = np.exp(cols[F]) if F in cols else None
    z = np.clip(b * (lx - le), -60.0, 60.0)
    t = np.exp(z)
    s = 1.0 / (1.0 + t)
    if fpar is None:
        g = s
    else:
        log_s = -np.log1p(t)
        g = np.exp(fpar * log_s)
    span = d - c
    fval = c + span * g
    if not with_jac:
        return fval, None
    span_dg = -span * g * (t * s)
    if fpar is not None:
        span_dg = span_dg * fpar
    out = []
    for k in spec.free:
        if k == B:
            out.append(span_dg * (lx - le))
        elif k == C:
            out.append(1.0 - g)
        elif k == D:
            out.append(g)
        elif k == E:
            out.append(-span_dg * b)
        else:
            out.append(span * g * log_s * fpar)
    return fval, np.stack(out, axis=-1)


_P_EPS = 1e-10


def objective(fval: np.ndarray, y: np.ndarray, w: np.ndarray, loss: str) -> np.ndarray:
    """Per-curve objective on collapsed data.

    Least squares: ``sum w (y - f)^2`` (add ``pure_ss`` for the full RSS).
    Binomial: the negative log-likelihood ``-sum w (y ln p + (1 - y) ln(1 - p))``.
    """
    if loss == "gaussian":
        return np.sum(w * (y - fval) ** 2, axis=1)
    p = np.clip(fval, _P_EPS, 1.0 - _P_EPS)
    return -np.sum(w * (y * np.log(p) + (1.0 - y) * np.log1p(-p)), axis=1)


_GRID_U = (-0.15, 0.1, 0.3, 0.5, 0.7, 0.9, 1.15)  # positions of e within the tested log range
_GRID_SLOPES = (0.7, 1.5, 4.0)
_GRID_CELLS = 2_000_000  # curves x grid points x doses evaluated per chunk


def _grid_start(batch: CurveBatch, spec: ModelSpec, bounds: Bounds) -> np.ndarray:
    """Best start per curve from a grid over (sign b, |b|, ln e), plateaus solved exactly.

    For every grid point the model is linear in the free plateaus, which are
    found by weighted least squares (clipped to their bounds); the grid point
    with the smallest objective wins. LL.4 needs only ``b > 0``: its plateaus
    absorb the sign of ``b``.
    """
    n = batch.n_curves
    signs = (1.0,) if spec.name == "ll4" else (1.0, -1.0)
    slopes = np.array([sg * sl for sl in _GRID_SLOPES for sg in signs])
    u = np.array(_GRID_U)
    b_grid = np.tile(slopes, u.size)  # (K,)
    u_grid = np.repeat(u, slopes.size)
    k = b_grid.size
    best = np.zeros((n, 5))
    for idx, val in spec.fixed.items():
        best[:, idx] = val
    best[:, F] = 1.0
    chunk = max(1, _GRID_CELLS // max(k * batch.y.shape[1], 1))
    for lo_i in range(0, n, chunk):
        sl = slice(lo_i, min(n, lo_i + chunk))
        lmin = np.log(batch.dose_min[sl])
        lmax = np.log(batch.dose_max[sl])
        span = np.maximum(lmax - lmin, LN10)
        le = np.clip(
            lmin[:, None] + u_grid[None, :] * span[:, None],
            bounds.lower[sl, E, None],
            bounds.upper[sl, E, None],
        )  # (c, K)
        lx = np.where(batch.zero[sl], -1e5, batch.logx[sl])[:, None, :]
        z = np.clip(b_grid[None, :, None] * (lx - le[:, :, None]), -60.0, 60.0)
        g = 1.0 / (1.0 + np.exp(z))  # (c, K, N): the shape with c = 0, d = 1
        w = batch.w[sl][:, None, :]
        y = batch.y[sl][:, None, :]
        if spec.loss == "binomial":
            p = np.clip(g, _P_EPS, 1 - _P_EPS)
            obj = -np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p)), axis=2)
            c = np.zeros(le.shape)
            d = np.ones(le.shape)
        elif C in spec.free:
            wg = w * g
            sw = np.sum(w, axis=2)
            swy = np.sum(w * y, axis=2)
            a22 = np.sum(wg * g, axis=2)
            a12 = np.sum(wg, axis=2) - a22
            a11 = sw - 2 * np.sum(wg, axis=2) + a22
            r2 = np.sum(wg * y, axis=2)
            r1 = swy - r2
            det = a11 * a22 - a12 * a12
            ok = np.abs(det) > 1e-12 * (a11 * a22 + 1e-300)
            safe = np.where(ok, det, 1.0)
            ybar = swy / np.maximum(sw, 1e-300)
            c = np.where(ok, (a22 * r1 - a12 * r2) / safe, ybar)
            d = np.where(ok, (a11 * r2 - a12 * r1) / safe, ybar)
            c = np.clip(c, bounds.lower[sl, C, None], bounds.upper[sl, C, None])
            d = np.clip(d, bounds.lower[sl, D, None], bounds.upper[sl, D, None])
            fval = c[:, :, None] + (d - c)[:, :, None] * g
            obj = np.sum(w * (y - fval) ** 2, axis=2)
        else:
            gg = np.sum(w * g * g, axis=2)
            d = np.sum(w * g * y, axis=2) / np.maximum(gg, 1e-300)
            d = np.clip(d, bounds.lower[sl, D, None], bounds.upper[sl, D, None])
            c = np.zeros(le.shape)
            obj = np.sum(w * (y - d[:, :, None] * g) ** 2, axis=2)
        pick = np.argmin(np.where(np.isfinite(obj), obj, np.inf), axis=1)
        rows = np.arange(pick.size)
        best[sl, B] = b_grid[pick]
        best[sl, E] = np.exp(le[rows, pick])
        if C in spec.free:
            best[sl, C] = c[rows, pick]
        if D in spec.free:
            best[sl, D] = d[rows, pick]
    return best


@dataclass
class FitResult:
    """Outcome of :func:`fit_batch`.

    Attributes:
        params: ``(C, 5)`` natural parameters (NaN rows for curves not fitted).
        objective: ``(C,)`` final objective (collapsed data, see :func:`objective`).
        converged: ``(C,)`` whether the relative objective change fell below tolerance.
        at_bound: ``(C,)`` whether a free parameter ended on a bound.
        n_iter: ``(C,)`` iterations used.
    """

    params: np.ndarray
    objective: np.ndarray
    converged: np.ndarray
    at_bound: np.ndarray
    n_iter: np.ndarray


def fit_batch(
    batch: CurveBatch,
    spec: ModelSpec,
    bounds: Bounds,
    fit_mask: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-9,
    stall_tol: float = 1e-6,
    stall_window_tol: float = 1e-5,
) -> FitResult:
    """Fit ``spec`` to every curve of ``batch`` with a vectorised, box-bounded LM.

    Each iteration solves ``(J'J + lambda diag(J'J)) delta = J'r`` for all
    active curves at once (binomial curves use the Fisher-scoring weights
    ``n / (p (1 - p))``), projects the step onto the bounds and keeps it only
    where the objective decreases; parameters on a bound whose gradient points
    outwards are held fixed for the step (active set). A curve stops when an
    accepted step lowers its objective by less than ``tol`` (relative), when
    three accepted steps in a row (rejected ones aside) each lower it by less
    than ``stall_tol``, when ten iterations together lower it by less than
    ``stall_window_tol``
    (a flat valley, e.g. a step-like curve whose slope grows towards its
    bound while its midpoint wanders between two doses), or when ``lambda``
    exceeds ``1e12``.

    Args:
        batch: The data.
        spec: The model.
        bounds: Box bounds from :func:`default_bounds`.
        fit_mask: ``(C,)`` curves to fit (others get NaN); default all.
        max_iter: Iteration cap.
        tol: Relative objective tolerance.
        stall_tol: Relative decrease below which steps count as crawling.
        stall_window_tol: Relative decrease over ten iterations below which a curve stops.
    """
    n = batch.n_curves
    fit_mask = np.ones(n, dtype=bool) if fit_mask is None else np.asarray(fit_mask, bool)
    out_params = np.full((n, 5), np.nan)
    out_obj = np.full(n, np.nan)
    converged = np.zeros(n, dtype=bool)
    at_bound = np.zeros(n, dtype=bool)
    n_iter = np.zeros(n, dtype=np.int64)
    todo = np.flatnonzero(fit_mask)
    if todo.size == 0:
        return FitResult(out_params, out_obj, converged, at_bound, n_iter)
    sub = batch.take(todo)
    lower = bounds.lower[todo].copy()
    upper = bounds.upper[todo].copy()
    start = _grid_start(sub, spec, Bounds(lower, upper))
    neg = start[:, B] < 0
    lower[neg, B], upper[neg, B] = -bounds.upper[todo][neg, B], -bounds.lower[todo][neg, B]
    free = list(spec.free)
    lo = lower[:, free]
    hi = upper[:, free]
    theta = np.clip(to_internal(start, spec), lo, hi)
    loss = spec.loss
    lx_all = np.where(sub.zero, _ZERO_LOGX, sub.logx)
    fval, _ = _internal_model(theta, lx_all, spec, with_jac=False)
    obj = objective(fval, sub.y, sub.w, loss)
    m = todo.size
    n_free = len(free)
    lam = np.full(m, 1e-3)
    active = np.ones(m, dtype=bool)
    iters = np.zeros(m, dtype=np.int64)
    done = np.zeros(m, dtype=bool)
    slow = np.zeros(m, dtype=np.int64)
    stale = np.ones(m, dtype=bool)  # J'J and J'r need recomputing (theta moved)
    jtj = np.zeros((m, n_free, n_free))
    jtr = np.zeros((m, n_free))
    eye = np.eye(n_free)
    obj_mark = obj.copy()
    for it in range(max_iter):
        if it and it % 10 == 0:
            # less than stall_window_tol improvement over 10 iterations: a flat valley
            gain = (obj_mark - obj) / np.maximum(np.abs(obj_mark), 1e-300)
            flat = active & (gain < stall_window_tol)
            done[flat] = True
            active[flat] = False
            obj_mark = obj.copy()
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        iters[idx] += 1
        need = idx[stale[idx]]
        if need.size:
            ww = sub.w[need]
            f_cur, jac = _internal_model(theta[need], lx_all[need], spec, with_jac=True)
            if loss == "gaussian":
                sw = np.sqrt(ww)
            else:
                p = np.clip(f_cur, _P_EPS, 1.0 - _P_EPS)
                sw = np.sqrt(ww / (p * (1.0 - p)))
            jw = jac * sw[..., None]
            jwt = np.swapaxes(jw, 1, 2)
            jtj[need] = jwt @ jw
            jtr[need] = (jwt @ (sw * (sub.y[need] - f_cur))[..., None])[..., 0]
            stale[need] = False
        th = theta[idx]
        a = jtj[idx]
        grad = jtr[idx]
        lo_i, hi_i = lo[idx], hi[idx]
        # active set: parameters on a bound whose gradient points outwards stay put
        width = 1e-10 * (hi_i - lo_i)
        pinned = ((th <= lo_i + width) & (grad < 0)) | ((th >= hi_i - width) & (grad > 0))
        keep = ~pinned
        a = a * (keep[:, :, None] & keep[:, None, :])
        grad = grad * keep
        diag = np.diagonal(a, axis1=1, axis2=2)
        diag = np.maximum(diag, 1e-12 * diag.max(axis=1, keepdims=True) + 1e-300)
        mat = a + (lam[idx, None] * diag + pinned)[:, :, None] * eye
        step = np.linalg.solve(mat, grad[..., None])[..., 0]
        cand = np.clip(th + step, lo_i, hi_i)
        f_new, _ = _internal_model(cand, lx_all[idx], spec, with_jac=False)
        obj_new = objective(f_new, sub.y[idx], sub.w[idx], loss)
        old = obj[idx]
        better = np.isfinite(obj_new) & (obj_new < old)
        moved = np.any(np.abs(cand - th) > 1e-14 * (1.0 + np.abs(th)), axis=1)
        rel = (old - obj_new) / np.maximum(np.abs(old), 1e-300)
        upd = idx[better]
        theta[upd] = cand[better]
        obj[upd] = obj_new[better]
        stale[upd] = True
        lam[upd] = np.maximum(lam[upd] * 0.2, 1e-12)
        lam[idx[~better]] *= 10.0
        crawl = better & (rel < stall_tol)
        slow[idx] = np.where(crawl, slow[idx] + 1, np.where(better, 0, slow[idx]))
        finished = (better & (rel < tol)) | ~moved | (~better & (lam[idx] > 1e12))
        finished |= slow[idx] >= 3
        finished |= obj_new == 0.0
        done[idx[finished]] = True
        active[idx[finished]] = False
    nat = to_natural(theta, spec)
    span = hi - lo
    on_bound = (np.abs(theta - lo) <= 1e-7 * (span + 1e-12)) | (
        np.abs(theta - hi) <= 1e-7 * (span + 1e-12)
    )
    out_params[todo] = nat
    out_obj[todo] = obj
    converged[todo] = done
    at_bound[todo] = np.any(on_bound, axis=1)
    n_iter[todo] = iters
    return FitResult(out_params, out_obj, converged, at_bound, n_iter)


def normalise_direction(params: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Return LL.4 parameters with ``c <= d`` (drc's usual reading: c lower, d upper).

    ``(b, c, d)`` and ``(-b, d, c)`` describe the same LL.4 curve; other
    models are returned unchanged.
    """
    if spec.name != "ll4":
        return params
    out = params.copy()
    swap = out[:, C] > out[:, D]
    out[swap, C], out[swap, D] = params[swap, D], params[swap, C]
    out[swap, B] = -params[swap, B]
    return out
