"""Reader for layout text files: the ferroscreen layout CSV (schema in ARCHITECTURE.md / README) or plate grids.

A file whose first line is a grid header (``compound,1,2,...,12``) is read as plate grids
(:mod:`ferroscreen.plate.layout_grid`); any other as the table of one row per well. Every
validation failure raises :class:`~ferroscreen.errors.LayoutError` with a message
``FILE:LINE: column 'COL': problem`` (LINE counts the header as line 1), or for a grid
``FILE:LINE: grid 'NAME', well B03: problem``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ferroscreen.csv_tables import decode_table_text
from ferroscreen.errors import LayoutError
from ferroscreen.plate.layout import PlateLayout
from ferroscreen.plate.layout_grid import grid_blocks, grid_names, grid_records, is_grid
from ferroscreen.plate.layout_records import (
    WELL_KEYS,
    LayoutRecord,
    NotALayout,
    column_key,
    is_layout_column,
    layout_columns,
    layout_from_records,
    table_header_index,
)
from ferroscreen.plate.wells import PlateFormat


def _decode(path: Path, raw: bytes) -> str:
    """Text of a layout file: UTF-16 by its byte-order mark (Excel's "Unicode text"), UTF-8, else Windows-1252."""
    if raw[:2] not in (b"\xff\xfe", b"\xfe\xff") and (
            raw[:4] == b"PK\x03\x04" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or b"\x00" in raw[:4096]):
        raise LayoutError(f"{path}: an Excel workbook or binary file, not a text layout (save it as CSV)")
    try:
        return decode_table_text(raw)
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _delimiter(lines: list[str]) -> str:
    """The delimiter most of the first 50 lines hold more of than of the others (comma when none does).

    Quoted text is left out of the count, and a line holding two delimiters equally often counts for
    neither: a title ``HT1080, 5000 cells/well, 72 h;;;`` above a semicolon table, or a grid row of decimal
    commas (``A;0,5;2,5``), does not outvote the table's lines.
    """
    votes = dict.fromkeys(",;\t", 0)
    for line in lines[:50]:
        counts = {d: re.sub(r'"[^"]*"', "", line).count(d) for d in votes}
        top = max(counts.values())
        if top and list(counts.values()).count(top) == 1:
            votes[max(counts, key=counts.get)] += 1
    best = max(votes.values())
    return next(d for d, n in votes.items() if n == best) if best else ","


def _table_records(path: Path, lines: list[str], delim: str, first: int = 0) -> tuple[list[str], list[LayoutRecord]]:
    """``(header, records)`` of a layout table: one row per well under a header line (line ``first`` + 1)."""
    reader = csv.reader(lines[first:], delimiter=delim)
    header = [h.strip() for h in next(reader)]
    if not any(column_key(h) in WELL_KEYS for h in header):  # before any row's check: maybe a plate read
        if any(ln.lstrip().lower().startswith("date time") and "elapsed" in ln.lower() for ln in lines[:60]):
            raise NotALayout(f"{path}: an IncuCyte metric export (a Date Time / Elapsed table of readings), not a "
                             "layout")
        raise NotALayout(f"{path}:{first + 1}: missing required column 'well' (header: {', '.join(header)})")
    records = []
    for lineno, cells in enumerate(reader, start=first + 2):
        if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
            continue
        if len(cells) > len(header):
            raise LayoutError(f"{path}:{lineno}: {len(cells)} fields but the header has {len(header)}")

        def at(column: str | None, lineno=lineno) -> str:
            return f"{path}:{lineno}: column '{column}'" if column else f"{path}:{lineno}"

        filled = next((i for i, h in enumerate(header) if not h and i < len(cells) and cells[i].strip()), None)
        if filled is not None:  # Excel's trailing ';;' columns are left out only while they are empty
            raise LayoutError(f"{path}:{lineno}: column {filled + 1} holds '{cells[filled].strip()}' but has no name "
                              "in the header (name it, or delete the column)")
        values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}
        records.append(LayoutRecord(values, at, f"line {lineno}", path.stem))
    return header, records


