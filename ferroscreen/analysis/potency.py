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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ferroscreen.analysis.inputs import AnalysisInputError, confidence_level


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


def potency_ratio(
    fits: pd.DataFrame,
    numerator: str,
    denominator: str,
    readout: str | None = None,
    level: float = 0.95,
) -> pd.Series:
    """EC50 ratio of two curves of a :func:`~ferroscreen.analysis.fit_curves` table.

    Args:
        fits: A fits table (columns ``curve, readout, ec50, ec50_se, df``).
        numerator: Curve whose EC50 is divided (e.g. ``"volasertib + Fer-1"``).
        denominator: Reference curve (e.g. ``"volasertib"``).
        readout: Readout to use when the table has several.
        level: Confidence level, a fraction (0.95).

    Returns:
        A Series with ``numerator, denominator, readout, ratio, log10_ratio,
        ratio_se, delta_lo, delta_hi, log_lo, log_hi, fieller_lo, fieller_hi,
        p_value, df``.
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
        >>> fits = fit_curves(pd.concat([curve("RSL3", 1e-7), curve("RSL3 + Fer-1", 1e-5)]))
        >>> r = potency_ratio(fits, "RSL3 + Fer-1", "RSL3")
        >>> bool(50 < r.ratio < 200), bool(r.fieller_lo > 1)
        (True, True)
    """
    level = confidence_level(level)
    num = _pick(fits, numerator, readout)
    den = _pick(fits, denominator, readout)
    out = ratio_intervals(
        num["ec50"], num["ec50_se"], fit_df(num), den["ec50"], den["ec50_se"], fit_df(den), level
    )
    values = {k: float(v) for k, v in out.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        values["log10_ratio"] = float(np.log10(values["ratio"]))
    return pd.Series(
        {
            "numerator": numerator,
            "denominator": denominator,
            "readout": num["readout"],
            **values,
        }
    )
