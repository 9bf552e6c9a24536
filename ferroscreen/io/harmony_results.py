"""Reader for Harmony / Columbus per-well results (``PlateResults.txt``) of a nuclei analysis.

Operetta and Opera Phenix users who segment nuclei in Harmony export its evaluation per well:
a tab-separated text file, a header block of ``Key<TAB>value`` lines (``Plate Name``,
``Measurement``, ``Evaluation``...) and, after a ``[Data]`` line, one row per well (and plane,
time point) with ``Row`` and ``Column`` numbers and the building blocks' outputs, named
``<Population> - <Property>``:

* ``Nuclei - Number of Objects``: the well's nuclei, over its analysed fields;
* ``Nuclei - Nucleus Area [µm²] - Mean per Well`` (or in px²): their mean area (without it, counts alone);
* ``Number of Analyzed Fields``, when exported: the fields behind the count.

Columbus writes the same table, often without the header block: the well as ``Well`` (``A1``,
``A01``) or ``WellName`` instead of ``Row`` and ``Column``, ``Number Of Objects`` capitalised,
``NumberOfAnalyzedFields``, and a selected population's count as ``Nuclei Selected - Number of
Objects Nuclei Selected``; names are matched whatever their case. A Columbus batch export of several
plates names each row's plate in its ``Result`` column (``<plate> > <analysis time>``); otherwise
the plate is the header's ``Plate Name``, else the folder.

The population counted is ``Nuclei`` when it is there, else the only one, else the one named like
a nuclear stain; otherwise ``population`` must name it. ``NaN`` cells are missing values. A
time-lapse evaluation is judged at its last time point (said in the notes); several planes per well
are refused (evaluate one plane or a projection).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.metric_export import _decode_text
from ferroscreen.io.object_names import pick_nuclei
from ferroscreen.plate.wells import normalize_well, rowcol_to_well

__all__ = ["HarmonyWells", "looks_like_harmony_results", "read_harmony_results"]

_COUNT = re.compile(r"^(?P<pop>.+?) - Number of Objects(?: (?P=pop))?$", re.I)
_FIELDS = re.compile(r"^number\s*of\s*analy[sz]ed\s*fields$", re.I)
_WELL = re.compile(r"^well\s*(?:name)?$", re.I)


@dataclass
class HarmonyWells:
    """A Harmony results file read as wells.

    Attributes:
        table: ``plate, well, n_nuclei[, n_fields, nuclei_per_field][, area_mean]``.
        population: The population counted.
        area_source: The column the area came from; None when the file has no mean area (counts alone).
        notes: What was decided on the way (time point kept).
        count_column: The column the count came from (``Nuclei - Number of Objects``).
        others: The other populations the file counts.
        plate_source: What named the plates: ``Result`` (a batch export's column), the header's key
            (``Plate Name``, ``Plate``, ``Barcode``), else ``folder`` (the file's folder) or ``file name``.
    """

    table: pd.DataFrame
    population: str
    area_source: str | None
    notes: list[str] = field(default_factory=list)
    count_column: str | None = None
    others: tuple[str, ...] = ()
    plate_source: str = "Plate Name"


def _named(columns, name: str) -> str | None:
    """The column called ``name`` whatever its case, or None."""
    return next((c for c in columns if str(c).strip().lower() == name), None)


def _well_columns(columns) -> tuple[str, str] | str | None:
    """``(Row, Column)`` columns, else a ``Well``/``WellName`` column, else None."""
    row, col = _named(columns, "row"), _named(columns, "column")
    if row is not None and col is not None:
        return row, col
    return next((c for c in columns if _WELL.match(str(c).strip())), None)


def _is_header(line: str) -> bool:
    names = [c.strip() for c in line.split("\t")]
    return _well_columns(names) is not None and any(_COUNT.match(n) for n in names)


def _split(text: str) -> tuple[dict[str, str], str, int] | None:
    """The header block's keys, the data table's text and its header's 0-based line; None if no results file.

    The header is the line after ``[Data]``, else the first line that reads as one.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines[:200]) if line.strip() == "[Data]"), None)
    if start is not None:
        header_at = start + 1
        if header_at >= len(lines) or not _is_header(lines[header_at]):
            return None
    else:
        header_at = next((i for i, line in enumerate(lines[:200]) if _is_header(line)), None)
        if header_at is None:
            return None
    keys = {}
    for line in lines[:header_at]:
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip():
            keys[parts[0].strip()] = parts[1].strip()
    return keys, "\n".join(lines[header_at:]), header_at


