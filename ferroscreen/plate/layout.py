"""The plate layout: what was put in each well.

A :class:`PlateLayout` holds one row per well with the columns of
:data:`LAYOUT_COLUMNS`. Concentrations are stored in molar (``NaN`` where a
well has none or where the source unit is not molar, e.g. ``%`` DMSO). The
original value and unit are kept in ``concentration_raw`` and ``unit`` so that
nothing the user wrote is lost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import LayoutError
from ferroscreen.plate.units import any_to_molar, concentration_unit, decimal_point, format_molar
from ferroscreen.plate.wells import PlateFormat, normalize_well, well_to_rowcol

#: Columns of a layout table, in order.
LAYOUT_COLUMNS = [
    "plate_id",
    "well",
    "compound",
    "concentration",
    "unit",
    "role",
    "mode",
    "rescue_agent",
    "rescue_concentration",
    "replicate",
    "cell_line",
]

#: The layout's columns a ``wells.csv`` carries beside its readings (``export``; ``fit`` of a store), in order:
#: all the analysis reads of a layout, doses in molar (``unit`` ``M``); ``fit`` takes them as the layout when
#: given no ``--layout``.
WELLS_LAYOUT_COLUMNS = (
    "compound", "concentration", "unit", "role", "mode", "rescue_agent", "rescue_concentration",
    "rescue_as_written", "replicate", "cell_line", "growth_condition", "exclude",
)

ROLES = ("sample", "vehicle", "reference", "rescue", "empty", "pos_ctrl", "neg_ctrl")

#: Death modes (and ``alive``) a layout may name. Users extend it with
#: ``extra_modes`` when their classifier has other classes (e.g. autophagy).
KNOWN_MODES = (
    "alive",
    "apoptosis",
    "ferroptosis",
    "necroptosis",
    "autophagy",
    "pyroptosis",
    "necrosis",
    "parthanatos",
    "cytostatic",
)

#: Layout columns that mark wells to leave out of the analysis (first one present is used; German ``Ausschluss``).
EXCLUDE_COLUMNS = ("exclude", "excluded", "ausschluss")
#: ``exclude`` cells that keep a well (lower case): blank and missing marks, no/false in English and German
#: (German Excel's ``FALSCH``), and "fine" (``ok``, German ``i.O.``, "in Ordnung").
_NOT_EXCLUDED = {"", "0", "no", "n", "false", "f", "nan", "none", "<na>", "na", "n/a", "nat", "-", "--",
                 "nein", "falsch", "ok", "okay", "i.o.", "io", "i. o.", "in ordnung", "keep", "include", "included"}
#: ``exclude`` cells that exclude a well for no reason given (reason ``excluded``): yes/true in English and German
#: (``WAHR``), a cross.
_EXCLUDED = {"1", "yes", "y", "true", "t", "x", "ja", "j", "wahr", "exclude", "excluded", "ausgeschlossen"}


def _exclusion_text(value) -> str:
    """An ``exclude`` cell as text: '' for a missing value (None, NaN, ``pd.NA``), else as written, trimmed."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value).strip()


def _number_or_none(text: str) -> float | None:
    """``text`` as a number (``0.0``, ``-0``, ``1,0``), else None."""
    try:
        return float(decimal_point(text))
    except ValueError:
        return None


def exclusion_reasons(values: Iterable) -> list[str]:
    """Why each well is excluded ("" for a well that is used), from an ``exclude`` column.

    Blank or missing (None, NaN, ``pd.NA``, ``<NA>``, ``NA``, ``-``), ``no``, ``false``, ``ok``, their
    German words (``nein``, ``falsch``/``FALSCH``, ``i.O.``) and zero in any spelling (``0``, ``0.0``,
    ``-0``: a 0/1 column pandas wrote as floats) keep the well; ``yes``, ``true``, ``x``, ``excluded``,
    the German ``ja`` and ``wahr``/``WAHR``, and any other number (``1``, ``1.0``) exclude it (reason
    ``excluded``); any other text excludes it and is the reason (``bubble``, ``contaminated``,
    ``Luftblase``). Letter case does not matter.
    """
    out = []
    for v in values:
        text = _exclusion_text(v)
        low = " ".join(text.lower().split())
        number = _number_or_none(text)
        if low in _NOT_EXCLUDED or number == 0:
            out.append("")
        elif low in _EXCLUDED or number is not None:
            out.append("excluded")
        else:
            out.append(text)
    return out


