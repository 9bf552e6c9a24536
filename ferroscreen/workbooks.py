"""Reading users' Excel workbooks (``.xlsx``/``.xlsm``) as rows of cells, with one-line errors.

Plate-reader exports and plate layouts both arrive as workbooks. :func:`workbook_rows` gives
every sheet's rows as ``(sheet title, row number from 1, cells)``, cells as openpyxl holds
them (``None`` as ``""``); formulas give the value Excel saved with them.
"""

from __future__ import annotations

from pathlib import Path

from ferroscreen.errors import FerroscreenError

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def is_workbook(path: Path) -> bool:
    """Whether ``path`` is named like an Excel workbook ferroscreen reads (or the old ``.xls``)."""
    return path.suffix.lower() in (*EXCEL_SUFFIXES, ".xls")


def workbook_rows(path: Path, error: type[FerroscreenError]) -> list[tuple[str, int, list]]:
    """Every sheet's rows of the workbook ``path``, in sheet then row order.

    Raises:
        error: For an old ``.xls`` file, a missing openpyxl, or a file openpyxl cannot read,
            naming the file.
    """
    if path.suffix.lower() == ".xls":
        raise error(f"{path}: an old-style Excel .xls file; save it as .xlsx or CSV")
    try:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except ImportError:
        raise error(f"{path}: reading Excel files needs openpyxl (pip install openpyxl)") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise error(f"{path}: not a readable Excel workbook ({type(exc).__name__}: {exc})") from None
    try:
        return [
            (sheet.title, i, ["" if c is None else c for c in row])
            for sheet in book.worksheets
            for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
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
