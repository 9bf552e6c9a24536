"""Reader for CellProfiler measurements of a nuclei pipeline: per-field counts and areas, then wells.

Labs that segment nuclei with CellProfiler bring its exports to ``ferroscreen hits``:

* **ExportToSpreadsheet**: a per-image table ``<prefix>Image.csv`` (one row per image set, i.e.
  per field: ``ImageNumber``, ``Metadata_*``, ``Count_<Objects>``, and, when per-image means were
  asked for, ``Mean_<Objects>_AreaShape_Area``), with the object table ``<prefix><Objects>.csv``
  (``ImageNumber, ObjectNumber, AreaShape_Area, ...``) beside it;
* **ExportToDatabase** (SQLite): a ``.db``/``.sqlite`` file whose ``<prefix>Per_Image`` table holds
  the same columns, each named with an ``Image_`` prefix, and whose ``<prefix>Per_Object`` table
  (or ``<prefix>Per_<Objects>``) holds ``<Objects>_AreaShape_Area``.

Plate and well come from the metadata columns (case-insensitive): the plate from
``Metadata_Plate`` (or ``Metadata_Barcode``, ``Metadata_PlateID``, ``Metadata_Plate_Name``; a
table without one is one plate named after its file), the well from ``Metadata_Well`` (``A01``,
``A1``, ``r01c01``) or from ``Metadata_Row`` and ``Metadata_Column`` (a letter or a number each).

The objects counted are ``Nuclei`` when the table counts them, else the only object counted,
else the one named like a nuclear stain; otherwise ``objects`` must name them. The nuclear area
of a field is its objects' mean ``AreaShape_Area`` (pixels), from the per-image means, else
from the object table; an export with neither gives counts alone. A time-lapse export
(``Metadata_Time``/``Metadata_Timepoint`` with several values) is refused by ``hits``: its fields
are not replicates of one moment. Read ``over_time`` (for ``fit``), each field keeps its time:
``time_h`` in hours when the column says hours (``Metadata_Time_h``, ``Metadata_Hours``) or holds
IncuCyte's ``00d12h00m``, else ``scan``, the number the column gives the scan (not hours).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ferroscreen.csv_tables import decode_table_text
from ferroscreen.errors import AcquisitionError, WellError
from ferroscreen.io.object_names import pick_nuclei
from ferroscreen.plate.wells import normalize_well, row_index, rowcol_to_well

__all__ = ["CellProfilerFields", "looks_like_cellprofiler", "looks_like_object_table", "read_cellprofiler",
           "wells_from_fields", "wells_over_time"]

_PLATE = ("metadata_plate", "metadata_barcode", "metadata_plateid", "metadata_plate_name", "metadata_platename",
          "metadata_platebarcode")
_WELL = ("metadata_well", "metadata_wellid", "metadata_well_name", "metadata_wellname")
_ROW = ("metadata_row", "metadata_wellrow", "metadata_well_row")
_COL = ("metadata_column", "metadata_col", "metadata_wellcolumn", "metadata_wellcol", "metadata_well_column")
_SITE = ("metadata_site", "metadata_field", "metadata_fieldid", "metadata_fld")
_TIME = ("metadata_time", "metadata_timepoint", "metadata_t", "metadata_timepointid")
_HOURS = ("metadata_time_h", "metadata_timeh", "metadata_hours", "metadata_hour", "metadata_time_hours",
          "metadata_elapsed_h", "metadata_elapsed_hours", "metadata_hrs")
_DHM = re.compile(r"^(\d+)d(\d+)h(\d+)m$", re.I)  # IncuCyte's elapsed time in file names: 00d12h00m
_RC_WELL = re.compile(r"^r(\d+)c(\d+)$", re.I)
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


@dataclass
class CellProfilerFields:
    """One CellProfiler export read as fields.

    Attributes:
        table: One row per field: ``plate, well, n_nuclei[, area_mean]`` (NaN where a field has no object);
            read ``over_time``, also ``time_h`` or ``scan`` when the export has a time column.
        objects: The objects counted (``Nuclei``).
        area_source: Where the area came from (a column, or the object table); None when the export
            holds no area (and the table no ``area_mean``).
        source: The file read.
        others: The other objects the export counts (``Count_<objects>`` columns).
    """

    table: pd.DataFrame
    objects: str
    area_source: str
    source: Path
    others: tuple[str, ...] = ()


def looks_like_cellprofiler(path: str | Path) -> bool:
    """Whether ``path`` is a CellProfiler per-image CSV or database.

    A CSV whose header holds ``ImageNumber`` and ``Count_*``; any ``.db``/``.sqlite`` file is taken as an
    ExportToDatabase database, which :func:`read_cellprofiler` checks.
    """
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() in SQLITE_SUFFIXES:  # the reader says what is wrong with one
        return True
    names = _header(path)
    return "ImageNumber" in names and any(n.startswith("Count_") for n in names)


def looks_like_object_table(path: str | Path) -> bool:
    """Whether ``path`` is a CellProfiler per-object CSV: ``ImageNumber`` and ``ObjectNumber``, no ``Count_*``."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() in SQLITE_SUFFIXES:
        return False
    names = _header(path)
    return {"ImageNumber", "ObjectNumber"} <= set(names) and not any(n.startswith("Count_") for n in names)


