"""Reader for IncuCyte metric exports (per-well time series without images).

Layout of the text file (tab-separated; ``,`` or ``;`` also read)::

    Label: <plate label>            header block: ``Key: value`` lines
    Metric: Phase Object Confluence (Percent)
    ...
    Date Time<TAB>Elapsed<TAB>A1<TAB>B1 ...
    30/01/2014 17:00:00<TAB>0<TAB>15.7 ...

``Elapsed`` is authoritative for ``time_h``: hours as a number, or written
``0d02h30m`` / ``2:30`` by some software versions. Exports mix date styles in
one file (``30/01/2014 17:00:00``, ``3/27/2018 2:20:00 PM``, ``04/01/18 06:20``,
``30.01.2014 17:00``); dates are parsed per row where unambiguous and
otherwise reconstructed from the first parsed date plus ``Elapsed``.

What real exports add and how it is read:

* standard-error / standard-deviation columns (``B2 (Std Err Img)``,
  ``B2 (Std Err Well)``, ``B2 (Std Dev Well)``) are left out (noted): the
  replicates are the wells themselves;
* per-image columns (``B2, Image 1``, ``B2, Image 2``) are averaged per well and
  time (noted), giving the well value IncuCyte itself reports;
* numbers written with a decimal comma (``15,7``: exports from European
  locales) are read as decimals when the file is not comma-separated; there the
  values and elapsed times show, the file as a whole, which mark is the decimal
  one (:func:`~ferroscreen.decimal_marks.decimal_mark`): ``1.234,5`` and ``0,5``
  make ``1.234`` a thousand, ``0.523`` makes it a one; where nothing says, a
  ``;`` file's ``1.234`` and a tab-separated file's ``1,234`` are refused;
* UTF-8 (with or without byte-order mark), UTF-16 and Latin-1 files.

Columns named by a plate-map group label instead of a well are refused with a
one-line error: the plate layout is joined by well.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.decimal_marks import decimal_mark, either_way, notation, read_number
from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.plate.wells import normalize_well

_DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%d/%m/%y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
)
_DELIMITERS = ("\t", ";", ",")
_SPREAD_COLUMN = re.compile(r"\s*\(\s*(?:std|standard)\.?\s*(?:err|error|dev|deviation)\b[^)]*\)\s*$", re.I)
_IMAGE_COLUMN = re.compile(r"^(?P<well>.+?)\s*,\s*image\s*(?P<image>\d+)\s*$", re.I)
_DHM = re.compile(r"^(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m(?:in)?)?$", re.I)
_CLOCK = re.compile(r"^(?P<h>\d+):(?P<m>\d{1,2})(?::(?P<s>\d{1,2}(?:\.\d*)?))?$")


@dataclass
class MetricExport:
    """A parsed metric export.

    Attributes:
        path: Source file.
        metric: The ``Metric:`` header value ('' if absent).
        header: All ``Key: value`` header lines.
        table: Long table with columns ``plate, well, time_h, datetime, value``
            (``value`` NaN for empty cells), sorted by well then time.
    """

    path: Path
    metric: str
    header: dict[str, str]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def wells(self) -> list[str]:
        """Wells with data, sorted by row then column."""
        from ferroscreen.plate.wells import well_to_rowcol

        return sorted(self.table["well"].unique(), key=well_to_rowcol)

    @property
    def timepoints_h(self) -> list[float]:
        """Distinct elapsed times in hours."""
        return sorted(float(t) for t in self.table["time_h"].unique())

    def wide(self) -> pd.DataFrame:
        """Time × well matrix of values."""
        return self.table.pivot(index="time_h", columns="well", values="value")


def _parse_date(text: str, previous: datetime | None) -> datetime | None:
    candidates = []
    for fmt in _DATE_FORMATS:
        try:
            candidates.append(datetime.strptime(text, fmt))
        except ValueError:
            continue
    if not candidates:
        return None
    if previous is None or len(candidates) == 1:
        return candidates[0]
    # ambiguous day/month: take the reading closest after the previous row
    return min(candidates, key=lambda d: abs((d - previous).total_seconds()))


def _decode_text(raw: bytes) -> str:
    """Text of an export's bytes: UTF-16 by its byte-order mark, else UTF-8 (BOM allowed), else Latin-1."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16", errors="replace")  # "replace": a head cut at an odd byte still reads
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _table_delimiter(line: str) -> str | None:
    """The delimiter of a ``Date Time<d>Elapsed`` header line, or None when it is not one."""
    if not line.startswith("Date Time"):
        return None
    rest = line[len("Date Time") :]
    for delim in _DELIMITERS:
        if rest.startswith(delim) and rest[len(delim) :].strip().startswith("Elapsed"):
            return delim
    return None