#: Compound names treated as vehicle when a source has no role column.
VEHICLE_NAMES = ("dmso", "vehicle", "water", "h2o", "pbs", "medium", "media", "ethanol", "etoh")
#: Untreated and mock-treated controls, read as vehicle wells too when no role is given.
UNTREATED_NAMES = ("untreated", "mock", "control", "vehicle control", "solvent", "no treatment", "no drug",
                   "cells only", "dmso control", "dmso only", "lipofectamine only", "reagent only", "mock transfected",
                   "mock transfection")
_SHARE = re.compile(r"\(?\s*\d+(?:[.,]\d+)?\s*%\s*(?:v/v)?\s*\)?")
#: Compound names of a no-cell blank (:func:`is_blank_name`), as words: ``medium only``, ``no cells``, ``cell-free``.
_BLANK_NAME = re.compile(r"^(?:(?:cell culture |culture )?medi(?:um|a) (?:only|alone|blank)|blank(?: medi(?:um|a))?"
                         r"|empty|(?:medi(?:um|a) )?cell ?free(?: medi(?:um|a))?"
                         r"|(?:(?:medi(?:um|a)|dmso|vehicle|pbs|buffer|blank) )?(?:no cells?|without cells?)"
                         r"(?: (?:control|blank|well|medi(?:um|a)))?)$")


def is_vehicle_name(name: str, untreated: bool = True) -> bool:
    """Whether a compound name is a vehicle, or (``untreated``) an untreated control; case and a share in % aside.

    Vehicles: ``DMSO``, ``DMSO 0.1%``, ``0.1% DMSO``, ``DMSO (0.1 %)``, ``water``...; untreated
    controls (:data:`UNTREATED_NAMES`): ``untreated``, ``mock``, ``cells only``...
    """
    text = " ".join(_SHARE.sub(" ", str(name)).replace("_", " ").lower().split())
    return text in VEHICLE_NAMES or (untreated and text in UNTREATED_NAMES)


def is_blank_name(name: str) -> bool:
    """Whether a compound name says a well without cells (role ``empty``), letter case and punctuation aside.

    ``Medium only``, ``media only``, ``medium alone``, ``medium blank``, ``blank``, a name saying there are no
    cells (``no cells``, ``Medium (no cells)``, ``DMSO without cells``, ``no cells control``; not ``No cell death
    control`` nor ``no cell line``), ``cell-free`` (``cell free medium``):
    a plate read's background (its reading is subtracted as the blank), an imaged well without cells. A medium
    written alone (``medium``, ``media``) is the untreated control of cells in medium, a vehicle
    (:func:`is_vehicle_name`); so is ``cells only``.
    """
    text = " ".join(re.sub(r"[\s_\-.,;:()\[\]/]+", " ", str(name)).lower().split())
    return bool(_BLANK_NAME.match(text))


_UNNAMED = 3

#: The plate name of data that name no plate (a wells table without a plate column).
UNNAMED_PLATE = "plate1"

_NAME_PARTS = re.compile(r"[_\-. ]+")


def _numbering_scheme(name: str) -> str:
    """``name`` with its numbers as ``#`` (letter case aside): ``LIB01`` and ``lib02`` share ``lib#``."""
    return re.sub(r"\d+", "#", name.casefold())


