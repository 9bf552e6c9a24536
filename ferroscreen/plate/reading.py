"""Format dispatch for layout files."""

from __future__ import annotations

from pathlib import Path

from ferroscreen.errors import LayoutError
from ferroscreen.plate.layout import PlateLayout
from ferroscreen.plate.layout_csv import read_layout_csv
from ferroscreen.plate.layout_xlsx import read_layout_xlsx
from ferroscreen.plate.platemap import read_platemap
from ferroscreen.plate.wells import PlateFormat
from ferroscreen.workbooks import is_workbook


def read_layout(path: str | Path, plate_format: PlateFormat | int | None = None) -> PlateLayout:
    """Read a layout: CSV/TSV/TXT (a table or plate grids), an Excel workbook or an IncuCyte ``.PlateMap``.

    Raises:
        LayoutError: If the file is missing, of an unknown kind, or invalid.
    """
    path = Path(path)
    if not path.exists():
        raise LayoutError(f"{path}: layout file not found")
    if path.is_dir():
        raise LayoutError(f"{path}: is a folder, expected a layout file (CSV, Excel workbook or .PlateMap)")
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        first = fh.read(200)
    if suffix == ".platemap":
        return read_platemap(path)
    if is_workbook(path) or first.startswith(b"PK\x03\x04"):  # an .xlsx workbook is a zip, whatever its name
        return read_layout_xlsx(path, plate_format)
    if suffix in (".csv", ".tsv", ".txt"):
        return read_layout_csv(path, plate_format)
    head = first.lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return read_platemap(path)
    raise LayoutError(f"{path}: unknown layout file type '{suffix}' (expected .csv, .xlsx or .PlateMap)")
