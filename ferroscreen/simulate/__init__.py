"""Synthetic brightfield time-lapse screening plates with known truth.

``simulate_plate(out, load_library("demo"), SimulationConfig())`` writes an
IncuCyte image export, ``layout.csv``, ``truth.json`` and ``truth_cells.csv``
(see ``docs/simulator.md``). Uses only :mod:`ferroscreen.plate` and
:mod:`ferroscreen.io`.
"""

from ferroscreen.simulate.config import SimulationConfig, SimulationConfigError
from ferroscreen.simulate.library import (
    CLASSES,
    DEATH_MODES,
    Compound,
    Library,
    LibraryError,
    RescueAgent,
    load_library,
)
from ferroscreen.simulate.plate_writer import SimulationResult, simulate_plate
from ferroscreen.simulate.truth import read_truth

__all__ = [
    "CLASSES",
    "DEATH_MODES",
    "Compound",
    "Library",
    "LibraryError",
    "RescueAgent",
    "SimulationConfig",
    "SimulationConfigError",
    "SimulationResult",
    "load_library",
    "read_truth",
    "simulate_plate",
]
