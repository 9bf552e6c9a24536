"""Nuclei segmentation throughput on 1104 x 1104 fields and the projected time of the Aits screen.

    python benchmarks/segment_throughput.py [--model nuclei-aits] [--device cpu|cuda]
        [--threads N] [--frames 5] [--batch 1] [--image PATH] [--json OUT]

Each of ``--frames`` rounds times one field end to end: network (normalise + U-Net + sigmoid),
instance post-processing (seeded watershed), and features + QC, in wall time and in this process's
CPU time (``time.process_time``, all threads). A line goes to stderr as each round finishes; the
medians go to stdout as JSON, then a plain summary.

Wall time on a shared machine is inflated by the other jobs' load; the CPU time per field is what a
core-count plan needs (core-days = fields x CPU-s per field / 86400). The projections, one process:

* ``hoechst_fields``: what ``segment`` reads and its time scales with: one Hoechst field per site,
  213 plates x 384 wells x 16 fields = 1,308,672 fields.
* ``issue_frames``: the 4.2 million frames of the screen's published count (all channels and
  images), for comparison; ``segment`` does not read them all.

Post-processing and features run on the CPU, so on a GPU the end-to-end rate is bounded by the
CPU work unless several worker processes share it (reported as the CPU-side ceiling per core).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np
import torch

#: What ``segment`` reads of the Aits screen: one Hoechst field per site.
HOECHST_FIELDS = 213 * 384 * 16  # 1,308,672
#: The screen's frame count as published (all channels and images), rounded.
ISSUE_FRAMES = 4_200_000
PROJECTIONS = {
    "hoechst_fields": (HOECHST_FIELDS, "213 plates x 384 wells x 16 fields, one Hoechst image each: what segment "
                                      "reads"),
    "issue_frames": (ISSUE_FRAMES, "the published 4.2 M frames (all channels/images), of which segment reads "
                                   "only each site's Hoechst field"),
}


def _frame(path: str | None, seed: int = 0) -> np.ndarray:
    if path:
        from ferroscreen.segment.images import read_image

        return read_image(path)
    # synthetic Hoechst-like field: ~40 blurred nuclei on dim background (uint8)
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    img = np.zeros((1104, 1104), np.float32)
    yy, xx = np.mgrid[:1104, :1104]
    for _ in range(40):
        cy, cx = rng.uniform(30, 1074, 2)
        a, b = rng.uniform(15, 28, 2)
        img[((yy - cy) / a) ** 2 + ((xx - cx) / b) ** 2 <= 1] = rng.uniform(80, 200)
    img = ndi.gaussian_filter(img, 1.5) + rng.normal(12, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _timed(fn, *args):
    """``fn(*args)`` and its (wall, CPU) seconds; CPU: this process's, all threads (``time.process_time``)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, (time.perf_counter() - wall, time.process_time() - cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="nuclei-aits")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--image", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.frames < 1:
        ap.error("--frames: at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    from ferroscreen.segment.features import field_features, object_table
    from ferroscreen.segment.postprocess import instances_from_maps
    from ferroscreen.segment.predict import NucleiModel
    from ferroscreen.segment.qc import field_qc_metrics
    from ferroscreen.segment.targets import normalize_image

    nm = NucleiModel.from_name(args.model)
    net = nm.net.to(args.device)
    frames = [_frame(args.image, s) for s in range(args.batch)]
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

    def infer() -> np.ndarray:
        x = np.stack([normalize_image(f, **nm.normalize) for f in frames])[:, None]
        with torch.inference_mode():
            y = torch.sigmoid(net(torch.from_numpy(x).to(args.device)))
            sync()
            return y.cpu().numpy()

    def features_qc(frame: np.ndarray, lab: np.ndarray) -> None:
        field_features(object_table(lab, frame))
        field_qc_metrics(frame, lab)

    infer()  # warm-up
    rounds = []
    for r in range(args.frames):
        maps, (net_w, net_c) = _timed(infer)
        m = maps[r % len(maps)]
        lab, pp = _timed(instances_from_maps, m[0], m[1], m[2], nm.postprocess)
        _, ft = _timed(features_qc, frames[r % len(frames)], lab)
        rnd = {"network": (net_w / args.batch, net_c / args.batch), "postprocess": pp, "features_qc": ft}
        rnd["total"] = (sum(w for w, _ in rnd.values()), sum(c for _, c in rnd.values()))
        rounds.append(rnd)
        print(f"round {r + 1}/{args.frames}: " + ", ".join(f"{k} {w:.2f} s wall / {c:.2f} s CPU"
                                                           for k, (w, c) in rnd.items()), file=sys.stderr, flush=True)
    wall = {k: float(np.median([rd[k][0] for rd in rounds])) for k in rounds[0]}
    cpu = {k: float(np.median([rd[k][1] for rd in rounds])) for k in rounds[0]}
    projection = {
        name: {"n": n, "what": what,
               "days_wall_one_process": n * wall["total"] / 86400,
               "days_wall_network_only": n * wall["network"] / 86400,
               "cpu_core_days": n * cpu["total"] / 86400}
        for name, (n, what) in PROJECTIONS.items()
    }
    res = {
        "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(),
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "batch": args.batch,
        "frame": "1104x1104",
        "rounds": len(rounds),
        "n_objects_last_frame": int(lab.max()),
        "seconds_per_field_wall": wall,
        "cpu_seconds_per_field": cpu,
        "fields_per_second_wall": {"network": 1 / wall["network"], "end_to_end": 1 / wall["total"]},
        "projection": projection,
        "cpu_postprocess_ceiling_fields_per_s_per_core": 1 / (cpu["postprocess"] + cpu["features_qc"]),
    }
    print(json.dumps(res, indent=1))
    print(f"per field: {wall['total']:.2f} s wall, {cpu['total']:.2f} CPU-s ({res['torch_threads']} torch "
          f"thread(s); wall time on a shared machine is inflated, CPU-s is what a core count needs)")
    for name, pr in projection.items():
        print(f"{name} ({pr['n']:,}): {pr['days_wall_one_process']:.1f} days wall in one process, "
              f"{pr['cpu_core_days']:.1f} CPU core-days; {pr['what']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