def _result_plates(table: pd.DataFrame, path: Path) -> list[str]:
    """Each row's plate from a Columbus batch export's ``Result`` column (``<plate> > <analysis time>``).

    Raises:
        AcquisitionError: For a row whose ``Result`` is empty.
    """
    plates = []
    for line, text in zip(table.index, table["Result"], strict=True):
        name = str(text).split(" > ")[0].strip() if pd.notna(text) else ""
        if not name:
            raise AcquisitionError(f"{path}: line {line}: empty Result (the plate of the row)")
        plates.append(name)
    return plates


def _canonical_names(columns) -> dict:
    """Renames of Harmony's bookkeeping columns, written in any case or run together, to one spelling."""
    names = {"row": "Row", "column": "Column", "plane": "Plane", "timepoint": "Timepoint", "result": "Result"}
    out = {}
    for c in columns:
        key = str(c).strip()
        if key.lower() in names:
            out[c] = names[key.lower()]
        elif _FIELDS.match(key):
            out[c] = "Number of Analyzed Fields"
        elif _WELL.match(key):
            out[c] = "Well"
    return out


def _wells(table: pd.DataFrame, path: Path) -> list[str]:
    """Each row's well, from ``Row`` and ``Column`` (1-based) or else from ``Well``.

    Raises:
        AcquisitionError: For the first row whose well is not one of a plate of up to 1536 wells.
    """
    wells = []
    if {"Row", "Column"} <= set(table.columns):
        for line, r, c in zip(table.index, table["Row"], table["Column"], strict=True):
            try:
                row, col = int(r) - 1, int(c) - 1
                if not (0 <= row < 32 and 0 <= col < 48) or row != float(r) - 1 or col != float(c) - 1:
                    raise ValueError
                wells.append(rowcol_to_well(row, col))
            except (ValueError, TypeError, WellError):
                raise AcquisitionError(f"{path}: line {line}: Row {r!r}, Column {c!r} is not a well of a plate of "
                                       f"up to 1536 wells") from None
        return wells
    for line, name in zip(table.index, table["Well"], strict=True):
        try:
            wells.append(normalize_well(str(name).strip()))
        except WellError:
            raise AcquisitionError(f"{path}: line {line}: Well {name!r} is not a well of a plate of up to 1536 "
                                   f"wells") from None
    return wells


