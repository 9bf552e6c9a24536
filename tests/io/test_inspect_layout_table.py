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


def test_empty_and_excluded_wells_of_several_plates_are_named_with_their_plate(tmp_path):
    path = tmp_path / "layout.csv"
    rows = ["plate_id,well,compound,role,exclude"]
    for plate in ("REP1", "REP2"):
        rows += [f"{plate},B01,,empty,", f"{plate},A01,,empty,", f"{plate},A02,DMSO,vehicle,",
                 f"{plate},A03,RSL3,sample,{'bubble' if plate == 'REP2' else ''}"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    info = inspect_path(path)
    assert info["empty_wells"] == ["REP1 A01", "REP1 B01", "REP2 A01", "REP2 B01"]
    text = render_inspection(info)
    assert "empty wells (4): REP1 A01, REP1 B01, REP2 A01, REP2 B01" in text
    assert "left out of fits and QC): REP2 A03 (bubble)" in text
    one = tmp_path / "one.csv"  # one plate: the wells alone
    one.write_text("\n".join(r for r in rows if not r.startswith("REP2")) + "\n", encoding="utf-8")
    assert "  empty wells (2): A01, B01" in render_inspection(inspect_path(one)).splitlines()


def test_a_plate_read_naming_no_plate_keeps_its_name_beside_a_layout_naming_none(tmp_path):
    """A layout file without plate ids is every plate's map: the read is named by its own file, as fit names it."""
    read = tmp_path / "ctg_long_REP1.csv"
    read.write_text("Well,Lum\nA1,100\nA2,5000\nA3,2500\n", encoding="utf-8")
    layout = tmp_path / "layout_oneplate.csv"
    layout.write_text("well,compound,concentration,unit,role\nA1,,,,empty\nA2,DMSO,,,vehicle\nA3,RSL3,1,uM,sample\n",
                      encoding="utf-8")
    check = inspect_path(read, layout)["layout_check"]
    assert check["plates"] == {"ctg_long_REP1": "layout_oneplate"} and not check["plates_not_in_layout"]
    named = tmp_path / "named.csv"  # a layout naming its one plate names an unnamed read after it
    named.write_text("plate_id,well,compound,role\nP7,A1,,empty\nP7,A2,DMSO,vehicle\nP7,A3,RSL3,sample\n",
                     encoding="utf-8")
    assert inspect_path(read, named)["layout_check"]["plates"] == {"P7": "P7"}
