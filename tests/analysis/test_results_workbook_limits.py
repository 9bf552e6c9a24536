"""Workbooks past Excel's limits go on in continued sheets; cells keep every digit and every text as text."""

from __future__ import annotations

import zipfile
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pandas as pd

from ferroscreen import workbooks
from ferroscreen.analysis.results_workbook import write_results_workbook
from ferroscreen.workbooks import write_workbook


def _rows(book, sheet):
    return list(book[sheet].iter_rows(values_only=True))


def test_a_doses_sheet_past_the_row_limit_goes_on_in_continued_sheets_and_says_so(tmp_path, monkeypatch):
    # before: the doses sheet of a 12-plate 1536-well screen was one sheet of 1,064,449 rows; Excel dropped the rest
    monkeypatch.setattr(workbooks, "MAX_ROWS", 20)  # a header and 19 rows a sheet
    doses = pd.DataFrame({"readout": ["viability"] * 45, "curve": ["RSL3"] * 45,
                          "dose": np.repeat([0.0, 1e-7, 1e-6], 15), "response": np.linspace(1, 0.1, 45),
                          "plate": ["P1"] * 45, "well": [f"{r}{c:02d}" for r in "ABC" for c in range(1, 16)]})
    notes: list[str] = []
    path = write_results_workbook(tmp_path / "results.xlsx", {}, doses, notes=notes)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["about", "doses", "doses (2)", "doses (3)", "prism viability"]
    pieces = [_rows(book, s) for s in ("doses", "doses (2)", "doses (3)")]
    assert [len(p) for p in pieces] == [20, 20, 8] and all(p[0] == tuple(doses.columns) for p in pieces)
    assert [r for p in pieces for r in p[1:]] == list(doses.itertuples(index=False, name=None))
    assert book["doses (2)"].freeze_panes == "A2" and book["doses (3)"].auto_filter.ref == "A1:F8"
    held = {r[0]: r[1] for r in _rows(book, "about") if r and r[0]}
    assert held["doses (2)"] == "continued from 'doses'" and held["doses (3)"] == "continued from 'doses (2)'"
    assert notes == ["results.xlsx: the doses sheet's 45 rows go past Excel's 20 in a sheet; it goes on in "
                     "'doses (2)', 'doses (3)'"]


def test_a_table_past_the_column_limit_keeps_its_first_column_in_every_piece(tmp_path, monkeypatch):
    monkeypatch.setattr(workbooks, "MAX_COLUMNS", 3)
    table = pd.DataFrame({"log10 dose (M)": [-7.0, -6.0], "a #1": [1.0, 0.5], "a #2": [0.9, 0.4], "b #1": [1.0, 0.8]})
    long = "prism peak_a_very_long_death_mode_name"
    book = openpyxl.load_workbook(write_workbook(tmp_path / "w.xlsx", [(long, table)]))
    assert book.sheetnames == [long[:31], long[:27] + " (2)"]  # the suffix is kept, the name cut
    assert _rows(book, long[:31]) == [("log10 dose (M)", "a #1", "a #2"), (-7, 1, 0.9), (-6, 0.5, 0.4)]
    assert _rows(book, long[:27] + " (2)") == [("log10 dose (M)", "b #1"), (-7, 1), (-6, 0.8)]


def test_cells_keep_every_digit_and_texts_stay_texts(tmp_path):
    # before (openpyxl): 0.0037056030530291557 came back as 0.003705603053029156, one digit short
    values = [0.0037056030530291557, 1 / 3, 0.1 + 0.2, 1e-300, -2.5e17, 7]
    texts = ["a & b <c> \"d\"", "  padded ", "=SUM(A1)", "#N/A", "µM naïve ✓", "line\nbreak"]
    table = pd.DataFrame({"x": [*values, None], "t": [*texts, ""], "flag": [True, False] * 3 + [False]})
    path = write_workbook(tmp_path / "w.xlsx", [("t", table), ("rows", [["x", 1], [], ["", None, 2.5]])])
    book = openpyxl.load_workbook(path)
    rows = _rows(book, "t")
    assert [r[0] for r in rows[1:]] == [*values, None]  # exactly: repr round-trips a float
    assert [r[1] for r in rows[1:]] == [*texts, None]  # an empty text is an empty cell
    assert all(book["t"].cell(i, 2).data_type == "s" for i in range(2, 8))
    assert [r[2] for r in rows[1:]] == [True, False] * 3 + [False]
    assert _rows(book, "rows") == [("x", 1, None), (None, None, None), (None, None, 2.5)]
    with zipfile.ZipFile(path) as z:  # every part is well-formed XML
        for name in z.namelist():
            ElementTree.fromstring(z.read(name))
    assert pd.read_excel(path, sheet_name="t")["t"].iloc[0] == texts[0]


def test_fit_says_on_the_terminal_that_a_sheet_goes_on(tmp_path, monkeypatch, capsys):
    import sys

    import pytest

    from ferroscreen.cli import main

    monkeypatch.setattr(workbooks, "MAX_ROWS", 20)
    doses = np.repeat([0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4], 3)
    pd.DataFrame({"curve": "RSL3", "dose": np.tile(doses, 2), "response": np.tile(1 - doses / (doses + 1e-6), 2)}
                 ).to_csv(tmp_path / "t.csv", index=False)
    monkeypatch.setattr(sys, "argv", ["ferroscreen", "fit", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr().out
    assert exc.value.code in (0, None)
    assert "go past Excel's 20 in a sheet; it goes on in 'doses (2)'" in out, out


def test_non_characters_and_lone_surrogates_are_dropped_so_the_workbook_opens(tmp_path):
    """U+FFFE/U+FFFF in a text or a sheet name made sharedStrings.xml/workbook.xml ill-formed (no reader opened it)."""
    bad = "RSL3\ufffe\uffff\ud800 (Sigma)"
    path = write_workbook(tmp_path / "w.xlsx", [(f"fits{chr(0xFFFF)}", pd.DataFrame({"compound": [bad]}))])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["fits"] and book["fits"]["A2"].value == "RSL3 (Sigma)"
