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

from ferroscreen.output_set import OutputSet, output_set
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

    Cells are counted at the scan time of ``times_h`` in the same whole minute as their own
    ``time_h`` (scan times are whole minutes, see :attr:`SimulationConfig.times_h`), so every row of
    ``cells`` at one of those times is counted. Wells or times without any cell get zero counts
    and fractions; the ``time_h`` column holds the values of ``times_h``.
    """
    minutes = [round(t * 60) for t in times_h]
    grid = pd.MultiIndex.from_product([wells, minutes], names=["well", "minute"])
    counts = (
        cells.assign(minute=(cells["time_h"] * 60).round().astype(int))
        .groupby(["well", "minute", "class"]).size().unstack("class", fill_value=0)
        if len(cells)
        else pd.DataFrame(index=grid)
    )
    counts = counts.reindex(grid, fill_value=0)
    grid = pd.MultiIndex.from_product([wells, list(times_h)], names=["well", "time_h"])
    counts.index = grid
    out = pd.DataFrame(index=grid)
    for c in CLASSES:
        out[f"n_{c}"] = counts[c].astype(int) if c in counts else 0
    out.insert(0, "n_cells", out[[f"n_{c}" for c in CLASSES]].sum(1).astype(int))
    denom = out["n_cells"].where(out["n_cells"] > 0, 1)
    for c in CLASSES:
        out[f"frac_{c}"] = (out[f"n_{c}"] / denom).round(6)
    return out.reset_index()


def write_truth(out: Path | OutputSet, cells: pd.DataFrame, meta: dict, wells: list[str],
                times_h: list[float]) -> tuple[Path, Path]:
    """Write ``truth_cells.csv`` and ``truth.json`` (``meta`` plus the timecourses).

    ``time_h`` is written as simulated: the scan times of :attr:`SimulationConfig.times_h`, equal
    to ``truth.json``'s ``times_h`` and to the frame table's times of the image files (1.3333 for
    ``01h20m``).

    Args:
        out: The plate folder, or the :class:`OutputSet` of a run writing into it (its owner
            commits; else both files are put in place together).
        cells: Truth-cell rows (columns :data:`CELL_COLUMNS`).
        meta: The rest of ``truth.json``.
        wells: Wells of the time courses.
        times_h: Scan times of the time courses.

    Returns:
        The two paths (where they lie once committed).
    """
    cells = cells.sort_values(["well", "field", "time_h", "cell_id"], kind="stable")
    cells = cells.assign(
        x=cells["x"].round(2), y=cells["y"].round(2), radius=cells["radius"].round(2),
        contrast=cells["contrast"].round(3),
    )
    tc = timecourse(cells, wells, times_h)
    doc = dict(meta)
    doc["timecourses"] = [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in tc.to_dict(orient="records")
    ]
    with output_set(out) as outputs:
        cells.to_csv(outputs.path("truth_cells.csv"), index=False)
        outputs.path("truth.json").write_text(json.dumps(doc, indent=1, sort_keys=False, allow_nan=False) + "\n")
    return outputs.final("truth_cells.csv"), outputs.final("truth.json")


def read_truth(out: str | Path) -> tuple[dict, pd.DataFrame]:
    """Read ``truth.json`` and ``truth_cells.csv`` of a simulated plate folder."""
    out = Path(out)
    meta = json.loads((out / "truth.json").read_text())
    cells = pd.read_csv(out / "truth_cells.csv", dtype={"well": str, "plate": str})
    return meta, cells
