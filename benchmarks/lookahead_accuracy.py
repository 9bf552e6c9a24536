"""How much one scan of look-ahead along cell tracks would add to crop-level accuracy (a measurement, not a feature).

A single crop cannot tell a cell in the first stage of dying (shrinking,
rounding, swelling: still the living look) from a living one; one scan later
(4 h on the simulated plates) 94-99 % of them are in a visibly later stage, and
suspension cells move ~4 px between scans. This script scores a simulated
plate's frames exactly as ``ferroscreen evaluate`` does (same seeded frame
sample, detections matched to true cells, crop-level macro-F1), then applies
the simplest look-ahead rule: a cell called ``alive`` whose nearest detection
in the same site's next scan (within ``--max-dist`` px) is called a death mode
with probability >= ``--tau`` takes that mode. It prints macro-F1 and per-class
F1 without and with the rule, and how many calls the rule fixed and broke.

    python benchmarks/lookahead_accuracy.py [PLATE_DIR --model BUNDLE] [--frames 300] [--max-dist 10]
        [--tau 0.5,0.7] [--precision 32]

Without a plate and model (as ``make bench`` runs it) it simulates plates seed 0
and 1 as ``benchmarks/classifier_accuracy.py`` does, trains ``demo.yaml`` on
seed 0 (~7 min on 2 cores) and measures on seed 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ferroscreen.analysis.classification import classification_report, confusion_matrix
from ferroscreen.crops import crops_for_detections, detect_cells, detector_config, match_detections, normalize_frame
from ferroscreen.io import load_image, open_acquisition
from ferroscreen.models.bundle import load_bundle
from ferroscreen.tasks.evaluation import predict_crops


def classify(path, bundle, cfg, precision):
    raw = load_image(path)
    img = normalize_frame(raw)
    det = detect_cells(img, cfg)
    crops = crops_for_detections(bundle.normalization.apply(raw, img), det, cfg, bundle.crop_size)
    probs = predict_crops(bundle, crops, precision=precision) if len(det) else np.zeros((0, len(bundle.classes)))
    return det, probs


def simulated_plate_and_model(work: Path) -> tuple[Path, Path]:
    """Held-out plate (seed 1) and a `demo.yaml` model trained on seed 0, as the classifier benchmark makes them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from classifier_accuracy import REPO, simulate

    from ferroscreen.tasks.training_run import run_training

    model = work / "model.pt"
    run_training(REPO / "configs" / "train" / "demo.yaml", model, [
        "--data.init_args.root", str(simulate(work / "train", 0)), "--trainer.enable_progress_bar", "false",
        "--trainer.default_root_dir", str(work / "runs"), "--trainer.logger.init_args.save_dir", str(work / "runs"),
    ])  # fmt: skip
    return simulate(work / "test", 1), model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plate", type=Path, nargs="?")
    ap.add_argument("--model", type=Path)
    ap.add_argument("--frames", type=int, default=300, help="frames sampled, as `evaluate` samples them")
    ap.add_argument("--max-dist", type=float, default=10.0, help="px to the nearest detection one scan later")
    ap.add_argument("--tau", default="0.5,0.7", help="probabilities the next scan's death-mode call needs")
    ap.add_argument("--precision", default="32", choices=["32", "bf16", "int8"])
    args = ap.parse_args()
    if (args.plate is None) != (args.model is None):
        ap.error("give both PLATE_DIR and --model, or neither")
    if args.plate is None:
        args.plate, args.model = simulated_plate_and_model(Path(tempfile.mkdtemp(prefix="fs-lookahead-")))
    bundle = load_bundle(args.model)
    cfg, classes = detector_config(bundle.meta["detector"]), bundle.classes
    truth = pd.read_csv(args.plate / "truth_cells.csv")
    tkey = truth.set_index(["well", "field", "time_h"]).sort_index()
    images = args.plate / "images" if (args.plate / "images").is_dir() else args.plate
    all_frames = open_acquisition(images).frames
    frames = all_frames
    if len(frames) > args.frames:
        frames = frames.iloc[np.sort(np.random.default_rng(0).choice(len(frames), args.frames, replace=False))]
    path_of = {(r.well, int(r.field), round(float(r.time_h), 4)): r.path for r in all_frames.itertuples()}
    times = sorted(all_frames["time_h"].round(4).unique())
    rows = []
    for r in frames.itertuples():
        t = round(float(r.time_h), 4)
        key = (r.well, int(r.field), t)
        det, probs = classify(r.path, bundle, cfg, args.precision)
        true = tkey.loc[[key]].reset_index() if key in tkey.index else truth.iloc[:0]
        pairs = np.asarray(match_detections(det, true)["pairs"]).reshape(-1, 2)
        if not len(pairs):
            continue
        i = times.index(t)
        nxt = path_of.get((r.well, int(r.field), times[i + 1])) if i + 1 < len(times) else None
        dist = nearest = None
        if nxt is not None:
            det_n, probs_n = classify(nxt, bundle, cfg, args.precision)
            if len(det_n):
                dist, j = cKDTree(det_n[["x", "y"]].to_numpy()).query(det[["x", "y"]].to_numpy())
                nearest = probs_n[j]
        for di, ti in pairs:
            c = true.iloc[ti]["class"]
            if c not in classes:
                continue
            rec = {"true": classes.index(c), "pred": int(probs[di].argmax()), "next_pred": -1, "next_conf": 0.0}
            if nearest is not None and dist[di] <= args.max_dist:
                rec.update(next_pred=int(nearest[di].argmax()), next_conf=float(nearest[di].max()))
            rows.append(rec)
    df = pd.DataFrame(rows)
    y, base = df["true"].to_numpy(), df["pred"].to_numpy()

    def report(pred):
        rep = classification_report(confusion_matrix(y, pred, len(classes)), classes)
        per = "/".join(f"{v['f1']:.3f}" for v in rep["per_class"].values())
        return f"macro-F1 {rep['macro_f1']:.4f} (F1 {'/'.join(classes)}: {per})"

    alive = classes.index("alive") if "alive" in classes else 0
    print(f"{args.plate}, model {args.model}: {len(df)} matched cells, "
          f"{int((df['next_pred'] >= 0).sum())} with a detection one scan later within {args.max_dist:g} px")
    print(f"single crop:              {report(base)}")
    for tau in (float(v) for v in args.tau.split(",")):
        nxt = df["next_pred"].to_numpy()
        sel = (base == alive) & (nxt >= 0) & (nxt != alive) & (df["next_conf"].to_numpy() >= tau)
        pred = np.where(sel, nxt, base)
        fixed, broke = int(((pred == y) & (base != y)).sum()), int(((pred != y) & (base == y)).sum())
        print(f"look-ahead, tau {tau:.2f}:    {report(pred)}; {int(sel.sum())} relabelled, "
              f"{fixed} fixed, {broke} broken")


if __name__ == "__main__":
    main()
