"""Times thunor's LL.4 fits on a long dose-response table; run by benchmarks/fit_speed.py.

Runs in thunor's own interpreter (thunor is GPL and not a ferroscreen
dependency): ``/tmp/thunor-venv/bin/python benchmarks/thunor_worker.py DATA.csv``.
Prints one JSON object: seconds for the fitting loop (CSV reading and
grouping excluded) and per-curve EC50 (null when thunor returns no fit).
"""

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from thunor.curve_fit import HillCurveLL4, fit_drc


def main() -> None:
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    data = pd.read_csv(path)
    dose_col = "dose_M" if "dose_M" in data.columns else "dose"
    groups = []
    for name, g in data.groupby("curve", sort=False):
        x = g[dose_col].to_numpy(float)
        y = g["response"].to_numpy(float)
        pos = x > 0  # thunor fits drug doses; controls define the 1.0 normalisation
        groups.append((name, x[pos], y[pos]))
    warnings.simplefilter("ignore")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fits = [fit_drc(x, y, fit_cls=HillCurveLL4) for _, x, y in groups]
        times.append(time.perf_counter() - t0)
    ec50 = {}
    for (name, _, _), fit in zip(groups, fits, strict=True):
        value = None
        if fit is not None and isinstance(fit, HillCurveLL4):
            value = float(fit.ec50)
            value = value if np.isfinite(value) else None
        ec50[name] = value
    print(json.dumps({"seconds": times, "n_curves": len(groups), "ec50": ec50}))


if __name__ == "__main__":
    main()
