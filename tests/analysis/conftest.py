"""Shared fixtures: a small synthetic screen (wells table + layout) with known truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferroscreen.plate import make_layout

from ..conftest import main_in_process

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
DOSES = [1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5]

#: compound -> (mode, EC50 in M, max fraction, T50 of the kinetics in h)
TRUTH = {
    "erastin": ("ferroptosis", 3e-7, 0.8, 18.0),
    "staurosporine": ("apoptosis", 3e-8, 0.7, 10.0),
    "inert": ("ferroptosis", 1.0, 0.0, 20.0),
}


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


def _layout_rows():
    rows = []
    wells = iter(f"{r}{c:02d}" for r in "ABCDEFGH" for c in range(1, 13))
    for rep in (1, 2):
        for compound in TRUTH:
            for dose in DOSES:
                rows.append(dict(well=next(wells), compound=compound, concentration=dose,
                                 role="sample", replicate=rep))
        for dose in DOSES:
            rows.append(dict(well=next(wells), compound="erastin", concentration=dose,
                             role="rescue", rescue_agent="Fer-1", rescue_concentration=1e-6,
                             replicate=rep))
    for rep in range(8):
        rows.append(dict(well=next(wells), compound="DMSO", role="vehicle", replicate=rep + 1))
    for rep in range(4):
        rows.append(dict(well=next(wells), compound="RSL3", concentration=1e-6,
                         role="reference", mode="ferroptosis", replicate=rep + 1))
    for rep in range(4):
        rows.append(dict(well=next(wells), compound="staurosporine", concentration=1e-6,
                         role="reference", mode="apoptosis", replicate=rep + 1))
    return rows


def synthetic_screen(seed: int = 0):
    """A 96-well plate, 13 time points, three death classes, one rescue series."""
    rng = np.random.default_rng(seed)
    layout = make_layout(_layout_rows(), 96)
    times = np.arange(0, 49, 4.0)
    records = []
    for row in layout.table.itertuples(index=False):
        ferro = apo = 0.0
        if row.role in ("sample", "rescue", "reference"):
            name = row.compound
            mode, ec50, top, t50 = TRUTH.get(name, ("ferroptosis", 1e-7, 0.85, 12.0))
            if row.role == "reference" and name == "staurosporine":
                mode, ec50, top, t50 = "apoptosis", 3e-8, 0.7, 10.0
            if row.role == "rescue":
                ec50 = ec50 * 30  # Fer-1 shifts erastin 30-fold
            frac = top / (1 + (ec50 / row.concentration) ** 1.5)
            if mode == "ferroptosis":
                ferro = frac
            else:
                apo = frac
        else:
            t50 = 20.0
        n0 = 1000 * rng.uniform(0.9, 1.1)
        for t in times:
            kin = 1 / (1 + np.exp(-(t - t50) / 3.0)) - 1 / (1 + np.exp(t50 / 3.0))
            f_ferro = np.clip(0.03 + ferro * kin + rng.normal(0, 0.015), 0, 1)
            f_apo = np.clip(0.02 + apo * kin + rng.normal(0, 0.015), 0, 1)
            n = n0 * 2 ** (t / 30.0) * (1 - 0.9 * max(f_ferro + f_apo - 0.05, 0))
            records.append(dict(plate="P1", well=row.well, time_h=t, n_cells=round(n),
                                frac_alive=1 - f_ferro - f_apo, frac_apoptosis=f_apo,
                                frac_ferroptosis=f_ferro))
    return pd.DataFrame(records), layout


@pytest.fixture(scope="session")
def screen():
    return synthetic_screen()


def run_fit_main(args, monkeypatch, capsys) -> tuple[int, str, str]:
    """``ferroscreen fit ARGS`` through ``main()`` (as the console runs it): exit code, stdout, stderr."""
    return main_in_process(["fit", *args], monkeypatch, capsys)