def _name_rank(plate: str, pid: str) -> int:
    """How the data plate ``plate`` names layout plate ``pid``.

    0: the same name; 1: ``pid`` after ``_`` (an instrument's prefix before a barcode); 2: ``pid``
    before ``_``, ``-``, ``.`` or a space (a replicate, ``LIB01_rep2``); :data:`_UNNAMED`: not at all.
    """
    if plate == pid:
        return 0
    if plate.endswith("_" + pid):
        return 1
    if plate.startswith(pid) and plate[len(pid):len(pid) + 1] in ("_", "-", ".", " "):
        return 2
    return _UNNAMED


@dataclass
class PlateLayout:
    """One or more plates' well contents.

    Attributes:
        table: One row per (plate_id, well); columns :data:`LAYOUT_COLUMNS`
            plus any extra columns the source had. ``concentration`` and
            ``rescue_concentration`` are molar floats (NaN when absent).
        plate_format: The plate format the wells were validated against.
        source: The file the layout was read from, if any.
        form: How the source wrote it: ``csv`` (a table of one row per well), ``grid``
            (plate-shaped grids), ``xlsx`` (an Excel workbook), ``platemap`` (IncuCyte XML);
            ``mixed`` for layouts of several files written in different ways.
        plate_sources: For a layout read from several files, each plate's own file
            (:meth:`for_plate` names it in its layout's ``source``).
        plate_formats: For a layout read from several files, the plate format of each plate's
            file (:attr:`plate_format` is the largest).
        notes: What the reader read in a way the user should hear of, one line each naming the file
            (a ``role`` column and a ``Well Type`` column that disagree: the ``role`` column is used).
            Kept by :meth:`only_plates`, :meth:`for_plate` and :func:`combine_layouts`; in
            :meth:`summary` (so ``inspect --json``) as ``notes`` when there are any.
        file_named_plates: Plates whose id is only their file's stem, the file naming no plate (a layout
            table without a ``plate_id`` column, a set of plate grids). Such a one-plate layout is every
            plate's map, and data plates keep their own names (:meth:`names_for_unnamed_plates`); a
            layout of several such files names its plates by their stems. Kept by :meth:`only_plates`,
            :meth:`for_plate` and :func:`combine_layouts`.
    """

    table: pd.DataFrame
    plate_format: PlateFormat = field(default_factory=lambda: PlateFormat.from_n_wells(96))
    source: Path | None = None
    form: str = "csv"
    plate_sources: dict[str, Path] = field(default_factory=dict)
    plate_formats: dict[str, PlateFormat] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    file_named_plates: set[str] = field(default_factory=set)

    @property
    def plate_ids(self) -> list[str]:
        """Plate ids in the layout, in order of appearance."""
        return list(dict.fromkeys(self.table["plate_id"].astype(str)))

    @property
    def wells(self) -> list[str]:
        """Sorted canonical names of every well that has a row (any plate)."""
        return sorted(set(self.table["well"]), key=well_to_rowcol)

    def only_plates(self, plate_ids: list[str]) -> PlateLayout:
        """This layout restricted to ``plate_ids``; its format the largest of theirs."""
        keep = [str(p) for p in plate_ids]
        formats = {p: f for p, f in self.plate_formats.items() if p in keep}
        fmt = max(formats.values(), key=lambda f: f.n_wells) if formats else self.plate_format
        table = self.table[self.table["plate_id"].astype(str).isin(keep)].reset_index(drop=True)
        return PlateLayout(table, fmt, self.source, self.form,
                           {p: s for p, s in self.plate_sources.items() if p in keep}, formats, list(self.notes),
                           self.file_named_plates & set(keep))

    def for_plate(self, plate_id: str | None) -> PlateLayout:
        """The layout of one plate; a single-plate layout fits any plate id.

        A plate named as instruments or replicates name it finds its layout plate as
        :meth:`plate_id_for` matches them (``LIB01_rep2`` -> ``LIB01``).

        Raises:
            LayoutError: If no layout plate matches ``plate_id``.
        """
        if plate_id is None or len(self.plate_ids) <= 1:
            return self
        found = self.plate_candidates(str(plate_id))
        if len(found) > 1:
            raise LayoutError(f"{self.source or 'layout'}: plate '{plate_id}' could take the rows of "
                              f"{' or '.join(found)}; name it after one of them")
        sub = self.table[self.table["plate_id"].astype(str) == found[0]] if found else self.table.iloc[0:0]
        if sub.empty:
            raise LayoutError(f"{self.source or 'layout'}: no rows for plate '{plate_id}'")
        return PlateLayout(sub.reset_index(drop=True), self.plate_format,
                           self.plate_sources.get(found[0], self.source), self.form, notes=list(self.notes),
                           file_named_plates=self.file_named_plates & {found[0]})

    def plate_id_for(self, plate: str) -> str | None:
        """The layout plate whose rows describe the imaged or read plate named ``plate``, else None.

        The only plate of a one-plate layout; else the plate of the same name; else the one
        ``plate`` ends with after ``_`` (instruments prefix the barcode: Cellomics
        ``MFGTMPcx7_170702000001`` for layout plate ``170702000001``); else the one it starts
        with before ``_``, ``-``, ``.`` or a space (replicates of a library plate: ``LIB01_rep2``,
        ``LIB01-R3`` for ``LIB01``). A name two plates could take gets None
        (:meth:`plate_candidates` lists them).
        """
        found = self.plate_candidates(plate)
        return found[0] if len(found) == 1 else None

    def plate_candidates(self, plate: str) -> list[str]:
        """The layout plates :meth:`plate_id_for` could match ``plate`` with (one, none, or the rivals)."""
        ids = self.plate_ids
        if len(ids) <= 1:
            return list(ids)
        ranks = {i: _name_rank(str(plate), i) for i in ids}
        best = min(ranks.values())
        return [i for i, rank in ranks.items() if rank == best] if best < _UNNAMED else []

    def own_plate_name(self) -> str | None:
        """The name a one-plate layout read from a file gives its plate, else None.

        That is a ``plate_id`` column's or a plate grid's title, else the file's stem (a library's
        ``LIB02.csv``); a layout built in code (no file) or a layout of several plates has none.
        """
        if len(self.plate_ids) != 1 or self.source is None:
            return None
        return self.plate_ids[0]

    def names_for_unnamed_plates(self) -> list[str]:
        """The plate names data plates that name none take from the layout (a plate read without a plate name).

        :attr:`plate_ids`, except that a one-plate layout whose file names no plate
        (:attr:`file_named_plates`: its id is the layout file's stem) gives none: it is every plate's
        map, and the data plate keeps the name its data give it (an export's file name), not the
        layout file's. A layout of several plates gives them all, those named by their files' stems
        too (``--layout a.csv --layout b.csv``: unnamed plate reads taken in order are ``a`` and ``b``).
        """
        ids = self.plate_ids
        return [] if len(ids) == 1 and ids[0] in self.file_named_plates else ids

    def plates_named_otherwise(self, plates: Iterable[str]) -> list[str]:
        """The data ``plates`` this one-plate layout describes though its file names another plate of their series.

        A one-plate layout fits any plate (:meth:`for_plate`). A plate named in the scheme of the
        layout's own plate name (:meth:`own_plate_name`) with other numbers (``LIB01`` for ``LIB02``,
        barcode ``...0001`` for ``...0002``, also as a part of an instrument's name) that does not match
        it as :meth:`plate_id_for` matches (letter case aside) was likely given another plate's layout
        file. Names of other schemes (an export's file name, an instrument's own plate name) say
        nothing either way, nor does :data:`UNNAMED_PLATE`.
        """
        pid = self.own_plate_name()
        if pid is None:
            return []
        scheme = _numbering_scheme(pid)
        return [p for p in dict.fromkeys(map(str, plates))
                if p != UNNAMED_PLATE and _name_rank(p.casefold(), pid.casefold()) == _UNNAMED
                and scheme in {_numbering_scheme(part) for part in (p, *_NAME_PARTS.split(p))}]

    def other_name_note(self, plates: Iterable[str]) -> str | None:
        """A note on :meth:`plates_named_otherwise` (None when there are none)."""
        other = self.plates_named_otherwise(plates)
        if not other:
            return None
        shown = ", ".join(other[:6]) + (f" and {len(other) - 6} more" if len(other) > 6 else "")
        return (f"{self.source}: its one plate is named '{self.plate_ids[0]}', yet it is applied to data plate(s) "
                f"{shown} (a one-plate layout describes any plate it is given); check it is their layout")

    def well_table(self) -> pd.DataFrame:
        """The table indexed by well (single-plate layouts)."""
        return self.table.set_index("well")

    def compounds(self, include_vehicle: bool = True) -> dict[str, list[float]]:
        """Map compound name -> sorted distinct molar concentrations.

        Combination treatments are named as written (``"TNF+SMAC+zVAD"``);
        rescue wells appear under ``"<compound> + <rescue_agent>"``.
        """
        out: dict[str, set[float]] = {}
        for row in self.table.itertuples(index=False):
            if not isinstance(row.compound, str) or not row.compound:
                continue
            if row.role == "vehicle" and not include_vehicle:
                continue
            name = row.compound
            if isinstance(row.rescue_agent, str) and row.rescue_agent:
                name = f"{row.compound} + {row.rescue_agent}"
            concs = out.setdefault(name, set())
            if row.concentration is not None and math.isfinite(row.concentration):
                concs.add(float(row.concentration))
        return {k: sorted(v) for k, v in out.items()}

    def wells_with_role(self, *roles: str) -> list[str]:
        """Wells whose role is one of ``roles``."""
        return sorted(self.table.loc[self.table["role"].isin(roles), "well"], key=well_to_rowcol)

    def plate_wells_with_role(self, *roles: str) -> list[str]:
        """Wells whose role is one of ``roles``, named with their plate in a layout of several plates.

        ``B03`` in a one-plate layout, else ``PLATE B03`` (as ``inspect`` names a well of several
        plates), plate by plate in :attr:`plate_ids` order, wells in plate order within each.
        """
        rows = self.table.loc[self.table["role"].isin(roles), ["plate_id", "well"]].astype(str)
        if len(self.plate_ids) <= 1:
            return sorted(rows["well"], key=well_to_rowcol)
        order = {p: k for k, p in enumerate(self.plate_ids)}
        pairs = sorted(rows.itertuples(index=False), key=lambda r: (order[r.plate_id], well_to_rowcol(r.well)))
        return [f"{plate} {well}" for plate, well in pairs]

    def summary(self) -> dict:
        """A JSON-ready description (used by ``ferroscreen inspect``).

        ``empty_wells`` names each well with its plate in a layout of several plates
        (:meth:`plate_wells_with_role`).
        """
        t = self.table
        return {
            "plates": self.plate_ids,
            "n_wells": int(len(set(zip(t["plate_id"], t["well"], strict=True)))),
            "wells": self.wells,
            "compounds": self.compounds(),
            "roles": {r: int(n) for r, n in t["role"].value_counts().items()},
            "references": {
                str(c): str(m)
                for c, m in t.loc[t["role"] == "reference", ["compound", "mode"]]
                .drop_duplicates()
                .itertuples(index=False)
            },
            "empty_wells": self.plate_wells_with_role("empty"),
            "cell_lines": sorted({str(c) for c in t["cell_line"] if isinstance(c, str) and c}),
            **({"notes": list(self.notes)} if self.notes else {}),
        }

    def describe_compound_series(self) -> list[str]:
        """One line per series of :meth:`compounds`: name, the roles of its compound, dose series in readable units.

        A rescue series (``RSL3 + Fer-1``) lists the roles of its compound's wells (``RSL3``), found through the
        table's ``rescue_agent`` column, so compound names holding " + " themselves are listed too.
        """
        lines = []
        # the compound behind each series name, from the table's own rescue column: a compound may
        # itself be named with " + " (``TNF, SMAC + zVAD``), so the name cannot be split on it
        compound_of: dict[str, str] = {}
        for compound, agent in zip(self.table["compound"], self.table["rescue_agent"], strict=True):
            if isinstance(compound, str) and compound:
                shown = f"{compound} + {agent}" if isinstance(agent, str) and agent else compound
                compound_of.setdefault(shown, compound)
        for name, concs in self.compounds().items():
            base = compound_of.get(name, name)
            roles = sorted(set(self.table.loc[self.table["compound"] == base, "role"]))
            doses = ", ".join(format_molar(c) for c in concs) or "no concentration"
            if not concs and "concentration_raw" in self.table.columns:  # doses kept as written (ng/ml, %)
                rows = self.table[self.table["compound"] == base]
                raw = rows[pd.to_numeric(rows["concentration_raw"], errors="coerce") > 0]
                if len(raw):
                    values = sorted(set(pd.to_numeric(raw["concentration_raw"]).tolist()))
                    units = "/".join(sorted(set(raw["unit"].astype(str))))
                    lines.append(f"{name} [{'/'.join(roles)}]: {len(values)} doses in {units}, not molar "
                                 f"({', '.join(f'{v:g}' for v in values)})")
                    continue
            lines.append(f"{name} [{'/'.join(roles)}]: {len(concs)} doses ({doses})")
        return lines

    def to_csv(self, path: str | Path) -> Path:
        """Write the layout in the CSV schema.

        Molar concentrations are written in ``M``; others (ng/ml without a molecular weight, ``%``)
        as written, with their unit; rescue concentrations likewise (``rescue_unit``).
        """
        path = Path(path)
        out = self.table.copy()
        molar = out["concentration"].notna()
        raw = (pd.to_numeric(out["concentration_raw"], errors="coerce") if "concentration_raw" in out.columns
               else pd.Series(float("nan"), index=out.index))
        kept = ~molar & raw.notna() & (out["unit"].astype(str) != "")
        out.loc[molar, "unit"] = "M"
        out["concentration"] = [repr(float(v)) if m else (repr(float(r)) if k else "")
                                for v, r, m, k in zip(out["concentration"], raw, molar, kept, strict=True)]
        rescue = out["rescue_concentration"].notna()
        written = (out["rescue_as_written"].fillna("").astype(str) if "rescue_as_written" in out.columns
                   else pd.Series("", index=out.index))
        kept = [w.split(" ", 1) if w and not r else ["", ""] for w, r in zip(written, rescue, strict=True)]
        out["rescue_concentration"] = [repr(float(v)) if pd.notna(v) else k[0]
                                       for v, k in zip(out["rescue_concentration"], kept, strict=True)]
        out["rescue_unit"] = ["M" if r else (k[1] if len(k) > 1 else "") for r, k in zip(rescue, kept, strict=True)]
        extra = [c for c in out.columns
                 if c not in LAYOUT_COLUMNS and c not in ("concentration_raw", "rescue_unit", "rescue_as_written")]
        out = out[LAYOUT_COLUMNS + ["rescue_unit"] + extra]
        path.parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(path, index=False)
        return path


