"""``results.xlsx``'s about sheet states the unit of every dose-like column (M) and of times (h)."""

from __future__ import annotations

import openpyxl
import pandas as pd

from ferroscreen.analysis.results_workbook import column_unit, write_results_workbook


def _rows(path, sheet):
    return list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))


def test_the_about_sheet_gives_each_dose_and_time_column_its_unit(tmp_path):
    # before: no row of the about sheet said that ec50, dose_min or the readouts' concentration are molar
    tables = {
        "ranking": pd.DataFrame({"compound": ["RSL3"], "pec50": [7.5], "ec50": [3e-8], "t50_h": [20.0]}),
        "fits": pd.DataFrame({"curve": ["RSL3"], "dose_min": [1e-9], "dose_max": [1e-5], "hill": [1.2],
                              "ec50": [3e-8], "ec50_lo": [2e-8], "ec50_hi": [4e-8], "ed90_se": [1e-8]}),
        "lines": pd.DataFrame({"compound": ["RSL3"], "ec50_a": [3e-8], "ec50_b": [1e-6], "ratio": [33.0]}),
        "ec50_over_time": pd.DataFrame({"curve": ["RSL3"], "time_h": [24.0], "ec50": [5e-8]}),
        "readouts": pd.DataFrame({"well": ["A01"], "time_end_h": [48.0], "concentration": [1e-6],
                                  "rescue_concentration": [None], "t50_ferroptosis": [12.0], "dip_rate": [0.02],
                                  "frac_ferroptosis": [0.4]}),
    }
    doses = pd.DataFrame({"readout": ["viability"], "curve": ["RSL3"], "dose": [1e-6], "response": [0.5]})
    path = write_results_workbook(tmp_path / "results.xlsx", tables, doses)
    about = _rows(path, "about")
    assert about[0][0] == "ferroscreen fit results"  # what `inspect` knows the workbook by
    head = about.index(("column", "unit", "sheets"))
    units = {r[0]: (r[1], r[2]) for r in about[head + 1:]}
    molar = "M (molar)"
    assert units["ec50"] == (molar, "ranking, fits, ec50_over_time")
    for column in ("dose_min", "dose_max", "ec50_lo", "ec50_hi", "ed90_se"):
        assert units[column] == (molar, "fits")
    assert units["ec50_a"] == units["ec50_b"] == (molar, "lines")
    assert units["concentration"] == units["rescue_concentration"] == (molar, "readouts")
    assert units["dose"] == (molar, "doses")
    assert units["pec50"] == ("-log10 of the EC50 in M", "ranking")
    for column, sheet in (("t50_h", "ranking"), ("time_h", "ec50_over_time"), ("time_end_h", "readouts"),
                          ("t50_ferroptosis", "readouts")):
        assert units[column] == ("h (hours)", sheet)
    assert units["dip_rate"][0] == "per h (log2 cell count per hour)"
    assert not {"hill", "ratio", "frac_ferroptosis", "curve", "response"} & set(units)
    # the columns keep their names (a contract): the unit is said beside them, not in them
    assert _rows(path, "fits")[0] == tuple(tables["fits"].columns)
    assert _rows(path, "doses")[0] == tuple(doses.columns)


def test_column_unit_reads_the_names_of_every_table():
    assert column_unit("ed10") == column_unit("ec50_alone") == column_unit("ec50_rescued") == "M (molar)"
    assert column_unit("onset_apoptosis") == "h (hours)"
    assert column_unit("auc") == column_unit("effect") == column_unit("auc_ferroptosis") == ""
