"""Synthetic dose-response curves with known truth, and how well the fits recover it.

:func:`simulate_curves` draws LL.4 curves (rising death fractions with
Gaussian noise, triplicates, vehicle controls at zero dose) and flat curves
(no effect); :func:`recovery_summary` compares a fits table with the truth:
median absolute log10 EC50 error, coverage of the EC50 confidence intervals
and the rate of ``active`` calls on flat curves (after the FDR).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Default design: 9 half-log doses from 1 nM to 10 µM plus zero-dose controls.
DEFAULT_DOSES = tuple(10.0 ** np.arange(-9.0, -4.9, 0.5))


def simulate_curves(
    n_active: int = 600,
    n_flat: int = 500,
    doses: tuple[float, ...] = DEFAULT_DOSES,
    replicates: int = 3,
    n_controls: int = 3,
    noise_sd: float = 0.05,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw a tidy table of synthetic curves and their truth.

    Active curves: ``log10 EC50 ~ U(log10 dose_2, log10 dose_-2)`` (inside the
    tested range, one dose step in from each end), ``|hill| ~ U(0.7, 2.5)``
    (rising, drc sign negative), bottom ``~ U(0, 0.1)``, top ``~ U(0.5, 0.95)``.
    Flat curves: a constant ``~ U(0.02, 0.3)``. Noise is Gaussian with
    ``noise_sd``.

    Returns:
        ``(table, truth)``: the tidy ``curve, dose, response`` table and one
        row per curve with ``curve, active, ec50, hill, bottom, top``.
    """
    rng = np.random.default_rng(seed)
    doses = np.asarray(doses, float)
    lo, hi = np.log10(doses[1]), np.log10(doses[-2])
    n = n_active + n_flat
    active = np.arange(n) < n_active
    log_ec50 = rng.uniform(lo, hi, n)
    hill = -rng.uniform(0.7, 2.5, n)
    bottom = rng.uniform(0.0, 0.1, n)
    top = rng.uniform(0.5, 0.95, n)
    flat_level = rng.uniform(0.02, 0.3, n)
    design = np.concatenate([np.zeros(n_controls), np.repeat(doses, replicates)])
    x = np.broadcast_to(design, (n, design.size))
    with np.errstate(divide="ignore"):
        logx = np.log(np.where(x > 0, x, 1.0))
    z = hill[:, None] * (logx - np.log(10.0 ** log_ec50)[:, None])
    mean_active = bottom[:, None] + (top - bottom)[:, None] / (1 + np.exp(z))
    mean_active = np.where(x > 0, mean_active, bottom[:, None])
    mean = np.where(active[:, None], mean_active, flat_level[:, None])
    y = mean + rng.normal(0.0, noise_sd, mean.shape)
    names = np.array([f"sim{i:05d}" for i in range(n)])
    table = pd.DataFrame(
        {"curve": np.repeat(names, design.size), "dose": x.ravel(), "response": y.ravel()}
    )
    truth = pd.DataFrame(
        {
            "curve": names,
            "active": active,
            "ec50": np.where(active, 10.0**log_ec50, np.nan),
            "hill": np.where(active, hill, np.nan),
            "bottom": np.where(active, bottom, flat_level),
            "top": np.where(active, top, flat_level),
        }
    )
    return table, truth


def recovery_summary(fits: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Compare fits with the truth of :func:`simulate_curves`.

    Returns:
        ``median_abs_log10_ec50_error`` (active curves), ``ec50_ci_coverage``
        (share of active curves whose EC50 interval holds the truth; curves
        without a finite interval count as misses), ``false_active_rate``
        (flat curves called active), ``true_active_rate`` (active curves
        called active), and the counts.
    """
    m = truth.merge(fits, on="curve", suffixes=("_true", ""))
    act = m[m["active"]]
    flat = m[~m["active"]]
    err = np.abs(np.log10(act["ec50"]) - np.log10(act["ec50_true"]))
    covered = (act["ec50_lo"] <= act["ec50_true"]) & (act["ec50_true"] <= act["ec50_hi"])
    return {
        "n_active": int(len(act)),
        "n_flat": int(len(flat)),
        "median_abs_log10_ec50_error": float(np.nanmedian(err)),
        "ec50_ci_coverage": float(covered.mean()),
        "false_active_rate": float((flat["call"] == "active").mean()),
        "true_active_rate": float((act["call"] == "active").mean()),
    }