def _plates_named_by_file(header: list[str], records: list[LayoutRecord], stem: str) -> set[str]:
    """``{stem}`` when a record names no plate (no ``plate_id`` column, or its cell blank) and none names ``stem``."""
    names, _ = layout_columns(h for h in header if h)
    column = next((h for h, key in names.items() if key == "plate_id"), None)
    written = {rec.values.get(column, "").strip() for rec in records} if column else {""}
    return {stem} if "" in written and stem not in written else set()


def read_layout_csv(
    path: str | Path,
    plate_format: PlateFormat | int | None = None,
    extra_modes: tuple[str, ...] = (),
) -> PlateLayout:
    """Read and validate a layout text file: a table of one row per well, or plate grids.

    Args:
        path: The file (comma, semicolon or tab separated; UTF-8 with or without BOM, UTF-16
            with BOM, or Windows-1252 as older Excel saves it). In a semicolon or tab separated
            file each number column decides its decimal mark: a decimal comma (``0,5``; ``1.000``
            beside it is a thousand), else a decimal point (``2.5``; ``1,000`` beside it is a
            thousand), else the mark the file's other number columns write. Columns are named as
            :mod:`ferroscreen.plate.layout_records` reads them (``gene`` for ``compound``,
            ``concentration (uM)``...).
        plate_format: Plate format to validate wells against; by default a grid's own, or the
            smallest of 96/384/1536 that holds every well.
        extra_modes: Mode names accepted besides :data:`~ferroscreen.plate.layout.KNOWN_MODES`.

    Returns:
        The validated layout, concentrations converted to molar. A table without a
        ``plate_id`` column, and a set of grids, is the plate named by the file's stem
        (:attr:`~ferroscreen.plate.layout.PlateLayout.file_named_plates`: it is every plate's map, and
        data plates keep their own names).

    Raises:
        LayoutError: Naming file, line and column (or grid and well) of the first problem found; a number
            column mixing decimal points and commas, and a ``1.000`` or ``1,000`` no number of the file
            tells the mark of, are refused.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LayoutError(f"{path}: layout file not found") from None
    lines = _decode(path, raw).splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise LayoutError(f"{path}: layout file is empty")
    delim = _delimiter(lines)
    rows = [(i, [c.strip() for c in cells]) for i, cells in enumerate(csv.reader(lines, delimiter=delim), start=1)]
    if is_grid(rows):
        def where(row: int, _cell: int) -> str:
            return f"{path}:{row}"

        names = grid_names(rows)
        if not any(is_layout_column(n) for n in names if n):  # a plate read's grids ("<>" corner), or notes
            shown = ", ".join(f"'{n}'" if n else "unnamed" for n in names)
            raise NotALayout(f"{path}: plate grids ({shown}) but none names a layout column "
                             "(compound, concentration, role, mode...)")
        blocks = grid_blocks(rows, where)
        header, records = grid_records(blocks, path.stem)
        if plate_format is None:
            plate_format = blocks[0].plate_format
        rows_of = {b.name: b.header_row for b in blocks}

        def header_where(column: str) -> str:
            return f"{path}:{rows_of[column]}: grid '{column}'" if column in rows_of else str(path)
        form = "grid"
    else:
        if (k := table_header_index(rows)) is not None:  # title lines above the table (as in a workbook)
            first = rows[k][0] - 1
        header, records = _table_records(path, lines, delim, first)
        header_where = f"{path}:{first + 1}"
        form = "csv"
    layout = layout_from_records(path, header, records, plate_format, extra_modes,
                                 decimal_comma=delim != ",", header_where=header_where, form=form)
    layout.file_named_plates = _plates_named_by_file(header, records, path.stem)
    return layout
