"""Reader for the ferroscreen layout CSV (schema in ARCHITECTURE.md / README).

Every validation failure raises :class:`~ferroscreen.errors.LayoutError` with a
message ``FILE:LINE: column 'COL': problem`` (LINE counts the header as line 1).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd

from ferroscreen.errors import LayoutError, WellError
from ferroscreen.plate.layout import (
    EXCLUDE_COLUMNS,
    KNOWN_MODES,
    LAYOUT_COLUMNS,
    ROLES,
    VEHICLE_NAMES,
    PlateLayout,
    exclusion_reasons,
)
from ferroscreen.plate.units import MOLAR_DIVISORS, decimal_point, to_molar
from ferroscreen.plate.wells import PlateFormat, normalize_well

_REQUIRED = ("well",)
#: Header names read as ``compound`` when the file has no ``compound`` column (and only one of these).
COMPOUND_ALIASES = ("gene", "sirna", "gene_symbol", "drug", "treatment")


def _err(path: Path, line: int | None, column: str | None, problem: str) -> LayoutError:
    where = f"{path}:{line}" if line is not None else f"{path}"
    col = f" column '{column}':" if column else ""
    return LayoutError(f"{where}:{col} {problem}")


def _number(path: Path, line: int, column: str, text: str, decimal_comma: bool = False) -> float:
    """A concentration cell as a float (empty -> NaN; ``0,5`` -> 0.5 when ``decimal_comma``)."""
    text = text.strip()
    if text == "":
        return math.nan
    if decimal_comma:
        text = decimal_point(text)
    try:
        value = float(text)
    except ValueError:
        raise _err(path, line, column, f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise _err(path, line, column, f"'{text}' is not a finite number")
    if value < 0:
        raise _err(path, line, column, f"negative concentration {text}")
    return value


def _decode(path: Path, raw: bytes) -> str:
    """Text of a layout file: UTF-16 by its byte-order mark (Excel's "Unicode text"), UTF-8, else Windows-1252."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    if raw[:4] == b"PK\x03\x04" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or b"\x00" in raw[:4096]:
        raise LayoutError(f"{path}: an Excel workbook or binary file, not a text layout (save it as CSV)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_layout_csv(
    path: str | Path,
    plate_format: PlateFormat | int | None = None,
    extra_modes: tuple[str, ...] = (),
) -> PlateLayout:
    """Read and validate a layout CSV.

    Args:
        path: The CSV file (comma, semicolon or tab separated; UTF-8 with or
            without BOM, UTF-16 with BOM, or Windows-1252 as older Excel saves it;
            decimal commas in semicolon/tab separated files). Without a
            ``compound`` column, a ``gene``/``sirna``/``drug``/``treatment``
            column (:data:`COMPOUND_ALIASES`) takes its place.
        plate_format: Plate format to validate wells against; by default the
            smallest of 96/384/1536 that holds every well.
        extra_modes: Mode names accepted besides :data:`KNOWN_MODES`.

    Returns:
        The validated layout, concentrations converted to molar.

    Raises:
        LayoutError: Naming file, line and column of the first problem found.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LayoutError(f"{path}: layout file not found") from None
    text = _decode(path, raw)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise LayoutError(f"{path}: layout file is empty")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    reader = csv.reader(lines, delimiter=delim)
    header = [h.strip().lower() for h in next(reader)]
    if "compound" not in header:  # knockdown and other libraries name the treatment differently
        named = [h for h in COMPOUND_ALIASES if h in header]
        if len(named) == 1:
            header[header.index(named[0])] = "compound"
    for col in _REQUIRED:
        if col not in header:
            raise _err(path, 1, None, f"missing required column '{col}' (header: {', '.join(header)})")
    seen_cols = set()
    for h in header:
        if h in seen_cols:
            raise _err(path, 1, h, "column appears twice in the header")
        seen_cols.add(h)

    modes = set(KNOWN_MODES) | set(extra_modes)
    fmt_given = plate_format is not None
    fmt = (
        plate_format
        if isinstance(plate_format, PlateFormat)
        else PlateFormat.from_n_wells(plate_format or 1536)
    )
    records = []
    seen: dict[tuple[str, str], int] = {}
    for lineno, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw) or raw[0].lstrip().startswith("#"):
            continue
        if len(raw) > len(header):
            raise _err(path, lineno, None, f"{len(raw)} fields but the header has {len(header)}")
        row = {h: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(header)}
        rec: dict = {k: v for k, v in row.items() if k not in LAYOUT_COLUMNS}
        rec["plate_id"] = row.get("plate_id", "") or path.stem
        try:
            rec["well"] = normalize_well(row["well"], fmt)
        except WellError as exc:
            raise _err(path, lineno, "well", str(exc)) from None
        key = (rec["plate_id"], rec["well"])
        if key in seen:
            raise _err(
                path, lineno, "well", f"duplicate well {rec['well']} (first on line {seen[key]})"
            )
        seen[key] = lineno
        rec["compound"] = row.get("compound", "")
        unit = row.get("unit", "")
        conc = _number(path, lineno, "concentration", row.get("concentration", ""), delim != ",")
        rec["concentration_raw"] = conc
        rec["unit"] = unit
        if not math.isnan(conc):
            if unit == "":
                raise _err(path, lineno, "unit", "concentration given without a unit (M, mM, uM, nM, pM)")
            if unit not in MOLAR_DIVISORS:
                raise _err(path, lineno, "unit", f"unknown unit '{unit}' (use M, mM, uM, µM, nM or pM)")
            conc = to_molar(conc, unit)
        rec["concentration"] = conc
        rconc = _number(
            path, lineno, "rescue_concentration", row.get("rescue_concentration", ""), delim != ","
        )
        runit = row.get("rescue_unit", "") or unit
        if not math.isnan(rconc):
            if runit not in MOLAR_DIVISORS:
                raise _err(path, lineno, "rescue_unit", f"unknown or missing unit '{runit}' for rescue_concentration")
            rconc = to_molar(rconc, runit)
        rec["rescue_concentration"] = rconc
        rec["rescue_agent"] = row.get("rescue_agent", "")
        role = row.get("role", "").lower()
        if not role:
            if not rec["compound"]:
                role = "empty"
            elif rec["compound"].lower() in VEHICLE_NAMES:
                role = "vehicle"
            elif rec["rescue_agent"]:
                role = "rescue"
            else:
                role = "sample"
        if role not in ROLES:
            raise _err(path, lineno, "role", f"unknown role '{role}' (one of {', '.join(ROLES)})")
        rec["role"] = role
        mode = row.get("mode", "").lower()
        if mode and mode not in modes:
            raise _err(
                path, lineno, "mode", f"unknown mode '{mode}' (known: {', '.join(sorted(modes))})"
            )
        if role == "reference" and not mode:
            raise _err(path, lineno, "mode", "a reference well needs a mode (e.g. ferroptosis)")
        if role == "vehicle" and not mode:
            mode = "alive"
        rec["mode"] = mode
        rep = row.get("replicate", "")
        try:
            rec["replicate"] = int(float(rep)) if rep else 1
        except ValueError:
            raise _err(path, lineno, "replicate", f"'{rep}' is not an integer") from None
        rec["cell_line"] = row.get("cell_line", "")
        marked = next((c for c in EXCLUDE_COLUMNS if c in header), None)
        if marked is not None:
            rec.pop(marked, None)
            rec["exclude"] = exclusion_reasons([row.get(marked, "")])[0]
        records.append(rec)
    if not records:
        raise LayoutError(f"{path}: layout has a header but no wells")
    df = pd.DataFrame(records)
    cols = LAYOUT_COLUMNS + [c for c in df.columns if c not in LAYOUT_COLUMNS]
    df = df[cols]
    if not fmt_given:
        fmt = PlateFormat.smallest_containing(list(df["well"]))
        fmt = max(fmt, PlateFormat.from_n_wells(96)) if fmt.n_wells < 96 else fmt
    return PlateLayout(df, fmt, path)
