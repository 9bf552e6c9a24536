"""Time the reference simulation: 96-well plate, 2 fields, 13 time points, 512×512 px.

Usage: .venv/bin/python benchmarks/simulate_speed.py [--workers N] [--keep OUT]
Target (issue 3): under 2 minutes on a 2-core machine. CPU seconds are printed too: on a
shared machine the wall time mostly measures the other jobs (CPU / 2 is the wall time on two
free cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep the output")
    a = ap.parse_args()
    out = a.keep or Path(tempfile.mkdtemp(prefix="ferroscreen-bench-"))
    config = SimulationConfig(plate_format=96, fields=2, hours=48, interval_h=4,
                              image_size=(512, 512), seed=0, workers=a.workers)
    def cpu() -> float:
        me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    t0, c0 = time.perf_counter(), cpu()
    res = simulate_plate(out, load_library("demo"), config, replace=True)
    dt, dc = time.perf_counter() - t0, cpu() - c0
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"simulate 96-well × 2 fields × {len(config.times_h)} time points, 512×512 px: "
        f"{dt:.1f} s wall, {dc:.1f} s CPU, load average {os.getloadavg()[0]:.1f} "
        f"({res.n_images} images, {res.n_cells} truth cells, "
        f"{size / 1e6:.0f} MB, {config.workers or os.cpu_count()} workers)"
    )
    if a.keep is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
