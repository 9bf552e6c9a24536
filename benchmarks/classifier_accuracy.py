"""Death-mode classifier accuracy on a held-out simulated plate, side by side in one run.

Trains ``configs/train/demo.yaml`` on the reference/vehicle wells of a simulated plate
(seed A) three times: from ImageNet MobileNetV2 weights and from random initialisation (both
reading each cell's next scan too, as the recipe does), and from ImageNet weights on single
crops (``--data.init_args.next_scan false``); fits the simple-feature baseline (multinomial
logistic regression on single-crop area, mean and standard deviation of intensity, trained on
the same wells and window); then scores every model on a
held-out plate (seed B) against the simulator's truth: detections are matched to true cells
(centre inside the cell) and matched crops are compared with the true class.

    python benchmarks/classifier_accuracy.py [--train-plate DIR] [--test-plate DIR] [--epochs N]

Plates are simulated when not given (96 wells, 2 fields, 48 h every 4 h, 384 px).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ferroscreen.analysis.classification import classification_report, confusion_matrix  # noqa: E402
from ferroscreen.crops import DetectorConfig, cells_and_crops, match_detections, normalize_frame  # noqa: E402
from ferroscreen.io import load_image, open_acquisition  # noqa: E402
from ferroscreen.models.bundle import load_bundle  # noqa: E402
from ferroscreen.plate import read_layout  # noqa: E402
from ferroscreen.tasks.evaluation import evaluate_simulated_plate  # noqa: E402
from ferroscreen.tasks.training_run import run_training  # noqa: E402

CLASSES = ["alive", "apoptosis", "ferroptosis", "necroptosis"]


def simulate(out: Path, seed: int) -> Path:
    if not (out / "truth_cells.csv").is_file():
        subprocess.run([sys.executable, "-m", "ferroscreen.cli", "simulate", str(out), "--fields", "2", "--hours", "48",
                        "--interval-h", "4", "--image-size", "384", "384", "--seed", str(seed)], check=True)
    return out


def features(img: np.ndarray, det: pd.DataFrame, crops: np.ndarray) -> np.ndarray:
    area = np.pi * det["radius"].to_numpy() ** 2
    flat = crops.reshape(len(crops), -1)
    return np.column_stack([area, flat.mean(1), flat.std(1)])


def baseline_training_set(plate: Path, cfg: DetectorConfig, crop: int, onset: float | dict, until: float):
    layout = read_layout(plate / "layout.csv").well_table()
    frames = open_acquisition(plate / "images").frames
    xs, ys = [], []
    for r in frames.itertuples(index=False):
        row = layout.loc[r.well]
        if row["role"] not in ("reference", "vehicle") or row["rescue_agent"]:
            continue
        mode = row["mode"] or "alive"
        start = float(onset.get(mode, onset.get("default", 0.0))) if isinstance(onset, dict) else float(onset)
        if not (start <= r.time_h <= until):
            continue
        img = normalize_frame(load_image(r.path))
        det, crops = cells_and_crops(img, cfg, crop)
        if len(det):
            xs.append(features(img, det, crops))
            ys.append(np.full(len(det), CLASSES.index(mode)))
    return np.concatenate(xs), np.concatenate(ys)


def baseline_on_truth(plate: Path, cfg: DetectorConfig, crop: int, model, mu, sd, max_frames: int, seed: int):
    truth = pd.read_csv(plate / "truth_cells.csv").set_index(["well", "field", "time_h"]).sort_index()
    frames = open_acquisition(plate / "images").frames
    idx = np.sort(np.random.default_rng(seed).choice(len(frames), min(max_frames, len(frames)), replace=False))
    yt, yp = [], []
    for r in frames.iloc[idx].itertuples(index=False):
        img = normalize_frame(load_image(r.path))
        det, crops = cells_and_crops(img, cfg, crop)
        key = (r.well, int(r.field), round(float(r.time_h), 4))
        if key not in truth.index or not len(det):
            continue
        t = truth.loc[key].reset_index()
        pairs = np.asarray(match_detections(det, t)["pairs"]).reshape(-1, 2)
        if not len(pairs):
            continue
        f = (features(img, det, crops)[pairs[:, 0]] - mu) / sd
        yp.append(np.asarray(model.predict(sm.add_constant(f, has_constant="add"))).argmax(1))
        yt.append([CLASSES.index(c) for c in t.iloc[pairs[:, 1]]["class"]])
    cm = confusion_matrix(np.concatenate(yt), np.concatenate(yp), len(CLASSES))
    return classification_report(cm, CLASSES)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-plate", type=Path)
    ap.add_argument("--test-plate", type=Path)
    ap.add_argument("--epochs", type=int, default=None, help="override demo.yaml's max_epochs")
    ap.add_argument("--max-frames", type=int, default=300, help="held-out frames evaluated")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fs-clf-"))
    train_plate = args.train_plate or simulate(work / "train", 0)
    test_plate = args.test_plate or simulate(work / "test", 1)
    config = REPO / "configs" / "train" / "demo.yaml"
    rows = {}
    for init, scans in (("imagenet", "next"), ("none", "next"), ("imagenet", "single")):
        t0 = time.perf_counter()
        bundle = work / f"model_{init}_{scans}.pt"
        # random features are not worth freezing: the random-init model trains its whole backbone
        freeze = [] if init == "imagenet" else ["--model.freeze", "none"]
        epochs = [] if args.epochs is None else ["--trainer.max_epochs", str(args.epochs)]
        single = ["--data.init_args.next_scan", "false"] if scans == "single" else []
        overrides = [*freeze, *epochs, *single, "--data.init_args.root", str(train_plate), "--model.weights", init,
                     "--trainer.enable_progress_bar", "false",
                     "--trainer.default_root_dir", str(work / "runs"),
                     "--trainer.logger.init_args.save_dir", str(work / "runs")]
        run_training(config, bundle, overrides)
        train_s = time.perf_counter() - t0
        b = load_bundle(bundle)
        r = evaluate_simulated_plate(test_plate, b, max_frames=args.max_frames)
        name = f"CNN {b.meta['init'].split(':')[0]}, {'next scan' if b.next_scan else 'single crop'}"
        rows[name] = {"macro_f1": r["macro_f1"], "accuracy": r["accuracy"], "train_s": train_s,
                                         "per_class_f1": {k: v["f1"] for k, v in r["per_class"].items()},
                                         "detection_f1": r["detection"]["f1"], "n": r["n"]}
        if b.int8_graph is not None and (init, scans) == ("imagenet", "next"):  # what `score` runs on CPU (recipe)
            r = evaluate_simulated_plate(test_plate, b, max_frames=args.max_frames, precision="int8")
            rows[f"{name}, int8 graph"] = {
                "macro_f1": r["macro_f1"], "accuracy": r["accuracy"], "train_s": train_s,
                "per_class_f1": {k: v["f1"] for k, v in r["per_class"].items()}, "n": r["n"]}
    b = load_bundle(work / "model_imagenet_next.pt")
    cfg = DetectorConfig(**b.meta["detector"])
    data = b.meta["training_data"]
    t0 = time.perf_counter()
    until = float(data.get("until_h") or 1e9)
    x, y = baseline_training_set(train_plate, cfg, b.crop_size, data["onset_h"], until)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    model = sm.MNLogit(y, sm.add_constant((x - mu) / sd)).fit(disp=0, maxiter=200)
    r = baseline_on_truth(test_plate, cfg, b.crop_size, model, mu, sd, args.max_frames, 0)
    rows["baseline: logistic regression (area, mean, std)"] = {
        "macro_f1": r["macro_f1"], "accuracy": r["accuracy"], "train_s": time.perf_counter() - t0,
        "per_class_f1": {k: v["f1"] for k, v in r["per_class"].items()}, "n": r["n"]}
    print(f"held-out plate {test_plate}, {args.max_frames} frames, crops matched to true cells")
    print(f"{'model':<52}{'macro-F1':>9}{'acc':>7}{'train s':>9}  per-class F1 (alive/apop/ferro/necro)")
    for name, m in rows.items():
        pc = "/".join(f"{v:.2f}" if v is not None else "-" for v in m["per_class_f1"].values())
        print(f"{name:<52}{m['macro_f1']:>9.3f}{m['accuracy']:>7.3f}{m['train_s']:>9.0f}  {pc}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