def combine_layouts(parts: list[tuple[str, PlateLayout]], source: Path, form: str,
                    plate_format: PlateFormat | None = None) -> PlateLayout:
    """One layout of several (a workbook's sheets, or several files), each named by ``parts``' first item.

    The table keeps the parts' rows in order; the plate format is ``plate_format``, else the
    largest of the parts'. A one-part list is that part. No plate of several parts counts as named by its
    file alone (:attr:`PlateLayout.file_named_plates`): a part's file stem is its plate's name.

    Raises:
        LayoutError: If one plate's well is in two parts.
    """
    if len(parts) == 1:
        return parts[0][1]
    seen: dict[tuple[str, str], str] = {}
    for where, part in parts:
        for plate, well in part.table[["plate_id", "well"]].astype(str).itertuples(index=False):
            if (plate, well) in seen:
                raise LayoutError(f"{source}: plate '{plate}' well {well} is on {seen[plate, well]} and on {where}")
            seen[plate, well] = where
    table = pd.concat([part.table for _, part in parts], ignore_index=True)
    extra = [c for c in table.columns if c not in LAYOUT_COLUMNS]
    table = table[LAYOUT_COLUMNS + extra]
    for col in table.columns:
        if table[col].dtype == object:
            table[col] = table[col].fillna("")
    fmt = plate_format or max(p.plate_format for _, p in parts)
    notes = list(dict.fromkeys(n for _, part in parts for n in part.notes))
    # several files (or sheets): a file's stem is the documented name of its plate (``--layout a.csv --layout b.csv``)
    return PlateLayout(table, fmt, source, form, notes=notes)


