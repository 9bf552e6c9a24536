"""Detection accuracy and speed of ``ferroscreen.crops.detect_cells``.

Every frame goes through ``normalize_frame`` first, as ``detect`` and ``score`` pass it.

Prints, with the exact settings used:

1. Usiigaci phase-contrast T98G images (``../shared/data/phase_cells/usiigaci/set1..20``,
   instance masks): precision / recall / F1 at centre-in-mask matching, preset
   ``adherent_10x``, per set and pooled over all sets, over the tuning sets (odd
   numbers: the preset was tuned on them) and over the held-out sets (even numbers);
   skipped when ``../shared`` is absent.
2. A simulated plate written by ``ferroscreen simulate --format 96 --fields 1 --hours 48
   --interval-h 12 --image-size 512 512 --seed SEED`` (into a temporary folder, or
   ``--plate DIR`` reuses one): precision / recall / F1 at centre-within-radius matching,
   preset ``suspension`` (its ``min_score`` was tuned on seed 1; report another seed),
   recall per class and per stage, for two populations: *all cells* of
   ``truth_cells.csv``, and *visible cells* (``contrast >= --min-contrast``, default 0.3:
   fading dead cells below it are near-invisible; a detection on such a cell then counts
   neither as a hit nor as a false positive). Falls back to the built-in synthetic
   frames of ``ferroscreen.crops.synthetic`` when the simulator is not available.
3. Milliseconds per frame (one thread) at 512x512 and 1104x1104.

Usage::

    .venv/bin/python benchmarks/detection_accuracy.py [--sets 1-20] [--seed 2] [--hours 48]
        [--interval-h 12] [--plate DIR] [--min-contrast 0.3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ferroscreen.crops import DetectorConfig, detect_cells, match_detections, normalize_frame, summarize_counts
from ferroscreen.crops.synthetic import draw_cells, random_cells

REPO = Path(__file__).resolve().parents[1]
USIIGACI = REPO.parent / "shared" / "data" / "phase_cells" / "usiigaci"


def usiigaci(sets: list[int], config: DetectorConfig) -> pd.DataFrame:
    """Per-set tp/fp/fn and ms on the Usiigaci images."""
    rows = []
    for s in sets:
        folder = USIIGACI / f"set{s}"
        raw = cv2.imread(str(folder / "raw.png"), cv2.IMREAD_UNCHANGED)
        labels = cv2.imread(str(folder / "instances_ids.png"), cv2.IMREAD_UNCHANGED)
        t0 = time.perf_counter()
        det = detect_cells(normalize_frame(raw), config)
        ms = 1000 * (time.perf_counter() - t0)
        m = match_detections(det, labels)
        rows.append({"set": s, "tp": m["tp"], "fp": m["fp"], "fn": m["fn"], "f1": m["f1"], "ms": ms})
    return pd.DataFrame(rows)


def simulated_plate(
    seed: int, hours: float, size: int, plate: Path | None = None, interval: float = 12.0
) -> tuple[list[tuple[np.ndarray, pd.DataFrame]], str]:
    """Frames with their truth from ``ferroscreen simulate`` (or built-in synthetic frames)."""
    if plate is not None:
        return _read_plate(plate), f"existing plate {plate}"
    with tempfile.TemporaryDirectory(prefix="ferroscreen_det_") as tmp:
        return _simulated_plate(Path(tmp) / "plate", seed, hours, size, interval)


def _read_plate(out: Path) -> list[tuple[np.ndarray, pd.DataFrame]]:
    from ferroscreen.io import open_acquisition

    acq = open_acquisition(out / "images")
    truth = pd.read_csv(out / "truth_cells.csv")
    truth["key"] = list(zip(truth["well"], truth["field"], truth["time_h"].round(3), strict=True))
    groups = dict(tuple(truth.groupby("key")))
    frames = []
    for _, row in acq.frames.iterrows():
        key = (row["well"], row["field"], round(float(row["time_h"]), 3))
        frames.append((acq.load(row), groups.get(key, truth.iloc[:0]).reset_index(drop=True)))
    return frames


def _simulated_plate(out: Path, seed: int, hours: float, size: int, interval: float) -> tuple[list, str]:
    cmd = [
        sys.executable,
        "-m",
        "ferroscreen.cli",
        "simulate",
        str(out),
        "--format",
        "96",
        "--fields",
        "1",
        "--hours",
        str(hours),
        "--interval-h",
        str(interval),
        "--image-size",
        str(size),
        str(size),
        "--seed",
        str(seed),
        "--workers",
        "1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not (out / "truth_cells.csv").is_file():
        frames = []
        for k in range(8):
            cells = random_cells((size, size), 60, radius=(5, 10), touching_pairs=10, seed=seed * 100 + k)
            cells = cells.rename(columns={"look": "class"}).assign(stage=lambda d: d["class"], contrast=1.0)
            frames.append((draw_cells(cells, (size, size), seed=k, dtype=np.uint16, gradient=0.2), cells))
        return frames, "built-in synthetic frames (simulator unavailable: " + proc.stderr.strip()[-200:] + ")"
    return _read_plate(out), "ferroscreen simulate OUT " + " ".join(cmd[5:])


def simulated(frames: list[tuple[np.ndarray, pd.DataFrame]], config: DetectorConfig, min_contrast: float = 0.0) -> dict:
    """Pooled P/R/F1 plus recall per class and stage over cells with ``contrast >= min_contrast``.

    Detections matched (one-to-one, over all cells) to a cell below ``min_contrast`` are
    dropped before scoring, so finding a faint cell is never a false positive.
    """
    tp = fp = fn = 0
    found = []
    for image, all_cells in frames:
        det = detect_cells(normalize_frame(image), config)
        faint = all_cells["contrast"].to_numpy() < min_contrast
        cells = all_cells
        if faint.any():
            pairs = match_detections(det, all_cells)["pairs"]
            det = det.drop(det.index[pairs[faint[pairs[:, 1]], 0]]).reset_index(drop=True)
            cells = all_cells[~faint].reset_index(drop=True)
        m = match_detections(det, cells)
        tp, fp, fn = tp + m["tp"], fp + m["fp"], fn + m["fn"]
        hit = np.zeros(len(cells), bool)
        hit[m["pairs"][:, 1]] = True
        found.append(pd.DataFrame({"class": cells["class"].to_numpy(), "stage": cells["stage"].to_numpy(), "hit": hit}))
    found = pd.concat(found, ignore_index=True)
    return {
        "overall": summarize_counts(tp, fp, fn),
        "by_class": found.groupby("class")["hit"].agg(["mean", "size"]),
        "by_stage": found.groupby("stage")["hit"].agg(["mean", "size"]),
    }


def timing(config: DetectorConfig, size: int, repeats: int = 5) -> float:
    """Median ms per frame for a ``size`` x ``size`` uint16 synthetic frame."""
    n = int(60 * (size / 512) ** 2)
    cells = random_cells((size, size), n, radius=(5, 10), touching_pairs=n // 6, seed=3)
    image = draw_cells(cells, (size, size), seed=3, dtype=np.uint16)
    detect_cells(image, config)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        detect_cells(image, config)
        times.append(1000 * (time.perf_counter() - t0))
    return float(np.median(times))


def _parse_sets(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="1-20")
    parser.add_argument("--seed", type=int, default=2, help="simulator seed (1 was used for tuning)")
    parser.add_argument("--plate", type=Path, default=None, help="reuse a folder written by ferroscreen simulate")
    parser.add_argument("--min-contrast", type=float, default=0.3)
    parser.add_argument("--hours", type=float, default=48.0)
    parser.add_argument("--interval-h", type=float, default=12.0)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    cv2.setNumThreads(1)

    adherent = DetectorConfig.preset("adherent_10x")
    if USIIGACI.is_dir():
        table = usiigaci(_parse_sets(args.sets), adherent)
        print(f"== Usiigaci phase contrast, preset adherent_10x: {adherent.to_dict()}")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        odd = table["set"] % 2 == 1
        groups = (("all sets", table), ("tuning (odd)", table[odd]), ("held-out (even)", table[~odd]))
        for name, part in groups:
            s = summarize_counts(int(part.tp.sum()), int(part.fp.sum()), int(part.fn.sum()))
            print(
                f"{name:9s} ({len(part)} images): P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}"
                f"  ({part.ms.mean():.1f} ms/frame 1022x1024)"
            )
    else:
        print(f"== Usiigaci: skipped ({USIIGACI} absent)")

    suspension = DetectorConfig.preset("suspension")
    frames, source = simulated_plate(args.seed, args.hours, args.size, args.plate, args.interval_h)
    print(f"\n== Simulated ({source}), {len(frames)} frames, preset suspension")
    for name, level in (("all cells", 0.0), (f"visible cells (contrast >= {args.min_contrast})", args.min_contrast)):
        res = simulated(frames, suspension, level)
        o = res["overall"]
        print(
            f"-- {name}: P {o['precision']:.3f}  R {o['recall']:.3f}  F1 {o['f1']:.3f}"
            f"  (tp {o['tp']} fp {o['fp']} fn {o['fn']})"
        )
        print("recall by class:\n" + res["by_class"].to_string(float_format=lambda v: f"{v:.3f}"))
        print("recall by stage:\n" + res["by_stage"].to_string(float_format=lambda v: f"{v:.3f}"))

    print("\n== Speed (1 thread, median of 5)")
    for size in (512, 1104):
        print(f"suspension {size}x{size}: {timing(suspension, size):.1f} ms/frame")
    print(f"adherent_10x 1104x1104: {timing(adherent, 1104):.1f} ms/frame")


if __name__ == "__main__":
    main()
