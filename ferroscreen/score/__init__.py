"""Plate scoring: streaming death-mode inference into a crash-safe per-plate HDF5 store.

Entry points: :func:`score_plate` (``ferroscreen score``), :func:`export_wells`
(``ferroscreen export``), :func:`read_store` / :func:`read_cells` (reading a store).
"""

from ferroscreen.score.export import export_wells, wells_table
from ferroscreen.score.runner import score_plate
from ferroscreen.score.store import DONE, FAILED, PENDING, PlateStore, StoreError, read_cells, read_store

__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "PlateStore",
    "StoreError",
    "export_wells",
    "read_cells",
    "read_store",
    "score_plate",
    "wells_table",
]
