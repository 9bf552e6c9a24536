"""Reader for Tecan (formerly HP) D300/D300e digital-dispenser protocols (``.tdd``, ``.hpdd``).

A D300 protocol is the plate design the dispenser printed: XML with a ``<Protocol>`` root that lists
the ``<Fluids>`` (each an ``ID``, a ``<Name>``, a stock ``<Concentration>`` and, for an on-deck
dilution, the ``<RootFluidID>`` it was diluted from) and the ``<Plates>``, each with its ``<Name>``
(often empty), ``<Rows>``/``<Cols>``, ``<AssayVolume>`` and ``<Wells>``:
``<Well Row="r" Col="c"><Fluid ID="k">0.3</Fluid></Well>``, rows and columns 0-based, the text the
final concentration of fluid ``k`` in the well. ``<Backfills>`` list the wells (``P``, ``R``, ``C``:
plate index, row, column) topped up with vehicle to one volume (DMSO normalisation), and a plate's
``<Randomize>`` maps a designed well (``C``, ``R``) to the well printed (``ToC``, ``ToR``).

Facts the reader relies on:

* final concentrations are in the protocol's ``MolarityConcentrationUnit`` (else its
  ``ConcentrationUnit``, else µM); fluids whose own unit is a mass concentration (``mg/mL``)
  are in its ``MassConcentrationUnit`` (``ng_mL`` is ng/ml), kept as written as a layout keeps
  mass doses without a molecular weight; fluids dosed by volume (``ByVol`` true) keep their
  numbers as ``% v/v``;
* a diluted fluid (``Erastin 10mM - 1:100``) is its root fluid's compound, and a stock
  concentration at the end of a fluid's name (``Erastin 10mM``, ``RSL3_1 mM``) is dropped when it
  is that fluid's stock, so one compound printed from two stocks is one dose series;
* a well with no fluid that a backfill lists is a vehicle well (``DMSO`` for vehicle class 0);
  a well with neither is not in the layout.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from ferroscreen.errors import LayoutError, WellError
from ferroscreen.plate.agents import rescue_agent_index
from ferroscreen.plate.layout import LAYOUT_COLUMNS, PlateLayout, is_vehicle_name
from ferroscreen.plate.units import MOLAR_DIVISORS, concentration_unit, format_molar, molar_unit, to_molar
from ferroscreen.plate.wells import PlateFormat, rowcol_to_well
from ferroscreen.plate.xml_files import xml_root

__all__ = ["looks_like_d300_protocol", "read_d300_protocol"]

_STOCK_IN_NAME = re.compile(r"^(?P<name>.*?\S)[\s_-]*(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>[munpµμ]?M)$")
_DILUTED = re.compile(r"\s+-\s+1:\d+(?:[.,]\d+)?$")


def looks_like_d300_protocol(path: str | Path) -> bool:
    """Whether ``path`` is an XML file whose root element is ``<Protocol>`` (a D300 protocol)."""
    path = Path(path)
    if path.suffix.lower() in (".tdd", ".hpdd"):
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b"<") and re.search(rb"<Protocol[\s>]", text) is not None


def _text(el: ET.Element | None, tag: str, default: str = "") -> str:
    found = el.find(tag) if el is not None else None
    return (found.text or "").strip() if found is not None and found.text is not None else default


def _number(path: Path, text: str, what: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except (ValueError, AttributeError):
        raise LayoutError(f"{path}: {what} '{text}' is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise LayoutError(f"{path}: {what} '{text}' is not a concentration")
    return value


def _index(path: Path, el: ET.Element, key: str, where: str) -> int:
    raw = el.get(key, "")
    if not raw.strip().isdecimal():
        raise LayoutError(f"{path}: {where}: {key}='{raw}' is not a row or column number (0-based)")
    return int(raw)


def _unit_of(text: str) -> str:
    """A protocol's unit element (``µM``, ``ng_mL``) as ferroscreen spells it."""
    return concentration_unit(text.replace("_", "/")) if text else ""


