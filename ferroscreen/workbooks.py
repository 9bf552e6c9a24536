"""Excel workbooks (``.xlsx``/``.xlsm``): users' read as rows of cells with one-line errors, results written.

Plate-reader exports and plate layouts both arrive as workbooks. :func:`workbook_rows` gives
every sheet's rows as ``(sheet title, row number from 1, cells)``, cells as openpyxl holds
them (``None`` as ``""``); formulas give the value Excel saved with them. :func:`write_workbook`
writes tables as sheets, every text a text cell (never a formula).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from pathlib import Path

from ferroscreen.errors import FerroscreenError

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def is_workbook(path: Path) -> bool:
    """Whether ``path`` is named like an Excel workbook ferroscreen reads (or the old ``.xls``)."""
    return path.suffix.lower() in (*EXCEL_SUFFIXES, ".xls")


def _open(path: Path, error: type[FerroscreenError], **options):
    try:
        import openpyxl

        data = io.BytesIO(path.read_bytes())  # from bytes: openpyxl refuses a workbook by its file name alone
        return openpyxl.load_workbook(data, **options)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ImportError:
        raise error(f"{path}: reading Excel files needs openpyxl (pip install openpyxl)") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise error(f"{path}: not a readable Excel workbook ({type(exc).__name__}: {exc})") from None


def column_letters(column: int) -> str:
    """Excel's letters of a 1-based column number (1 -> A, 27 -> AA)."""
    out = ""
    while column:
        column, rem = divmod(column - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def workbook_rows(path: Path, error: type[FerroscreenError], fill_merged: bool = False
                  ) -> list[tuple[str, int, list]]:
    """Every sheet's rows of the workbook ``path``, in sheet then row order.

    Args:
        path: The workbook.
        error: The error class raised.
        fill_merged: Give every cell of a merged range the value of its first cell (as a reader
            of the sheet sees it); else only that cell holds it.

    Raises:
        error: For an old ``.xls`` file, a missing openpyxl, a file openpyxl cannot read, or a
            formula cell without the value Excel saves with it (a workbook written by a program
            and never opened in Excel), naming the file, sheet and cell.
    """
    if path.suffix.lower() == ".xls":
        raise error(f"{path}: an old-style Excel .xls file; save it as .xlsx or CSV")
    book = _open(path, error, read_only=not fill_merged, data_only=True)
    try:
        rows, missing = [], set()
        for sheet in book.worksheets:
            raw = list(sheet.iter_rows(values_only=True))
            missing |= {(sheet.title, i, j) for i, row in enumerate(raw, start=1)
                        for j, c in enumerate(row) if c is None}
            cells = [["" if c is None else c for c in row] for row in raw]
            if fill_merged:
                for rng in sheet.merged_cells.ranges:
                    first = sheet.cell(rng.min_row, rng.min_col).value
                    for r in range(rng.min_row, rng.max_row + 1):
                        row = cells[r - 1]
                        row.extend([""] * (rng.max_col - len(row)))
                        for c in range(rng.min_col, rng.max_col + 1):
                            row[c - 1] = "" if first is None else first
            rows += [(sheet.title, i, row) for i, row in enumerate(cells, start=1)]
    finally:
        book.close()
    _refuse_unsaved_formulas(path, error, missing)
    return rows


def _refuse_unsaved_formulas(path: Path, error: type[FerroscreenError], missing: set[tuple[str, int, int]]) -> None:
    """Raise ``error`` for a formula cell among ``missing`` (sheet, row, 0-based column: cells read without a value)."""
    if not missing:
        return
    book = _open(path, error, read_only=True, data_only=False)
    try:
        for sheet in book.worksheets:
            for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                for j, cell in enumerate(row):
                    if isinstance(cell, str) and cell.startswith("=") and (sheet.title, i, j) in missing:
                        raise error(f"{path}: sheet '{sheet.title}' cell {column_letters(j + 1)}{i} holds a formula "
                                    f"({cell}) without its value; open the workbook in Excel and save it")
    finally:
        book.close()


def cell_text(cell) -> str:
    """A cell as text: strings stripped, whole floats without ``.0``, other floats as ``repr`` writes them."""
    if isinstance(cell, str):
        return cell.strip()
    if cell is None or cell == "":
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    return str(cell)


#: Characters Excel refuses in a cell (control characters other than tab, newline and return).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: Excel's longest sheet title and longest text in a cell.
MAX_TITLE, MAX_TEXT = 31, 32767


def sheet_title(name: str, taken: set[str]) -> str:
    """An Excel sheet title for ``name``, added to ``taken``.

    Excel's rules: none of the characters ``[]:*?/`` or backslash (control characters are
    dropped), at most 31 characters, and no other sheet of the same title in any case.
    """
    base = _TITLE_FORBIDDEN.sub("_", re.sub(r"[\x00-\x1f]", "", str(name))).strip("'") or "sheet"
    title, n = base[:MAX_TITLE], 1
    while title.lower() in {t.lower() for t in taken}:
        n += 1
        title = f"{base[:MAX_TITLE - len(str(n)) - 1]}~{n}"
    taken.add(title)
    return title


def _cell_value(value):
    """A value as a cell holds it: None for missing, Python numbers, text for the rest (inf as 'inf')."""
    if value is None or isinstance(value, (bool, str)):
        return _ILLEGAL.sub("", value)[:MAX_TEXT] if isinstance(value, str) else value
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return _ILLEGAL.sub("", str(value))[:MAX_TEXT]


def _column_values(column) -> list:
    """A DataFrame column's values as cells hold them (see :func:`_cell_value`), converted at once where numeric."""
    import numpy as np

    values = column.to_numpy()
    if values.dtype.kind in "iu":
        return values.tolist()
    if values.dtype.kind == "f":
        out = values.tolist()
        if not np.isfinite(values).all():
            out = [_cell_value(v) for v in out]
        return out
    return [_cell_value(v) for v in values.tolist()]


def write_workbook(path: Path, sheets: Sequence[tuple[str, object]]) -> Path:
    """Write ``(title, table)`` pairs as the sheets of an ``.xlsx`` workbook at ``path``.

    A table is a pandas DataFrame (its columns the header row, frozen and filterable) or a list
    of rows. Text is always a text cell, so a name starting with ``=`` is never run as a formula;
    missing values are empty cells, infinities the text ``inf``/``-inf``, and characters Excel
    cannot hold are dropped. Titles are made valid with :func:`sheet_title`.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    wb = Workbook(write_only=True)
    taken: set[str] = set()
    for name, table in sheets:
        ws = wb.create_sheet(sheet_title(name, taken))

        def cell(value, ws=ws):
            """A text that openpyxl would take for a formula or an error code becomes a text cell."""
            if isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES):
                c = WriteOnlyCell(ws, value=value)
                c.data_type = "s"
                return c
            return value

        if hasattr(table, "columns"):
            header = [_cell_value(str(c)) for c in table.columns]
            ws.freeze_panes = "A2"
            for i, h in enumerate(header, start=1):
                ws.column_dimensions[column_letters(i)].width = min(max(len(h) + 2, 9), 40)
            ws.append([cell(h) for h in header])
            columns = [_column_values(table.iloc[:, i]) for i in range(table.shape[1])]
            texts = [any(isinstance(v, str) for v in col) for col in columns]
            for row in zip(*columns, strict=True):
                ws.append([cell(v) if t else v for v, t in zip(row, texts, strict=True)])
            if len(table):
                ws.auto_filter.ref = f"A1:{column_letters(len(header))}{len(table) + 1}"
        else:
            for row in table:
                ws.append([cell(_cell_value(v)) for v in row])
    path = Path(path)
    wb.save(path)
    return path
