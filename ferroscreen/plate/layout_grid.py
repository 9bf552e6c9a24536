"""Plate-shaped layouts: one grid per layout column, drawn as the plate looks.

The way a bench scientist writes a plate map (and the format of R's ``plater``)::

    compound,1,2,3,...,12           <- the column's name, then the plate's column numbers
    A,DMSO,RSL3,RSL3,...            <- one line per plate row, its label first
    ...
    H,...
                                    <- blank line(s) between grids
    concentration (uM),1,2,...,12
    A,,0.01,0.1,...

A grid's name may also stand alone on the line above a header that leaves its first cell
empty, or be the name of the workbook sheet that holds the grid. Any layout column may be a
grid (``compound``, ``concentration`` with its unit in the name or a ``unit`` grid,
``role``, ``mode``, ``rescue_agent``, ``replicate``, ``cell_line``, ``exclude``, or a
column of the user's own, kept as it is). The plate format follows from the column numbers
(12 -> 96 wells, 24 -> 384, 48 -> 1536). A well empty in every grid is not in the layout.
One grid set describes one plate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ferroscreen.errors import LayoutError
from ferroscreen.plate.layout_records import WELL_KEYS, LayoutRecord, column_key
from ferroscreen.plate.wells import PLATE_FORMATS, PlateFormat, row_label, rowcol_to_well

#: Plate column count -> plate format, for every format a grid may draw.
_FORMAT_FOR_COLS = {cols: PlateFormat(rows, cols) for rows, cols in PLATE_FORMATS.values()}

#: ``where(row number, cell index)``: the place of a cell, e.g. ``layout.csv:7``.
CellWhere = Callable[[int, int], str]


@dataclass
class GridBlock:
    """One grid: its name, plate format, header row and non-empty cells by well."""

    name: str
    plate_format: PlateFormat
    header_row: int
    where: CellWhere  # the place of one of its cells
    cells: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # well -> (text, row, cell index)
    named_by_default: bool = False  # named by ``default_name`` (the sheet), not in the rows


def _trimmed(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def grid_columns(cells: list[str]) -> int | None:
    """The column count of a grid header line (``NAME, 1, 2, ..., N`` with N a plate's columns), else None."""
    numbers = _trimmed(cells)[1:]
    if len(numbers) not in _FORMAT_FOR_COLS:
        return None
    for i, text in enumerate(numbers, start=1):
        if not (text.isdecimal() and int(text) == i):
            return None
    return len(numbers)


def _row_index(label: str, fmt: PlateFormat) -> int | None:
    label = label.strip().upper()
    if not label.isalpha() or len(label) > 2:
        return None
    index = 0
    for ch in label:
        index = index * 26 + (ord(ch) - ord("A") + 1)
    index -= 1
    return index if index < max(fmt.rows, 32) else None


def is_grid(rows: list[tuple[int, list[str]]]) -> bool:
    """Whether ``rows`` are plate grids: a grid header comes before any line naming a ``well`` column.

    Title lines before the first grid (``Plate map, NALM6 72 h``) do not count.
    """
    for _, cells in rows:
        if grid_columns(cells):
            return True
        if any(column_key(c) in WELL_KEYS for c in cells):
            return False
    return False


def _grid_name(rows: list[tuple[int, list[str]]], i: int, default_name: str) -> tuple[str, bool]:
    """``(name, named by default)`` of the grid whose header is ``rows[i]``."""
    corner = rows[i][1][0] if rows[i][1] else ""
    if any(ch.isalnum() for ch in corner):  # Tecan's "<>" corner is no name
        return corner, False
    above = _trimmed(rows[i - 1][1]) if i else []
    return (above[0], False) if len(above) == 1 else (default_name, True)


def grid_names(rows: list[tuple[int, list[str]]], default_name: str = "") -> list[str]:
    """The names of the grids among ``rows``, found without checking the grids."""
    return [_grid_name(rows, i, default_name)[0] for i, (_, cells) in enumerate(rows) if grid_columns(cells)]


def grid_blocks(rows: list[tuple[int, list[str]]], where: CellWhere, default_name: str = "") -> list[GridBlock]:
    """The grids among ``rows`` (``(row number, cell texts)``), in order.

    A header with an empty first cell takes its name from a lone cell on the line above, else
    ``default_name`` (a sheet's name). Lines outside grids that hold a single cell (titles,
    notes) are passed over.

    Raises:
        LayoutError: For a grid without a name, a row label outside the plate or given twice,
            a grid named twice, grids of different plate formats, or a plate row outside any grid.
    """
    blocks: list[GridBlock] = []
    i = 0
    while i < len(rows):
        number, cells = rows[i]
        n = grid_columns(cells)
        if not n:
            filled = _trimmed(cells)
            if len(filled) > 1 and sum(bool(c) for c in filled) > 1 and _row_index(filled[0], PlateFormat(32, 48)) \
                    is not None and len(filled[0].strip()) <= 2:
                raise LayoutError(f"{where(number, 0)}: plate row '{filled[0]}' outside any grid "
                                  "(a grid starts with a line NAME,1,2,...,12)")
            i += 1
            continue
        name, by_default = _grid_name(rows, i, default_name)
        if not name:
            raise LayoutError(f"{where(number, 0)}: grid without a name (write the layout column, e.g. "
                              "compound, in its first cell)")
        fmt = _FORMAT_FOR_COLS[n]
        block = GridBlock(name, fmt, number, where, named_by_default=by_default)
        seen_rows: dict[int, int] = {}
        i += 1
        while i < len(rows):
            row_no, row = rows[i]
            if not any(row) or grid_columns(row):
                break
            r = _row_index(row[0], fmt) if row[0] else None
            if r is None:
                break
            if r >= fmt.rows:
                raise LayoutError(f"{where(row_no, 0)}: row '{row[0]}' is beyond a {fmt.n_wells}-well plate "
                                  f"(rows A-{row_label(fmt.rows - 1)}) in grid '{name}'")
            if r in seen_rows:
                raise LayoutError(f"{where(row_no, 0)}: row '{row[0]}' given twice in grid '{name}' "
                                  f"(first at {where(seen_rows[r], 0)})")
            seen_rows[r] = row_no
            if len(row) > n + 1 and row[n + 1]:  # a legend needs an empty column between it and the grid
                raise LayoutError(f"{where(row_no, n + 1)}: row '{row[0]}' of grid '{name}' has a value beyond "
                                  f"its {n} plate columns ('{row[n + 1]}')")
            for c in range(n):
                text = row[c + 1] if c + 1 < len(row) else ""
                if text:
                    block.cells[rowcol_to_well(r, c)] = (text, row_no, c + 1)
            i += 1
        if not seen_rows:
            raise LayoutError(f"{where(number, 0)}: grid '{name}' has no rows (lines A,..., B,... under it)")
        order = list(seen_rows)
        if order != list(range(len(order))) or len(order) != fmt.rows:
            gap = next((k for k in range(fmt.rows) if k not in seen_rows), None)
            last = row_label(fmt.rows - 1)
            if gap is not None:
                raise LayoutError(f"{where(number, 0)}: grid '{name}' has no row {row_label(gap)} (a "
                                  f"{fmt.n_wells}-well grid has rows A-{last} in order; leave unused rows empty)")
            raise LayoutError(f"{where(number, 0)}: grid '{name}' has its rows out of order (A-{last} expected)")
        blocks.append(block)
    check_grid_set(blocks)
    return blocks


def check_grid_set(blocks: list[GridBlock]) -> None:
    """Check that ``blocks`` can describe one plate: no name twice, one plate format.

    Raises:
        LayoutError: Naming the grid at fault.
    """
    names: dict[str, GridBlock] = {}
    for b in blocks:
        key = b.name.strip().lower()
        if key in names:
            first = names[key].where(names[key].header_row, 0)
            raise LayoutError(f"{b.where(b.header_row, 0)}: grid '{b.name}' given twice (first at {first}); "
                              "one set of grids describes one plate")
        names[key] = b
        if b.plate_format != blocks[0].plate_format:
            raise LayoutError(f"{b.where(b.header_row, 0)}: grid '{b.name}' is a {b.plate_format.n_wells}-well "
                              f"plate, grid '{blocks[0].name}' a {blocks[0].plate_format.n_wells}-well one")
        if key == "well":
            raise LayoutError(f"{b.where(b.header_row, 0)}: a grid cannot be named 'well' (its cells are the wells)")


def grid_records(blocks: list[GridBlock], plate: str) -> tuple[list[str], list[LayoutRecord]]:
    """``(header, records)`` of one plate's grids (checked by :func:`check_grid_set`): a record per filled well."""
    fmt = blocks[0].plate_format
    header = ["well"] + [b.name for b in blocks]
    records = []
    for r in range(fmt.rows):
        for c in range(fmt.cols):
            well = rowcol_to_well(r, c)
            filled = [b for b in blocks if well in b.cells]
            if not filled:
                continue

            def at(column: str | None, well=well, filled=filled) -> str:
                block = next((b for b in filled if b.name == column), filled[0])
                _, row_no, index = block.cells[well]
                return f"{block.where(row_no, index)}: grid '{block.name}', well {well}"

            first = filled[0]
            values = {"well": well, **{b.name: b.cells[well][0] for b in filled}}
            records.append(LayoutRecord(values, at, first.where(first.cells[well][1], first.cells[well][2]), plate))
    return header, records
