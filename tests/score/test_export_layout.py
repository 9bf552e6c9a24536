"""``export`` writes every layout column the analysis reads, so that ``fit wells.csv`` needs no ``--layout``."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from ferroscreen.plate import read_layout
from ferroscreen.plate.layout import WELLS_LAYOUT_COLUMNS
from ferroscreen.score.export import wells_table

LAYOUT = """plate_id,well,compound,concentration,unit,role,replicate,growth_condition,exclude
P1,A01,DMSO,0,uM,vehicle,1,10% FBS,
P1,A02,RSL3,1,uM,sample,1,10% FBS,bubble
P1,A03,RSL3,10,uM,sample,1,serum-free,
P1,A04,TNF,5,ng/ml,sample,1,serum-free,no
"""


def _store(tmp_path):
    path = tmp_path / "layout.csv"
    path.write_text(LAYOUT)
    table = read_layout(path).table  # as score stores it: doses molar, the unit as written
    wells = pd.DataFrame({"plate": "P1", "well": ["A01", "A02", "A03", "A04"], "time_h": 0.0, "n_cells": 100,
                          "frac_alive": 0.9, "frac_ferroptosis": 0.1})
    return SimpleNamespace(wells=wells, layout=table, classes=["alive", "ferroptosis"], attrs={})


def test_export_writes_growth_condition_exclusions_and_molar_units(tmp_path):
    """Was: no ``exclude`` or ``growth_condition`` column, and ``unit`` uM beside a molar dose."""
    table = wells_table(tmp_path / "plate.h5", "frac", _store(tmp_path)).set_index("well")
    assert set(WELLS_LAYOUT_COLUMNS) <= set(table.columns)
    assert {"exclude", "growth_condition", "rescue_as_written"} <= set(WELLS_LAYOUT_COLUMNS)
    assert list(table["exclude"]) == ["", "bubble", "", ""]
    assert list(table["growth_condition"]) == ["10% FBS", "10% FBS", "serum-free", "serum-free"]
    assert table.loc["A03", "concentration"] == 1e-5 and table.loc["A03", "unit"] == "M"
    assert pd.isna(table.loc["A04", "concentration"]) and table.loc["A04", "unit"] == ""  # ng/ml: not molar


def test_a_layout_column_the_store_lacks_is_written_blank(tmp_path):
    store = _store(tmp_path)
    store.layout = store.layout.drop(columns=["growth_condition", "exclude"])
    table = wells_table(tmp_path / "plate.h5", "frac", store)
    assert (table["exclude"] == "").all() and (table["growth_condition"] == "").all()
