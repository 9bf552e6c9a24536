"""Turn a library's plate map into well assignments and a :class:`PlateLayout`.

Entries without explicit wells fill the next free wells column by column
(``A01, B01, ..., H01, A02, ...``) in the order they are listed; a dose series
with replicates is placed replicate by replicate (all doses of replicate 1, then
replicate 2, ...). Wells left over get role ``empty`` (medium only, no cells).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ferroscreen.errors import WellError
from ferroscreen.plate import PlateFormat, PlateLayout, make_layout, normalize_well
from ferroscreen.simulate.library import Library, LibraryError, Treatment


@dataclass(frozen=True)
class WellPlan:
    """What one well holds.

    Attributes:
        well: Canonical well id (``B03``).
        compound: Compound name ('' for empty wells).
        concentration: Molar concentration (NaN for vehicle/empty).
        role: Layout role.
        mode: Layout mode ('' for samples).
        rescue_agent: Rescue agent ('' if none).
        rescue_concentration: Molar (NaN if none).
        replicate: 1-based replicate number.
    """

    well: str
    compound: str
    concentration: float
    role: str
    mode: str
    rescue_agent: str
    rescue_concentration: float
    replicate: int


def plan_plate(library: Library, plate_format: int) -> list[WellPlan]:
    """Assign every well of a ``plate_format`` plate (one plan per well, row-major order).

    Raises:
        LibraryError: If the library has no map for this format, a well is
            named twice or the entries do not fit on the plate.
    """
    where = library.source or "library"
    if plate_format not in library.plate_maps:
        known = ", ".join(str(k) for k in sorted(library.plate_maps))
        raise LibraryError(
            f"{where}: plate_maps: no map for a {plate_format}-well plate (has: {known})"
        )
    fmt = PlateFormat.from_n_wells(plate_format)
    column_major = [w for c in range(fmt.cols) for w in fmt.wells()[c :: fmt.cols]]
    entries = library.plate_maps[plate_format]
    taken: dict[str, WellPlan] = {}

    def put(well: str, t: Treatment, conc: float, rep: int, key: str) -> None:
        if well in taken:
            raise LibraryError(f"{where}: {key}: well {well} is assigned twice")
        taken[well] = _plan(well, t, conc, rep, library)

    for i, t in enumerate(entries):
        if t.wells is None:
            continue
        key = f"plate_maps.{plate_format}[{i}].wells"
        slots = [(c, r) for r in range(1, t.replicates + 1) for c in t.concentrations]
        if len(t.concentrations) == 1:
            slots = [(t.concentrations[0], r + 1) for r in range(len(t.wells))]
        for w, (conc, rep) in zip(t.wells, slots, strict=False):
            try:
                well = normalize_well(w, fmt)
            except WellError as exc:
                raise LibraryError(f"{where}: {key}: {exc}") from None
            put(well, t, conc, rep, key)

    free = iter([w for w in column_major if w not in taken])
    for i, t in enumerate(entries):
        if t.wells is not None:
            continue
        key = f"plate_maps.{plate_format}[{i}]"
        if len(t.concentrations) == 1:
            slots = [(t.concentrations[0], r + 1) for r in range(t.n_wells * t.replicates)]
        else:
            slots = [(c, r) for r in range(1, t.replicates + 1) for c in t.concentrations]
        for conc, rep in slots:
            well = next(free, None)
            if well is None:
                raise LibraryError(
                    f"{where}: {key}: the plate map needs more than {plate_format} wells"
                )
            put(well, t, conc, rep, key)

    empty = Treatment(compound="", role="empty", concentrations=(math.nan,))
    return [taken.get(w) or _plan(w, empty, math.nan, 1, library) for w in fmt.wells()]


def _plan(well: str, t: Treatment, conc: float, rep: int, library: Library) -> WellPlan:
    mode = t.mode
    if not mode and t.role == "rescue":
        c = library.compound(t.compound)
        mode = max(c.modes, key=c.modes.get) if c.modes else ""
    return WellPlan(
        well=well,
        compound=t.compound,
        concentration=float(conc),
        role=t.role,
        mode=mode,
        rescue_agent=t.rescue_agent,
        rescue_concentration=t.rescue_concentration,
        replicate=rep,
    )


def plans_to_layout(
    plans: list[WellPlan], plate_format: int, plate_id: str, cell_line: str = "sim-B-ALL"
) -> PlateLayout:
    """The layout (foundation schema, molar concentrations) of the planned wells."""
    rows = [
        {
            "plate_id": plate_id,
            "well": p.well,
            "compound": p.compound,
            "concentration": p.concentration,
            "role": p.role,
            "mode": p.mode,
            "rescue_agent": p.rescue_agent,
            "rescue_concentration": p.rescue_concentration,
            "replicate": p.replicate,
            "cell_line": cell_line if p.role != "empty" else "",
        }
        for p in plans
    ]
    return make_layout(rows, plate_format)