class _Fluid:
    """One ``<Fluid>``: the compound it is, and the unit of its well concentrations."""

    def __init__(self, el: ET.Element, molar: str, mass: str):
        self.id = el.get("ID", "").strip()
        self.name = _text(el, "Name") or f"fluid {self.id}"
        self.root = _text(el, "RootFluidID")
        own = _text(el, "ConcentrationUnit")
        if _text(el, "ByVol").lower() == "true":
            self.unit = "% v/v"
        elif own and not molar_unit(own) and _unit_of(own) not in ("", "%", "% v/v", "x"):
            self.unit = mass or _unit_of(own)
        else:
            self.unit = molar
        self.compound = _DILUTED.sub("", self.name)


def _fluids(path: Path, root: ET.Element) -> dict[str, _Fluid]:
    molar = molar_unit(_text(root, "MolarityConcentrationUnit")) or molar_unit(_text(root, "ConcentrationUnit")) or "µM"
    mass = _unit_of(_text(root, "MassConcentrationUnit"))
    stock_unit = molar_unit(_text(root, "ConcentrationUnit")) or "µM"
    fluids: dict[str, _Fluid] = {}
    for el in root.findall("./Fluids/Fluid"):
        fluid = _Fluid(el, molar, mass)
        fluid.compound = _strip_stock(el, fluid.compound, stock_unit)
        if fluid.id in fluids:
            raise LayoutError(f"{path}: fluid ID {fluid.id} is defined twice")
        fluids[fluid.id] = fluid
    for fluid in fluids.values():  # a dilution is its root's compound (roots may be diluted again)
        seen, root_id = {fluid.id}, fluid.root
        while root_id and root_id in fluids and root_id not in seen:
            seen.add(root_id)
            fluid.compound = fluids[root_id].compound
            root_id = fluids[root_id].root
    return fluids


def _strip_stock(el: ET.Element, name: str, stock_unit: str) -> str:
    """``name`` without a trailing stock concentration equal to the fluid's ``<Concentration>``."""
    match = _STOCK_IN_NAME.match(name)
    stock = _text(el, "Concentration")
    if not match or not stock or not molar_unit(match["unit"]):
        return name
    try:
        named = to_molar(float(match["value"].replace(",", ".")), molar_unit(match["unit"]))
        held = to_molar(float(stock), stock_unit)
    except ValueError:
        return name
    return match["name"].rstrip(" _-") if math.isclose(named, held, rel_tol=1e-6) else name


def _plate_names(path: Path, plates: list[ET.Element]) -> list[str]:
    names = [_text(p, "Name") for p in plates]
    if len(plates) == 1:
        return [names[0] or path.stem]
    out = [name or f"{path.stem}_{i + 1}" for i, name in enumerate(names)]
    twice = sorted({n for n in out if out.count(n) > 1})
    if twice:
        raise LayoutError(f"{path}: several plates are named '{twice[0]}'; give each plate its own name in the "
                          f"D300 software")
    return out


def _randomized(path: Path, plate: ET.Element, where: str) -> dict[tuple[int, int], tuple[int, int]]:
    """A plate's ``<Randomize>`` map: designed (row, col) -> printed (row, col)."""
    moves = {}
    for el in plate.findall("./Randomize/Well"):
        src = (_index(path, el, "R", where), _index(path, el, "C", where))
        moves[src] = (_index(path, el, "ToR", where), _index(path, el, "ToC", where))
    return moves


