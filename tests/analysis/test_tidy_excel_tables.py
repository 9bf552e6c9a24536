"""Dose-response tables saved by Excel in a European locale: semicolons, decimal commas, units in names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferroscreen.analysis.inputs import AnalysisInputError, read_table_csv
from ferroscreen.cli import app
from ferroscreen.csv_tables import read_csv_table
from ferroscreen.errors import FerroscreenError

#: Planted truth: EC50 (uM), Hill slope, bottom; Cmpd-Z does nothing.
TRUTH = {"RSL3": (0.08, 1.5, 0.05), "Erastin": (2.0, 2.0, 0.1), "ML162": (0.03, 1.2, 0.05), "Cmpd-Z": (None, 1, 1)}


def _excel_table(path, dose_unit="µM", decimal=",", sep=";", response="Viability (%)", with_response=True):
    """A table as Excel (de-DE) saves it: BOM, CRLF, two unused trailing columns, dates as text."""
    rng = np.random.default_rng(3)
    doses = [30 / 3**i for i in range(10)]  # uM
    scale = {"µM": 1, "nM": 1000}[dose_unit]
    cols = ["Compound", f"Conc ({dose_unit})", *([response] if with_response else []), "Replicate", "Date",
            "Operator"]
    lines = [sep.join([*cols, "", ""])]
    for name, (ec, hill, bottom) in TRUTH.items():
        for rep in (1, 2, 3):
            for d in doses:
                v = 1.0 if ec is None else bottom + (1 - bottom) / (1 + (d / ec) ** hill)
                y = f"{100 * v * rng.normal(1, 0.04):.2f}".replace(".", decimal)
                ds = f"{d * scale:.6g}".replace(".", decimal)
                cells = [name, ds, *([y] if with_response else []), str(rep), "15.01.2024", "AB", "", ""]
                lines.append(sep.join(f'"{c}"' if sep in c else c for c in cells))
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize(("name", "unit", "decimal"), [
    ("tidy_excel.csv", "µM", ","),  # was: "'3,33333' is not a number"
    ("tidy_excel_nM.csv", "nM", ","),  # was: 'Replicate' fitted as the response, exit 0
    ("tidy_point_nM.csv", "nM", "."),  # was: missing column(s) response
])
def test_excel_tables_fit_the_planted_truth(tmp_path, name, unit, decimal):
    path = _excel_table(tmp_path / name, unit, decimal)
    res = CliRunner().invoke(app, ["fit", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "column 'Viability (%)' used as 'response'" in res.output and "'Replicate'" not in res.output
    fits = pd.read_csv(tmp_path / "o" / "fits.csv").set_index("curve")
    for compound, (ec50, _, _) in TRUTH.items():
        if ec50 is None:
            assert fits.loc[compound, "call"] == "inactive"
        else:
            assert fits.loc[compound, "call"] == "active"
            assert fits.loc[compound, "ec50"] == pytest.approx(ec50 * 1e-6, rel=0.25), compound


def test_named_response_with_decimal_commas_and_inspect(tmp_path):
    path = _excel_table(tmp_path / "t.csv")
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(path), "--columns", "response=Viability (%)", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output  # was: "'5,48' is not a number"
    res = runner.invoke(app, ["inspect", str(path)])
    assert res.exit_code == 0, res.output
    assert "positive doses: 10 distinct" in res.output and "empty values: 0" in res.output  # was: 2 and 96
    assert "Unnamed" not in res.output


def test_semicolon_and_tab_tables_read_decimal_commas(tmp_path):
    (tmp_path / "a.csv").write_text("a;b;c;d;;\n1.234,5;x;0,5;15.01.2024;;\n10.000;y;2;16.01.2024;;\n-0,25;;;;;\n")
    table = read_csv_table(tmp_path / "a.csv")
    assert list(table.columns) == ["a", "b", "c", "d"]
    assert table["a"].tolist() == [1234.5, 10000.0, -0.25]
    assert table["c"].tolist()[:2] == [0.5, 2.0] and table["d"].tolist()[:2] == ["15.01.2024", "16.01.2024"]
    (tmp_path / "t.tsv").write_text("dose\tresponse\n0,1\t98,5\n1\t50\n")
    assert read_csv_table(tmp_path / "t.tsv").to_dict("list") == {"dose": [0.1, 1.0], "response": [98.5, 50.0]}
    # a comma-separated file's quoted cells are never read with a decimal comma
    (tmp_path / "c.csv").write_text('a,b\n"1,5",x\n"0,5",y\n')
    assert read_csv_table(tmp_path / "c.csv")["a"].tolist() == ["1,5", "0,5"]
    # names stay as written
    (tmp_path / "n.csv").write_text("compound;dose\n1,5;1\n")
    assert read_csv_table(tmp_path / "n.csv")["compound"].tolist() == ["1,5"]


@pytest.mark.parametrize("cell", ["1.5", "0.123"])
def test_decimal_points_beside_decimal_commas_are_refused(tmp_path, cell):
    (tmp_path / "mix.csv").write_text(f"dose;response\n{cell};1\n0,5;2\n")
    with pytest.raises(FerroscreenError) as exc:
        read_csv_table(tmp_path / "mix.csv")
    assert str(exc.value) == (f"{tmp_path / 'mix.csv'}: column 'dose' row 2: '{cell}' writes a decimal point where "
                              f"other rows write a decimal comma ('0,5'); write every number one way")


@pytest.mark.parametrize("name", ["Viability (%)", "Viability [%]", "% viability", "viability %", "Signal (RLU)",
                                  "Response_[a.u.]"])
def test_response_names_with_units(tmp_path, name):
    pd.DataFrame({"Compound": ["A", "A"], "dose": [0, 1], name: [100.0, 50.0], "Replicate": [1, 2]}).to_csv(
        tmp_path / "t.csv", index=False)
    table = read_table_csv(tmp_path / "t.csv")
    assert {"curve", "dose", "response", "Replicate"} <= set(table.columns)
    assert f"column '{name}' used as 'response'" in table.attrs["notes"]


@pytest.mark.parametrize(("kwargs", "message"), [
    # only a replicate number beside the dose: no response
    ({"with_response": False},
     "missing column(s) response; the only other numeric column, 'Replicate', numbers replicates, wells or rows: "
     "name its columns with --columns response=COL[,curve=COL]"),
    # a response not named so, beside a replicate number: which is it?
    ({"response": "CTG"}, "missing column(s) response, and which of the numeric columns 'CTG', 'Replicate' holds it "
                          "cannot be told: name its columns with --columns"),
    # a comma-separated table with quoted decimal commas: the response column is text
    ({"response": "CTG", "sep": ","},
     "missing column(s) response, and column 'CTG' holds numbers with a decimal comma ('5,42'), which a "
     "comma-separated table does not read as numbers"),
])
def test_no_response_guessed_where_none_is_clear(tmp_path, kwargs, message):
    path = _excel_table(tmp_path / "t.csv", **kwargs)
    with pytest.raises(AnalysisInputError) as exc:
        read_table_csv(path)
    assert str(exc.value).startswith(f"{path}: ") and message in str(exc.value) and "\n" not in str(exc.value)
    res = CliRunner().invoke(app, ["fit", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and isinstance(res.exception, FerroscreenError) and message in str(res.exception)


def test_a_named_decimal_comma_response_in_a_comma_file_says_why(tmp_path):
    path = _excel_table(tmp_path / "t.csv", sep=",")
    res = CliRunner().invoke(app, ["fit", str(path), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, FerroscreenError)
    assert "column 'dose' row 4: '3,33333' is not a number (a decimal comma: write decimal points, or save the " \
           "table separated by semicolons)" in str(res.exception)


def test_a_us_tab_separated_thousand_is_not_read_as_a_decimal_comma(tmp_path):
    """'1,234' in a tab file is a thousand in a US export: it was read as 1.234 (a count 1000x too small)."""
    from ferroscreen.csv_tables import read_csv_table

    us = tmp_path / "us.tsv"
    us.write_text("plate\twell\ttime_h\tn_cells\nP1\tA01\t0\t1,234\nP1\tA02\t0\t987\n")
    assert read_csv_table(us)["n_cells"].tolist() == ["1,234", "987"]  # left as text: 'not a number' downstream
    eu = tmp_path / "eu.tsv"
    eu.write_text("plate\twell\ttime_h\tn_cells\tfrac_alive\nP1\tA01\t0\t1,234\t0,95\nP1\tA02\t0\t987\t0,9\n")
    table = read_csv_table(eu)  # an unambiguous decimal comma elsewhere in the file: the file is European
    assert table["frac_alive"].tolist() == [0.95, 0.9] and table["n_cells"].tolist() == [1.234, 987.0]
    three = tmp_path / "three.tsv"  # three decimals no US export writes so: '0,523', '1234,567'
    three.write_text("well\tod\tx\nA01\t0,523\t1234,567\nA02\t1,250\t-0,500\n")
    assert read_csv_table(three)["od"].tolist() == [0.523, 1.25]
