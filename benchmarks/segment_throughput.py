"""Nuclei segmentation throughput on 1104 x 1104 frames and the projected screen time.

    python benchmarks/segment_throughput.py [--model nuclei-aits] [--device cpu|cuda]
        [--threads N] [--frames 5] [--batch 1] [--image PATH]

Times, per frame: network (normalise + U-Net + sigmoid), instance post-processing (seeded
watershed), and features + QC; reports frames/s for the network alone and end to end, and the
wall time the 4.2-million-frame Aits screen (213 plates x 384 wells x 16 fields, rounded as
published) would take on this device with one process. Post-processing and features run on the
CPU, so on a GPU the end-to-end rate is bounded by the CPU work unless several worker
processes share it (reported as the CPU-side ceiling per core).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

SCREEN_FRAMES = 4_200_000


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

    infer()  # warm-up
    t_net = []
    for _ in range(args.frames):
        t0 = time.perf_counter()
        maps = infer()
        t_net.append((time.perf_counter() - t0) / args.batch)
    t_pp, t_feat = [], []
    for i in range(max(1, min(args.frames, 3))):
        m = maps[i % len(maps)]
        t0 = time.perf_counter()
        lab = instances_from_maps(m[0], m[1], m[2], nm.postprocess)
        t_pp.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        field_features(object_table(lab, frames[0]))
        field_qc_metrics(frames[0], lab)
        t_feat.append(time.perf_counter() - t0)
    net_s, pp_s, feat_s = (float(np.median(t)) for t in (t_net, t_pp, t_feat))
    total = net_s + pp_s + feat_s
    res = {
        "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(),
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "batch": args.batch,
        "frame": "1104x1104",
        "n_objects_last_frame": int(lab.max()),
        "seconds_per_frame": {"network": net_s, "postprocess": pp_s, "features_qc": feat_s, "total": total},
        "frames_per_second": {"network": 1 / net_s, "end_to_end": 1 / total},
        "screen_frames": SCREEN_FRAMES,
        "screen_days_end_to_end": SCREEN_FRAMES * total / 86400,
        "screen_days_network_only": SCREEN_FRAMES * net_s / 86400,
        "cpu_postprocess_ceiling_frames_per_s_per_core": 1 / (pp_s + feat_s),
    }
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
