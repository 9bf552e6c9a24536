"""The notebooks run top to bottom (01 on a results folder built from simulated truth)."""

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def run_notebook(path: Path, env: dict | None = None, monkeypatch=None) -> None:
    nb = nbformat.read(path, as_version=4)
    if env and monkeypatch:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()


def test_fit_your_own_table_notebook(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    run_notebook(REPO / "notebooks" / "02_fit_your_own_table.ipynb")


@pytest.fixture(scope="module")
def truth_results(tmp_path_factory):
    """A results folder from a simulated plate's true fractions (no classifier needed)."""
    from ferroscreen.analysis.fit_run import run_fit
    from ferroscreen.plate import read_layout
    from ferroscreen.simulate import SimulationConfig, load_library, simulate_plate

    root = tmp_path_factory.mktemp("nb")
    wells = "A01,B01,E02,F02,A02,C04,D04," + ",".join(f"{r}{c:02d}" for r in "ABCDEFGH" for c in (5, 6))
    simulate_plate(root / "plate", load_library("demo"),
                   SimulationConfig(plate_format=96, fields=1, hours=24, interval_h=12, image_size=(96, 96),
                                    seed=5, wells=tuple(wells.split(",")), workers=1), progress=False)
    truth = json.loads((root / "plate" / "truth.json").read_text())
    table = pd.DataFrame(truth["timecourses"])
    layout = read_layout(root / "plate" / "layout.csv")
    table["plate"] = layout.table["plate_id"].iloc[0]
    results = root / "results"
    results.mkdir()
    keep = ["plate", "well", "time_h", "n_cells"] + [c for c in table.columns if c.startswith("frac_")]
    table = table[keep].merge(layout.table[["well", "compound", "concentration", "role", "mode", "rescue_agent"]],
                              on="well", how="left")
    table.to_csv(results / "wells.csv", index=False)
    run_fit(table, "wells", results, layout=layout, source=results / "wells.csv")
    return results


def test_demo_walkthrough_notebook(truth_results, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("FERROSCREEN_RESULTS", str(truth_results))
    run_notebook(REPO / "notebooks" / "01_demo_walkthrough.ipynb")