def looks_like_metric_export(path: Path) -> bool:
    """Whether ``path`` is a text file with a ``Date Time``/``Elapsed`` table.

    A ``Date Time`` header followed by a delimiter counts even without ``Elapsed``, so that
    :func:`read_metric_export` says what the table lacks (an export with the column deleted).
    """
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return any(_table_delimiter(line) or (line.startswith("Date Time") and line[len("Date Time"):][:1] in _DELIMITERS)
               for line in _decode_text(head).splitlines()[:60])


def _number(text: str, mark: str) -> float:
    """``text`` as a float (``''`` -> NaN); ValueError otherwise.

    ``mark`` is the file's decimal mark: ``''`` for a comma-separated file (points only), else ``,`` or
    ``.``, which reads ``15,7``, ``1.234,5`` and ``1,234.5`` as they are and ``1.234``/``1,234`` with it
    (:func:`~ferroscreen.decimal_marks.read_number`).
    """
    text = text.strip().strip('"')
    if text == "":
        return math.nan
    return read_number(text, mark)[0] if mark else float(text)


def _file_mark(path: Path, lines: list[str], start: int, delim: str, columns: list[int]) -> str:
    """The decimal mark of the table below header line ``start``, from its elapsed times and ``columns``' values.

    Raises:
        AcquisitionError: Naming the line and cell, for a ``1.000`` (or ``1,000``) that could be a thousand or
            a one (:func:`~ferroscreen.decimal_marks.decimal_mark`).
    """
    seen: dict[str, str] = {}
    where: dict[str, int] = {}
    for lineno, line in enumerate(lines[start + 1 :], start=start + 2):
        cells = line.split(delim)
        for idx in (1, *columns):
            text = cells[idx].strip().strip('"') if idx < len(cells) else ""
            said = notation(text) if text else ""
            if said and said not in seen:
                seen[said], where[said] = text, lineno
    mark, unknown = decimal_mark(seen, delim)
    if unknown:
        lineno = next(where[n] for n, t in seen.items() if t == unknown)
        raise AcquisitionError(f"{path}:{lineno}: {either_way(unknown, seen)} (export the values without thousands "
                               f"separators)")
    return mark


def _elapsed_hours(text: str, mark: str) -> float:
    """Elapsed time in hours from ``12.5``, ``12,5``, ``0d12h30m`` or ``12:30``; ValueError otherwise."""
    text = text.strip().strip('"')
    try:
        value = _number(text, mark)
    except ValueError:
        value = None
    if value is not None:
        if math.isnan(value):
            raise ValueError(text)
        return value
    m = _CLOCK.match(text)
    if m:
        return int(m["h"]) + int(m["m"]) / 60 + float(m["s"] or 0) / 3600
    m = _DHM.match(text)
    if m and any(m.group(k) for k in ("d", "h", "m")):
        return 24 * int(m["d"] or 0) + int(m["h"] or 0) + int(m["m"] or 0) / 60
    raise ValueError(text)


def _data_columns(path: Path, lineno: int, cols: list[str]) -> tuple[list[tuple[int, str]], int, int]:
    """``(index, well)`` of the value columns, the number of spread columns left out and of image columns."""
    wells = []
    n_spread = n_image = 0
    for idx, name in enumerate(cols[2:], start=2):
        if not name:
            continue
        if _SPREAD_COLUMN.search(name):
            n_spread += 1
            continue
        image = _IMAGE_COLUMN.match(name)
        if image:
            n_image += 1
        text = image["well"] if image else name
        if ":" in text:  # '<plate-map label>: B2, Image 1' (or ': B2'): the well follows the label
            text = text.rsplit(":", 1)[1].strip()
        try:
            wells.append((idx, normalize_well(text)))
        except WellError as exc:
            raise AcquisitionError(
                f"{path}:{lineno}: column {idx + 1} '{name}' is not a well ({exc}); "
                "export the metric per well, not grouped by plate-map label"
            ) from None
    return wells, n_spread, n_image


