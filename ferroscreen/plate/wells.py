"""Well identifiers and plate formats.

Canonical well names are a row label followed by a zero-padded column number
(``A01``, ``P24``, ``AF48``). Rows run ``A``–``Z`` then ``AA``–``AF`` for the
1536-well format. Row and column indices are zero-based everywhere in the API.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from ferroscreen.errors import WellError

#: Supported plate formats: number of wells -> (rows, columns).
PLATE_FORMATS: dict[int, tuple[int, int]] = {
    6: (2, 3),
    12: (3, 4),
    24: (4, 6),
    48: (6, 8),
    96: (8, 12),
    384: (16, 24),
    1536: (32, 48),
}

#: Rows and columns of the largest plate format (1536 wells): no well id lies beyond them.
_MAX_ROWS, _MAX_COLS = PLATE_FORMATS[max(PLATE_FORMATS)]

_WELL_RE = re.compile(r"^\s*([A-Za-z]{1,2})\s*0*(\d{1,2})\s*$")


def row_label(row: int) -> str:
    """Return the row label for a zero-based row index (0 -> ``A``, 26 -> ``AA``)."""
    if row < 0:
        raise WellError(f"row index {row} is negative")
    letters = string.ascii_uppercase
    if row < 26:
        return letters[row]
    return letters[row // 26 - 1] + letters[row % 26]


def row_index(label: str) -> int:
    """Return the zero-based row index of a row label (``A`` -> 0, ``AA`` -> 26)."""
    label = label.upper()
    if len(label) == 1:
        return ord(label) - 65
    return (ord(label[0]) - 64) * 26 + (ord(label[1]) - 65)


@dataclass(frozen=True, order=True)
class PlateFormat:
    """A rectangular plate format.

    Attributes:
        rows: Number of rows.
        cols: Number of columns.
    """

    rows: int
    cols: int

    @property
    def n_wells(self) -> int:
        """Number of wells on the plate."""
        return self.rows * self.cols

    @classmethod
    def from_n_wells(cls, n_wells: int) -> PlateFormat:
        """Return the format with ``n_wells`` wells (6, 12, 24, 48, 96, 384 or 1536)."""
        try:
            return cls(*PLATE_FORMATS[int(n_wells)])
        except (KeyError, ValueError):
            known = ", ".join(str(k) for k in PLATE_FORMATS)
            raise WellError(f"unknown plate format {n_wells!r}; expected one of {known}") from None

    @classmethod
    def smallest_containing(cls, wells: list[str]) -> PlateFormat:
        """Return the smallest supported format that holds every well in ``wells``."""
        max_r = max_c = 0
        for w in wells:
            r, c = well_to_rowcol(w)
            max_r, max_c = max(max_r, r), max(max_c, c)
        for n in sorted(PLATE_FORMATS):
            fmt = cls.from_n_wells(n)
            if max_r < fmt.rows and max_c < fmt.cols:
                return fmt
        raise WellError(f"wells span row {max_r + 1} and column {max_c + 1}: larger than 1536")

    @classmethod
    def of_layout(cls, wells: list[str]) -> PlateFormat:
        """The plate a layout of ``wells`` is read as: the smallest holding them, at least a 96-well plate."""
        fmt = cls.smallest_containing(wells) if wells else cls.from_n_wells(96)
        return fmt if fmt.n_wells >= 96 else cls.from_n_wells(96)

    def contains(self, well: str) -> bool:
        """Whether ``well`` lies on this plate."""
        r, c = well_to_rowcol(well)
        return r < self.rows and c < self.cols

    def wells(self) -> list[str]:
        """All canonical well names in row-major order."""
        return [rowcol_to_well(r, c) for r in range(self.rows) for c in range(self.cols)]

    def is_edge(self, well: str) -> bool:
        """Whether ``well`` is on the outer ring of the plate."""
        r, c = well_to_rowcol(well)
        return r in (0, self.rows - 1) or c in (0, self.cols - 1)


def well_to_rowcol(well: str, plate_format: PlateFormat | None = None) -> tuple[int, int]:
    """Parse a well id (``A1``, ``A01``, ``a01``) into zero-based ``(row, col)``.

    Raises:
        WellError: If ``well`` is malformed or lies outside ``plate_format``.
    """
    m = _WELL_RE.match(str(well))
    if not m:
        raise WellError(f"'{well}' is not a well id (expected a row letter and a column, e.g. A01)")
    row, col = row_index(m.group(1)), int(m.group(2)) - 1
    if col < 0:
        raise WellError(f"'{well}' has column 0; columns start at 1")
    if len(m.group(1)) == 2 and row < 26:
        raise WellError(f"'{well}' is not a well id")
    if plate_format is None and (row >= _MAX_ROWS or col >= _MAX_COLS):
        raise WellError(f"'{well}' is outside every plate format (largest: 1536 wells, AF48)")
    if plate_format is not None and (row >= plate_format.rows or col >= plate_format.cols):
        raise WellError(
            f"well '{well}' is outside a {plate_format.n_wells}-well plate "
            f"({plate_format.rows} rows × {plate_format.cols} columns)"
        )
    return row, col


def rowcol_to_well(row: int, col: int, plate_format: PlateFormat | None = None) -> str:
    """Return the canonical well name for zero-based ``(row, col)``.

    Raises:
        WellError: If ``(row, col)`` is negative or lies outside ``plate_format`` (without one:
            outside every plate format, the largest being 1536 wells, 32 rows x 48 columns).
    """
    if plate_format is not None and not (0 <= row < plate_format.rows and 0 <= col < plate_format.cols):
        raise WellError(
            f"row {row}, column {col} (zero-based) is outside a {plate_format.n_wells}-well plate"
        )
    if col < 0:
        raise WellError(f"column index {col} is negative")
    if row >= _MAX_ROWS or col >= _MAX_COLS:
        raise WellError(f"row {row}, column {col} (zero-based) is outside every plate format "
                        f"(largest: 1536 wells, {_MAX_ROWS} rows x {_MAX_COLS} columns)")
    return f"{row_label(row)}{col + 1:02d}"


def normalize_well(well: str, plate_format: PlateFormat | None = None) -> str:
    """Return the canonical name (``A01``) of any accepted well spelling."""
    return rowcol_to_well(*well_to_rowcol(well, plate_format))


def short_well(well: str) -> str:
    """Return the unpadded spelling (``A1``) used by IncuCyte."""
    r, c = well_to_rowcol(well)
    return f"{row_label(r)}{c + 1}"
