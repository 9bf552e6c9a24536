"""Log-logistic dose-response models (drc's LL.2/LL.3/LL.4/LL.5) and their derivatives.

All models share drc's five-parameter form, evaluated in natural units::

    f(x) = c + (d - c) / (1 + exp(b * (ln x - ln e))) ** f

with ``b`` the slope (drc sign: ``b > 0`` means the response falls from ``d``
at zero dose towards ``c`` at high dose; ``b < 0`` means it rises from ``c``
towards ``d``), ``c`` and ``d`` the two plateaus, ``e`` the inflection dose
(the EC50 for the symmetric models) and ``f`` the asymmetry (1 except in LL.5).
The models differ only in which of the five parameters are free:

========  ===============  =======================  ===========
model     free             fixed                    loss
========  ===============  =======================  ===========
``ll4``   b, c, d, e       f = 1                    least squares
``ll3``   b, d, e          c = 0, f = 1             least squares
``ll5``   b, c, d, e, f    (none)                   least squares
``ll2``   b, e             c = 0, d = 1, f = 1      binomial
========  ===============  =======================  ===========

A zero dose is the model's limit ``x -> 0`` (``d`` when ``b > 0``, ``c`` when
``b < 0``), never ``log(0)``. Every function here works on batches: parameters
are ``(C, 5)`` arrays (one row per curve) and doses ``(C, N)`` arrays of
natural-log doses with a boolean mask of zero doses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferroscreen.analysis.inputs import AnalysisInputError

#: Order of the columns of every parameter array.
PARAM_NAMES = ("b", "c", "d", "e", "f")
B, C, D, E, F = range(5)


@dataclass(frozen=True)
class ModelSpec:
    """Which parameters of the five-parameter form a model estimates.

    Attributes:
        name: ``ll2``, ``ll3``, ``ll4`` or ``ll5``.
        free: Indices (into :data:`PARAM_NAMES`) of the estimated parameters.
        fixed: Values of the parameters that are not estimated.
        loss: ``"gaussian"`` (least squares) or ``"binomial"`` (fractions
            with totals).
        drc_name: The name drc gives the model.
    """

    name: str
    free: tuple[int, ...]
    fixed: dict[int, float]
    loss: str
    drc_name: str

    @property
    def n_params(self) -> int:
        """Number of estimated parameters."""
        return len(self.free)

    def full(self, free_values: np.ndarray) -> np.ndarray:
        """Expand ``(C, n_params)`` free values to ``(C, 5)`` natural parameters."""
        out = np.empty((free_values.shape[0], 5))
        for idx, value in self.fixed.items():
            out[:, idx] = value
        out[:, list(self.free)] = free_values
        return out


MODELS: dict[str, ModelSpec] = {
    "ll4": ModelSpec("ll4", (B, C, D, E), {F: 1.0}, "gaussian", "LL.4"),
    "ll3": ModelSpec("ll3", (B, D, E), {C: 0.0, F: 1.0}, "gaussian", "LL.3"),
    "ll5": ModelSpec("ll5", (B, C, D, E, F), {}, "gaussian", "LL.5"),
    "ll2": ModelSpec("ll2", (B, E), {C: 0.0, D: 1.0, F: 1.0}, "binomial", "LL.2"),
}


#: LL.4 with the binomial loss: not offered for fitting (its SEs would ignore the overdispersion of
#: wells), only the alternative that ``ll2_misfit`` weighs an LL.2 fit against
#: (:func:`~ferroscreen.analysis.curve_flags.ll2_misfit`).
LL4_BINOMIAL = ModelSpec("ll4_binomial", (B, C, D, E), {F: 1.0}, "binomial", "LL.4 (binomial)")


def get_model(name: str) -> ModelSpec:
    """Return the :class:`ModelSpec` called ``name`` (case-insensitive, ``LL.4`` accepted).

    Raises:
        AnalysisInputError: If the model is unknown, naming the known ones (a ``ValueError`` too).
    """
    key = str(name).lower().replace(".", "")
    if key not in MODELS:
        raise AnalysisInputError(f"unknown model '{name}'; expected one of {', '.join(MODELS)}")
    return MODELS[key]


#: Stand-in log dose for zero doses: with ``|b| >= 0.005`` the logistic term
#: saturates (|z| is clipped at 60), giving the exact zero-dose limit and
#: derivatives of order ``exp(-60)``.
_ZERO_LOGX = -1e5
_Z_CLIP = 60.0


def _shape_terms(params: np.ndarray, logx: np.ndarray, zero: np.ndarray):
    """Common pieces ``s = 1/(1+t)``, ``1-s``, ``ln s`` and ``g = s**f`` with ``t = exp(z)``.

    ``ln s`` is None when every ``f`` is 1 (then ``g = s``).
    """
    b = params[:, B, None]
    le = np.log(params[:, E, None])
    lx = np.where(zero, _ZERO_LOGX, logx)
    z = np.clip(b * (lx - le), -_Z_CLIP, _Z_CLIP)
    t = np.exp(z)
    s = 1.0 / (1.0 + t)
    one_minus_s = t * s
    fpar = params[:, F, None]
    if np.all(fpar == 1.0):
        return s, one_minus_s, None, s, lx
    log_s = -np.log1p(t)
    g = np.exp(fpar * log_s)
    return s, one_minus_s, log_s, g, lx


def response(params: np.ndarray, logx: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Model values ``(C, N)`` for natural parameters ``(C, 5)`` at log doses ``(C, N)``.

    Args:
        params: Natural parameters ``b, c, d, e, f`` per curve.
        logx: Natural-log doses (any finite value where ``zero`` is true).
        zero: True where the dose is zero (the control limit is used).
    """
    g = _shape_terms(params, logx, zero)[3]
    c = params[:, C, None]
    d = params[:, D, None]
    return c + (d - c) * g


