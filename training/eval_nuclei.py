"""Evaluate a nuclei model on an image/mask folder in both matching conventions.

    python training/eval_nuclei.py --model nuclei-aits --root ../shared/data/nuclei/aits_trainval \
        --split val [--tta] [--json out.json]
    python training/eval_nuclei.py --model CKPT_OR_PT --tune-split train ...  # pick post-processing
        thresholds on the *training* images, then report on --split

Prints pooled precision/recall/F1/mean matched IoU/PQ at IoU 0.5 and 0.9 (standard convention,
all objects) and in the Aits-compatible convention (objects < 100 px dropped from both sides).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ferroscreen.analysis.matching import AITS_MIN_SIZE, evaluate_instances
from ferroscreen.datamodules.nuclei import find_pairs
from ferroscreen.segment.images import read_image
from ferroscreen.segment.postprocess import PostprocessParams, instances_from_maps
from ferroscreen.segment.predict import NucleiModel


def load(model: str) -> NucleiModel:
    if model.endswith(".ckpt"):
        from ferroscreen.segment.model_file import export_checkpoint

        tmp = Path("/tmp") / (Path(model).stem + ".pt")
        export_checkpoint(model, tmp)
        model = str(tmp)
    return NucleiModel.from_name(model)


def predict_all(nm: NucleiModel, pairs, tta: bool):
    maps, truths, t0 = [], [], time.time()
    for img_path, mask_path in pairs:
        maps.append(nm.predict_maps(read_image(img_path), tile=1152, tta=tta))
        truths.append(read_image(mask_path).astype(np.int64))
    return maps, truths, (time.time() - t0) / max(1, len(pairs))


def score(maps, truths, pp: PostprocessParams, min_size: int = 0):
    preds = [instances_from_maps(m[0], m[1], m[2], pp) for m in maps]
    pooled, per_image = evaluate_instances(truths, preds, min_size=min_size)
    return pooled.set_index("thresh"), per_image


def drop_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """``labels`` without objects smaller than ``min_size`` pixels (what ``min_size`` does last)."""
    sizes = np.bincount(labels.ravel())
    small = sizes < min_size
    small[0] = False
    return np.where(small[labels], 0, labels)


def tune(maps, truths, base: PostprocessParams) -> PostprocessParams:
    """Grid search of the post-processing on the tuning images; key: mean F1 over IoU 0.5..0.95.

    ``min_size`` is applied to each grid point's labels after the fact (it only removes
    objects), so its values cost no extra watershed.
    """
    best, best_key = base, -1.0
    for fg, seed, bd in itertools.product([0.4, 0.5, 0.6], [0.3, 0.45, 0.6], [0.5, 0.8]):
        pp = replace(base, fg_threshold=fg, seed_threshold=seed, boundary_threshold=bd, min_size=1)
        labels = [instances_from_maps(m[0], m[1], m[2], pp) for m in maps]
        for mins in (5, 10, 15, 20, 30, 40):
            pooled, _ = evaluate_instances(truths, [drop_small(lab, mins) for lab in labels])
            key = float(pooled.set_index("thresh")["f1"].mean())
            if key > best_key:
                best, best_key = replace(pp, min_size=mins), key
    print(f"tuned post-processing (mean F1 0.5:0.95 on tuning images = {best_key:.4f}): {best}")
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="nuclei-aits")
    ap.add_argument("--root", default="../shared/data/nuclei/aits_trainval")
    ap.add_argument("--split", default="val")
    ap.add_argument("--tune-split", default=None)
    ap.add_argument("--tune-max", type=int, default=10)
    ap.add_argument("--tta", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    nm = load(args.model)
    pp = nm.postprocess
    if args.tune_split:
        tpairs = find_pairs(args.root, args.tune_split)[: args.tune_max]
        tmaps, ttruth, _ = predict_all(nm, tpairs, args.tta)
        pp = tune(tmaps, ttruth, pp)
    pairs = find_pairs(args.root, args.split)
    maps, truths, sec = predict_all(nm, pairs, args.tta)
    result = {
        "model": args.model,
        "split": args.split,
        "n_images": len(pairs),
        "tta": args.tta,
        "seconds_per_image_prediction": sec,
        "postprocess": pp.to_dict(),
    }
    for name, mins in (("standard", 0), ("aits_compatible", AITS_MIN_SIZE)):
        pooled, _ = score(maps, truths, pp, mins)
        result[name] = {
            f"{t:.2f}": {
                k: float(pooled.loc[t, k])
                for k in ("precision", "recall", "f1", "mean_matched_iou", "panoptic_quality", "tp", "fp", "fn")
            }
            for t in pooled.index
        }
        print(
            f"{name:16s} F1@0.5={pooled.loc[0.5, 'f1']:.4f} F1@0.9={pooled.loc[0.9, 'f1']:.4f} "
            f"mean F1 0.5:0.95={pooled['f1'].mean():.4f} PQ@0.5="
            f"{pooled.loc[0.5, 'panoptic_quality']:.4f} "
            f"(tp/fp/fn@0.5 {int(pooled.loc[0.5, 'tp'])}/{int(pooled.loc[0.5, 'fp'])}/"
            f"{int(pooled.loc[0.5, 'fn'])})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
