"""``ferroscreen fit`` says what the analysis layer warns of in its input as its own ``note:`` lines, once.

Was: :class:`~ferroscreen.analysis.inputs.AnalysisInputWarning` (infinite responses left out, doses read
as molar that look like µM) reached stderr as Python's two-line warning (``...: AnalysisInputWarning: ...``
and the source line ``return callback(**use_params)``), and a tidy table's molar-dose note was said twice:
by the warning and by ``fit``'s own copy of the check.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from ..cli_process import run_command
from .conftest import synthetic_screen


def _fit(*args) -> tuple[int, str, str]:
    proc = run_command([sys.executable, "-m", "ferroscreen.cli", "fit", *map(str, args)],
                       capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def _curve(dose_scale: float) -> pd.DataFrame:
    doses = np.repeat([0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10], 2) * dose_scale
    response = 1 / (1 + (doses / (0.5 * dose_scale)) ** 1.2) + np.tile([-0.02, 0.02], 8)
    return pd.DataFrame({"curve": "X", "dose": doses, "response": response})


def _notes(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ln.startswith("note:")]


def test_infinite_responses_are_one_note_not_a_python_warning(tmp_path):
    table = _curve(1e-6)
    table.loc[5, "response"] = np.inf
    table.to_csv(tmp_path / "t.csv", index=False)
    code, stdout, stderr = _fit(tmp_path / "t.csv", "--out", tmp_path / "out")
    assert code == 0, stderr
    assert _notes(stdout) == [f"note: {tmp_path / 't.csv'}: 1 infinite response(s) left out (row 7; curve X): an "
                              f"infinite value is no reading (a division by zero before the fit?)"]
    assert "Warning" not in stderr and "warn" not in stderr.lower(), stderr


def test_micromolar_doses_read_as_molar_are_one_note(tmp_path):
    _curve(1.0).to_csv(tmp_path / "t.csv", index=False)  # µM numbers in a 'dose' column: 10 M at the top
    code, stdout, stderr = _fit(tmp_path / "t.csv", "--out", tmp_path / "out")
    assert code == 0, stderr
    notes = _notes(stdout)
    assert len(notes) == 1 and stdout.count("read as molar") == 1, stdout
    assert notes[0].startswith(f"note: {tmp_path / 't.csv'}: doses are read as molar and the largest is 10 M")
    assert notes[0].endswith(", or give --columns dose=COL:uM")
    assert "Warning" not in stderr, stderr


def test_a_table_left_empty_by_infinite_responses_says_why_in_its_error(tmp_path):
    table = _curve(1e-6).assign(response=np.inf)
    table.to_csv(tmp_path / "t.csv", index=False)
    code, stdout, stderr = _fit(tmp_path / "t.csv", "--out", tmp_path / "out")
    assert code == 2 and stdout == ""
    assert stderr == (f"error: {tmp_path / 't.csv'}: no rows with a response; {tmp_path / 't.csv'}: 16 infinite "
                      f"response(s) left out (row 2, row 3, row 4 and 13 more; curve X): an infinite value is no "
                      f"reading (a division by zero before the fit?)\n")


def test_an_infinite_viability_in_a_screen_is_one_note(tmp_path):
    """A time point whose vehicle wells counted no cells: each well's viability there is infinite."""
    wells, layout = synthetic_screen(seed=3)
    vehicle = layout.table.loc[layout.table["role"] == "vehicle", "well"]
    wells = wells[["plate", "well", "time_h", "n_cells"]].copy()
    wells.loc[wells["well"].isin(vehicle) & (wells["time_h"] == 24), "n_cells"] = 0
    wells.to_csv(tmp_path / "wells.csv", index=False)
    layout.to_csv(tmp_path / "layout.csv")
    code, stdout, stderr = _fit(tmp_path / "wells.csv", "--layout", tmp_path / "layout.csv", "--out",
                                tmp_path / "out", "--over-time")
    assert code == 0, stderr
    infinite = [n for n in _notes(stdout) if "infinite response(s) left out" in n]
    assert len(infinite) == 1 and "@ 24 h" in infinite[0], stdout
    assert "Warning" not in stderr, stderr
