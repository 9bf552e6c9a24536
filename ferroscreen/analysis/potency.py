"""Relative potency of two fitted curves: EC50 ratio with delta and Fieller intervals.

The ratio ``rho = EC50_num / EC50_den`` of two independently fitted curves
(e.g. a compound with ferrostatin-1 over the compound alone) is reported with

* the delta-method interval ``rho ± q · rho · sqrt((se_n/EC50_n)^2 + (se_d/EC50_d)^2)``
  (drc's ``EDcomp(..., interval = "delta")`` form);
* Fieller's interval, the set of ``rho`` with
  ``(EC50_n - rho·EC50_d)^2 <= q^2 (se_n^2 + rho^2 se_d^2)``, which is
  asymmetric like the ratio itself and unbounded (NaN limits) when the
  denominator is not significantly different from 0 (``g = q^2 se_d^2 / EC50_d^2 >= 1``);
* the delta-method interval on the log scale,
  ``rho · exp(± q · sqrt((se_n/EC50_n)^2 + (se_d/EC50_d)^2))``, always positive;
* a Wald p-value for ``rho = 1`` on the log scale.

``q`` is the ``t`` quantile with Welch–Satterthwaite degrees of freedom
combined from the two fits' residual df (normal when a fit has none, as for
binomial fits without overdispersion).

:func:`potency_ratio` uses these Wald intervals only where both EC50s have
Wald intervals themselves (``ec50_ci_method`` ``wald``, both limits finite and
positive). Where either curve's interval is a profile-likelihood one (its EC50
outside the tested doses, where the Wald SE is meaningless), is open (``0`` or
``inf``) or the curve is flagged ``far_plateau_undetermined``, the ratio's
interval comes from the two EC50 intervals, as
:mod:`~ferroscreen.analysis.line_comparison` bounds a pair:
``ratio_lo = ec50_lo(num) / ec50_hi(den)``, ``ratio_hi = ec50_hi(num) / ec50_lo(den)``.
Each EC50 interval misses on each side with probability at most
``(1 - level) / 2``, so each ratio limit holds with confidence at least
``level`` and the pair with at least ``ratio_level = 1 - (1 - level) / 2 · k``,
``k`` the finite EC50 limits used (``2 · level - 1`` when both ratio limits are
finite; an open end misses nothing). No Wald p-value is given there (NaN), and
the Wald columns are NaN. A ratio's limits are never negative: linear-scale
lower limits are truncated at 0 (a ratio of EC50s is positive).

:func:`ec50_bounds` says whether a fitted EC50 is a point estimate or only a bound the data set
(``fits.csv``'s ``ec50_bound``, and what the report writes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ferroscreen.analysis.inputs import AnalysisInputError, confidence_level

#: Decades beyond the tested doses past which the data bound no EC50 limit (the report writes it ``unbounded``).
CI_DECADES = 3
#: Without the tested doses: a limit outside 1 fM-0.1 M is no concentration the data bound.
PLAUSIBLE_MOLAR = (1e-15, 0.1)


def molar_limits(dose_min, dose_max) -> tuple[np.ndarray, np.ndarray]:
    """The molar span a confidence limit must lie in to be bounded by data tested at ``dose_min``-``dose_max``.

    :data:`CI_DECADES` decades below the lowest and above the highest dose, within
    :data:`PLAUSIBLE_MOLAR` (all of it where a dose is unknown: NaN or not positive). Vectorised.
    """
    d0, d1 = np.asarray(dose_min, dtype=float), np.asarray(dose_max, dtype=float)
    floor, ceiling = PLAUSIBLE_MOLAR
    with np.errstate(invalid="ignore"):
        lower = np.where(np.isfinite(d0) & (d0 > 0), np.fmax(floor, d0 / 10**CI_DECADES), floor)
        upper = np.where(np.isfinite(d1) & (d1 > 0), np.fmin(ceiling, d1 * 10**CI_DECADES), ceiling)
    return lower, upper


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(float)


def ec50_bounds(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(bound, value)`` per row of a fits table: the EC50 as the data bound it (``fits.csv``'s ``ec50_bound``).

    An EC50 inside the tested doses (``dose_min``-``dose_max``), its curve not flagged
    ``far_plateau_undetermined``, is a point estimate: ``("", ec50)``. Otherwise the data bound it from one
    side only, by its interval: ``(">", ec50_lo)`` for an EC50 above the doses or an open-topped curve,
    ``("<", ec50_hi)`` for one below them, each held to the tested doses (``> dose_max`` where ``ec50_lo``
    lies above the top dose: the data do not speak beyond it); ``("?", nan)``, not determined, where that
    limit is open too (``0``, infinite, NaN, or beyond :func:`molar_limits`), or a flagged curve has no
    interval. An EC50 beyond the doses without an interval (both limits NaN) is held to the nearest tested
    dose: ``(">", dose_max)`` or ``("<", dose_min)``. A NaN EC50 (a curve not fitted) is ``("", nan)``.

    Reads ``ec50, ec50_lo, ec50_hi, dose_min, dose_max, flags`` (a missing column reads as NaN or no
    flags; a ``fits.csv`` read back gives what :func:`~ferroscreen.analysis.fit_curves` wrote), never a
    stated ``ec50_bound``. The report's EC50 text follows the same rule.

    Returns:
        ``bound``: object array of ``""``, ``">"``, ``"<"`` or ``"?"``; ``value``: float array, the point
        estimate or the bound (NaN for ``"?"``).
    """
    ec50 = _column(table, "ec50")
    lo, hi = _column(table, "ec50_lo"), _column(table, "ec50_hi")
    d0, d1 = _column(table, "dose_min"), _column(table, "dose_max")
    flags = table["flags"] if "flags" in table.columns else pd.Series("", index=table.index)
    open_top = np.array(["far_plateau_undetermined" in str(f).split(";") for f in flags.fillna("")], dtype=bool)
    with np.errstate(invalid="ignore"):
        below = ec50 < d0
        above = ~below & (ec50 > d1)
    no_interval = np.isnan(lo) & np.isnan(hi)
    floor, ceiling = molar_limits(d0, d1)

    def bounded(limit: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.isfinite(limit) & (limit > 0) & (floor <= limit) & (limit <= ceiling)

    lower_held = np.where(np.isfinite(d1), np.fmin(lo, d1), lo)
    upper_held = np.where(np.isfinite(d0), np.fmax(hi, d0), hi)
    bound = np.full(len(table), "", dtype=object)
    value = ec50.copy()
    side_lower = (above | open_top) & ~below
    for sel, sign, ok, held in ((below, "<", bounded(hi), upper_held), (side_lower, ">", bounded(lo), lower_held)):
        bound[sel & ok & ~no_interval] = sign
        value[sel & ok & ~no_interval] = held[sel & ok & ~no_interval]
        bound[sel & (~ok | no_interval)] = "?"
        value[sel & (~ok | no_interval)] = np.nan
    # beyond the doses without an interval: held to the nearest tested dose
    bound[below & no_interval], value[below & no_interval] = "<", d0[below & no_interval]
    bound[above & no_interval], value[above & no_interval] = ">", d1[above & no_interval]
    return bound, value


def ratio_intervals(a, se_a, df_a, b, se_b, df_b, level: float = 0.95) -> dict[str, np.ndarray]:
    """Vectorised ratio ``a / b`` of independent estimates with delta and Fieller intervals.

    Args:
        a: Numerator estimates.
        se_a: Their standard errors.
        df_a: Their residual degrees of freedom (``inf`` for normal theory).
        b: Denominator estimates.
        se_b: Their standard errors.
        df_b: Their residual degrees of freedom.
        level: Confidence level.

    Returns:
        Arrays ``ratio, ratio_se, delta_lo, delta_hi, log_lo, log_hi,
        fieller_lo, fieller_hi, p_value, df`` (``log_*``: the delta-method
        interval of ``log(ratio)``, exponentiated; always positive).

    Raises:
        AnalysisInputError: ``level`` is not a fraction in (0, 1).
    """
    level = confidence_level(level)
    a, se_a, df_a, b, se_b, df_b = (
        np.asarray(v, dtype=float) for v in (a, se_a, df_a, b, se_b, df_b)
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = a / b
        ra, rb = (se_a / a) ** 2, (se_b / b) ** 2
        df = (ra + rb) ** 2 / (ra**2 / df_a + rb**2 / df_b)
        df = np.where(np.isfinite(df), df, np.inf)
        q = stats.t.ppf(0.5 + level / 2, df)
        rel = np.sqrt(ra + rb)
        ratio_se = np.abs(ratio) * rel
        delta_lo = ratio - q * ratio_se
        delta_hi = ratio + q * ratio_se
        log_lo = ratio * np.exp(-q * rel)
        log_hi = ratio * np.exp(q * rel)
        va, vb = se_a**2, se_b**2
        denom = b**2 - q**2 * vb
        disc = a**2 * vb + b**2 * va - q**2 * va * vb
        bounded = (denom > 0) & (disc >= 0)
        root = q * np.sqrt(np.where(bounded, disc, 0.0))
        f1 = (a * b - root) / denom
        f2 = (a * b + root) / denom
        fieller_lo = np.where(bounded, np.minimum(f1, f2), np.nan)
        fieller_hi = np.where(bounded, np.maximum(f1, f2), np.nan)
        z = np.log(np.abs(ratio)) / rel
        p_value = 2 * stats.t.sf(np.abs(z), df)
    return {
        "ratio": ratio,
        "ratio_se": ratio_se,
        "delta_lo": delta_lo,
        "delta_hi": delta_hi,
        "log_lo": log_lo,
        "log_hi": log_hi,
        "fieller_lo": fieller_lo,
        "fieller_hi": fieller_hi,
        "p_value": p_value,
        "df": df,
    }


def fit_df(row: pd.Series) -> float:
    """Residual df of a fits row for its EC50's t interval (``inf``: normal theory)."""
    df = float(row.get("df", np.nan))
    # binomial fits without overdispersion use normal theory
    if row.get("model") == "ll2" and float(row.get("rse", 1.0) or 1.0) <= 1.0:
        return np.inf
    return df if np.isfinite(df) and df > 0 else np.inf


def _pick(fits: pd.DataFrame, curve: str, readout: str | None) -> pd.Series:
    rows = fits[fits["curve"].astype(str) == str(curve)]
    if readout is not None:
        rows = rows[rows["readout"].astype(str) == str(readout)]
    if rows.empty:
        where = f" for readout '{readout}'" if readout is not None else ""
        raise AnalysisInputError(f"fits: no curve named '{curve}'{where}")
    if len(rows) > 1:
        raise AnalysisInputError(
            f"fits: curve '{curve}' has {len(rows)} rows; name the readout "
            f"(one of {', '.join(map(str, rows['readout'].unique()))})"
        )
    return rows.iloc[0]


#: Columns of :func:`potency_ratio`'s Series, in order.
RATIO_COLUMNS = [
    "numerator", "denominator", "readout", "ratio", "log10_ratio", "ratio_lo", "ratio_hi", "ratio_level",
    "ci_method", "ratio_se", "delta_lo", "delta_hi", "log_lo", "log_hi", "fieller_lo", "fieller_hi", "p_value",
    "df", "note",
]
_WALD_COLUMNS = ("ratio_se", "delta_lo", "delta_hi", "log_lo", "log_hi", "fieller_lo", "fieller_hi", "p_value", "df")


def _flag_set(row: pd.Series) -> set[str]:
    return {f for f in str(row.get("flags", "") or "").split(";") if f}


def _not_reportable(row: pd.Series) -> str:
    """Why the curve's EC50 is no potency ("" when it is one): not active, or not ``ec50_reportable``."""
    name = row["curve"]
    call = row.get("call", "active")
    call = "active" if call is None or (isinstance(call, float) and np.isnan(call)) else str(call)
    if call != "active":
        return f"'{name}' is called {call}: its EC50 is no potency"
    reportable = row.get("ec50_reportable", True)
    if isinstance(reportable, str):
        reportable = reportable.strip().lower() not in ("false", "0", "no")
    elif isinstance(reportable, float) and np.isnan(reportable):
        reportable = True  # unknown: the call decides
    if not bool(reportable):
        return f"'{name}' has no reportable EC50 (ec50_reportable False)"
    ec50 = float(row.get("ec50", np.nan))
    if not (np.isfinite(ec50) and ec50 > 0):
        return f"'{name}' has no EC50"
    return ""


def not_wald_reason(row: pd.Series) -> str:
    """Why the curve's EC50 interval is no Wald interval ("" when it is one)."""
    lo, hi = float(row.get("ec50_lo", np.nan)), float(row.get("ec50_hi", np.nan))
    if "far_plateau_undetermined" in _flag_set(row):
        return "EC50 bounded from below only (far plateau undetermined)"
    if str(row.get("ec50_ci_method", "") or "") == "profile":
        return "EC50 interval by profile likelihood (not bracketed by the doses)"
    if lo == 0 or hi == np.inf:
        return "EC50 interval open"
    return ""


def interval_ratio(num: pd.Series, den: pd.Series, level: float) -> dict[str, float]:
    """``ratio_lo, ratio_hi, ratio_level`` from the two EC50 intervals (module doc; NaN limits read as open)."""

    def limits(row: pd.Series) -> tuple[float, float]:
        lo, hi = float(row.get("ec50_lo", np.nan)), float(row.get("ec50_hi", np.nan))
        return (np.float64(lo if np.isfinite(lo) and lo > 0 else 0.0),
                np.float64(hi if np.isfinite(hi) and hi > 0 else np.inf))  # numpy: x / 0 is inf, not an error

    (lo_n, hi_n), (lo_d, hi_d) = limits(num), limits(den)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = lo_n / hi_d, hi_n / lo_d
    used = 2 * int(lo > 0) + 2 * int(np.isfinite(hi))  # the finite EC50 limits the finite ratio limits rest on
    return {"ratio_lo": float(lo), "ratio_hi": float(hi), "ratio_level": float(1 - (1 - level) / 2 * used)}


def potency_ratio(
    fits: pd.DataFrame,
    numerator: str,
    denominator: str,
    readout: str | None = None,
    level: float = 0.95,
) -> pd.Series:
    """EC50 ratio of two curves of a :func:`~ferroscreen.analysis.fit_curves` table.

    Args:
        fits: A fits table (columns ``curve, readout, ec50, ec50_se, df``; and where
            :func:`~ferroscreen.analysis.fit_curves` writes them ``call, ec50_reportable,
            ec50_lo, ec50_hi, ec50_ci_method, flags``, which choose the interval).
        numerator: Curve whose EC50 is divided (e.g. ``"volasertib + Fer-1"``).
        denominator: Reference curve (e.g. ``"volasertib"``).
        readout: Readout to use when the table has several.
        level: Confidence level, a fraction (0.95); where the ratio's interval comes
            from the EC50 intervals (module doc), the level those were fitted at.

    Returns:
        A Series with :data:`RATIO_COLUMNS`: ``numerator, denominator, readout, ratio,
        log10_ratio``; ``ratio_lo, ratio_hi`` the ratio's interval (never negative; ``inf``
        where open) and ``ratio_level`` its coverage; ``ci_method`` ``wald`` (then
        ``ratio_lo``/``ratio_hi`` are ``log_lo``/``log_hi``, ``ratio_level`` is ``level``),
        ``intervals`` (from the EC50 intervals: the Wald columns and ``p_value`` NaN) or ``""``;
        the Wald columns ``ratio_se, delta_lo, delta_hi, log_lo, log_hi, fieller_lo,
        fieller_hi, p_value, df``; and ``note``, why the ratio is NaN or its interval not Wald.
        A curve not called ``active`` (or not ``ec50_reportable``) has no potency: the
        ratio and its limits are NaN, ``note`` says which curve.
        A ratio above 1 means the numerator curve is less potent (shifted right).

    Raises:
        AnalysisInputError: If a curve is missing or ambiguous, or ``level`` is not a fraction in (0, 1).

    Example:
        >>> import numpy as np, pandas as pd
        >>> from ferroscreen.analysis import fit_curves, potency_ratio
        >>> dose = np.repeat([0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4], 3)
        >>> rng = np.random.default_rng(1)
        >>> def curve(name, ec50):
        ...     frac = 0.05 + 0.85 / (1 + (ec50 / np.maximum(dose, 1e-30)))
        ...     return pd.DataFrame({"curve": name, "dose": dose,
        ...                          "response": frac + rng.normal(0, 0.02, dose.size)})
        >>> fits = fit_curves(pd.concat([curve("RSL3", 1e-7), curve("RSL3 + Fer-1", 1e-6)]))
        >>> r = potency_ratio(fits, "RSL3 + Fer-1", "RSL3")
        >>> bool(5 < r.ratio < 20), bool(r.fieller_lo > 1), r.ci_method
        (True, True, 'wald')
    """
    level = confidence_level(level)
    num = _pick(fits, numerator, readout)
    den = _pick(fits, denominator, readout)
    values: dict = dict.fromkeys(RATIO_COLUMNS, np.nan)
    values.update(numerator=numerator, denominator=denominator, readout=num.get("readout", ""),
                  ci_method="", note="")
    why = "; ".join(w for w in (_not_reportable(num), _not_reportable(den)) if w)
    if why:
        values["note"] = f"no ratio: {why}"
        return pd.Series(values)[RATIO_COLUMNS]
    with np.errstate(divide="ignore", invalid="ignore"):
        values["ratio"] = float(num["ec50"]) / float(den["ec50"])
        values["log10_ratio"] = float(np.log10(values["ratio"]))
    open_ = [f"'{row['curve']}': {w}" for row in (num, den) if (w := not_wald_reason(row))]
    if open_:
        values.update(interval_ratio(num, den, level), ci_method="intervals")
        values["note"] = (f"{'; '.join(open_)}: the ratio's interval comes from the two EC50 intervals, "
                          f"not their Wald SEs (no p-value)")
        return pd.Series(values)[RATIO_COLUMNS]
    out = ratio_intervals(
        num["ec50"], num["ec50_se"], fit_df(num), den["ec50"], den["ec50_se"], fit_df(den), level
    )
    values.update({k: float(out[k]) for k in _WALD_COLUMNS})
    for col in ("delta_lo", "fieller_lo"):  # a ratio of EC50s is positive
        values[col] = max(values[col], 0.0) if np.isfinite(values[col]) else values[col]
    values.update(ratio_lo=values["log_lo"], ratio_hi=values["log_hi"], ratio_level=level, ci_method="wald")
    return pd.Series(values)[RATIO_COLUMNS]
