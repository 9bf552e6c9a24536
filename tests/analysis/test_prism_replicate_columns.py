"""Prism sheets: each replicate column holds one plate's wells."""

from __future__ import annotations

import pandas as pd
import pytest

from ferroscreen.analysis.results_workbook import prism_table


def test_an_excluded_well_leaves_its_plates_cell_empty():
    """Three plates, one well per dose each; plate P1's well at 1 uM is excluded. With a count per dose, P2's
    well moved into '#1' and P3's into '#2' at that dose only, so a column mixed plates."""
    rows = [{"readout": "viability", "curve": "RSL3", "dose": dose, "plate": plate, "well": well,
             "response": {"P1": 0.1, "P2": 0.2, "P3": 0.3}[plate] + dose * 1e6}
            for plate in ("P1", "P2", "P3") for dose, well in ((1e-7, "B02"), (1e-6, "B03"))
            if not (plate == "P1" and dose == 1e-6)]
    table = prism_table(pd.DataFrame(rows), "viability")
    assert list(table.columns) == ["log10 dose (M)", "RSL3 #1", "RSL3 #2", "RSL3 #3"]
    assert table.iloc[0, 1:].tolist() == pytest.approx([0.2, 0.3, 0.4])
    assert pd.isna(table.iloc[1, 1]) and table.iloc[1, 2:].tolist() == pytest.approx([1.2, 1.3])


def test_a_plate_with_two_wells_per_dose_has_two_columns():
    rows = pd.DataFrame({"curve": ["A"] * 5, "dose": [1e-6] * 5, "response": [1, 2, 3, 4, 5],
                         "plate": ["P2", "P1", "P1", "P2", "P3"], "well": ["C01", "C02", "C01", "C02", "C01"]})
    table = prism_table(rows)
    # P1: C01 (3), C02 (2); P2: C01 (1), C02 (4); P3: C01 (5)
    assert table.iloc[0, 1:].tolist() == [3, 2, 1, 4, 5]
    two = prism_table(rows[rows["well"] != "C02"])  # P1 and P2 lose their second wells: one column each
    assert list(two.columns) == ["log10 dose (M)", "A #1", "A #2", "A #3"]


def test_wells_without_a_plate_column_keep_every_replicate():
    """Grouping by well when there was no plate made each well its own replicate 1: one well per dose kept."""
    from ferroscreen.analysis.results_workbook import prism_table

    doses = pd.DataFrame({"curve": ["A"] * 4, "dose": [1e-6, 1e-6, 1e-5, 1e-5], "response": [1, 2, 3, 4],
                          "well": ["A1", "A2", "A3", "A4"]})
    table = prism_table(doses)
    assert table["A #1"].tolist() == [1, 3] and table["A #2"].tolist() == [2, 4]