def make_layout(
    rows: Iterable[dict] | pd.DataFrame,
    plate_format: PlateFormat | int = 96,
    source: Path | None = None,
) -> PlateLayout:
    """Build a layout from dicts, or a DataFrame's rows, with (a subset of) :data:`LAYOUT_COLUMNS`.

    Doses are molar (unit ``M``) unless a record gives a ``unit`` (``uM``, ``nM``, ``µmol/L``..., as a
    layout file may spell it): its ``concentration`` is then converted to molar as :func:`read_layout`
    converts a CSV's, and its ``rescue_concentration`` likewise (in its ``rescue_unit``, else in ``unit``).
    A dose in a mass unit is molar with the record's ``mw`` (``rescue_mw``) in g/mol, else NaN, as is a
    ``%`` or ``x``; the value as written is kept (``concentration_raw``, ``rescue_as_written``). A record
    with a ``concentration_raw`` is a layout table's row (a :attr:`PlateLayout.table`, or a stored copy):
    its doses are molar already, its unit the raw value's. A role is one of :data:`ROLES` (any case;
    ``sample`` when none is given). Used by the simulator, by layouts stored beside data, and by tests.

    Raises:
        LayoutError: A well given twice on one plate, an unknown role or unit, a dose that is no number
            (naming ``source``, else ``layout``, and the record, counted from 1).
        WellError: A well that is no well id or lies outside ``plate_format``.
    """
    fmt = plate_format if isinstance(plate_format, PlateFormat) else PlateFormat.from_n_wells(
        plate_format
    )
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else [dict(r) for r in rows]
    doses = [_record_doses(f"{source or 'layout'}: record {n}", rec) for n, rec in enumerate(records, start=1)]
    df = pd.DataFrame(records)
    for col in LAYOUT_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    df = df[LAYOUT_COLUMNS + [c for c in df.columns if c not in LAYOUT_COLUMNS]]
    df["plate_id"] = df["plate_id"].fillna(UNNAMED_PLATE).astype(str)
    df["well"] = [f"{w}" for w in df["well"]]
    df["well"] = [normalize_well(w, fmt) for w in df["well"]]
    df["role"] = [_record_role(f"{source or 'layout'}: record {n}", r) for n, r in enumerate(df["role"], start=1)]
    seen: dict[tuple[str, str], int] = {}
    for n, key in enumerate(zip(df["plate_id"], df["well"], strict=True), start=1):
        if key in seen:
            plate = f" of plate {key[0]}" if key[0] != UNNAMED_PLATE else ""
            raise LayoutError(f"{source or 'layout'}: record {n}: duplicate well {key[1]}{plate} "
                              f"(first in record {seen[key]})")
        seen[key] = n
    df["replicate"] = df["replicate"].fillna(1).astype(int)
    df["concentration"] = [d[0] for d in doses]
    df["rescue_concentration"] = [d[3] for d in doses]
    df["unit"] = [d[2] for d in doses]
    if any(d[1] is not None for d in doses):  # doses written in a unit of their own: kept as written
        df["concentration_raw"] = [d[0] if d[1] is None else d[1] for d in doses]
    if any(d[4] for d in doses):
        df["rescue_as_written"] = [d[4] for d in doses]
    for col in ("compound", "mode", "rescue_agent", "cell_line"):
        df[col] = df[col].where(df[col].notna(), "")
    return PlateLayout(df.reset_index(drop=True), fmt, source)


