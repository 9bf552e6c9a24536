"""CSV tables read with one-line errors, and the command line's own errors in one line."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from ferroscreen.cli import main
from ferroscreen.csv_tables import read_csv_table
from ferroscreen.errors import FerroscreenError


@pytest.mark.parametrize(("text", "expected"), [
    ("a,b\n1,2,\n3,4,\n", {"a": [1, 3], "b": [2, 4]}),  # spreadsheet trailing delimiters
    ("\n\na;b\n1;2\n\n3;4\n", {"a": [1, 3], "b": [2, 4]}),  # blank lines, semicolons
    ("\ufeffa\tb\n1\t2\n", {"a": [1], "b": [2]}),  # byte-order mark, tabs
    ('"a,x",b\n"1,5",2\n', {"a,x": ["1,5"], "b": [2]}),  # quoted delimiters
])
def test_tables_read(tmp_path, text, expected):
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    assert read_csv_table(tmp_path / "t.csv").to_dict("list") == expected


@pytest.mark.parametrize(("content", "message"), [
    ("a,b\n1,2\n3\n", "line 3 has 1 fields where the header has 2 (a truncated or broken row)"),
    ("a,b\n1,2\n3,4,5\n", "line 3 has 3 fields where the header has 2"),
    ("", "file is empty (expected a CSV table)"),
    (b"a,b\n\x00\xfe,1\n", "not text (neither UTF-8 nor Windows-1252"),
    (b"PK\x03\x04a,b\n\xfe,1\n", "not text (neither UTF-8 nor Windows-1252"),
    (None, "is a folder, not a CSV table"),
])
def test_broken_tables_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "t.csv"
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(FerroscreenError, match="^" + str(path)) as exc:
        read_csv_table(path)
    assert message in str(exc.value)


def _run(monkeypatch, capsys, *argv):
    monkeypatch.setattr(sys, "argv", ["ferroscreen", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr()


def test_usage_and_os_errors_are_one_line(tmp_path, monkeypatch, capsys):
    code, out = _run(monkeypatch, capsys, "fit")
    assert code == 2 and out.err == "error: ferroscreen fit: Missing argument 'INPUT'. (see 'ferroscreen fit --help')\n"
    pd.DataFrame({"curve": "a", "dose": [0, 1e-6, 1e-5], "response": [1, 0.5, 0.1]}).to_csv(tmp_path / "t.csv",
                                                                                          index=False)
    (tmp_path / "taken").write_text("keep me")
    code, out = _run(monkeypatch, capsys, "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "taken"))
    assert code == 2 and "Traceback" not in out.err and len(out.err.strip().splitlines()) == 1
    assert out.err.startswith(f"error: {tmp_path / 'taken'}: File exists")
    assert (tmp_path / "taken").read_text() == "keep me"
    code, out = _run(monkeypatch, capsys, "fit", "--help")
    assert code == 0 and "Usage: ferroscreen fit" in out.out
    code, out = _run(monkeypatch, capsys, "fit", str(tmp_path / "t.csv"), "--out")  # click gives the group's context
    assert code == 2 and out.err.startswith("error: ferroscreen fit: Option '--out' requires an argument.")


def test_os_error_on_a_hidden_temporary_file_names_the_folder_and_output():
    from ferroscreen.cli import _os_error_line

    line = _os_error_line(PermissionError(13, "Permission denied", "/data/results/.wells.csv.tmp"))
    assert line == "/data/results: Permission denied (writing wells.csv)"
    assert _os_error_line(PermissionError(13, "Permission denied", "/data/x.csv")) == "/data/x.csv: Permission denied"


@pytest.mark.parametrize(("argv", "message"), [
    (["hits", "w.csv", "--out", "o", "--fdr", "2"], "--fdr must be a number > 0 and <= 1, not 2"),
    (["hits", "w.csv", "--out", "o", "--count-threshold", "nan"], "--count-threshold must be a number > 0, not nan"),
    (["detect", "x.png", "--out", "o", "--match-radius", "-1"], "--match-radius must be a number > 0, not -1"),
    (["segment", "x.png", "--out", "o", "--tile", "7"], "Invalid value for '--tile'"),
])
def test_option_values_out_of_range_are_one_line_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out = _run(monkeypatch, capsys, *argv)
    assert code == 2 and message in out.err and len(out.err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_plate_names_keep_their_leading_zeros(tmp_path):
    from ferroscreen.csv_tables import read_csv_table

    path = tmp_path / "wells.csv"
    path.write_text("plate,well,n\n0012,B03,5\n0013,B04,6\n")
    table = read_csv_table(path)
    assert table["plate"].tolist() == ["0012", "0013"] and table["n"].tolist() == [5, 6]
    path.write_text("plate,well,n\n12,B03,5\n")
    assert read_csv_table(path)["plate"].tolist() == [12]  # plain numbers stay numbers


@pytest.mark.parametrize(("text", "doses"), [
    ("well;dose;response\nA01;1.000;0,5\nA02;500;0,25\n", [1000, 500]),  # decimal commas elsewhere: a thousand
    ("well;dose;response\nA01;1.000;0.5\nA02;500;2\n", [1.0, 500]),  # decimal points elsewhere: a one
    ("well\tdose\tresponse\nA01\t1.000\t5\nA02\t500\t2\n", [1.0, 500]),  # a tab file with no comma anywhere
    ("well;dose;response\nA01;1.000;5\nA02;0.5;2\n", [1.0, 0.5]),  # the column's own decimal point
    ("well;dose;response\nA01;1.000;0,5\nA02;NA;0,25\nA03;;0,1\n", [1000, None, None]),  # NA: missing, no traceback
])
def test_a_point_before_three_digits_reads_as_the_files_other_numbers_say(tmp_path, text, doses):
    from ferroscreen.csv_tables import read_csv_table

    path = tmp_path / "t.csv"
    path.write_text(text)
    got = read_csv_table(path)["dose"].tolist()
    assert [None if v != v else v for v in got] == doses


def test_a_point_before_three_digits_nothing_explains_is_refused(tmp_path):
    from ferroscreen.csv_tables import read_csv_table

    path = tmp_path / "t.csv"
    path.write_text("well;dose;n_cells\nA01;1.000;50\nA02;500;20\n")
    with pytest.raises(FerroscreenError, match=r"t.csv: column 'dose' row 2: '1.000' could be 1000 or 1"):
        read_csv_table(path)


def test_a_long_table_whose_text_column_starts_blank_reads_without_a_dtype_warning(tmp_path):
    import warnings

    path = tmp_path / "wells.csv"
    rows = ["A01,,1"] * 400_000 + ["A02,apoptosis,2"] * 400_000  # pandas' chunks would guess float, then text
    path.write_text("well,mode,n\n" + "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_csv_table(path)
    assert table["mode"].iloc[-1] == "apoptosis" and table["mode"].isna().sum() == 400_000


def test_a_windows_1252_semicolon_table_reads_as_excel_wrote_it(tmp_path):
    """Excel's "CSV (semicolon)" on Windows: Windows-1252, decimal commas, CRLF."""
    path = tmp_path / "t.csv"
    path.write_bytes("compound;concentration (µM);viability\r\nRSL3 é;0,5;0,93\r\n".encode("cp1252"))
    table = read_csv_table(path)
    assert list(table.columns) == ["compound", "concentration (µM)", "viability"]
    assert table.iloc[0].tolist() == ["RSL3 é", 0.5, 0.93]
