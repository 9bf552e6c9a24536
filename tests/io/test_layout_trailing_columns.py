"""Layout CSVs from Excel with unused trailing columns (``;;`` at each line's end) read as without them."""

from __future__ import annotations

import pytest

from ferroscreen.errors import LayoutError
from ferroscreen.plate import read_layout_csv

HEADER = "plate_id;well;compound;concentration;unit;role;replicate;exclude"
ROWS = ["VID101;A1;DMSO;0,1;%;vehicle;1;", "VID101;A2;RSL3;10000;nM;sample;1;", "VID101;A3;RSL3;333,3;nM;sample;1;"]


def _write(tmp_path, name, header, rows):
    path = tmp_path / name
    path.write_text("\ufeff" + "\r\n".join([header, *rows]) + "\r\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("extra", [1, 2, 3])
def test_trailing_empty_columns_are_left_out(tmp_path, extra):
    """Two or more unused columns were 'column '' appears twice in the header'; now read as with none."""
    plain = read_layout_csv(_write(tmp_path, "plain.csv", HEADER, ROWS)).table
    path = _write(tmp_path, "excel.csv", HEADER + ";" * extra, [r + ";" * extra for r in ROWS])
    table = read_layout_csv(path).table
    assert "" not in table.columns and list(table.columns) == list(plain.columns)
    assert table.equals(plain)
    assert table.set_index("well").loc["A03", "concentration"] == pytest.approx(333.3e-9)


def test_an_empty_column_between_named_ones_is_left_out(tmp_path):
    header = "well;;compound;concentration;unit;;"
    table = read_layout_csv(_write(tmp_path, "gaps.csv", header, ["A1;;RSL3;1;uM;;", "A2;;RSL3;2;uM;;"])).table
    assert "" not in table.columns and list(table["compound"]) == ["RSL3", "RSL3"]


@pytest.mark.parametrize(("header", "rows", "message"), [
    # the last of two unnamed columns holds a value
    (HEADER + ";;", [ROWS[0] + ";;", ROWS[1] + ";;note"],
     "unnamed.csv:3: column 10 holds 'note' but has no name in the header (name it, or delete the column)"),
    # one unnamed column with a value (was read as a column named '')
    ("well;;compound", ["A1;x;RSL3", "A2;;RSL3"], "unnamed.csv:2: column 2 holds 'x' but has no name in the header"),
    # the first of two unnamed columns holds a value (the row's cells keyed by name kept only the last)
    (HEADER + ";;", [ROWS[0] + ";;", ROWS[1] + ";note;"],
     "unnamed.csv:3: column 9 holds 'note' but has no name in the header"),
])
def test_a_value_under_no_column_name_is_a_one_line_error(tmp_path, header, rows, message):
    with pytest.raises(LayoutError) as exc:
        read_layout_csv(_write(tmp_path, "unnamed.csv", header, rows))
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_a_named_column_twice_is_still_refused(tmp_path):
    with pytest.raises(LayoutError, match="twice.csv:1: column 'compound' appears twice in the header"):
        read_layout_csv(_write(tmp_path, "twice.csv", "well;compound;compound;;", ["A1;X;Y;;"]))