def read_d300_protocol(path: str | Path) -> PlateLayout:
    """Read a D300/D300e protocol into a :class:`PlateLayout` (see the module docstring).

    Plates are named by their ``<Name>``; unnamed ones by the file's stem (``<stem>_<n>`` when the
    protocol holds several). One known death-mode inhibitor beside a treatment is that well's
    ``rescue_agent`` (role ``rescue``), as in IncuCyte plate maps; other wells of several fluids are
    combinations, a curve of the drug whose dose varies most over the plate's wells of that
    combination at each dose of its partners (``Erastin+RSL3 (10 nM)``). Fluids named like a vehicle
    (DMSO) are vehicle wells. Randomised plates are read at the wells printed.

    Raises:
        LayoutError: One line naming the file: not a protocol, a well naming an unknown fluid or a
            well outside its plate, a concentration that is no number, two plates of one name.
    """
    path = Path(path)
    root = xml_root(path, "Protocol", "D300 protocol")
    fluids = _fluids(path, root)
    plates = root.findall("./Plates/Plate")
    if not plates:
        raise LayoutError(f"{path}: the protocol has no <Plates>")
    names = _plate_names(path, plates)
    backfilled: dict[int, set[tuple[int, int]]] = {}
    vehicle_class: dict[tuple[int, int, int], str] = {}
    for fill in root.findall("./Backfills/Backfill"):
        for el in fill.findall("./Wells/Well"):
            where = "a backfill well"
            key = (_index(path, el, "P", where), _index(path, el, "R", where), _index(path, el, "C", where))
            backfilled.setdefault(key[0], set()).add(key[1:])
            vehicle_class[key] = fill.get("ClassID", "0").strip()
    stray = sorted(p for p in backfilled if p >= len(plates))
    if stray:
        raise LayoutError(f"{path}: a backfill lists wells of plate index {stray[0]} (P, 0-based), but the protocol "
                          f"has {len(plates)} plate(s)")
    rows, formats = [], []
    for p, (plate, name) in enumerate(zip(plates, names, strict=True)):
        n_rows = int(_number(path, _text(plate, "Rows", "8"), f"plate {name}: Rows"))
        n_cols = int(_number(path, _text(plate, "Cols", "12"), f"plate {name}: Cols"))
        try:
            fmt = PlateFormat.from_n_wells(n_rows * n_cols)
        except (ValueError, WellError):
            raise LayoutError(f"{path}: plate {name}: {n_rows} x {n_cols} wells is no plate format") from None
        formats.append(fmt)
        moves = _randomized(path, plate, f"plate {name}: <Randomize>")
        contents: dict[tuple[int, int], list[tuple[_Fluid, float]]] = {}
        for el in plate.findall("./Wells/Well"):
            where = f"plate {name}: a <Well>"
            rc = (_index(path, el, "Row", where), _index(path, el, "Col", where))
            for item in el.findall("./Fluid"):
                fid = item.get("ID", "").strip()
                if fid not in fluids:
                    raise LayoutError(f"{path}: plate {name} well {_well(path, name, rc, n_rows, n_cols)}: fluid ID "
                                      f"{fid or '(none)'} is not among the protocol's <Fluids>")
                value = _number(path, item.text or "", f"plate {name} well {_well(path, name, rc, n_rows, n_cols)}: "
                                                       f"concentration of {fluids[fid].name}")
                if value > 0:
                    contents.setdefault(rc, []).append((fluids[fid], value))
        printed = {rc: _well(path, name, moves.get(rc, rc), n_rows, n_cols)
                   for rc in sorted(set(contents) | backfilled.get(p, set()))}
        wells = {rc: _WellDoses(contents.get(rc, [])) for rc in printed}
        varying = _varying(list(wells.values()))
        rows += [wells[rc].row(name, well, vehicle_class.get((p, *rc), "0"), varying) for rc, well in printed.items()]
    if not rows:
        raise LayoutError(f"{path}: the protocol prints into no well")
    df = pd.DataFrame(rows)
    twice = df.duplicated(["plate_id", "well"], keep=False)
    if twice.any():
        first = df[twice].iloc[0]
        raise LayoutError(f"{path}: plate {first['plate_id']} well {first['well']} is printed twice (a <Randomize> "
                          f"moving two wells onto one?)")
    key = ["plate_id", "compound", "concentration_raw", "unit", "rescue_agent", "rescue_concentration"]
    df["replicate"] = df.groupby(key, dropna=False, sort=False).cumcount() + 1
    df = df[LAYOUT_COLUMNS + ["concentration_raw"]]
    fmt = max(formats, key=lambda f: f.n_wells)
    return PlateLayout(df.reset_index(drop=True), fmt, path, "d300",
                       plate_formats=dict(zip(names, formats, strict=True)) if len(set(formats)) > 1 else {})


