"""Small score stores and layouts as ``score`` writes them, for the ``fit`` tests.

One plate: four vehicle wells (row A), two ferroptosis reference wells (row B, all dying by 24 h)
and a six-dose compound (row C) killing with dose and time; frames at 0, 24 and 48 h; two classes
(``alive``, ``ferroptosis``) whose per-cell probabilities scatter around the true dying fraction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferroscreen.plate import read_layout
from ferroscreen.score.merge import merge_journals
from ferroscreen.score.shard import ShardWriter
from ferroscreen.score.store import DONE, new_frame_table

CLASSES = ["alive", "ferroptosis"]
DOSES_UM = [0.001, 0.01, 0.1, 1, 10, 100]
TIMES = [0.0, 24.0, 48.0]
TILES = 4  # a 448 px frame cut into 224 px tiles


def layout_rows(plate: str, compound: str) -> list[str]:
    """Layout CSV rows of ``plate`` whose row C holds ``compound``."""
    rows = [f"{plate},A{c:02d},DMSO,0,uM,vehicle,,{c}" for c in range(1, 5)]
    rows += [f"{plate},B{c:02d},RSL3,1,uM,reference,ferroptosis,{c}" for c in range(1, 3)]
    rows += [f"{plate},C{i + 1:02d},{compound},{d:g},uM,sample,,1" for i, d in enumerate(DOSES_UM)]
    return rows


def layout_csv(tmp_path, plates: dict[str, str], name: str = "layout.csv"):
    """A layout file of ``plates`` (plate -> the compound of its row C) at ``tmp_path / name``."""
    rows = ["plate_id,well,compound,concentration,unit,role,mode,replicate"]
    for plate, compound in plates.items():
        rows += layout_rows(plate, compound)
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def dying(well: str, t: float) -> float:
    """The true fraction dying in ``well`` at ``t`` h (the reference and the high doses kill)."""
    if well.startswith("B"):
        return min(1.0, t / 24.0)
    if well.startswith("C"):
        dose = DOSES_UM[int(well[1:]) - 1]
        return (t / 48.0) * dose / (dose + 0.5)
    return 0.0


def n_cells(well: str, t: float) -> int:
    """Cells left in ``well`` at ``t`` h: the vehicle doubles daily, a killing dose does not."""
    return int(round(60 * 2 ** (t / 24) * (1 - dying(well, t)) + 5))


def toy_store(tmp_path, plate: str = "P1", compound: str = "killer", mode: str = "cells", stem: str | None = None):
    """A score store of ``plate`` at ``tmp_path / (stem or plate).h5``, its layout stored.

    ``mode`` is the detector's: ``cells`` records one cell per :func:`n_cells`, ``tiles``
    :data:`TILES` records per frame (a tile-mode store, whose ``n_cells`` counts tiles).
    """
    stem = stem or plate
    layout = read_layout(layout_csv(tmp_path, {plate: compound}, f"layout_{stem}.csv")).table
    wells = list(layout["well"])
    frames = new_frame_table(pd.DataFrame(
        [{"plate": plate, "well": w, "field": 1, "channel": "phase", "z": 0, "time_h": t, "path": f"/x/{w}_{t:g}.tif"}
         for t in TIMES for w in wells]))
    journal = tmp_path / f"rank-{stem}.h5"
    writer = ShardWriter(journal, len(CLASSES))
    rng = np.random.default_rng(0)
    for i, row in frames.iterrows():
        n = TILES if mode == "tiles" else n_cells(row["well"], row["time_h"])
        p_dead = np.clip(dying(row["well"], row["time_h"]) + rng.normal(0, 0.05, n), 0.01, 0.99)
        prob = np.stack([1 - p_dead, p_dead], axis=1).astype(np.float32)
        result = {"frame": i, "status": DONE, "reason": "", "n_cells": n, "cell_start": 0, "cell_stop": n,
                  "height": 448, "width": 448, "focus": 1.0, "empty": 0, "file_size": 10, "file_mtime": 1.0}
        cells = {"frame": np.full(n, i, np.int64), "x": rng.random(n, dtype=np.float32) * 448,
                 "y": rng.random(n, dtype=np.float32) * 448, "radius": np.ones(n, np.float32),
                 "score": np.ones(n, np.float32), "prob": prob}
        writer.commit([result], cells)
    writer.close()
    attrs = {"classes": CLASSES, "confusion": np.eye(len(CLASSES)).tolist(), "plate": plate,
             "detector": {"mode": mode, "method": "radial", "tile_size": 224, "tile_stride": None}}
    path = tmp_path / f"{stem}.h5"
    merge_journals(path, attrs, frames, layout, [journal], False)
    return path
