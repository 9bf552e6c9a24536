"""The plate layer driven from Python (a notebook): exclusion flags, make_layout, read_layouts, rowcol_to_well."""

import math

import numpy as np
import pandas as pd
import pytest

from ferroscreen.errors import LayoutError, WellError
from ferroscreen.plate import exclusion_reasons, make_layout, read_layout, read_layouts, rowcol_to_well

HEADER = "plate_id,well,compound,concentration,unit,role,mode,rescue_agent,rescue_concentration,replicate,cell_line\n"


def _layout_csv(tmp_path, name="layout.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "P1,A1,DMSO,,,vehicle,,,,1,\n" + "P1,A2,RSL3,1,uM,sample,,,,1,\n"
                    + "P1,A3,RSL3,250,nM,sample,,Fer-1,1,1,\n" + "P1,A4,DMSO,0.1,%,vehicle,,,,1,\n", encoding="utf-8")
    return path


# --- exclusion flags -----------------------------------------------------------------------------------------------

def test_zero_in_any_spelling_keeps_the_well():
    kept = ["0.0", "0.00", "-0", "0,0", 0.0, 0, np.float32(0), False, np.bool_(False), pd.NA, None, np.nan,
            np.float32("nan"), pd.NaT, "<NA>", "NA", "nan"]
    assert exclusion_reasons(kept) == [""] * len(kept)


def test_a_number_other_than_zero_excludes_the_well():
    assert exclusion_reasons(["1.0", 1, 1.0, 2, "1,0", True, "bubble"]) == ["excluded"] * 6 + ["bubble"]


def test_a_pandas_written_zero_one_column_with_a_blank_excludes_one_well(tmp_path):
    table = pd.DataFrame({"plate_id": "P1", "well": [f"{'ABCDEFGH'[i // 12]}{i % 12 + 1:02d}" for i in range(96)],
                          "compound": "RSL3", "concentration": 1e-6, "unit": "M", "role": "sample"})
    table["exclude"] = 0
    table.loc[3, "exclude"] = 1
    table.loc[4, "exclude"] = np.nan  # the blank cell: pandas writes the column as 0.0/1.0
    table.to_csv(tmp_path / "flags.csv", index=False)
    assert ",0.0\n" in (tmp_path / "flags.csv").read_text()
    counts = read_layout(tmp_path / "flags.csv").table["exclude"].value_counts().to_dict()
    assert counts == {"": 95, "excluded": 1}


# --- make_layout ---------------------------------------------------------------------------------------------------

def test_make_layout_converts_a_records_unit_to_molar():
    lay = make_layout([
        {"well": "A1", "compound": "RSL3", "concentration": 1, "unit": "uM", "role": "sample"},
        {"well": "A2", "compound": "RSL3", "concentration": 250, "unit": "nM", "rescue_agent": "Fer-1",
         "rescue_concentration": 1},  # the rescue dose in the record's unit, as a CSV's
        {"well": "A3", "compound": "erastin", "concentration": 1e-6},  # no unit: molar, as before
        {"well": "A4", "compound": "DMSO", "concentration": 0.1, "unit": "%", "role": "vehicle"},
    ])
    t = lay.well_table()
    assert t.loc["A01", "concentration"] == 1e-6 and t.loc["A01", "unit"] == "uM"
    assert t.loc["A01", "concentration_raw"] == 1
    assert t.loc["A02", "concentration"] == 2.5e-7 and t.loc["A02", "rescue_concentration"] == 1e-9
    assert t.loc["A03", "concentration"] == 1e-6 and t.loc["A03", "unit"] == "M"
    assert math.isnan(t.loc["A04", "concentration"]) and t.loc["A04", "unit"] == "%"
    assert t.loc["A04", "concentration_raw"] == 0.1


def test_make_layout_keeps_doses_of_records_without_units_as_they_were():
    table = make_layout([{"well": "A1", "compound": "X", "concentration": 1e-6, "unit": "M"},
                         {"well": "A2", "compound": "X", "concentration": "3e-7"}]).table
    assert table["concentration"].tolist() == [1e-6, 3e-7] and table["unit"].tolist() == ["M", "M"]
    assert "concentration_raw" not in table.columns


def test_make_layout_of_a_read_layouts_table_does_not_convert_again(tmp_path):
    read = read_layout(_layout_csv(tmp_path))
    again = make_layout(read.table.to_dict("records"), read.plate_format).table
    cols = ["well", "concentration", "unit", "concentration_raw", "rescue_concentration"]
    pd.testing.assert_frame_equal(again[cols], read.table[cols])


def test_make_layout_refuses_an_unknown_unit():
    with pytest.raises(LayoutError, match=r"^layout: record 2: unknown unit 'uMol/x' for concentration \("):
        make_layout([{"well": "A1", "concentration": 1e-6},
                     {"well": "A2", "compound": "X", "concentration": 1, "unit": "uMol/x"}])


def test_make_layout_refuses_a_dose_that_is_no_number():
    with pytest.raises(LayoutError, match=r"^layout: record 1: concentration 'lots' is not a number$"):
        make_layout([{"well": "A1", "compound": "X", "concentration": "lots"}])


def test_make_layout_refuses_a_duplicate_well(tmp_path):
    with pytest.raises(LayoutError, match=r"^layout: record 2: duplicate well A01 \(first in record 1\)$"):
        make_layout([{"well": "A1", "compound": "RSL3"}, {"well": "a01", "compound": "X"}])
    with pytest.raises(LayoutError, match=r"^lay\.csv: record 3: duplicate well B02 of plate P2 \(first in "):
        make_layout([{"plate_id": "P1", "well": "B2"}, {"plate_id": "P2", "well": "B2"},
                     {"plate_id": "P2", "well": "B02"}], source="lay.csv")


def test_make_layout_refuses_an_unknown_role():
    with pytest.raises(LayoutError, match=r"^layout: record 2: unknown role 'sampel' \(one of sample, vehicle, "):
        make_layout([{"well": "A1", "role": "sample"}, {"well": "A2", "role": "sampel"}])
    table = make_layout([{"well": "A1", "role": "Vehicle"}, {"well": "A2"}, {"well": "A3", "role": np.nan}]).table
    assert table["role"].tolist() == ["vehicle", "sample", "sample"]


def test_make_layout_takes_a_dataframe():
    df = pd.DataFrame({"well": ["A1", "A2"], "compound": ["DMSO", "RSL3"], "concentration": [0, 0.1],
                       "unit": ["uM", "uM"], "role": ["vehicle", "sample"]})
    table = make_layout(df).table
    assert table["well"].tolist() == ["A01", "A02"]
    assert table["concentration"].tolist() == [0.0, 1e-7]


# --- read_layouts and rowcol_to_well -------------------------------------------------------------------------------

def test_read_layouts_takes_one_path_as_str_or_path(tmp_path):
    path = _layout_csv(tmp_path)
    for given in (str(path), path):
        assert read_layouts(given).table.equals(read_layout(path).table)
    with pytest.raises(LayoutError, match=r"^no layout file given$"):
        read_layouts([])


@pytest.mark.parametrize("row, col", [(40, 0), (32, 0), (0, 48), (0, 60)])
def test_rowcol_beyond_every_format_is_refused(row, col):
    with pytest.raises(WellError, match=rf"^row {row}, column {col} \(zero-based\) is outside every plate format"):
        rowcol_to_well(row, col)


def test_rowcol_of_the_largest_format_still_named():
    assert rowcol_to_well(31, 47) == "AF48" and rowcol_to_well(26, 0) == "AA01"
