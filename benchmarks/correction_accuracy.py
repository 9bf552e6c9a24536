"""Are confusion-corrected well fractions closer to the simulator's truth than raw ones?

Compares, per well x time and class, the three fraction estimates of a scored
simulated plate (``pmean_``: mean calibrated probability; ``share_``: argmax
share, what the wells table's ``frac_`` holds by default; ``corr_``: adjusted
classify-and-count with the store's confusion matrix, constrained to the
simplex) with two truths:

1. **cells the detector found**: the true classes of the detections that match
   a simulated cell (centre within its radius). This is what classify-and-count
   estimates and what its correction can fix: the classifier's errors.
2. **every simulated cell** (``truth.json`` time courses), which also carries
   the detector's biases (faded dead cells it misses, debris it adds); no
   confusion matrix of the classifier can undo those.

Also prints the dead fraction read in vehicle wells (the "5 % false
ferroptosis in every vehicle well" bias) by each estimate.

    python benchmarks/correction_accuracy.py PLATE.h5 PLATE_DIR [--min-cells 20]

PLATE_DIR is the ``ferroscreen simulate`` folder that was scored (``truth.json``,
``truth_cells.csv``). Score it with the bundle's own confusion, then with a
confusion measured on another annotated plate, and compare::

    ferroscreen evaluate OTHER_PLATE --model model.pt --json > confusion.json
    ferroscreen score PLATE_DIR/images --model model.pt --out plate.h5 --confusion confusion.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

ESTIMATES = ("pmean", "share", "corr")


def detected_truth(store_path: Path, truth_cells: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Per well x time: matched detections and the true class fractions among them."""
    from ferroscreen.crops import match_detections
    from ferroscreen.score import read_cells, read_store

    store = read_store(store_path)
    cells = read_cells(store_path)
    frames = store.frames
    truth_cells = truth_cells.assign(key=list(zip(truth_cells["well"], truth_cells["field"],
                                                  truth_cells["time_h"].round(3), strict=True)))
    by_key = dict(tuple(truth_cells.groupby("key")))
    by_frame = dict(tuple(cells.groupby("frame")))
    counts: dict[tuple[str, float], np.ndarray] = {}
    for i, fr in frames.iterrows():
        det = by_frame.get(i)
        t = by_key.get((fr["well"], int(fr["field"]), round(float(fr["time_h"]), 3)))
        if det is None or t is None:
            continue
        pairs = np.asarray(match_detections(det.reset_index(drop=True), t.reset_index(drop=True))["pairs"])
        true_class = t["class"].to_numpy()[pairs.reshape(-1, 2)[:, 1]]
        key = (fr["well"], round(float(fr["time_h"]), 3))
        counts.setdefault(key, np.zeros(len(classes)))
        counts[key] += [(true_class == c).sum() for c in classes]
    rows = []
    for (well, time_h), n in counts.items():
        rows.append({"well": well, "time_h": time_h, "n_matched": int(n.sum()),
                     **{f"frac_{c}": (n[j] / n.sum() if n.sum() else np.nan) for j, c in enumerate(classes)}})
    return pd.DataFrame(rows)


def errors(wells: pd.DataFrame, truth: pd.DataFrame, classes: list[str], min_cells: int) -> dict[str, float]:
    """MAE of each estimate against ``truth`` (``well, time_h, frac_<class>``) over well x time x class."""
    wells = wells.assign(time_h=wells["time_h"].round(3))
    m = wells.merge(truth.assign(time_h=truth["time_h"].round(3)), on=["well", "time_h"], suffixes=("", "_true"))
    m = m[m["n_cells"] >= min_cells]
    out = {"well_times": len(m)}
    for prefix in ESTIMATES:
        err = np.concatenate([np.abs(m[f"{prefix}_{c}"] - m[f"frac_{c}_true"]) for c in classes])
        out[prefix] = float(np.nanmean(err))
    vehicle = m[m["role"] == "vehicle"] if "role" in m.columns else m.iloc[:0]
    dead = [c for c in classes if c != "alive"]
    for prefix in (*ESTIMATES, "frac_true"):
        cols = [f"frac_{c}_true" if prefix == "frac_true" else f"{prefix}_{c}" for c in dead]
        out[f"vehicle_dead_{prefix}"] = float(vehicle[cols].sum(axis=1).mean()) if len(vehicle) else float("nan")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", type=Path, help="score store of the simulated plate")
    ap.add_argument("plate", type=Path, help="the simulated plate folder (truth.json, truth_cells.csv)")
    ap.add_argument("--min-cells", type=int, default=20, help="skip well x times with fewer detections")
    args = ap.parse_args()

    from ferroscreen.score import read_store
    from ferroscreen.score.export import wells_table

    store = read_store(args.store)
    classes = store.classes
    wells = wells_table(args.store)  # frac_ holds the share; pmean_ the mean probability
    for c in classes:
        if f"pmean_{c}" not in wells.columns:
            wells[f"pmean_{c}"] = wells[f"frac_{c}"]
    truth_all = pd.DataFrame(json.loads((args.plate / "truth.json").read_text())["timecourses"])
    truth_det = detected_truth(args.store, pd.read_csv(args.plate / "truth_cells.csv"), classes)
    print(f"store {args.store}: confusion from {store.attrs.get('confusion_source')}, "
          f"precision {store.attrs.get('precision', '32')}")
    for name, truth in (("cells the detector found", truth_det), ("every simulated cell", truth_all)):
        r = errors(wells, truth, classes, args.min_cells)
        print(f"\nagainst {name} ({r['well_times']} well x times with >= {args.min_cells} cells):")
        print("  mean |estimate - truth| over well x time x class: "
              + ", ".join(f"{k} {r[k]:.4f}" for k in ESTIMATES))
        print("  vehicle wells, dead fraction: "
              + ", ".join(f"{k} {r['vehicle_dead_' + k]:.3f}" for k in ESTIMATES)
              + f", true {r['vehicle_dead_frac_true']:.3f}")


if __name__ == "__main__":
    main()
