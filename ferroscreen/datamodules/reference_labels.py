"""How a lab's layout names wells for training: well lists, rescue combinations in a compound cell, plate formats."""

from __future__ import annotations

import re

from ferroscreen.plate.agents import rescue_agent_index
from ferroscreen.plate.wells import PlateFormat, well_to_rowcol

__all__ = ["inhibitor_in", "on_format", "well_order", "wells_text"]


def wells_text(wells, limit: int = 8) -> str:
    """``A01, B02 and 3 more`` (wells in plate order, ``plate/well`` keys as they are)."""
    wells = list(dict.fromkeys(wells))
    shown = ", ".join(wells[:limit])
    return shown + (f" and {len(wells) - limit} more" if len(wells) > limit else "")


def _compound_parts(compound: str) -> list[str]:
    """A compound cell's parts (``RSL3 + Fer-1 1uM``, ``RSL3/Ferrostatin 1``), each without its dose."""
    parts = [p.strip() for p in re.split(r"\s*(?:\+|&|/|;|\bwith\b|\band\b)\s*", str(compound), flags=re.I)]
    out = []
    for part in parts:
        part = re.sub(r"\s*[(\[][^()\[\]]*[)\]]\s*$", "", part)  # a dose in brackets
        part = re.sub(r"\s*\d+(?:[.,]\d+)?\s*(?:[pnuµμm]?M|[pnuµμm]?mol/l|[nuµμm]?g/ml|%)$", "", part, flags=re.I)
        if part:
            out.append(part)
    return out


def inhibitor_in(compound: str) -> str | None:
    """The known death-mode inhibitor a reference well's compound names beside its inducer, else None.

    ``RSL3 + Fer-1``, ``RSL3 + Ferrostatin 1 (1 uM)``, ``RSL3/Fer1``: a rescue combination, not a pure
    example of ferroptosis (``TNF+SMAC+zVAD`` stays the necroptosis cocktail).
    """
    parts = _compound_parts(compound)
    if len(parts) < 2:
        return None
    at = rescue_agent_index([re.sub(r"[\s_]+", "-", p) for p in parts])
    if at is None:
        at = rescue_agent_index([re.sub(r"[\s_]+", "", p) for p in parts])
    return parts[at] if at is not None else None


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