def jacobian(params: np.ndarray, logx: np.ndarray, zero: np.ndarray, with_f: bool = True):
    """Model values and derivatives with respect to all five natural parameters.

    Args:
        params: Natural parameters ``(C, 5)``.
        logx: Natural-log doses ``(C, N)``.
        zero: Zero-dose mask ``(C, N)``.
        with_f: Compute the derivative with respect to ``f`` (else it is left 0).

    Returns:
        ``(f, J)`` with ``f`` of shape ``(C, N)`` and ``J`` of shape
        ``(C, N, 5)``, ``J[..., k] = df/dparam_k`` in natural units (``e`` and
        ``f`` themselves, not their logs). At zero doses the derivatives with
        respect to ``b``, ``e`` and ``f`` are their limits, 0.
    """
    _, one_minus_s, log_s, g, lx = _shape_terms(params, logx, zero)
    b = params[:, B, None]
    c = params[:, C, None]
    d = params[:, D, None]
    e = params[:, E, None]
    fpar = params[:, F, None]
    span = d - c
    # dg/dz with z = b (ln x - ln e):  g = s^f, ds/dz = -s (1 - s)
    dg_dz = -fpar * g * one_minus_s
    span_dg = span * dg_dz
    jac = np.empty(logx.shape + (5,))
    jac[..., B] = span_dg * (lx - np.log(e))
    jac[..., C] = 1.0 - g
    jac[..., D] = g
    jac[..., E] = span_dg * (-b / e)
    if not with_f:
        jac[..., F] = 0.0
    elif log_s is None:
        jac[..., F] = span * g * -np.log1p(one_minus_s / g)
    else:
        jac[..., F] = span * g * log_s
    return c + span * g, jac


def hessian(
    params: np.ndarray,
    logx: np.ndarray,
    zero: np.ndarray,
    free: tuple[int, ...] = (B, C, D, E, F),
    rel_step: float = 1e-4,
):
    """Second derivatives of the model with respect to the natural parameters.

    Central differences of the analytic :func:`jacobian`. The model is linear
    in ``c`` and ``d``, so those columns are exact; for ``b``, ``e`` and
    ``f`` the relative step ``rel_step`` gives a relative error near
    ``rel_step**2``.

    Returns:
        ``(C, N, 5, 5)`` array ``d2f / dparam_j dparam_k`` (symmetrised) for
        ``j, k`` in ``free``; other entries are 0.
    """
    n_curves = params.shape[0]
    hess = np.zeros(logx.shape + (5, 5))
    with_f = F in free
    for k in free:
        scale = np.abs(params[:, k])
        if k in (C, D):
            scale = np.maximum(scale, 1.0)
        elif k == E:  # a dose in molar, fitted on its log: always > 0, a pM EC50 as well as a mM one
            scale = np.maximum(scale, np.finfo(float).tiny)
        else:
            scale = np.maximum(scale, 1e-8)
        h = rel_step * scale
        up = params.copy()
        down = params.copy()
        up[np.arange(n_curves), k] += h
        down[np.arange(n_curves), k] -= h
        _, j_up = jacobian(up, logx, zero, with_f)
        _, j_down = jacobian(down, logx, zero, with_f)
        hess[..., k, :] = (j_up - j_down) / (2.0 * h[:, None, None])
    return 0.5 * (hess + np.swapaxes(hess, -1, -2))


def effective_dose(params: np.ndarray, percent: float | np.ndarray) -> np.ndarray:
    """Dose giving ``percent`` % of the effect, counted from the zero-dose level.

    ``ED50`` is ``e`` for LL.2/3/4. ``ED10`` is always below ``ED90``: the
    effect is measured from the control (zero-dose) plateau towards the
    high-dose plateau whatever the sign of ``b``. For ``b > 0`` this equals
    drc's ``ED(type = "relative")``; for ``b < 0`` drc's relative ``ED10``
    corresponds to ferroscreen's ``ED90``.

    Args:
        params: ``(C, 5)`` natural parameters.
        percent: Effect level in percent (0 < percent < 100), scalar or ``(C,)``.

    Returns:
        ``(C,)`` doses (NaN for ``b == 0``).
    """
    p = np.asarray(percent, dtype=float) / 100.0
    b = params[:, B]
    e = params[:, E]
    fpar = params[:, F]
    # fraction of effect at x:  b > 0: 1 - (1+t)^-f ; b < 0: (1+t)^-f, t = (x/e)^b
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(b > 0, (1.0 - p) ** (-1.0 / fpar) - 1.0, p ** (-1.0 / fpar) - 1.0)
        dose = e * t ** (1.0 / b)
    return np.where(b == 0, np.nan, dose)
