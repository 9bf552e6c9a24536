"""EC50 intervals of fraction curves do not narrow as vehicle wells are added at dose 0.

A death fraction near 0 has almost no variance at the vehicle: pooled into the residual
variance, 24 vehicle wells shrank it and added 24 degrees of freedom, and LL.4 EC50
intervals covered the truth about half the time while the EC50 was no better determined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.analysis import fit_curves

DOSES = 1e-5 / np.sqrt(10.0) ** np.arange(8)  # half-log, 10 µM .. 3.2 nM, one well each
EC50, HILL, TOP, CELLS = 3e-8, 1.5, 0.9, 45


def _fractions(seed: int, n: int, vehicle: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = TOP * DOSES**HILL / (DOSES**HILL + EC50**HILL)
    dose = np.concatenate([DOSES, np.zeros(vehicle)])
    frames = []
    for i in range(n):
        k = np.concatenate([rng.binomial(CELLS, p), rng.binomial(CELLS, 0.0, vehicle)])
        frames.append(pd.DataFrame({"curve": f"c{i}", "dose": dose, "response": k / CELLS}))
    return pd.concat(frames, ignore_index=True)


def _coverage(fits: pd.DataFrame) -> float:
    return float(((fits["ec50_lo"] <= EC50) & (EC50 <= fits["ec50_hi"])).mean())


def test_vehicle_wells_do_not_shrink_fraction_ec50_intervals():
    fits = fit_curves(_fractions(3, 60, 24), model="ll4")
    assert _coverage(fits) >= 0.8  # was 0.52
    # the dosed points' own residual variance: 8 - (4 - h0) ~ 5 df, not 32 - 4 = 28
    assert fits["df"].between(4.5, 5.0).all()


def test_width_does_not_depend_on_the_vehicle_count():
    few = fit_curves(_fractions(4, 60, 4), model="ll4")
    many = fit_curves(_fractions(4, 60, 36), model="ll4")
    width = [np.median(np.log10(f["ec50_hi"] / f["ec50_lo"])) for f in (few, many)]
    assert width[1] >= 0.8 * width[0]  # was 0.37 of it


def test_a_homoscedastic_vehicle_keeps_the_pooled_variance():
    # viability-like normal noise: the vehicle is as noisy as the dosed points, drc's pooled s^2 and df stand
    rng = np.random.default_rng(5)
    p = TOP * DOSES**HILL / (DOSES**HILL + EC50**HILL)
    dose = np.concatenate([DOSES, np.zeros(12)])
    tab = pd.concat([pd.DataFrame({"curve": f"c{i}", "dose": dose,
                                   "response": np.concatenate([1 - p, np.ones(12)]) + rng.normal(0, 0.05, 20)})
                     for i in range(60)], ignore_index=True)
    fits = fit_curves(tab, model="ll4")
    assert (fits["df"] == 16).mean() >= 0.85
    assert _coverage(fits) >= 0.9