def read_metric_export(path: str | Path, plate: str | None = None) -> MetricExport:
    """Read an IncuCyte metric export.

    Args:
        path: The export (``.txt``; a ``,``/``;``-separated one reads the same).
        plate: Plate id for the table (default: the ``Label`` or ``Vessel Name``
            header, else the file stem).

    Raises:
        AcquisitionError: One line naming the file (and line) when the file has
            no ``Date Time``/``Elapsed`` table, a column is not a well, an
            elapsed time or value is not numeric, or a value could be a thousand
            or a one (``1.234`` in a ``;`` file no other number of which says which).
    """
    path = Path(path)
    try:
        lines = _decode_text(path.read_bytes()).splitlines()
    except FileNotFoundError:
        raise AcquisitionError(f"{path}: metric export not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AcquisitionError(f"{path}: cannot read ({exc})") from None
    header: dict[str, str] = {}
    start = delim = None
    for i, line in enumerate(lines):
        if line.startswith("Date Time"):
            start, delim = i, _table_delimiter(line)
            break
        if ":" in line:
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip().strip("\t;,").strip()
    if start is None:
        raise AcquisitionError(f"{path}: not an IncuCyte metric export (no 'Date Time<TAB>Elapsed' table header)")
    if delim is None:
        second = next((c.strip().strip('"') for d in _DELIMITERS if d in lines[start]
                       for c in lines[start].split(d)[1:2]), "")
        found = f" (the second column is '{second}': export the table with its Elapsed column)" if second else ""
        raise AcquisitionError(f"{path}:{start + 1}: expected columns 'Date Time, Elapsed, <wells>'{found}")
    cols = [c.strip().strip('"') for c in lines[start].split(delim)]
    wells, n_spread, n_image = _data_columns(path, start + 1, cols)
    if not wells:
        raise AcquisitionError(f"{path}:{start + 1}: no well columns after 'Date Time, Elapsed'")
    if not n_image:
        seen: set[str] = set()
        for _, well in wells:
            if well in seen:
                raise AcquisitionError(f"{path}:{start + 1}: well {well} has more than one column")
            seen.add(well)
    mark = "" if delim == "," else _file_mark(path, lines, start, delim, [idx for idx, _ in wells])
    plate_id = plate or header.get("Label") or header.get("Vessel Name") or path.stem
    records = []
    prev: datetime | None = None
    first: tuple[datetime, float] | None = None
    unparsed = 0
    seen_times: dict[float, int] = {}
    for lineno, line in enumerate(lines[start + 1 :], start=start + 2):
        if not line.strip(delim + " \r"):
            continue
        cells = line.split(delim)
        if len(cells) < len(cols):
            raise AcquisitionError(
                f"{path}:{lineno}: {len(cells)} of the header's {len(cols)} columns (a truncated or broken row)")
        try:
            elapsed = _elapsed_hours(cells[1], mark)
        except (IndexError, ValueError):
            raise AcquisitionError(
                f"{path}:{lineno}: Elapsed '{cells[1].strip() if len(cells) > 1 else ''}' is not a time in hours"
            ) from None
        if round(elapsed, 6) in seen_times:
            raise AcquisitionError(f"{path}:{lineno}: elapsed time {elapsed:g} h repeats line "
                                   f"{seen_times[round(elapsed, 6)]}")
        seen_times[round(elapsed, 6)] = lineno
        when = _parse_date(cells[0].strip().strip('"'), prev)
        if when is None and first is not None:
            when = first[0] + timedelta(hours=elapsed - first[1])
            unparsed += 1
        if when is not None:
            prev = when
            first = first or (when, elapsed)
        for idx, well in wells:
            text = cells[idx] if idx < len(cells) else ""
            try:
                value = _number(text, mark)
            except ValueError:
                raise AcquisitionError(
                    f"{path}:{lineno}: well {well}: value '{text.strip()}' is not a number"
                ) from None
            records.append((plate_id, well, elapsed, when, value))
    if not records:
        raise AcquisitionError(f"{path}: metric export has a header but no data rows")
    table = pd.DataFrame(records, columns=["plate", "well", "time_h", "datetime", "value"])
    notes = []
    if n_image:
        n_wells = table["well"].nunique()
        table = table.groupby(["plate", "well", "time_h"], sort=False, as_index=False).agg(
            datetime=("datetime", "first"), value=("value", "mean")
        )
        notes.append(f"{n_image} per-image columns averaged into {n_wells} wells")
    table = table.sort_values(["well", "time_h"], kind="stable").reset_index(drop=True)
    if n_spread:
        notes.append(f"{n_spread} standard-error/deviation column(s) left out")
    if unparsed:
        notes.append(f"{unparsed} date(s) in an unknown style were derived from Elapsed")
    if np.isnan(table["value"]).all():
        notes.append("every value is empty")
    return MetricExport(path, header.get("Metric", ""), header, table, notes)
