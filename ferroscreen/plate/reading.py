"""Format dispatch for layout files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ferroscreen.errors import LayoutError
from ferroscreen.plate.d300 import looks_like_d300_protocol, read_d300_protocol
from ferroscreen.plate.layout import PlateLayout, combine_layouts
from ferroscreen.plate.layout_csv import read_layout_csv
from ferroscreen.plate.layout_xlsx import read_layout_xlsx
from ferroscreen.plate.platemap import read_platemap
from ferroscreen.plate.wells import PlateFormat
from ferroscreen.workbooks import is_workbook


def read_layout(path: str | Path, plate_format: PlateFormat | int | None = None) -> PlateLayout:
    """Read a layout: CSV/TSV/TXT (table or grids), Excel workbook, IncuCyte ``.PlateMap``, D300 ``.tdd``/``.hpdd``.

    Raises:
        LayoutError: If the file is missing, of an unknown kind, or invalid.
    """
    path = Path(path)
    if not path.exists():
        raise LayoutError(f"{path}: layout file not found")
    if path.is_dir():
        raise LayoutError(f"{path}: is a folder, expected a layout file (CSV, Excel workbook, .PlateMap or D300 "
                          f"protocol)")
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        first = fh.read(200)
    if suffix == ".platemap":
        return read_platemap(path)
    if suffix in (".tdd", ".hpdd"):
        return read_d300_protocol(path)
    if is_workbook(path) or first.startswith(b"PK\x03\x04"):  # an .xlsx workbook is a zip, whatever its name
        return read_layout_xlsx(path, plate_format)
    if suffix in (".csv", ".tsv", ".txt"):
        return read_layout_csv(path, plate_format)
    head = first.lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return read_d300_protocol(path) if looks_like_d300_protocol(path) else read_platemap(path)
    raise LayoutError(f"{path}: unknown layout file type '{suffix}' (expected .csv, .xlsx, .PlateMap or a D300 "
                      f".tdd/.hpdd)")


def read_layouts(paths: str | Path | Sequence[str | Path],
                 plate_format: PlateFormat | int | None = None) -> PlateLayout:
    """Read one layout file, or several as one layout of all their plates.

    ``paths`` is a list of files, or one file (a ``str`` or ``Path``), read as :func:`read_layout` reads it.

    Several files are how layouts of several plates often come: IncuCyte writes a ``.PlateMap`` per
    vessel, some siRNA libraries a map per library plate, a ``plater`` user a grid file per plate.

    Each file's plates keep their names: its ``plate_id`` column or workbook sheets, else the file's
    stem (``VID101.PlateMap`` is plate ``VID101``). Files naming one plate (controls in one,
    compounds in another) describe it together, each well in one file. The plate format is the largest of the files';
    :attr:`~PlateLayout.plate_sources` and :attr:`~PlateLayout.plate_formats` give each plate's file
    and its file's format.

    Raises:
        LayoutError: No file is given, a file cannot be read (as :func:`read_layout`), a file is given
            twice, two files without plate names have the same stem, two files name the same plate and
            well, or plate grids of one format meet a layout of another.
    """
    paths = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not paths:
        raise LayoutError("no layout file given")
    if len(paths) == 1:
        return read_layout(paths[0], plate_format)
    seen: dict[Path, Path] = {}
    for path in paths:
        key = path.resolve()
        if key in seen:
            raise LayoutError(f"{path}: layout file given twice" + (f" (as {seen[key]})" if seen[key] != path else ""))
        seen[key] = path
    parts = [(str(p), read_layout(p, plate_format)) for p in paths]
    owner: dict[str, tuple[str, PlateLayout]] = {}
    for path, lay in parts:
        for plate in lay.plate_ids:
            if plate in owner and plate == Path(owner[plate][0]).stem == Path(path).stem:
                raise LayoutError(f"{path}: plate '{plate}' is also in {owner[plate][0]} (a file without plate names "
                                  f"is the plate named by its stem: give each its own plate_id, or rename one)")
            owner.setdefault(plate, (path, lay))
    largest = max(lay.plate_format for _, lay in parts)
    for path, lay in parts:
        if lay.form == "grid" and lay.plate_format != largest:
            other = next(p for p, other in parts if other.plate_format == largest)
            raise LayoutError(f"{path}: plate grids of a {lay.plate_format.n_wells}-well plate, but {other} lays out "
                              f"a {largest.n_wells}-well plate; give plates of one format together")
    forms = {lay.form for _, lay in parts}
    combined = combine_layouts(parts, Path(" + ".join(map(str, paths))), forms.pop() if len(forms) == 1 else "mixed",
                               largest)
    combined.plate_sources = {plate: Path(path) for plate, (path, _) in owner.items()}
    combined.plate_formats = {plate: lay.plate_format for plate, (_, lay) in owner.items()}
    return combined
