"""What ``ferroscreen hits`` reads: per-well tables, or plate-reader / IncuCyte exports with a layout.

* **Wells tables** (CSV/TSV with a ``well`` column): the ``wells.csv`` of ``ferroscreen segment``
  (nuclei count and area; its output folder may be given for it), or any per-well table whose viability
  column is named with ``signal_col``. Several files are concatenated; a plate and well in two of them is an error.
* **CellProfiler exports** of a nuclei pipeline (:mod:`ferroscreen.io.cellprofiler`: a per-image
  ``Image.csv`` or an ExportToDatabase SQLite file): fields summed into wells as ``segment`` does
  (``n_nuclei``, ``nuclei_per_field``, ``area_mean``); and **Harmony/Columbus** per-well results
  (:mod:`ferroscreen.io.harmony_results`, ``PlateResults.txt``). ``objects`` names the nuclei when
  the analysis counts several kinds of object.
* **Instrument exports** of a viability assay: plate-reader reads (CellTiter-Glo, resazurin;
  every shape :mod:`ferroscreen.io.plate_reader` reads, blank-subtracted with the layout's
  ``empty`` wells) or IncuCyte metric exports (a cell count or confluence). They hold no genes,
  so the layout is required; several files are several plates, named and matched with the
  layout as ``fit`` does (:func:`~ferroscreen.analysis.fit_inputs.load_fit_input`). The signal
  is the one readout, ``viability``; a kinetic read or time course is judged at its last time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ferroscreen.csv_tables import read_csv_table
from ferroscreen.errors import FerroscreenError, missing_file
from ferroscreen.plate import PlateLayout

__all__ = ["HitsInput", "read_hits_input"]

_EXCEL = (".xlsx", ".xlsm", ".xls")


@dataclass
class HitsInput:
    """The wells to call hits on.

    Attributes:
        wells: One row per well (and time), ``plate, well`` and the readout columns.
        signal_col: The viability column when the input is one viability signal, else None
            (nuclei count and area).
        notes: Lines to print, each naming its file.
        where: The input files, for messages.
        options: What ``hits.json`` records of the reading (``plate_reader``, ``inputs``).
        files: The files read, in the order given: a ``segment`` folder's ``wells.csv`` in the folder's place
            (what ``hits.json`` and ``hits.xlsx`` give the sha256 of); empty when not set.
    """

    wells: pd.DataFrame
    signal_col: str | None
    where: str
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def _wells_table(path: Path) -> tuple[pd.DataFrame | None, FerroscreenError | None]:
    """The per-well table in ``path`` or None when it is not one, and the CSV reader's complaint if it had one."""
    if path.suffix.lower() in _EXCEL:
        return None, None
    try:
        table = read_csv_table(path, "a wells table")
    except FerroscreenError as exc:
        return None, exc
    return (table if "well" in table.columns else None), None


def _not_an_export(path: Path, csv_error: FerroscreenError | None) -> FerroscreenError:
    """The error for a file that is no wells table and has no layout to read it as an export with."""
    from ferroscreen.io.plate_reader import NoPlateRead, read_plate_reader

    try:
        read_plate_reader(path)
    except NoPlateRead:
        if csv_error is not None:
            return csv_error
        return FerroscreenError(f"{path}: not a wells table (no 'well' column) nor a plate-reader export")
    except FerroscreenError as exc:
        return exc
    return FerroscreenError(f"{path}: a plate-reader export holds no genes; pass --layout with the siRNA gene "
                            f"per well")


def read_hits_input(paths: list[Path], layout: PlateLayout | None, read: str | None = None,
                    signal_col: str | None = None, objects: str | None = None) -> HitsInput:
    """Read ``hits``' WELLS files (see the module docstring).

    A folder written by ``segment`` (its ``segment.json`` or ``run.json`` beside a ``wells.csv``) is read as its
    ``wells.csv``, said in a note; the result's ``files`` name that ``wells.csv``, the file read, not the folder.

    Raises:
        FerroscreenError: One line naming the file: missing, unreadable, a folder that is no segment run's with
            wells (saying what to pass), wells tables mixed with exports, an export without a layout, or what the
            export reader refuses.
    """
    paths = [Path(p) for p in paths]
    folder_notes = []
    for i, path in enumerate(paths):
        if path.is_dir():
            paths[i] = _segment_wells(path)
            folder_notes.append(f"{path}: a segment run's folder: reading its wells.csv")
        elif not path.is_file():
            raise FerroscreenError(missing_file(path, "wells table or plate-reader export"))
    loaded = _read_files(paths, layout, read, signal_col, objects)
    loaded.notes = [*folder_notes, *loaded.notes]
    loaded.files = paths
    return loaded


