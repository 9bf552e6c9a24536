"""Are confusion-corrected well fractions closer to the simulator's truth than raw ones?

Compares, per well × time and class, the three fraction estimates in a scored
plate's ``wells.csv`` (``frac_``: mean calibrated probability; ``share_``:
argmax share; ``corr_``: adjusted classify-and-count with the bundle's
validation confusion matrix, constrained to the simplex) with the true
fractions in the simulated plate's ``truth.json``.

    python benchmarks/correction_accuracy.py WELLS_CSV TRUTH_JSON

e.g. after ``ferroscreen demo --out demo_out``:
``python benchmarks/correction_accuracy.py demo_out/results/wells.csv demo_out/plate/truth.json``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd


def correction_errors(wells: pd.DataFrame, truth: dict) -> dict[str, float]:
    """Mean absolute error of each estimate against truth, over well × time × class."""
    t = pd.DataFrame(truth["timecourses"])
    classes = [c.removeprefix("frac_") for c in t.columns if c.startswith("frac_")]
    m = wells.merge(t, on=["well", "time_h"], suffixes=("", "_true"))
    m = m[m["n_cells"] > 0]
    out = {}
    for prefix in ("frac_", "share_", "corr_"):
        err = [np.abs(m[f"{prefix}{c}"] - m[f"frac_{c}_true"]) for c in classes if f"{prefix}{c}" in m.columns]
        out[prefix.rstrip("_")] = float(np.mean(np.concatenate(err))) if err else float("nan")
    vehicle = m[m["role"] == "vehicle"] if "role" in m.columns else m.iloc[:0]
    for prefix in ("share_", "corr_"):
        dead = [c for c in classes if c != "alive"]
        out[f"vehicle_dead_{prefix.rstrip('_')}"] = float(vehicle[[f"{prefix}{c}" for c in dead]].sum(axis=1).mean())
    out["vehicle_dead_true"] = float(vehicle[[f"frac_{c}_true" for c in classes if c != "alive"]].sum(axis=1).mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wells", type=Path)
    ap.add_argument("truth", type=Path)
    args = ap.parse_args()
    r = correction_errors(pd.read_csv(args.wells), json.loads(args.truth.read_text()))
    print("mean |estimate - truth| over well x time x class:")
    for k in ("frac", "share", "corr"):
        print(f"  {k:<6} {r[k]:.4f}")
    print(f"vehicle wells, dead fraction: argmax share {r['vehicle_dead_share']:.3f}, "
          f"corrected {r['vehicle_dead_corr']:.3f}, true {r['vehicle_dead_true']:.3f}")


if __name__ == "__main__":
    main()