def looks_like_harmony_results(path: str | Path) -> bool:
    """Whether ``path`` is a Harmony/Columbus per-well results file with an object count."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() not in (".txt", ".tsv", ".csv"):
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    if b"number of objects" not in head.lower() and "number of objects".encode("utf-16-le") not in head.lower():
        return False
    try:
        return _split(_decode_text(path.read_bytes())) is not None
    except OSError:
        return False


def read_harmony_results(path: str | Path, population: str | None = None) -> HarmonyWells:
    """Read a Harmony/Columbus ``PlateResults.txt`` into wells (see the module docstring).

    Raises:
        AcquisitionError: One line naming the file: not such a file, several populations and none
            named, a row or column that is not a well, several planes, a count that is not a number.
    """
    path = Path(path)
    try:
        split = _split(_decode_text(path.read_bytes()))
    except OSError as exc:
        raise AcquisitionError(f"{path}: {exc.strerror or exc}") from None
    if split is None:
        raise AcquisitionError(f"{path}: not a Harmony results file (no Row and Column, or Well, and no "
                               f"'<population> - Number of Objects' columns)")
    keys, data, header_at = split
    try:
        table = pd.read_csv(io.StringIO(data), sep="\t", na_values=["NaN"], keep_default_na=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise AcquisitionError(f"{path}: unreadable data table below line {header_at + 1} "
                               f"({str(exc).splitlines()[0]})") from None
    table = table.loc[:, [not str(c).startswith("Unnamed") for c in table.columns]]
    if table.empty:
        raise AcquisitionError(f"{path}: no well rows below the header (line {header_at + 1})")
    table.index = table.index + header_at + 2  # the file's line of each row
    table = table.rename(columns=_canonical_names(table.columns))
    counted = {m.group("pop"): str(c) for c in table.columns if (m := _COUNT.match(str(c)))}
    pop = pick_nuclei(list(counted), population, path, "populations")
    table = table.rename(columns={counted[pop]: "_count"})
    area_cols = [str(c) for c in table.columns if str(c).lower().startswith(f"{pop.lower()} - ")
                 and "area" in str(c).lower() and str(c).lower().endswith("mean per well")]
    area_col = sorted(area_cols, key=lambda c: ("nucleus area" not in c.lower(), len(c)))[0] if area_cols else None
    notes = []
    if "Plane" in table.columns and table["Plane"].nunique() > 1:
        raise AcquisitionError(f"{path}: {table['Plane'].nunique()} planes per well; evaluate one plane or a "
                               f"projection")
    wells = _wells(table, path)
    table = table.assign(_well=wells)
    if "Timepoint" in table.columns and table["Timepoint"].nunique() > 1:
        last, n_times = table["Timepoint"].max(), table["Timepoint"].nunique()
        n_wells = table["_well"].nunique()
        table = table[table["Timepoint"] == last]
        lacking = n_wells - table["_well"].nunique()
        said = f"; {lacking} well(s) without it take no part" if lacking else ""
        notes.append(f"{n_times} time points; the last (Timepoint {last}) is used{said}")
    counts = table["_count"]
    count = pd.to_numeric(counts, errors="coerce")
    bad = (count.isna() & counts.notna()) | ~np.isfinite(count.fillna(0)) | (count < 0) | (count.fillna(0) % 1 != 0)
    if bad.any():
        raise AcquisitionError(f"{path}: line {table.index[bad.to_numpy()][0]}: '{counted[pop]}' is "
                               f"{str(counts[bad].iloc[0])!r}, not a count of objects")
    plate_source = next((k for k in ("Plate Name", "Plate", "Barcode") if keys.get(k)),
                        "folder" if path.parent.name else "file name")
    plate = keys.get(plate_source) or path.parent.name or path.stem
    if "Result" in table.columns:
        plates, plate_source = _result_plates(table, path), "Result"
    else:
        plates = plate
    out = pd.DataFrame({"plate": plates, "well": table["_well"].to_numpy(), "n_nuclei": count.to_numpy(float)})
    twice = out.duplicated(["plate", "well"], keep=False)
    if twice.any():
        first = out[twice.to_numpy()].iloc[0]
        raise AcquisitionError(f"{path}: plate {first['plate']} well {first['well']} has {int(twice.sum())} rows "
                               f"(one per well expected; several planes or fields exported per row?)")
    if "Number of Analyzed Fields" in table.columns:
        fields = pd.to_numeric(table["Number of Analyzed Fields"], errors="coerce").to_numpy(float)
        out["n_fields"] = fields
        with np.errstate(divide="ignore", invalid="ignore"):
            out["nuclei_per_field"] = np.where(fields > 0, out["n_nuclei"] / fields, np.nan)
    if area_col is not None:
        area = pd.to_numeric(table[area_col], errors="coerce")
        text = area.isna() & table[area_col].notna()
        if text.any():
            value = str(table[area_col][text].iloc[0])
            comma = " (a decimal comma? export with a decimal point)" if "," in value else ""
            raise AcquisitionError(f"{path}: line {table.index[text.to_numpy()][0]}: '{area_col}' is {value!r}, not a "
                                   f"number{comma}")
        out["area_mean"] = area.to_numpy(float)
    return HarmonyWells(out, pop, area_col, notes, counted[pop], tuple(p for p in counted if p != pop), plate_source)
