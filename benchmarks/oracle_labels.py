"""Upper bound of a training recipe: the same training with every crop labelled by its true class.

``configs/train/demo.yaml`` learns from *well* labels: every cell of an inducer well after the
onset window is called the inducer's mode, though some are still alive, and vehicle wells hold
a few spontaneous deaths. This benchmark trains the same recipe on the same wells, frames and
crops per frame, but labels each detected crop with the simulator's true class of the cell it
was matched to (crops matched to no cell are left out), without label cleaning, then scores
the model on a held-out plate as ``benchmarks/classifier_accuracy.py`` does. The gap between
the two is what well-label noise costs; the gap to 1 is what the recipe cannot learn from the
crops it sees.

    python benchmarks/oracle_labels.py --train-plate DIR --test-plate DIR [--from-h 8] [--until-h 32]
        [--config configs/train/demo.yaml] [-- LIGHTNINGCLI OVERRIDES]

Plates as written by ``ferroscreen simulate`` (``truth_cells.csv`` beside ``images/``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ferroscreen.crops import CropNormalization, match_detections, normalize_frame  # noqa: E402
from ferroscreen.crops.frames import frame_crops  # noqa: E402
from ferroscreen.datamodules.reference_plate import ReferencePlateDataModule  # noqa: E402
from ferroscreen.io import load_image, open_acquisition  # noqa: E402
from ferroscreen.io.scans import later_scans  # noqa: E402

#: Most crops kept per frame (the recipe's ``max_crops_per_frame`` when it sets none).
DEFAULT_CAP = 60


class TrueLabelDataModule(ReferencePlateDataModule):
    """The reference-plate data module with each crop labelled by its simulated cell's true class.

    Wells, their train/validation split and the crop normalisation are the parent's; frames are
    those of the labelled wells between ``FS_ORACLE_FROM_H`` and ``FS_ORACLE_UNTIL_H`` (environment,
    hours; set by this script), at most ``max_crops_per_frame`` matched crops each (seeded).
    """

    def build_sets(self):  # noqa: D102
        sets = super().build_sets()
        lo = float(os.environ.get("FS_ORACLE_FROM_H", 0))
        hi = float(os.environ.get("FS_ORACLE_UNTIL_H", 1e9))
        cap = self.max_crops_per_frame or DEFAULT_CAP
        truth = pd.read_csv(self.root / "truth_cells.csv", dtype={"well": str})
        by_frame = truth.set_index(["well", "field", "time_h"]).sort_index()
        norm = CropNormalization.from_meta(sets.normalization)
        frames = open_acquisition(self.root).frames
        following = later_scans(frames, self.next_scan)
        if following is None:
            following = pd.Series(False, index=frames.index)
        train_wells, val_wells = set(sets.summary["train_wells"]), set(sets.summary["val_wells"])
        parts: dict[bool, tuple[list, list]] = {True: ([], []), False: ([], [])}
        rng = np.random.default_rng(self.seed)
        for idx, row in zip(frames.index, frames.itertuples(index=False), strict=True):
            key = (row.well, int(row.field), round(float(row.time_h), 4))
            if row.well not in train_wells | val_wells or not lo <= row.time_h <= hi or key not in by_frame.index:
                continue
            raw = load_image(row.path)
            det, crops, _ = frame_crops(raw, normalize_frame(raw), self.detector_cfg, self.crop_size, norm,
                                        following.at[idx])
            cells = by_frame.loc[[key]].reset_index()
            pairs = np.asarray(match_detections(det, cells)["pairs"]).reshape(-1, 2)
            if len(pairs) > cap:
                pairs = pairs[np.sort(rng.choice(len(pairs), cap, replace=False))]
            cls = cells["class"].to_numpy()[pairs[:, 1]]
            known = np.isin(cls, self.classes)
            xs, ys = parts[row.well in val_wells]
            xs.append(crops[pairs[known, 0]].astype(np.float16))
            ys.append(np.array([self.classes.index(c) for c in cls[known]], np.int64))
        for is_val in (False, True):
            if not parts[is_val][0]:
                raise SystemExit(f"no matched crops for the {'validation' if is_val else 'training'} wells")
        sets.train_x, sets.train_y = np.concatenate(parts[False][0]), np.concatenate(parts[False][1])
        sets.val_x, sets.val_y = np.concatenate(parts[True][0]), np.concatenate(parts[True][1])
        sets.summary["labels"] = "true per-cell classes (benchmarks/oracle_labels.py)"
        return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-plate", type=Path, required=True)
    ap.add_argument("--test-plate", type=Path, required=True)
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "train" / "demo.yaml")
    ap.add_argument("--from-h", type=float, default=8.0, help="first hour of training frames (demo: onset 8-16 h)")
    ap.add_argument("--until-h", type=float, default=32.0, help="last hour of training frames (demo: 32 h)")
    ap.add_argument("--max-frames", type=int, default=300, help="held-out frames evaluated")
    ap.add_argument("overrides", nargs="*", help="LightningCLI overrides, after --")
    args = ap.parse_args()

    from ferroscreen.models.bundle import load_bundle
    from ferroscreen.tasks.evaluation import evaluate_simulated_plate
    from ferroscreen.tasks.training_run import run_training

    os.environ["FS_ORACLE_FROM_H"], os.environ["FS_ORACLE_UNTIL_H"] = str(args.from_h), str(args.until_h)
    work = Path(tempfile.mkdtemp(prefix="fs-oracle-"))
    bundle = work / "oracle.pt"
    t0 = time.perf_counter()
    run_training(args.config, bundle, [
        "--data.class_path", "oracle_labels.TrueLabelDataModule", "--data.init_args.root", str(args.train_plate),
        "--model.label_cleaning", "none", "--trainer.enable_progress_bar", "false",
        "--trainer.default_root_dir", str(work / "runs"), "--trainer.logger.init_args.save_dir", str(work / "runs"),
        *args.overrides])
    train_s = time.perf_counter() - t0
    r = evaluate_simulated_plate(args.test_plate, load_bundle(bundle), max_frames=args.max_frames)
    per_class = {k: round(v["f1"], 3) for k, v in r["per_class"].items()}
    print(json.dumps({"config": str(args.config), "labels": "true per-cell classes", "window_h": [args.from_h,
                      args.until_h], "overrides": args.overrides, "train_s": round(train_s),
                      "macro_f1": round(r["macro_f1"], 4), "accuracy": round(r["accuracy"], 4),
                      "per_class_f1": per_class, "confusion (rows: true)": [" ".join(f"{v:6d}" for v in row)
                                                                for row in r["confusion"]],
                      "bundle": str(bundle)}, indent=1))


if __name__ == "__main__":
    main()