#: What a ``segment`` output folder holds besides its ``wells.csv`` (either says the folder is one).
_SEGMENT_RECORDS = ("segment.json", "run.json")


def _segment_wells(folder: Path) -> Path:
    """The ``wells.csv`` of ``segment`` output folder ``folder``.

    Raises:
        FerroscreenError: A folder that is no segment run's, or one without a ``wells.csv`` (loose images: no wells),
            saying what to pass.
    """
    wells = folder / "wells.csv"
    run = any((folder / name).is_file() for name in _SEGMENT_RECORDS)
    if run and wells.is_file():
        return wells
    what = ("a segment run's folder without a wells.csv (its images had no plate and well: loose images)" if run
            else "is a folder, not a wells table or plate-reader export")
    hint = (f"pass {wells}" if wells.is_file() else "pass the wells.csv of a segment run of a plate (or its "
                   "folder), a CellProfiler or Harmony export, or a plate-reader export")
    raise FerroscreenError(f"{folder}: {what}; {hint}")


def _read_files(paths: list[Path], layout: PlateLayout | None, read: str | None, signal_col: str | None,
                objects: str | None) -> HitsInput:
    """:func:`read_hits_input` of files (a segment folder already taken as its ``wells.csv``)."""
    where = ", ".join(map(str, paths))
    kinds = [_analysis_export(p) for p in paths]
    if any(kinds):
        kind, example = next((k, p) for p, k in zip(paths, kinds, strict=True) if k)
        if len(set(kinds)) > 1:
            other = next(p for p, k in zip(paths, kinds, strict=True) if k != kind)
            raise FerroscreenError(f"{other}: not {_KIND_NAMES[kind]} like {example.name}; give one kind of input")
        for option, value in (("--read", read), ("--signal-col", signal_col)):
            if value is not None:
                raise FerroscreenError(f"{paths[0]}: {option} does not go with {_KIND_NAMES[kind]}")
        return _analysis_wells(paths, kind, objects, where)
    if objects is not None:
        raise FerroscreenError(f"{paths[0]}: --objects names the nuclei of a CellProfiler or Harmony export; this is "
                               f"neither")
    read_as_csv = [_wells_table(p) for p in paths]
    tables = [t for t, _ in read_as_csv]
    if all(t is not None for t in tables):
        if read is not None:
            raise FerroscreenError(f"{paths[0]}: --read picks a read of a plate-reader export; this is a wells table")
        wells = _concat_wells(tables, paths)
        notes = []
        if signal_col is not None and layout is not None:
            wells, notes = _blank_subtracted(wells, signal_col, layout, where)
        return HitsInput(wells, signal_col, where, notes)
    if any(t is not None for t in tables):
        table_path = next(p for p, t in zip(paths, tables, strict=True) if t is not None)
        export_path = next(p for p, t in zip(paths, tables, strict=True) if t is None)
        raise FerroscreenError(f"{table_path}: a wells table, but {export_path} is not one; give wells tables or "
                               f"instrument exports, not both")
    if signal_col is not None:
        raise FerroscreenError(f"{paths[0]}: --signal-col names a column of a wells table; this is not one")
    if layout is None:
        from ferroscreen.io.metric_export import looks_like_metric_export

        if looks_like_metric_export(paths[0]):
            raise FerroscreenError(f"{paths[0]}: an IncuCyte metric export holds no genes; pass --layout with the "
                                   f"siRNA gene per well")
        raise _not_an_export(paths[0], read_as_csv[0][1])
    from ferroscreen.analysis.fit_inputs import load_fit_input

    loaded = load_fit_input(paths, layout, read=read)
    if loaded.kind != "metric":
        raise FerroscreenError(f"{paths[0]}: neither a wells table (plate, well, n_nuclei, area_mean, or a column "
                               f"named by --signal-col) nor a plate-reader or IncuCyte export")
    from ferroscreen.analysis.reader_signal import is_dead_signal

    label = loaded.options.get("plate_reader", {}).get("label", "")
    if is_dead_signal(label):
        pick = " (--read picks it)" if not read and len(loaded.options["plate_reader"].get("reads", [])) > 1 else ""
        raise FerroscreenError(f"{paths[0]}: '{label}' looks like a dead-cell signal (it rises as cells die); hits "
                               f"takes a viability read (CellTiter-Glo, resazurin){pick}")
    wells = loaded.table.rename(columns={"value": "viability"})
    options = {k: v for k, v in loaded.options.items() if k in ("plate_reader", "inputs")}
    return HitsInput(wells, "viability", where, loaded.notes, options)


