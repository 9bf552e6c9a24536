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


#: Characters XML and Excel refuse in a cell: control characters other than tab, newline and return, the
#: non-characters U+FFFE/U+FFFF and lone surrogates.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: Excel's longest sheet title and longest text in a cell.
MAX_TITLE, MAX_TEXT = 31, 32767


def sheet_title(name: str, taken: set[str]) -> str:
    """An Excel sheet title for ``name``, added to ``taken``.

    Excel's rules: none of the characters ``[]:*?/`` or backslash (control characters are
    dropped), at most 31 characters, and no other sheet of the same title in any case.
    """
    base = _TITLE_FORBIDDEN.sub("_", _ILLEGAL.sub("", str(name)).replace("\t", "").replace("\n", "")
                                .replace("\r", "")).strip("'") or "sheet"
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


#: Excel's most rows and most columns in a sheet; a table past them is written as continued sheets.
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384


def sheet_pieces(table) -> list:
    """``table`` in pieces that each fit one sheet (:data:`MAX_ROWS` by :data:`MAX_COLUMNS`), in order.

    A DataFrame's pieces each get the header row (so hold ``MAX_ROWS - 1`` rows); past
    ``MAX_COLUMNS`` columns its first column (the rows' key, as the X of a Prism table) leads every
    piece, the rows of one piece of columns going before the next. A list of rows is cut by rows only.
    """
    if not hasattr(table, "columns"):
        rows = list(table)
        return [rows[i:i + MAX_ROWS] for i in range(0, max(len(rows), 1), MAX_ROWS)]
    n = table.shape[1]
    widths = ([table] if n <= MAX_COLUMNS else
              [table.iloc[:, [0, *range(i, min(i + MAX_COLUMNS - 1, n))]] for i in range(1, n, MAX_COLUMNS - 1)])
    step = MAX_ROWS - 1
    return [part.iloc[i:i + step] for part in widths for i in range(0, max(len(part), 1), step)]


def continued_title(name: str, k: int) -> str:
    """The title (before :func:`sheet_title`) of the ``k``-th sheet of a table called ``name``: ``doses (2)``."""
    if k == 1:
        return name
    suffix = f" ({k})"
    return f"{str(name)[:MAX_TITLE - len(suffix)]}{suffix}"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLES = ('<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font>'
           '<sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/>'
           '</fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/>'
           '<top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
           'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
           'borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
           '</cellStyles></styleSheet>')
_SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _filter_name(index: int, title: str, ref: str) -> str:
    """The defined name Excel keeps a sheet's auto-filter range in (sheet ``index`` from 0, ``ref`` as ``A1:C4``)."""
    quoted = "'" + title.replace("'", "''") + "'"
    absolute = re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", ref)
    return (f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
            f"{_xml(quoted)}!{absolute}</definedName>")


def _write_sheet(out, table, strings: dict[str, int], first: bool) -> str | None:
    """Write one sheet's XML to the binary stream ``out``; its auto-filter range (None without one).

    Text goes to the shared strings ``strings`` (text -> index), so every text is a text cell.
    """
    frame = hasattr(table, "columns")
    if frame:
        header = [_cell_value(str(c)) for c in table.columns]
        rows = [header], zip(*(_column_values(table.iloc[:, i]) for i in range(table.shape[1])), strict=True)
        n_rows, n_cols = len(table) + 1, len(header)
    else:
        table = [[_cell_value(v) for v in row] for row in table]
        rows = (table,)
        n_rows, n_cols = len(table), max((len(r) for r in table), default=0)
    letters = [column_letters(i) for i in range(1, max(n_cols, 1) + 1)]
    last = f"{letters[-1]}{max(n_rows, 1)}"
    view = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>' if frame else "")
    selected = ' tabSelected="1"' if first else ""
    parts = [f'{_DECLARATION}<worksheet {_NS}><dimension ref="A1:{last}"/><sheetViews><sheetView'
             f'{selected} workbookViewId="0">{view}</sheetView></sheetViews>'
             '<sheetFormatPr defaultRowHeight="15"/>']
    if frame and n_cols:
        parts.append("<cols>" + "".join(f'<col min="{i}" max="{i}" width="{min(max(len(h) + 2, 9), 40)}" '
                                        'customWidth="1"/>' for i, h in enumerate(header, start=1)) + "</cols>")
    parts.append("<sheetData>")
    i = 0
    for block in rows:
        for row in block:
            i += 1
            cells = []
            for letter, v in zip(letters, row, strict=False):  # a short row ends early
                kind = type(v)
                if kind is float or kind is int:
                    cells.append(f'<c r="{letter}{i}"><v>{v!r}</v></c>')
                elif kind is str and v:  # an empty text is an empty cell
                    cells.append(f'<c r="{letter}{i}" t="s"><v>{strings.setdefault(v, len(strings))}</v></c>')
                elif kind is bool:
                    cells.append(f'<c r="{letter}{i}" t="b"><v>{int(v)}</v></c>')
            parts.append(f'<row r="{i}">{"".join(cells)}</row>')
            if len(parts) >= 2000:
                out.write("".join(parts).encode())
                parts.clear()
    parts.append("</sheetData>")
    ref = f"A1:{last}" if frame and n_rows > 1 else None
    if ref:
        parts.append(f'<autoFilter ref="{ref}"/>')
    parts.append("</worksheet>")
    out.write("".join(parts).encode())
    return ref


