"""Validating layout records, whatever file they came from, into a :class:`PlateLayout`.

Layout readers (the CSV table, plate-shaped grids, Excel workbooks) turn their file into
:class:`LayoutRecord` objects: one well's cells keyed by column name, and where each cell
sits in the file. :func:`layout_from_records` checks them all alike, so every problem is
one :class:`~ferroscreen.errors.LayoutError` that names the file and the place of the cell.

Column names are matched as users write them: case, spaces and hyphens do not matter
(``Cell Line`` is ``cell_line``); common other names stand for a layout column when the
file has no column of that name and only one of them (``plate``/``barcode`` for
``plate_id``, ``gene``/``drug``/``treatment`` for ``compound``, ``conc``/``dose`` for
``concentration``); a concentration column may carry its unit in its name
(``concentration (uM)``, ``dose_nM``), and a concentration cell after its number (``10 uM``).

The role of a well is read from a ``role`` column, else from the column plate-map tools name
it by (:data:`ROLE_COLUMN_ALIASES`: ``Well Type``, ``WellType``, ``Control Type``; then
:data:`ROLE_COLUMN_LATER`: ``Type``, ``Content``), in the spellings labs write (:data:`ROLE_ALIASES`);
a bare ``control`` is told apart by the well's compound (:func:`record_role`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ferroscreen.errors import LayoutError, WellError
from ferroscreen.plate.agents import rescue_agent_index
from ferroscreen.plate.control_names import is_neg_ctrl_name
from ferroscreen.plate.layout import (
    EXCLUDE_COLUMNS,
    KNOWN_MODES,
    LAYOUT_COLUMNS,
    ROLES,
    PlateLayout,
    exclusion_reasons,
    is_blank_name,
    is_vehicle_name,
)
from ferroscreen.plate.layout_numbers import MISSING_TEXT, UNITS_SAID, molar_cell, numbers_one_way
from ferroscreen.plate.units import (
    GRAMS_PER_LITRE,
    MOLAR_DIVISORS,
    concentration_unit,
    decimal_point,
    format_molar,
    misread_micro_hint,
    split_value_unit,
    to_molar,
)
from ferroscreen.plate.wells import PlateFormat, normalize_well

#: Header names read as ``compound`` when the file has no ``compound`` column (and only one of these).
COMPOUND_ALIASES = ("gene", "sirna", "gene_symbol", "drug", "treatment", "compound_name", "drug_name",
                    "substanz", "wirkstoff", "verbindung")  # German: substance, active agent, compound

#: Other names of layout columns, used when the file has no column of the layout's name and one of these.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "plate_id": ("plate", "plate_name", "plate_barcode", "barcode", "upid"),
    "well": ("well_id", "well_name", "well_position", "wellname"),
    "compound": COMPOUND_ALIASES,
    "concentration": ("conc", "dose", "drug1_conc", "konzentration", "konz", "dosis"),
    "unit": ("units", "conc_unit", "concentration_unit", "dose_unit", "drug1_units", "einheit"),
    "rescue_concentration": ("rescue_conc", "rescue_dose"),
    "replicate": ("rep", "replikat"),
    "cell_line": ("cell_type", "cellline", "zelllinie", "zellinie"),
    "mode": ("death_mode", "cell_death_mode", "mode_of_death", "mode_of_cell_death", "cell_death", "death_type",
             "expected_mode"),
}

#: Names read as ``compound`` only when neither ``compound`` nor one of :data:`COLUMN_ALIASES`'s is there,
#: tier by tier (a name column beside an identifier column is the compound; ``Sample Name`` beside ``Drug``
#: leaves ``Drug`` the compound).
LATER_ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {"compound": (
    ("treatment_name", "sample_name", "product_name", "agent", "perturbation", "drug1"),
    ("compound_id", "sample", "sample_id", "product_id"),
)}

#: Header keys of a well column.
WELL_KEYS = ("well", *COLUMN_ALIASES["well"])

#: Role spellings read as a layout role (keys as :func:`column_key` writes a cell: ``Neg. control`` is
#: ``neg_control``). Words that could mean more than one role are not here: ``Standard`` (a calibration
#: standard or a reference compound), ``Neutral``, ``LC``/``HC`` (low and high controls: which is the
#: negative depends on the assay) are refused as unknown roles, and a bare ``control`` is told apart by
#: its compound (:data:`CONTROL_WORDS`).
ROLE_ALIASES = {
    "blank": "empty", "no_cells": "empty", "medium_only": "empty", "empty_well": "empty", "unused": "empty",
    "positive_control": "pos_ctrl", "pos": "pos_ctrl", "positive": "pos_ctrl", "pos_control": "pos_ctrl",
    "pc": "pos_ctrl", "poscon": "pos_ctrl", "positive_ctrl": "pos_ctrl", "pos_ctl": "pos_ctrl",
    "negative_control": "neg_ctrl", "neg": "neg_ctrl", "negative": "neg_ctrl", "neg_control": "neg_ctrl",
    "nc": "neg_ctrl", "negcon": "neg_ctrl", "negative_ctrl": "neg_ctrl", "neg_ctl": "neg_ctrl",
    "ref": "reference", "vehicle_control": "vehicle",
    "dmso": "vehicle", "untreated": "vehicle", "solvent": "vehicle", "mock": "vehicle",
    "dmso_control": "vehicle", "solvent_control": "vehicle", "untreated_control": "vehicle",
    "compound": "sample", "treatment": "sample", "treated": "sample", "test_compound": "sample", "trt": "sample",
    "inducer": "reference", "reference_inducer": "reference", "ref_inducer": "reference",
    # German plate maps: vehicle, empty, blank value, sample, reference, positive and negative control
    "vehikel": "vehicle", "loesungsmittel": "vehicle", "lösungsmittel": "vehicle", "unbehandelt": "vehicle",
    "leer": "empty", "leerwert": "empty", "probe": "sample", "referenz": "reference",
    "positivkontrolle": "pos_ctrl", "negativkontrolle": "neg_ctrl",
}
#: Role cells that say a control but not which: read as ``vehicle`` for a vehicle or untreated compound
#: (:func:`~ferroscreen.plate.layout.is_vehicle_name`), ``neg_ctrl`` for a non-targeting one
#: (:func:`~ferroscreen.plate.control_names.is_neg_ctrl_name`), never ``pos_ctrl``; refused otherwise.
CONTROL_WORDS = ("control", "controls", "ctrl", "ctl", "kontrolle")

#: Names plate-map tools give the role column (Genedata Screener's and Phaedra's well type, JUMP's
#: ``control_type``), read as ``role`` when the file has no ``role`` column and only one of these.
#: Each counts as a layout column (:func:`is_layout_column`).
ROLE_COLUMN_ALIASES = ("well_type", "welltype", "control_type", "rolle")
#: Vaguer names of a role column, read as ``role`` only when the file has neither ``role`` nor one of
#: :data:`ROLE_COLUMN_ALIASES`, and only when one of its cells reads as a role: EnVision's ``Type``
#: (``M``) and BMG's ``Content`` (``Sample X1``) in a plate read are other things. They make no file
#: a layout by themselves.
ROLE_COLUMN_LATER = ("type", "content", "well_content")

#: Compound names that mark a well without cells or treatment when no role is given.
BLANK_NAMES = ("blank", "empty", "no_cells", "none")
#: Marks of an unused well; a compound of that name given a dose stays a compound (``NA``, noradrenaline).
UNUSED_MARKS = ("empty_well", "no_cell", "x", "-", "--", "na", "n/a")

#: Mode words labs write for a class name (``-otic`` adjectives are read as ``-osis`` by :func:`normalize_mode`).
MODE_WORDS = {"live": "alive", "living": "alive", "viable": "alive", "healthy": "alive", "autophagic": "autophagy",
              "autophagic cell death": "autophagy", "cytostasis": "cytostatic", "parthanatic": "parthanatos"}
#: Words after a mode that say nothing more (``apoptotic cell death``, ``ferroptosis-induced death``).
_MODE_TAILS = ("cell death", "death", "induced", "inducer", "inducing", "cells")


def normalize_mode(text: str) -> str:
    """A mode as a layout writes it, in the class spelling ('' for an empty cell, ``NA``, ``-``).

    Lower case; ``Ferroptotic``, ``apoptotic cell death``, ``Ferroptosis-induced`` as ``ferroptosis``;
    ``live``/``viable`` as ``alive``. A word ferroscreen does not know is returned lower-cased (the
    layout's reader refuses it when it is no known mode).
    """
    text = " ".join(re.sub(r"[_\-]+", " ", str(text)).lower().split())
    if text in MISSING_TEXT or text in ("", "none"):
        return ""
    if text in MODE_WORDS:
        return MODE_WORDS[text]
    changed = True
    while changed:
        changed = False
        for tail in _MODE_TAILS:
            if text.endswith(" " + tail):
                text, changed = text[: -len(tail) - 1].strip(), True
    text = MODE_WORDS.get(text, text)
    if re.fullmatch(r"[a-z]+otic", text):  # apoptotic, ferroptotic, necroptotic, pyroptotic, necrotic
        text = text[:-4] + "osis"
    return text


_CONCENTRATIONS = ("concentration", "rescue_concentration")


class ColumnProblem(ValueError):
    """A problem with a header name (``column``), said in the message."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


class NotALayout(LayoutError):
    """A readable file that holds no layout: no table with a well column, no grid naming a layout column."""


@dataclass
class LayoutRecord:
    """One well's cells as a reader found them.

    Attributes:
        values: Cell text keyed by the column name as the file wrote it (stripped).
        where: ``where(column)`` is the place of that column's cell, e.g.
            ``layout.csv:5: column 'unit'``; ``where(None)`` the place of the record.
        origin: The record's place as the duplicate-well message quotes it (``line 5``).
        plate: The plate id used when the record names none (the file's or sheet's name).
    """

    values: dict[str, str]
    where: Callable[[str | None], str]
    origin: str
    plate: str


def column_key(name: str) -> str:
    """A header as a column key: lower case, trimmed, runs of spaces, hyphens and dots as ``_``."""
    return re.sub(r"[\s\-.]+", "_", str(name).strip().lower()).strip("_")


def is_layout_column(name: str) -> bool:
    """Whether ``name`` names what a layout says about a well (compound, concentration, role, mode...).

    Molecular weights (``MW``, ``rescue_mw``: a grid or sheet of them) count; plate and well columns,
    and names of no layout column, do not: a sheet whose columns are only these is no layout.
    """
    try:
        conc = _concentration_name(name)
    except ColumnProblem:
        return True  # a concentration in another unit: a layout column, refused as such
    key = conc[0] if conc else _mw_key(name) or column_key(name)
    said = set(LAYOUT_COLUMNS[2:]) | set(EXCLUDE_COLUMNS) | set(ROLE_COLUMN_ALIASES)
    said |= {"rescue_unit", "mw", "rescue_mw"}
    said |= {a for col, aliases in COLUMN_ALIASES.items() if col not in ("plate_id", "well") for a in aliases}
    return key in said


_CONCENTRATION_STEMS = ("concentration", "conc", "dose", "konzentration", "konz", "dosis", "rescue_concentration",
                        "rescue_conc", "rescue_dose")
#: A column name with a unit after it: ``conc (ng/ml)``, ``dose [%]``, ``conc_uM``.
_NAME_THEN_UNIT = re.compile(r"^(?P<stem>.*?)\s*(?:[(\[]\s*(?P<u1>[^)\]]+?)\s*[)\]]|[_ ](?P<u2>\S+))$")
#: A molecular-weight column's name, with or without its unit: ``MW``, ``Molecular weight (g/mol)``.
_MW_NAME = re.compile(r"^(?:mw|molecular[ _]?weight|mol[ _.]*weight|molecular[ _]mass|formula[ _]weight|fw)"
                      r"\s*(?:[(\[][^)\]]*[)\]])?$", re.IGNORECASE)


def _mw_key(name: str) -> str:
    """``mw`` or ``rescue_mw`` for a molecular-weight column's name (``MW (g/mol)``, ``Rescue MW``), else ''."""
    text = str(name).strip()
    rescue = re.match(r"^rescue[ _]+", text, re.IGNORECASE)
    if rescue:
        text = text[rescue.end():]
    return ("rescue_mw" if rescue else "mw") if _MW_NAME.match(text) else ""


def _concentration_name(name: str) -> tuple[str, str] | None:
    """``(key, unit)`` of a concentration column's name (unit '' when the name gives none); None for other names.

    Raises:
        ColumnProblem: For a concentration column named with a unit ferroscreen does not know.
    """
    if column_key(name) in _CONCENTRATION_STEMS:
        return column_key(name), ""
    m = _NAME_THEN_UNIT.match(str(name).strip())
    if not m or column_key(m["stem"]) not in _CONCENTRATION_STEMS:
        return None
    unit = concentration_unit(m["u1"] or m["u2"])
    if unit:
        return column_key(m["stem"]), unit
    if m["u1"]:
        raise ColumnProblem(name, f"column '{name}': unknown unit '{m['u1']}' "
                                  f"({misread_micro_hint(m['u1']) or UNITS_SAID})")
    return None  # dose_group: no unit after a concentration's name


#: How far down a sheet or text file the header row of a layout table is looked for (title rows above it).
HEADER_SEARCH_ROWS = 30


def table_header_index(rows: list[tuple[int, list[str]]]) -> int | None:
    """Index in ``rows`` of a layout table's header row (the first naming a well and a layout column), else None."""
    for k, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(column_key(c) in WELL_KEYS for c in cells) and any(is_layout_column(c) for c in cells):
            return k
    return None


def layout_columns(header: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Map each header name to its layout column; and the molar unit a concentration column's name gives.

    Returns ``(names, units)``: ``names[header name] = column`` for every name (names that are no
    layout column keep their key), ``units[column]`` for ``concentration``/``rescue_concentration``
    named with a unit.

    Raises:
        ColumnProblem: With the problem: two header names of one column, two other names a column
            could take and none of its own, a concentration named with a unit that is not molar.
    """
    names: dict[str, str] = {}
    units: dict[str, str] = {}
    for name in header:
        conc = _concentration_name(name)
        names[name] = conc[0] if conc else _mw_key(name) or column_key(name)
        if conc and conc[1]:
            units[name] = conc[1]
    keys = set(names.values())
    for column, aliases in COLUMN_ALIASES.items():
        if column in keys:
            continue
        for tier in (aliases, *LATER_ALIASES.get(column, ())):
            found = [n for n, k in names.items() if k in tier]
            if len(found) > 1:
                raise ColumnProblem(found[1], f"columns '{found[0]}' and '{found[1]}' could both be '{column}'; "
                                              f"name the one that is '{column}'")
            if found:
                names[found[0]] = column
                break
    seen: dict[str, str] = {}
    for name, key in names.items():
        if key in seen:
            raise ColumnProblem(name, f"columns '{seen[key]}' and '{name}' are both '{key}'")
        seen[key] = name
    column_units = {}
    for name, unit in units.items():
        if names[name] in _CONCENTRATIONS:
            column_units[names[name]] = unit
    return names, column_units


def _dosed(text: str) -> bool:
    """Whether a concentration cell gives a dose above 0."""
    try:
        return float(decimal_point(split_value_unit(text.strip())[0])) > 0
    except ValueError:
        return False


#: ``rescue_agent`` cells that say "no rescue agent" (lower case) besides :data:`MISSING_TEXT`.
NO_AGENT_TEXT = ("none", "0", "no")


def _no_agent(agent: str, dose: str) -> bool:
    """Whether a ``rescue_agent`` cell names no agent: blank, :data:`MISSING_TEXT` or :data:`NO_AGENT_TEXT`.

    As in the compound column, a placeholder given a rescue dose is kept as written (the well then
    stays a rescue well, never a pure example of its mode).
    """
    text = agent.strip().lower()
    return not text or (text in (*MISSING_TEXT, *NO_AGENT_TEXT) and not _dosed(dose))


def _dose_unit(unit: str) -> str:
    """``unit`` as ferroscreen spells it when it is a molar or mass concentration's, else ''."""
    unit = concentration_unit(unit)
    return unit if unit in MOLAR_DIVISORS or unit in GRAMS_PER_LITRE else ""


def _unread_doses(names: dict[str, str], records: list[LayoutRecord]) -> dict[str, str]:
    """Columns read as no layout column that look like the doses: ``{header name: its unit}``.

    A column looks so when its name ends in a concentration's unit (``Konz. (µM)``, ``Dosis [nM]``) or
    every cell of it is a number with such a unit (``0,5 µM``; the unit is then '').
    """
    found = {}
    for name, key in names.items():
        if key in LAYOUT_COLUMNS or is_layout_column(name):
            continue
        m = _NAME_THEN_UNIT.match(str(name).strip())
        if m and (unit := _dose_unit(m["u1"] or m["u2"])):
            found[name] = unit
            continue
        cells = [v for rec in records if (v := rec.values.get(name, "").strip()) and v.lower() not in MISSING_TEXT]
        if cells and all(_dose_unit(split_value_unit(v)[1]) for v in cells):
            found[name] = ""
    return found


class UnsaidControl(ValueError):
    """A role cell of a bare ``control`` whose compound says neither a vehicle nor a non-targeting control."""


def _role_key(text: str) -> str:
    """A role cell as the role or alias key it is read by ('' for nothing written)."""
    role = "" if text.strip().lower() in MISSING_TEXT else column_key(text)
    return ROLE_ALIASES.get(role, role)


def _reads_as_role(text: str) -> bool:
    """Whether a cell reads as a role: one of :data:`ROLES`, :data:`ROLE_ALIASES` or :data:`CONTROL_WORDS`."""
    key = _role_key(text)
    return key in ROLES or key in CONTROL_WORDS


#: Roles a ``role`` column and a ``Well Type`` column may give one well without disagreeing: a
#: reference inducer is the positive control of its mode.
_AGREEING_ROLES = ({"reference", "pos_ctrl"},)

#: How the unknown-role message lists the accepted values.
ROLES_SAID = (f"one of {', '.join(ROLES)}; or negative/NC, positive/PC, control (with a vehicle or non-targeting "
              "compound), DMSO/untreated, compound/treatment, blank")


def record_role(rec: LayoutRecord, row: dict, column: str = "role") -> str:
    """The well's role: as written in ``column``, else from its compound (see the README's layout table).

    A bare ``control`` (:data:`CONTROL_WORDS`) is ``vehicle`` where the compound is a vehicle or an
    untreated control (``DMSO``, ``water``, ``PBS``, ``medium``, ``untreated``, ``mock``), ``neg_ctrl``
    where it is a non-targeting control (``Non-Targeting Pool``, ``NTC``, ``scrambled``), never ``pos_ctrl``.
    A negative control written otherwise than ``neg_ctrl`` (``Negative``, ``NC``) on such a vehicle
    well is ``vehicle`` too.

    Raises:
        UnsaidControl: For a bare ``control`` whose compound says neither (the caller names every such well).
        LayoutError: For a role that is none of :data:`ROLES`, :data:`ROLE_ALIASES`, :data:`CONTROL_WORDS`.
    """
    text = row.get(column, "")
    role = _role_key(text)
    compound = row.get("compound", "")
    if not role:
        if not compound or column_key(compound) in BLANK_NAMES:
            return "empty"
        if is_vehicle_name(compound, untreated=False):
            return "vehicle"
        if not _dosed(row.get("concentration", "")):  # names that say a control only where no dose says otherwise
            if column_key(compound) in UNUSED_MARKS or compound.strip().lower() in UNUSED_MARKS \
                    or is_blank_name(compound):  # medium only, no cells: the no-cell blank
                return "empty"
            if is_vehicle_name(compound):
                return "vehicle"
            if is_neg_ctrl_name(compound):
                return "neg_ctrl"
        return "rescue" if row.get("rescue_agent") else "sample"
    if role in CONTROL_WORDS:
        if compound and is_blank_name(compound):
            return "empty"
        if compound and is_vehicle_name(compound):
            return "vehicle"
        if compound and is_neg_ctrl_name(compound):
            return "neg_ctrl"
        raise UnsaidControl(text)
    if role not in ROLES:
        raise LayoutError(f"{rec.where(column)}: unknown role '{text}' ({ROLES_SAID})")
    if role == "neg_ctrl" and column_key(text) != "neg_ctrl" and compound and is_vehicle_name(compound):
        return "vehicle"  # 'Negative' on DMSO wells: the drug screen's vehicle (curves and QC scale to it)
    return role


def _well_list(wells: list[str], shown: int = 5) -> str:
    """``A04, B04, C04`` or ``A01, ... , A05 and 7 more``, with their count."""
    more = f" and {len(wells) - shown} more" if len(wells) > shown else ""
    return f"{len(wells)} well(s): {', '.join(wells[:shown])}{more}"


def _role_column(names: dict[str, str], records: list[LayoutRecord]) -> str | None:
    """Read the header name that is the role column under another name as ``role``, in ``names``, in place.

    With a ``role`` column, nothing is renamed; the return value is then the header name of the other
    role column (:data:`ROLE_COLUMN_ALIASES`, else :data:`ROLE_COLUMN_LATER`) there is, to compare, else None.

    Raises:
        ColumnProblem: Two header names that could both be the role column and none named ``role``.
    """
    def has_role_cell(name: str) -> bool:
        return any(_reads_as_role(rec.values.get(name, "")) for rec in records)

    strong = [n for n, k in names.items() if k in ROLE_COLUMN_ALIASES]
    weak = [n for n, k in names.items() if k in ROLE_COLUMN_LATER and has_role_cell(n)]
    if "role" in names.values():
        return next(iter(strong + weak), None)
    for found in (strong, weak):
        if len(found) > 1:
            raise ColumnProblem(found[1], f"columns '{found[0]}' and '{found[1]}' could both be 'role'; "
                                          f"name the one that is 'role'")
        if found:
            names[found[0]] = "role"
            return None
    return None


_PART_DOSE = re.compile(r"^(?P<name>.*?)\s*\((?P<dose>[^()]*)\)$")


#: A part with its dose after it, unbracketed: ``Fer-1 1uM``, ``Nec-1s 30 µM``.
_PART_TRAILING_DOSE = re.compile(r"^(?P<name>.*?\S)\s+(?P<dose>\d+(?:[.,]\d+)?\s*\S+)$")


def _name_and_dose(part: str) -> tuple[str, str]:
    """A combination's part as ``(name, dose)``: ``Fer-1 (1 uM)``, ``Fer-1 1uM`` -> ``Fer-1``, its dose ('' if none)."""
    if m := _PART_DOSE.match(part):
        return m["name"], m["dose"].strip()
    if (m := _PART_TRAILING_DOSE.match(part)) and concentration_unit(split_value_unit(m["dose"])[1]):
        return m["name"], m["dose"].strip()
    return part, ""


#: How a compound cell joins the parts of a combination: ``RSL3 + Fer-1``, ``RSL3/Fer-1``, ``RSL3 & Lip-1``,
#: ``RSL3; Fer-1``, ``RSL3 with Fer-1`` (a ``/`` before a volume is a unit's: ``5 ug/ml``, ``1 mol/L``).
_COMBINED = re.compile(r"\s*(?:\+|&|;|/(?!\s*[mµu]?[lL]\b))\s*|\s+(?:with|and)\s+", re.I)


def _combination_parts(compound: str) -> list[str]:
    """The parts of a combination written in one cell, split outside brackets (a dose's ``(5 ug/ml)`` stays)."""
    held: list[str] = []

    def hold(m: re.Match) -> str:
        held.append(m.group(0))
        return f"\0{len(held) - 1}\0"

    text = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", hold, str(compound))
    return [re.sub(r"\0(\d+)\0", lambda m: held[int(m.group(1))], part).strip() for part in _COMBINED.split(text)]


def _rescue_in_name(out_row: dict) -> None:
    """Read a compound written ``RSL3 + Fer-1 (1 uM)`` as RSL3 rescued by Fer-1 at 1 µM, in place.

    Only where no rescue column says otherwise and exactly one part is a known death-mode inhibitor
    (:func:`~ferroscreen.plate.agents.rescue_agent_index`; ``TNF + zVAD`` stays a cocktail). The
    agent's dose in brackets is molar when its unit is, else kept as written (``rescue_as_written``).
    """
    parts = _combination_parts(out_row["compound"])
    if len(parts) < 2 or not all(parts):
        return
    split = [_name_and_dose(p) for p in parts]
    at = None
    for joined in (" ", "-", ""):  # as written; Ferrostatin 1 / Fer 1 as Ferrostatin-1; Fer1 as written too
        at = rescue_agent_index([re.sub(r"[\s_]+", joined, name) if joined != " " else name for name, _ in split])
        if at is not None:
            break
    if at is None:
        return
    agent, dose = split[at]
    value, unit = split_value_unit(dose) if dose else ("", "")
    try:
        molar = to_molar(float(decimal_point(value)), unit) if unit in MOLAR_DIVISORS else math.nan
    except ValueError:
        molar = math.nan
    out_row.update(compound=" + ".join(p for k, p in enumerate(parts) if k != at), rescue_agent=agent,
                   rescue_concentration=molar, rescue_as_written="" if math.isfinite(molar) or not dose else dose)


def _second_drug(rec: LayoutRecord, row: dict, out_row: dict, decimal_comma: bool) -> None:
    """Name a well of two drugs (thunor's ``drug2``, ``drug2.conc``, ``drug2.units``) as the first's curve.

    The curve is the first drug's at the second's dose, ``A+B (1 µM)``; a well of the second drug alone
    is that drug's curve; a known death-mode inhibitor as the second drug is the well's rescue agent.
    """
    molar, raw, unit = molar_cell(rec, row, "drug2_conc", "drug2_units", "", out_row["unit"], decimal_comma)
    if not out_row["compound"]:
        out_row.update(compound=row["drug2"], concentration=molar, concentration_raw=raw, unit=unit)
        return
    if rescue_agent_index([out_row["compound"], row["drug2"]]) == 1 and not out_row["rescue_agent"]:
        out_row.update(rescue_agent=row["drug2"], rescue_concentration=molar)  # a known inhibitor: a rescue well
        return
    dose = format_molar(molar) if not math.isnan(molar) else ("" if math.isnan(raw) else f"{raw:g} {unit}".strip())
    out_row["compound"] = f"{out_row['compound']}+{row['drug2']}" + (f" ({dose})" if dose else "")


def _without_unnamed_columns(header: list[str], records: list[LayoutRecord]) -> tuple[list[str], list[LayoutRecord]]:
    """``header`` and ``records`` without the columns the header leaves unnamed (Excel's trailing ``;;``).

    Records key cells by column name, so they hold one cell for all unnamed columns: the
    last one's, as a reader builds its dict.

    Raises:
        LayoutError: For an unnamed column holding a value, naming the cell's line and the
            column's position (1 = the first).
    """
    unnamed = [k for k, h in enumerate(header) if not h]
    if not unnamed:
        return header, records
    for rec in records:
        value = rec.values.get("", "").strip()
        if value:
            raise LayoutError(f"{rec.where(None)}: column {unnamed[-1] + 1} holds '{value}' but has no name in the "
                              f"header (name it, or delete the column)")
    return ([h for h in header if h],
            [LayoutRecord({k: v for k, v in rec.values.items() if k}, rec.where, rec.origin, rec.plate)
             for rec in records])


def layout_from_records(
    source: Path,
    header: list[str],
    records: Iterable[LayoutRecord],
    plate_format: PlateFormat | int | None = None,
    extra_modes: tuple[str, ...] = (),
    decimal_comma: bool = False,
    header_where: str | Callable[[str], str] | None = None,
    form: str = "csv",
) -> PlateLayout:
    """Validate ``records`` into a layout, concentrations converted to molar.

    Args:
        source: The file the records came from (named in errors and kept as the layout's source).
        header: Column names as the file wrote them (every record's ``values`` keys are among them);
            columns without a name are left out when they hold no value.
        records: The wells, in file order.
        plate_format: Format to check wells against; by default the smallest of 96/384/1536 that
            holds every well.
        extra_modes: Mode names accepted besides :data:`KNOWN_MODES`.
        decimal_comma: Whether numbers may be written with a decimal comma (a semicolon or tab separated
            file): each number column then decides its decimal mark
            (:func:`~ferroscreen.plate.layout_numbers.numbers_one_way`).
        header_where: Where the header is, for problems with the columns (default: the file), or
            where the column named so is (grids: each column is a grid of its own).
        form: The layout's :attr:`~ferroscreen.plate.layout.PlateLayout.form`.

    Raises:
        LayoutError: Naming the place of the first problem found (a column named twice, a value in
            a column without a name...).
    """
    def at(column: str | None = None) -> str:
        if callable(header_where):
            return header_where(column) if column else str(source)
        return header_where or str(source)

    records = list(records)
    header, records = _without_unnamed_columns(header, records)
    twice = next((h for k, h in enumerate(header) if h in header[:k]), None)
    if twice is not None:
        first, second = [k for k, h in enumerate(header) if h == twice][:2]
        merged = (" (a header cell merged over two columns, as over a value and its unit? give each column "
                  "its own name)") if form == "xlsx" and second == first + 1 else ""
        raise LayoutError(f"{at(twice)}: column '{twice}' appears twice in the header{merged}")
    if not any(is_layout_column(h) for h in header):  # before the columns' checks: maybe a plate read
        raise NotALayout(f"{at()}: no layout column besides the wells (compound, concentration, role, mode...; "
                         f"header: {', '.join(header)})")
    try:
        names, header_units = layout_columns(header)
        other_role = _role_column(names, records)
    except ColumnProblem as exc:
        raise LayoutError(f"{at(exc.column)}: {exc}") from None
    columns = list(names.values())
    if decimal_comma:
        records = numbers_one_way(names, records, source)
    if "well" not in columns:
        raise NotALayout(f"{at()}: missing required column 'well' (header: {', '.join(header)})")
    modes = set(KNOWN_MODES) | set(extra_modes)
    fmt_given = plate_format is not None
    fmt = (plate_format if isinstance(plate_format, PlateFormat)
           else PlateFormat.from_n_wells(plate_format or 1536))
    marked = next((c for c in EXCLUDE_COLUMNS if c in columns), None)
    thunor = any(column_key(h) == "drug1" and names[h] == "compound" for h in header)
    out = []
    seen: dict[tuple[str, str], str] = {}
    unsaid: list[tuple[str, str, str]] = []  # (plate, well, compound) of bare 'control' roles the compound leaves open
    unsaid_at = ""  # the first one's place
    disagree: list[tuple[str, str, str, str]] = []  # (plate, well, role, other column's role)
    for rec in records:
        other_text = rec.values.get(other_role, "") if other_role else ""
        named = {names[k]: v.strip() for k, v in rec.values.items()}
        orig = {names[k]: k for k in rec.values}
        rec = LayoutRecord(named, (lambda c, r=rec, o=orig: r.where(o.get(c, c) if c else None)),
                           rec.origin, rec.plate)
        row = {c: named.get(c, "") for c in columns}
        out_row: dict = {k: v for k, v in row.items() if k not in LAYOUT_COLUMNS}
        out_row["plate_id"] = row.get("plate_id", "") or rec.plate
        try:
            out_row["well"] = normalize_well(row["well"], fmt)
        except WellError as exc:
            raise LayoutError(f"{rec.where('well')}: {exc}") from None
        key = (out_row["plate_id"], out_row["well"])
        if key in seen:
            raise LayoutError(f"{rec.where('well')}: duplicate well {out_row['well']} (first on {seen[key]})")
        seen[key] = rec.origin
        out_row["compound"] = row.get("compound", "")
        if out_row["compound"].lower() in MISSING_TEXT and not _dosed(row.get("concentration", "")):
            out_row["compound"] = row["compound"] = ""  # R's NA: nothing written (NA given a dose: noradrenaline)
        conc, raw, unit = molar_cell(rec, row, "concentration", "unit", header_units.get("concentration", ""),
                                 "", decimal_comma)
        out_row["concentration"], out_row["concentration_raw"], out_row["unit"] = conc, raw, unit
        rescue, rescue_raw, rescue_unit = molar_cell(
            rec, row, "rescue_concentration", "rescue_unit", header_units.get("rescue_concentration", ""),
            unit, decimal_comma)
        out_row["rescue_concentration"] = rescue
        out_row["rescue_as_written"] = (f"{rescue_raw:g} {rescue_unit}".strip()
                                        if math.isnan(rescue) and not math.isnan(rescue_raw) else "")
        if _no_agent(row.get("rescue_agent", ""), row.get("rescue_concentration", "")):
            row = {**row, "rescue_agent": ""}  # a placeholder (none, -, 0, NA) names no inhibitor
        out_row["rescue_agent"] = row.get("rescue_agent", "")
        if row.get("drug2", "") and row["drug2"].lower() not in MISSING_TEXT:  # thunor's combinations
            _second_drug(rec, row, out_row, decimal_comma)
            row = {**row, "compound": out_row["compound"], "rescue_agent": out_row["rescue_agent"]}
        elif not out_row["rescue_agent"] and _COMBINED.search(out_row["compound"]):
            _rescue_in_name(out_row)
            row = {**row, "compound": out_row["compound"], "rescue_agent": out_row["rescue_agent"]}
        try:
            out_row["role"] = role = record_role(rec, row)
        except UnsaidControl:
            unsaid.append((out_row["plate_id"], out_row["well"], row.get("compound", "")))
            unsaid_at = unsaid_at or rec.where("role")
            out_row["role"] = role = "sample"  # refused below, with every such well
        if other_role and other_text.strip().lower() not in ("", *MISSING_TEXT):
            try:
                other = record_role(rec, {**row, "role": other_text})
            except (UnsaidControl, LayoutError):  # a cell that is no role says nothing against the role column
                other = role
            if other != role and {role, other} not in _AGREEING_ROLES:
                disagree.append((out_row["plate_id"], out_row["well"], role, other))
        if thunor and role == "empty" and not row.get("compound") and row.get("concentration", "").strip():
            out_row["role"] = role = "vehicle"  # thunor's format: no drug at dose 0 is an untreated control
        written_mode = row.get("mode", "")
        mode = normalize_mode(written_mode)
        if mode and mode not in modes:
            raise LayoutError(f"{rec.where('mode')}: unknown mode '{written_mode}' (known: {', '.join(sorted(modes))})")
        if role == "reference" and not mode:
            if "mode" not in columns:
                raise LayoutError(f"{rec.where(None)}: a reference well needs a mode (e.g. ferroptosis), and the "
                                  f"layout has no 'mode' column (header: {', '.join(header)})")
            raise LayoutError(f"{rec.where('mode')}: a reference well needs a mode (e.g. ferroptosis)")
        out_row["mode"] = "alive" if role == "vehicle" and not mode else mode
        rep = row.get("replicate", "")
        try:
            out_row["replicate"] = int(float(rep)) if rep else 1
        except ValueError:
            raise LayoutError(f"{rec.where('replicate')}: '{rep}' is not an integer") from None
        out_row["cell_line"] = row.get("cell_line", "")
        if marked is not None:
            out_row.pop(marked, None)
            out_row["exclude"] = exclusion_reasons([row.get(marked, "")])[0]
        out.append(out_row)
    if not out:
        raise LayoutError(f"{source}: layout has a header but no wells")
    several = len({d[0] for d in unsaid + disagree}) > 1

    def shown(plate: str, well: str) -> str:
        return f"{plate} {well}" if several else well

    if unsaid:
        named = sum(1 for *_, compound in unsaid if compound)
        why = ("their compound is no vehicle (DMSO, water, PBS, medium, untreated, mock) or non-targeting control"
               if named == len(unsaid) else "they name no compound" if not named else
               "their compound is none, or no vehicle (DMSO, water, PBS, medium, untreated, mock) or non-targeting "
               "control")
        wells = _well_list([shown(p, w) for p, w, _ in unsaid])
        raise LayoutError(f"{unsaid_at}: role 'control' does not say which control ({wells}) and {why}; write "
                          f"neg_ctrl or pos_ctrl there (vehicle for a vehicle well)")
    notes = []
    if "concentration" not in columns:
        notes += [f"{at(name)}: column '{name}' is not read as the doses: a dose column is named concentration, "
                  f"conc or dose, with or without a unit ('concentration (µM)', 'dose_nM'); name it "
                  f"'concentration{f' ({unit})' if unit else ''}' if it holds the doses"
                  for name, unit in _unread_doses(names, records).items()]
    if disagree:
        examples = "; ".join(f"{shown(p, w)}: {r} vs {o}" for p, w, r, o in disagree[:3])
        notes.append(f"{source}: columns 'role' and '{other_role}' disagree in {len(disagree)} well(s) ({examples}"
                     f"{' ...' if len(disagree) > 3 else ''}); the 'role' column is used")
    df = pd.DataFrame(out)
    if "compound" not in columns and "role" not in columns and df["concentration_raw"].notna().any():
        raise LayoutError(f"{at()}: wells have concentrations but no column names their compound (header: "
                          f"{', '.join(header)}); call that column 'compound'")
    if "mw" in df.columns:
        mw = pd.to_numeric(df["mw"].astype(str).map(decimal_point), errors="coerce")
        weights = mw[mw.notna()].groupby(df["compound"]).unique()
        twice = weights[weights.map(len) > 1]
        if len(twice):
            raise LayoutError(f"{source}: compound '{twice.index[0]}' has {len(twice.iloc[0])} molecular weights "
                              f"({', '.join(f'{w:g}' for w in twice.iloc[0])}); give it one")
    if not df["rescue_as_written"].astype(bool).any():  # kept only where a rescue dose stayed as written
        df = df.drop(columns="rescue_as_written")
    df = df[LAYOUT_COLUMNS + [c for c in df.columns if c not in LAYOUT_COLUMNS]]
    if not fmt_given:
        fmt = PlateFormat.of_layout(list(df["well"]))
    return PlateLayout(df, fmt, source, form, notes=notes)