def _well(path: Path, plate: str, rc: tuple[int, int], n_rows: int, n_cols: int) -> str:
    r, c = rc
    if not (0 <= r < n_rows and 0 <= c < n_cols):
        raise LayoutError(f"{path}: plate {plate}: Row {r}, Col {c} is outside its {n_rows} x {n_cols} wells")
    return rowcol_to_well(r, c)


class _WellDoses:
    """The fluids printed into a well as doses per compound; one known inhibitor beside a treatment apart."""

    def __init__(self, contents: list[tuple[_Fluid, float]]):
        doses: dict[str, list] = {}
        for fluid, value in contents:  # one compound from two stocks or dilutions adds up
            if fluid.compound in doses and doses[fluid.compound][1] == fluid.unit:
                doses[fluid.compound][0] += value
            else:
                doses.setdefault(fluid.compound, [value, fluid.unit])
        self.doses = doses
        self.actives = [(n, v, u) for n, (v, u) in doses.items() if not is_vehicle_name(n, untreated=False)]
        self.agent, self.agent_conc = "", math.nan
        at = rescue_agent_index([n for n, *_ in self.actives])
        if at is not None:
            name, value, unit = self.actives.pop(at)
            self.agent, self.agent_conc = name, to_molar(value, unit) if unit in MOLAR_DIVISORS else math.nan

    def row(self, plate: str, well: str, vehicle_class: str, varying: dict[frozenset, str]) -> dict:
        """The well's layout row; a combination is its varying compound's curve at its partners' doses."""
        if len(self.actives) > 1:
            names = frozenset(n for n, *_ in self.actives)
            lead = next(a for a in self.actives if a[0] == varying[names])
            fixed = sorted(a for a in self.actives if a is not lead)
            name = "+".join([lead[0], *(f"{n} ({_dose_text(v, u)})" for n, v, u in fixed)])
            value, unit = lead[1], lead[2]
        elif self.actives:
            (name, value, unit), = self.actives
        if self.actives:
            role = "rescue" if self.agent else "sample"
        else:
            vehicle = next(iter(self.doses.items()), None)
            name = vehicle[0] if vehicle else ("DMSO" if vehicle_class == "0" else "vehicle")
            value, unit = (vehicle[1][0], vehicle[1][1]) if vehicle else (math.nan, "")
            role = "vehicle"
        molar = to_molar(value, unit) if unit in MOLAR_DIVISORS and not math.isnan(value) else math.nan
        return {
            "plate_id": plate, "well": well, "compound": name, "concentration": molar, "unit": unit, "role": role,
            "mode": "alive" if role == "vehicle" else "", "rescue_agent": self.agent,
            "rescue_concentration": self.agent_conc, "replicate": 1, "cell_line": "", "concentration_raw": value,
        }


def _dose_text(value: float, unit: str) -> str:
    return format_molar(to_molar(value, unit)) if unit in MOLAR_DIVISORS else f"{value:g} {unit}"


def _varying(wells: list[_WellDoses]) -> dict[frozenset, str]:
    """For each combination of compounds on a plate, the one whose dose varies most across its wells.

    A dose series of one drug at fixed doses of another (or each row of a checkerboard) is then a
    curve of the first at each dose of the second, whichever order the protocol lists the fluids in.
    """
    seen: dict[frozenset, dict[str, set]] = {}
    for w in wells:
        if len(w.actives) > 1:
            per = seen.setdefault(frozenset(n for n, *_ in w.actives), {})
            for n, v, _ in w.actives:
                per.setdefault(n, set()).add(round(v, 12))
    return {names: max(sorted(per), key=lambda n: len(per[n])) for names, per in seen.items()}
