"""Nuclei of another size than the model's: the shipped model on DSB2018 fluorescence images.

The DSB2018 stage-1 fluorescence images (``../shared/data/nuclei/dsb2018_fluo``, instance
masks) come from many microscopes and magnifications: median nucleus diameters of 10-50 px
where the shipped ``nuclei-aits`` model was trained on ~44 px nuclei. For a seeded sample
of images (``--n``; ``--n 0`` = all 541) this prints pooled precision / recall / F1 at IoU
0.5, 0.75 and 0.9 (standard convention, every object) for

* ``model``: images as they are (``ferroscreen segment --diameter model``);
* ``auto``: each image's scale estimated from its own first pass
  (:meth:`NucleiModel.choose_scale` on that image, as ``segment --diameter each``
  does; ``--diameter auto`` estimates one scale per run from up to 8 images, which
  suits a screen's uniform magnification);
* ``true``: the scale from the true median diameter of the image's masks (what a user
  who measured a few nuclei would pass as ``--diameter``),

overall and per band of true diameter. Skips (exit 0) when ``../shared`` is absent.

Usage::

    .venv/bin/python benchmarks/nuclei_scale.py [--n 160] [--seed 0] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ferroscreen.analysis.matching import evaluate_instances
from ferroscreen.datamodules.nuclei import find_pairs
from ferroscreen.segment.images import read_image
from ferroscreen.segment.predict import NucleiModel
from ferroscreen.segment.scale import choose_scale, median_diameter

DSB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nuclei" / "dsb2018_fluo"
BANDS = [(0, 15), (15, 25), (25, 35), (35, 1e9)]
THRESHOLDS = (0.5, 0.75, 0.9)


def gray(img: np.ndarray) -> np.ndarray:
    """First channels' mean of an RGB(A) image (DSB PNGs are stored as RGB), else the image."""
    return img[..., :3].mean(-1) if img.ndim == 3 else img


def pooled(truths, preds) -> dict:
    table, _ = evaluate_instances(truths, preds)
    t = table.set_index("thresh")
    return {th: tuple(float(t.loc[th, k]) for k in ("precision", "recall", "f1")) for th in THRESHOLDS}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=160, help="images drawn (seeded); 0 = all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="nuclei-aits", help="registered name or model file")
    args = ap.parse_args()
    if not DSB.is_dir():
        print(f"skipped: {DSB} is not present")
        return 0
    torch.set_num_threads(args.threads)
    nm = NucleiModel.from_name(args.model)
    pairs = find_pairs(DSB)
    if args.n and args.n < len(pairs):
        pick = np.sort(np.random.default_rng(args.seed).choice(len(pairs), args.n, replace=False))
        pairs = [pairs[i] for i in pick]
    rows, t0 = [], time.perf_counter()
    with torch.inference_mode():
        for img_path, mask_path in pairs:
            img = gray(read_image(img_path))
            truth = read_image(mask_path).astype(np.int64)
            true_d, _ = median_diameter([truth])
            auto = nm.choose_scale([img])
            true_scale = choose_scale(true_d, nm.diameter_px).scale if true_d else 1.0
            rows.append({
                "truth": truth,
                "true_d": true_d or 0.0,
                "auto_scale": auto.scale,
                "model": nm.segment(img).astype(np.int64),
                "auto": nm.segment(img, scale=auto.scale).astype(np.int64),
                "true": nm.segment(img, scale=true_scale).astype(np.int64),
            })
    secs = time.perf_counter() - t0
    print(f"DSB2018 fluo: {len(rows)} images (seed {args.seed}), model {args.model} "
          f"(training diameter {nm.diameter_px:.1f} px), {secs:.0f} s on {args.threads} thread(s)")
    n_objects = sum(int(r["truth"].max()) for r in rows)
    scaled = sum(r["auto_scale"] != 1.0 for r in rows)
    print(f"{n_objects} true nuclei; auto resampled {scaled} of {len(rows)} images")
    for lo, hi in [(0, 1e9), *BANDS]:
        sel = [r for r in rows if lo <= r["true_d"] < hi]
        if not sel:
            continue
        label = "all" if hi == 1e9 and lo == 0 else f"{lo:g}-{hi:g} px" if hi < 1e9 else f">= {lo:g} px"
        print(f"\n{label}: {len(sel)} images, {sum(int(r['truth'].max()) for r in sel)} nuclei")
        for variant in ("model", "auto", "true"):
            res = pooled([r["truth"] for r in sel], [r[variant] for r in sel])
            cells = "  ".join(
                f"F1@{th:g} {res[th][2]:.3f} (P {res[th][0]:.3f} R {res[th][1]:.3f})" for th in THRESHOLDS
            )
            print(f"  {variant:6s} {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
