"""The simulator's ground truth: ``truth_cells.csv`` and ``truth.json``.

Definitions (also in ``docs/simulator.md``):

* A **cell** is listed for a frame when it exists at that time (born, not yet
  divided, and — if dead — not yet *gone*, i.e. its fading stage is not over)
  and its centre lies inside the image (``0 <= x < width``, ``0 <= y < height``).
  Cells are listed even on ``empty`` or ``defocused`` frames (see
  ``truth.json['frames']`` for those).
* Its **class** is ``alive`` until its death onset, then its death mode
  (``apoptosis``, ``ferroptosis``, ``necroptosis``) for every later stage,
  fading included.
* **n_cells** of a well at a time is the number of listed cells summed over the
  well's fields; ``frac_<class>`` is ``n_<class> / n_cells`` (0 when no cells).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.simulate.library import CLASSES

#: Columns of ``truth_cells.csv``.
CELL_COLUMNS = [
    "plate", "well", "field", "time_h", "cell_id", "x", "y", "radius",
    "class", "stage", "contrast", "parent_id",
]


def cells_frame(records: dict[str, list]) -> pd.DataFrame:
    """A typed truth-cell table from column lists (columns :data:`CELL_COLUMNS`)."""
    df = pd.DataFrame({c: records[c] for c in CELL_COLUMNS})
    return df.astype({"field": int, "cell_id": int, "parent_id": int, "time_h": float})


def timecourse(cells: pd.DataFrame, wells: list[str], times_h: list[float]) -> pd.DataFrame:
    """Per well × time: ``n_cells``, ``n_<class>`` and ``frac_<class>`` (all fields pooled).

    Wells or times without any cell get zero counts and fractions.
    """
    grid = pd.MultiIndex.from_product([wells, times_h], names=["well", "time_h"])
    counts = (
        cells.groupby(["well", "time_h", "class"]).size().unstack("class", fill_value=0)
        if len(cells)
        else pd.DataFrame(index=grid)
    )
    counts = counts.reindex(grid, fill_value=0)
    out = pd.DataFrame(index=grid)
    for c in CLASSES:
        out[f"n_{c}"] = counts[c].astype(int) if c in counts else 0
    out.insert(0, "n_cells", out[[f"n_{c}" for c in CLASSES]].sum(1).astype(int))
    denom = out["n_cells"].where(out["n_cells"] > 0, 1)
    for c in CLASSES:
        out[f"frac_{c}"] = (out[f"n_{c}"] / denom).round(6)
    return out.reset_index()


def write_truth(out: Path, cells: pd.DataFrame, meta: dict, wells: list[str],
                times_h: list[float]) -> tuple[Path, Path]:
    """Write ``truth_cells.csv`` and ``truth.json`` (``meta`` plus the timecourses).

    Returns:
        The two paths.
    """
    cells = cells.sort_values(["well", "field", "time_h", "cell_id"], kind="stable")
    csv_path = out / "truth_cells.csv"
    cells = cells.assign(
        x=cells["x"].round(2), y=cells["y"].round(2), radius=cells["radius"].round(2),
        contrast=cells["contrast"].round(3), time_h=cells["time_h"].round(4),
    )
    cells.to_csv(csv_path, index=False)
    tc = timecourse(cells, wells, times_h)
    doc = dict(meta)
    doc["timecourses"] = [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in tc.to_dict(orient="records")
    ]
    json_path = out / "truth.json"
    json_path.write_text(json.dumps(doc, indent=1, sort_keys=False, allow_nan=False) + "\n")
    return csv_path, json_path


def read_truth(out: str | Path) -> tuple[dict, pd.DataFrame]:
    """Read ``truth.json`` and ``truth_cells.csv`` of a simulated plate folder."""
    out = Path(out)
    meta = json.loads((out / "truth.json").read_text())
    cells = pd.read_csv(out / "truth_cells.csv", dtype={"well": str, "plate": str})
    return meta, cells