def _header(path: Path) -> list[str]:
    """The column names of a CSV's first line (``[]`` when unreadable)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return []
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head[: len(head) // 2 * 2]
    try:
        header = decode_table_text(head).splitlines()[0] if head.strip() else ""
    except UnicodeDecodeError:
        header = head.decode("utf-8", errors="replace").splitlines()[0] if head.strip() else ""
    return [c.strip().strip('"') for c in re.split(r"[,\t;]", header)]


def _column(columns, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _choose_objects(columns, objects: str | None, source: Path) -> str:
    counted = [str(c)[len("Count_"):] for c in columns if str(c).startswith("Count_")]
    if not counted:
        raise AcquisitionError(f"{source}: no Count_<objects> column (export the image measurements of the "
                               f"pipeline that identifies the nuclei)")
    return pick_nuclei(counted, objects, source)


def _whole(text: str) -> int:
    """``'3'`` or ``'3.0'`` -> 3; ValueError for ``'1.5'`` or text."""
    value = float(text)
    if not value.is_integer():
        raise ValueError(f"{text} is not a whole number")
    return int(value)


def _refuse_empty(table: pd.DataFrame, column: str, source: Path) -> None:
    """A metadata column with an empty cell is refused: its image could belong anywhere."""
    empty = table[column].isna() | (table[column].astype(str).str.strip() == "")
    if empty.any():
        number = table["ImageNumber"][empty].iloc[0] if "ImageNumber" in table.columns else "?"
        raise AcquisitionError(f"{source}: {column} is empty for ImageNumber {number} "
                               f"({int(empty.sum())} image(s)); every image needs it")


def _wells(table: pd.DataFrame, source: Path) -> pd.Series:
    well_col = _column(table.columns, _WELL)
    if well_col is not None:
        _refuse_empty(table, well_col, source)
        names = {}
        for value in table[well_col].astype(str).str.strip().unique():  # each spelling once: 10^6 fields read fast
            m = _RC_WELL.match(value)
            try:
                names[value] = rowcol_to_well(int(m.group(1)) - 1, int(m.group(2)) - 1) if m else normalize_well(value)
            except (WellError, ValueError) as exc:
                raise AcquisitionError(f"{source}: column {well_col}: {exc}") from None
        return table[well_col].astype(str).str.strip().map(names)
    row_col, col_col = _column(table.columns, _ROW), _column(table.columns, _COL)
    if row_col is None or col_col is None:
        raise AcquisitionError(f"{source}: no well in the metadata (Metadata_Well, or Metadata_Row and "
                               f"Metadata_Column); extract it from the file names in the Metadata module")
    _refuse_empty(table, row_col, source)
    _refuse_empty(table, col_col, source)
    pairs = pd.Series(list(zip(table[row_col].astype(str).str.strip(), table[col_col].astype(str).str.strip(),
                               strict=True)), index=table.index)
    names = {}
    for r, c in pairs.unique():
        try:
            row = _whole(r) - 1 if r.replace(".", "", 1).isdecimal() else row_index(r.upper())
            names[r, c] = rowcol_to_well(row, _whole(c) - 1)
        except (WellError, ValueError) as exc:
            raise AcquisitionError(f"{source}: row {r!r}, column {c!r} is not a well ({exc})") from None
    return pairs.map(names)


def _times(images: pd.DataFrame, time_col: str, source: Path) -> tuple[str, pd.Series]:
    """``("time_h", hours)`` or ``("scan", scan numbers)`` of each image (see the module docstring).

    Raises:
        AcquisitionError: A time that is empty, or neither hours nor a number.
    """
    _refuse_empty(images, time_col, source)
    text = images[time_col].astype(str).str.strip()
    if time_col.lower() in _HOURS:
        hours = pd.to_numeric(text, errors="coerce")
        if hours.isna().any():
            raise AcquisitionError(f"{source}: {time_col} {text[hours.isna()].iloc[0]!r} of ImageNumber "
                                   f"{images['ImageNumber'][hours.isna()].iloc[0]} is not a number of hours")
        return "time_h", hours.astype(float)
    dhm = text.str.match(_DHM)
    if dhm.all():
        parts = text.str.extract(_DHM).astype(int)
        return "time_h", (24 * parts[0] + parts[1] + parts[2] / 60).astype(float)
    scan = pd.to_numeric(text, errors="coerce")
    if scan.isna().any():
        raise AcquisitionError(f"{source}: {time_col} {text[scan.isna()].iloc[0]!r} of ImageNumber "
                               f"{images['ImageNumber'][scan.isna()].iloc[0]} is neither a scan number nor a time "
                               f"(hours in Metadata_Time_h, or 00d12h00m)")
    return "scan", scan.astype(float)


def _fields(images: pd.DataFrame, objects: str | None, source: Path, object_areas,
            over_time: bool = False) -> CellProfilerFields:
    """The field table of a per-image table (``Image_`` prefixes removed).

    ``object_areas(objects)`` gives the mean object area per ImageNumber and its source, or None.
    ``over_time`` keeps a time-lapse export's times (module docstring) instead of refusing it.
    """
    if "ImageNumber" not in images.columns:
        raise AcquisitionError(f"{source}: no ImageNumber column (not a CellProfiler per-image table)")
    time_col = _column(images.columns, (*_HOURS, *_TIME))
    if time_col is not None and images[time_col].nunique() > 1 and not over_time:
        raise AcquisitionError(f"{source}: a time-lapse export ({time_col} has {images[time_col].nunique()} values); "
                               f"hits takes one time point: export it alone")
    obj = _choose_objects(images.columns, objects, source)
    others = tuple(str(c)[len("Count_"):] for c in images.columns
                   if str(c).startswith("Count_") and c != f"Count_{obj}")
    repeated = images["ImageNumber"].duplicated(keep=False)
    if repeated.any():
        raise AcquisitionError(f"{source}: ImageNumber {images['ImageNumber'][repeated].iloc[0]} appears "
                               f"{int((images['ImageNumber'] == images['ImageNumber'][repeated].iloc[0]).sum())} times "
                               f"(exports of several runs pasted together?); give each run's export on its own")
    count = pd.to_numeric(images[f"Count_{obj}"], errors="coerce")
    bad = ~np.isfinite(count.to_numpy(float)) | (count < 0).to_numpy() | (count % 1 != 0).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AcquisitionError(f"{source}: Count_{obj} of ImageNumber {images['ImageNumber'].iloc[i]} is "
                               f"{str(images[f'Count_{obj}'].iloc[i])!r}, not a count of objects")
    plate_col = _column(images.columns, _PLATE)
    if plate_col is not None:
        _refuse_empty(images, plate_col, source)
    plate = images[plate_col].astype(str).str.strip() if plate_col else pd.Series(source.stem, index=images.index)
    table = pd.DataFrame({"plate": plate, "well": _wells(images, source), "image_number": images["ImageNumber"],
                          "n_nuclei": count.astype(int)})
    when = []
    if over_time and time_col is not None:
        name, values = _times(images, time_col, source)
        table[name] = values.to_numpy()
        when = [name]
    site_col = _column(images.columns, _SITE)
    if site_col is not None:
        keyed = table.assign(site=images[site_col].astype(str))
        twice = keyed.duplicated(["plate", "well", *when, "site"], keep=False)
        if twice.any():
            row = keyed[twice].iloc[0]
            n = int(keyed[["plate", "well", *when, "site"]].eq(row[["plate", "well", *when, "site"]]).all(axis=1)
                    .sum())
            hint = "" if plate_col else "; with no Metadata_Plate, are several plates in this one file?"
            at = f" at {time_col} {images[time_col][twice].iloc[0]}" if when else ""
            raise AcquisitionError(f"{source}: plate {row['plate']} well {row['well']} {site_col} {row['site']}{at} is "
                                   f"in {n} images ({int(twice.sum())} images share a field with another){hint}")
    mean_col = _column(images.columns, (f"mean_{obj}_areashape_area".lower(),))
    per_image = None if mean_col is not None else object_areas(obj)
    if mean_col is not None:
        area, area_source = pd.to_numeric(images[mean_col], errors="coerce"), mean_col
        text = area.isna() & images[mean_col].notna()
        if text.any():
            raise AcquisitionError(f"{source}: {mean_col} of ImageNumber {images['ImageNumber'][text].iloc[0]} is "
                                   f"{str(images[mean_col][text].iloc[0])!r}, not a number")
    elif per_image is not None:
        means, counted, area_source = per_image
        n_objects = images["ImageNumber"].map(counted).fillna(0).astype(int)
        differ = (n_objects != table["n_nuclei"]).to_numpy()
        if differ.any():
            i = int(np.flatnonzero(differ)[0])
            raise AcquisitionError(
                f"{source}: the object table ({area_source.split(':')[0]}) does not match the image table: "
                f"ImageNumber {images['ImageNumber'].iloc[i]} counts {table['n_nuclei'].iloc[i]} {obj} but has "
                f"{n_objects.iloc[i]} objects there ({int(differ.sum())} image(s) differ; another run's table?)")
        area = images["ImageNumber"].map(means)
    else:  # a count-only pipeline
        return CellProfilerFields(table, obj, None, source, others)
    table["area_mean"] = area.where(table["n_nuclei"] > 0).astype(float)
    return CellProfilerFields(table, obj, area_source, source, others)


def _object_csv(image_csv: Path, obj: str):
    """Mean ``AreaShape_Area`` per ImageNumber from ``<prefix><obj>.csv`` beside ``<prefix>Image.csv``, or None."""
    name = image_csv.name
    if not name.lower().endswith("image.csv"):
        return None
    candidates = [p for p in image_csv.parent.glob("*.csv") if p.name.lower() == (name[:-len("image.csv")] + obj
                                                                                    + ".csv").lower()]
    if not candidates:
        return None
    path = candidates[0]
    try:
        objects = pd.read_csv(path, usecols=lambda c: c in ("ImageNumber", "AreaShape_Area"))
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise AcquisitionError(f"{path}: unreadable object table ({str(exc).splitlines()[0]})") from None
    if not {"ImageNumber", "AreaShape_Area"} <= set(objects.columns):
        missing = sorted({"ImageNumber", "AreaShape_Area"} - set(objects.columns))
        raise AcquisitionError(f"{path}: the {obj} object table has no {' or '.join(missing)} column")
    return _object_means(objects["ImageNumber"], objects["AreaShape_Area"], path, f"{path.name}: AreaShape_Area")


def _object_means(image_number: pd.Series, area: pd.Series, where, source: str):
    """(mean area per ImageNumber, objects per ImageNumber, source); a non-numeric area is refused."""
    values = pd.to_numeric(area, errors="coerce")
    bad = (values.isna() & area.notna()) | np.isinf(values)
    if bad.any():
        raise AcquisitionError(f"{where}: area {str(area[bad].iloc[0])!r} of an object in ImageNumber "
                               f"{image_number[bad].iloc[0]} is not a number")
    return values.groupby(image_number).mean(), image_number.value_counts(), source


def _tables(path: Path) -> list[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]


def _read_sqlite(path: Path, objects: str | None, over_time: bool = False) -> CellProfilerFields:
    try:
        found = [n for n in _tables(path) if n.lower().endswith("per_image")]
        if len(found) != 1:
            what = "no" if not found else f"{len(found)} ({', '.join(found)}): one run's database holds one"
            raise AcquisitionError(f"{path}: {what} CellProfiler Per_Image table (ExportToDatabase, SQLite)")
        table = found[0]
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            images = pd.read_sql_query(f'SELECT * FROM "{table}"', con)
            names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
    except sqlite3.Error as exc:
        raise AcquisitionError(f"{path}: not a readable SQLite database ({exc})") from None
    images.columns = [c[len("Image_"):] if c.startswith("Image_") and c != "ImageNumber" else c
                      for c in images.columns]
    prefix = table[: -len("Per_Image")]

    def object_areas(obj: str):
        for candidate in (f"{prefix}Per_{obj}", f"{prefix}Per_Object"):
            match = [n for n in names if n.lower() == candidate.lower()]
            if not match:
                continue
            column = f"{obj}_AreaShape_Area"
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                have = [r[1] for r in con.execute(f'PRAGMA table_info("{match[0]}")')]
                if column not in have or "ImageNumber" not in have:
                    continue
                rows = pd.read_sql_query(f'SELECT ImageNumber, "{column}" AS area FROM "{match[0]}"', con)
            return _object_means(rows["ImageNumber"], rows["area"], f"{path}: {match[0]}", f"{match[0]}.{column}")
        return None

    try:
        return _fields(images, objects, path, object_areas, over_time)
    except sqlite3.Error as exc:
        raise AcquisitionError(f"{path}: unreadable object table ({exc})") from None


def read_cellprofiler(path: str | Path, objects: str | None = None, *, over_time: bool = False) -> CellProfilerFields:
    """Read a CellProfiler per-image CSV or SQLite database into fields (see the module docstring).

    ``over_time`` keeps each field's time (``time_h`` or ``scan``) where the export has a time column.

    Raises:
        AcquisitionError: One line naming the file: no counts, several objects and none named, no
            well metadata, no area, a time-lapse export (unless ``over_time``; then a time that is
            neither hours nor a scan number), an unreadable table.
    """
    from ferroscreen.csv_tables import read_csv_table

    path = Path(path)
    if path.suffix.lower() in SQLITE_SUFFIXES:
        return _read_sqlite(path, objects, over_time)
    images = read_csv_table(path, "a CellProfiler image table", error=AcquisitionError)
    return _fields(images, objects, path, lambda obj: _object_csv(path, obj), over_time)


def wells_from_fields(fields: pd.DataFrame) -> pd.DataFrame:
    """One row per plate and well, as ``ferroscreen segment``'s ``wells.csv``.

    Columns ``plate, well, n_fields, n_nuclei`` (total), ``nuclei_per_field`` (mean) and, when the
    fields have it, ``area_mean`` (field means weighted by their nuclei).
    """
    has_area = "area_mean" in fields.columns
    keys = [fields["plate"], fields["well"]]
    n = fields["n_nuclei"].astype(float)
    per_well = n.groupby(keys, sort=True)
    parts = {"n_fields": per_well.size(), "n_nuclei": per_well.sum().astype(int),
             "nuclei_per_field": per_well.mean()}
    if has_area:  # field means weighted by their nuclei, over fields with both
        area = fields["area_mean"].astype(float)
        weight = n.where(np.isfinite(area) & (n > 0), 0.0)
        sums = pd.DataFrame({"w": area.where(weight > 0, 0.0) * weight, "n": weight}).groupby(keys, sort=True).sum()
        parts["area_mean"] = (sums["w"] / sums["n"]).where(sums["n"] > 0)
    return pd.DataFrame(parts).rename_axis(["plate", "well"]).reset_index()


def wells_over_time(fields: pd.DataFrame) -> pd.DataFrame:
    """One row per plate, well and time (``time_h`` or ``scan`` where ``fields`` has it): the fields summed.

    Columns ``plate, well[, time_h | scan], n_done`` (the fields read) and ``n_cells_read`` (their
    objects), sorted. A well with no image at a time has no row there.
    """
    keys = ["plate", "well", *[c for c in ("time_h", "scan") if c in fields.columns]]
    grouped = fields.assign(_n=fields["n_nuclei"].astype(float)).groupby(keys, sort=True)["_n"]
    return pd.DataFrame({"n_done": grouped.size(), "n_cells_read": grouped.sum()}).reset_index()