def write_workbook(path: Path, sheets: Sequence[tuple[str, object]]) -> Path:
    """Write ``(title, table)`` pairs as the sheets of an ``.xlsx`` workbook at ``path``.

    A table is a pandas DataFrame (its columns the header row, frozen and filterable) or a list
    of rows. Text is always a text cell, so a name starting with ``=`` is never run as a formula;
    missing values are empty cells, infinities the text ``inf``/``-inf``, and characters Excel
    cannot hold are dropped. Titles are made valid with :func:`sheet_title`. A table past Excel's
    limits (:data:`MAX_ROWS`, :data:`MAX_COLUMNS`) goes on in continued sheets ``<title> (2)``,
    ``<title> (3)`` (:func:`sheet_pieces`, :func:`continued_title`) instead of losing rows.

    The workbook is written as plain SpreadsheetML without styles, a row at a time: openpyxl
    took minutes (its per-cell XML elements) for the million points of a large screen.
    """
    import zipfile

    path = Path(path)
    taken: set[str] = set()
    titles: list[str] = []
    filters: list[tuple[int, str]] = []
    strings: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, table in sheets:
            for k, piece in enumerate(sheet_pieces(table), start=1):
                titles.append(sheet_title(continued_title(name, k), taken))
                with book.open(f"xl/worksheets/sheet{len(titles)}.xml", "w", force_zip64=True) as out:
                    ref = _write_sheet(out, piece, strings, first=len(titles) == 1)
                if ref:
                    filters.append((len(titles) - 1, ref))
        text = "".join(f'<si><t xml:space="preserve">{_xml(s)}</t></si>' for s in strings)
        book.writestr("xl/sharedStrings.xml", f'{_DECLARATION}<sst xmlns="http://schemas.openxmlformats.org/'
                      f'spreadsheetml/2006/main" uniqueCount="{len(strings)}">{text}</sst>')
        book.writestr("xl/styles.xml", _DECLARATION + _STYLES)
        names = "".join(_filter_name(i, titles[i], ref) for i, ref in filters)
        book.writestr("xl/workbook.xml", f'{_DECLARATION}<workbook {_NS}><bookViews><workbookView activeTab="0"/>'
                      "</bookViews><sheets>" + "".join(f'<sheet name="{_xml(t)}" sheetId="{i}" r:id="rId{i}"/>'
                                                       for i, t in enumerate(titles, start=1))
                      + "</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>")
        n = len(titles)
        rels = [*(f'<Relationship Id="rId{i}" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                  for i in range(1, n + 1)),
                f'<Relationship Id="rId{n + 1}" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>',
                f'<Relationship Id="rId{n + 2}" Type="{_RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/>']
        package = "http://schemas.openxmlformats.org/package/2006/relationships"
        book.writestr("xl/_rels/workbook.xml.rels",
                      f'{_DECLARATION}<Relationships xmlns="{package}">{"".join(rels)}</Relationships>')
        book.writestr("_rels/.rels", f'{_DECLARATION}<Relationships xmlns="{package}"><Relationship Id="rId1" '
                      f'Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        types = [f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SPREADSHEET}.worksheet+xml"/>'
                 for i in range(1, n + 1)]
        book.writestr("[Content_Types].xml", f'{_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/'
                      'package/2006/content-types"><Default Extension="rels" ContentType="application/'
                      'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
                      f'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
                      f'"{_SPREADSHEET}.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType='
                      f'"{_SPREADSHEET}.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
                      f'"{_SPREADSHEET}.sharedStrings+xml"/>{"".join(types)}</Types>')
    return path
