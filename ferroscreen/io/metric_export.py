"""Reader for IncuCyte metric exports (per-well time series without images).

Layout of the tab-separated text file::

    Label: <plate label>            header block: ``Key: value`` lines
    Metric: Phase Object Confluence (Percent)
    ...
    Date Time<TAB>Elapsed<TAB>A1<TAB>B1 ...
    30/01/2014 17:00:00<TAB>0<TAB>15.7 ...

``Elapsed`` (hours) is authoritative for ``time_h``. Exports mix date styles
in one file (``30/01/2014 17:00:00``, ``3/27/2018 2:20:00 PM``,
``04/01/18 06:20``); dates are parsed per row where unambiguous and otherwise
reconstructed from the first parsed date plus ``Elapsed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.plate.wells import normalize_well

_DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%d/%m/%y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
)


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


def looks_like_metric_export(path: Path) -> bool:
    """Whether ``path`` is a text file with a ``Date Time``/``Elapsed`` table."""
    if not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            for _, line in zip(range(60), fh, strict=False):
                if line.startswith("Date Time\t") and "Elapsed" in line:
                    return True
    except OSError:
        return False
    return False


def read_metric_export(path: str | Path, plate: str | None = None) -> MetricExport:
    """Read an IncuCyte metric export.

    Args:
        path: The ``.txt`` export.
        plate: Plate id for the table (default: the ``Label`` header or the file stem).

    Raises:
        AcquisitionError: One line naming the file (and line) when the file has
            no ``Date Time``/``Elapsed`` table, a well name is invalid, or an
            elapsed time or value is not numeric.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="strict").splitlines()
    except FileNotFoundError:
        raise AcquisitionError(f"{path}: metric export not found") from None
    except UnicodeDecodeError:
        try:
            lines = path.read_text(encoding="latin-1").splitlines()
        except OSError as exc:
            raise AcquisitionError(f"{path}: cannot read ({exc})") from None
    header: dict[str, str] = {}
    start = None
    for i, line in enumerate(lines):
        if line.startswith("Date Time"):
            start = i
            break
        if ":" in line:
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip().strip("\t").strip()
    if start is None:
        raise AcquisitionError(
            f"{path}: not an IncuCyte metric export (no 'Date Time<TAB>Elapsed' table header)"
        )
    cols = [c.strip() for c in lines[start].split("\t")]
    if len(cols) < 3 or cols[1] != "Elapsed":
        raise AcquisitionError(f"{path}:{start + 1}: expected columns 'Date Time, Elapsed, <wells>'")
    wells = []
    for j, c in enumerate(cols[2:], start=3):
        if not c:
            continue
        try:
            wells.append((j - 1, normalize_well(c)))
        except WellError as exc:
            raise AcquisitionError(f"{path}:{start + 1}: column {j}: {exc}") from None
    plate_id = plate or header.get("Label") or path.stem
    records = []
    prev: datetime | None = None
    first: tuple[datetime, float] | None = None
    unparsed = 0
    for lineno, line in enumerate(lines[start + 1 :], start=start + 2):
        if not line.strip():
            continue
        cells = line.split("\t")
        try:
            elapsed = float(cells[1])
        except (IndexError, ValueError):
            raise AcquisitionError(
                f"{path}:{lineno}: Elapsed '{cells[1] if len(cells) > 1 else ''}' is not a number"
            ) from None
        when = _parse_date(cells[0].strip(), prev)
        if when is None and first is not None:
            when = first[0] + timedelta(hours=elapsed - first[1])
            unparsed += 1
        if when is not None:
            prev = when
            first = first or (when, elapsed)
        for idx, well in wells:
            text = cells[idx].strip() if idx < len(cells) else ""
            if text == "":
                value = math.nan
            else:
                try:
                    value = float(text)
                except ValueError:
                    raise AcquisitionError(
                        f"{path}:{lineno}: well {well}: value '{text}' is not a number"
                    ) from None
            records.append((plate_id, well, elapsed, when, value))
    if not records:
        raise AcquisitionError(f"{path}: metric export has a header but no data rows")
    table = pd.DataFrame(records, columns=["plate", "well", "time_h", "datetime", "value"])
    table = table.sort_values(["well", "time_h"], kind="stable").reset_index(drop=True)
    notes = []
    if unparsed:
        notes.append(f"{unparsed} date(s) in an unknown style were derived from Elapsed")
    if np.isnan(table["value"]).all():
        notes.append("every value is empty")
    return MetricExport(path, header.get("Metric", ""), header, table, notes)
