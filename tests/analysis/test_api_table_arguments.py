"""fit_curves and analyse_screen given notebook-made arguments: what they refuse, warn of, and how they name rows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ferroscreen.analysis import analyse_screen, fit_curves
from ferroscreen.analysis.inputs import AnalysisInputError, AnalysisInputWarning, layout_argument, validate_wells
from ferroscreen.errors import FerroscreenError
from ferroscreen.plate import read_layout

DOSES = np.repeat([0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4], 3)


def _curve(ec50: float = 1e-6, name: str = "A") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = 0.05 + 0.85 / (1 + (ec50 / np.maximum(DOSES, 1e-30)) ** 1.2) + rng.normal(0, 0.02, DOSES.size)
    return pd.DataFrame({"curve": name, "dose": DOSES, "response": y})


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_an_infinite_response_is_left_out_with_a_warning_naming_its_row(value):
    table = _curve()
    table.loc[5, "response"] = value
    with pytest.warns(AnalysisInputWarning, match=r"^table: 1 infinite response\(s\) left out \(index 5; curve A\)"):
        fits = fit_curves(table)
    assert fits["n_points"].iloc[0] == len(table) - 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing (NaN) response is left out without a word, as before
        fit_curves(table.assign(response=table["response"].replace([np.inf, -np.inf], np.nan)))


def test_the_infinite_response_of_a_file_is_named_by_its_row(tmp_path):
    table = _curve()
    table.loc[5, "response"] = np.inf
    with pytest.warns(AnalysisInputWarning, match=r"^t\.csv: 1 infinite response\(s\) left out \(row 7; curve A\)"):
        fit_curves(table, source="t.csv")


def test_doses_that_look_like_micromolar_are_warned_of_as_fit_notes_them():
    table = _curve()
    with pytest.warns(AnalysisInputWarning, match=r"^table: doses are read as molar and the largest is 100 M"):
        fit_curves(table.assign(dose=table["dose"] * 1e6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", AnalysisInputWarning)
        fit_curves(table)  # molar doses: nothing said


@pytest.mark.parametrize("given", ["series", "array"])
def test_a_series_or_array_is_refused_naming_the_type_expected(given):
    table = _curve()
    arg = table["response"] if given == "series" else table[["dose", "response"]].to_numpy()
    with pytest.raises(AnalysisInputError, match=r"^table: expected a pandas DataFrame \(a dose-response table"):
        fit_curves(arg)


def test_a_dataframe_row_is_named_by_its_index_label_and_a_file_row_by_its_line():
    table = _curve().set_index(pd.Index([f"r{i}" for i in range(len(DOSES))]))
    table.loc["r4", "dose"] = -1e-6
    with pytest.raises(AnalysisInputError, match=r"^table: column 'dose' index 'r4': dose must be a finite number"):
        fit_curves(table)
    plain = _curve()
    plain.loc[4, "dose"] = -1e-6
    with pytest.raises(AnalysisInputError, match=r"^t\.csv: column 'dose' row 6: dose must be a finite number >= 0, "
                                                 r"got -1e-06$"):
        fit_curves(plain, source="t.csv")


def test_an_unknown_model_is_an_analysis_input_error_and_still_a_value_error():
    with pytest.raises(AnalysisInputError, match=r"^unknown model 'll9'; expected one of ll4, ll3, ll5, ll2$") as err:
        fit_curves(_curve(), model="ll9")
    assert isinstance(err.value, ValueError) and isinstance(err.value, FerroscreenError)


def test_negative_cell_counts_are_refused_beside_fractions(screen):
    wells, layout = screen
    bad = wells.copy()
    bad.loc[5, "n_cells"] = -3
    with pytest.raises(AnalysisInputError, match=r"^table: column 'n_cells' index 5: -3 \(a count of cells, never "
                                                 r"negative\)$"):
        analyse_screen(bad, layout)
    with pytest.raises(AnalysisInputError, match=r"^wells\.csv: column 'n_cells' row 7: -3"):
        analyse_screen(bad, layout, source="wells.csv")
    metric = bad[["plate", "well", "time_h", "n_cells"]]  # a metric (a blank-subtracted read) may dip below 0
    assert validate_wells(metric)["n_cells"].min() == -3


def test_wells_that_are_not_a_dataframe_are_refused(screen):
    wells, layout = screen
    with pytest.raises(AnalysisInputError, match=r"^table: expected a pandas DataFrame \(a wells table"):
        analyse_screen(wells["n_cells"], layout)


def test_a_layout_table_as_a_dataframe_is_read_as_its_csv(screen, tmp_path):
    wells, layout = screen
    path = tmp_path / "layout.csv"
    layout.table.drop(columns=["plate_id"]).assign(unit="M").to_csv(path, index=False)
    from_file = analyse_screen(wells, read_layout(path), readouts=["frac_ferroptosis"])
    from_frame = analyse_screen(wells, pd.read_csv(path), readouts=["frac_ferroptosis"])
    assert from_frame.fits[["curve", "ec50"]].equals(from_file.fits[["curve", "ec50"]])
    micro = pd.read_csv(path).assign(concentration=lambda t: t["concentration"] * 1e6, unit="uM")
    assert np.allclose(layout_argument(micro).table["concentration"], read_layout(path).table["concentration"],
                       equal_nan=True)  # its unit converted as a file's


def test_a_missing_or_unreadable_layout_is_one_clear_error(screen):
    wells, _ = screen
    with pytest.raises(AnalysisInputError, match=r"^layout: got None; give a PlateLayout \(ferroscreen\.plate\."
                                                 r"read_layout\('layout\.csv'\)\)"):
        analyse_screen(wells, None)
    with pytest.raises(AnalysisInputError, match=r"^wells\.csv: layout: got a str"):
        analyse_screen(wells, "layout.csv", source="wells.csv")
    with pytest.raises(AnalysisInputError, match=r"^layout table"):
        analyse_screen(wells, pd.DataFrame({"well": ["A01", "A01"], "compound": ["x", "y"]}))
