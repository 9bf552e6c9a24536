"""Symmetrising nuclei counts for their p-values: a power of the fold change set by the counts' scatter.

The log of counts scattered as negative binomial is left-skewed, so a robust z of log fold changes puts too many
null wells in the low tail (:mod:`ferroscreen.analysis.knockdown`, step 3). :func:`count_power` gives the power
that cancels the skewness to first order, from the plate's Poisson excess (:func:`count_excess`) and the scatter's
skew per CV, fitted once per screen (:func:`fit_count_skew`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["COUNT_SKEW_RANGE", "count_excess", "count_power", "fit_count_skew"]


def count_excess(counts: np.ndarray) -> float:
    """``r``: how far the variance of counts of one mean (a plate's sample wells) exceeds Poisson's, over it.

    ``var = mean (1 + r)``; for negative-binomial counts ``r = mean / size``. Read robustly as ``sd² / median - 1``
    with ``sd`` 1.4826 MAD; 0 when below, NaN for counts of no positive median. ``counts`` are nuclei per well, the
    raw count: the Poisson part of the noise is set by it.
    """
    c = np.asarray(counts, dtype=float)
    c = c[np.isfinite(c)]
    m = float(np.median(c)) if c.size else np.nan
    if not m > 0:
        return np.nan
    sd = 1.4826 * float(np.median(np.abs(c - m)))
    return max(sd * sd / m - 1, 0.0)


#: Skewness per CV of the well-to-well scatter of a count's mean that :func:`fit_count_skew` chooses among: 2 is
#: gamma's (negative-binomial counts), 3 log-normal's (at small CV).
COUNT_SKEW_RANGE = (2.0, 3.0)


def count_power(r: float | np.ndarray, skew: float = 2.0) -> float | np.ndarray:
    """The power ``λ`` that makes counts of one mean near symmetric: ``1 - (1 + 3r + skew r²) / (3 (1 + r)²)``.

    Counts are Poisson around a mean scattered from well to well with variance ``r`` times Poisson's
    (:func:`count_excess`) and skewness ``skew`` times its CV. ``x**λ`` cancels the skewness of ``x`` to first
    order (a power ``λ`` adds ``-3 (1 - λ) CV``): 2/3 for Poisson counts (``r = 0``), toward 1/3 for
    negative-binomial ones (``skew`` 2, gamma scatter: ``(2 + r) / (3 (1 + r))``), toward 0, the log, for a
    log-normal scatter (``skew`` 3). The log leaves negative-binomial counts left-skewed (about ``-CV``).
    """
    return 1 - (1 + 3 * r + skew * r * r) / (3 * (1 + r) ** 2)


def fit_count_skew(fold_changes: list[np.ndarray], excess: list[float]) -> float:
    """The skewness per CV (in :data:`COUNT_SKEW_RANGE`) whose :func:`count_power` leaves plates' counts symmetric.

    ``fold_changes``: each plate's sample wells' count fold changes; ``excess``: its :func:`count_excess`. One value
    for a screen: the mean over its plates of Bowley's skewness ``(q75 + q25 - 2 q50) / (q75 - q25)`` of ``fc**λ``
    (hits in the low tail barely move it; a 10-90 % skewness read 5 % strong knockdowns as gamma scatter) is brought
    to 0, at a bound of the range when it cannot be; plates with no finite fold change or excess take no part
    (none left: gamma's, the range's lower end).
    """
    grid = np.linspace(*COUNT_SKEW_RANGE, 21)
    mean = np.zeros(grid.size)
    pairs = [(fc[np.isfinite(fc)], r) for fc, r in zip(fold_changes, excess, strict=True)]
    pairs = [(fc, r) for fc, r in pairs if fc.size and np.isfinite(r)]  # a plate of no reading says nothing
    if not pairs:
        return float(COUNT_SKEW_RANGE[0])
    for fc, r in pairs:
        v = fc[None, :] ** count_power(r, grid)[:, None]
        lo, mid, hi = np.quantile(v, [0.25, 0.5, 0.75], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean += np.nan_to_num((hi + lo - 2 * mid) / (hi - lo)) / len(pairs)
    if mean[0] <= 0:  # left-skewed even at gamma's: the most correction
        return float(grid[0])
    if mean[-1] >= 0:
        return float(grid[-1])
    return float(np.interp(0.0, mean[::-1], grid[::-1]))
