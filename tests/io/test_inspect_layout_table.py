"""inspect on a layout table with a dose column and empty cells, a curve table with empty names, and JSON without NaN."""

import json

from ferroscreen.io.inspection import inspect_path, render_inspection
from ferroscreen.json_output import dumps_strict as inspection_json
from ferroscreen.json_output import strict_json_value as json_ready

LAYOUT = """Well Position,Treatment,Dose,Type
A01,,,Empty
A02,,,Empty
B02,DMSO 0.1%,,Negative control
B03,RSL3,10µM,Compound
B04,RSL3,3.33 uM,Compound
B05,RSL3,1111 nM,Compound
"""


def test_layout_table_with_a_dose_column_is_a_layout(tmp_path):
    path = tmp_path / "layout_messy.csv"
    path.write_text(LAYOUT, encoding="utf-8")
    info = inspect_path(path)
    assert info["kind"] == "layout"
    assert info["compounds"]["RSL3"] == [1.111e-06, 3.33e-06, 1e-05]
    text = render_inspection(info)
    assert "layout (csv)" in text and "RSL3" in text
    json.loads(inspection_json(info))


def test_curve_table_with_empty_names_renders_and_writes_null(tmp_path):
    path = tmp_path / "curves.csv"
    path.write_text("compound,dose,response\n,1,0.5\nRSL3,2,\nRSL3,3,0.2\n", encoding="utf-8")
    info = inspect_path(path)
    assert info["kind"] == "curve_table" and info["curves"] == ["RSL3"]
    assert "curves (1): RSL3" in render_inspection(info)
    text = inspection_json(info)
    assert "NaN" not in text and json.loads(text)["first_h"] is None


def test_json_ready_turns_nan_and_inf_into_null():
    import numpy as np

    info = {"a": float("nan"), "b": [np.float64("inf"), 1.5, np.int64(3)], "c": {"d": -np.inf, "e": "x"}}
    assert json_ready(info) == {"a": None, "b": [None, 1.5, 3], "c": {"d": None, "e": "x"}}
    assert json.loads(inspection_json(info)) == {"a": None, "b": [None, 1.5, 3], "c": {"d": None, "e": "x"}}