def _missing(value) -> bool:
    """Whether a record's value is missing: None, NaN, ``pd.NA`` or blank text."""
    return value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) or str(value).strip() == ""


def _record_number(where: str, rec: dict, column: str) -> float:
    """``rec[column]`` as a float (NaN when missing)."""
    value = rec.get(column)
    if _missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise LayoutError(f"{where}: {column} '{value}' is not a number") from None


def _record_role(where: str, value) -> str:
    """A record's role: one of :data:`ROLES` (as written in any case), ``sample`` when missing."""
    if _missing(value):
        return "sample"
    role = str(value).strip().lower()
    if role not in ROLES:
        raise LayoutError(f"{where}: unknown role '{value}' (one of {', '.join(ROLES)})")
    return role


def _in_molar(where: str, value: float, unit_text: str, mw: float, column: str) -> tuple[float, str]:
    """``(molar, unit as ferroscreen spells it)`` of ``value`` written in ``unit_text`` (NaN where not molar)."""
    unit = concentration_unit(unit_text)
    molar = any_to_molar(value, unit, mw)
    if molar is None:
        raise LayoutError(f"{where}: unknown unit '{unit_text}' for {column} (molar: M, mM, uM, µM, nM, pM; mass "
                          f"with an 'mw' in g/mol: ng/ml, µg/ml, mg/ml...; or %)")
    return molar, unit


