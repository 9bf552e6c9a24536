"""``ferroscreen export``: the store's per well x time table as ``wells.csv``.

Columns: ``plate, well, time_h, n_cells, frac_<class>...`` (the contract the
dose-response engine reads), then ``share_<class>...``, ``corr_<class>...``,
``mean_confidence``, frame counts and QC flags (see
:mod:`ferroscreen.score.aggregate`), then the layout columns ``compound,
concentration, unit, role, mode, rescue_agent, rescue_concentration,
replicate, cell_line`` when the store holds a layout.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ferroscreen.score.store import read_store

LAYOUT_JOIN = ["compound", "concentration", "unit", "role", "mode", "rescue_agent", "rescue_concentration",
               "replicate", "cell_line"]


def wells_table(store_path: str | Path) -> pd.DataFrame:
    """The store's well aggregates joined with its layout, in ``wells.csv`` column order."""
    store = read_store(store_path)
    wells = store.wells.copy()
    classes = store.classes
    head = ["plate", "well", "time_h", "n_cells", *[f"frac_{c}" for c in classes]]
    rest = [c for c in wells.columns if c not in head]
    wells = wells[head + rest]
    if store.layout is not None and len(store.layout):
        lay = store.layout.drop_duplicates("well").set_index("well")
        for col in LAYOUT_JOIN:
            if col in lay.columns:
                wells[col] = wells["well"].map(lay[col])
    return wells


def export_wells(store_path: str | Path, out_dir: str | Path) -> Path:
    """Write ``out_dir/wells.csv`` from a store; returns its path."""
    out_dir = Path(out_dir)
    table = wells_table(store_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "wells.csv"
    tmp = out_dir / ".wells.csv.tmp"
    table.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(path)
    return path
