"""Plate model: well ids, plate formats and plate layouts (no images, no torch)."""

from ferroscreen.plate.layout import (
    KNOWN_MODES,
    LAYOUT_COLUMNS,
    ROLES,
    PlateLayout,
    exclusion_reasons,
    make_layout,
)
from ferroscreen.plate.layout_csv import read_layout_csv
from ferroscreen.plate.platemap import read_platemap
from ferroscreen.plate.reading import read_layout, read_layouts
from ferroscreen.plate.units import format_molar, to_molar
from ferroscreen.plate.wells import (
    PLATE_FORMATS,
    PlateFormat,
    normalize_well,
    rowcol_to_well,
    short_well,
    well_to_rowcol,
)

__all__ = [
    "KNOWN_MODES",
    "LAYOUT_COLUMNS",
    "PLATE_FORMATS",
    "ROLES",
    "PlateFormat",
    "PlateLayout",
    "exclusion_reasons",
    "format_molar",
    "make_layout",
    "normalize_well",
    "read_layout",
    "read_layouts",
    "read_layout_csv",
    "read_platemap",
    "rowcol_to_well",
    "short_well",
    "to_molar",
    "well_to_rowcol",
]