def _record_doses(where: str, rec: dict) -> tuple[float, float | None, str, float, str]:
    """``(molar, as written or None, unit, rescue molar, rescue as written)`` of one :func:`make_layout` record.

    Doses without a unit are molar (``as written`` None: the dose is its own); a layout table's row
    (with ``concentration_raw``) is molar already and keeps its unit.
    """
    conc = _record_number(where, rec, "concentration")
    rescue = _record_number(where, rec, "rescue_concentration")
    unit = "" if _missing(rec.get("unit")) else str(rec["unit"]).strip()
    if "concentration_raw" in rec:
        raw = _record_number(where, rec, "concentration_raw")
        kept = "" if _missing(rec.get("rescue_as_written")) else str(rec["rescue_as_written"])
        return conc, raw, unit or ("M" if not math.isnan(conc) else ""), rescue, kept
    raw = None
    if unit and concentration_unit(unit) != "M" and not math.isnan(conc):
        raw = conc
        conc, unit = _in_molar(where, conc, unit, _record_number(where, rec, "mw"), "concentration")
    rescue_unit = "" if _missing(rec.get("rescue_unit")) else str(rec["rescue_unit"]).strip()
    rescue_unit = rescue_unit or unit
    written = ""
    if rescue_unit and not math.isnan(rescue):
        molar, rescue_unit = _in_molar(where, rescue, rescue_unit, _record_number(where, rec, "rescue_mw"),
                                       "rescue_concentration")
        written = f"{rescue:g} {rescue_unit}" if math.isnan(molar) else ""
        rescue = molar
    return conc, raw, unit if raw is not None else ("M" if not math.isnan(conc) else ""), rescue, written
