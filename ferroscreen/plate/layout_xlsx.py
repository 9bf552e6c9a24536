"""Layouts kept in Excel workbooks (``.xlsx``/``.xlsm``): tables of one row per well, or plate grids.

Each sheet is read as what it holds:

- a **table**: a header row naming a well column (``Well``, ``Well Position``...), found among
  the sheet's first 30 rows (title rows above it are passed over), then one row per well, as
  a layout CSV or an siRNA library's plate map (``Plate``, ``Well``, ``Gene Symbol``) has them;
- **plate grids** (:mod:`ferroscreen.plate.layout_grid`), named in their first cell or on the
  line above; or a single grid per sheet named by the sheet (sheets ``compound``,
  ``concentration (uM)``, ``role``).

A table or grid set counts when it names a layout column (``compound`` or one of its other names,
``concentration``, ``role``, ``mode``...); sheets holding none (notes, instructions, a plate
read kept beside the layout) are passed over. Wells without a plate
id take the sheet's name when several sheets hold layouts, else the file's stem; grids named by
their sheets together describe one plate. Hidden sheets (an old template kept out of sight) are not
read: the layout's notes name each one that holds a layout.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path

from ferroscreen.errors import LayoutError
from ferroscreen.plate.layout import PlateLayout, combine_layouts
from ferroscreen.plate.layout_grid import check_grid_set, grid_blocks, grid_names, grid_records
from ferroscreen.plate.layout_records import (
    LayoutRecord,
    NotALayout,
    is_layout_column,
    layout_from_records,
    table_header_index,
)
from ferroscreen.plate.wells import PlateFormat
from ferroscreen.workbooks import cell_text, column_letters, workbook_rows


def _letters(index: int) -> str:
    """Excel's column letters of a 0-based column index (0 -> A)."""
    return column_letters(index + 1)


#: Layout columns that hold names: a date cell there is a name Excel turned into a date.
NAME_COLUMNS = ("compound", "rescue_agent")


def _refuse_date_names(layout: PlateLayout, dates: dict[str, tuple[str, str]]) -> None:
    """Raise for a compound (a gene) or rescue agent that is a date cell of the workbook.

    ``dates``: a date cell's text -> (its cell, its column or grid: ``column 'Gene Symbol'``, ``grid 'compound'``;
    "" where none is known). Excel stores a gene symbol or compound code typed as ``MARCH1``, ``SEPT2``, ``OCT4``
    or ``1-Mar`` as the date it reads in it; the name is gone from the file, so no reading of it can be right.
    """
    if not dates:
        return
    for column in NAME_COLUMNS:
        if column not in layout.table.columns:
            continue
        for name in dict.fromkeys(layout.table[column].astype(str)):
            if name in dates:
                cell, header = dates[name]
                shown = name.removesuffix(" 00:00:00")
                what = "a rescue agent's" if column == "rescue_agent" else "a gene's or compound's"
                raise LayoutError(
                    f"{cell}{f' ({header})' if header else ''}: a date ({shown}) where a name belongs "
                    f"({what}); Excel turns names such as MARCH1, SEPT2 or OCT4 into dates: format the column as "
                    f"Text and type the names again")


def _header_of(title: str, number: int, j: int, grids: dict[tuple[str, int, int], str],
               tables: dict[str, tuple[int, list[str]]]) -> str:
    """``column 'Gene Symbol'`` or ``grid 'compound'``: what holds sheet ``title``'s cell ``j`` in row ``number``."""
    if (title, number, j) in grids:
        return f"grid '{grids[(title, number, j)]}'"
    header_row, cells = tables.get(title, (number, []))
    return f"column '{cells[j]}'" if number > header_row and j < len(cells) and cells[j] else ""


def _table(path: Path, title: str, rows: list[tuple[int, list[str]]], k: int
           ) -> tuple[list[str], list[LayoutRecord], str]:
    """``(header, records, header place)`` of a table sheet whose header is ``rows[k]``.

    The table spans the header's cells from its first named one to its last: blank columns on
    either side (a margin column ``A``) are no part of it, and a value in one is refused.
    """
    number, header_cells = rows[k]
    width = len(header_cells)
    while width and not header_cells[width - 1]:
        width -= 1
    start = next(i for i in range(width) if header_cells[i])  # the header row names a well column: some cell is set
    header = header_cells[start:width]
    sheet = f"{path}: sheet '{title}'"
    blank = [_letters(start + i) for i, h in enumerate(header) if not h]
    if blank:
        raise LayoutError(f"{sheet} row {number}: header cell {blank[0]}{number} is empty")
    records = []
    for row_no, cells in rows[k + 1:]:
        if not any(cells):
            continue
        extra = [i for i in range(width, len(cells)) if cells[i]]
        if extra:
            raise LayoutError(f"{sheet} cell {_letters(extra[0])}{row_no}: a value beyond the header's "
                              f"{width - start} columns ({_letters(start)} to {_letters(width - 1)})")
        before = [i for i in range(min(start, len(cells))) if cells[i]]
        if before:
            raise LayoutError(f"{sheet} cell {_letters(before[0])}{row_no}: a value left of the header's first "
                              f"column {_letters(start)}")

        def at(column: str | None, row_no=row_no) -> str:
            if column in header:
                return f"{sheet} cell {_letters(start + header.index(column))}{row_no} (column '{column}')"
            return f"{sheet} row {row_no}"

        values = {h: (cells[start + i] if start + i < len(cells) else "") for i, h in enumerate(header)}
        records.append(LayoutRecord(values, at, f"sheet '{title}' row {row_no}", title))
    return header, records, f"{sheet} row {number}"


