"""Reader for IncuCyte ``.PlateMap`` XML files (IncuCyte S3/SX5/Zoom plate maps).

The XML lists ``<well row= col=>`` elements (zero-based) whose ``<wellItem>``
children carry a ``type`` (``Compound``, ``GrowthCondition``, ``CellType``,
...) with optional ``concentration``/``concentrationUnits`` and a
``<referenceItem>`` naming the item. Files start with a UTF-8 byte-order mark.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from ferroscreen.errors import LayoutError, WellError
from ferroscreen.plate.agents import rescue_agent_index
from ferroscreen.plate.layout import LAYOUT_COLUMNS, PlateLayout, is_vehicle_name
from ferroscreen.plate.units import MOLAR_DIVISORS, decimal_point, to_molar
from ferroscreen.plate.wells import PlateFormat, rowcol_to_well
from ferroscreen.plate.xml_files import xml_root


def _name(item: ET.Element) -> str:
    ref = item.find("referenceItem")
    if ref is None:
        return ""
    return (ref.get("description") or ref.get("displayName") or "").strip()


def _concentration(path: Path, row: int, col: int, raw: str | None) -> float:
    """A ``concentration`` attribute as a float (``1,5`` read as 1.5; absent -> NaN)."""
    text = (raw or "").strip()
    if not text:
        return math.nan
    try:
        return float(decimal_point(text))
    except ValueError:
        raise LayoutError(
            f"{path}: well {rowcol_to_well(row, col)}: concentration '{text}' is not a number"
        ) from None


def read_platemap(path: str | Path) -> PlateLayout:
    """Read an IncuCyte ``.PlateMap`` into a :class:`PlateLayout`.

    Compounds become ``compound``/``concentration`` (molar when the unit is
    molar; non-molar units such as ``%`` keep the raw value in
    ``concentration_raw`` and leave ``concentration`` NaN). Several compounds
    in one well are joined with ``+``, except that one known death-mode
    inhibitor beside a treatment (ferrostatin-1, necrostatin-1, zVAD, ...; see
    :func:`ferroscreen.plate.agents.rescue_agent_index`) becomes the well's
    ``rescue_agent``/``rescue_concentration`` (role ``rescue``), so the rescue
    analysis pairs it with the treatment alone; zVAD beside TNF stays part of
    the necroptosis cocktail. Growth conditions and cell types go to
    ``growth_condition`` and ``cell_line``. Wells without items are ``empty``;
    compounds named like a vehicle (DMSO, ...) get role ``vehicle``.

    Raises:
        LayoutError: If the file is not a readable PlateMap, or a concentration
            is not a number (one line naming the file and well).
    """
    path = Path(path)
    root = xml_root(path, "plateMap", "PlateMap")
    wells = root.findall("./wellStore/wells/well")
    if not wells:
        raise LayoutError(f"{path}: PlateMap lists no wells")
    records = []
    max_r = max_c = 0
    seen: set[tuple[int, int]] = set()
    for el in wells:
        try:
            r, c = int(el.get("row", "")), int(el.get("col", ""))
        except ValueError:
            raise LayoutError(f"{path}: <well> without integer row/col attributes") from None
        if (r, c) in seen:
            raise LayoutError(f'{path}: <well row="{r}" col="{c}"> ({rowcol_to_well(r, c)}) is listed twice')
        seen.add((r, c))
        try:
            PlateFormat.smallest_containing([rowcol_to_well(r, c)])
        except WellError as exc:
            raise LayoutError(f'{path}: <well row="{r}" col="{c}">: {exc}') from None
        max_r, max_c = max(max_r, r), max(max_c, c)
        compounds, concs, raws, units = [], [], [], []
        growth, cell_types = [], []
        for item in el.findall("./items/wellItem"):
            kind = item.get("type", "")
            name = _name(item)
            if kind == "Compound":
                compounds.append(name)
                unit = (item.get("concentrationUnits") or "").strip()
                value = _concentration(path, r, c, item.get("concentration"))
                raws.append(value)
                units.append(unit)
                concs.append(to_molar(value, unit) if unit in MOLAR_DIVISORS else math.nan)
            elif kind == "GrowthCondition":
                growth.append(name)
            elif kind == "CellType":
                cell_types.append(name)
        records.append((r, c, compounds, concs, raws, units, growth, cell_types))
    fmt = PlateFormat.smallest_containing([rowcol_to_well(max_r, max_c)])
    if fmt.n_wells < 96:
        fmt = PlateFormat.from_n_wells(96) if len(wells) > fmt.n_wells else fmt
    rows = []
    for r, c, compounds, concs, raws, units, growth, cell_types in records:
        actives = [
            (n, m, raw, u)
            for n, m, raw, u in zip(compounds, concs, raws, units, strict=True)
            if not is_vehicle_name(n, untreated=False)
        ]
        agent, agent_conc = "", math.nan
        rescue_at = rescue_agent_index([n for n, *_ in actives])
        if rescue_at is not None:
            agent, agent_conc = actives[rescue_at][0], actives[rescue_at][1]
            actives = actives[:rescue_at] + actives[rescue_at + 1 :]
        if not compounds:
            role, name, conc, raw, unit = "empty", "", math.nan, math.nan, ""
        elif not actives:
            role, name, conc, raw, unit = "vehicle", compounds[0], concs[0], raws[0], units[0]
        else:
            role = "rescue" if agent else "sample"
            name = "+".join(n for n, *_ in actives)
            conc, raw, unit = actives[0][1], actives[0][2], actives[0][3]
        rows.append(
            {
                "plate_id": path.stem,
                "well": rowcol_to_well(r, c),
                "compound": name,
                "concentration": conc,
                "unit": unit,
                "role": role,
                "mode": "alive" if role == "vehicle" else "",
                "rescue_agent": agent,
                "rescue_concentration": agent_conc,
                "replicate": 1,
                "cell_line": "+".join(cell_types),
                "growth_condition": "+".join(growth),
                "concentration_raw": raw,
            }
        )
    df = pd.DataFrame(rows)
    # replicate number: order of appearance within identical treatments
    key = ["compound", "concentration_raw", "growth_condition", "rescue_agent", "rescue_concentration"]
    df["replicate"] = df.groupby(key, dropna=False, sort=False).cumcount() + 1
    df = df[LAYOUT_COLUMNS + ["growth_condition", "concentration_raw"]]
    return PlateLayout(df, fmt, path, "platemap")