_KIND_NAMES = {"cellprofiler": "a CellProfiler image table", "harmony": "a Harmony results file"}


def _analysis_export(path: Path) -> str | None:
    """``cellprofiler`` or ``harmony`` when ``path`` is that image-analysis software's export, else None."""
    from ferroscreen.io.cellprofiler import looks_like_cellprofiler
    from ferroscreen.io.harmony_results import looks_like_harmony_results

    if looks_like_cellprofiler(path):
        return "cellprofiler"
    if looks_like_harmony_results(path):
        return "harmony"
    return None


def _analysis_wells(paths: list[Path], kind: str, objects: str | None, where: str) -> HitsInput:
    """The wells of CellProfiler or Harmony exports (several runs; a plate and well in two of them is an error)."""
    from ferroscreen.io.cellprofiler import read_cellprofiler, wells_from_fields
    from ferroscreen.io.harmony_results import read_harmony_results

    parts, notes = [], []
    for path in paths:
        if kind == "cellprofiler":
            fields = read_cellprofiler(path, objects)
            wells, counted, area = wells_from_fields(fields.table), fields.objects, fields.area_source
            said = f"CellProfiler export: {len(fields.table)} fields in {len(wells)} wells"
        else:
            read = read_harmony_results(path, objects)
            wells, counted, area = read.table, read.population, read.area_source
            said = f"Harmony results: {len(wells)} wells"
            notes += [f"{path}: {n}" for n in read.notes]
        parts.append(wells)
        area_said = f"area from {area}" if area else "no nuclear area exported (the count alone)"
        notes.append(f"{path}: {said} on {wells['plate'].nunique()} plate(s); counting {counted}, {area_said}")
    return HitsInput(_concat_wells(parts, paths), None, where, notes, {kind: {"objects": counted}})


def _blank_subtracted(wells: pd.DataFrame, signal_col: str, layout, where: str) -> tuple[pd.DataFrame, list[str]]:
    """A wells table's signal with the layout's empty wells' median subtracted per plate, as for exports."""
    from ferroscreen.analysis.inputs import AnalysisInputError, canonical_wells
    from ferroscreen.analysis.reader_signal import subtract_blank

    values = pd.to_numeric(wells[signal_col], errors="coerce") if signal_col in wells.columns else None
    if values is None or "plate" not in wells.columns or (values.isna() & wells[signal_col].notna()).any():
        return wells, []  # the hit caller says what is wrong with the column
    table = pd.DataFrame({"plate": wells["plate"].astype(str), "well": canonical_wells(wells["well"]).to_numpy(),
                          "time_h": pd.to_numeric(wells["time_h"], errors="coerce").fillna(0.0) if "time_h" in wells
                          else 0.0,
                          "value": values})
    try:
        table, notes = subtract_blank(table, layout)
    except AnalysisInputError as exc:
        raise FerroscreenError(f"{where}: {exc}") from None
    return wells.assign(**{signal_col: table["value"].to_numpy()}), [f"{where}: {n}" for n in notes]


def _concat_wells(tables: list[pd.DataFrame], paths: list[Path]) -> pd.DataFrame:
    """The tables as one, each row's file and line in ``_where`` (for messages) when there are several files."""
    wells = pd.concat([t.assign(_source=i) for i, t in enumerate(tables)], ignore_index=True)
    if len(paths) > 1:
        wells["_where"] = [f"{paths[i]} line {k + 2}" for i, t in enumerate(tables) for k in range(len(t))]
    if len(paths) > 1 and {"plate", "well"} <= set(wells.columns):
        n_files = wells.groupby(["plate", "well"])["_source"].nunique()
        if (n_files > 1).any():
            plate, well = n_files[n_files > 1].index[0]
            files = sorted(set(wells.loc[(wells["plate"] == plate) & (wells["well"] == well), "_source"]))
            raise FerroscreenError(
                f"plate {plate} well {well} is in more than one of the wells files "
                f"({', '.join(str(paths[i]) for i in files)})"
            )
    return wells.drop(columns="_source")
