"""A table fit cannot read says what to do with it: rename a per-well table's columns, map a curve table's.

Was: a CellProfiler-style table (Metadata_Well, Count_Cells) was told to use --columns, which maps only a
dose-response table's curve, dose and response ('unknown role plate' when tried).
"""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from ferroscreen.cli import app
from ferroscreen.errors import FerroscreenError


def _refusal(tmp_path, table: pd.DataFrame) -> str:
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    res = CliRunner().invoke(app, ["fit", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and isinstance(res.exception, FerroscreenError)
    return str(res.exception)


def test_a_per_well_table_with_its_own_column_names_is_told_to_rename_them(tmp_path):
    cp = pd.DataFrame({"Metadata_Plate": ["P1"] * 4, "Metadata_Well": ["A01", "A02", "A03", "A04"],
                       "Metadata_Time": [0, 0, 24, 24], "Count_Cells": [100, 90, 80, 70]})
    message = _refusal(tmp_path, cp)
    assert "(its columns: Metadata_Plate, Metadata_Well, Metadata_Time, Count_Cells)" in message
    assert "rename them plate, well, time_h (hours), n_cells and frac_<class>" in message and "\n" not in message


def test_another_table_is_told_to_map_its_columns(tmp_path):
    message = _refusal(tmp_path, pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]}))
    assert "(its columns: a, b); name its columns with --columns curve=COL,dose=COL[:uM],response=COL" in message