def _hidden_sheets(path: Path) -> set[str]:
    """Titles of the workbook's hidden and very hidden sheets (read after :func:`workbook_rows` has read it)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    try:
        return {sheet.title for sheet in book.worksheets if sheet.sheet_state != "visible"}
    finally:
        book.close()


def _holds_layout(rows: list[tuple[int, list[str]]], title: str) -> bool:
    """Whether a sheet's rows look like a layout: grids of which one names a layout column, or a table's header."""
    names = grid_names(rows, default_name=title)
    if names:
        return any(is_layout_column(n) for n in names)
    return table_header_index(rows) is not None


def read_layout_xlsx(
    path: str | Path,
    plate_format: PlateFormat | int | None = None,
    extra_modes: tuple[str, ...] = (),
) -> PlateLayout:
    """Read and validate a layout workbook.

    Hidden and very hidden sheets are passed over, each that holds a layout said in a note
    (``sheet 'Vorlage alt' is hidden: not read``).

    Raises:
        NotALayout: If no sheet holds a layout table or grids.
        LayoutError: For an unreadable workbook or invalid cells, naming file, sheet and cell; for a
            workbook whose only layouts are on hidden sheets.
    """
    path = Path(path)
    sheets: dict[str, list[tuple[int, list[str]]]] = {}
    date_cells: dict[str, tuple[str, int, int]] = {}  # a date cell's text -> the first such cell (sheet, row, index)
    for title, number, cells in workbook_rows(path, LayoutError, fill_merged=True):
        texts = [cell_text(c) for c in cells]
        sheets.setdefault(title, []).append((number, texts))
        for j, cell in enumerate(cells):
            if isinstance(cell, (datetime.date, datetime.time)):
                date_cells.setdefault(texts[j], (title, number, j))
    headers: dict[tuple[str, int, int], str] = {}  # a grid's cell (sheet, row, index) -> the grid's name
    table_headers: dict[str, tuple[int, list[str]]] = {}  # a table sheet -> its header row
    hidden = _hidden_sheets(path)
    passed_over = [title for title, rows in sheets.items() if title in hidden and _holds_layout(rows, title)]
    sheets = {title: rows for title, rows in sheets.items() if title not in hidden}
    tables, grid_plates, sheet_grids = [], [], []
    for title, rows in sheets.items():
        names = grid_names(rows, default_name=title)
        if names:
            if not any(is_layout_column(n) for n in names):
                continue  # a plate read or other grid kept beside the layout

            def where(row: int, cell: int, title=title) -> str:
                return f"{path}: sheet '{title}' cell {_letters(cell)}{row}"

            blocks = grid_blocks(rows, where, default_name=title)
            headers.update({(title, row, j): b.name for b in blocks for _, row, j in b.cells.values()})
            if all(b.named_by_default for b in blocks):
                sheet_grids.extend(blocks)
            else:
                grid_plates.append((title, blocks))
        elif (k := table_header_index(rows)) is not None:
            tables.append((title, *_table(path, title, rows, k)))
            table_headers[title] = rows[k]
    n_plates = len(tables) + len(grid_plates) + bool(sheet_grids)
    if not n_plates and passed_over:
        titles = ", ".join(f"'{t}'" for t in passed_over)
        raise LayoutError(f"{path}: its layout is on hidden sheet(s) only ({titles}); unhide the sheet to read "
                          f"(right-click a sheet tab > Unhide) and save")
    if not n_plates:
        raise NotALayout(
            f"{path}: no sheet holds a layout (a table with a 'well' and a 'compound' column, or plate grids "
            f"such as 'compound,1,2,...,12'; sheets: {', '.join(sheets) or 'none'})")
    parts: list[tuple[str, PlateLayout]] = []
    for title, header, records, header_where in tables:
        if n_plates == 1:
            for rec in records:
                rec.plate = path.stem
        parts.append((f"sheet '{title}'", layout_from_records(
            path, header, records, plate_format, extra_modes, header_where=header_where, form="xlsx")))
    for title, blocks in grid_plates + ([("", sheet_grids)] if sheet_grids else []):
        check_grid_set(blocks)
        header, records = grid_records(blocks, title if n_plates > 1 and title else path.stem)
        where = f"sheet '{title}'" if title else "the sheets " + ", ".join(f"'{b.name}'" for b in blocks)
        corners = {b.name: f"{b.where(b.header_row, 0)}: grid '{b.name}'" for b in blocks}
        parts.append((where, layout_from_records(
            path, header, records, plate_format or blocks[0].plate_format, extra_modes,
            header_where=lambda column, corners=corners: corners.get(column, str(path)), form="xlsx")))
    fmt = PlateFormat.from_n_wells(plate_format) if isinstance(plate_format, int) else plate_format
    layout = combine_layouts(parts, path, "xlsx", fmt)
    _refuse_date_names(layout, {text: (f"{path}: sheet '{title}' cell {_letters(j)}{number}",
                                       _header_of(title, number, j, headers, table_headers))
                                for text, (title, number, j) in date_cells.items()})
    layout.notes.extend(f"{path}: sheet '{title}' is hidden: not read" for title in passed_over)
    return layout
