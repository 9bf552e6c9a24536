"""What ``--tta`` (8 dihedral views per crop, probabilities averaged) buys and costs, side by side in one run.

For one bundle and one held-out simulated plate (another seed than the
training plate):

(a) ``ferroscreen evaluate``: crop-level macro-F1 and per-class F1 against the
    plate's truth, without and with ``--tta`` (same frames, same detections);
(b) ``ferroscreen score`` end to end on the plate, without and with ``--tta``:
    frames/s and the ratio;
(c) from the two stores, the mean absolute error of the per-well fraction of
    each class (argmax share, ``export``'s default) against the plate's true
    classes of the detected cells (as ``benchmarks/correction_accuracy.py``).

    python benchmarks/tta_accuracy.py --model BUNDLE --plate HELD_OUT_PLATE [--frames 300] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _evaluate(plate: Path, model: Path, frames: int, tta: bool) -> dict:
    from ferroscreen.tasks.evaluation import evaluate_path

    t = time.perf_counter()
    r = evaluate_path(plate, model, max_frames=frames, precision="32", tta=tta)
    return {"macro_f1": round(r["macro_f1"], 4), "per_class_f1": {k: round(v["f1"], 3) for k, v in
                                                                   r["per_class"].items()},
            "seconds": round(time.perf_counter() - t, 1)}


def _score(plate: Path, model: Path, out: Path, tta: bool) -> dict:
    from ferroscreen.score.runner import score_plate

    t = time.perf_counter()
    s = score_plate(plate / "images", model, out, layout=plate / "layout.csv", precision="32", tta=tta)
    seconds = time.perf_counter() - t
    return {"frames": s["frames_scored"], "seconds": round(seconds, 1),
            "frames_per_s": round(s["frames_scored"] / seconds, 1)}


def _share_mae(store: Path, plate: Path) -> dict:
    """MAE of the argmax share against the true classes of the detected cells, and the vehicle wells' dead share."""
    from correction_accuracy import detected_truth, errors

    from ferroscreen.score import read_store
    from ferroscreen.score.export import wells_table

    classes = read_store(store).classes
    truth = detected_truth(store, pd.read_csv(plate / "truth_cells.csv"), classes)
    r = errors(wells_table(store), truth, classes, min_cells=20)
    return {"share_mae": round(r["share"], 4), "vehicle_dead_share": round(r["vehicle_dead_share"], 4),
            "vehicle_dead_true": round(r["vehicle_dead_frac_true"], 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--plate", type=Path, required=True, help="held-out simulated plate (truth_cells.csv)")
    ap.add_argument("--frames", type=int, default=300, help="frames drawn (seed 0) for (a)")
    ap.add_argument("--out", type=Path, help="keep the two stores here (default: a temporary folder)")
    args = ap.parse_args()
    result = {"model": str(args.model), "plate": str(args.plate)}
    for tta in (False, True):
        result[f"evaluate{'_tta' if tta else ''}"] = _evaluate(args.plate, args.model, args.frames, tta)
        print(json.dumps({("tta" if tta else "plain"): result[f"evaluate{'_tta' if tta else ''}"]}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for tta in (False, True):
            store = folder / f"{'tta' if tta else 'plain'}.h5"
            store.unlink(missing_ok=True)
            key = f"score{'_tta' if tta else ''}"
            result[key] = {**_score(args.plate, args.model, store, tta), **_share_mae(store, args.plate)}
            print(json.dumps({key: result[key]}), flush=True)
    result["macro_f1_gain"] = round(result["evaluate_tta"]["macro_f1"] - result["evaluate"]["macro_f1"], 4)
    result["score_time_ratio"] = round(result["score_tta"]["seconds"] / result["score"]["seconds"], 2)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
