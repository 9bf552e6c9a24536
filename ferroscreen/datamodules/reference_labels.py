"""Well names in training messages and checks: lists of wells, their plate order, plate formats."""

from __future__ import annotations

from ferroscreen.plate.wells import PlateFormat, well_to_rowcol

__all__ = ["on_format", "well_order", "wells_text"]


def wells_text(wells, limit: int = 8) -> str:
    """``A01, B02 and 3 more`` (wells in plate order, ``plate/well`` keys as they are)."""
    wells = list(dict.fromkeys(wells))
    shown = ", ".join(wells[:limit])
    return shown + (f" and {len(wells) - limit} more" if len(wells) > limit else "")


def well_order(well: str):
    """Sort key of a well name (``A2`` before ``A10``; ``plate/well`` keys by plate, then well)."""
    plate, _, w = str(well).rpartition("/")
    try:
        return (plate, *well_to_rowcol(w))
    except Exception:  # noqa: BLE001 - an instrument's odd well name sorts as text
        return (plate, 10**6, str(w))


def on_format(well: str, fmt: PlateFormat) -> bool:
    """Whether ``well`` lies on a plate of format ``fmt``."""
    try:
        return fmt.contains(well)
    except Exception:  # noqa: BLE001
        return True
